// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-segment PSNs for GSO packets that the kernel segments in software.
 *
 * Every segment must carry its own PSN, but the kernel's GSO (and a NIC's
 * TSO) copies a packet's extension headers into each segment as they are.
 * Segmenting in our POST_ROUTING hook gives each segment its option, at the
 * price of sending each one alone through the rest of the output path.
 *
 * When the device behind the hook cannot take the GSO packet whole (it has
 * no offload for its GSO type, so validate_xmit_skb() will segment it in
 * software), the hook instead inserts one pending option into the GSO
 * packet and reserves the PSNs and Global Pointers of all its segments
 * (pdmv2_xmit.c). This file wraps the IPv6 GSO callback: the kernel's own
 * ipv6_gso_segment() cuts the packet exactly as before, and then each
 * segment's pending option becomes its PDM option (pdmv2_pending_finish()).
 * Packets without a pending option, almost all of them with their upper
 * layer right behind the IPv6 header, cost one look at the Next Header.
 *
 * The wrapper stands in the place of the IPv6 packet offload only while a
 * namespace needs it (a mode other than off, gso_defer on): control
 * writes and namespace exits count the namespaces that do, and the first
 * one installs it, the last one removes it (pdmv2_gso_want()). It is added
 * behind the kernel's entry (same type and priority, so not yet used),
 * then the kernel's entry is removed; removal does the reverse. At no
 * moment is there no IPv6 offload. GRO callbacks are the kernel's own,
 * copied. An IPv6 offload that is not the kernel's (another module's, in
 * front of it) is never replaced: the hook then segments GSO packets
 * itself, as it does with the module parameter gso_defer=0.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hash.h>
#include <linux/if_ether.h>
#include <linux/kallsyms.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/netdevice.h>
#include <linux/seq_file.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/string.h>
#ifdef PDMV2_HAVE_NET_GRO_H	/* 5.17 and later, see Kbuild */
#include <net/gro.h>
#endif

#include "pdmv2.h"

static bool gso_defer = true;
module_param(gso_defer, bool, 0444);
MODULE_PARM_DESC(gso_defer,
		 "number the segments of GSO packets as the kernel segments them, instead of segmenting in the hook (default 1)");

typedef struct sk_buff *(*pdmv2_gso_segment_t)(struct sk_buff *skb,
					       netdev_features_t features);

/*
 * Install and removal, and the namespaces that want the wrapper: process
 * context only (dev_remove_offload() and synchronize_net() sleep).
 */
static DEFINE_MUTEX(pdmv2_gso_mutex);
static unsigned int pdmv2_gso_users;
/* the kernel's IPv6 offload, set while ours stands in its place */
static struct packet_offload *pdmv2_ipv6_offload_kernel;
static struct packet_offload pdmv2_ipv6_offload;
/* the kernel's ipv6_gso_segment(), kept once found: it is core text */
static pdmv2_gso_segment_t pdmv2_kernel_gso_segment;
static bool pdmv2_gso_ready __read_mostly;

/*
 * Module-wide, not per namespace: the wrapper runs in the transmit path,
 * where the namespace's own state may already be gone.
 */
enum {
	PDMV2_GSO_REFUSED,		/* installs refused: not the kernel's */
	PDMV2_GSO_UNNUMBERED,		/* segments beyond the PSNs taken */
	PDMV2_GSO_UNUSED,		/* PSNs taken that no segment carries */
	PDMV2_GSO_ORPHANED,		/* armed, not yet cut at removal */
	PDMV2_GSO_COUNTERS
};

static atomic_long_t pdmv2_gso_counters[PDMV2_GSO_COUNTERS];

static const char * const pdmv2_gso_counter_names[PDMV2_GSO_COUNTERS] = {
	[PDMV2_GSO_REFUSED]	= "gso_wrapper_refused",
	[PDMV2_GSO_UNNUMBERED]	= "gso_segments_unnumbered",
	[PDMV2_GSO_UNUSED]	= "gso_psns_unused",
	[PDMV2_GSO_ORPHANED]	= "gso_orphaned",
};

bool pdmv2_gso_defer_ready(void)
{
	return READ_ONCE(pdmv2_gso_ready);
}

/*
 * The GSO packets that carry a pending option of ours, as the hook left
 * them: the packet, its first PSN and where the option sits. The wrapper
 * numbers only a packet found here, so an option of the same type and
 * length that someone else put into a packet (an RFC 4727 experiment, a
 * socket's sticky IPV6_DSTOPTS) is never rewritten, and neither are the
 * packets the hook segments itself. Direct-mapped by the packet's address;
 * a slot whose packet was dropped before it was segmented frees itself
 * after a second. The hook segments a packet itself when its slot is busy.
 */
