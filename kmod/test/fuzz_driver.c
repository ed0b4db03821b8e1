// SPDX-License-Identifier: GPL-2.0-only
/*
 * Standalone driver of the pdmv2 fuzz targets, linked in place of libFuzzer
 * when clang's libFuzzer is not available (see fuzz_driver.h).
 */
#include <time.h>

#include "fuzz_driver.h"

static unsigned long long rs = 88172645463325252ULL;

unsigned int fuzz_rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (unsigned int)(rs >> 11);
}

int fuzz_standalone(int argc, char **argv, const char *what,
		    unsigned int batch, size_t size,
		    size_t (*mutate)(u8 *buf, size_t size))
{
	long secs = argc > 1 ? atol(argv[1]) : 20;
	time_t stop = time(NULL) + secs;
	unsigned long long iters = 0;
	u8 *buf = calloc(1, size);

	FUZZ_ASSERT(buf);
	while (time(NULL) < stop) {
		unsigned int k;

		for (k = 0; k < batch; k++, iters++)
			LLVMFuzzerTestOneInput(buf, mutate(buf, size));
	}
	free(buf);
	printf("fuzz: %s%llu iterations in %ld s, no failure\n", what, iters,
	       secs);
	return 0;
}
