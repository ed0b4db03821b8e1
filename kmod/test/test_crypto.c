// SPDX-License-Identifier: GPL-2.0-only
/*
 * pdmv2 key schedule and sealing test harness: checks kmod/pdmv2_crypto.c
 * (over the OpenSSL backend, crypto_openssl.c) against the vectors the
 * TypeScript core generates, every intermediate of the key schedule
 * included (test/vectors/pdmv2-keys.json) and the encrypted options
 * (test/vectors/pdmv2-options.json), then cross-checks the GCM and HKDF
 * composition against OpenSSL's own AES-GCM and HKDF on random inputs.
 *
 * usage: test_crypto KEYS.json OPTIONS.json [--seeds DIR]
 * Last line: "N passed, M failed"; exit status non-zero on any failure.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "../pdmv2_crypto.h"
#include "crypto_openssl.h"
#include "harness.h"
#include "simd_user.h"

/*
 * Random cases are many: each property is one check over all cases, and
 * the first few failing cases are printed as details.
 */
static unsigned int detail_budget = 20;

static int detail(int ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int detail(int ok, const char *fmt, ...)
{
	va_list ap;

	if (ok || !detail_budget)
		return !ok;
	detail_budget--;
	printf("  detail: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return 1;
}

/* ---- helpers ---------------------------------------------------------- */

/* hex into a fixed buffer: 1 when @s is exactly @n octets */
static int unhex_n(const char *s, u8 *out, size_t n)
{
	u8 *b;
	long len = unhex(s, &b);
	int ok = len >= 0 && (size_t)len == n;

	if (ok)
		memcpy(out, b, n);
	free(b);
	return ok;
}

/* @got (n octets) equals the hex string @want */
static void check_hex(const u8 *got, size_t n, const char *want,
		      const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void check_hex(const u8 *got, size_t n, const char *want,
		      const char *fmt, ...)
{
	char what[256];
	va_list ap;
	u8 *b;
	long len;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	len = unhex(want, &b);
	check(len >= 0 && (size_t)len == n && !memcmp(got, b, n),
	      "%s: got %s, want %s", what, tohex(got, n),
	      want ? want : "(missing)");
	free(b);
}

static int addr6(const char *s, u8 a[16])
{
	return s && inet_pton(AF_INET6, s, a) == 1;
}

/* "2001:db8::/32" (no range check on the length: errors test > 128) */
static int prefix6(const char *s, u8 a[16], unsigned int *plen)
{
	char buf[64], *slash, *end;
	unsigned long v;

	if (!s || strlen(s) >= sizeof(buf))
		return 0;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash)
		return 0;
	*slash = 0;
	v = strtoul(slash + 1, &end, 10);
	if (!slash[1] || *end || v > 255)
		return 0;
	*plen = (unsigned int)v;
	return addr6(buf, a);
}

static struct json *load(const char *path)
{
	char err[128];
	struct json *root = json_load(path, err, NULL);

	check(root != NULL, "%s: %s", path, err);
	return root;
}

static int err_is(int err, const char *name)
{
	return name && !strcmp(pdmv2_err_name(err), name);
}

/* label || 0x00 || context, as HKDF's info */
static size_t make_info(const char *label, const u8 *ctx, size_t n, u8 *info)
{
	size_t l = strlen(label);

	memcpy(info, label, l);
	info[l] = 0;
	memcpy(info + l + 1, ctx, n);
	return l + 1 + n;
}

/* xorshift64: deterministic random cases */
static u64 rs = 0x9e3779b97f4a7c15ULL;

static u32 rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (u32)(rs >> 16);
}

static void rnd_fill(u8 *b, size_t n)
{
	while (n--)
		*b++ = (u8)rnd();
}

/* ---- OpenSSL references (independent of pdmv2_crypto.c) -------------- */

static const EVP_CIPHER *ref_gcm(size_t klen)
{
	return klen == 16 ? EVP_aes_128_gcm() :
	       klen == 32 ? EVP_aes_256_gcm() : NULL;
}

static int ref_gcm_seal(const u8 *key, size_t klen, const u8 nonce[12],
			const u8 *aad, size_t alen, const u8 *pt, size_t n,
			u8 *ct, u8 tag[16])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len, ok;

	ok = c && EVP_EncryptInit_ex2(c, ref_gcm(klen), key, nonce, NULL) &&
	     (!alen ||
	      EVP_EncryptUpdate(c, NULL, &len, aad, (int)alen)) &&
	     (!n || EVP_EncryptUpdate(c, ct, &len, pt, (int)n)) &&
	     EVP_EncryptFinal_ex(c, ct + n, &len) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag);
	EVP_CIPHER_CTX_free(c);
	return ok;
}

/* 1 when the (possibly truncated) tag verifies */
static int ref_gcm_open(const u8 *key, size_t klen, const u8 nonce[12],
			const u8 *aad, size_t alen, const u8 *ct, size_t n,
			const u8 *tag, size_t tag_len, u8 *pt)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	u8 t[16];
	int len, ok;

	memcpy(t, tag, tag_len);
	ok = c && EVP_DecryptInit_ex2(c, ref_gcm(klen), key, nonce, NULL) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, (int)tag_len, t) &&
	     (!alen ||
	      EVP_DecryptUpdate(c, NULL, &len, aad, (int)alen)) &&
	     (!n || EVP_DecryptUpdate(c, pt, &len, ct, (int)n)) &&
	     EVP_DecryptFinal_ex(c, pt + n, &len) > 0;
	EVP_CIPHER_CTX_free(c);
	return ok;
}

/* HKDF-SHA256 with no salt (RFC 5869: HashLen zeros) */
static int ref_hkdf(const u8 *ikm, size_t ikm_len, const u8 *info,
		    size_t info_len, u8 *out, size_t len)
{
	char digest[] = "SHA256";
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *c = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM p[4];
	int ok;

	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						digest, 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						 (void *)ikm, ikm_len);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
						 (void *)info, info_len);
	p[3] = OSSL_PARAM_construct_end();
	ok = c && EVP_KDF_derive(c, out, len, p) > 0;
	EVP_KDF_CTX_free(c);
	EVP_KDF_free(kdf);
	return ok;
}

/* ---- pdmv2-keys.json -------------------------------------------------- */

static u8 pms[PDMV2_SECRET_LEN];
static int have_pms;

/*
 * One { prk, info, okm } node: PRK = Extract(@parent), info = @label ||
 * 0x00 || @ctx, OKM = Expand(the vector's PRK, ...) and KDF(@parent, ...).
 * @okm receives the vector's OKM (@len octets); 0 when it is unusable.
 */
static int check_kdf_node(const char *what, const struct json *node,
			  const u8 *parent, size_t parent_len,
			  const char *label, const u8 *ctx, size_t ctx_len,
			  size_t len, u8 prk_out[PDMV2_HASH_LEN], u8 *okm)
{
	u8 prk[PDMV2_HASH_LEN], vprk[PDMV2_HASH_LEN], out[PDMV2_HASH_LEN];
	u8 info[64 + PDMV2_STK_CONTEXT_LEN];
	size_t info_len;
	int err;

	if (!node || !unhex_n(str(node, "prk"), vprk, sizeof(vprk)) ||
	    !unhex_n(str(node, "okm"), okm, len)) {
		check(0, "%s: prk/okm missing or of the wrong length", what);
		return 0;
	}
	err = pdmv2_kdf_extract(parent, parent_len, prk);
	check(!err, "%s: extract: %s", what, pdmv2_err_name(err));
	check_hex(prk, sizeof(prk), str(node, "prk"), "%s: prk", what);
	if (prk_out)
		memcpy(prk_out, prk, sizeof(prk));

	info_len = make_info(label, ctx, ctx_len, info);
	check_hex(info, info_len, str(node, "info"), "%s: info", what);

	memset(out, 0xa5, sizeof(out));
	err = pdmv2_kdf_expand(vprk, label, ctx, ctx_len, out, len);
	check(!err, "%s: expand: %s", what, pdmv2_err_name(err));
	check_hex(out, len, str(node, "okm"), "%s: expand(prk)", what);
	check(len == sizeof(out) || out[len] == 0xa5,
	      "%s: expand wrote past %zu octets", what, len);

	err = pdmv2_kdf(parent, parent_len, label, ctx, ctx_len, out, len);
	check(!err, "%s: kdf: %s", what, pdmv2_err_name(err));
	check_hex(out, len, str(node, "okm"), "%s: kdf", what);
	return 1;
}

