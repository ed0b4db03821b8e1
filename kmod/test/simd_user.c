// SPDX-License-Identifier: GPL-2.0-only
#include <stdlib.h>
#include <string.h>
#if defined(__aarch64__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

#include "../pdmv2_crypto.h"
#include "simd_user.h"

static int usable = -1;

bool pdmv2_simd_usable(void)
{
	if (usable < 0) {
		const char *want = getenv("PDMV2_CRYPTO");

		usable = 0;
#if defined(__x86_64__)
		__builtin_cpu_init();
		usable = __builtin_cpu_supports("aes") &&
			 __builtin_cpu_supports("pclmul");
#elif defined(PDMV2_HAVE_SIMD)
		usable = (getauxval(AT_HWCAP) & (HWCAP_AES | HWCAP_PMULL)) ==
			 (HWCAP_AES | HWCAP_PMULL);
#endif
		if (want && !strcmp(want, "portable"))
			usable = 0;
	}
	return usable;
}

void pdmv2_simd_user_force_portable(void)
{
	pdmv2_simd_usable();
	usable = 0;
}

void pdmv2_simd_begin(void)
{
}

void pdmv2_simd_end(void)
{
}

const char *pdmv2_simd_user_name(void)
{
	if (!pdmv2_simd_usable())
		return "portable";
#if defined(__x86_64__)
	return "AES-NI+PCLMULQDQ";
#else
	return "AESE+PMULL";
#endif
}
