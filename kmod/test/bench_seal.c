// SPDX-License-Identifier: GPL-2.0
/*
 * Per-option and per-flow work of the encrypted mode's crypto
 * (kmod/pdmv2_crypto.c), for instruction counting under callgrind
 * (test/bench/insert-callgrind.sh). Each iteration does one of:
 *   seal    pdmv2_opt_seal() of one option with the flow's GCM state
 *           cached (what pdmv2_emit_encrypted() does per packet once the
 *           per-CPU cache holds the flow's key);
 *   aes     the AES part of that: one pdmv2_aes_encrypt2() (the option's
 *           key stream block and E(J0) in one bitsliced call);
 *   ghash   the GHASH part: pdmv2_ghash_option() over the 8-octet AAD,
 *           the 16-octet ciphertext and the lengths block (two products,
 *           one reduction, with H^2, H^3 and L*H of the cached state);
 *   init    pdmv2_gcm_init(): expand an STK and compute H (a flow's first
 *           packet on a CPU, or a cache miss);
 *   derive  what a new flow costs in the key schedule before that:
 *           HS(client) from CS's PRK (one HMAC) and the STK from HS
 *           (extract and expand: two HMACs), over the bench's HMAC below;
 *   stk     the same for a host whose HS the module has cached (its PRK
 *           keyed for HMAC, pdmv2_hmac_sha256_key()): the STK alone, one
 *           HMAC of two compressions (pdmv2_stk_from_hs_key());
 *   reset   the loop alone, to subtract.
 * AES-128 keys (AEAD 1, the lab's); "aes256" as a second argument for
 * AES-256. The last sealed option is opened again and checked.
 *
 * The HMAC here is HMAC-SHA256 over OpenSSL's SHA-256 with nothing else
 * around it (four compressions per call for these inputs), so "derive"
 * counts the key schedule's own work and four compressions per HMAC; the
 * module's HMAC goes through the crypto API's hmac(sha256) shash and
 * re-keys the per-CPU transform with a zero key after each call (two
 * more compressions), its keyed HMAC ("stk") through the crypto API's
 * sha256 with exported states, and its SHA-256 is the kernel's.
 *   bench_seal seal|aes|ghash|init|derive|stk|reset aes128|aes256 ITERATIONS
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/sha.h>
#include "../pdmv2_crypto.h"

int pdmv2_hmac_sha256(const u8 *key, size_t key_len,
		      const struct pdmv2_hmac_part *parts, unsigned int n,
		      u8 out[PDMV2_HASH_LEN])
{
	u8 pad[64], inner[32];
	SHA256_CTX c;
	unsigned int i;

	if (key_len > sizeof(pad))
		return -1;
	memset(pad, 0x36, sizeof(pad));
	for (i = 0; i < key_len; i++)
		pad[i] ^= key[i];
	SHA256_Init(&c);
	SHA256_Update(&c, pad, sizeof(pad));
	for (i = 0; i < n; i++)
		SHA256_Update(&c, parts[i].data, parts[i].len);
	SHA256_Final(inner, &c);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36 ^ 0x5c;
	SHA256_Init(&c);
	SHA256_Update(&c, pad, sizeof(pad));
	SHA256_Update(&c, inner, sizeof(inner));
	SHA256_Final(out, &c);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct pdmv2_tuple t = {
		.src = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 0x10 },
		.dst = { 0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 0x20 },
		.sport = 40000, .dport = 5201, .proto = 17,
	};
	u8 key[32], prk[32], hs[32], y[16] = { 0 }, blocks[32] = { 0 };
	u8 opt[PDMV2_OPT_LEN_ENC], data[40];
	unsigned int klen;
	struct pdmv2_opt o = { 0 }, back;
	struct pdmv2_gcm g;
	struct pdmv2_hmac_key hs_key;
	struct pdmv2_tuple flow = t;
	volatile u32 sink = 0;
	enum { SEAL, AES, GHASH, INIT, DERIVE, STK, RESET } m;
	const char *mode;
	u16 aead;
	long i, n;

	if (argc != 4 || (strcmp(argv[2], "aes128") && strcmp(argv[2], "aes256"))) {
		fprintf(stderr, "usage: bench_seal seal|aes|ghash|init|derive|stk|reset aes128|aes256 ITERATIONS\n");
		return 2;
	}
	mode = argv[1];
	aead = strcmp(argv[2], "aes128") ? PDMV2_AEAD_AES_256_GCM :
					   PDMV2_AEAD_AES_128_GCM;
	klen = pdmv2_aead_key_len(aead);
	n = atol(argv[3]);
	for (i = 0; i < 32; i++) {
		key[i] = (u8)(i * 7 + 1);
		prk[i] = (u8)(i * 13 + 5);
	}
	memset(data, 0x5a, sizeof(data));
	if (pdmv2_hmac_sha256_key(prk, sizeof(prk), &hs_key))
		return 1;
	if (pdmv2_gcm_init(&g, key, klen))
		return 1;
	o.fmt = PDMV2_FMT_ENCRYPTED;
	o.version = PDMV2_VERSION;
	o.epoch = 0x1a5;
	o.psnlr = 0x01020304;
	o.global_pointer = 77;
	o.scale_dtlr = 3;
	o.delta_tlr = 1000;
	o.scale_dtls = 4;
	o.delta_tls = 2000;
	/*
	 * The mode is decoded once: a chain of string compares per iteration
	 * would cost each mode a different loop, and "reset" (the loop alone,
	 * subtracted) would then not be what the others spend around the call.
	 */
	if (!strcmp(mode, "seal"))
		m = SEAL;
	else if (!strcmp(mode, "aes"))
		m = AES;
	else if (!strcmp(mode, "ghash"))
		m = GHASH;
	else if (!strcmp(mode, "init"))
		m = INIT;
	else if (!strcmp(mode, "derive"))
		m = DERIVE;
	else if (!strcmp(mode, "stk"))
		m = STK;
	else if (!strcmp(mode, "reset"))
		m = RESET;
	else {
		fprintf(stderr, "bench_seal: unknown mode %s\n", mode);
		return 2;
	}
	for (i = 0; i < n; i++) {
		switch (m) {
		case SEAL:
			o.psntp = (u32)i;
			sink += pdmv2_opt_seal(&g, &o, opt);
			break;
		case AES:
			blocks[0] = (u8)i;
			pdmv2_aes_encrypt2(&g.aes, blocks, blocks);
			break;
		case GHASH:
			data[0] = (u8)i;
			data[8] = y[0];
			pdmv2_ghash_option(&g, data, data + 8, y);
			break;
		case INIT:
			key[0] = (u8)i;
			if (pdmv2_gcm_init(&g, key, klen))
				return 1;
			break;
		case DERIVE:
			prk[0] = (u8)i;
			if (pdmv2_kdf_expand(prk, PDMV2_LABEL_HS, t.src, 16, hs,
					     sizeof(hs)) ||
			    pdmv2_stk_from_hs(hs, aead, 0x1a5, &t, key))
				return 1;
			break;
		case STK:
			flow.sport = (u16)i;
			if (pdmv2_stk_from_hs_key(&hs_key, aead, 0x1a5, &flow,
						  key))
				return 1;
			break;
		case RESET:
			break;
		}
		sink += y[i & 15] + blocks[i & 31] + key[i & 15];
	}
	if (m == SEAL && n > 0 &&
	    (pdmv2_opt_open(&g, opt, sizeof(opt), &back) ||
	     back.psntp != o.psntp || back.delta_tls != o.delta_tls)) {
		fprintf(stderr, "bench_seal: the sealed option does not open\n");
		return 1;
	}
	printf("%u\n", sink);
	return 0;
}
