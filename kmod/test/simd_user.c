// SPDX-License-Identifier: GPL-2.0-only
#include <stdlib.h>
#include <string.h>

#include "../pdmv2_crypto.h"
#include "simd_user.h"

static int usable = -1;

bool pdmv2_simd_usable(void)
{
	if (usable < 0) {
		const char *want = getenv("PDMV2_CRYPTO");

		usable = 0;
#ifdef __x86_64__
		__builtin_cpu_init();
		usable = __builtin_cpu_supports("aes") &&
			 __builtin_cpu_supports("pclmul");
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
	return pdmv2_simd_usable() ? "AES-NI+PCLMULQDQ" : "portable";
}
