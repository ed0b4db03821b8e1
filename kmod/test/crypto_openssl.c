// SPDX-License-Identifier: GPL-2.0-only
/*
 * User-space backend of kmod/pdmv2_crypto.c over OpenSSL 3: HMAC-SHA256
 * through EVP_MAC and the AES block cipher as one-block AES-ECB through
 * EVP_CIPHER. Speed does not matter here: every call sets up its own
 * context. The module's backend is pdmv2_crypto_kernel.c.
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

struct pdmv2_aes {
	u8 key[32];
	unsigned int len;
};

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

struct pdmv2_aes *pdmv2_test_aes_new(void)
{
	return calloc(1, sizeof(struct pdmv2_aes));
}

void pdmv2_test_aes_free(struct pdmv2_aes *aes)
{
	if (aes)
		pdmv2_aes_wipe(aes);
	free(aes);
}

int pdmv2_aes_expand(struct pdmv2_aes *aes, const u8 *key, unsigned int len)
{
	if (len != 16 && len != 24 && len != 32)
		return -EINVAL;
	memcpy(aes->key, key, len);
	aes->len = len;
	return 0;
}

static const EVP_CIPHER *pdmv2_test_ecb(unsigned int len)
{
	switch (len) {
	case 16:
		return EVP_aes_128_ecb();
	case 24:
		return EVP_aes_192_ecb();
	case 32:
		return EVP_aes_256_ecb();
	default:
		return NULL;
	}
}

/*
 * The interface has no error path (neither has the kernel's aes_encrypt()):
 * a failure here is a broken test environment, so stop loudly.
 */
void pdmv2_aes_encrypt(const struct pdmv2_aes *aes, u8 out[PDMV2_GCM_BLOCK],
		       const u8 in[PDMV2_GCM_BLOCK])
{
	const EVP_CIPHER *cipher = pdmv2_test_ecb(aes->len);
	u8 buf[2 * PDMV2_GCM_BLOCK];
	EVP_CIPHER_CTX *ctx;
	int n = 0, m = 0;

	ctx = EVP_CIPHER_CTX_new();
	if (!cipher || !ctx ||
	    !EVP_EncryptInit_ex2(ctx, cipher, aes->key, NULL, NULL) ||
	    !EVP_CIPHER_CTX_set_padding(ctx, 0) ||
	    !EVP_EncryptUpdate(ctx, buf, &n, in, PDMV2_GCM_BLOCK) ||
	    !EVP_EncryptFinal_ex(ctx, buf + n, &m) ||
	    n + m != PDMV2_GCM_BLOCK) {
		fprintf(stderr, "crypto_openssl: AES-ECB failed (key %u)\n",
			aes->len);
		abort();
	}
	memcpy(out, buf, PDMV2_GCM_BLOCK);
	OPENSSL_cleanse(buf, sizeof(buf));
	EVP_CIPHER_CTX_free(ctx);
}

void pdmv2_aes_wipe(struct pdmv2_aes *aes)
{
	OPENSSL_cleanse(aes, sizeof(*aes));
}
