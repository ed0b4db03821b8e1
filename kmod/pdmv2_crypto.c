// SPDX-License-Identifier: GPL-2.0-only
/*
 * pdmv2 key schedule and option sealing, over the primitives of a backend
 * (see pdmv2_crypto.h). Normative reference: docs/PROTOCOL.md section 5.
 */
#include "pdmv2_crypto.h"

/*
 * What may leave the constant-time discipline on purpose: whether a tag
 * matched, and an authenticated plaintext. kmod/test/ct_check.c marks
 * secrets undefined under valgrind and builds this file with
 * PDMV2_CT_CHECK, which makes these values defined again.
 */
#ifdef PDMV2_CT_CHECK
#include <valgrind/memcheck.h>
#define PDMV2_DECLASSIFY(p, n)	VALGRIND_MAKE_MEM_DEFINED(p, n)
#else
#define PDMV2_DECLASSIFY(p, n)	do { } while (0)
#endif

#ifdef __KERNEL__
#include <linux/string.h>

void pdmv2_wipe(void *p, size_t n)
{
	memzero_explicit(p, n);
}
#else
void pdmv2_wipe(void *p, size_t n)
{
	memset(p, 0, n);
	/* the kernel's barrier_data(): the stores above must happen */
	__asm__ __volatile__("" : : "r"(p) : "memory");
}
#endif

int pdmv2_ct_memcmp(const u8 *a, const u8 *b, size_t n)
{
	u8 d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d;
}

/* ---- key schedule ------------------------------------------------------- */

unsigned int pdmv2_aead_key_len(u16 aead_id)
{
	switch (aead_id) {
	case PDMV2_AEAD_AES_128_GCM:
		return 16;
	case PDMV2_AEAD_AES_256_GCM:
		return 32;
	default:
		return 0;
	}
}

int pdmv2_kdf_extract(const u8 *parent, size_t parent_len,
		      u8 prk[PDMV2_HASH_LEN])
{
	/* an empty salt is HashLen zero octets, the same HMAC key */
	static const u8 zero_salt[PDMV2_HASH_LEN];
	struct pdmv2_hmac_part part = { parent, parent_len };

	if (parent_len < 16)
		return PDMV2_ERR_CRYPTO;
	return pdmv2_hmac_sha256(zero_salt, sizeof(zero_salt), &part, 1, prk) ?
	       PDMV2_ERR_CRYPTO : PDMV2_OK;
}

/*
 * OKM = T(1) = HMAC(PRK, info || 0x01), info = label || 0x00 || context,
 * with the PRK as a key (@prk) or keyed (@hk)
 */
static int pdmv2_kdf_expand_any(const u8 *prk, const struct pdmv2_hmac_key *hk,
				const char *label, const u8 *context,
				size_t context_len, u8 *out, size_t len)
{
	static const u8 sep;
	static const u8 counter = 1;
	struct pdmv2_hmac_part parts[4];
	u8 t[PDMV2_HASH_LEN];
	int err;

	if (!len || len > PDMV2_HASH_LEN)
		return PDMV2_ERR_CRYPTO;
	parts[0].data = (const u8 *)label;
	parts[0].len = strlen(label);
	parts[1].data = &sep;
	parts[1].len = 1;
	parts[2].data = context;
	parts[2].len = context_len;
	parts[3].data = &counter;
	parts[3].len = 1;
	if (hk)
		err = pdmv2_hmac_sha256_keyed(hk, parts, 4, t);
	else
		err = pdmv2_hmac_sha256(prk, PDMV2_HASH_LEN, parts, 4, t);
	if (!err)
		memcpy(out, t, len);
	pdmv2_wipe(t, sizeof(t));
	return err ? PDMV2_ERR_CRYPTO : PDMV2_OK;
}

int pdmv2_kdf_expand(const u8 prk[PDMV2_HASH_LEN], const char *label,
		     const u8 *context, size_t context_len, u8 *out,
		     size_t len)
{
	return pdmv2_kdf_expand_any(prk, NULL, label, context, context_len,
				    out, len);
}

int pdmv2_kdf(const u8 *parent, size_t parent_len, const char *label,
	      const u8 *context, size_t context_len, u8 *out, size_t len)
{
	u8 prk[PDMV2_HASH_LEN];
	int err;

	err = pdmv2_kdf_extract(parent, parent_len, prk);
	if (!err)
		err = pdmv2_kdf_expand(prk, label, context, context_len, out,
				       len);
	pdmv2_wipe(prk, sizeof(prk));
	return err;
}

int pdmv2_sgs(const u8 pms[PDMV2_SECRET_LEN], u32 generation,
	      u8 sgs[PDMV2_SECRET_LEN])
{
	u8 ctx[4];

	put_unaligned_be32(generation, ctx);
	return pdmv2_kdf(pms, PDMV2_SECRET_LEN, PDMV2_LABEL_SGS, ctx,
			 sizeof(ctx), sgs, PDMV2_SECRET_LEN);
}

int pdmv2_cs(const u8 sgs[PDMV2_SECRET_LEN], const u8 prefix[16],
	     unsigned int plen, u8 cs[PDMV2_SECRET_LEN])
{
	u8 ctx[17];

	if (!pdmv2_prefix_valid(prefix, plen))
		return PDMV2_ERR_BAD_PREFIX;
	memcpy(ctx, prefix, 16);
	ctx[16] = (u8)plen;
	return pdmv2_kdf(sgs, PDMV2_SECRET_LEN, PDMV2_LABEL_CS, ctx,
			 sizeof(ctx), cs, PDMV2_SECRET_LEN);
}

int pdmv2_hs(const u8 cs[PDMV2_SECRET_LEN], const u8 host[16],
	     u8 hs[PDMV2_SECRET_LEN])
{
	return pdmv2_kdf(cs, PDMV2_SECRET_LEN, PDMV2_LABEL_HS, host, 16, hs,
			 PDMV2_SECRET_LEN);
}