static int sgs_of(u32 generation, u8 sgs[PDMV2_SECRET_LEN])
{
	return have_pms && !pdmv2_sgs(pms, generation, sgs);
}

static void test_labels(const struct json *l)
{
	check(l && str(l, "sgs") && !strcmp(str(l, "sgs"), PDMV2_LABEL_SGS) &&
	      str(l, "cs") && !strcmp(str(l, "cs"), PDMV2_LABEL_CS) &&
	      str(l, "hs") && !strcmp(str(l, "hs"), PDMV2_LABEL_HS) &&
	      str(l, "stk") && !strcmp(str(l, "stk"), PDMV2_LABEL_STK),
	      "labels: differ from pdmv2_crypto.h");
}

static void test_pairing(const struct json *arr)
{
	static const char info_label[] = "pdmv2 v1 pairing";
	static const char pms_label[] = "pdmv2 v1 pms";
	const struct json *e;

	for (e = arr ? arr->child : NULL; e; e = e->next) {
		const char *name = str(e, "name");
		unsigned long long gen, kem, kdf, aead;
		u8 p[PDMV2_SECRET_LEN], sgs[PDMV2_SECRET_LEN], salt[32];
		u8 ctx[6], info[64];
		size_t n;
		int err;

		if (!name || !num(e, "generation", &gen) ||
		    !num(e, "kem_id", &kem) || !num(e, "kdf_id", &kdf) ||
		    !num(e, "aead_id", &aead) ||
		    !unhex_n(str(e, "pms"), p, sizeof(p)) ||
		    !unhex_n(str(e, "salt"), salt, sizeof(salt))) {
			check(0, "pairing: malformed entry");
			continue;
		}
		/* HPKE itself is the TypeScript core's; its inputs are here */
		put_unaligned_be16((u16)kem, ctx);
		put_unaligned_be16((u16)kdf, ctx + 2);
		put_unaligned_be16((u16)aead, ctx + 4);
		n = make_info(info_label, ctx, sizeof(ctx), info);
		check_hex(info, n, str(e, "info"), "pairing/%s: info", name);
		n = make_info(pms_label, salt, sizeof(salt), info);
		check_hex(info, n, str(e, "exporter_context"),
			  "pairing/%s: exporter_context", name);
		err = pdmv2_sgs(p, (u32)gen, sgs);
		check(!err, "pairing/%s: sgs: %s", name, pdmv2_err_name(err));
		check_hex(sgs, sizeof(sgs), str(e, "sgs"),
			  "pairing/%s: sgs of generation %llu", name, gen);
	}
}

static void test_generations(const struct json *arr)
{
	const struct json *e;

	for (e = arr ? arr->child : NULL; e; e = e->next) {
		const struct json *node = json_get(e, "sgs");
		u8 ctx[4], okm[PDMV2_SECRET_LEN], sgs[PDMV2_SECRET_LEN];
		unsigned long long gen;
		char what[64];
		int err;

		if (!have_pms || !num(e, "generation", &gen)) {
			check(0, "generations: malformed entry");
			continue;
		}
		snprintf(what, sizeof(what), "generations/%llu: sgs", gen);
		put_unaligned_be32((u32)gen, ctx);
		if (!check_kdf_node(what, node, pms, sizeof(pms),
				    PDMV2_LABEL_SGS, ctx, sizeof(ctx),
				    PDMV2_SECRET_LEN, NULL, okm))
			continue;
		memset(sgs, 0, sizeof(sgs));
		err = pdmv2_sgs(pms, (u32)gen, sgs);
		check(!err && !memcmp(sgs, okm, sizeof(sgs)),
		      "%s: pdmv2_sgs gives %s (%s)", what,
		      tohex(sgs, sizeof(sgs)), pdmv2_err_name(err));
	}
}

static void test_client_secrets(const struct json *arr)
{
	const struct json *e;

	for (e = arr ? arr->child : NULL; e; e = e->next) {
		const char *pfx = str(e, "prefix");
		u8 sgs[PDMV2_SECRET_LEN], okm[PDMV2_SECRET_LEN];
		u8 cs[PDMV2_SECRET_LEN], prefix[16], ctx[17];
		unsigned long long gen;
		unsigned int plen;
		char what[96];
		int err;

		if (!num(e, "generation", &gen) ||
		    !prefix6(pfx, prefix, &plen) || !sgs_of((u32)gen, sgs)) {
			check(0, "client_secrets: malformed entry");
			continue;
		}
		snprintf(what, sizeof(what), "client_secrets/%s", pfx);
		check(pdmv2_prefix_valid(prefix, plen), "%s: prefix not valid",
		      what);
		memcpy(ctx, prefix, 16);
		ctx[16] = (u8)plen;
		check_hex(ctx, sizeof(ctx), str(e, "context"), "%s: context",
			  what);
		if (!check_kdf_node(what, json_get(e, "cs"), sgs, sizeof(sgs),
				    PDMV2_LABEL_CS, ctx, sizeof(ctx),
				    PDMV2_SECRET_LEN, NULL, okm))
			continue;
		err = pdmv2_cs(sgs, prefix, plen, cs);
		check(!err && !memcmp(cs, okm, sizeof(cs)),
		      "%s: pdmv2_cs gives %s (%s)", what, tohex(cs, sizeof(cs)),
		      pdmv2_err_name(err));
	}
}

static void test_host_secrets(const struct json *arr)
{
	const struct json *e;

	for (e = arr ? arr->child : NULL; e; e = e->next) {
		const char *pfx = str(e, "prefix"), *h = str(e, "host");
		u8 sgs[PDMV2_SECRET_LEN], cs[PDMV2_SECRET_LEN];
		u8 hs[PDMV2_SECRET_LEN], okm[PDMV2_SECRET_LEN];
		u8 prefix[16], host[16];
		unsigned long long gen;
		unsigned int plen;
		char what[128];
		int err;

		if (!num(e, "generation", &gen) ||
		    !prefix6(pfx, prefix, &plen) ||
		    !addr6(h, host) || !sgs_of((u32)gen, sgs) ||
		    pdmv2_cs(sgs, prefix, plen, cs)) {
			check(0, "host_secrets: malformed entry");
			continue;
		}
		snprintf(what, sizeof(what), "host_secrets/%s", h);
		check(pdmv2_prefix_contains(prefix, plen, host),
		      "%s: host outside %s", what, pfx);
		if (!check_kdf_node(what, json_get(e, "hs"), cs, sizeof(cs),
				    PDMV2_LABEL_HS, host, sizeof(host),
				    PDMV2_SECRET_LEN, NULL, okm))
			continue;
		err = pdmv2_hs(cs, host, hs);
		check(!err && !memcmp(hs, okm, sizeof(hs)),
		      "%s: pdmv2_hs gives %s (%s)", what, tohex(hs, sizeof(hs)),
		      pdmv2_err_name(err));
	}
}

