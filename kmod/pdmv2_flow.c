// SPDX-License-Identifier: GPL-2.0-only
/*
 * pdmv2 flow and source tables.
 *
 * Fixed-size hash tables per network namespace; each bucket has its own
 * spinlock for writers, readers walk the chains under RCU. Entries are
 * bounded (max_flows, max_sources): a full table makes the packet go out
 * unmodified and is counted, it never grows. A delayed work expires idle
 * entries once a second and frees them after a grace period.
 */
#include <linux/jhash.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/rculist.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <net/ipv6.h>

#include "pdmv2.h"

#define PDMV2_SOURCE_BUCKETS	256

/*
 * Module-wide bounds: every namespace has its own max_flows/max_sources,
 * but a router running containers has as many namespaces as it likes, and
 * the entries are GFP_ATOMIC allocations that no memory cgroup is charged
 * for (they are made in softirq, on behalf of no task). The sum over all
 * namespaces stops here; a refusal is counted (table_full_module,
 * sources_full_module) in the namespace that asked.
 */
static unsigned int max_flows_total = 65536;
module_param(max_flows_total, uint, 0644);
MODULE_PARM_DESC(max_flows_total,
		 "flows in all network namespaces together (default 65536)");
static unsigned int max_sources_total = 16384;
module_param(max_sources_total, uint, 0644);
MODULE_PARM_DESC(max_sources_total,
		 "Global Pointer sources in all network namespaces together (default 16384)");

static atomic_t pdmv2_flows_total = ATOMIC_INIT(0);
static atomic_t pdmv2_sources_total = ATOMIC_INIT(0);

unsigned int pdmv2_flows_module(void)
{
	return atomic_read(&pdmv2_flows_total);
}

unsigned int pdmv2_sources_module(void)
{
	return atomic_read(&pdmv2_sources_total);
}

/*
 * Take room for one entry in @t (at most @max) and in the module's @total
 * (at most @max_total): 0, -ENOSPC (the namespace's limit) or -EDQUOT
 * (the module's).
 */
static int pdmv2_room_take(struct pdmv2_table *t, u32 max, atomic_t *total,
			   unsigned int max_total)
{
	if (atomic_inc_return(&t->count) > max) {
		atomic_dec(&t->count);
		return -ENOSPC;
	}
	if (atomic_inc_return(total) > max_total) {
		atomic_dec(total);
		atomic_dec(&t->count);
		return -EDQUOT;
	}
	return 0;
}

static void pdmv2_room_give(struct pdmv2_table *t, atomic_t *total)
{
	atomic_dec(total);
	atomic_dec(&t->count);
}

/* own cache: memory per flow is visible in /proc/slabinfo (pdmv2_flow) */
static struct kmem_cache *pdmv2_flow_cache __read_mostly;

int pdmv2_flow_cache_init(void)
{
	pdmv2_flow_cache = KMEM_CACHE(pdmv2_flow, 0);
	return pdmv2_flow_cache ? 0 : -ENOMEM;
}

void pdmv2_flow_cache_exit(void)
{
	kmem_cache_destroy(pdmv2_flow_cache);
	pdmv2_flow_cache = NULL;
}

static void pdmv2_flow_free(struct pdmv2_flow *f)
{
	pdmv2_flow_tx_wipe(f);
	pdmv2_flow_rx_wipe(f);
	kmem_cache_free(pdmv2_flow_cache, f);
}

static void pdmv2_flow_free_rcu(struct rcu_head *head)
{
	pdmv2_flow_free(container_of(head, struct pdmv2_flow, rcu));
}

static int pdmv2_table_init(struct pdmv2_table *t, unsigned int buckets)
{
	unsigned int i;

	t->buckets = kvcalloc(buckets, sizeof(*t->buckets), GFP_KERNEL);
	if (!t->buckets)
		return -ENOMEM;
	for (i = 0; i < buckets; i++) {
		INIT_HLIST_HEAD(&t->buckets[i].head);
		spin_lock_init(&t->buckets[i].lock);
	}
	t->mask = buckets - 1;
	atomic_set(&t->count, 0);
	return 0;
}

int pdmv2_tables_init(struct pdmv2_net *pn, unsigned int flow_buckets)
{
	int err;

	BUILD_BUG_ON(sizeof(struct pdmv2_flow_key) % sizeof(u32));
	err = pdmv2_table_init(&pn->flows, flow_buckets);
	if (err)
		return err;
	err = pdmv2_table_init(&pn->sources, PDMV2_SOURCE_BUCKETS);
	if (err) {
		kvfree(pn->flows.buckets);
		pn->flows.buckets = NULL;
	}
	return err;
}

