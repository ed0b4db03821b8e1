/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * AES with AES-NI and the carry-less multiply with PCLMULQDQ, for what one
 * PDMv2 option needs: the key schedule, two blocks at once (the option's
 * key stream and E(J0)) and 64 x 64 bit carry-less products for GHASH.
 * The instructions take no secret-dependent branch or memory index.
 *
 * Callers (pdmv2_crypto.c) bracket every call with pdmv2_simd_begin() and
 * pdmv2_simd_end(): kernel_fpu_begin()/end() in the module. Assembled for
 * the module and, unchanged, for the user-space tests (kmod/test).
 */
#ifdef __KERNEL__
#include <linux/linkage.h>
#else
#define SYM_FUNC_START(name)	.globl name; .type name, @function; name:
#define SYM_FUNC_END(name)	.size name, . - name
#define RET			ret
	.section .note.GNU-stack, "", @progbits
#endif

	.text

/* %xmm0 = the prefix XOR of its words, then XOR word 3 (or 2) of %xmm1 */
.macro PDMV2_KEY_MIX word
	pshufd	$\word, %xmm1, %xmm1
	movdqa	%xmm0, %xmm2
	pslldq	$4, %xmm2
	pxor	%xmm2, %xmm0
	pslldq	$4, %xmm2
	pxor	%xmm2, %xmm0
	pslldq	$4, %xmm2
	pxor	%xmm2, %xmm0
	pxor	%xmm1, %xmm0
.endm

.macro PDMV2_KEY128 rcon, off
	aeskeygenassist	$\rcon, %xmm0, %xmm1
	PDMV2_KEY_MIX 0xff
	movdqu	%xmm0, \off(%rdi)
.endm

/* void pdmv2_simd_expand128(u8 rk[11 * 16], const u8 key[16]) */
SYM_FUNC_START(pdmv2_simd_expand128)
	movdqu	(%rsi), %xmm0
	movdqu	%xmm0, (%rdi)
	PDMV2_KEY128 0x01, 16
	PDMV2_KEY128 0x02, 32
	PDMV2_KEY128 0x04, 48
	PDMV2_KEY128 0x08, 64
	PDMV2_KEY128 0x10, 80
	PDMV2_KEY128 0x20, 96
	PDMV2_KEY128 0x40, 112
	PDMV2_KEY128 0x80, 128
	PDMV2_KEY128 0x1b, 144
	PDMV2_KEY128 0x36, 160
	pxor	%xmm0, %xmm0
	pxor	%xmm1, %xmm1
	pxor	%xmm2, %xmm2
	RET
SYM_FUNC_END(pdmv2_simd_expand128)

/*
 * AES-256: the even round keys from the odd ones before them with the
 * round constant (%xmm0 holds the even, %xmm3 the odd), the odd ones
 * from the even ones with SubWord alone.
 */
.macro PDMV2_KEY256 rcon, off
	aeskeygenassist	$\rcon, %xmm3, %xmm1
	PDMV2_KEY_MIX 0xff
	movdqu	%xmm0, \off(%rdi)
.endm

.macro PDMV2_KEY256_ODD off
	movdqa	%xmm0, %xmm4
	movdqa	%xmm3, %xmm0
	aeskeygenassist	$0, %xmm4, %xmm1
	PDMV2_KEY_MIX 0xaa
	movdqa	%xmm0, %xmm3
	movdqa	%xmm4, %xmm0
	movdqu	%xmm3, \off(%rdi)
.endm

/* void pdmv2_simd_expand256(u8 rk[15 * 16], const u8 key[32]) */
SYM_FUNC_START(pdmv2_simd_expand256)
	movdqu	(%rsi), %xmm0
	movdqu	16(%rsi), %xmm3
	movdqu	%xmm0, (%rdi)
	movdqu	%xmm3, 16(%rdi)
	PDMV2_KEY256 0x01, 32
	PDMV2_KEY256_ODD 48
	PDMV2_KEY256 0x02, 64
	PDMV2_KEY256_ODD 80
	PDMV2_KEY256 0x04, 96
	PDMV2_KEY256_ODD 112
	PDMV2_KEY256 0x08, 128
	PDMV2_KEY256_ODD 144
	PDMV2_KEY256 0x10, 160
	PDMV2_KEY256_ODD 176
	PDMV2_KEY256 0x20, 192
	PDMV2_KEY256_ODD 208
	PDMV2_KEY256 0x40, 224
	pxor	%xmm0, %xmm0
	pxor	%xmm1, %xmm1
	pxor	%xmm2, %xmm2
	pxor	%xmm3, %xmm3
	pxor	%xmm4, %xmm4
	RET
