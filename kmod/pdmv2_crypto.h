/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pdmv2 key schedule and option sealing (docs/PROTOCOL.md section 5).
 *
 * Like pdmv2_core.c this compiles unchanged in the module and in the
 * user-space harness. HMAC-SHA256 comes from a backend: the module's is
 * pdmv2_crypto_kernel.c (the crypto API), the harness's
 * kmod/test/crypto_openssl.c. What is built here (HKDF, the labels and
 * contexts, AES, GHASH and GCM with a 12-octet tag over one metrics block)
 * is the code both run, so the vectors check the module's own derivation
 * and sealing.
 *
 * AES and GHASH are our own and constant time (no branch and no memory
 * index depends on a key or a text; kmod/test/ct_check.c shows it with
 * valgrind): the kernel's AES library indexes a 256-octet S-box with key
 * and data octets, and its GF(2^128) multiply (gf128mul_lle) branches on
 * its operand. The AES is bitsliced over two blocks, which is exactly what
 * one option needs (the key stream of its one block and E(J0)); GHASH
 * multiplies with integer multiplies, as BearSSL's ctmul does.
 */
#ifndef PDMV2_CRYPTO_H
#define PDMV2_CRYPTO_H

#include "pdmv2_core.h"

#define PDMV2_AEAD_AES_128_GCM	0x0001	/* HPKE registry numbers */
#define PDMV2_AEAD_AES_256_GCM	0x0002

#define PDMV2_SECRET_LEN	32	/* PMS, SGS, CS(P), HS(h) */
#define PDMV2_HASH_LEN		32
#define PDMV2_STK_MAX_LEN	32
#define PDMV2_NONCE_LEN		12
#define PDMV2_GCM_BLOCK		16

#define PDMV2_LABEL_SGS		"pdmv2 v1 sgs"
#define PDMV2_LABEL_CS		"pdmv2 v1 cs"
#define PDMV2_LABEL_HS		"pdmv2 v1 hs"
#define PDMV2_LABEL_STK		"pdmv2 v1 stk"

/* STK context: u16 aead, u16 epoch, src, dst, u16 sport, u16 dport, u8 proto */
#define PDMV2_STK_CONTEXT_LEN	(2 + 2 + 16 + 16 + 2 + 2 + 1)
#define PDMV2_EPOCH_MAX		0x0fff

/* ---- backend: supplied by the module and by the test harness --------- */

struct pdmv2_hmac_part {
	const u8 *data;
	size_t len;
};

/* HMAC-SHA256(@key, concatenation of @parts); 0 or a negative errno. */
int pdmv2_hmac_sha256(const u8 *key, size_t key_len,
		      const struct pdmv2_hmac_part *parts, unsigned int n,
		      u8 out[PDMV2_HASH_LEN]);

/*
 * HMAC-SHA256 with its key's pads hashed once: the SHA-256 states after
 * the inner and the outer pad block, as the backend's SHA-256 exports them
 * (crypto_shash_export() in the module). As secret as the key. A key made
 * this way costs two SHA-256 compressions once, and each HMAC under it two
 * compressions for up to 55 octets of data, where pdmv2_hmac_sha256()
 * pays for the pads every time.
 */
#define PDMV2_SHA256_STATE_MAX	128
struct pdmv2_hmac_key {
	u8 inner[PDMV2_SHA256_STATE_MAX];
	u8 outer[PDMV2_SHA256_STATE_MAX];
};

/* @key of at most 64 octets; 0 or a negative errno */
int pdmv2_hmac_sha256_key(const u8 *key, size_t key_len,
			  struct pdmv2_hmac_key *hk);
/* HMAC-SHA256(the key of @hk, concatenation of @parts) */
int pdmv2_hmac_sha256_keyed(const struct pdmv2_hmac_key *hk,
			    const struct pdmv2_hmac_part *parts,
			    unsigned int n, u8 out[PDMV2_HASH_LEN]);

/*
 * The CPU's AES and carry-less multiply instructions (x86-64: AES-NI and
 * PCLMULQDQ; arm64: AESE and PMULL) may be used here and now: the CPU
 * has them, they are not turned off, and (in the module) the context may
 * use the FPU. Then pdmv2_simd_begin() and pdmv2_simd_end() bracket their
 * use, with no sleep between (kernel_fpu_begin()/end(), on arm64
 * kernel_neon_begin()/end()). Without them, the portable code runs.
 */
bool pdmv2_simd_usable(void);
void pdmv2_simd_begin(void);
void pdmv2_simd_end(void);

/*
 * The CPUs with instructions for both: x86-64 (AES-NI, PCLMULQDQ;
 * pdmv2_aesni_x86_64.S) and little-endian arm64 (the crypto extensions'
 * AESE and PMULL; pdmv2_ce_arm64.S). Elsewhere pdmv2_simd_usable() is
 * false and only the portable code is built.
 */
#if defined(__x86_64__) || (defined(__aarch64__) && !defined(__AARCH64EB__))
#define PDMV2_HAVE_SIMD 1
#endif