/* Only when no hook, reader or expiry work can see the tables any more. */
void pdmv2_tables_destroy(struct pdmv2_net *pn)
{
	struct pdmv2_source *s;
	struct hlist_node *tmp;
	struct pdmv2_flow *f;
	unsigned int i;

	if (pn->flows.buckets) {
		for (i = 0; i <= pn->flows.mask; i++)
			hlist_for_each_entry_safe(f, tmp,
						  &pn->flows.buckets[i].head,
						  node) {
				hlist_del(&f->node);
				pdmv2_room_give(&pn->flows,
						&pdmv2_flows_total);
				pdmv2_flow_free(f);
			}
		kvfree(pn->flows.buckets);
		pn->flows.buckets = NULL;
	}
	if (pn->sources.buckets) {
		for (i = 0; i <= pn->sources.mask; i++)
			hlist_for_each_entry_safe(s, tmp,
						  &pn->sources.buckets[i].head,
						  node) {
				hlist_del(&s->node);
				pdmv2_room_give(&pn->sources,
						&pdmv2_sources_total);
				kfree(s);
			}
		kvfree(pn->sources.buckets);
		pn->sources.buckets = NULL;
	}
}

static struct pdmv2_bucket *pdmv2_flow_bucket(struct pdmv2_net *pn,
					      const struct pdmv2_flow_key *key)
{
	u32 h = jhash2((const u32 *)key, sizeof(*key) / sizeof(u32),
		       pn->hash_seed);

	return &pn->flows.buckets[h & pn->flows.mask];
}

static struct pdmv2_bucket *pdmv2_source_bucket(struct pdmv2_net *pn,
						const struct in6_addr *addr)
{
	u32 h = jhash(addr, sizeof(*addr), pn->hash_seed ^ 0x5a5a5a5a);

	return &pn->sources.buckets[h & pn->sources.mask];
}

static void pdmv2_touch(unsigned long *last_seen)
{
	unsigned long now = jiffies;

	if (READ_ONCE(*last_seen) != now)
		WRITE_ONCE(*last_seen, now);
}

/* caller holds rcu_read_lock() */
struct pdmv2_flow *pdmv2_flow_lookup(struct pdmv2_net *pn,
				     const struct pdmv2_flow_key *key)
{
	struct pdmv2_bucket *b = pdmv2_flow_bucket(pn, key);
	struct pdmv2_flow *f;

	hlist_for_each_entry_rcu(f, &b->head, node)
		if (!memcmp(&f->key, key, sizeof(*key))) {
			pdmv2_touch(&f->last_seen);
			return f;
		}
	return NULL;
}

/*
 * Find or create the flow; caller holds rcu_read_lock(). Returns
 * ERR_PTR(-ENOSPC) when the table is full, ERR_PTR(-EDQUOT) when the
 * module's flows in all namespaces are, ERR_PTR(-ENOMEM) when memory is.
 */
struct pdmv2_flow *pdmv2_flow_get(struct pdmv2_net *pn,
				  const struct pdmv2_flow_key *key)
{
	struct pdmv2_bucket *b;
	struct pdmv2_flow *f;
	int err;

	f = pdmv2_flow_lookup(pn, key);
	if (f)
		return f;

	b = pdmv2_flow_bucket(pn, key);
	spin_lock_bh(&b->lock);
	hlist_for_each_entry(f, &b->head, node)
		if (!memcmp(&f->key, key, sizeof(*key)))
			goto out;
	err = pdmv2_room_take(&pn->flows, READ_ONCE(pn->cfg.max_flows),
			      &pdmv2_flows_total, READ_ONCE(max_flows_total));
	if (err) {
		f = ERR_PTR(err);
		goto out;
	}
	f = kmem_cache_zalloc(pdmv2_flow_cache, GFP_ATOMIC);
	if (!f) {
		pdmv2_room_give(&pn->flows, &pdmv2_flows_total);
		f = ERR_PTR(-ENOMEM);
		goto out;
	}
	f->key = *key;
	spin_lock_init(&f->lock);
	pdmv2_metrics_init(&f->m, pdmv2_flow_random());
	f->created = jiffies;
	f->last_seen = f->created;
	hlist_add_head_rcu(&f->node, &b->head);
	pdmv2_stat_inc(pn, PDMV2_STAT_FLOWS_CREATED);
out:
	spin_unlock_bh(&b->lock);
	return f;
}

