// SPDX-License-Identifier: GPL-2.0-only
/*
 * The module's backend for pdmv2_crypto.c: HMAC-SHA256 through the crypto
 * API ("hmac(sha256)", a synchronous shash). Every call runs with BHs
 * disabled (softirq, or under a _bh lock), which makes the per-CPU
 * transform ours for the call. AES and GHASH are pdmv2_crypto.c's own:
 * portable, or with the CPU's instructions (x86-64: AES-NI and PCLMULQDQ,
 * pdmv2_aesni_x86_64.S, inside kernel_fpu_begin()/end(); arm64: the crypto
 * extensions, pdmv2_ce_arm64.S, inside kernel_neon_begin()/end()), decided
 * here.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/hash.h>
#include <crypto/sha2.h>
#include <linux/bottom_half.h>
#include <linux/err.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#if defined(CONFIG_X86_64)
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>
#include <asm/simd.h>
#define PDMV2_KERNEL_SIMD
#define PDMV2_KERNEL_SIMD_NAME "AES-NI and PCLMULQDQ"
#elif defined(CONFIG_ARM64) && !defined(CONFIG_CPU_BIG_ENDIAN)
#include <asm/cpufeature.h>
#include <asm/neon.h>
#include <asm/simd.h>
#define PDMV2_KERNEL_SIMD
#define PDMV2_KERNEL_SIMD_NAME "the crypto extensions (AESE, PMULL)"
#else
#define PDMV2_KERNEL_SIMD_NAME ""
#endif

#include "pdmv2.h"

/* what pdmv2_crypto_init() found: the wish, then the CPU's answer */
static bool simd_crypto = true;
module_param(simd_crypto, bool, 0444);
MODULE_PARM_DESC(simd_crypto,
		 "AES and GHASH with the CPU's instructions (x86-64: AES-NI and PCLMULQDQ; arm64: AESE and PMULL) where it has them (default Y; reads N when the portable code runs)");

bool pdmv2_simd_usable(void)
{
#ifdef PDMV2_KERNEL_SIMD
	/* false inside another kernel FPU section this softirq interrupted */
	return simd_crypto && may_use_simd();
#else
	return false;
#endif
}

void pdmv2_simd_begin(void)
{
#if defined(CONFIG_X86_64)
	kernel_fpu_begin();
#elif defined(PDMV2_KERNEL_SIMD)
	kernel_neon_begin();
#endif
}

void pdmv2_simd_end(void)
{
#if defined(CONFIG_X86_64)
	kernel_fpu_end();
#elif defined(PDMV2_KERNEL_SIMD)
	kernel_neon_end();
#endif
}

/*
 * Plain SHA-256 for the keyed HMAC: no key in the transform (the pads'
 * states live in the caller's struct pdmv2_hmac_key, the running state in
 * a descriptor on the stack), so one transform serves every CPU at once.
 */
static struct crypto_shash *pdmv2_sha256_tfm;

/* the state after one pad block: @key XOR @pad_octet, zero-padded to 64 */
static int pdmv2_sha256_pad_state(struct shash_desc *desc, const u8 *key,
				  size_t key_len, u8 pad_octet, u8 *state)
{
	u8 pad[SHA256_BLOCK_SIZE];
	unsigned int i;
	int err;

	memset(pad, pad_octet, sizeof(pad));
	for (i = 0; i < key_len; i++)
		pad[i] ^= key[i];
	err = crypto_shash_init(desc);
	if (!err)
		err = crypto_shash_update(desc, pad, sizeof(pad));
	if (!err)
		err = crypto_shash_export(desc, state);
	memzero_explicit(pad, sizeof(pad));
	return err;
}

int pdmv2_hmac_sha256_key(const u8 *key, size_t key_len,
			  struct pdmv2_hmac_key *hk)
{
	SHASH_DESC_ON_STACK(desc, pdmv2_sha256_tfm);
	int err;

	if (key_len > SHA256_BLOCK_SIZE)
		return -EINVAL;
	desc->tfm = pdmv2_sha256_tfm;
	err = pdmv2_sha256_pad_state(desc, key, key_len, 0x36, hk->inner);
	if (!err)
		err = pdmv2_sha256_pad_state(desc, key, key_len, 0x5c,
					     hk->outer);
	shash_desc_zero(desc);
	if (err)
		memzero_explicit(hk, sizeof(*hk));
	return err;
}

int pdmv2_hmac_sha256_keyed(const struct pdmv2_hmac_key *hk,
			    const struct pdmv2_hmac_part *parts,
			    unsigned int n, u8 out[PDMV2_HASH_LEN])
{
	SHASH_DESC_ON_STACK(desc, pdmv2_sha256_tfm);
	u8 inner[SHA256_DIGEST_SIZE];
	unsigned int i;
	int err;

	desc->tfm = pdmv2_sha256_tfm;
	err = crypto_shash_import(desc, hk->inner);
	for (i = 0; !err && i < n; i++)
		err = crypto_shash_update(desc, parts[i].data, parts[i].len);
	if (!err)
		err = crypto_shash_final(desc, inner);
	if (!err)
		err = crypto_shash_import(desc, hk->outer);
	if (!err)
		err = crypto_shash_finup(desc, inner, sizeof(inner), out);
	memzero_explicit(inner, sizeof(inner));
	shash_desc_zero(desc);
	return err;
}

