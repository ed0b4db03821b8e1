// SPDX-License-Identifier: GPL-2.0-only
/*
 * The module's backend for pdmv2_crypto.c: HMAC-SHA256 through the crypto
 * API ("hmac(sha256)", a synchronous shash). Every call runs with BHs
 * disabled (softirq, or under a _bh lock), which makes the per-CPU
 * transform ours for the call. AES and GHASH are pdmv2_crypto.c's own:
 * portable, or on x86-64 with AES-NI and PCLMULQDQ (pdmv2_aesni_x86_64.S)
 * inside kernel_fpu_begin()/end(), decided here.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/hash.h>
#include <linux/bottom_half.h>
#include <linux/err.h>
#include <linux/percpu.h>
#include <linux/module.h>
#include <linux/preempt.h>
#ifdef CONFIG_X86_64
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>
#include <asm/simd.h>
#endif

#include "pdmv2.h"

/* what pdmv2_crypto_init() found: the wish, then the CPU's answer */
static bool simd_crypto = true;
module_param(simd_crypto, bool, 0444);
MODULE_PARM_DESC(simd_crypto,
		 "AES and GHASH with the CPU's instructions (x86-64: AES-NI and PCLMULQDQ) where it has them (default Y; reads N when the portable code runs)");

bool pdmv2_simd_usable(void)
{
#ifdef CONFIG_X86_64
	/* false inside another kernel FPU section this softirq interrupted */
	return simd_crypto && may_use_simd();
#else
	return false;
#endif
}

void pdmv2_simd_begin(void)
{
#ifdef CONFIG_X86_64
	kernel_fpu_begin();
#endif
}

void pdmv2_simd_end(void)
{
#ifdef CONFIG_X86_64
	kernel_fpu_end();
#endif
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
}

int pdmv2_crypto_init(void)
{
	struct crypto_shash *tfm;
	int cpu;

#ifdef CONFIG_X86_64
	simd_crypto = simd_crypto && boot_cpu_has(X86_FEATURE_AES) &&
		      boot_cpu_has(X86_FEATURE_PCLMULQDQ);
#else
	simd_crypto = false;
#endif
	pr_info("AES-GCM: %s\n", simd_crypto ? "AES-NI and PCLMULQDQ" :
		"portable constant-time code");
	if (pdmv2_key_cache_init())
		return -ENOMEM;
	pdmv2_hmac_tfm = alloc_percpu(struct crypto_shash *);
	if (!pdmv2_hmac_tfm) {
		pdmv2_key_cache_exit();
		return -ENOMEM;
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