static int tuple_of(const struct json *j, struct pdmv2_tuple *t)
{
	unsigned long long sport, dport, proto;

	memset(t, 0, sizeof(*t));
	if (!j || !addr6(str(j, "src"), t->src) ||
	    !addr6(str(j, "dst"), t->dst) || !num(j, "sport", &sport) ||
	    !num(j, "dport", &dport) || !num(j, "protocol", &proto) ||
	    sport > 0xffff || dport > 0xffff || proto > 0xff)
		return 0;
	t->sport = (u16)sport;
	t->dport = (u16)dport;
	t->proto = (u8)proto;
	return 1;
}

static void test_flows(const struct json *arr)
{
	const struct json *e;

	for (e = arr ? arr->child : NULL; e; e = e->next) {
		const char *name = str(e, "name"), *pfx = str(e, "prefix");
		unsigned long long gen, rekey, epoch, aead;
		u8 sgs[PDMV2_SECRET_LEN], cs[PDMV2_SECRET_LEN];
		u8 hs[PDMV2_SECRET_LEN], prk[PDMV2_HASH_LEN];
		u8 okm[PDMV2_STK_MAX_LEN], stk[PDMV2_STK_MAX_LEN + 8];
		u8 ctx[PDMV2_STK_CONTEXT_LEN], prefix[16], client[16];
		struct pdmv2_hmac_key hk;
		struct pdmv2_tuple t;
		unsigned int plen, klen;
		char what[128];
		int err;

		if (!name || !num(e, "generation", &gen) ||
		    !num(e, "rekey", &rekey) || !num(e, "epoch", &epoch) ||
		    !num(e, "aead_id", &aead) || !prefix6(pfx, prefix, &plen) ||
		    !addr6(str(e, "client"), client) ||
		    !tuple_of(json_get(e, "tuple"), &t) ||
		    !sgs_of((u32)gen, sgs) || rekey > 255 || epoch > 0xffff) {
			check(0, "flows: malformed entry");
			continue;
		}
		snprintf(what, sizeof(what), "flows/%s", name);
		klen = pdmv2_aead_key_len((u16)aead);
		check(klen == 16 || klen == 32, "%s: aead %llu unknown", what,
		      aead);
		if (!klen)
			continue;
		check(pdmv2_epoch_make((u32)gen, (u8)rekey) == epoch,
		      "%s: epoch_make(%llu, %llu) = %u, want %llu", what, gen,
		      rekey, pdmv2_epoch_make((u32)gen, (u8)rekey), epoch);
		check(pdmv2_epoch_gen4((u16)epoch) == (gen & 0xf),
		      "%s: epoch_gen4", what);
		check(pdmv2_prefix_contains(prefix, plen, client) &&
		      (!memcmp(client, t.src, 16) ||
		       !memcmp(client, t.dst, 16)),
		      "%s: client not in the prefix or the tuple", what);

		err = pdmv2_cs(sgs, prefix, plen, cs);
		check(!err, "%s: cs: %s", what, pdmv2_err_name(err));
		check_hex(cs, sizeof(cs), str(e, "cs"), "%s: cs", what);
		err = pdmv2_hs(cs, client, hs);
		check(!err, "%s: hs: %s", what, pdmv2_err_name(err));
		check_hex(hs, sizeof(hs), str(e, "hs"), "%s: hs", what);

		err = pdmv2_stk_context((u16)aead, (u16)epoch, &t, ctx);
		check(!err, "%s: stk_context: %s", what, pdmv2_err_name(err));
		check_hex(ctx, sizeof(ctx), str(e, "context"), "%s: context",
			  what);
		if (!check_kdf_node(what, json_get(e, "stk"), hs, sizeof(hs),
				    PDMV2_LABEL_STK, ctx, sizeof(ctx), klen,
				    prk, okm))
			continue;

		memset(stk, 0xa5, sizeof(stk));
		err = pdmv2_stk_from_hs(hs, (u16)aead, (u16)epoch, &t, stk);
		check(!err && !memcmp(stk, okm, klen),
		      "%s: stk_from_hs gives %s (%s)", what, tohex(stk, klen),
		      pdmv2_err_name(err));
		check(stk[klen] == 0xa5 && stk[sizeof(stk) - 1] == 0xa5,
		      "%s: stk_from_hs wrote past %u octets", what, klen);
		memset(stk, 0xa5, sizeof(stk));
		err = pdmv2_stk_from_hs_prk(prk, (u16)aead, (u16)epoch, &t,
					    stk);
		check(!err && !memcmp(stk, okm, klen) && stk[klen] == 0xa5,
		      "%s: stk_from_hs_prk gives %s (%s)", what,
		      tohex(stk, klen), pdmv2_err_name(err));
		memset(stk, 0xa5, sizeof(stk));
		err = pdmv2_hmac_sha256_key(prk, sizeof(prk), &hk);
		if (!err)
			err = pdmv2_stk_from_hs_key(&hk, (u16)aead, (u16)epoch,
						    &t, stk);
		check(!err && !memcmp(stk, okm, klen) && stk[klen] == 0xa5,
		      "%s: stk_from_hs_key (HS's PRK keyed once) gives %s (%s)",
		      what, tohex(stk, klen), pdmv2_err_name(err));
	}
}

/*
 * The keyed HMAC against the plain one: keys of 0 to 64 octets (the
 * longest a key may be), data of 0 to 200 octets in up to three parts,
 * so that the data ends before, at and after block boundaries.
 */
static void test_hmac_keyed(void)
{
	static const unsigned int key_lens[] = { 0, 1, 31, 32, 33, 63, 64 };
	static const unsigned int data_lens[] = { 0, 1, 55, 56, 63, 64, 65,
						  119, 120, 200 };
	struct pdmv2_hmac_key hk;
	struct pdmv2_hmac_part parts[3];
	u8 key[65], data[200], want[PDMV2_HASH_LEN], got[PDMV2_HASH_LEN];
	unsigned int i, j, n, bad = 0, runs = 0;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (u8)(i * 7 + 3);
	for (i = 0; i < sizeof(data); i++)
		data[i] = (u8)(i * 11 + 1);
	for (i = 0; i < sizeof(key_lens) / sizeof(key_lens[0]); i++) {
		if (pdmv2_hmac_sha256_key(key, key_lens[i], &hk)) {
			bad++;
			continue;
		}
		for (j = 0; j < sizeof(data_lens) / sizeof(data_lens[0]); j++) {
			n = data_lens[j];
			parts[0].data = data;
			parts[0].len = n / 3;
			parts[1].data = data + n / 3;
			parts[1].len = n / 2 - n / 3;
			parts[2].data = data + n / 2;
			parts[2].len = n - n / 2;
			if (pdmv2_hmac_sha256(key, key_lens[i], parts, 3, want) ||
			    pdmv2_hmac_sha256_keyed(&hk, parts, 3, got) ||
			    memcmp(want, got, sizeof(got)))
				bad++;
			runs++;
		}
	}
	check(!bad && runs == 70,
	      "hmac: keyed once and then used equals HMAC-SHA256 for keys of 0..64 and data of 0..200 octets (%u of %u differ)",
	      bad, runs);
	check(pdmv2_hmac_sha256_key(key, 65, &hk) != 0,
	      "hmac: a key longer than one block is refused for keying");
}