int pdmv2_stk_context(u16 aead_id, u16 epoch, const struct pdmv2_tuple *t,
		      u8 ctx[PDMV2_STK_CONTEXT_LEN])
{
	if (!pdmv2_aead_key_len(aead_id))
		return PDMV2_ERR_BAD_AEAD;
	if (epoch > PDMV2_EPOCH_MAX)
		return PDMV2_ERR_BAD_EPOCH;
	put_unaligned_be16(aead_id, ctx);
	put_unaligned_be16(epoch, ctx + 2);
	memcpy(ctx + 4, t->src, 16);
	memcpy(ctx + 20, t->dst, 16);
	put_unaligned_be16(t->sport, ctx + 36);
	put_unaligned_be16(t->dport, ctx + 38);
	ctx[40] = t->proto;
	return PDMV2_OK;
}

static int pdmv2_stk_any(const u8 *hs_prk, const struct pdmv2_hmac_key *hk,
			 u16 aead_id, u16 epoch, const struct pdmv2_tuple *t,
			 u8 *stk)
{
	u8 ctx[PDMV2_STK_CONTEXT_LEN];
	int err;

	err = pdmv2_stk_context(aead_id, epoch, t, ctx);
	if (err)
		return err;
	return pdmv2_kdf_expand_any(hs_prk, hk, PDMV2_LABEL_STK, ctx,
				    sizeof(ctx), stk,
				    pdmv2_aead_key_len(aead_id));
}

int pdmv2_stk_from_hs_prk(const u8 hs_prk[PDMV2_HASH_LEN], u16 aead_id,
			  u16 epoch, const struct pdmv2_tuple *t, u8 *stk)
{
	return pdmv2_stk_any(hs_prk, NULL, aead_id, epoch, t, stk);
}

int pdmv2_stk_from_hs_key(const struct pdmv2_hmac_key *hs_prk, u16 aead_id,
			  u16 epoch, const struct pdmv2_tuple *t, u8 *stk)
{
	return pdmv2_stk_any(NULL, hs_prk, aead_id, epoch, t, stk);
}

int pdmv2_stk_from_hs(const u8 hs[PDMV2_SECRET_LEN], u16 aead_id,
		      u16 epoch, const struct pdmv2_tuple *t, u8 *stk)
{
	u8 prk[PDMV2_HASH_LEN];
	int err;

	err = pdmv2_kdf_extract(hs, PDMV2_SECRET_LEN, prk);
	if (!err)
		err = pdmv2_stk_from_hs_prk(prk, aead_id, epoch, t, stk);
	pdmv2_wipe(prk, sizeof(prk));
	return err;
}

/* ---- prefixes ------------------------------------------------------------ */

static bool pdmv2_prefix_match(const u8 *a, const u8 *b, unsigned int plen)
{
	unsigned int full = plen / 8, rest = plen % 8;
	u8 mask;

	if (memcmp(a, b, full))
		return false;
	if (!rest)
		return true;
	mask = (u8)(0xff << (8 - rest));
	return !((a[full] ^ b[full]) & mask);
}

