// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target for the encrypted option (kmod/pdmv2_crypto.c over the
 * OpenSSL backend). Built with clang -fsanitize=fuzzer,address,undefined
 * (libFuzzer) or, without libFuzzer, with -DPDMV2_FUZZ_STANDALONE as a
 * bounded random-mutation loop.
 *
 * The input is opened as an option under a fixed AES-128 key (the key of
 * the vectors, so their sealed options are valid seeds): no crash, output
 * only on success, and a success re-seals to exactly the input. The same
 * octets are then read as option fields, sealed under the AES-128 and the
 * AES-256 key, opened again, and opened once more with one bit flipped.
 */
#include <string.h>

#include "../pdmv2_crypto.h"
#include "crypto_openssl.h"
#include "fuzz_driver.h"

static const u8 key128[16] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
};

static const u8 key256[32] = {
	0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
	0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f,
	0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57,
	0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f,
};

static struct pdmv2_gcm g128, g256;

static int keys_ready;

static void fuzz_init(void)
{
	if (keys_ready)
		return;
	FUZZ_ASSERT(!pdmv2_gcm_init(&g128, key128, sizeof(key128)));
	FUZZ_ASSERT(!pdmv2_gcm_init(&g256, key256, sizeof(key256)));
	keys_ready = 1;
}

static void fuzz_open(const u8 *d, size_t n)
{
	struct pdmv2_opt o, sentinel;
	u8 again[PDMV2_OPT_LEN_ENC];
	int err;

	memset(&sentinel, 0x5a, sizeof(sentinel));
	memcpy(&o, &sentinel, sizeof(o));
	err = pdmv2_opt_open(&g128, d, n, &o);
	FUZZ_ASSERT(err >= 0 && err < PDMV2_ERR_COUNT);
	if (err) {
		FUZZ_ASSERT(!memcmp(&o, &sentinel, sizeof(o)));
		return;
	}
	FUZZ_ASSERT(n == PDMV2_OPT_LEN_ENC);
	FUZZ_ASSERT(o.fmt == PDMV2_FMT_ENCRYPTED &&
		    o.version == PDMV2_VERSION && o.epoch <= PDMV2_EPOCH_MAX);
	/*
	 * Non-zero reserved octets in the plaintext are accepted and flagged;
	 * sealing writes zeros, so only a clean block re-seals identically.
	 * (Reaching either needs a valid tag: in practice the seeds.)
	 */
	if (o.reserved_nonzero)
		return;
	FUZZ_ASSERT(pdmv2_opt_seal(&g128, &o, again) == PDMV2_OPT_LEN_ENC);
	FUZZ_ASSERT(!memcmp(again, d, PDMV2_OPT_LEN_ENC));
}

static u32 take(const u8 **d, size_t *n, unsigned int octets)
{
	u32 v = 0;

	while (octets--) {
		v = v << 8 | (*n ? **d : 0);
		if (*n) {
			(*d)++;
			(*n)--;
		}
	}
	return v;
}

