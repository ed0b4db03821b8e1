// SPDX-License-Identifier: GPL-2.0-only
/*
 * Lab test module (qemu/scenarios/hardening.sh, built by qemu/lab.sh): the
 * IPv6 packet offload of a module other than pdmv2.ko, to check that
 * pdmv2's GSO wrapper never takes an entry it does not own.
 *
 *   insmod offload_squatter.ko replace=1   takes the place of the kernel's
 *       entry: a copy of it with a GSO callback of its own (which calls the
 *       kernel's), found first by the stack;
 *   insmod offload_squatter.ko replace=0   adds that copy behind the
 *       kernel's, at the same priority: not used while the kernel's stands
 *       before it, found first once the kernel's entry is taken out.
 *
 * Unloading puts the kernel's entry back.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/if_ether.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <net/gro.h>

static bool replace;
module_param(replace, bool, 0444);
MODULE_PARM_DESC(replace, "take the kernel's IPv6 offload's place (default: stand behind it)");

static struct packet_offload squatter_offload;
/* the kernel's entry, while this module stands in its place */
static struct packet_offload *squatter_replaced;
static struct sk_buff *(*squatter_next)(struct sk_buff *skb,
					netdev_features_t features);

static struct sk_buff *squatter_gso_segment(struct sk_buff *skb,
					    netdev_features_t features)
{
	return squatter_next(skb, features);
}

static int __init squatter_init(void)
{
	struct packet_offload *kernel;

	rcu_read_lock();
	kernel = gro_find_receive_by_type(htons(ETH_P_IPV6));
	rcu_read_unlock();
	if (!kernel || !kernel->callbacks.gso_segment)
		return -ENOENT;
	squatter_next = kernel->callbacks.gso_segment;
	squatter_offload.type = kernel->type;
	squatter_offload.priority = kernel->priority;
	squatter_offload.callbacks = kernel->callbacks;
	squatter_offload.callbacks.gso_segment = squatter_gso_segment;
	dev_add_offload(&squatter_offload);
	if (replace) {
		dev_remove_offload(kernel);
		squatter_replaced = kernel;
	}
	pr_info("IPv6 offload %s\n", replace ? "replaced" : "added behind the kernel's");
	return 0;
}

static void __exit squatter_exit(void)
{
	if (squatter_replaced)
		dev_add_offload(squatter_replaced);
	dev_remove_offload(&squatter_offload);
}

module_init(squatter_init);
module_exit(squatter_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pdmv2 lab: another module's IPv6 packet offload");