static void test_lpm(const struct json *lpm)
{
	const struct json *prefixes = json_get(lpm, "prefixes");
	const struct json *lookups = json_get(lpm, "lookups");
	const struct json *l, *p;

	if (!prefixes || !lookups || !json_count(lookups)) {
		check(0, "longest_prefix_match: missing");
		return;
	}
	for (p = prefixes->child; p; p = p->next) {
		u8 a[16];
		unsigned int plen;

		check(p->type == JSON_STRING && prefix6(p->text, a, &plen) &&
		      pdmv2_prefix_valid(a, plen),
		      "longest_prefix_match: prefix %s",
		      p->type == JSON_STRING ? p->text : "?");
	}
	for (l = lookups->child; l; l = l->next) {
		const struct json *want = json_get(l, "match");
		const char *as = str(l, "address"), *best = NULL;
		unsigned int best_len = 0;
		u8 addr[16];

		if (!addr6(as, addr) || !want) {
			check(0, "longest_prefix_match: malformed lookup");
			continue;
		}
		for (p = prefixes->child; p; p = p->next) {
			unsigned int plen;
			u8 a[16];

			if (p->type != JSON_STRING ||
			    !prefix6(p->text, a, &plen) ||
			    !pdmv2_prefix_contains(a, plen, addr))
				continue;
			if (!best || plen > best_len) {
				best = p->text;
				best_len = plen;
			}
		}
		if (want->type == JSON_NULL)
			check(!best,
			      "longest_prefix_match/%s: got %s, want none",
			      as, best);
		else
			check(want->type == JSON_STRING && best &&
			      !strcmp(best, want->text),
			      "longest_prefix_match/%s: got %s, want %s", as,
			      best ? best : "none",
			      want->type == JSON_STRING ? want->text : "?");
	}
}

static void test_errors(const struct json *arr)
{
	static const struct pdmv2_tuple t = { .proto = 17 };
	const struct json *e;

	for (e = arr ? arr->child : NULL; e; e = e->next) {
		const struct json *in = json_get(e, "input");
		const char *name = str(e, "name"), *want = str(e, "error");
		unsigned long long v, gen;
		u8 sgs[PDMV2_SECRET_LEN], out[PDMV2_SECRET_LEN];
		u8 ctx[PDMV2_STK_CONTEXT_LEN];
		int err;

		if (!name || !want || !in || !sgs_of(1, sgs)) {
			check(0, "errors: malformed entry");
			continue;
		}
		if (json_get(in, "prefix_address")) {
			u8 prefix[16];

			if (!addr6(str(in, "prefix_address"), prefix) ||
			    !num(in, "prefix_length", &v) || v > 255) {
				check(0, "errors/%s: malformed input", name);
				continue;
			}
			check(!pdmv2_prefix_valid(prefix, (unsigned int)v),
			      "errors/%s: prefix_valid accepts it", name);
			memset(out, 0xa5, sizeof(out));
			err = pdmv2_cs(sgs, prefix, (unsigned int)v, out);
			check(err_is(err, want) && out[0] == 0xa5 &&
			      out[31] == 0xa5,
			      "errors/%s: cs gives %s, want %s", name,
			      pdmv2_err_name(err), want);
		} else if (json_get(in, "aead_id")) {
			if (!num(in, "aead_id", &v) || v > 0xffff) {
				check(0, "errors/%s: malformed input", name);
				continue;
			}
			check(!pdmv2_aead_key_len((u16)v),
			      "errors/%s: aead_key_len is not 0", name);
			err = pdmv2_stk_context((u16)v, 0x100, &t, ctx);
			check(err_is(err, want),
			      "errors/%s: stk_context gives %s, want %s", name,
			      pdmv2_err_name(err), want);
			err = pdmv2_stk_from_hs(sgs, (u16)v, 0x100, &t, out);
			check(err_is(err, want),
			      "errors/%s: stk_from_hs gives %s, want %s", name,
			      pdmv2_err_name(err), want);
		} else if (json_get(in, "epoch")) {
			if (!num(in, "epoch", &v) || v > 0xffff) {
				check(0, "errors/%s: malformed input", name);
				continue;
			}
			err = pdmv2_stk_context(PDMV2_AEAD_AES_128_GCM, (u16)v,
						&t, ctx);
			check(err_is(err, want),
			      "errors/%s: stk_context gives %s, want %s", name,
			      pdmv2_err_name(err), want);
			err = pdmv2_stk_from_hs(sgs, PDMV2_AEAD_AES_128_GCM,
						(u16)v, &t, out);
			check(err_is(err, want),
			      "errors/%s: stk_from_hs gives %s, want %s", name,
			      pdmv2_err_name(err), want);
		} else if (json_get(in, "rekey")) {
			if (!num(in, "rekey", &v) ||
			    !num(in, "generation", &gen)) {
				check(0, "errors/%s: malformed input", name);
				continue;
			}
			/*
			 * The C API has no rekey counter to reject: the only
			 * way to an epoch is pdmv2_epoch_make(), whose rekey
			 * parameter is a u8, so rekey > 255 cannot be passed
			 * at all (the TypeScript core checks a number). What
			 * is checked is that the signature still makes it
			 * unrepresentable: widening rekey without adding a
			 * range check fails here.
			 */
			check(v <= 255 ||
			      __builtin_types_compatible_p(
				      __typeof__(&pdmv2_epoch_make),
				      u16 (*)(u32, u8)),
			      "errors/%s: pdmv2_epoch_make no longer takes a u8 rekey; it must reject rekey %llu with %s",
			      name, v, want);
			printf("note: errors/%s: rekey %llu is not expressible in the C API (u8 parameter); signature checked, no %s path to call\n",
			       name, v, want);
		} else {
			check(0, "errors/%s: input kind not handled here",
			      name);
		}
	}
}

static const struct vector_section key_sections[] = {
	{ "labels", test_labels },
	{ "pairing", test_pairing, "pairing" },
	{ "generations", test_generations, "generations" },
	{ "client_secrets", test_client_secrets, "client_secrets" },
	{ "host_secrets", test_host_secrets, "host_secrets" },
	{ "flows", test_flows, "flows" },
	{ "longest_prefix_match", test_lpm, "lpm lookups", "lookups" },
	{ "errors", test_errors, "errors" },
};

static void test_keys(const struct json *root)
{
	unsigned long long v;

	check(num(root, "version", &v) && v == 1, "keys: version 1");
	have_pms = unhex_n(str(root, "pms"), pms, sizeof(pms));
	check(have_pms, "keys: pms");
	test_sections(root, "keys", key_sections,
		      sizeof(key_sections) / sizeof(key_sections[0]));
}

/* ---- pdmv2-options.json: encrypted, encrypted_failures ---------------- */

static int same_fields(const struct pdmv2_opt *a, const struct pdmv2_opt *b)
{
	return a->fmt == b->fmt && a->version == b->version &&
	       a->epoch == b->epoch && a->psntp == b->psntp &&
	       a->psnlr == b->psnlr && a->global_pointer == b->global_pointer &&
	       a->scale_dtlr == b->scale_dtlr &&
	       a->scale_dtls == b->scale_dtls &&
	       a->delta_tlr == b->delta_tlr && a->delta_tls == b->delta_tls &&
	       a->random == b->random && a->flag == b->flag &&
	       a->reserved_nonzero == b->reserved_nonzero;
}

/* expanded key + GCM state for one vector key */
struct keyed {
	int ready;
	struct pdmv2_gcm g;
	u8 key[32];
	size_t klen;
};

static int keyed_init(struct keyed *k, const char *hex, unsigned long long aead)
{
	u8 *b;
	long n = unhex(hex, &b);

	memset(k, 0, sizeof(*k));
	if (n < 0 || aead > 0xffff ||
	    (size_t)n != pdmv2_aead_key_len((u16)aead)) {
		free(b);
		return 0;
	}
	memcpy(k->key, b, (size_t)n);
	k->klen = (size_t)n;
	free(b);
	if (pdmv2_gcm_init(&k->g, k->key, (unsigned int)n))
		return 0;
	k->ready = 1;
	return 1;
}

