// SPDX-License-Identifier: GPL-2.0-only
/*
 * pdmv2: IPv6 Performance and Diagnostic Metrics v2 (PDMv2) for edge
 * routers. Inserts the PDM destination option into marked IPv6 packets
 * (egress, after routing) and learns the peer's sequence numbers and
 * receive times from PDM options it receives (ingress, before routing).
 * Per network namespace: hooks, flow state, /proc/net/pdmv2/.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/netfilter_ipv6.h>
#include <linux/random.h>
#include <linux/log2.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "pdmv2.h"

#define CREATE_TRACE_POINTS
#include "pdmv2_trace.h"

static unsigned int hash_buckets = 1024;
module_param(hash_buckets, uint, 0444);
MODULE_PARM_DESC(hash_buckets,
		 "flow hash buckets per network namespace (rounded to a power of two, 16..65536)");

/*
 * Tests only: the same traffic must give the same option bytes on every CPU
 * (the lab's endianness check, docs/lab.md), so the per-flow random draws
 * can be pinned. Never set on a router: it makes the PSNs predictable.
 */
static unsigned long long test_random;
module_param(test_random, ullong, 0444);
MODULE_PARM_DESC(test_random,
		 "tests only: when nonzero, every per-flow random draw (initial PSN, the epoch's rekey count) is its low 32 bits");

u32 pdmv2_flow_random(void)
{
	return test_random ? (u32)test_random : get_random_u32();
}

unsigned int pdmv2_net_id __read_mostly;

struct pdmv2_net *pdmv2_pernet(const struct net *net)
{
	return net_generic(net, pdmv2_net_id);
}

u64 pdmv2_stat_read(struct pdmv2_net *pn, enum pdmv2_stat s)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu) {
		const struct pdmv2_stats *st = per_cpu_ptr(pn->stats, cpu);
		unsigned int start;
		u64 v;

		do {
			start = u64_stats_fetch_begin(&st->syncp);
			v = u64_stats_read(&st->c[s]);
		} while (u64_stats_fetch_retry(&st->syncp, start));
		sum += v;
	}
	return sum;
}

unsigned int pdmv2_egress_hook(void *priv, struct sk_buff *skb,
			       const struct nf_hook_state *state)
{
	struct pdmv2_net *pn = pdmv2_pernet(state->net);

	if (READ_ONCE(pn->cfg.mode) == PDMV2_MODE_OFF ||
	    !(skb->mark & READ_ONCE(pn->cfg.mark_mask)))
		return NF_ACCEPT;
	return pdmv2_egress(pn, skb, state);
}

static unsigned int pdmv2_ingress_hook(void *priv, struct sk_buff *skb,
				       const struct nf_hook_state *state)
{
	struct pdmv2_net *pn = pdmv2_pernet(state->net);

	if (READ_ONCE(pn->cfg.mode) == PDMV2_MODE_OFF)
		return NF_ACCEPT;
	return pdmv2_ingress(pn, skb, state);
}

static const struct nf_hook_ops pdmv2_nf_ops[] = {
	{
		.hook		= pdmv2_ingress_hook,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_PRE_ROUTING,
		.priority	= PDMV2_PRI_INGRESS,
	},
	{
		.hook		= pdmv2_egress_hook,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_POST_ROUTING,
		.priority	= PDMV2_PRI_EGRESS,
	},
};

