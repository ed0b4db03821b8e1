/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test-harness side of the OpenSSL backend (crypto_openssl.c): it supplies
 * pdmv2_hmac_sha256() only.
 */
#ifndef PDMV2_TEST_CRYPTO_OPENSSL_H
#define PDMV2_TEST_CRYPTO_OPENSSL_H

#include "../pdmv2_crypto.h"

#endif