#define PDMV2_GSO_SLOTS		256
#define PDMV2_GSO_SLOT_TTL	HZ

struct pdmv2_gso_slot {
	spinlock_t lock;		/* BHs off: hook and transmit path */
	const struct sk_buff *skb;	/* NULL: free */
	unsigned long expires;		/* jiffies */
	u32 psntp;			/* as the option carries it */
	u32 back;			/* option start to the upper layer */
	u32 expected;			/* segments it has PSNs for */
	/*
	 * Encrypted mode: the options of all segments, sealed by the hook
	 * (kmalloc'ed, expected of PDMV2_OPT_LEN_ENC octets; what goes on
	 * the wire, nothing secret). NULL for v1 and clear.
	 */
	u8 *sealed;
};

static struct pdmv2_gso_slot pdmv2_gso_slots[PDMV2_GSO_SLOTS];

static struct pdmv2_gso_slot *pdmv2_gso_slot_of(const struct sk_buff *skb)
{
	return &pdmv2_gso_slots[hash_ptr(skb, ilog2(PDMV2_GSO_SLOTS))];
}

bool pdmv2_gso_claim(const struct sk_buff *skb)
{
	struct pdmv2_gso_slot *slot = pdmv2_gso_slot_of(skb);
	u8 *stale = NULL;
	bool free;

	spin_lock_bh(&slot->lock);
	free = !slot->skb || time_after(jiffies, slot->expires);
	if (free) {
		slot->skb = skb;
		slot->expires = jiffies + PDMV2_GSO_SLOT_TTL;
		slot->back = 0;		/* not armed: matches no option */
		slot->expected = 0;
		stale = slot->sealed;
		slot->sealed = NULL;
	}
	spin_unlock_bh(&slot->lock);
	kfree(stale);
	return free;
}

/*
 * @expected: the segments the hook took PSNs for; @sealed (their options,
 * or NULL) goes to the slot, or is freed.
 */
void pdmv2_gso_arm(const struct sk_buff *skb, u32 psntp, u32 back,
		   u8 *sealed, u32 expected)
{
	struct pdmv2_gso_slot *slot = pdmv2_gso_slot_of(skb);

	spin_lock_bh(&slot->lock);
	if (slot->skb == skb) {
		slot->psntp = psntp;
		slot->back = back;
		swap(slot->sealed, sealed);
		slot->expected = expected;
	}
	spin_unlock_bh(&slot->lock);
	kfree(sealed);
}

void pdmv2_gso_release(const struct sk_buff *skb)
{
	struct pdmv2_gso_slot *slot = pdmv2_gso_slot_of(skb);
	u8 *sealed = NULL;

	spin_lock_bh(&slot->lock);
	if (slot->skb == skb) {
		slot->skb = NULL;
		swap(slot->sealed, sealed);
	}
	spin_unlock_bh(&slot->lock);
	kfree(sealed);
}

/*
 * Whether @skb is a packet the hook armed with this option; frees its slot
 * and hands over the number of segments it has PSNs for and its sealed
 * options (*@sealed, to kfree; NULL for v1 and clear).
 */
static bool pdmv2_gso_take(const struct sk_buff *skb, u32 psntp, u32 back,
			   u32 *expected, u8 **sealed)
{
	struct pdmv2_gso_slot *slot = pdmv2_gso_slot_of(skb);
	bool ours;

	*sealed = NULL;
	spin_lock_bh(&slot->lock);
	ours = slot->skb == skb && slot->back == back &&
	       slot->psntp == psntp && !time_after(jiffies, slot->expires);
	if (ours) {
		slot->skb = NULL;
		swap(slot->sealed, *sealed);
		*expected = slot->expected;
	}
	spin_unlock_bh(&slot->lock);
	return ours;
}

/*
 * Segment @index (one the packet has a PSN for) of a packet whose pending
 * option starts @back octets in front of the upper layer: numbered, or
 * given its sealed option when @sealed is not NULL. A segment it cannot be
 * written into (no memory) leaves with the pending option, which
 * receivers skip.
 */
static void pdmv2_gso_finish(struct sk_buff *seg, u32 back, u32 index,
			     const u8 *sealed)
{
	int off = skb_transport_header(seg) - back - seg->data;
	unsigned int len;

	if (off < 0 || off + 2 > skb_headlen(seg))
		return;
	len = 2 + seg->data[off + 1];
	if (off + len > skb_headlen(seg))
		return;
	/* segments have headers of their own, but for a frag_list's clones */
	if (skb_cloned(seg) && skb_ensure_writable(seg, off + len))
		return;
	if (!sealed) {
		pdmv2_pending_finish(seg->data + off, index);
		return;
	}
	if (len == PDMV2_OPT_LEN_ENC &&
	    seg->data[off] == PDMV2_OPT_TYPE_PENDING)
		memcpy(seg->data + off, sealed + index * PDMV2_OPT_LEN_ENC,
		       PDMV2_OPT_LEN_ENC);
}

