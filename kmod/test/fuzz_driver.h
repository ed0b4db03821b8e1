/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the pdmv2 fuzz targets (fuzz_core.c, fuzz_crypto.c) share: the
 * invariant check, the libFuzzer entry point and, built with
 * -DPDMV2_FUZZ_STANDALONE (no libFuzzer), the random-mutation loop of
 * fuzz_driver.c that stands in for libFuzzer's main().
 */
#ifndef PDMV2_TEST_FUZZ_DRIVER_H
#define PDMV2_TEST_FUZZ_DRIVER_H

#include <stdio.h>
#include <stdlib.h>

#include "../pdmv2_core.h"

#define FUZZ_ASSERT(c)							\
	do {								\
		if (!(c)) {						\
			fprintf(stderr, "invariant failed: %s (line %d)\n", \
				#c, __LINE__);				\
			abort();					\
		}							\
	} while (0)

/* each target's one input */
int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

/* deterministic xorshift64 for the standalone loop's mutations */
unsigned int fuzz_rnd(void);

/*
 * The standalone main(): for argv[1] seconds (default 20), in batches of
 * @batch inputs between clock reads, fill a @size-octet buffer with
 * @mutate (which returns the input's length) and run it; then print
 * "fuzz: @what<N> iterations in <S> s, no failure". The buffer starts
 * zeroed and keeps what earlier inputs left in it.
 */
int fuzz_standalone(int argc, char **argv, const char *what,
		    unsigned int batch, size_t size,
		    size_t (*mutate)(u8 *buf, size_t size));

#endif
