// SPDX-License-Identifier: GPL-2.0-only
/*
 * pdmv2 key schedule and option sealing, over the primitives of a backend
 * (see pdmv2_crypto.h). Normative reference: docs/PROTOCOL.md section 5.
 */
#include "pdmv2_crypto.h"

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

int pdmv2_kdf_expand(const u8 prk[PDMV2_HASH_LEN], const char *label,
		     const u8 *context, size_t context_len, u8 *out,
		     size_t len)
{
	static const u8 sep;
	static const u8 counter = 1;
	struct pdmv2_hmac_part parts[4];
	u8 t[PDMV2_HASH_LEN];
	int err;

	if (!len || len > PDMV2_HASH_LEN)
		return PDMV2_ERR_CRYPTO;
	/* T(1) = HMAC(PRK, info || 0x01), info = label || 0x00 || context */
	parts[0].data = (const u8 *)label;
	parts[0].len = strlen(label);
	parts[1].data = &sep;
	parts[1].len = 1;
	parts[2].data = context;
	parts[2].len = context_len;
	parts[3].data = &counter;
	parts[3].len = 1;
	err = pdmv2_hmac_sha256(prk, PDMV2_HASH_LEN, parts, 4, t);
	if (!err)
		memcpy(out, t, len);
	pdmv2_wipe(t, sizeof(t));
	return err ? PDMV2_ERR_CRYPTO : PDMV2_OK;
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

int pdmv2_stk_from_hs_prk(const u8 hs_prk[PDMV2_HASH_LEN], u16 aead_id,
			  u16 epoch, const struct pdmv2_tuple *t, u8 *stk)
{
	u8 ctx[PDMV2_STK_CONTEXT_LEN];
	int err;

	err = pdmv2_stk_context(aead_id, epoch, t, ctx);
	if (err)
		return err;
	return pdmv2_kdf_expand(hs_prk, PDMV2_LABEL_STK, ctx, sizeof(ctx), stk,
				pdmv2_aead_key_len(aead_id));
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

/* ---- AES-GCM ------------------------------------------------------------- */

static u64 pdmv2_load_be64(const u8 *p)
{
	return (u64)get_unaligned_be32(p) << 32 | get_unaligned_be32(p + 4);
}

static void pdmv2_store_be64(u64 v, u8 *p)
{
	put_unaligned_be32((u32)(v >> 32), p);
	put_unaligned_be32((u32)v, p + 4);
}

/*
 * x = x * h in GF(2^128), GCM bit order (SP 800-38D algorithm 1). No
 * branch and no table index depends on either operand.
 */
static void pdmv2_gf128_mul(u8 x[16], const u8 h[16])
{
	u64 vh = pdmv2_load_be64(h), vl = pdmv2_load_be64(h + 8);
	u64 zh = 0, zl = 0, bit, lsb;
	unsigned int i;

	for (i = 0; i < 128; i++) {
		bit = (u64)0 - ((x[i / 8] >> (7 - i % 8)) & 1);
		zh ^= vh & bit;
		zl ^= vl & bit;
		lsb = (u64)0 - (vl & 1);
		vl = vl >> 1 | vh << 63;
		vh = vh >> 1 ^ (0xe100000000000000ULL & lsb);
	}
	pdmv2_store_be64(zh, x);
	pdmv2_store_be64(zl, x + 8);
}

static void pdmv2_ghash_update(const struct pdmv2_gcm *g, u8 y[16],
			       const u8 *data, size_t len)
{
	size_t i, n;

	while (len) {
		n = len < 16 ? len : 16;
		for (i = 0; i < n; i++)
			y[i] ^= data[i];
		pdmv2_gf128_mul(y, g->h);
		data += n;
		len -= n;
	}
}

void pdmv2_gcm_init(struct pdmv2_gcm *g, const struct pdmv2_aes *aes)
{
	static const u8 zero[PDMV2_GCM_BLOCK];

	g->aes = aes;
	pdmv2_aes_encrypt(aes, g->h, zero);
}

void pdmv2_gcm_wipe(struct pdmv2_gcm *g)
{
	pdmv2_wipe(g->h, sizeof(g->h));
	g->aes = NULL;
}

static void pdmv2_gcm_ctr(const struct pdmv2_gcm *g, const u8 nonce[12],
			  const u8 *in, u8 *out, size_t len)
{
	u8 ctr[16], ks[16];
	u32 c = 2;	/* inc32(J0): the first counter block of the text */
	size_t i, n;

	memcpy(ctr, nonce, 12);
	while (len) {
		put_unaligned_be32(c++, ctr + 12);
		pdmv2_aes_encrypt(g->aes, ks, ctr);
		n = len < 16 ? len : 16;
		for (i = 0; i < n; i++)
			out[i] = in[i] ^ ks[i];
		in += n;
		out += n;
		len -= n;
	}
	pdmv2_wipe(ks, sizeof(ks));
}

/* tag = E(J0) xor GHASH(A || C || [len(A)]64 || [len(C)]64) */
static void pdmv2_gcm_tag(const struct pdmv2_gcm *g, const u8 nonce[12],
			  const u8 *aad, size_t aad_len, const u8 *ct,
			  size_t len, u8 tag[16])
{
	u8 y[16] = { 0 }, lens[16], j0[16], ej0[16];
	unsigned int i;

	pdmv2_ghash_update(g, y, aad, aad_len);
	pdmv2_ghash_update(g, y, ct, len);
	pdmv2_store_be64((u64)aad_len * 8, lens);
	pdmv2_store_be64((u64)len * 8, lens + 8);
	pdmv2_ghash_update(g, y, lens, sizeof(lens));

	memcpy(j0, nonce, 12);
	put_unaligned_be32(1, j0 + 12);
	pdmv2_aes_encrypt(g->aes, ej0, j0);
	for (i = 0; i < 16; i++)
		tag[i] = ej0[i] ^ y[i];
	pdmv2_wipe(ej0, sizeof(ej0));
	pdmv2_wipe(y, sizeof(y));
}

void pdmv2_gcm_seal(const struct pdmv2_gcm *g, const u8 nonce[12],
		    const u8 *aad, size_t aad_len, const u8 *in, u8 *out,
		    size_t len, u8 tag[PDMV2_GCM_BLOCK])
{
	pdmv2_gcm_ctr(g, nonce, in, out, len);
	pdmv2_gcm_tag(g, nonce, aad, aad_len, out, len, tag);
}

int pdmv2_gcm_open(const struct pdmv2_gcm *g, const u8 nonce[12],
		   const u8 *aad, size_t aad_len, const u8 *in, u8 *out,
		   size_t len, const u8 *tag, unsigned int tag_len)
{
	u8 want[16];
	int diff;

	if (tag_len < 12 || tag_len > 16)
		return PDMV2_ERR_TAG_MISMATCH;
	pdmv2_gcm_tag(g, nonce, aad, aad_len, in, len, want);
	diff = pdmv2_ct_memcmp(want, tag, tag_len);
	pdmv2_wipe(want, sizeof(want));
	if (diff)
		return PDMV2_ERR_TAG_MISMATCH;
	pdmv2_gcm_ctr(g, nonce, in, out, len);
	return PDMV2_OK;
}

/* ---- the encrypted option ------------------------------------------------ */

void pdmv2_opt_nonce(const u8 aad[PDMV2_AAD_LEN], u8 nonce[12])
{
	memset(nonce, 0, 6);
	memcpy(nonce + 6, aad + 2, 6);
}

unsigned int pdmv2_opt_seal(const struct pdmv2_gcm *g,
			    const struct pdmv2_opt *o, u8 *opt)
{
	u8 nonce[12], block[PDMV2_METRICS_LEN], tag[16];

	pdmv2_opt_encode_aad(o->epoch, o->psntp, opt);
	pdmv2_opt_nonce(opt, nonce);
	pdmv2_opt_encode_metrics(o, block);
	pdmv2_gcm_seal(g, nonce, opt, PDMV2_AAD_LEN, block,
		       opt + PDMV2_AAD_LEN, PDMV2_METRICS_LEN, tag);
	memcpy(opt + PDMV2_AAD_LEN + PDMV2_METRICS_LEN, tag, PDMV2_TAG_LEN);
	pdmv2_wipe(block, sizeof(block));
	pdmv2_wipe(tag, sizeof(tag));
	return PDMV2_OPT_LEN_ENC;
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