static void keyed_free(struct keyed *k)
{
	if (k->ready)
		pdmv2_gcm_wipe(&k->g);
	k->ready = 0;
}

/*
 * Flip every bit of a sealed option: opening must fail each time and leave
 * the output alone. Head bits may fail in the decoder (NOT_PDM,
 * BAD_LENGTH, TRUNCATED, BAD_VERSION); epoch, PSNTP, ciphertext and tag
 * bits must give TAG_MISMATCH.
 */
static void check_all_flips(const char *name, const struct pdmv2_gcm *g,
			    const u8 *opt)
{
	u8 b[PDMV2_OPT_LEN_ENC];
	struct pdmv2_opt o, sentinel;
	unsigned int i, bad = 0;
	int err;

	memset(&sentinel, 0x5a, sizeof(sentinel));
	for (i = 0; i < 8 * PDMV2_OPT_LEN_ENC; i++) {
		memcpy(b, opt, sizeof(b));
		b[i / 8] ^= (u8)(0x80 >> (i % 8));
		memcpy(&o, &sentinel, sizeof(o));
		err = pdmv2_opt_open(g, b, sizeof(b), &o);
		bad += detail(err != PDMV2_OK &&
			      (i < 20 || err == PDMV2_ERR_TAG_MISMATCH) &&
			      !memcmp(&o, &sentinel, sizeof(o)),
			      "%s: bit %u flipped: %s", name, i,
			      pdmv2_err_name(err));
	}
	check(!bad, "encrypted/%s: %u of %u single-bit flips not rejected",
	      name, bad, 8 * PDMV2_OPT_LEN_ENC);
}

static void test_encrypted(const struct json *arr)
{
	const struct json *e, *f;

	for (e = arr ? arr->child : NULL; e; e = e->next) {
		const char *name = str(e, "name");
		const struct json *fields = json_get(e, "fields");
		u8 opt[PDMV2_OPT_LEN_ENC + 1], want[PDMV2_OPT_LEN_ENC];
		u8 nonce[12], pt[16], ct[16], tag[16], rct[16], rtag[16];
		struct pdmv2_opt o, got, sentinel;
		unsigned long long aead, v;
		struct keyed k;
		unsigned int len;
		int err;

		if (!name || !fields || !num(e, "aead_id", &aead) ||
		    !unhex_n(str(e, "option"), want, sizeof(want)) ||
		    !unhex_n(str(e, "nonce"), nonce, sizeof(nonce)) ||
		    !unhex_n(str(e, "plaintext"), pt, sizeof(pt))) {
			check(0, "encrypted: malformed entry");
			continue;
		}
		if (!keyed_init(&k, str(e, "key"), aead)) {
			check(0, "encrypted/%s: key does not fit aead %llu",
			      name, aead);
			continue;
		}
		memset(&o, 0, sizeof(o));
		o.fmt = PDMV2_FMT_ENCRYPTED;
		for (f = fields->child; f; f = f->next)
			check(num(fields, f->key, &v) &&
			      opt_set_field(&o, f->key, v),
			      "encrypted/%s: field %s unknown", name, f->key);

		/* the option's parts */
		memset(opt, 0xa5, sizeof(opt));
		len = pdmv2_opt_seal(&k.g, &o, opt);
		check(len == PDMV2_OPT_LEN_ENC && opt[len] == 0xa5,
		      "encrypted/%s: seal length %u", name, len);
		check_hex(opt, PDMV2_OPT_LEN_ENC, str(e, "option"),
			  "encrypted/%s: seal", name);
		check_hex(want, PDMV2_AAD_LEN, str(e, "aad"),
			  "encrypted/%s: aad = option octets 0..7", name);
		check_hex(want + 8, 16, str(e, "ciphertext"),
			  "encrypted/%s: ciphertext = option octets 8..23",
			  name);
		check_hex(want + 24, PDMV2_TAG_LEN, str(e, "tag"),
			  "encrypted/%s: tag = option octets 24..35", name);
		pdmv2_opt_nonce(want, opt);
		check_hex(opt, 12, str(e, "nonce"), "encrypted/%s: opt_nonce",
			  name);
		pdmv2_opt_encode_metrics(&o, opt);
		check_hex(opt, 16, str(e, "plaintext"),
			  "encrypted/%s: metrics block", name);

		/* the GCM layer alone, and OpenSSL's GCM on the same input */
		pdmv2_gcm_seal(&k.g, nonce, want, PDMV2_AAD_LEN, pt, ct, 16,
			       tag);
		check_hex(ct, 16, str(e, "ciphertext"),
			  "encrypted/%s: gcm_seal ciphertext", name);
		check_hex(tag, PDMV2_TAG_LEN, str(e, "tag"),
			  "encrypted/%s: gcm_seal tag", name);
		err = !ref_gcm_seal(k.key, k.klen, nonce, want, PDMV2_AAD_LEN,
				    pt, 16, rct, rtag);
		check(!err && !memcmp(rct, ct, 16) && !memcmp(rtag, tag, 16),
		      "encrypted/%s: OpenSSL GCM differs: %s %s", name,
		      tohex(rct, 16), tohex(rtag, 16));

		/* open */
		memset(&got, 0x5a, sizeof(got));
		err = pdmv2_opt_open(&k.g, want, sizeof(want), &got);
		o.version = PDMV2_VERSION;
		check(!err && same_fields(&got, &o),
		      "encrypted/%s: open: %s, fields %s", name,
		      pdmv2_err_name(err),
		      !err && same_fields(&got, &o) ? "equal" : "differ");

		/* length errors before any crypto; output untouched */
		memset(&sentinel, 0x5a, sizeof(sentinel));
		memcpy(opt, want, sizeof(want));
		opt[PDMV2_OPT_LEN_ENC] = 0;
		memcpy(&got, &sentinel, sizeof(got));
		err = pdmv2_opt_open(&k.g, opt, sizeof(opt), &got);
		check(err == PDMV2_ERR_TRAILING_DATA &&
		      !memcmp(&got, &sentinel, sizeof(got)),
		      "encrypted/%s: open of 37 octets: %s", name,
		      pdmv2_err_name(err));
		err = pdmv2_opt_open(&k.g, opt, 0, &got);
		check(err == PDMV2_ERR_TRUNCATED &&
		      !memcmp(&got, &sentinel, sizeof(got)),
		      "encrypted/%s: open of 0 octets: %s", name,
		      pdmv2_err_name(err));
		/* a clear option with the same head is not an encrypted one */
		opt[1] = PDMV2_DLEN_CLEAR;
		err = pdmv2_opt_open(&k.g, opt, PDMV2_OPT_LEN_CLEAR, &got);
		check(err != PDMV2_OK && !memcmp(&got, &sentinel, sizeof(got)),
		      "encrypted/%s: open of a clear option: %s", name,
		      pdmv2_err_name(err));

		check_all_flips(name, &k.g, want);
		keyed_free(&k);
	}
}

static void test_encrypted_failures(const struct json *arr)
{
	const struct json *e;

	for (e = arr ? arr->child : NULL; e; e = e->next) {
		const char *name = str(e, "name"), *want = str(e, "error");
		struct pdmv2_opt got, sentinel;
		unsigned long long aead;
		struct keyed k;
		u8 *b;
		long n;
		int err;

		n = unhex(str(e, "option"), &b);
		if (!name || !want || n < 0 || !num(e, "aead_id", &aead)) {
			check(0, "encrypted_failures: malformed entry");
			free(b);
			continue;
		}
		if (!keyed_init(&k, str(e, "key"), aead)) {
			check(0, "encrypted_failures/%s: key does not fit aead",
			      name);
			free(b);
			continue;
		}
		memset(&sentinel, 0x5a, sizeof(sentinel));
		memcpy(&got, &sentinel, sizeof(got));
		err = pdmv2_opt_open(&k.g, b, (size_t)n, &got);
		check(err_is(err, want) &&
		      !memcmp(&got, &sentinel, sizeof(got)),
		      "encrypted_failures/%s: got %s, want %s%s", name,
		      pdmv2_err_name(err), want,
		      memcmp(&got, &sentinel, sizeof(got)) ?
		      " (output written)" : "");
		keyed_free(&k);
		free(b);
	}
}

