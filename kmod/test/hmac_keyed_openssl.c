// SPDX-License-Identifier: GPL-2.0-only
/*
 * The keyed HMAC-SHA256 of the user-space backends (pdmv2_crypto.h,
 * struct pdmv2_hmac_key): the pads' states are SHA256_CTX copies, the one
 * OpenSSL SHA-256 state a struct can hold (deprecated in 3.0, hence
 * OPENSSL_SUPPRESS_DEPRECATED). The module keeps crypto_shash_export()
 * states instead (pdmv2_crypto_kernel.c). Used by the tests' backend
 * (crypto_openssl.c) and by the instruction-count bench (bench_seal.c).
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "../pdmv2_crypto.h"

_Static_assert(sizeof(SHA256_CTX) <= PDMV2_SHA256_STATE_MAX,
	       "SHA256_CTX fits struct pdmv2_hmac_key");

static void pad_state(const u8 *key, size_t key_len, u8 pad_octet, u8 *state)
{
	u8 pad[SHA256_CBLOCK];
	SHA256_CTX c;
	size_t i;

	memset(pad, pad_octet, sizeof(pad));
	for (i = 0; i < key_len; i++)
		pad[i] ^= key[i];
	SHA256_Init(&c);
	SHA256_Update(&c, pad, sizeof(pad));
	memcpy(state, &c, sizeof(c));
	OPENSSL_cleanse(pad, sizeof(pad));
	OPENSSL_cleanse(&c, sizeof(c));
}

int pdmv2_hmac_sha256_key(const u8 *key, size_t key_len,
			  struct pdmv2_hmac_key *hk)
{
	if (key_len > SHA256_CBLOCK)
		return -EINVAL;
	memset(hk, 0, sizeof(*hk));
	pad_state(key, key_len, 0x36, hk->inner);
	pad_state(key, key_len, 0x5c, hk->outer);
	return 0;
}

int pdmv2_hmac_sha256_keyed(const struct pdmv2_hmac_key *hk,
			    const struct pdmv2_hmac_part *parts,
			    unsigned int n, u8 out[PDMV2_HASH_LEN])
{
	u8 inner[SHA256_DIGEST_LENGTH];
	SHA256_CTX c;
	unsigned int i;

	memcpy(&c, hk->inner, sizeof(c));
	for (i = 0; i < n; i++)
		SHA256_Update(&c, parts[i].data, parts[i].len);
	SHA256_Final(inner, &c);
	memcpy(&c, hk->outer, sizeof(c));
	SHA256_Update(&c, inner, sizeof(inner));
	SHA256_Final(out, &c);
	OPENSSL_cleanse(inner, sizeof(inner));
	OPENSSL_cleanse(&c, sizeof(c));
	return 0;
}
