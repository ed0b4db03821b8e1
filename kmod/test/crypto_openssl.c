// SPDX-License-Identifier: GPL-2.0-only
/*
 * User-space backend of kmod/pdmv2_crypto.c over OpenSSL 3: HMAC-SHA256
 * through EVP_MAC. Speed does not matter here: every call sets up its own
 * context. The keyed HMAC (pads hashed once) is hmac_keyed_openssl.c. The module's backend is pdmv2_crypto_kernel.c. AES is not a
 * backend's: the tests check pdmv2_crypto.c's own against OpenSSL.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "crypto_openssl.h"

int pdmv2_hmac_sha256(const u8 *key, size_t key_len,
		      const struct pdmv2_hmac_part *parts, unsigned int n,
		      u8 out[PDMV2_HASH_LEN])
{
	char digest[] = "SHA256";
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx = NULL;
	EVP_MAC *mac;
	size_t out_len = 0;
	unsigned int i;
	int err = -EIO;

	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!mac)
		return -ENOENT;
	ctx = EVP_MAC_CTX_new(mac);
	if (!ctx)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(ctx, key, key_len, params))
		goto out;
	for (i = 0; i < n; i++)
		if (parts[i].len &&
		    !EVP_MAC_update(ctx, parts[i].data, parts[i].len))
			goto out;
	if (!EVP_MAC_final(ctx, out, &out_len, PDMV2_HASH_LEN) ||
	    out_len != PDMV2_HASH_LEN)
		goto out;
	err = 0;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return err;
}