#ifdef PDMV2_HAVE_SIMD
/* only between pdmv2_simd_begin() and pdmv2_simd_end() */
void pdmv2_simd_expand128(u8 *rk, const u8 *key);
void pdmv2_simd_expand256(u8 *rk, const u8 *key);
void pdmv2_simd_encrypt2(const u8 *rk, u32 rounds, u8 *out, const u8 *in);
/* @out = { low, high } 64 bits of the carry-less product @a * @b */
void pdmv2_pclmul64(u64 a, u64 b, u64 out[2]);
/* @p = A * H^3 + C * H^2 unreduced, A = (@ah, 0), C = (@ch, @cl) */
void pdmv2_pclmul_option(u64 ah, u64 ch, u64 cl, const u64 h3[2],
			 const u64 h2[2], u64 p[4]);
#endif

/* ---- key schedule ------------------------------------------------------- */

/* Key length of a data-path AEAD, 0 when it is not one (BAD_AEAD). */
unsigned int pdmv2_aead_key_len(u16 aead_id);

/* Epoch = (generation mod 16) << 8 | rekey (PROTOCOL.md section 5.3) */
static inline u16 pdmv2_epoch_make(u32 generation, u8 rekey)
{
	return (u16)((generation & 0xf) << 8 | rekey);
}

static inline u8 pdmv2_epoch_gen4(u16 epoch)
{
	return (epoch >> 8) & 0xf;
}

/* PRK = HKDF-Extract-SHA256(salt = empty, @parent) */
int pdmv2_kdf_extract(const u8 *parent, size_t parent_len,
		      u8 prk[PDMV2_HASH_LEN]);

/*
 * OKM = HKDF-Expand-SHA256(@prk, @label || 0x00 || @context, @len), for
 * @len up to 32 octets (every key of the schedule is at most 32).
 */
int pdmv2_kdf_expand(const u8 prk[PDMV2_HASH_LEN], const char *label,
		     const u8 *context, size_t context_len, u8 *out,
		     size_t len);

/* KDF(parent, label, context, len) = Expand(Extract(parent), ...) */
int pdmv2_kdf(const u8 *parent, size_t parent_len, const char *label,
	      const u8 *context, size_t context_len, u8 *out, size_t len);

int pdmv2_sgs(const u8 pms[PDMV2_SECRET_LEN], u32 generation,
	      u8 sgs[PDMV2_SECRET_LEN]);
/* PDMV2_ERR_BAD_PREFIX when the prefix has host bits set or plen > 128 */
int pdmv2_cs(const u8 sgs[PDMV2_SECRET_LEN], const u8 prefix[16],
	     unsigned int plen, u8 cs[PDMV2_SECRET_LEN]);
int pdmv2_hs(const u8 cs[PDMV2_SECRET_LEN], const u8 host[16],
	     u8 hs[PDMV2_SECRET_LEN]);

/* 5-tuple in the sender's direction, ports in host order */
struct pdmv2_tuple {
	u8 src[16];
	u8 dst[16];
	u16 sport;
	u16 dport;
	u8 proto;
};

int pdmv2_stk_context(u16 aead_id, u16 epoch, const struct pdmv2_tuple *t,
		      u8 ctx[PDMV2_STK_CONTEXT_LEN]);
/* @stk receives pdmv2_aead_key_len(@aead_id) octets */
int pdmv2_stk_from_hs(const u8 hs[PDMV2_SECRET_LEN], u16 aead_id,
		      u16 epoch, const struct pdmv2_tuple *t, u8 *stk);
/* the same, from the PRK of HS(h) (saves one HMAC when HS is cached) */
int pdmv2_stk_from_hs_prk(const u8 hs_prk[PDMV2_HASH_LEN], u16 aead_id,
			  u16 epoch, const struct pdmv2_tuple *t, u8 *stk);
/* the same, from the PRK of HS(h) keyed for HMAC (two compressions) */
int pdmv2_stk_from_hs_key(const struct pdmv2_hmac_key *hs_prk, u16 aead_id,
			  u16 epoch, const struct pdmv2_tuple *t, u8 *stk);

/* ---- prefixes ------------------------------------------------------------ */

/* host bits zero and @plen <= 128 */
bool pdmv2_prefix_valid(const u8 prefix[16], unsigned int plen);
bool pdmv2_prefix_contains(const u8 prefix[16], unsigned int plen,
			   const u8 addr[16]);
/* one prefix contains the other */
bool pdmv2_prefix_overlap(const u8 a[16], unsigned int alen,
			  const u8 b[16], unsigned int blen);

/* ---- AES and GHASH (constant time, pdmv2_crypto.c) -------------------- */

#define PDMV2_AES_MAX_ROUNDS	14

/*
 * An expanded AES encryption key (AES-128 or AES-256): each round key as
 * the eight bit planes the bitsliced rounds add, or, when it was expanded
 * with the CPU's AES instructions (@simd), as the standard schedule those
 * take. No decryption key: GCM only encrypts.
 */