static void pdmv2_gso_count(unsigned int counter, u32 n)
{
	if (n)
		atomic_long_add(n, &pdmv2_gso_counters[counter]);
}

static struct sk_buff *pdmv2_ipv6_gso_segment(struct sk_buff *skb,
					      netdev_features_t features)
{
	pdmv2_gso_segment_t kernel = READ_ONCE(pdmv2_kernel_gso_segment);
	u32 opt_off, l4_off, back, expected = 0, produced = 0, index = 0;
	struct pdmv2_gso_tally tally;
	struct sk_buff *segs, *seg;
	u8 *sealed;

	/*
	 * skb->data is at the IPv6 header, as for ipv6_gso_segment(). The
	 * option's place is counted from the upper layer, which every segment
	 * has at its transport header: a Hop-by-Hop jumbo option that
	 * segmentation removes moves the IPv6 header but not this distance.
	 */
	if (!pdmv2_pending_find(skb->data, skb_headlen(skb), &opt_off,
				&l4_off))
		return kernel(skb, features);
	back = l4_off - opt_off;
	if (!pdmv2_gso_take(skb, pdmv2_pending_psntp(skb->data + opt_off),
			    back, &expected, &sealed))
		return kernel(skb, features);
	segs = kernel(skb, features);
	/* dropped: its PSNs are lost with it, as any dropped packet's */
	if (IS_ERR(segs)) {
		kfree(sealed);
		return segs;
	}
	/*
	 * Handed back whole. The callback left its data at the upper layer's
	 * payload; our caller only pushes back relative to the MAC header, so
	 * start from the IPv6 header.
	 */
	if (!segs) {
		int pulled = skb->data - skb_network_header(skb);

		if (pulled > 0)
			__skb_push(skb, pulled);
		pdmv2_gso_tally(expected, 0, &tally);
		if (tally.numbered)
			pdmv2_gso_finish(skb, back, 0, sealed);
	} else {
		for (seg = segs; seg; seg = seg->next)
			produced++;
		/* the segments the kernel cut, not those the hook expected */
		pdmv2_gso_tally(expected, produced, &tally);
		for (seg = segs; seg && index < tally.numbered;
		     seg = seg->next)
			pdmv2_gso_finish(seg, back, index++, sealed);
	}
	kfree(sealed);
	pdmv2_gso_count(PDMV2_GSO_UNNUMBERED, tally.unnumbered);
	pdmv2_gso_count(PDMV2_GSO_UNUSED, tally.unused);
	return segs;
}

/* Armed packets the wrapper will never see; frees every slot. */
static u32 pdmv2_gso_slots_clear(void)
{
	u32 orphaned = 0;
	unsigned int i;

	for (i = 0; i < PDMV2_GSO_SLOTS; i++) {
		struct pdmv2_gso_slot *slot = &pdmv2_gso_slots[i];
		u8 *sealed = NULL;

		spin_lock_bh(&slot->lock);
		if (slot->skb && slot->back &&
		    !time_after(jiffies, slot->expires))
			orphaned++;
		slot->skb = NULL;
		swap(slot->sealed, sealed);
		spin_unlock_bh(&slot->lock);
		kfree(sealed);
	}
	return orphaned;
}

/* kallsyms names a module's function with the module in brackets */
static bool pdmv2_in_module(const void *fn)
{
	char sym[KSYM_SYMBOL_LEN];

	sprint_symbol(sym, (unsigned long)fn);
	return strchr(sym, '[');
}

/*
 * Why @po, the first IPv6 offload, is not the kernel's own, or NULL when
 * it is. The kernel's (net/ipv6/ip6_offload.c) is always built in, even
 * with IPv6 a module; an entry whose callbacks live in a module was put in
 * front of it by that module, which would find its entry gone if we
 * replaced it. Without kallsyms (CONFIG_KALLSYMS) only our own entry can
 * be told apart.
 */
static const char *pdmv2_offload_foreign(const struct packet_offload *po)
{
	if (!po || !po->callbacks.gso_segment || !po->callbacks.gro_receive)
		return "no IPv6 GSO callback";
	if (po == &pdmv2_ipv6_offload ||
	    po->callbacks.gso_segment == pdmv2_ipv6_gso_segment)
		return "our own wrapper already";
	if (pdmv2_in_module(po->callbacks.gso_segment) ||
	    pdmv2_in_module(po->callbacks.gro_receive))
		return "another module's";
	return NULL;
}

static bool pdmv2_ipv6_offload_is_ours(void)
{
	bool ours;

	rcu_read_lock();
	ours = gro_find_receive_by_type(htons(ETH_P_IPV6)) ==
	       &pdmv2_ipv6_offload;
	rcu_read_unlock();
	return ours;
}