static void fuzz_seal(const u8 *d, size_t n)
{
	const struct pdmv2_gcm *g = n && (d[0] & 1) ? &g256 : &g128;
	struct pdmv2_opt o, got, sentinel;
	u8 opt[PDMV2_OPT_LEN_ENC];
	unsigned int bit;
	int err;

	memset(&o, 0, sizeof(o));
	take(&d, &n, 1);
	o.fmt = PDMV2_FMT_ENCRYPTED;
	o.version = PDMV2_VERSION;
	o.epoch = (u16)(take(&d, &n, 2) & PDMV2_EPOCH_MAX);
	o.psntp = take(&d, &n, 4);
	o.psnlr = take(&d, &n, 4);
	o.global_pointer = take(&d, &n, 4);
	o.scale_dtlr = (u8)take(&d, &n, 1);
	o.scale_dtls = (u8)take(&d, &n, 1);
	o.delta_tlr = (u16)take(&d, &n, 2);
	o.delta_tls = (u16)take(&d, &n, 2);
	bit = take(&d, &n, 2) % (8 * PDMV2_OPT_LEN_ENC);

	FUZZ_ASSERT(pdmv2_opt_seal(g, &o, opt) == PDMV2_OPT_LEN_ENC);
	err = pdmv2_opt_open(g, opt, sizeof(opt), &got);
	FUZZ_ASSERT(!err);
	FUZZ_ASSERT(got.fmt == o.fmt && got.version == o.version &&
		    got.epoch == o.epoch && got.psntp == o.psntp &&
		    got.psnlr == o.psnlr &&
		    got.global_pointer == o.global_pointer &&
		    got.scale_dtlr == o.scale_dtlr &&
		    got.scale_dtls == o.scale_dtls &&
		    got.delta_tlr == o.delta_tlr &&
		    got.delta_tls == o.delta_tls && !got.random && !got.flag &&
		    !got.reserved_nonzero);

	/* the other key never opens it */
	memset(&sentinel, 0x5a, sizeof(sentinel));
	memcpy(&got, &sentinel, sizeof(got));
	err = pdmv2_opt_open(g == &g128 ? &g256 : &g128, opt, sizeof(opt),
			     &got);
	FUZZ_ASSERT(err == PDMV2_ERR_TAG_MISMATCH);
	FUZZ_ASSERT(!memcmp(&got, &sentinel, sizeof(got)));

	/* nor does any single-bit change (head bits may fail earlier) */
	opt[bit / 8] ^= (u8)(0x80 >> (bit % 8));
	err = pdmv2_opt_open(g, opt, sizeof(opt), &got);
	FUZZ_ASSERT(err != PDMV2_OK);
	FUZZ_ASSERT(bit < 20 || err == PDMV2_ERR_TAG_MISMATCH);
	FUZZ_ASSERT(!memcmp(&got, &sentinel, sizeof(got)));
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	fuzz_init();
	fuzz_open(data, size);
	fuzz_seal(data, size);
	return 0;
}

#ifdef PDMV2_FUZZ_STANDALONE
/*
 * Without libFuzzer: mutate the vectors' sealed option and random buffers
 * for the given number of seconds (argv[1], default 20).
 */
static size_t mutate(u8 *buf, size_t size)
{
	/* "AES-128-GCM sealed option" of pdmv2-options.json */
	static const u8 seed[PDMV2_OPT_LEN_ENC] = {
		0x0f, 0x22, 0x21, 0x03, 0x00, 0x00, 0x01, 0x02,
		0x0b, 0xc5, 0x51, 0x99, 0xe6, 0xe1, 0x26, 0x96,
		0x16, 0x2b, 0xab, 0xf0, 0x57, 0xe2, 0xdc, 0x5d,
		0x6d, 0xb7, 0x0b, 0xd1, 0xd2, 0x6e, 0xe0, 0xc2,
		0x56, 0x8e, 0x55, 0x6e,
	};
	unsigned int i;
	size_t n;

	if (fuzz_rnd() % 3 == 0) {
		n = sizeof(seed);
		memcpy(buf, seed, n);
		for (i = fuzz_rnd() % 3; i; i--)
			buf[fuzz_rnd() % n] ^= (u8)(1 << fuzz_rnd() % 8);
		if (fuzz_rnd() % 4 == 0)
			n = fuzz_rnd() % (size + 1);
	} else {
		n = fuzz_rnd() % size;
		for (i = 0; i < n; i++)
			buf[i] = (u8)fuzz_rnd();
		if (n > 2 && fuzz_rnd() % 2) {
			buf[0] = PDMV2_OPT_TYPE;
			buf[1] = PDMV2_DLEN_ENC;
		}
	}
	return n;
}

int main(int argc, char **argv)
{
	return fuzz_standalone(argc, argv, "crypto ", 100, 64, mutate);
}
#endif