static void dump_seeds(const struct json *root, const char *dir)
{
	static const char * const sect[] = { "encrypted",
					     "encrypted_failures" };
	unsigned int i, k = 0;

	for (i = 0; i < 2; i++) {
		const struct json *e = json_get(root, sect[i]);

		for (e = e ? e->child : NULL; e; e = e->next) {
			char path[4096];
			u8 *b;
			long n = unhex(str(e, "option"), &b);
			FILE *f;

			if (n < 0)
				continue;
			snprintf(path, sizeof(path), "%s/seed-%03u", dir, k++);
			f = fopen(path, "wb");
			if (f) {
				fwrite(b, 1, (size_t)n, f);
				fclose(f);
			}
			free(b);
		}
	}
}

/* ---- cross-checks on random input -------------------------------------- */

#define GCM_CASES	400

static void cross_gcm(void)
{
	unsigned int i, bad_seal = 0, bad_ref_open = 0, bad_open = 0;
	unsigned int bad_flip = 0, bad_taglen = 0, bad_inplace = 0;
	unsigned int flips = 0;

	for (i = 0; i < GCM_CASES; i++) {
		size_t klen = i % 2 ? 32 : 16, alen = rnd() % 41;
		size_t n = rnd() % 71, tlen = 12 + rnd() % 5, j;

		/* every fourth case has an option's shape (GHASH's fast path) */
		if (i % 4 == 2) {
			alen = PDMV2_AAD_LEN;
			n = PDMV2_METRICS_LEN;
		}
		u8 key[32], nonce[12], aad[40], pt[70], ct[70], rct[70];
		u8 tag[16], rtag[16], out[70], sent[70], t2[16];
		struct pdmv2_gcm g;
		unsigned int region;
		int err;

		rnd_fill(key, klen);
		rnd_fill(nonce, sizeof(nonce));
		rnd_fill(aad, alen);
		rnd_fill(pt, n);
		if (pdmv2_gcm_init(&g, key, (unsigned int)klen)) {
			check(0, "gcm: gcm_init");
			return;
		}

		pdmv2_gcm_seal(&g, nonce, aad, alen, pt, ct, n, tag);
		bad_seal += detail(ref_gcm_seal(key, klen, nonce, aad, alen,
						pt, n, rct, rtag) &&
				   !memcmp(ct, rct, n) &&
				   !memcmp(tag, rtag, 16),
				   "gcm case %u (key %zu, aad %zu, text %zu): seal differs from OpenSSL",
				   i, klen, alen, n);
		bad_ref_open += detail(ref_gcm_open(key, klen, nonce, aad, alen,
						    ct, n, tag, tlen, out) &&
				       !memcmp(out, pt, n),
				       "gcm case %u: OpenSSL rejects our %zu-octet tag",
				       i, tlen);

		memset(out, 0x5a, sizeof(out));
		err = pdmv2_gcm_open(&g, nonce, aad, alen, ct, out, n, tag,
				     (unsigned int)tlen);
		/* octets past tag_len are not compared */
		memcpy(t2, tag, 16);
		for (j = tlen; j < 16; j++)
			t2[j] ^= 0xff;
		err = err ? err : pdmv2_gcm_open(&g, nonce, aad, alen, ct, out,
						 n, t2, (unsigned int)tlen);
		bad_open += detail(!err && !memcmp(out, pt, n) &&
				   (n == sizeof(out) || out[n] == 0x5a),
				   "gcm case %u: open: %s", i,
				   pdmv2_err_name(err));

		/* in place: seal then open in the same buffer */
		memcpy(out, pt, n);
		pdmv2_gcm_seal(&g, nonce, aad, alen, out, out, n, t2);
		j = !memcmp(out, ct, n) && !memcmp(t2, tag, 16);
		err = pdmv2_gcm_open(&g, nonce, aad, alen, out, out, n, tag,
				     (unsigned int)tlen);
		bad_inplace += detail(j && !err && !memcmp(out, pt, n),
				      "gcm case %u: in place: %s", i,
				      pdmv2_err_name(err));

		/* one flipped bit in each of aad, ciphertext, tag */
		for (region = 0; region < 3; region++) {
			u8 *p = region == 0 ? aad : region == 1 ? ct : tag;
			size_t plen = region == 0 ? alen : region == 1 ? n :
				      tlen;
			size_t bit;

			if (!plen)
				continue;
			bit = rnd() % (plen * 8);
			p[bit / 8] ^= (u8)(1 << (bit % 8));
			memset(out, 0x5a, sizeof(out));
			memset(sent, 0x5a, sizeof(sent));
			err = pdmv2_gcm_open(&g, nonce, aad, alen, ct, out, n,
					     tag, (unsigned int)tlen);
			flips++;
			bad_flip += detail(err == PDMV2_ERR_TAG_MISMATCH &&
					   !memcmp(out, sent, sizeof(out)),
					   "gcm case %u: %s bit %zu flipped: %s",
					   i, region == 0 ? "aad" :
					   region == 1 ? "ct" : "tag", bit,
					   pdmv2_err_name(err));
			/* OpenSSL agrees that it is a forgery */
			bad_flip += detail(!ref_gcm_open(key, klen, nonce, aad,
							 alen, ct, n, tag, tlen,
							 out),
					   "gcm case %u: OpenSSL accepts a flip",
					   i);
			p[bit / 8] ^= (u8)(1 << (bit % 8));
		}

		/* tag lengths outside 12..16 are refused */
		err = pdmv2_gcm_open(&g, nonce, aad, alen, ct, out, n, tag, 11);
		j = err == PDMV2_ERR_TAG_MISMATCH;
		err = pdmv2_gcm_open(&g, nonce, aad, alen, ct, out, n, tag, 17);
		bad_taglen += detail(j && err == PDMV2_ERR_TAG_MISMATCH,
				     "gcm case %u: tag length 11 or 17 accepted",
				     i);

		pdmv2_gcm_wipe(&g);
	}
	check(!bad_seal, "gcm: %u of %u seals differ from OpenSSL", bad_seal,
	      GCM_CASES);
	check(!bad_ref_open, "gcm: OpenSSL rejects %u of %u truncated tags",
	      bad_ref_open, GCM_CASES);
	check(!bad_open, "gcm: %u of %u opens failed", bad_open, GCM_CASES);
	check(!bad_inplace, "gcm: %u of %u in-place seal/open failed",
	      bad_inplace, GCM_CASES);
	check(!bad_flip && flips > 2 * GCM_CASES,
	      "gcm: %u of %u bit flips not rejected", bad_flip, flips);
	check(!bad_taglen, "gcm: %u tag length checks failed", bad_taglen);
}

#define KDF_CASES	200

