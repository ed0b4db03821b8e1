/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test-harness side of the OpenSSL backend (crypto_openssl.c): struct
 * pdmv2_aes is opaque outside the backend, so the tests allocate it here.
 */
#ifndef PDMV2_TEST_CRYPTO_OPENSSL_H
#define PDMV2_TEST_CRYPTO_OPENSSL_H

#include "../pdmv2_crypto.h"

struct pdmv2_aes *pdmv2_test_aes_new(void);
/* wipes, then frees; NULL is fine */
void pdmv2_test_aes_free(struct pdmv2_aes *aes);

#endif
