// SPDX-License-Identifier: GPL-2.0-only
/*
 * Constant time, shown with a tool: the ctgrind technique. Valgrind's
 * memcheck reports a branch on an undefined value ("Conditional jump or
 * move depends on uninitialised value(s)") and a memory access at an
 * undefined address ("Use of uninitialised value"). Marking the secrets
 * undefined (VALGRIND_MAKE_MEM_UNDEFINED) turns every branch and every table
 * index that depends on them into such a report, whatever the compiler
 * made of the source.
 *
 * Secrets here: the STK (key expansion, H and its powers, every AES and
 * GHASH call), an option's metrics block (sealing) and the received tag's
 * comparison (opening, where the key makes the expected tag). Public: the
 * epoch and PSNTP (they are the AAD and the nonce, in the clear on the
 * wire), the ciphertext and tag of a received option, lengths. The only
 * value released on purpose is whether a tag matched (the caller acts on
 * it): pdmv2_gcm_open() declassifies that one octet, and the plaintext of
 * an option that authenticated (PDMV2_DECLASSIFY in pdmv2_crypto.c, built
 * with -DPDMV2_CT_CHECK here and empty elsewhere).
 *
 *   ct_check               run the cases below under valgrind, print
 *                          "N passed, M failed"
 *   ct_check --case NAME   one case, to be run under valgrind
 *
 * Case "ours" (the crypto this CPU runs: AES-NI and PCLMULQDQ on x86-64
 * that has them) and case "portable" (the constant-time C every CPU can
 * run) must give no report. The "table", "branch" and "early-exit"
 * cases are deliberately leaky variants (an S-box table indexed by a key
 * octet, GF(2^128) multiplication branching on the operand's bits as
 * 6.1's gf128mul_lle does, a tag comparison that stops at the first
 * difference): each must be reported, in its own function, or the check
 * could not fail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <valgrind/memcheck.h>

#include "simd_user.h"

#include "../pdmv2_crypto.h"

/* the key schedule (HMAC) is not exercised here */
int pdmv2_hmac_sha256(const u8 *key, size_t key_len,
		      const struct pdmv2_hmac_part *parts, unsigned int n,
		      u8 out[PDMV2_HASH_LEN])
{
	(void)key; (void)key_len; (void)parts; (void)n; (void)out;
	return -1;
}

int pdmv2_hmac_sha256_key(const u8 *key, size_t key_len,
			  struct pdmv2_hmac_key *hk)
{
	(void)key; (void)key_len; (void)hk;
	return -1;
}

int pdmv2_hmac_sha256_keyed(const struct pdmv2_hmac_key *hk,
			    const struct pdmv2_hmac_part *parts,
			    unsigned int n, u8 out[PDMV2_HASH_LEN])
{
	(void)hk; (void)parts; (void)n; (void)out;
	return -1;
}

#define SECRET(p, n)	VALGRIND_MAKE_MEM_UNDEFINED(p, n)
#define PUBLIC(p, n)	VALGRIND_MAKE_MEM_DEFINED(p, n)

static void fill(u8 *p, size_t n, unsigned int seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (u8)(seed * 131 + i * 29 + 7);
}

/* key expansion, H, sealing and opening with both key lengths */
static int case_ours(void)
{
	static const unsigned int klens[] = { 16, 32 };
	u8 key[32], opt[PDMV2_OPT_LEN_ENC], bad[PDMV2_OPT_LEN_ENC];
	struct pdmv2_opt o, back;
	struct pdmv2_gcm g;
	unsigned int i, round;
	int ok = 1, err;

	for (i = 0; i < 2; i++) {
		for (round = 0; round < 3; round++) {
			fill(key, sizeof(key), i * 10 + round);
			SECRET(key, sizeof(key));
			if (pdmv2_gcm_init(&g, key, klens[i]))
				return 0;
			memset(&o, 0, sizeof(o));
			o.fmt = PDMV2_FMT_ENCRYPTED;
			o.version = PDMV2_VERSION;
			o.epoch = 0x100 + round;
			o.psntp = 1000 + round;
			o.psnlr = 0x01020304 * (round + 1);
			o.global_pointer = 77 + round;
			o.scale_dtlr = 3;
			o.delta_tlr = (u16)(1000 + round);
			o.scale_dtls = 4;
			o.delta_tls = (u16)(2000 + round);
			SECRET(&o.psnlr, sizeof(o.psnlr));
			SECRET(&o.global_pointer, sizeof(o.global_pointer));
			SECRET(&o.delta_tlr, sizeof(o.delta_tlr));
			SECRET(&o.delta_tls, sizeof(o.delta_tls));
			SECRET(&o.scale_dtlr, sizeof(o.scale_dtlr));
			SECRET(&o.scale_dtls, sizeof(o.scale_dtls));
			pdmv2_opt_seal(&g, &o, opt);
			/* what goes on the wire is public */
			PUBLIC(opt, sizeof(opt));
			err = pdmv2_opt_open(&g, opt, sizeof(opt), &back);
			PUBLIC(&err, sizeof(err));
			ok &= !err;
			memcpy(bad, opt, sizeof(bad));
			bad[sizeof(bad) - 1] ^= 1;	/* a forged tag */
			err = pdmv2_opt_open(&g, bad, sizeof(bad), &back);
			PUBLIC(&err, sizeof(err));
			ok &= err == PDMV2_ERR_TAG_MISMATCH;
			pdmv2_gcm_wipe(&g);
		}
	}
	return ok;
}