bool pdmv2_prefix_valid(const u8 prefix[16], unsigned int plen)
{
	unsigned int i;

	if (plen > 128)
		return false;
	for (i = plen; i < 128; i++)
		if (prefix[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

bool pdmv2_prefix_contains(const u8 prefix[16], unsigned int plen,
			   const u8 addr[16])
{
	return plen <= 128 && pdmv2_prefix_match(prefix, addr, plen);
}

bool pdmv2_prefix_overlap(const u8 a[16], unsigned int alen,
			  const u8 b[16], unsigned int blen)
{
	/* a length over 128 is no prefix, as in pdmv2_prefix_contains() */
	if (alen > 128 || blen > 128)
		return false;
	return pdmv2_prefix_match(a, b, alen < blen ? alen : blen);
}

/* ---- AES, constant time -------------------------------------------------- */

/*
 * Bitsliced AES over two blocks at once, in eight 32-bit words: word j
 * holds bit j of all 32 state octets, octet (row r, column c) of block b at
 * bit 8r + 4b + c. So a row is one octet lane of every word (MixColumns
 * mixes lanes: word rotations), a row of one block a nibble (ShiftRows
 * rotates nibbles), and SubBytes is a Boolean circuit over the eight words.
 * No operation depends on a key or data value other than through AND, XOR,
 * shifts by constants and rotations: no branch, no table, no index.
 */

static u32 pdmv2_ror32(u32 x, unsigned int n)
{
	return x >> n | x << (32 - n);
}

static u32 pdmv2_le32(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

static void pdmv2_put_le32(u32 v, u8 *p)
{
	p[0] = (u8)v;
	p[1] = (u8)(v >> 8);
	p[2] = (u8)(v >> 16);
	p[3] = (u8)(v >> 24);
}

/* exchange the bits of *@a under @mask << @n with those of *@b under @mask */
static void pdmv2_swap_bits(u32 *a, u32 *b, u32 mask, unsigned int n)
{
	u32 t = ((*a >> n) ^ *b) & mask;

	*b ^= t;
	*a ^= t << n;
}

/*
 * Transpose the 8x8 bit matrix of each octet lane: afterwards bit k of
 * lane r of word j is what bit j of lane r of word k was. Its own inverse.
 */
static void pdmv2_bs_transpose(u32 q[8])
{
	pdmv2_swap_bits(&q[0], &q[1], 0x55555555, 1);
	pdmv2_swap_bits(&q[2], &q[3], 0x55555555, 1);
	pdmv2_swap_bits(&q[4], &q[5], 0x55555555, 1);
	pdmv2_swap_bits(&q[6], &q[7], 0x55555555, 1);
	pdmv2_swap_bits(&q[0], &q[2], 0x33333333, 2);
	pdmv2_swap_bits(&q[1], &q[3], 0x33333333, 2);
	pdmv2_swap_bits(&q[4], &q[6], 0x33333333, 2);
	pdmv2_swap_bits(&q[5], &q[7], 0x33333333, 2);
	pdmv2_swap_bits(&q[0], &q[4], 0x0f0f0f0f, 4);
	pdmv2_swap_bits(&q[1], &q[5], 0x0f0f0f0f, 4);
	pdmv2_swap_bits(&q[2], &q[6], 0x0f0f0f0f, 4);
	pdmv2_swap_bits(&q[3], &q[7], 0x0f0f0f0f, 4);
}

/*
 * SubBytes on every octet: the 113-gate straight-line program of Boyar,
 * Peralta and Calik (SLP_AES_113, Yale Circuit Minimization Team), whose
 * input u0 is an octet's most significant bit and output s0 likewise.
 */
static void pdmv2_bs_sbox(u32 q[8])
{
	u32 u0 = q[7], u1 = q[6], u2 = q[5], u3 = q[4];
	u32 u4 = q[3], u5 = q[2], u6 = q[1], u7 = q[0];
	u32 y1, y2, y3, y4, y5, y6, y7, y8, y9, y10, y11, y12, y13, y14;
	u32 y15, y16, y17, y18, y19, y20, y21;
	u32 t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14;
	u32 t15, t16, t17, t18, t19, t20, t21, t22, t23, t24, t25, t26, t27;
	u32 t28, t29, t30, t31, t32, t33, t34, t35, t36, t37, t38, t39, t40;
	u32 t41, t42, t43, t44, t45;
	u32 z0, z1, z2, z3, z4, z5, z6, z7, z8, z9, z10, z11, z12, z13, z14;
	u32 z15, z16, z17;
	u32 c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14;
	u32 c16, c17, c18, c20, c21, c26;

	/* top linear layer */
	y14 = u3 ^ u5;
	y13 = u0 ^ u6;
	y9 = u0 ^ u3;
	y8 = u0 ^ u5;
	t0 = u1 ^ u2;
	y1 = t0 ^ u7;
	y4 = y1 ^ u3;
	y12 = y13 ^ y14;
	y2 = y1 ^ u0;
	y5 = y1 ^ u6;
	y3 = y5 ^ y8;
	t1 = u4 ^ y12;
	y15 = t1 ^ u5;
	y20 = t1 ^ u1;
	y6 = y15 ^ u7;
	y10 = y15 ^ t0;
	y11 = y20 ^ y9;
	y7 = u7 ^ y11;
	y17 = y10 ^ y11;
	y19 = y10 ^ y8;
	y16 = t0 ^ y11;
	y21 = y13 ^ y16;
	y18 = u0 ^ y16;

	/* non-linear middle: inversion in GF(2^4)^2 */
	t2 = y12 & y15;
	t3 = y3 & y6;
	t4 = t3 ^ t2;
	t5 = y4 & u7;
	t6 = t5 ^ t2;
	t7 = y13 & y16;
	t8 = y5 & y1;
	t9 = t8 ^ t7;
	t10 = y2 & y7;
	t11 = t10 ^ t7;
	t12 = y9 & y11;
	t13 = y14 & y17;
	t14 = t13 ^ t12;
	t15 = y8 & y10;
	t16 = t15 ^ t12;
	t17 = t4 ^ y20;
	t18 = t6 ^ t16;
	t19 = t9 ^ t14;
	t20 = t11 ^ t16;
	t21 = t17 ^ t14;
	t22 = t18 ^ y19;
	t23 = t19 ^ y21;
	t24 = t20 ^ y18;
	t25 = t21 ^ t22;
	t26 = t21 & t23;
	t27 = t24 ^ t26;
	t28 = t25 & t27;
	t29 = t28 ^ t22;
	t30 = t23 ^ t24;
	t31 = t22 ^ t26;
	t32 = t31 & t30;
	t33 = t32 ^ t24;
	t34 = t23 ^ t33;
	t35 = t27 ^ t33;
	t36 = t24 & t35;
	t37 = t36 ^ t34;
	t38 = t27 ^ t36;
	t39 = t29 & t38;
	t40 = t25 ^ t39;
	t41 = t40 ^ t37;
	t42 = t29 ^ t33;
	t43 = t29 ^ t40;
	t44 = t33 ^ t37;
	t45 = t42 ^ t41;
	z0 = t44 & y15;
	z1 = t37 & y6;
	z2 = t33 & u7;
	z3 = t43 & y16;
	z4 = t40 & y1;
	z5 = t29 & y7;
	z6 = t42 & y11;
	z7 = t45 & y17;
	z8 = t41 & y10;
	z9 = t44 & y12;
	z10 = t37 & y3;
	z11 = t33 & y4;
	z12 = t43 & y13;
	z13 = t40 & y5;
	z14 = t29 & y2;
	z15 = t42 & y9;
	z16 = t45 & y14;
	z17 = t41 & y8;

	/* bottom linear layer, with the affine constant 0x63 */
	c1 = z15 ^ z16;
	c2 = z10 ^ c1;
	c3 = z9 ^ c2;
	c4 = z0 ^ z2;
	c5 = z1 ^ z0;
	c6 = z3 ^ z4;
	c7 = z12 ^ c4;
	c8 = z7 ^ c6;
	c9 = z8 ^ c7;
	c10 = c8 ^ c9;
	c11 = c6 ^ c5;
	c12 = z3 ^ z5;
	c13 = z13 ^ c1;
	c14 = c4 ^ c12;
	q[4] = c3 ^ c11;			/* s3 */
	c16 = z6 ^ c8;
	c17 = z14 ^ c10;
	c18 = ~c13 ^ c14;
	q[0] = z12 ^ c18;			/* s7 */
	c20 = z15 ^ c16;
	c21 = c2 ^ z11;
	q[7] = c3 ^ c16;			/* s0 */
	q[1] = c10 ^ c18;			/* s6 */
	q[3] = c14 ^ q[4];			/* s4 */
	q[6] = ~(q[4] ^ c16);			/* s1 */
	c26 = c17 ^ c20;
	q[5] = ~(c26 ^ z17);			/* s2 */
	q[2] = c21 ^ c17;			/* s5 */
}

/*
 * ShiftRows on one word: row r's nibbles rotated right by r, so that
 * (r, c) takes (r, c + r mod 4). Two exchanges of bit pairs: the first
 * swaps neighbours in rows 1 and 3, the second bits two apart (row 1: the
 * middle two, row 2: both pairs, row 3: the outer two), which makes a
 * rotation by 1 in row 1, by 2 in row 2 and by 3 in row 3.
 */
static u32 pdmv2_bs_shift_row_word(u32 x)
{
	u32 t;

	t = ((x >> 1) ^ x) & 0x55005500;
	x ^= t ^ t << 1;
	t = ((x >> 2) ^ x) & 0x11332200;
	return x ^ t ^ t << 2;
}

/*
 * MixColumns: new row r = 2a(r) + 3a(r+1) + a(r+2) + a(r+3)
 *                       = 2(a(r) + a(r+1)) + (sum of all rows) + a(r).
 * Rotating a word right by 8 brings row r+1 into lane r.
 */
static void pdmv2_bs_mix_columns(u32 q[8])
{
	u32 t[8], s[8], v;
	unsigned int j;

	for (j = 0; j < 8; j++) {
		t[j] = q[j] ^ pdmv2_ror32(q[j], 8);
		v = q[j] ^ pdmv2_ror32(q[j], 16);
		s[j] = v ^ pdmv2_ror32(v, 8) ^ q[j];
	}
	/* times 2: shift up one bit, x^8 = x^4 + x^3 + x + 1 (0x1b) */
	q[0] = t[7] ^ s[0];
	q[1] = t[0] ^ t[7] ^ s[1];
	q[2] = t[1] ^ s[2];
	q[3] = t[2] ^ t[7] ^ s[3];
	q[4] = t[3] ^ t[7] ^ s[4];
	q[5] = t[4] ^ s[5];
	q[6] = t[5] ^ s[6];
	q[7] = t[6] ^ s[7];
}

/* both blocks take the same round key: its planes have both nibbles equal */
static void pdmv2_bs_add_round_key(u32 q[8], const u32 rk[8])
{
	unsigned int j;

	for (j = 0; j < 8; j++)
		q[j] ^= rk[j];
}

/* the round key of four key-schedule words (columns 0..3), as planes */
static void pdmv2_bs_round_key(u32 rk[8], const u32 w[4])
{
	unsigned int m;

	for (m = 0; m < 4; m++) {
		rk[m] = w[m];
		rk[4 + m] = w[m];
	}
	pdmv2_bs_transpose(rk);
}

/*
 * SubWord: the S-box on the four octets of a key-schedule word. Octet r
 * goes to bit 0 of lane r of each plane (the other bits are zero, and what
 * the S-box makes of them is dropped on the way back).
 */
static u32 pdmv2_bs_sub_word(u32 w)
{
	u32 q[8];
	unsigned int j;

	for (j = 0; j < 8; j++)
		q[j] = (w >> j) & 0x01010101;
	pdmv2_bs_sbox(q);
	w = 0;
	for (j = 0; j < 8; j++)
		w |= (q[j] & 0x01010101) << j;
	pdmv2_wipe(q, sizeof(q));
	return w;
}

static void pdmv2_aes_expand_portable(struct pdmv2_aes *aes, const u8 *key,
				      unsigned int len)
{
	u32 w[4 * (PDMV2_AES_MAX_ROUNDS + 1)], t, rcon = 1;
	unsigned int nk = len / 4, i;

	aes->rounds = nk + 6;
	/* words of four octets, octet 0 lowest: column c, row r in lane r */
	for (i = 0; i < nk; i++)
		w[i] = pdmv2_le32(key + 4 * i);
	for (i = nk; i < 4 * (aes->rounds + 1); i++) {
		t = w[i - 1];
		if (i % nk == 0) {
			t = pdmv2_bs_sub_word(pdmv2_ror32(t, 8)) ^ rcon;
			/* xtime(rcon): rcon stays public, a branch is fine */
			rcon = rcon << 1 ^ (rcon & 0x80 ? 0x11b : 0);
		} else if (nk > 6 && i % nk == 4) {
			t = pdmv2_bs_sub_word(t);
		}
		w[i] = w[i - nk] ^ t;
	}
	for (i = 0; i <= aes->rounds; i++)
		pdmv2_bs_round_key(aes->rk[i], w + 4 * i);
	pdmv2_wipe(w, sizeof(w));
}

static void pdmv2_aes_encrypt2_portable(const struct pdmv2_aes *aes,
					u8 out[32], const u8 in[32])
{
	u32 q[8];
	unsigned int i, r;

	for (i = 0; i < 8; i++)	/* word 4b + c: column c of block b */
		q[i] = pdmv2_le32(in + 4 * i);
	pdmv2_bs_transpose(q);
	pdmv2_bs_add_round_key(q, aes->rk[0]);
	for (r = 1; r < aes->rounds; r++) {
		pdmv2_bs_sbox(q);
		for (i = 0; i < 8; i++)
			q[i] = pdmv2_bs_shift_row_word(q[i]);
		pdmv2_bs_mix_columns(q);
		pdmv2_bs_add_round_key(q, aes->rk[r]);
	}
	pdmv2_bs_sbox(q);
	for (i = 0; i < 8; i++)
		q[i] = pdmv2_bs_shift_row_word(q[i]);
	pdmv2_bs_add_round_key(q, aes->rk[aes->rounds]);
	pdmv2_bs_transpose(q);
	for (i = 0; i < 8; i++)
		pdmv2_put_le32(q[i], out + 4 * i);
	pdmv2_wipe(q, sizeof(q));
}

void pdmv2_aes_wipe(struct pdmv2_aes *aes)
{
	pdmv2_wipe(aes, sizeof(*aes));
}

/* ---- the CPU's AES and carry-less multiply ------------------------------- */

/* a section for the CPU's instructions when @simd, else nothing */
static void pdmv2_simd_enter(bool simd)
{
	if (simd)
		pdmv2_simd_begin();
}

static void pdmv2_simd_leave(bool simd)
{
	if (simd)
		pdmv2_simd_end();
}

/*
 * These run between pdmv2_simd_begin() and pdmv2_simd_end() when @simd
 * (or the key's simd): the public functions bracket them once per call.
 * pdmv2_simd_usable() is false where the instructions do not exist, so
 * the branches to them are never taken there.
 */
static void pdmv2_aes_expand_any(struct pdmv2_aes *aes, const u8 *key,
				 unsigned int len, bool simd)
{
	aes->simd = simd;
#ifdef PDMV2_HAVE_SIMD
	if (simd) {
		aes->rounds = len / 4 + 6;
		if (len == 16)
			pdmv2_simd_expand128(aes->simd_rk[0], key);
		else
			pdmv2_simd_expand256(aes->simd_rk[0], key);
		return;
	}
#endif
	pdmv2_aes_expand_portable(aes, key, len);
}

static void pdmv2_aes_encrypt2_any(const struct pdmv2_aes *aes, u8 out[32],
				   const u8 in[32])
{
#ifdef PDMV2_HAVE_SIMD
	if (aes->simd) {
		pdmv2_simd_encrypt2(aes->simd_rk[0], aes->rounds, out, in);
		return;
	}
#endif
	pdmv2_aes_encrypt2_portable(aes, out, in);
}

int pdmv2_aes_expand(struct pdmv2_aes *aes, const u8 *key, unsigned int len)
{
	bool simd = pdmv2_simd_usable();

	if (len != 16 && len != 32)
		return PDMV2_ERR_CRYPTO;
	pdmv2_simd_enter(simd);
	pdmv2_aes_expand_any(aes, key, len, simd);
	pdmv2_simd_leave(simd);
	return PDMV2_OK;
}

void pdmv2_aes_encrypt2(const struct pdmv2_aes *aes, u8 out[32],
			const u8 in[32])
{
	pdmv2_simd_enter(aes->simd);
	pdmv2_aes_encrypt2_any(aes, out, in);
	pdmv2_simd_leave(aes->simd);
}

/* ---- GHASH, constant time ------------------------------------------------ */

/*
 * Carry-less 32 x 32 -> 64 bit product from integer multiplies: each
 * operand is split into four parts holding every fourth bit, so that the
 * carries of each partial product stay inside the three-bit gaps between
 * the bits that count (at most 8 one-bit products meet in one place, and
 * 8 fits in four bits); the wanted bit of each place is its lowest.
 */
static u64 pdmv2_clmul32(u32 x, u32 y)
{
	u32 x0 = x & 0x11111111, x1 = x & 0x22222222;
	u32 x2 = x & 0x44444444, x3 = x & 0x88888888;
	u32 y0 = y & 0x11111111, y1 = y & 0x22222222;
	u32 y2 = y & 0x44444444, y3 = y & 0x88888888;
	u64 z0, z1, z2, z3;

	/* 32 x 32 -> 64 bit multiplies: no 64-bit multiply helper on 32-bit */
	z0 = ((u64)x0 * y0) ^ ((u64)x1 * y3) ^ ((u64)x2 * y2) ^ ((u64)x3 * y1);
	z1 = ((u64)x0 * y1) ^ ((u64)x1 * y0) ^ ((u64)x2 * y3) ^ ((u64)x3 * y2);
	z2 = ((u64)x0 * y2) ^ ((u64)x1 * y1) ^ ((u64)x2 * y0) ^ ((u64)x3 * y3);
	z3 = ((u64)x0 * y3) ^ ((u64)x1 * y2) ^ ((u64)x2 * y1) ^ ((u64)x3 * y0);
	return (z0 & 0x1111111111111111ULL) | (z1 & 0x2222222222222222ULL) |
	       (z2 & 0x4444444444444444ULL) | (z3 & 0x8888888888888888ULL);
}

/* 64 x 64 -> 128 (Karatsuba: three 32-bit products) */
static void pdmv2_clmul64_portable(u64 a, u64 b, u64 *hi, u64 *lo)
{
	u32 a1 = (u32)(a >> 32), a0 = (u32)a, b1 = (u32)(b >> 32), b0 = (u32)b;
	u64 l = pdmv2_clmul32(a0, b0), h = pdmv2_clmul32(a1, b1);
	u64 m = pdmv2_clmul32(a0 ^ a1, b0 ^ b1) ^ l ^ h;

	*lo = l ^ m << 32;
	*hi = h ^ m >> 32;
}

static void pdmv2_clmul64(bool simd, u64 a, u64 b, u64 *hi, u64 *lo)
{
#ifdef PDMV2_HAVE_SIMD
	if (simd) {
		u64 p[2];

		pdmv2_pclmul64(a, b, p);
		*lo = p[0];
		*hi = p[1];
		return;
	}
#else
	(void)simd;	/* a CPU without the instructions: always portable */
#endif
	pdmv2_clmul64_portable(a, b, hi, lo);
}

/*
 * The carry-less 256-bit product of two 128-bit values (Karatsuba over
 * 64-bit halves), @p[3] the most significant word.
 */
static void pdmv2_clmul128(bool simd, u64 ah, u64 al, u64 bh, u64 bl,
			   u64 p[4])
{
	u64 m0, m1;

	pdmv2_clmul64(simd, al, bl, &p[1], &p[0]);
	pdmv2_clmul64(simd, ah, bh, &p[3], &p[2]);
	pdmv2_clmul64(simd, al ^ ah, bl ^ bh, &m1, &m0);
	m0 ^= p[0] ^ p[2];
	m1 ^= p[1] ^ p[3];
	p[1] ^= m0;
	p[2] ^= m1;
}

/*
 * Reduce a product of GCM's bit-reflected values loaded big endian (the
 * coefficient of x^k is bit 127 - k): the carry-less product of the two
 * integers, shifted up one bit, is the 256-bit product in the same order;
 * its low half (x^128 and up) is then folded twice with x^128 = x^7 + x^2
 * + x + 1 (a shift right by k multiplies by x^k).
 */
static void pdmv2_gf128_reduce(const u64 q[4], u64 *yh, u64 *yl)
{
	u64 p3, p2, p1, p0;

	p3 = q[3] << 1 | q[2] >> 63;
	p2 = q[2] << 1 | q[1] >> 63;
	p1 = q[1] << 1 | q[0] >> 63;
	p0 = q[0] << 1;

	p2 ^= p0 ^ p0 >> 1 ^ p0 >> 2 ^ p0 >> 7;
	p1 ^= p0 << 63 ^ p0 << 62 ^ p0 << 57;
	p3 ^= p1 ^ p1 >> 1 ^ p1 >> 2 ^ p1 >> 7;
	p2 ^= p1 << 63 ^ p1 << 62 ^ p1 << 57;
	*yh = p3;
	*yl = p2;
}

/* y = y * h in GF(2^128) */
static void pdmv2_gf128_mul(bool simd, u64 *yh, u64 *yl, const u64 h[2])
{
	u64 p[4];

	pdmv2_clmul128(simd, *yh, *yl, h[0], h[1], p);
	pdmv2_gf128_reduce(p, yh, yl);
}

static u64 pdmv2_load_be64(const u8 *p)
{
	return (u64)get_unaligned_be32(p) << 32 | get_unaligned_be32(p + 4);
}

static void pdmv2_store_be64(u64 v, u8 *p)
{
	put_unaligned_be32((u32)(v >> 32), p);
	put_unaligned_be32((u32)v, p + 4);
}

static void pdmv2_ghash_any(const struct pdmv2_gcm *g, u8 y[16],
			    const u8 *data, size_t len)
{
	u64 yh = pdmv2_load_be64(y), yl = pdmv2_load_be64(y + 8);
	u8 last[16];
	size_t n;

	while (len) {
		n = len < 16 ? len : 16;
		if (n < 16) {	/* zero-padded: GHASH of A || 0^s */
			memset(last, 0, sizeof(last));
			memcpy(last, data, n);
			data = last;
		}
		yh ^= pdmv2_load_be64(data);
		yl ^= pdmv2_load_be64(data + 8);
		pdmv2_gf128_mul(g->aes.simd, &yh, &yl, g->h);
		data += n;
		len -= n;
	}
	pdmv2_store_be64(yh, y);
	pdmv2_store_be64(yl, y + 8);
}

/* ---- AES-GCM ------------------------------------------------------------- */

int pdmv2_gcm_init(struct pdmv2_gcm *g, const u8 *key, unsigned int len)
{
	bool simd = pdmv2_simd_usable();
	u8 blocks[32] = { 0 };

	if (len != 16 && len != 32)
		return PDMV2_ERR_CRYPTO;
	pdmv2_simd_enter(simd);
	pdmv2_aes_expand_any(&g->aes, key, len, simd);
	pdmv2_aes_encrypt2_any(&g->aes, blocks, blocks);	/* H = E(0) */
	g->h[0] = pdmv2_load_be64(blocks);
	g->h[1] = pdmv2_load_be64(blocks + 8);
	g->h2[0] = g->h[0];
	g->h2[1] = g->h[1];
	pdmv2_gf128_mul(simd, &g->h2[0], &g->h2[1], g->h);
	g->h3[0] = g->h2[0];
	g->h3[1] = g->h2[1];
	pdmv2_gf128_mul(simd, &g->h3[0], &g->h3[1], g->h);
	/* the lengths block of an option: 8 octets of AAD, 16 of text */
	g->lh[0] = (u64)PDMV2_AAD_LEN * 8;
	g->lh[1] = (u64)PDMV2_METRICS_LEN * 8;
	pdmv2_gf128_mul(simd, &g->lh[0], &g->lh[1], g->h);
	pdmv2_simd_leave(simd);
	pdmv2_wipe(blocks, sizeof(blocks));
	return PDMV2_OK;
}

void pdmv2_gcm_wipe(struct pdmv2_gcm *g)
{
	pdmv2_wipe(g, sizeof(*g));
}

/*
 * CTR from counter block @c on, two blocks per AES call. The first call
 * also encrypts J0 (counter 1) into @ej0 when it is not NULL, so that one
 * option (one block of text) costs one call.
 */
static void pdmv2_gcm_ctr(const struct pdmv2_gcm *g, const u8 nonce[12],
			  const u8 *in, u8 *out, size_t len, u8 *ej0)
{
	u8 ctr[32], ks[32];
	u32 c = 2;	/* inc32(J0): the first counter block of the text */
	size_t i, n;

	memcpy(ctr, nonce, 12);
	memcpy(ctr + 16, nonce, 12);
	do {
		put_unaligned_be32(c, ctr + 12);
		put_unaligned_be32(ej0 ? 1 : c + 1, ctr + 28);
		pdmv2_aes_encrypt2_any(&g->aes, ks, ctr);
		n = len < 16 ? len : 16;
		for (i = 0; i < n; i++)
			out[i] = in[i] ^ ks[i];
		in += n;
		out += n;
		len -= n;
		if (ej0) {
			memcpy(ej0, ks + 16, 16);
			ej0 = NULL;
			c++;
			continue;
		}
		n = len < 16 ? len : 16;
		for (i = 0; i < n; i++)
			out[i] = in[i] ^ ks[16 + i];
		in += n;
		out += n;
		len -= n;
		c += 2;
	} while (len);
	pdmv2_wipe(ks, sizeof(ks));
}

/*
 * GHASH of an option: A (8 octets) || C (one block) || L is
 * A*H^3 + C*H^2 + L*H, two products added before one reduction, with
 * H^2, H^3 and L*H made once per key.
 */
/* A * H^3 + C * H^2, unreduced, with the portable products */
static void pdmv2_option_products(const struct pdmv2_gcm *g, u64 ah,
				  const u8 *ct, u64 p[4])
{
	u64 q[4];

	/* A's low half is zero: two 64-bit products instead of three */
	pdmv2_clmul64(false, ah, g->h3[1], &p[2], &p[1]);
	pdmv2_clmul64(false, ah, g->h3[0], &p[3], &q[0]);
	p[2] ^= q[0];
	p[0] = 0;
	pdmv2_clmul128(false, pdmv2_load_be64(ct), pdmv2_load_be64(ct + 8),
		       g->h2[0], g->h2[1], q);
	p[0] ^= q[0];
	p[1] ^= q[1];
	p[2] ^= q[2];
	p[3] ^= q[3];
}

static void pdmv2_ghash_option_any(const struct pdmv2_gcm *g, const u8 *aad,
				   const u8 *ct, u8 y[16])
{
	u64 p[4], ah = pdmv2_load_be64(aad), yh, yl;

#ifdef PDMV2_HAVE_SIMD
	/* the six products in one call: no 64-bit product at a time */
	if (g->aes.simd)
		pdmv2_pclmul_option(ah, pdmv2_load_be64(ct),
				    pdmv2_load_be64(ct + 8), g->h3, g->h2, p);
	else
#endif
		pdmv2_option_products(g, ah, ct, p);
	pdmv2_gf128_reduce(p, &yh, &yl);
	pdmv2_store_be64(yh ^ g->lh[0], y);
	pdmv2_store_be64(yl ^ g->lh[1], y + 8);
}

/* tag = E(J0) xor GHASH(A || C || [len(A)]64 || [len(C)]64) */
static void pdmv2_gcm_tag(const struct pdmv2_gcm *g, const u8 ej0[16],
			  const u8 *aad, size_t aad_len, const u8 *ct,
			  size_t len, u8 tag[16])
{
	u8 y[16] = { 0 }, lens[16];
	unsigned int i;

	if (aad_len == PDMV2_AAD_LEN && len == PDMV2_METRICS_LEN) {
		pdmv2_ghash_option_any(g, aad, ct, y);
	} else {
		pdmv2_ghash_any(g, y, aad, aad_len);
		pdmv2_ghash_any(g, y, ct, len);
		pdmv2_store_be64((u64)aad_len * 8, lens);
		pdmv2_store_be64((u64)len * 8, lens + 8);
		pdmv2_ghash_any(g, y, lens, sizeof(lens));
	}
	for (i = 0; i < 16; i++)
		tag[i] = ej0[i] ^ y[i];
	pdmv2_wipe(y, sizeof(y));
}

void pdmv2_ghash(const struct pdmv2_gcm *g, u8 y[16], const u8 *data,
		 size_t len)
{
	pdmv2_simd_enter(g->aes.simd);
	pdmv2_ghash_any(g, y, data, len);
	pdmv2_simd_leave(g->aes.simd);
}

void pdmv2_ghash_option(const struct pdmv2_gcm *g, const u8 *aad,
			const u8 *ct, u8 y[16])
{
	pdmv2_simd_enter(g->aes.simd);
	pdmv2_ghash_option_any(g, aad, ct, y);
	pdmv2_simd_leave(g->aes.simd);
}

void pdmv2_gcm_seal(const struct pdmv2_gcm *g, const u8 nonce[12],
		    const u8 *aad, size_t aad_len, const u8 *in, u8 *out,
		    size_t len, u8 tag[PDMV2_GCM_BLOCK])
{
	u8 ej0[16];

	pdmv2_simd_enter(g->aes.simd);
	pdmv2_gcm_ctr(g, nonce, in, out, len, ej0);
	pdmv2_gcm_tag(g, ej0, aad, aad_len, out, len, tag);
	pdmv2_simd_leave(g->aes.simd);
	pdmv2_wipe(ej0, sizeof(ej0));
}

static int pdmv2_gcm_open_any(const struct pdmv2_gcm *g, const u8 nonce[12],
			      const u8 *aad, size_t aad_len, const u8 *in,
			      u8 *out, size_t len, const u8 *tag,
			      unsigned int tag_len)
{
	u8 want[16], ej0[16], text[PDMV2_GCM_BLOCK];
	int diff;

	/*
	 * One AES call gives E(J0) and the first block's key stream: the
	 * text of an option (one block) is decrypted into a scratch and only
	 * copied out once the tag matched.
	 */
	if (len <= sizeof(text)) {
		pdmv2_gcm_ctr(g, nonce, in, text, len, ej0);
	} else {
		u8 zero[16] = { 0 };

		pdmv2_gcm_ctr(g, nonce, zero, zero, 0, ej0);
	}
	pdmv2_gcm_tag(g, ej0, aad, aad_len, in, len, want);
	diff = pdmv2_ct_memcmp(want, tag, tag_len);
	PDMV2_DECLASSIFY(&diff, sizeof(diff));
	pdmv2_wipe(want, sizeof(want));
	pdmv2_wipe(ej0, sizeof(ej0));
	if (diff) {
		pdmv2_wipe(text, sizeof(text));
		return PDMV2_ERR_TAG_MISMATCH;
	}
	PDMV2_DECLASSIFY(text, sizeof(text));
	if (len <= sizeof(text))
		memcpy(out, text, len);
	else
		pdmv2_gcm_ctr(g, nonce, in, out, len, NULL);
	pdmv2_wipe(text, sizeof(text));
	return PDMV2_OK;
}

int pdmv2_gcm_open(const struct pdmv2_gcm *g, const u8 nonce[12],
		   const u8 *aad, size_t aad_len, const u8 *in, u8 *out,
		   size_t len, const u8 *tag, unsigned int tag_len)
{
	int err;

	if (tag_len < 12 || tag_len > 16)
		return PDMV2_ERR_TAG_MISMATCH;
	pdmv2_simd_enter(g->aes.simd);
	err = pdmv2_gcm_open_any(g, nonce, aad, aad_len, in, out, len, tag,
				 tag_len);
	pdmv2_simd_leave(g->aes.simd);
	return err;
}

/* ---- the encrypted option ------------------------------------------------ */

void pdmv2_opt_nonce(const u8 aad[PDMV2_AAD_LEN], u8 nonce[12])
{
	memset(nonce, 0, 6);
	memcpy(nonce + 6, aad + 2, 6);
}

/* pdmv2_opt_seal() inside a pdmv2_simd_begin()/end() section if simd */
static void pdmv2_opt_seal_any(const struct pdmv2_gcm *g,
			       const struct pdmv2_opt *o, u8 *opt)
{
	/*
	 * pdmv2_gcm_seal() for exactly one block of text, with one scratch
	 * wiped once: the counter blocks of the text and of J0, which become
	 * their key streams in one AES call, the metrics, and GHASH.
	 */
	struct {
		u8 ks[32];
		u8 text[PDMV2_METRICS_LEN];
		u8 y[16];
	} s;
	u8 *ct = opt + PDMV2_AAD_LEN, *tag = ct + PDMV2_METRICS_LEN;
	u64 a, b;
	u32 c, d;
	unsigned int i;

	pdmv2_opt_encode_aad(o->epoch, o->psntp, opt);
	pdmv2_opt_encode_metrics(o, s.text);
	pdmv2_opt_nonce(opt, s.ks);
	put_unaligned_be32(2, s.ks + 12);	/* inc32(J0): the text */
	memcpy(s.ks + 16, s.ks, 12);
	put_unaligned_be32(1, s.ks + 28);	/* J0: the tag */
	pdmv2_aes_encrypt2_any(&g->aes, s.ks, s.ks);
	/* word-wise: ct = text ^ key stream, tag = E(J0) ^ GHASH (12 octets) */
	for (i = 0; i < PDMV2_METRICS_LEN; i += 8) {
		memcpy(&a, s.text + i, 8);
		memcpy(&b, s.ks + i, 8);
		a ^= b;
		memcpy(ct + i, &a, 8);
	}
	pdmv2_ghash_option_any(g, opt, ct, s.y);
	memcpy(&a, s.ks + 16, 8);
	memcpy(&b, s.y, 8);
	a ^= b;
	memcpy(tag, &a, 8);
	memcpy(&c, s.ks + 24, 4);
	memcpy(&d, s.y + 8, 4);
	c ^= d;
	memcpy(tag + 8, &c, 4);
	pdmv2_wipe(&s, sizeof(s));
}

unsigned int pdmv2_opt_seal(const struct pdmv2_gcm *g,
			    const struct pdmv2_opt *o, u8 *opt)
{
	pdmv2_simd_enter(g->aes.simd);
	pdmv2_opt_seal_any(g, o, opt);
	pdmv2_simd_leave(g->aes.simd);
	return PDMV2_OPT_LEN_ENC;
}

void pdmv2_opt_seal_n(const struct pdmv2_gcm *g, const struct pdmv2_opt *o,
		      u8 *opts, unsigned int n)
{
	struct pdmv2_opt next = *o;
	unsigned int i;

	pdmv2_simd_enter(g->aes.simd);
	for (i = 0; i < n; i++) {
		pdmv2_opt_seal_any(g, &next, opts + i * PDMV2_OPT_LEN_ENC);
		next.psntp++;
		next.global_pointer++;
	}
	pdmv2_simd_leave(g->aes.simd);
}

int pdmv2_opt_open(const struct pdmv2_gcm *g, const u8 *opt, size_t len,
		   struct pdmv2_opt *o)
{
	u8 nonce[12], block[PDMV2_METRICS_LEN];
	struct pdmv2_opt clear;
	int err;

	err = pdmv2_opt_decode(opt, len, false, &clear);
	if (err)
		return err;
	if (clear.fmt != PDMV2_FMT_ENCRYPTED)
		return PDMV2_ERR_BAD_LENGTH;
	pdmv2_opt_nonce(opt, nonce);
	err = pdmv2_gcm_open(g, nonce, opt, PDMV2_AAD_LEN, opt + PDMV2_AAD_LEN,
			     block, PDMV2_METRICS_LEN,
			     opt + PDMV2_AAD_LEN + PDMV2_METRICS_LEN,
			     PDMV2_TAG_LEN);
	if (err)
		return err;
	clear.psnlr = get_unaligned_be32(block);
	clear.global_pointer = get_unaligned_be32(block + 4);
	clear.scale_dtlr = block[8];
	clear.scale_dtls = block[9];
	clear.reserved_nonzero = block[10] || block[11];
	clear.delta_tlr = get_unaligned_be16(block + 12);
	clear.delta_tls = get_unaligned_be16(block + 14);
	pdmv2_wipe(block, sizeof(block));
	*o = clear;
	return PDMV2_OK;
}
