/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The same as pdmv2_aesni_x86_64.S with ARMv8's crypto extensions (AESE,
 * AESMC, PMULL), for little-endian arm64: the key schedule, two blocks at
 * once and the carry-less products of GHASH. No secret-dependent branch
 * or memory index.
 *
 * The key schedule has no instruction of its own here: SubWord is AESE
 * on a vector holding the word in all four columns with a zero round key
 * (ShiftRows then moves nothing that differs), as the kernel's
 * arch/arm64/crypto does it.
 *
 * Callers (pdmv2_crypto.c) bracket every call with pdmv2_simd_begin() and
 * pdmv2_simd_end(): kernel_neon_begin()/end() in the module. Assembled for
 * the module and, unchanged, for the user-space tests (kmod/test).
 */
#ifdef __KERNEL__
#include <linux/linkage.h>
#else
#define SYM_FUNC_START(name)	.globl name; .type name, %function; name:
#define SYM_FUNC_END(name)	.size name, . - name
	.section .note.GNU-stack, "", %progbits
#endif

	.text
	.arch	armv8-a+crypto

/* w9 = SubWord(\w) */
.macro PDMV2_SUB_WORD w
	dup	v1.4s, \w
	movi	v0.16b, #0
	aese	v0.16b, v1.16b
	umov	w9, v0.s[0]
.endm

/* \a..\d ^= w9 and their running XOR (the schedule's next four words), stored */
.macro PDMV2_NEXT_WORDS a, b, c, d
	eor	\a, \a, w9
	eor	\b, \b, \a
	eor	\c, \c, \b
	eor	\d, \d, \c
	stp	\a, \b, [x0], #8
	stp	\c, \d, [x0], #8
.endm

/*
 * w4..w7 = the next four words after them with the round constant, from
 * SubWord(RotWord(\last)): \last is w7 for AES-128, the odd half's last
 * word (w14) for AES-256
 */
.macro PDMV2_KEY_WORDS last, rcon
	PDMV2_SUB_WORD \last
	ror	w9, w9, #8
	mov	w10, #\rcon
	eor	w9, w9, w10
	PDMV2_NEXT_WORDS w4, w5, w6, w7
.endm