static int __net_init pdmv2_net_init(struct net *net)
{
	struct pdmv2_net *pn = pdmv2_pernet(net);
	int cpu, err;

	pn->net = net;
	mutex_init(&pn->cfg_lock);
	spin_lock_init(&pn->epochs_lock);
	pn->cfg.mode = PDMV2_MODE_OFF;
	pn->cfg.mark_mask = PDMV2_DEFAULT_MARK_MASK;
	pn->cfg.max_flows = PDMV2_DEFAULT_MAX_FLOWS;
	pn->cfg.max_sources = PDMV2_DEFAULT_MAX_SOURCES;
	pn->cfg.flow_timeout = PDMV2_DEFAULT_FLOW_TIMEOUT;
	pn->cfg.mtu_policy = PDMV2_MTU_ICMP;
	pn->cfg.nokey_policy = PDMV2_NOKEY_NONE;
	pn->cfg.verify = true;
	pn->cfg.gso_defer = true;
	pn->cfg.rekey_packets = PDMV2_DEFAULT_REKEY_PACKETS;
	pn->cfg.key_overlap = PDMV2_DEFAULT_KEY_OVERLAP;
	pn->hash_seed = get_random_u32();
	INIT_DELAYED_WORK(&pn->gc_work, pdmv2_gc_work);

	pn->stats = alloc_percpu(struct pdmv2_stats);
	if (!pn->stats)
		return -ENOMEM;
	for_each_possible_cpu(cpu)
		u64_stats_init(&per_cpu_ptr(pn->stats, cpu)->syncp);
	err = pdmv2_tables_init(pn, hash_buckets);
	if (err)
		goto err_stats;
	err = pdmv2_proc_init(pn);
	if (err)
		goto err_tables;
	err = nf_register_net_hooks(net, pdmv2_nf_ops,
				    ARRAY_SIZE(pdmv2_nf_ops));
	if (err)
		goto err_proc;
	pn->hooks_registered = true;
	schedule_delayed_work(&pn->gc_work, HZ);
	return 0;

err_proc:
	pdmv2_proc_exit(pn);
err_tables:
	pdmv2_tables_destroy(pn);
err_stats:
	free_percpu(pn->stats);
	pn->stats = NULL;
	return err;
}

/*
 * First half of a namespace's exit: no new control writes or readers, no new
 * packets in our hooks. Unregistering a hook does not wait for the CPUs
 * already inside it; the core waits for them (synchronize_rcu(), our hooks
 * run under rcu_read_lock()) between .pre_exit and .exit, for a namespace
 * going away as for the module's unload.
 */
static void __net_exit pdmv2_net_pre_exit(struct net *net)
{
	struct pdmv2_net *pn = pdmv2_pernet(net);

	pdmv2_proc_exit(pn);
	if (pn->hooks_registered)
		nf_unregister_net_hooks(net, pdmv2_nf_ops,
					ARRAY_SIZE(pdmv2_nf_ops));
	pn->hooks_registered = false;
	/* the last namespace that needed the GSO wrapper removes it */
	pdmv2_gso_want(pn, false);
}

/* Second half: nothing can reach the state any more; free it. */
static void __net_exit pdmv2_net_exit(struct net *net)
{
	struct pdmv2_net *pn = pdmv2_pernet(net);

	cancel_delayed_work_sync(&pn->gc_work);
	pdmv2_tables_destroy(pn);
	pdmv2_keys_destroy(pn);
	free_percpu(pn->stats);
	pn->stats = NULL;
}

static struct pernet_operations pdmv2_net_ops = {
	.init		= pdmv2_net_init,
	.pre_exit	= pdmv2_net_pre_exit,
	.exit		= pdmv2_net_exit,
	.id		= &pdmv2_net_id,
	.size		= sizeof(struct pdmv2_net),
};

static int __init pdmv2_init(void)
{
	int err;

	hash_buckets = clamp(hash_buckets, 16U, 65536U);
	hash_buckets = roundup_pow_of_two(hash_buckets);
	if (test_random)
		pr_notice("test_random is set: initial PSNs and epochs are fixed (tests only)\n");
	err = pdmv2_crypto_init();
	if (err)
		return err;
	err = pdmv2_flow_cache_init();
	if (err)
		goto err_crypto;
	err = pdmv2_gso_init();
	if (err)
		goto err_cache;
	err = register_pernet_subsys(&pdmv2_net_ops);
	if (err)
		goto err_gso;
	pr_info("loaded (%u flow buckets per namespace)\n", hash_buckets);
	return 0;

err_gso:
	pdmv2_gso_exit();
err_cache:
	pdmv2_flow_cache_exit();
err_crypto:
	pdmv2_crypto_exit();
	return err;
}

static void __exit pdmv2_exit(void)
{
	unregister_pernet_subsys(&pdmv2_net_ops);
	/* no hook runs any more: no new pending options */
	pdmv2_gso_exit();
	/* flows and sources freed after a grace period by the expiry work */
	rcu_barrier();
	pdmv2_flow_cache_exit();
	pdmv2_crypto_exit();
	pr_info("unloaded\n");
}

module_init(pdmv2_init);
module_exit(pdmv2_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("pdmv2 project");
MODULE_DESCRIPTION("IPv6 Performance and Diagnostic Metrics v2 (PDMv2) option insertion");
MODULE_SOFTDEP("pre: hmac sha256");