/* ---- deliberately leaky variants: each must be reported --------------- */

static u8 leaky_sbox_table[256];

static noinline u8 leaky_table_lookup(const u8 *key)
{
	return leaky_sbox_table[key[0]] ^ leaky_sbox_table[key[1]];
}

static noinline void leaky_branching_mul(u8 x[16],
							  const u8 h[16])
{
	u8 z[16] = { 0 }, v[16];
	unsigned int i, j, carry;

	memcpy(v, h, 16);
	for (i = 0; i < 128; i++) {
		if (x[i / 8] & (0x80 >> (i % 8)))
			for (j = 0; j < 16; j++)
				z[j] ^= v[j];
		carry = v[15] & 1;
		for (j = 15; j > 0; j--)
			v[j] = (u8)(v[j] >> 1 | v[j - 1] << 7);
		v[0] >>= 1;
		if (carry)
			v[0] ^= 0xe1;
	}
	memcpy(x, z, 16);
}

static noinline int leaky_early_exit_compare(const u8 *a,
							      const u8 *b,
							      size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i] != b[i])
			return 1;
	return 0;
}

static int case_leaky(const char *name)
{
	u8 key[16], x[16], h[16];
	volatile int sink;

	fill(key, sizeof(key), 1);
	fill(x, sizeof(x), 2);
	fill(h, sizeof(h), 3);
	fill(leaky_sbox_table, sizeof(leaky_sbox_table), 4);
	SECRET(key, sizeof(key));
	SECRET(h, sizeof(h));
	if (!strcmp(name, "table")) {
		sink = leaky_table_lookup(key);
	} else if (!strcmp(name, "branch")) {
		memcpy(x, key, sizeof(x));
		leaky_branching_mul(x, h);
		PUBLIC(x, sizeof(x));
		sink = x[0];
	} else {
		sink = leaky_early_exit_compare(key, x, sizeof(x));
		PUBLIC((void *)&sink, sizeof(sink));
	}
	(void)sink;
	return 1;
}

/* ---- the driver ----------------------------------------------------------- */

/* run one case under memcheck; its error count, or -1 */
static int run_case(const char *self, const char *name, const char *log,
		    const char *must_name)
{
	char cmd[1024], line[512];
	int errors = -1, named = !must_name, status;
	FILE *f;

	snprintf(cmd, sizeof(cmd),
		 "valgrind --tool=memcheck --error-exitcode=99 --log-file=%s "
		 "%s --case %s >/dev/null 2>&1", log, self, name);
	status = system(cmd);
	f = fopen(log, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, "ERROR SUMMARY: ");

		if (p)
			errors = atoi(p + strlen("ERROR SUMMARY: "));
		if (must_name && strstr(line, must_name))
			named = 1;
	}
	fclose(f);
	if (status == -1 || !WIFEXITED(status))
		return -1;
	/* a case that failed its own checks exits 1 (errors or not) */
	if (WEXITSTATUS(status) == 1)
		return -1;
	return named ? errors : -1;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name, *function;
	} leaky[] = {
		{ "table", "leaky_table_lookup" },
		{ "branch", "leaky_branching_mul" },
		{ "early-exit", "leaky_early_exit_compare" },
	};
	char log[256];
	unsigned int i, passed = 0, failed = 0, reported = 0;
	int errors, ours = 1;

	if (argc == 3 && !strcmp(argv[1], "--case")) {
		if (!strcmp(argv[2], "ours"))
			return case_ours() ? 0 : 1;
		if (!strcmp(argv[2], "portable")) {
			pdmv2_simd_user_force_portable();
			return case_ours() ? 0 : 1;
		}
		return case_leaky(argv[2]) ? 0 : 1;
	}
	if (argc != 1) {
		fprintf(stderr, "usage: ct_check [--case NAME]\n");
		return 2;
	}
	if (RUNNING_ON_VALGRIND) {
		fprintf(stderr, "ct_check: run it directly, it starts valgrind itself\n");
		return 2;
	}
	for (i = 0; i < 2; i++) {
		const char *name = i ? "portable" : "ours";
		const char *what = i ? "portable" : pdmv2_simd_user_name();

		snprintf(log, sizeof(log), "%s.%s.log", argv[0], name);
		errors = run_case(argv[0], name, log, NULL);
		if (!errors) {
			passed++;
			printf("constant time: %s: clean\n", what);
		} else {
			failed++;
			ours = 0;
			printf("FAIL: constant time: AES, GHASH, GCM seal/open with secret key and metrics (%s): %d memcheck reports (see %s)\n",
			       what, errors, log);
		}
	}
	for (i = 0; i < sizeof(leaky) / sizeof(leaky[0]); i++) {
		snprintf(log, sizeof(log), "%s.%s.log", argv[0], leaky[i].name);
		errors = run_case(argv[0], leaky[i].name, log,
				  leaky[i].function);
		if (errors > 0) {
			passed++;
			reported++;
		} else {
			failed++;
			printf("FAIL: constant time: the leaky variant '%s' was not reported in %s (%d reports, see %s)\n",
			       leaky[i].name, leaky[i].function, errors, log);
		}
	}
	printf("constant time (valgrind memcheck, secrets undefined): ours %s, %u of %zu leaky variants reported\n",
	       ours ? "clean" : "REPORTED", reported,
	       sizeof(leaky) / sizeof(leaky[0]));
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