static void pdmv2_gso_refuse(const char *why)
{
	static bool logged;

	atomic_long_inc(&pdmv2_gso_counters[PDMV2_GSO_REFUSED]);
	if (logged)
		return;
	logged = true;
	pr_warn("IPv6 offload not replaced (%s): GSO packets are segmented in the hook\n",
		why);
}

static void pdmv2_gso_install(void)
{
	struct packet_offload *kernel;
	const char *foreign;

	lockdep_assert_held(&pdmv2_gso_mutex);
	/* a module's entry may go at any time: looked at under RCU only */
	rcu_read_lock();
	kernel = gro_find_receive_by_type(htons(ETH_P_IPV6));
	foreign = pdmv2_offload_foreign(kernel);
	rcu_read_unlock();
	/* the kernel's own entry is built in: it stays */
	if (foreign) {
		pdmv2_gso_refuse(foreign);
		return;
	}
	pdmv2_ipv6_offload.type = kernel->type;
	pdmv2_ipv6_offload.priority = kernel->priority;
	pdmv2_ipv6_offload.callbacks = kernel->callbacks;
	pdmv2_ipv6_offload.callbacks.gso_segment = pdmv2_ipv6_gso_segment;
	WRITE_ONCE(pdmv2_kernel_gso_segment, kernel->callbacks.gso_segment);
	/* equal priority: ours goes behind the kernel's, then takes its place */
	dev_add_offload(&pdmv2_ipv6_offload);
	dev_remove_offload(kernel);
	/*
	 * Where entries of one priority go among each other is the list's
	 * business: ours must now be the one found, or it is taken out again.
	 */
	if (!pdmv2_ipv6_offload_is_ours()) {
		dev_add_offload(kernel);
		dev_remove_offload(&pdmv2_ipv6_offload);
		pdmv2_gso_refuse("another entry found first");
		return;
	}
	pdmv2_ipv6_offload_kernel = kernel;
	WRITE_ONCE(pdmv2_gso_ready, true);
}

/*
 * A packet armed just before removal may still be queued (a qdisc, a
 * backlog): the kernel's callback cuts it, and its segments leave with the
 * pending option, which receivers skip; it is counted (gso_orphaned), and
 * the PSNs it had are a gap the peer sees as loss.
 */
static void pdmv2_gso_uninstall(void)
{
	struct packet_offload *kernel = pdmv2_ipv6_offload_kernel;

	lockdep_assert_held(&pdmv2_gso_mutex);
	if (!kernel)
		return;
	WRITE_ONCE(pdmv2_gso_ready, false);
	/* hooks that found it ready (they run under RCU) have armed theirs */
	synchronize_net();
	dev_add_offload(kernel);
	/* waits until no CPU runs the wrapper */
	dev_remove_offload(&pdmv2_ipv6_offload);
	pdmv2_ipv6_offload_kernel = NULL;
	pdmv2_gso_count(PDMV2_GSO_ORPHANED, pdmv2_gso_slots_clear());
}

void pdmv2_gso_want(struct pdmv2_net *pn, bool want)
{
	want = want && gso_defer;
	mutex_lock(&pdmv2_gso_mutex);
	if (want != pn->gso_wanted) {
		pn->gso_wanted = want;
		if (want)
			pdmv2_gso_users++;
		else
			pdmv2_gso_users--;
		/* each namespace that comes to want it tries again */
		if (want && !pdmv2_ipv6_offload_kernel)
			pdmv2_gso_install();
		else if (!pdmv2_gso_users)
			pdmv2_gso_uninstall();
	}
	mutex_unlock(&pdmv2_gso_mutex);
}

void pdmv2_gso_show(struct seq_file *seq)
{
	unsigned int i;

	seq_printf(seq, "gso_wrapper_installed %d\n",
		   pdmv2_gso_defer_ready());
	for (i = 0; i < PDMV2_GSO_COUNTERS; i++)
		seq_printf(seq, "%s %ld\n", pdmv2_gso_counter_names[i],
			   atomic_long_read(&pdmv2_gso_counters[i]));
}

int pdmv2_gso_init(void)
{
	unsigned int i;

	for (i = 0; i < PDMV2_GSO_SLOTS; i++)
		spin_lock_init(&pdmv2_gso_slots[i].lock);
	return 0;
}

/* every namespace has gone (its .pre_exit gave up the wrapper) */
void pdmv2_gso_exit(void)
{
	mutex_lock(&pdmv2_gso_mutex);
	WARN_ON_ONCE(pdmv2_gso_users);
	pdmv2_gso_uninstall();
	mutex_unlock(&pdmv2_gso_mutex);
	pdmv2_gso_slots_clear();
}