/* void pdmv2_simd_expand128(u8 rk[11 * 16], const u8 key[16]) */
SYM_FUNC_START(pdmv2_simd_expand128)
	ldp	w4, w5, [x1]
	ldp	w6, w7, [x1, #8]
	stp	w4, w5, [x0], #8
	stp	w6, w7, [x0], #8
	PDMV2_KEY_WORDS w7, 0x01
	PDMV2_KEY_WORDS w7, 0x02
	PDMV2_KEY_WORDS w7, 0x04
	PDMV2_KEY_WORDS w7, 0x08
	PDMV2_KEY_WORDS w7, 0x10
	PDMV2_KEY_WORDS w7, 0x20
	PDMV2_KEY_WORDS w7, 0x40
	PDMV2_KEY_WORDS w7, 0x80
	PDMV2_KEY_WORDS w7, 0x1b
	PDMV2_KEY_WORDS w7, 0x36
	movi	v0.16b, #0
	movi	v1.16b, #0
	mov	w4, #0
	mov	w5, #0
	mov	w6, #0
	mov	w7, #0
	mov	w9, #0
	ret
SYM_FUNC_END(pdmv2_simd_expand128)

/* AES-256: w4..w7 from w11..w14 with the constant, then w11..w14 from w4..w7 */
.macro PDMV2_KEY256_ODD
	PDMV2_SUB_WORD w7
	PDMV2_NEXT_WORDS w11, w12, w13, w14
.endm

/* void pdmv2_simd_expand256(u8 rk[15 * 16], const u8 key[32]) */
SYM_FUNC_START(pdmv2_simd_expand256)
	ldp	w4, w5, [x1]
	ldp	w6, w7, [x1, #8]
	ldp	w11, w12, [x1, #16]
	ldp	w13, w14, [x1, #24]
	stp	w4, w5, [x0], #8
	stp	w6, w7, [x0], #8
	stp	w11, w12, [x0], #8
	stp	w13, w14, [x0], #8
	PDMV2_KEY_WORDS w14, 0x01
	PDMV2_KEY256_ODD
	PDMV2_KEY_WORDS w14, 0x02
	PDMV2_KEY256_ODD
	PDMV2_KEY_WORDS w14, 0x04
	PDMV2_KEY256_ODD
	PDMV2_KEY_WORDS w14, 0x08
	PDMV2_KEY256_ODD
	PDMV2_KEY_WORDS w14, 0x10
	PDMV2_KEY256_ODD
	PDMV2_KEY_WORDS w14, 0x20
	PDMV2_KEY256_ODD
	PDMV2_KEY_WORDS w14, 0x40
	movi	v0.16b, #0
	movi	v1.16b, #0
	mov	w4, #0
	mov	w5, #0
	mov	w6, #0
	mov	w7, #0
	mov	w9, #0
	mov	w11, #0
	mov	w12, #0
	mov	w13, #0
	mov	w14, #0
	ret
SYM_FUNC_END(pdmv2_simd_expand256)

/*
 * void pdmv2_simd_encrypt2(const u8 *rk, u32 rounds, u8 out[32],
 *			    const u8 in[32])
 * AESE adds the round key before SubBytes and ShiftRows, so the last
 * round key is added alone, after the last AESE.
 */
SYM_FUNC_START(pdmv2_simd_encrypt2)
	ld1	{v0.16b, v1.16b}, [x3]
	sub	w1, w1, #1
.Lpdmv2_round:
	ld1	{v2.16b}, [x0], #16
	aese	v0.16b, v2.16b
	aesmc	v0.16b, v0.16b
	aese	v1.16b, v2.16b
	aesmc	v1.16b, v1.16b
	subs	w1, w1, #1
	b.ne	.Lpdmv2_round
	ld1	{v2.16b, v3.16b}, [x0]
	aese	v0.16b, v2.16b
	aese	v1.16b, v2.16b
	eor	v0.16b, v0.16b, v3.16b
	eor	v1.16b, v1.16b, v3.16b
	st1	{v0.16b, v1.16b}, [x2]
	movi	v0.16b, #0
	movi	v1.16b, #0
	movi	v2.16b, #0
	movi	v3.16b, #0
	ret
SYM_FUNC_END(pdmv2_simd_encrypt2)

/* void pdmv2_pclmul64(u64 a, u64 b, u64 out[2]): out = {low, high} of a * b */
SYM_FUNC_START(pdmv2_pclmul64)
	fmov	d0, x0
	fmov	d1, x1
	pmull	v0.1q, v0.1d, v1.1d
	st1	{v0.16b}, [x2]
	movi	v0.16b, #0
	movi	v1.16b, #0
	ret
SYM_FUNC_END(pdmv2_pclmul64)

/*
 * void pdmv2_pclmul_option(u64 ah, u64 ch, u64 cl, const u64 h3[2],
 *			    const u64 h2[2], u64 p[4])
 * A * H^3 + C * H^2 of an option's GHASH, unreduced: see the x86-64 one.
 */
SYM_FUNC_START(pdmv2_pclmul_option)
	ldp	x6, x7, [x4]			/* H^2 high, low */
	ldp	x8, x9, [x3]			/* H^3 high, low */
	fmov	d1, x2				/* cl */
	fmov	d2, x7
	pmull	v0.1q, v1.1d, v2.1d		/* cl * h2lo: bits 0..127 */
	fmov	d3, x1				/* ch */
	fmov	d4, x6
	pmull	v5.1q, v3.1d, v4.1d		/* ch * h2hi: bits 128..255 */
	pmull	v6.1q, v3.1d, v2.1d		/* ch * h2lo: bits 64..191 */
	pmull	v7.1q, v1.1d, v4.1d		/* cl * h2hi: bits 64..191 */
	eor	v6.16b, v6.16b, v7.16b
	fmov	d1, x0				/* ah */
	fmov	d2, x9
	pmull	v7.1q, v1.1d, v2.1d		/* ah * h3lo: bits 64..191 */
	eor	v6.16b, v6.16b, v7.16b
	fmov	d2, x8
	pmull	v7.1q, v1.1d, v2.1d		/* ah * h3hi: bits 128..255 */
	eor	v5.16b, v5.16b, v7.16b
	movi	v7.16b, #0
	ext	v2.16b, v7.16b, v6.16b, #8	/* the middle's low half, moved up */
	eor	v0.16b, v0.16b, v2.16b		/* p[0], p[1] */
	ext	v2.16b, v6.16b, v7.16b, #8	/* the middle's high half, moved down */
	eor	v5.16b, v5.16b, v2.16b		/* p[2], p[3] */
	st1	{v0.16b}, [x5], #16
	st1	{v5.16b}, [x5]
	movi	v0.16b, #0
	movi	v1.16b, #0
	movi	v2.16b, #0
	movi	v3.16b, #0
	movi	v4.16b, #0
	movi	v5.16b, #0
	movi	v6.16b, #0
	mov	x6, #0
	mov	x7, #0
	mov	x8, #0
	mov	x9, #0
	ret
SYM_FUNC_END(pdmv2_pclmul_option)