struct pdmv2_aes {
	union {
		u32 rk[PDMV2_AES_MAX_ROUNDS + 1][8];
		u8 simd_rk[PDMV2_AES_MAX_ROUNDS + 1][16];
	};
	u32 rounds;			/* 10 or 14 */
	bool simd;			/* simd_rk, for the CPU's instructions */
};

/*
 * PDMV2_OK, or PDMV2_ERR_CRYPTO for a key length other than 16 and 32.
 * With the CPU's instructions when pdmv2_simd_usable().
 */
int pdmv2_aes_expand(struct pdmv2_aes *aes, const u8 *key, unsigned int len);
/*
 * two blocks at once (the cost of one): @out may be @in. A key expanded
 * with the CPU's instructions needs pdmv2_simd_usable() here too.
 */
void pdmv2_aes_encrypt2(const struct pdmv2_aes *aes, u8 out[32],
			const u8 in[32]);
void pdmv2_aes_wipe(struct pdmv2_aes *aes);

/*
 * GCM state of one key: the expanded key, the hash subkey H and what an
 * option's GHASH needs of it (H^2, H^3, and H times the lengths block of
 * an option), each as two big-endian halves. Everything a seal needs, made
 * once per key (the module caches it per CPU: pdmv2_flow_gcm_get()).
 */
struct pdmv2_gcm {
	struct pdmv2_aes aes;
	u64 h[2], h2[2], h3[2], lh[2];
};

/*
 * expand @key (16 or 32 octets) and compute H = AES-K(0^128); with the
 * CPU's instructions when pdmv2_simd_usable(), and then every use of @g
 * (seal, open, GHASH) needs pdmv2_simd_usable() too: pdmv2_gcm_simd(@g)
 * says which kind @g is.
 */
int pdmv2_gcm_init(struct pdmv2_gcm *g, const u8 *key, unsigned int len);
void pdmv2_gcm_wipe(struct pdmv2_gcm *g);

static inline bool pdmv2_gcm_simd(const struct pdmv2_gcm *g)
{
	return g->aes.simd;
}

/* @y = GHASH_H(@y, @data zero-padded to whole blocks) */
void pdmv2_ghash(const struct pdmv2_gcm *g, u8 y[16], const u8 *data,
		 size_t len);
/* @y = GHASH_H(A || C || lengths) of an option: 8 octets of AAD, one block */
void pdmv2_ghash_option(const struct pdmv2_gcm *g, const u8 *aad,
			const u8 *ct, u8 y[16]);

/*
 * GCM (NIST SP 800-38D) with a 96-bit nonce, whole 16-octet tag. @in and
 * @out may be the same buffer. Encrypt: @tag receives the tag. Decrypt:
 * use pdmv2_gcm_open(), which releases nothing unless the tag matches.
 */
void pdmv2_gcm_seal(const struct pdmv2_gcm *g, const u8 nonce[12],
		    const u8 *aad, size_t aad_len, const u8 *in, u8 *out,
		    size_t len, u8 tag[PDMV2_GCM_BLOCK]);
/*
 * Compare the first @tag_len (12..16) octets of the tag in constant time;
 * on a match decrypt @in into @out and return PDMV2_OK, otherwise
 * PDMV2_ERR_TAG_MISMATCH with @out untouched.
 */
int pdmv2_gcm_open(const struct pdmv2_gcm *g, const u8 nonce[12],
		   const u8 *aad, size_t aad_len, const u8 *in, u8 *out,
		   size_t len, const u8 *tag, unsigned int tag_len);

/* ---- the encrypted option (PROTOCOL.md section 5.4) ------------------- */

/* nonce = 6 zero octets || octets 2..7 of the option */
void pdmv2_opt_nonce(const u8 aad[PDMV2_AAD_LEN], u8 nonce[12]);

/*
 * Seal @o (epoch, psntp and the metrics) into the 36-octet option @opt.
 * Returns the option length.
 */
unsigned int pdmv2_opt_seal(const struct pdmv2_gcm *g,
			    const struct pdmv2_opt *o, u8 *opt);
/*
 * Seal @n options into @opts (PDMV2_OPT_LEN_ENC octets apart): @o, then
 * @o with PSNTP and Global Pointer one higher each time, all under @g
 * (one FPU section for all of them). What @n calls of pdmv2_opt_seal()
 * would write.
 */
void pdmv2_opt_seal_n(const struct pdmv2_gcm *g, const struct pdmv2_opt *o,
		      u8 *opts, unsigned int n);

/*
 * Open one encrypted option of @len octets. Returns PDMV2_OK with every
 * field of @o set (fmt PDMV2_FMT_ENCRYPTED), an option error of section
 * 1.6, or PDMV2_ERR_TAG_MISMATCH. @o is only written on success.
 */
int pdmv2_opt_open(const struct pdmv2_gcm *g, const u8 *opt, size_t len,
		   struct pdmv2_opt *o);

/* constant-time comparison: 0 when equal */
int pdmv2_ct_memcmp(const u8 *a, const u8 *b, size_t n);

/* memset that the compiler keeps (memzero_explicit in the kernel) */
void pdmv2_wipe(void *p, size_t n);

#endif /* PDMV2_CRYPTO_H */