/* Global Pointer state of a source address; caller holds rcu_read_lock() */
struct pdmv2_source *pdmv2_source_get(struct pdmv2_net *pn,
				      const struct in6_addr *addr)
{
	struct pdmv2_bucket *b = pdmv2_source_bucket(pn, addr);
	struct pdmv2_source *s;
	struct pdmv2_gp gp;
	int err;

	hlist_for_each_entry_rcu(s, &b->head, node)
		if (ipv6_addr_equal(&s->addr, addr)) {
			pdmv2_touch(&s->last_seen);
			return s;
		}

	spin_lock_bh(&b->lock);
	hlist_for_each_entry(s, &b->head, node)
		if (ipv6_addr_equal(&s->addr, addr))
			goto out;
	err = pdmv2_room_take(&pn->sources, READ_ONCE(pn->cfg.max_sources),
			      &pdmv2_sources_total,
			      READ_ONCE(max_sources_total));
	if (err) {
		s = ERR_PTR(err);
		goto out;
	}
	s = kzalloc(sizeof(*s), GFP_ATOMIC);
	if (!s) {
		pdmv2_room_give(&pn->sources, &pdmv2_sources_total);
		s = ERR_PTR(-ENOMEM);
		goto out;
	}
	s->addr = *addr;
	pdmv2_gp_init(&gp);
	atomic_set(&s->gp_link_local, gp.link_local);
	atomic_set(&s->gp_global, gp.global);
	s->last_seen = jiffies;
	hlist_add_head_rcu(&s->node, &b->head);
	pdmv2_stat_inc(pn, PDMV2_STAT_SOURCES_CREATED);
out:
	spin_unlock_bh(&b->lock);
	return s;
}

/* Remove flows idle for @idle jiffies (all flows when @all). */
static void pdmv2_flows_expire(struct pdmv2_net *pn, unsigned long idle,
			       bool all)
{
	struct hlist_node *tmp;
	struct pdmv2_flow *f;
	unsigned int i, n = 0;

	/* a namespace without flows (mode off) costs no walk of the buckets */
	if (!atomic_read(&pn->flows.count))
		return;
	for (i = 0; i <= pn->flows.mask; i++) {
		struct pdmv2_bucket *b = &pn->flows.buckets[i];

		if (hlist_empty(&b->head))
			continue;
		spin_lock_bh(&b->lock);
		hlist_for_each_entry_safe(f, tmp, &b->head, node) {
			if (!all && time_before(jiffies,
						READ_ONCE(f->last_seen) + idle))
				continue;
			hlist_del_rcu(&f->node);
			/*
			 * Its epochs go into the memory before a new flow of
			 * the 5-tuple can start (the bucket lock is held), and
			 * it never seals again, through a stale pointer either.
			 */
			spin_lock(&f->lock);
			pdmv2_flow_tx_retire(pn, f);
			spin_unlock(&f->lock);
			pdmv2_room_give(&pn->flows, &pdmv2_flows_total);
			call_rcu(&f->rcu, pdmv2_flow_free_rcu);
			n++;
		}
		spin_unlock_bh(&b->lock);
		if (!(i & 255))
			cond_resched();
	}
	if (n)
		pdmv2_stat_add(pn, PDMV2_STAT_FLOWS_EXPIRED, n);
}

static void pdmv2_sources_expire(struct pdmv2_net *pn, unsigned long idle)
{
	struct pdmv2_source *s;
	struct hlist_node *tmp;
	unsigned int i, n = 0;

	for (i = 0; i <= pn->sources.mask; i++) {
		struct pdmv2_bucket *b = &pn->sources.buckets[i];

		if (hlist_empty(&b->head))
			continue;
		spin_lock_bh(&b->lock);
		hlist_for_each_entry_safe(s, tmp, &b->head, node) {
			if (time_before(jiffies,
					READ_ONCE(s->last_seen) + idle))
				continue;
			hlist_del_rcu(&s->node);
			pdmv2_room_give(&pn->sources, &pdmv2_sources_total);
			kfree_rcu(s, rcu);
			n++;
		}
		spin_unlock_bh(&b->lock);
	}
	if (n)
		pdmv2_stat_add(pn, PDMV2_STAT_SOURCES_EXPIRED, n);
}

void pdmv2_flows_flush(struct pdmv2_net *pn)
{
	pdmv2_flows_expire(pn, 0, true);
}

/* Wipe every flow key not derived from key store @keep_version. */
void pdmv2_flows_wipe_keys(struct pdmv2_net *pn, u64 keep_version)
{
	struct pdmv2_flow *f;
	unsigned int i;

	for (i = 0; i <= pn->flows.mask; i++) {
		rcu_read_lock();
		hlist_for_each_entry_rcu(f, &pn->flows.buckets[i].head, node) {
			spin_lock_bh(&f->lock);
			if (f->tx.ks_version != keep_version)
				pdmv2_flow_tx_wipe(f);
			if (f->rx.ks_version != keep_version)
				pdmv2_flow_rx_wipe(f);
			spin_unlock_bh(&f->lock);
		}
		rcu_read_unlock();
		if (!(i & 255))
			cond_resched();
	}
}

void pdmv2_gc_work(struct work_struct *work)
{
	struct pdmv2_net *pn = container_of(to_delayed_work(work),
					    struct pdmv2_net, gc_work);
	unsigned long timeout = READ_ONCE(pn->cfg.flow_timeout) * HZ;

	pdmv2_flows_expire(pn, timeout, false);
	pdmv2_sources_expire(pn, timeout + PDMV2_SOURCE_IDLE_SECS * HZ);
	pdmv2_keys_retire(pn);
	schedule_delayed_work(&pn->gc_work, round_jiffies_relative(HZ));
}
