/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The user-space harness's answer to pdmv2_simd_usable() (pdmv2_crypto.h):
 * the CPU's AES and carry-less multiply instructions when the CPU has them,
 * unless PDMV2_CRYPTO=portable is in the environment, so that one build
 * tests both ways. No FPU bracketing is needed in user space.
 */
#ifndef PDMV2_SIMD_USER_H
#define PDMV2_SIMD_USER_H

#include <stdbool.h>

/* "AES-NI+PCLMULQDQ", "AESE+PMULL" or "portable": what pdmv2_simd_usable() chooses */
const char *pdmv2_simd_user_name(void);
/* from now on the portable code (a test running both ways) */
void pdmv2_simd_user_force_portable(void);

#endif /* PDMV2_SIMD_USER_H */