static void cross_hkdf(void)
{
	static const char * const labels[] = {
		PDMV2_LABEL_SGS, PDMV2_LABEL_CS, PDMV2_LABEL_HS,
		PDMV2_LABEL_STK, "pdmv2 v1 test label of some length",
	};
	unsigned int i, bad = 0;
	u8 parent[64], ctx[64], info[128], out[32], ref[32];

	for (i = 0; i < KDF_CASES; i++) {
		size_t plen = 16 + rnd() % 49, clen = rnd() % 65;
		size_t len = 1 + rnd() % 32, ilen;
		const char *label = labels[rnd() % 5];
		int err;

		rnd_fill(parent, plen);
		rnd_fill(ctx, clen);
		ilen = make_info(label, ctx, clen, info);
		err = pdmv2_kdf(parent, plen, label, ctx, clen, out, len);
		bad += detail(!err && ref_hkdf(parent, plen, info, ilen, ref,
					       len) &&
			      !memcmp(out, ref, len),
			      "hkdf case %u (ikm %zu, info %zu, L %zu): %s",
			      i, plen, ilen, len, pdmv2_err_name(err));
	}
	check(!bad, "hkdf: %u of %u differ from OpenSSL HKDF", bad,
	      KDF_CASES);

	/* outside the schedule's range */
	check(pdmv2_kdf(parent, 32, PDMV2_LABEL_SGS, ctx, 4, out, 0) ==
	      PDMV2_ERR_CRYPTO, "hkdf: L = 0 refused");
	check(pdmv2_kdf(parent, 32, PDMV2_LABEL_SGS, ctx, 4, out, 33) ==
	      PDMV2_ERR_CRYPTO, "hkdf: L = 33 refused");
	check(pdmv2_kdf_extract(parent, 15, out) == PDMV2_ERR_CRYPTO,
	      "hkdf: parent of 15 octets refused");
}

/* our AES: FIPS-197 appendix C, and random keys and blocks against OpenSSL */
static void unit_aes(void)
{
	static const u8 pt[16] = {
		0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
		0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
	};
	struct pdmv2_aes aes;
	u8 key[32], in[32], out[32], ref[32];
	unsigned int i, bad = 0;

	for (i = 0; i < 32; i++)
		key[i] = (u8)i;
	check(pdmv2_aes_expand(&aes, key, 15) && pdmv2_aes_expand(&aes, key, 0) &&
	      pdmv2_aes_expand(&aes, key, 24) && pdmv2_aes_expand(&aes, key, 33),
	      "aes: key lengths other than 16 and 32 refused");
	memcpy(in, pt, 16);
	memset(in + 16, 0, 16);
	check(!pdmv2_aes_expand(&aes, key, 16), "aes: AES-128 key");
	pdmv2_aes_encrypt2(&aes, out, in);
	check_hex(out, 16, "69c4e0d86a7b0430d8cdb78070b4c55a",
		  "aes: FIPS-197 C.1 (first block)");
	memcpy(in + 16, pt, 16);
	memset(in, 0, 16);
	pdmv2_aes_encrypt2(&aes, in, in);	/* in place, second block */
	check_hex(in + 16, 16, "69c4e0d86a7b0430d8cdb78070b4c55a",
		  "aes: FIPS-197 C.1 (second block, in place)");
	check(!pdmv2_aes_expand(&aes, key, 32), "aes: AES-256 key");
	memcpy(in, pt, 16);
	pdmv2_aes_encrypt2(&aes, out, in);
	check_hex(out, 16, "8ea2b7ca516745bfeafc49904b496089",
		  "aes: FIPS-197 C.3");
	for (i = 0; i < 200; i++) {
		size_t klen = i % 2 ? 32 : 16;
		EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
		int n = 0;

		rnd_fill(key, klen);
		rnd_fill(in, sizeof(in));
		if (!c || !EVP_EncryptInit_ex2(c, klen == 16 ? EVP_aes_128_ecb() :
					       EVP_aes_256_ecb(), key, NULL,
					       NULL) ||
		    !EVP_CIPHER_CTX_set_padding(c, 0) ||
		    !EVP_EncryptUpdate(c, ref, &n, in, sizeof(in)) ||
		    n != (int)sizeof(in)) {
			EVP_CIPHER_CTX_free(c);
			check(0, "aes: OpenSSL AES-ECB");
			return;
		}
		EVP_CIPHER_CTX_free(c);
		pdmv2_aes_expand(&aes, key, (unsigned int)klen);
		pdmv2_aes_encrypt2(&aes, out, in);
		bad += detail(!memcmp(out, ref, sizeof(out)),
			      "aes case %u (key %zu): differs from OpenSSL", i,
			      klen);
	}
	check(!bad, "aes: %u of 200 random block pairs differ from OpenSSL",
	      bad);
	pdmv2_aes_wipe(&aes);
}

static void unit_ct_memcmp(void)
{
	u8 a[40], b[40];
	unsigned int n, i, bad = 0;

	rnd_fill(a, sizeof(a));
	memcpy(b, a, sizeof(b));
	for (n = 0; n <= sizeof(a); n++) {
		bad += detail(pdmv2_ct_memcmp(a, b, n) == 0,
			      "ct_memcmp: equal %u octets", n);
		for (i = 0; i < 8 * n; i++) {
			b[i / 8] ^= (u8)(1 << (i % 8));
			bad += detail(pdmv2_ct_memcmp(a, b, n) != 0,
				      "ct_memcmp: %u octets, bit %u", n, i);
			/* a difference past n is not looked at */
			bad += detail(pdmv2_ct_memcmp(a, b, i / 8) == 0,
				      "ct_memcmp: read past n = %u", i / 8);
			b[i / 8] ^= (u8)(1 << (i % 8));
		}
	}
	check(!bad, "ct_memcmp: %u wrong answers", bad);
}

static void unit_prefixes(void)
{
	static const struct {
		const char *a, *b;
		unsigned int alen, blen;
		bool overlap;
	} ov[] = {
		{ "2001:db8::", "2001:db8:1::", 32, 48, true },
		{ "2001:db8:1::", "2001:db8:2::", 48, 48, false },
		{ "2001:db8:1::", "2001:db8:1::", 48, 48, true },
		{ "::", "2001:db8:1:2:3:4:5:6", 0, 128, true },
		{ "2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:7", 128, 128,
		  false },
		{ "2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:6", 127, 128,
		  true },
		{ "2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:7", 127, 128,
		  true },
		{ "2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:8", 127, 128,
		  false },
		{ "2001:db8:8000::", "2001:db8::", 33, 32, true },
		{ "2001:db8:8000::", "2001:db8::", 33, 33, false },
		{ "fe80::", "fe80::1", 10, 64, true },
		{ "fe80::", "fec0::", 10, 10, false },
		{ "2001:db8::", "2001:db8::", 129, 32, false },
		{ "2001:db8::", "2001:db8::", 32, 200, false },
	};
	static const struct {
		const char *p, *addr;
		unsigned int plen;
		bool valid, contains;
	} pc[] = {
		{ "::", "ffff::1", 0, true, true },
		{ "2001:db8::", "2001:db8:ffff::1", 32, true, true },
		{ "2001:db8::", "2001:db9::", 32, true, false },
		{ "2001:db8:2::", "2001:db8:3::1", 47, true, true },
		{ "2001:db8:2::", "2001:db8:1::1", 47, true, false },
		{ "2001:db8:1::", "2001:db8:1::", 47, false, true },
		{ "2001:db8:2::", "2001:db8:2::", 46, false, true },
		{ "2001:db8::1", "2001:db8::1", 128, true, true },
		{ "2001:db8::1", "2001:db8::", 128, true, false },
		{ "2001:db8::1", "2001:db8::1", 127, false, true },
		{ "2001:db8::", "2001:db8::", 129, false, false },
		{ "8000::", "8000::", 1, true, true },
		{ "8000::", "::", 1, true, false },
		{ "8000::", "8000::", 0, false, true },
	};
	unsigned int i;
	u8 a[16], b[16];

	for (i = 0; i < sizeof(ov) / sizeof(ov[0]); i++) {
		if (!addr6(ov[i].a, a) || !addr6(ov[i].b, b)) {
			check(0, "prefix_overlap case %u: bad address", i);
			continue;
		}
		check(pdmv2_prefix_overlap(a, ov[i].alen, b, ov[i].blen) ==
		      ov[i].overlap &&
		      pdmv2_prefix_overlap(b, ov[i].blen, a, ov[i].alen) ==
		      ov[i].overlap,
		      "prefix_overlap(%s/%u, %s/%u) is not %d", ov[i].a,
		      ov[i].alen, ov[i].b, ov[i].blen, ov[i].overlap);
	}
	for (i = 0; i < sizeof(pc) / sizeof(pc[0]); i++) {
		if (!addr6(pc[i].p, a) || !addr6(pc[i].addr, b)) {
			check(0, "prefix case %u: bad address", i);
			continue;
		}
		check(pdmv2_prefix_valid(a, pc[i].plen) == pc[i].valid,
		      "prefix_valid(%s/%u) is not %d", pc[i].p, pc[i].plen,
		      pc[i].valid);
		check(pdmv2_prefix_contains(a, pc[i].plen, b) ==
		      pc[i].contains, "prefix_contains(%s/%u, %s) is not %d",
		      pc[i].p, pc[i].plen, pc[i].addr, pc[i].contains);
	}
}