/* setkey changes the transform: one per CPU, used with BHs off */
static struct crypto_shash * __percpu *pdmv2_hmac_tfm;
/* what a transform is keyed with between two uses */
static const u8 pdmv2_hmac_nokey[PDMV2_HASH_LEN];

int pdmv2_hmac_sha256(const u8 *key, size_t key_len,
		      const struct pdmv2_hmac_part *parts, unsigned int n,
		      u8 out[PDMV2_HASH_LEN])
{
	struct crypto_shash *tfm;
	unsigned int i;
	int err;

	local_bh_disable();
	tfm = *this_cpu_ptr(pdmv2_hmac_tfm);
	err = crypto_shash_setkey(tfm, key, key_len);
	if (!err) {
		SHASH_DESC_ON_STACK(desc, tfm);

		desc->tfm = tfm;
		err = crypto_shash_init(desc);
		for (i = 0; !err && i < n; i++)
			err = crypto_shash_update(desc, parts[i].data,
						  parts[i].len);
		if (!err)
			err = crypto_shash_final(desc, out);
		shash_desc_zero(desc);
	}
	/*
	 * The transform keeps the key's inner and outer pad states, which
	 * are as good as the key (a PRK or a host secret): leave it with
	 * the pads of a zero key instead.
	 */
	if (crypto_shash_setkey(tfm, pdmv2_hmac_nokey, sizeof(pdmv2_hmac_nokey)))
		err = err ?: -EIO;
	local_bh_enable();
	return err;
}

void pdmv2_crypto_exit(void)
{
	int cpu;

	pdmv2_key_cache_exit();
	if (!pdmv2_hmac_tfm)
		return;
	for_each_possible_cpu(cpu) {
		struct crypto_shash *tfm = *per_cpu_ptr(pdmv2_hmac_tfm, cpu);

		if (!IS_ERR_OR_NULL(tfm))
			crypto_free_shash(tfm);	/* zeroes the key */
	}
	free_percpu(pdmv2_hmac_tfm);
	pdmv2_hmac_tfm = NULL;
	if (!IS_ERR_OR_NULL(pdmv2_sha256_tfm))
		crypto_free_shash(pdmv2_sha256_tfm);
	pdmv2_sha256_tfm = NULL;
}

int pdmv2_crypto_init(void)
{
	struct crypto_shash *tfm;
	int cpu;

#if defined(CONFIG_X86_64)
	simd_crypto = simd_crypto && boot_cpu_has(X86_FEATURE_AES) &&
		      boot_cpu_has(X86_FEATURE_PCLMULQDQ);
#elif defined(PDMV2_KERNEL_SIMD)
	simd_crypto = simd_crypto && cpu_have_named_feature(AES) &&
		      cpu_have_named_feature(PMULL);
#else
	simd_crypto = false;
#endif
	pr_info("AES-GCM: %s\n", simd_crypto ? PDMV2_KERNEL_SIMD_NAME :
		"portable constant-time code");
	if (pdmv2_key_cache_init())
		return -ENOMEM;
	pdmv2_hmac_tfm = alloc_percpu(struct crypto_shash *);
	if (!pdmv2_hmac_tfm) {
		pdmv2_key_cache_exit();
		return -ENOMEM;
	}
	tfm = crypto_alloc_shash("sha256", 0, 0);
	if (IS_ERR(tfm)) {
		pr_err("sha256 unavailable (%ld)\n", PTR_ERR(tfm));
		pdmv2_crypto_exit();
		return PTR_ERR(tfm);
	}
	pdmv2_sha256_tfm = tfm;
	/* the fastest loaded (OpenWrt's kmod-crypto-sha256 loads the CPU's) */
	pr_info("SHA-256: %s\n", crypto_shash_driver_name(tfm));
	if (crypto_shash_statesize(tfm) > PDMV2_SHA256_STATE_MAX) {
		pr_err("%s exports %u octets of state, more than the %u kept per key\n",
		       crypto_shash_driver_name(tfm),
		       crypto_shash_statesize(tfm), PDMV2_SHA256_STATE_MAX);
		pdmv2_crypto_exit();
		return -EINVAL;
	}
	for_each_possible_cpu(cpu) {
		tfm = crypto_alloc_shash("hmac(sha256)", 0, 0);
		if (IS_ERR(tfm)) {
			pr_err("hmac(sha256) unavailable (%ld)\n",
			       PTR_ERR(tfm));
			pdmv2_crypto_exit();
			return PTR_ERR(tfm);
		}
		*per_cpu_ptr(pdmv2_hmac_tfm, cpu) = tfm;
	}
	return 0;
}
