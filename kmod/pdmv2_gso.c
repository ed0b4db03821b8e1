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
 * The wrapper takes the place of the IPv6 packet offload for as long as the
 * module is loaded: it is added behind the kernel's entry (same type and
 * priority, so not yet used), then the kernel's entry is removed, which
 * leaves ours first; unloading does the reverse. At no moment is there no
 * IPv6 offload. GRO callbacks are the kernel's own, copied. The module
 * parameter gso_defer=0 leaves the offload alone (every GSO packet is then
 * segmented in the hook).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hash.h>
#include <linux/if_ether.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#ifdef PDMV2_HAVE_NET_GRO_H	/* 5.17 and later, see Kbuild */
#include <net/gro.h>
#endif

#include "pdmv2.h"

static bool gso_defer = true;
module_param(gso_defer, bool, 0444);
MODULE_PARM_DESC(gso_defer,
		 "number the segments of GSO packets as the kernel segments them, instead of segmenting in the hook (default 1)");

/* the kernel's IPv6 offload, set while ours stands in its place */
static struct packet_offload *pdmv2_ipv6_offload_kernel;
static struct packet_offload pdmv2_ipv6_offload;
static bool pdmv2_gso_ready __read_mostly;

bool pdmv2_gso_defer_ready(void)
{
	return pdmv2_gso_ready;
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
	/*
	 * Encrypted mode: the options of all segments, sealed by the hook
	 * (kmalloc'ed, n_sealed of PDMV2_OPT_LEN_ENC octets; what goes on
	 * the wire, nothing secret). NULL for v1 and clear.
	 */
	u8 *sealed;
	u32 n_sealed;
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
		stale = slot->sealed;
		slot->sealed = NULL;
		slot->n_sealed = 0;
	}
	spin_unlock_bh(&slot->lock);
	kfree(stale);
	return free;
}

/* @sealed (n_sealed options, or NULL) goes to the slot, or is freed */
void pdmv2_gso_arm(const struct sk_buff *skb, u32 psntp, u32 back,
		   u8 *sealed, u32 n_sealed)
{
	struct pdmv2_gso_slot *slot = pdmv2_gso_slot_of(skb);

	spin_lock_bh(&slot->lock);
	if (slot->skb == skb) {
		slot->psntp = psntp;
		slot->back = back;
		swap(slot->sealed, sealed);
		slot->n_sealed = n_sealed;
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
 * and hands over its sealed options (*@sealed, to kfree; NULL for v1 and
 * clear).
 */
static bool pdmv2_gso_take(const struct sk_buff *skb, u32 psntp, u32 back,
			   u8 **sealed, u32 *n_sealed)
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
		*n_sealed = slot->n_sealed;
	}
	spin_unlock_bh(&slot->lock);
	return ours;
}

/*
 * Segment @index of a packet whose pending option starts @back octets in
 * front of the upper layer: numbered, or given its sealed option when
 * @sealed (n_sealed of them) is not NULL. A segment it cannot be written
 * into (no memory), or beyond the options sealed for the packet, leaves
 * with the pending option, which receivers skip.
 */
static void pdmv2_gso_finish(struct sk_buff *seg, u32 back, u32 index,
			     const u8 *sealed, u32 n_sealed)
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
	if (index < n_sealed && len == PDMV2_OPT_LEN_ENC &&
	    seg->data[off] == PDMV2_OPT_TYPE_PENDING)
		memcpy(seg->data + off, sealed + index * PDMV2_OPT_LEN_ENC,
		       PDMV2_OPT_LEN_ENC);
}

static struct sk_buff *pdmv2_ipv6_gso_segment(struct sk_buff *skb,
					      netdev_features_t features)
{
	const struct packet_offload *kernel = pdmv2_ipv6_offload_kernel;
	struct sk_buff *segs, *seg;
	u32 opt_off, l4_off, back, n_sealed = 0;
	u32 index = 0;
	u8 *sealed;

	/*
	 * skb->data is at the IPv6 header, as for ipv6_gso_segment(). The
	 * option's place is counted from the upper layer, which every segment
	 * has at its transport header: a Hop-by-Hop jumbo option that
	 * segmentation removes moves the IPv6 header but not this distance.
	 */
	if (!pdmv2_pending_find(skb->data, skb_headlen(skb), &opt_off,
				&l4_off))
		return kernel->callbacks.gso_segment(skb, features);
	back = l4_off - opt_off;
	if (!pdmv2_gso_take(skb, pdmv2_pending_psntp(skb->data + opt_off),
			    back, &sealed, &n_sealed))
		return kernel->callbacks.gso_segment(skb, features);
	segs = kernel->callbacks.gso_segment(skb, features);
	if (IS_ERR(segs)) {
		kfree(sealed);
		return segs;
	}
	/*
	 * A packet no longer than one segment goes on as it is. The callback
	 * left its data at the upper layer's payload; our caller only pushes
	 * back relative to the MAC header, so start from the IPv6 header.
	 */
	if (!segs) {
		int pulled = skb->data - skb_network_header(skb);

		if (pulled > 0)
			__skb_push(skb, pulled);
		pdmv2_gso_finish(skb, back, 0, sealed, n_sealed);
		kfree(sealed);
		return NULL;
	}
	for (seg = segs; seg; seg = seg->next)
		pdmv2_gso_finish(seg, back, index++, sealed, n_sealed);
	kfree(sealed);
	return segs;
}

int pdmv2_gso_init(void)
{
	struct packet_offload *kernel;
	unsigned int i;

	for (i = 0; i < PDMV2_GSO_SLOTS; i++)
		spin_lock_init(&pdmv2_gso_slots[i].lock);
	if (!gso_defer)
		return 0;
	rcu_read_lock();
	kernel = gro_find_receive_by_type(htons(ETH_P_IPV6));
	rcu_read_unlock();
	if (!kernel || !kernel->callbacks.gso_segment) {
		pr_warn("no IPv6 GSO callback: GSO packets are segmented in the hook\n");
		return 0;
	}
	pdmv2_ipv6_offload.type = kernel->type;
	pdmv2_ipv6_offload.priority = kernel->priority;
	pdmv2_ipv6_offload.callbacks = kernel->callbacks;
	pdmv2_ipv6_offload.callbacks.gso_segment = pdmv2_ipv6_gso_segment;
	pdmv2_ipv6_offload_kernel = kernel;
	/* equal priority: ours goes behind the kernel's, then takes its place */
	dev_add_offload(&pdmv2_ipv6_offload);
	dev_remove_offload(kernel);
	pdmv2_gso_ready = true;
	return 0;
}

void pdmv2_gso_exit(void)
{
	struct packet_offload *kernel = pdmv2_ipv6_offload_kernel;
	unsigned int i;

	/* our hooks are gone: no packet gets a pending option any more */
	if (kernel) {
		pdmv2_gso_ready = false;
		dev_add_offload(kernel);
		/* waits until no CPU runs the wrapper */
		dev_remove_offload(&pdmv2_ipv6_offload);
		pdmv2_ipv6_offload_kernel = NULL;
	}
	for (i = 0; i < PDMV2_GSO_SLOTS; i++) {
		kfree(pdmv2_gso_slots[i].sealed);
		pdmv2_gso_slots[i].sealed = NULL;
		pdmv2_gso_slots[i].skb = NULL;
	}
}