/*
 * A metrics block with non-zero reserved octets: opening accepts it and
 * flags it (the lenient ingress rule of section 1.1), like the clear form.
 */
static void unit_reserved(void)
{
	u8 key[16], opt[PDMV2_OPT_LEN_ENC], block[16], nonce[12], tag[16];
	struct pdmv2_opt o, got;
	struct pdmv2_gcm g;
	unsigned int i;
	int err;

	rnd_fill(key, sizeof(key));
	check(!pdmv2_gcm_init(&g, key, sizeof(key)), "reserved: key");
	memset(&o, 0, sizeof(o));
	o.fmt = PDMV2_FMT_ENCRYPTED;
	o.version = PDMV2_VERSION;
	o.epoch = 0x123;
	o.psntp = 0x01020304;
	o.psnlr = 0x05060708;
	o.global_pointer = 9;
	o.scale_dtlr = 10;
	o.scale_dtls = 11;
	o.delta_tlr = 0x0c0d;
	o.delta_tls = 0x0e0f;
	for (i = 0; i < 3; i++) {
		pdmv2_opt_encode_aad(o.epoch, o.psntp, opt);
		pdmv2_opt_encode_metrics(&o, block);
		block[10] = i ? 0x80 : 0;
		block[11] = i == 1 ? 0 : 1;
		pdmv2_opt_nonce(opt, nonce);
		pdmv2_gcm_seal(&g, nonce, opt, PDMV2_AAD_LEN, block,
			       opt + PDMV2_AAD_LEN, sizeof(block), tag);
		memcpy(opt + PDMV2_AAD_LEN + 16, tag, PDMV2_TAG_LEN);
		memset(&got, 0, sizeof(got));
		err = pdmv2_opt_open(&g, opt, sizeof(opt), &got);
		o.reserved_nonzero = true;
		check(!err && same_fields(&got, &o),
		      "reserved: octets 10, 11 = %02x %02x: %s%s", block[10],
		      block[11], pdmv2_err_name(err),
		      !err && !got.reserved_nonzero ? " (not flagged)" : "");
		o.reserved_nonzero = false;
	}
	pdmv2_gcm_wipe(&g);
}

static void unit_epoch(void)
{
	check(pdmv2_epoch_make(0, 0) == 0 && pdmv2_epoch_make(15, 255) ==
	      0xfff && pdmv2_epoch_make(16, 1) == 1 &&
	      pdmv2_epoch_make(18, 255) == 0x2ff,
	      "epoch_make: generation mod 16 and rekey");
	check(pdmv2_epoch_gen4(0xfff) == 15 && pdmv2_epoch_gen4(0x2ff) == 2,
	      "epoch_gen4");
}

/* pdmv2_opt_seal_n() writes what pdmv2_opt_seal() would, option by option */
static void unit_seal_n(void)
{
	static const u8 key[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	u8 batch[5 * PDMV2_OPT_LEN_ENC], one[PDMV2_OPT_LEN_ENC];
	struct pdmv2_opt o = { 0 }, back, want;
	struct pdmv2_gcm g;
	unsigned int i, klen, same = 0, opened = 0;

	for (klen = 16; klen <= 32; klen += 16) {
		if (pdmv2_gcm_init(&g, key, klen)) {
			check(0, "seal_n: gcm_init AES-%u", klen * 8);
			continue;
		}
		o.fmt = PDMV2_FMT_ENCRYPTED;
		o.version = PDMV2_VERSION;
		o.epoch = 0x2ff;
		o.psntp = 0xfffffffe;	/* wraps inside the batch */
		o.psnlr = 77;
		o.global_pointer = 1000;
		o.delta_tlr = 3;
		o.delta_tls = 4;
		pdmv2_opt_seal_n(&g, &o, batch, 5);
		for (i = 0; i < 5; i++) {
			want = o;
			want.psntp = o.psntp + i;
			want.global_pointer = o.global_pointer + i;
			pdmv2_opt_seal(&g, &want, one);
			same += !memcmp(one, batch + i * PDMV2_OPT_LEN_ENC,
					PDMV2_OPT_LEN_ENC);
			opened += !pdmv2_opt_open(&g, batch +
						  i * PDMV2_OPT_LEN_ENC,
						  PDMV2_OPT_LEN_ENC, &back) &&
				  back.psntp == want.psntp &&
				  back.global_pointer == want.global_pointer &&
				  back.epoch == o.epoch;
		}
		pdmv2_gcm_wipe(&g);
	}
	check(same == 10 && opened == 10,
	      "seal_n (%s): 5 options in one call equal 5 single seals, PSNTP and Global Pointer one up each (AES-128, AES-256: %u of 10 equal, %u of 10 open)",
	      pdmv2_simd_user_name(), same, opened);
}

static void (*const units[])(void) = {
	unit_aes, unit_epoch, unit_reserved, unit_prefixes, unit_ct_memcmp,
	cross_hkdf, cross_gcm, test_hmac_keyed, unit_seal_n,
};

int main(int argc, char **argv)
{
	const char *seeds = seeds_dir(argc, argv, 3);
	struct json *keys, *opts;

	if (argc < 3) {
		fprintf(stderr,
			"usage: %s KEYS.json OPTIONS.json [--seeds DIR]\n",
			argv[0]);
		return 2;
	}
	/*
	 * Everything twice where the CPU has AES-NI and PCLMULQDQ: with them
	 * (the module's choice there), then with the portable code.
	 */
again:
	printf("-- crypto: %s\n", pdmv2_simd_user_name());
	keys = load(argv[1]);
	if (keys) {
		test_keys(keys);
		json_free(keys);
	}
	opts = load(argv[2]);
	if (opts) {
		test_encrypted(json_get(opts, "encrypted"));
		test_encrypted_failures(json_get(opts, "encrypted_failures"));
		check(json_count(json_get(opts, "encrypted")) > 0 &&
		      json_count(json_get(opts, "encrypted_failures")) > 0,
		      "options: encrypted sections present");
		printf("options: encrypted %zu, encrypted_failures %zu\n",
		       json_count(json_get(opts, "encrypted")),
		       json_count(json_get(opts, "encrypted_failures")));
		if (seeds)
			dump_seeds(opts, seeds);
		json_free(opts);
	}
	if (pdmv2_simd_usable()) {
		size_t i;

		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			units[i]();
		pdmv2_simd_user_force_portable();
		goto again;
	}
	return run_units(units, sizeof(units) / sizeof(units[0]));
}