SYM_FUNC_END(pdmv2_simd_expand256)

/*
 * void pdmv2_simd_encrypt2(const u8 *rk, u32 rounds, u8 out[32],
 *			     const u8 in[32])
 * Two blocks, each through the same rounds; @out may be @in.
 */
SYM_FUNC_START(pdmv2_simd_encrypt2)
	movdqu	(%rcx), %xmm0
	movdqu	16(%rcx), %xmm1
	movdqu	(%rdi), %xmm2
	pxor	%xmm2, %xmm0
	pxor	%xmm2, %xmm1
	dec	%esi
.Lpdmv2_round:
	add	$16, %rdi
	movdqu	(%rdi), %xmm2
	aesenc	%xmm2, %xmm0
	aesenc	%xmm2, %xmm1
	dec	%esi
	jnz	.Lpdmv2_round
	movdqu	16(%rdi), %xmm2
	aesenclast	%xmm2, %xmm0
	aesenclast	%xmm2, %xmm1
	movdqu	%xmm0, (%rdx)
	movdqu	%xmm1, 16(%rdx)
	pxor	%xmm0, %xmm0
	pxor	%xmm1, %xmm1
	pxor	%xmm2, %xmm2
	RET
SYM_FUNC_END(pdmv2_simd_encrypt2)

/* void pdmv2_pclmul64(u64 a, u64 b, u64 out[2]): out = {low, high} of a * b */
SYM_FUNC_START(pdmv2_pclmul64)
	movq	%rdi, %xmm0
	movq	%rsi, %xmm1
	pclmulqdq	$0x00, %xmm1, %xmm0
	movq	%xmm0, (%rdx)
	psrldq	$8, %xmm0
	movq	%xmm0, 8(%rdx)
	pxor	%xmm0, %xmm0
	pxor	%xmm1, %xmm1
	RET
SYM_FUNC_END(pdmv2_pclmul64)

/*
 * void pdmv2_pclmul_option(u64 ah, u64 ch, u64 cl, const u64 h3[2],
 *			    const u64 h2[2], u64 p[4])
 * The 256-bit carry-less sum A * H^3 + C * H^2 of an option's GHASH, A =
 * (ah, 0) and C = (ch, cl), powers as { high, low } halves: p[0] lowest,
 * p[3] highest, unreduced (pdmv2_crypto.c reduces it). Six products.
 */
SYM_FUNC_START(pdmv2_pclmul_option)
	movq	%rdx, %xmm0
	movq	8(%r8), %xmm1			/* H^2 low */
	pclmulqdq	$0x00, %xmm1, %xmm0	/* cl * h2lo: bits 0..127 */
	movq	%rsi, %xmm2
	movq	(%r8), %xmm3			/* H^2 high */
	movdqa	%xmm2, %xmm4
	pclmulqdq	$0x00, %xmm3, %xmm4	/* ch * h2hi: bits 128..255 */
	movdqa	%xmm2, %xmm5
	pclmulqdq	$0x00, %xmm1, %xmm5	/* ch * h2lo: bits 64..191 */
	movq	%rdx, %xmm6
	pclmulqdq	$0x00, %xmm3, %xmm6	/* cl * h2hi: bits 64..191 */
	pxor	%xmm6, %xmm5
	movq	%rdi, %xmm6
	movq	8(%rcx), %xmm7			/* H^3 low */
	pclmulqdq	$0x00, %xmm7, %xmm6	/* ah * h3lo: bits 64..191 */
	pxor	%xmm6, %xmm5
	movq	%rdi, %xmm6
	movq	(%rcx), %xmm7			/* H^3 high */
	pclmulqdq	$0x00, %xmm7, %xmm6	/* ah * h3hi: bits 128..255 */
	pxor	%xmm6, %xmm4
	movdqa	%xmm5, %xmm6
	pslldq	$8, %xmm6
	pxor	%xmm6, %xmm0			/* p[0], p[1] */
	psrldq	$8, %xmm5
	pxor	%xmm5, %xmm4			/* p[2], p[3] */
	movdqu	%xmm0, (%r9)
	movdqu	%xmm4, 16(%r9)
	pxor	%xmm0, %xmm0
	pxor	%xmm1, %xmm1
	pxor	%xmm2, %xmm2
	pxor	%xmm3, %xmm3
	pxor	%xmm4, %xmm4
	pxor	%xmm5, %xmm5
	pxor	%xmm6, %xmm6
	pxor	%xmm7, %xmm7
	RET
SYM_FUNC_END(pdmv2_pclmul_option)
