// SPDX-License-Identifier: GPL-2.0-only
/*
 * pdmv2 data path: option insertion on egress (POST_ROUTING), learning on
 * ingress (PRE_ROUTING).
 *
 * Insertion works like the in-tree inline extension-header inserters
 * (ioam6, seg6 inline): make the headers private, grow the headroom, move
 * the IPv6 header and the extension headers in front of the insertion point
 * towards the head, and write the new or extended Destination Options
 * header in the gap. The upper layer does not move, so transport_header,
 * csum_start/csum_offset of CHECKSUM_PARTIAL packets and the upper-layer
 * checksum (its pseudo-header has the upper-layer length, not the payload
 * length) all stay valid; only payload_len changes.
 *
 * GSO packets are segmented here so that every segment gets its own PSN;
 * each segment then continues through the remaining POST_ROUTING hooks.
 * The segments of the common GSO types repeat the packet's headers, so the
 * packet is parsed and planned once and its Global Pointers taken at once.
 */
#include <linux/icmpv6.h>
#include <linux/ipv6.h>
#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/netfilter_bridge.h>
#include <linux/netfilter_ipv6.h>
#include <linux/skbuff.h>
#include <linux/timekeeping.h>
#include <net/checksum.h>
#include <net/ip6_route.h>
#include <net/ipv6.h>
#include <net/addrconf.h>
#include <net/tcp.h>
#include <net/netfilter/nf_conntrack.h>
#ifdef PDMV2_HAVE_NET_GSO_H	/* 6.5 and later, see Kbuild */
#include <net/gso.h>
#endif

#include "pdmv2.h"
#include "pdmv2_trace.h"

/* ---- emitters (one per mode) ------------------------------------------ */

static int pdmv2_emit_plain(struct pdmv2_net *pn, struct pdmv2_flow *flow,
			    struct pdmv2_opt *fields, u8 *opt)
{
	return pdmv2_opt_encode(fields, opt, PDMV2_OPT_MAX_LEN) ? 0 : -EINVAL;
}

static const struct pdmv2_emit_ops pdmv2_emit_v1 = {
	.name		= "v1",
	.fmt		= PDMV2_FMT_V1,
	.opt_len	= PDMV2_OPT_LEN_V1,
	.emit		= pdmv2_emit_plain,
};

static const struct pdmv2_emit_ops pdmv2_emit_clear = {
	.name		= "clear",
	.fmt		= PDMV2_FMT_CLEAR,
	.opt_len	= PDMV2_OPT_LEN_CLEAR,
	.emit		= pdmv2_emit_plain,
};

/*
 * Seal with the flow's key, deriving or rekeying it first if needed. The
 * key expanded with H comes from the per-CPU cache, so a packet of a flow
 * in the cache costs the seal alone.
 */
static int pdmv2_emit_encrypted(struct pdmv2_net *pn, struct pdmv2_flow *flow,
				struct pdmv2_opt *fields, u8 *opt)
{
	const struct pdmv2_gcm *gcm;
	int err;

	err = pdmv2_flow_tx_key(pn, flow, fields->psntp);
	if (err)
		return err;
	fields->epoch = flow->tx.epoch;
	gcm = pdmv2_flow_gcm_get(flow, false);
	if (gcm)
		pdmv2_opt_seal(gcm, fields, opt);
	pdmv2_flow_gcm_put();
	return gcm ? 0 : -EINVAL;
}

/*
 * The options of the @n segments after the first of a GSO packet, whose
 * option @first is: PSNTP and Global Pointer one higher each, each sealed
 * under the key its PSN falls under, in runs up to the next rekey (one
 * key cache lookup and one FPU section per run).
 */
static int pdmv2_seal_rest(struct pdmv2_net *pn, struct pdmv2_flow *flow,
			   const struct pdmv2_opt *first, u8 *sealed, u32 n)
{
	struct pdmv2_opt next = *first;
	const struct pdmv2_gcm *gcm;
	u32 i = 0, run;
	int err;

	while (i < n) {
		next.psntp = first->psntp + 1 + i;
		next.global_pointer = first->global_pointer + 1 + i;
		err = pdmv2_flow_tx_key(pn, flow, next.psntp);
		if (err)
			return err;
		next.epoch = flow->tx.epoch;
		run = pdmv2_flow_tx_key_run(pn, flow, next.psntp, n - i);
		gcm = pdmv2_flow_gcm_get(flow, false);
		if (gcm)
			pdmv2_opt_seal_n(gcm, &next, sealed +
					 i * PDMV2_OPT_LEN_ENC, run);
		pdmv2_flow_gcm_put();
		if (!gcm)
			return -EINVAL;
		i += run;
	}
	return 0;
}

static const struct pdmv2_emit_ops pdmv2_emit_enc = {
	.name		= "encrypted",
	.fmt		= PDMV2_FMT_ENCRYPTED,
	.opt_len	= PDMV2_OPT_LEN_ENC,
	.emit		= pdmv2_emit_encrypted,
};

static const struct pdmv2_emit_ops *const pdmv2_emitters[PDMV2_MODE_MAX] = {
	[PDMV2_MODE_V1]		= &pdmv2_emit_v1,
	[PDMV2_MODE_CLEAR]	= &pdmv2_emit_clear,
	[PDMV2_MODE_ENCRYPTED]	= &pdmv2_emit_enc,
};

const struct pdmv2_emit_ops *pdmv2_emit_ops_for(int mode)
{
	if (mode < 0 || mode >= PDMV2_MODE_MAX)
		return NULL;
	return pdmv2_emitters[mode];
}

/* ---- parsing ----------------------------------------------------------- */

/* Walk the headers of the IPv6 packet at @off, pulling them linear. */
static int pdmv2_skb_parse(struct sk_buff *skb, unsigned int off,
			   struct pdmv2_pkt *info)
{
	unsigned int i;
	int err;

	if (skb->len < off || skb_headlen(skb) < off)
		return PDMV2_ERR_BAD_PACKET;
	for (i = 0; i < 64; i++) {
		err = pdmv2_pkt_parse(skb->data + off, skb_headlen(skb) - off,
				      skb->len - off, info);
		if (err != PDMV2_ERR_NEED_MORE)
			return err;
		if (!pskb_may_pull(skb, off + info->need))
			return PDMV2_ERR_BAD_PACKET;
	}
	return PDMV2_ERR_BAD_HEADER;
}

/*
 * Ingress: walk the headers of a received packet without changing it. All
 * traffic crosses the ingress hook, most of it not ours: its headers are
 * read where they are (the linear area, almost always), or from a copy of
 * at most @cap octets, never pulled linear. Returns where the headers are
 * (valid while @buf is), with the walker's result in @err; headers that
 * reach beyond @cap are PDMV2_ERR_TOO_LONG (not examined).
 */
static const u8 *pdmv2_skb_peek(const struct sk_buff *skb, u8 *buf,
				unsigned int cap, struct pdmv2_pkt *info,
				int *err)
{
	unsigned int n;
	const u8 *p;

	*err = pdmv2_pkt_parse(skb->data, skb_headlen(skb), skb->len, info);
	if (*err != PDMV2_ERR_NEED_MORE)
		return skb->data;
	n = min(skb->len, cap);
	p = skb_header_pointer(skb, 0, n, buf);
	if (!p) {
		*err = PDMV2_ERR_BAD_PACKET;
		return NULL;
	}
	*err = pdmv2_pkt_parse(p, n, skb->len, info);
	if (*err == PDMV2_ERR_NEED_MORE)
		*err = PDMV2_ERR_TOO_LONG;
	return p;
}

static void pdmv2_key_from(struct pdmv2_flow_key *key, const u8 *ip6,
			   const struct pdmv2_pkt *info, bool reverse)
{
	const struct ipv6hdr *h = (const struct ipv6hdr *)ip6;

	memset(key, 0, sizeof(*key));
	key->proto = info->proto;
	if (!reverse) {
		key->saddr = h->saddr;
		key->daddr = h->daddr;
		key->sport = info->sport;
		key->dport = info->dport;
	} else {
		key->saddr = h->daddr;
		key->daddr = h->saddr;
		key->sport = info->dport;
		key->dport = info->sport;
	}
}

/* ---- egress ------------------------------------------------------------ */

/* bridged IPv6 seen through br_netfilter: not ours to change */
static bool pdmv2_bridged(const struct sk_buff *skb)
{
#if IS_ENABLED(CONFIG_BRIDGE_NETFILTER)
	return nf_bridge_info_exists(skb);
#else
	return false;
#endif
}

static void pdmv2_count_refusal(struct pdmv2_net *pn, int err)
{
	static const u8 map[PDMV2_ERR_COUNT] = {
		[PDMV2_ERR_HAS_PDM]	= PDMV2_STAT_SKIP_HAS_PDM,
		[PDMV2_ERR_FRAGMENT]	= PDMV2_STAT_SKIP_FRAGMENT,
		[PDMV2_ERR_ESP]		= PDMV2_STAT_SKIP_ESP,
		[PDMV2_ERR_AH]		= PDMV2_STAT_SKIP_AH,
		[PDMV2_ERR_TOO_LONG]	= PDMV2_STAT_SKIP_TOO_LONG,
	};

	if (err > 0 && err < PDMV2_ERR_COUNT && map[err])
		pdmv2_stat_inc(pn, map[err]);
	else
		pdmv2_stat_inc(pn, PDMV2_STAT_PARSE_ERRORS);
}

/* a flow or source that could not be had: which limit, or memory */
static void pdmv2_count_no_room(struct pdmv2_net *pn, int err, bool flow)
{
	enum pdmv2_stat s = PDMV2_STAT_SKIP_NOMEM;

	if (err == -ENOSPC)
		s = flow ? PDMV2_STAT_TABLE_FULL : PDMV2_STAT_SOURCES_FULL;
	else if (err == -EDQUOT)
		s = flow ? PDMV2_STAT_TABLE_FULL_MODULE :
			   PDMV2_STAT_SOURCES_FULL_MODULE;
	pdmv2_stat_inc(pn, s);
}

static enum pdmv2_stat pdmv2_key_stat(int err)
{
	switch (err) {
	case -ENOKEY:
		return PDMV2_STAT_SKIP_NO_SECRET;
	case -ESTALE:
		return PDMV2_STAT_SKIP_REKEY_EXHAUSTED;
	case -EKEYEXPIRED:
		return PDMV2_STAT_SKIP_OLD_GENERATION;
	default:
		return PDMV2_STAT_SKIP_EMIT_ERROR;
	}
}

/*
 * Global Pointers for @n packets from @saddr: one step for all the
 * segments of a GSO packet, which share their source address.
 */
static u32 pdmv2_gp_take(struct pdmv2_source *src,
			 const struct in6_addr *saddr, u32 n)
{
	atomic_t *ctr = pdmv2_addr_is_link_local(saddr->s6_addr) ?
			&src->gp_link_local : &src->gp_global;

	return (u32)atomic_add_return((int)n, ctr) - n;
}

/* one flow's packets sent under one hold of its lock */
struct pdmv2_sender {
	struct pdmv2_net *pn;
	const struct pdmv2_emit_ops *ops;
	struct pdmv2_flow *flow;
	/*
	 * Encrypted GSO packet the kernel segments: room for every segment's
	 * option, sealed here (pdmv2_gso.c puts them in); else NULL.
	 */
	u8 *sealed;
	u32 gp;				/* Global Pointer of the next packet */
};

static void pdmv2_send_begin(struct pdmv2_sender *snd, struct pdmv2_net *pn,
			     const struct pdmv2_emit_ops *ops,
			     struct pdmv2_flow *flow, u32 gp)
	__acquires(&flow->lock)
{
	snd->pn = pn;
	snd->ops = ops;
	snd->flow = flow;
	snd->sealed = NULL;
	snd->gp = gp;
	spin_lock_bh(&flow->lock);
}

static void pdmv2_send_end(struct pdmv2_sender *snd)
	__releases(&snd->flow->lock)
{
	spin_unlock_bh(&snd->flow->lock);
}

/*
 * Take the flow's next PSN and times and build the option into @opt, for a
 * packet that @n packets will leave as (the segments of a GSO packet the
 * kernel segments later, pdmv2_gso.c): their PSNs are taken too, and they
 * share the first one's times, as they leave at once. Encrypted options
 * are sealed per PSN: all @n of them are sealed here, into snd->sealed,
 * each under the key its PSN falls under (a batch may cross a rekey).
 */
static int pdmv2_fill(struct pdmv2_sender *snd, int grow, u8 *opt, u32 n)
{
	struct pdmv2_flow *flow = snd->flow;
	struct pdmv2_metrics m = flow->m;
	struct pdmv2_opt fields;
	struct pdmv2_tx tx;
	u32 i;
	int err;

	/*
	 * On a copy: a packet that leaves without the option (the emitter
	 * failed) consumes no PSN and is no send time of the flow.
	 */
	pdmv2_metrics_on_send(&m, ktime_get_ns(), &tx);
	pdmv2_opt_from_tx(&fields, snd->ops->fmt, 0, &tx, snd->gp);
	err = snd->ops->emit(snd->pn, flow, &fields, opt);
	if (err)
		return err;
	if (snd->sealed) {
		memcpy(snd->sealed, opt, PDMV2_OPT_LEN_ENC);
		err = pdmv2_seal_rest(snd->pn, flow, &fields,
				      snd->sealed + PDMV2_OPT_LEN_ENC, n - 1);
		if (err)
			return err;
	}
	if (tx.negative)
		pdmv2_stat_add(snd->pn, PDMV2_STAT_NEGATIVE_DELTA, tx.negative);
	m.psn_next += n - 1;
	flow->m = m;
	flow->tx_packets += n;
	flow->last_grow = grow > 0 ? grow : 0;
	trace_pdmv2_emit(snd->pn->net, &flow->key, &fields);
	if (n > 1 && trace_pdmv2_emit_enabled()) {
		for (i = 1; i < n; i++) {
			fields.psntp++;
			fields.global_pointer++;
			if (snd->sealed)
				fields.epoch = get_unaligned_be16(snd->sealed +
					i * PDMV2_OPT_LEN_ENC + 2) &
					PDMV2_EPOCH_MAX;
			trace_pdmv2_emit(snd->pn->net, &flow->key, &fields);
		}
	}
	return 0;
}

/*
 * Insert the option as @plan says, flow lock held (pdmv2_send_begin). On
 * failure the packet is left as it was (apart from possibly having been
 * made private) and goes out unmodified. @pending is 0 for a packet that
 * leaves as it is, else the number of segments the kernel will cut this
 * GSO packet into: it then gets the pending option of the first one.
 * Returns whether the option went in.
 */
static bool pdmv2_insert(struct pdmv2_sender *snd, struct sk_buff *skb,
			 const struct pdmv2_ins_plan *plan, u32 pending)
{
	unsigned int room = plan->grow > 0 ? plan->grow : 0;
	struct pdmv2_net *pn = snd->pn;
	u8 opt[PDMV2_OPT_MAX_LEN];
	int err;

	if (skb_ensure_writable(skb, plan->hdr_off + plan->doh.old_len)) {
		pdmv2_stat_inc(pn, PDMV2_STAT_SKIP_NOMEM);
		return false;
	}
	if (room && skb_cow_head(skb, room + (skb->dev ?
					      LL_RESERVED_SPACE(skb->dev) :
					      0))) {
		pdmv2_stat_inc(pn, PDMV2_STAT_SKIP_NOMEM);
		return false;
	}
	/* nothing may fail after the PSN is taken but a key gone meanwhile */
	err = pdmv2_fill(snd, plan->grow, opt, pending ? pending : 1);
	if (err) {
		pdmv2_stat_inc(pn, pdmv2_key_stat(err));
		return false;
	}
	if (pending)
		opt[0] = PDMV2_OPT_TYPE_PENDING;

	/* the headers in front of the insertion point move to the new start */
	if (plan->grow > 0)
		__skb_push(skb, plan->grow);
	else if (plan->grow < 0)
		__skb_pull(skb, -plan->grow);
	pdmv2_pkt_apply_plan(skb->data, skb->len, plan, opt);
	skb_reset_network_header(skb);
	/* a receive-side full checksum no longer covers the packet */
	if (skb->ip_summed == CHECKSUM_COMPLETE)
		skb->ip_summed = CHECKSUM_NONE;
	if (pending) {
		pdmv2_stat_add(pn, PDMV2_STAT_INSERTED, pending);
		pdmv2_stat_inc(pn, PDMV2_STAT_GSO_DEFERRED);
	} else {
		pdmv2_stat_inc(pn, PDMV2_STAT_INSERTED);
	}
	return true;
}

/*
 * Parse the packet and plan where an option of this mode goes; a packet that
 * cannot take one is counted by reason. Returns false for such a packet.
 */
static bool pdmv2_parse_and_plan(struct pdmv2_net *pn, struct sk_buff *skb,
				 const struct pdmv2_emit_ops *ops,
				 struct pdmv2_pkt *info,
				 struct pdmv2_ins_plan *plan)
{
	int err = pdmv2_skb_parse(skb, 0, info);

	if (!err)
		err = pdmv2_pkt_insert_plan(skb->data, info, ops->opt_len, plan);
	if (err) {
		pdmv2_count_refusal(pn, err);
		return false;
	}
	return true;
}

/* the POST_ROUTING hooks behind ours, found once per GSO packet */
struct pdmv2_hooks_after {
	const struct nf_hook_entries *entries;
	unsigned int index;
};

static void pdmv2_find_hooks_after(const struct nf_hook_state *state,
				   struct pdmv2_hooks_after *after)
{
	const struct nf_hook_entries *e;
	struct nf_hook_ops **ops;
	unsigned int i, n;

	e = rcu_dereference(state->net->nf.hooks_ipv6[state->hook]);
	after->entries = e;
	after->index = 0;
	if (!e)
		return;
	n = e->num_hook_entries;
	for (i = 0; i < n; i++)
		if (e->hooks[i].hook == pdmv2_egress_hook) {
			after->index = i + 1;
			return;
		}
	/* unregistered meanwhile: the hooks behind our slot */
	ops = nf_hook_entries_get_hook_ops(e);
	for (i = 0; i < n; i++)
		if (ops[i]->priority > PDMV2_PRI_EGRESS)
			break;
	after->index = i;
}

/*
 * Hand a segment to the POST_ROUTING hooks after ours and then to the
 * output function, as NF_HOOK would have done for it.
 */
static void pdmv2_continue(struct sk_buff *skb,
			   const struct nf_hook_state *state,
			   const struct pdmv2_hooks_after *after)
{
	struct nf_hook_state st = *state;
	int ret = 1;

	if (after->entries && after->index < after->entries->num_hook_entries)
		ret = nf_hook_slow(skb, &st, after->entries, after->index);
	if (ret == 1)
		state->okfn(state->net, state->sk, skb);
}

/*
 * GSO types whose segments all carry the headers of the GSO packet up to
 * its upper layer, so that the packet's plan fits each of them. Any other
 * type (UDP fragmentation offload adds a Fragment header per segment,
 * tunnels) is parsed again segment by segment.
 */
#define PDMV2_GSO_SAME_HEADERS	(SKB_GSO_TCPV6 | SKB_GSO_TCP_ECN | \
				 SKB_GSO_UDP_L4 | SKB_GSO_DODGY)

/*
 * Segment a GSO packet and give every segment its own option: all of them
 * under one hold of the flow lock (one key expansion in encrypted mode),
 * then each goes on through the hooks behind ours, with no lock held.
 */
static unsigned int pdmv2_egress_gso(struct pdmv2_net *pn,
				     struct sk_buff *skb,
				     const struct nf_hook_state *state,
				     const struct pdmv2_ins_plan *plan,
				     const struct pdmv2_emit_ops *ops,
				     struct pdmv2_flow *flow,
				     struct pdmv2_source *src)
{
	netdev_features_t features = netif_skb_features(skb) &
				     ~NETIF_F_GSO_MASK;
	bool same = !(skb_shinfo(skb)->gso_type & ~PDMV2_GSO_SAME_HEADERS);
	struct in6_addr saddr = ipv6_hdr(skb)->saddr;
	struct sk_buff *segs, *seg, *next;
	struct pdmv2_hooks_after after;
	struct pdmv2_ins_plan seg_plan;
	struct pdmv2_sender snd;
	struct pdmv2_pkt info;
	u32 n = 0;

	segs = skb_gso_segment(skb, features);
	if (IS_ERR_OR_NULL(segs)) {
		pdmv2_stat_inc(pn, PDMV2_STAT_SKIP_GSO_ERROR);
		return NF_ACCEPT;
	}
	pdmv2_stat_inc(pn, PDMV2_STAT_GSO_SEGMENTED);
	skb_list_walk_safe(segs, seg, next)
		n++;

	pdmv2_send_begin(&snd, pn, ops, flow, pdmv2_gp_take(src, &saddr, n));
	skb_list_walk_safe(segs, seg, next) {
		if (same)
			pdmv2_insert(&snd, seg, plan, 0);
		else if (pdmv2_parse_and_plan(pn, seg, ops, &info, &seg_plan))
			pdmv2_insert(&snd, seg, &seg_plan, 0);
		snd.gp++;
	}
	pdmv2_send_end(&snd);

	pdmv2_find_hooks_after(state, &after);
	skb_list_walk_safe(segs, seg, next) {
		skb_mark_not_on_list(seg);
		pdmv2_continue(seg, state, &after);
	}
	consume_skb(skb);
	return NF_STOLEN;
}

/* the GSO types the kernel segments into packets with the same headers */
#define PDMV2_GSO_DEFER_TCP	(SKB_GSO_TCPV6 | SKB_GSO_TCP_ECN | SKB_GSO_DODGY)
#define PDMV2_GSO_DEFER_UDP	(SKB_GSO_UDP_L4 | SKB_GSO_DODGY)

/*
 * Whether the option of a GSO packet can wait for the kernel's own
 * segmentation (pdmv2_gso.c): the number of segments it will become, or 0
 * to segment it here. It can when the device the packet goes to has no
 * offload for it at all, so that validate_xmit_skb() segments it in
 * software; a device that takes it whole (a NIC with TSO, a veth, a
 * bridge, a tunnel) would send one PSN in every segment, and its packets
 * are segmented here. Encrypted options are sealed here for every segment
 * and put in by the wrapper.
 */
static u32 pdmv2_gso_deferrable(struct pdmv2_net *pn, struct sk_buff *skb,
				const struct pdmv2_emit_ops *ops,
				const struct pdmv2_pkt *info,
				const struct pdmv2_ins_plan *plan)
{
	unsigned int gso_type = skb_shinfo(skb)->gso_type;
	unsigned int mss = skb_shinfo(skb)->gso_size;
	unsigned int hdr_len;
	u32 opt_off, l4_off;
	struct tcphdr *th;

	/*
	 * With GSO_ROBUST added: the TCP and UDP GSO callbacks hand a DODGY
	 * packet back whole to a device that has the offload but not
	 * GSO_ROBUST (segs NULL), and that device would then copy the first
	 * segment's option into every segment.
	 */
	if (!READ_ONCE(pn->cfg.gso_defer) || !pdmv2_gso_defer_ready() ||
	    !skb->dev ||
	    skb_gso_ok(skb, READ_ONCE(skb->dev->features) |
			    NETIF_F_GSO_ROBUST))
		return 0;
	if (info->proto == IPPROTO_TCP && (gso_type & SKB_GSO_TCPV6) &&
	    !(gso_type & ~PDMV2_GSO_DEFER_TCP)) {
		if (!pskb_may_pull(skb, info->l4_off + sizeof(*th)))
			return 0;
		th = (struct tcphdr *)(skb->data + info->l4_off);
		hdr_len = info->l4_off + th->doff * 4;
	} else if (info->proto == IPPROTO_UDP &&
		   (gso_type & SKB_GSO_UDP_L4) &&
		   !(gso_type & ~PDMV2_GSO_DEFER_UDP)) {
		hdr_len = info->l4_off + sizeof(struct udphdr);
	} else {
		return 0;
	}
	/* someone else's option that the wrapper would take for ours */
	if (plan->doh.old_len &&
	    pdmv2_pending_find(skb->data, skb_headlen(skb), &opt_off, &l4_off))
		return 0;
	/* the segment count as skb_segment() cuts: its payload by mss */
	if (!mss || mss == GSO_BY_FRAGS || skb->len <= hdr_len ||
	    skb->len + plan->grow - sizeof(struct ipv6hdr) > IPV6_MAXPLEN)
		return 0;
	return DIV_ROUND_UP(skb->len - hdr_len, mss);
}

/*
 * Tell the GSO wrapper which pending option is ours, found the way it will
 * look for it, with the @n options sealed for its segments (encrypted, else
 * NULL); a packet that got none frees its slot.
 */
static void pdmv2_gso_arm_inserted(struct sk_buff *skb, bool inserted,
				   u8 *sealed, u32 n)
{
	u32 opt_off, l4_off;

	if (inserted &&
	    pdmv2_pending_find(skb->data, skb_headlen(skb), &opt_off, &l4_off)) {
		pdmv2_gso_arm(skb, pdmv2_pending_psntp(skb->data + opt_off),
			      l4_off - opt_off, sealed, n);
	} else {
		pdmv2_gso_release(skb);
		kfree(sealed);
	}
}

/* The MTU a packet of @flow must fit after insertion. */
static unsigned int pdmv2_mtu(struct sk_buff *skb, struct pdmv2_flow *flow)
{
	unsigned int mtu;
	u32 pmtu;

	/* what ip6_finish_output() enforces after this hook */
	if (skb_dst(skb))
		mtu = ip6_skb_dst_mtu(skb);
	else
		mtu = skb->dev ? READ_ONCE(skb->dev->mtu) : IPV6_MIN_MTU;
	/*
	 * A smaller MTU further on, learned from a PTB we adjusted; forgotten
	 * when the route's would be (net.ipv6.route.mtu_expires), so that one
	 * spoofed PTB does not lower the flow for good.
	 */
	pmtu = READ_ONCE(flow->pmtu);
	if (pmtu && pmtu < mtu &&
	    time_before(jiffies, READ_ONCE(flow->pmtu_expires)))
		mtu = pmtu;
	return mtu;
}

static bool pdmv2_fits(struct sk_buff *skb, unsigned int mtu, int grow)
{
	u16 frag_max = IP6CB(skb)->frag_max_size;

	if (grow <= 0)
		return true;
	if (mtu < (unsigned int)grow)
		return false;
	if (skb_is_gso(skb))
		return skb_gso_validate_network_len(skb, mtu - grow);
	if (skb->len + grow <= mtu)
		return true;
	/*
	 * Reassembled by conntrack's IPv6 defragmentation: ip6_fragment()
	 * cuts it again into fragments no larger than the largest that came
	 * in, whatever its length, so the option only needs that size to fit
	 * (ip6_pkt_too_big() decided the same in ip6_forward()). The option
	 * lands in the first fragment, behind the Fragment header.
	 */
	if (frag_max && skb->ignore_df)
		return frag_max <= mtu;
	/* a local sender that allows fragmentation: ip6_fragment() will */
	return skb->ignore_df && skb->sk;
}

static unsigned int pdmv2_too_big(struct pdmv2_net *pn, struct sk_buff *skb,
				  unsigned int mtu, int grow)
{
	/*
	 * Forwarded packets only: the source lowers its path MTU and resends,
	 * and later packets of the flow have room for the option. A local
	 * sender sizes its packets to the same route MTU that the output path
	 * enforces after this hook, so a PTB to itself would only ratchet that
	 * MTU down; local TCP gets its room from the MSS clamp instead.
	 */
	if (!skb->sk && READ_ONCE(pn->cfg.mtu_policy) == PDMV2_MTU_ICMP &&
	    mtu >= IPV6_MIN_MTU + (unsigned int)grow) {
		/* to the source before SNAT (NAT66), as a tunnel would */
		icmpv6_ndo_send(skb, ICMPV6_PKT_TOOBIG, 0, mtu - grow);
		pdmv2_stat_inc(pn, PDMV2_STAT_MTU_EVENTS);
		return NF_DROP;
	}
	pdmv2_stat_inc(pn, PDMV2_STAT_SKIP_MTU);
	return NF_ACCEPT;
}

/* what ip6_fragment() gives each fragment of the packet it cuts */
static void pdmv2_frag_copy_meta(struct sk_buff *to, const struct sk_buff *from)
{
	to->pkt_type = from->pkt_type;
	to->priority = from->priority;
	to->protocol = from->protocol;
	to->dev = from->dev;
	to->mark = from->mark;
	to->tstamp = from->tstamp;
	skb_dst_set(to, dst_clone(skb_dst(from)));
	skb_copy_hash(to, from);
	skb_copy_secmark(to, from);
	/* conntrack confirms the entry with the first fragment */
	__nf_copy(to, from, false);
}

/*
 * Fragment a datagram that conntrack reassembled, now with the option, at
 * the size of the largest fragment that came in, the way RFC 8200 section
 * 4.5 has it: the option's Destination Options header (at @unfrag, behind
 * any Hop-by-Hop and Routing headers) goes into the fragmentable part, so
 * only the first fragment carries it. The kernel's ip6_fragment() would
 * keep a Destination Options header that no Routing header precedes in
 * the unfragmentable part and repeat the option, with its one PSN, in
 * every fragment. Each fragment goes on through the hooks behind ours and
 * the output function; if one cannot be made, the datagram is left to the
 * kernel (the option then in every fragment).
 */
static unsigned int pdmv2_refragment(struct pdmv2_net *pn, struct sk_buff *skb,
				     const struct nf_hook_state *state,
				     unsigned int unfrag, unsigned int mtu)
{
	unsigned int size = min_t(unsigned int, IP6CB(skb)->frag_max_size, mtu);
	unsigned int nh_off = offsetof(struct ipv6hdr, nexthdr);
	unsigned int off = 0, left, chunk, max, hoff, room;
	struct pdmv2_hooks_after after;
	struct sk_buff_head frags;
	struct sk_buff *frag;
	struct frag_hdr *fh;
	__be32 id;
	u8 nexthdr;

	if (!skb->dev || size < unfrag + sizeof(*fh) + 8 ||
	    (skb->ip_summed == CHECKSUM_PARTIAL && skb_checksum_help(skb)))
		goto kernel;
	/* the Next Header octet that names the option's header */
	for (hoff = sizeof(struct ipv6hdr); hoff < unfrag;
	     hoff += (skb->data[hoff + 1] + 1) * 8)
		nh_off = hoff;
	nexthdr = skb->data[nh_off];
	max = (size - unfrag - sizeof(*fh)) & ~7U;
	room = LL_RESERVED_SPACE(skb->dev);
	id = ipv6_select_ident(state->net, &ipv6_hdr(skb)->daddr,
			       &ipv6_hdr(skb)->saddr);
	__skb_queue_head_init(&frags);
	for (left = skb->len - unfrag; left; left -= chunk, off += chunk) {
		chunk = min(left, max);
		frag = alloc_skb(room + unfrag + sizeof(*fh) + chunk +
				 skb->dev->needed_tailroom, GFP_ATOMIC);
		if (!frag)
			goto purge;
		__skb_queue_tail(&frags, frag);
		skb_reserve(frag, room);
		skb_put_data(frag, skb->data, unfrag);
		fh = skb_put(frag, sizeof(*fh));
		fh->nexthdr = nexthdr;
		fh->reserved = 0;
		fh->frag_off = htons(off | (left > chunk ? IP6_MF : 0));
		fh->identification = id;
		if (skb_copy_bits(skb, unfrag + off, skb_put(frag, chunk), chunk))
			goto purge;
		skb_reset_network_header(frag);
		frag->data[nh_off] = NEXTHDR_FRAGMENT;
		ipv6_hdr(frag)->payload_len =
			htons(frag->len - sizeof(struct ipv6hdr));
		pdmv2_frag_copy_meta(frag, skb);
	}
	pdmv2_stat_inc(pn, PDMV2_STAT_REFRAGMENTED);
	pdmv2_find_hooks_after(state, &after);
	while ((frag = __skb_dequeue(&frags)))
		pdmv2_continue(frag, state, &after);
	consume_skb(skb);
	return NF_STOLEN;

purge:
	__skb_queue_purge(&frags);
kernel:
	pdmv2_stat_inc(pn, PDMV2_STAT_SKIP_NOMEM);
	return NF_ACCEPT;
}

/*
 * A flow in encrypted mode without a usable key: send the clear option
 * instead (policy clear, replanned for its length) or nothing.
 */
static const struct pdmv2_emit_ops *
pdmv2_encrypted_or_policy(struct pdmv2_net *pn, struct sk_buff *skb,
			  struct pdmv2_flow *flow,
			  const struct pdmv2_emit_ops *ops,
			  const struct pdmv2_pkt *info,
			  struct pdmv2_ins_plan *plan)
{
	int err;

	spin_lock_bh(&flow->lock);
	err = pdmv2_flow_tx_key(pn, flow, flow->m.psn_next);
	spin_unlock_bh(&flow->lock);
	if (!err)
		return ops;
	pdmv2_stat_inc(pn, pdmv2_key_stat(err));
	if (READ_ONCE(pn->cfg.nokey_policy) != PDMV2_NOKEY_CLEAR)
		return NULL;
	ops = &pdmv2_emit_clear;
	if (pdmv2_pkt_insert_plan(skb->data, info, ops->opt_len, plan))
		return NULL;
	pdmv2_stat_inc(pn, PDMV2_STAT_NOKEY_CLEAR);
	return ops;
}

/*
 * A flowtable (nft `flow add`, fw4's flow_offloading) takes an established
 * flow past the netfilter hooks: its later packets leave without the
 * option, and the module never sees them again. Nothing here can keep the
 * flow out (the forward chain decided before this hook); the packet that
 * made the decision still comes by, with the conntrack entry marked
 * IPS_OFFLOAD, and the flow is counted once (flows_offloaded), for stats
 * and the agent's status to report.
 */
static void pdmv2_note_offload(struct pdmv2_net *pn, const struct sk_buff *skb,
			       struct pdmv2_flow *flow)
{
#if IS_ENABLED(CONFIG_NF_CONNTRACK)
	enum ip_conntrack_info ctinfo;
	const struct nf_conn *ct = nf_ct_get(skb, &ctinfo);

	if (ct && test_bit(IPS_OFFLOAD_BIT, &ct->status) &&
	    !READ_ONCE(flow->offloaded)) {
		WRITE_ONCE(flow->offloaded, 1);
		pdmv2_stat_inc(pn, PDMV2_STAT_FLOWS_OFFLOADED);
	}
#endif
}

unsigned int pdmv2_egress(struct pdmv2_net *pn, struct sk_buff *skb,
			  const struct nf_hook_state *state)
{
	const struct pdmv2_emit_ops *ops;
	struct pdmv2_flow_key key;
	struct pdmv2_ins_plan plan;
	struct pdmv2_sender snd;
	struct pdmv2_source *src;
	struct pdmv2_flow *flow;
	struct pdmv2_pkt info;
	unsigned int mtu;
	bool inserted;
	u32 segs = 0;
	u8 *sealed = NULL;

	ops = pdmv2_emit_ops_for(READ_ONCE(pn->cfg.mode));
	if (!ops)
		return NF_ACCEPT;
	pdmv2_stat_inc(pn, PDMV2_STAT_EGRESS_SEEN);
	if (pdmv2_bridged(skb) || skb_network_offset(skb)) {
		pdmv2_stat_inc(pn, PDMV2_STAT_SKIP_NO_KEY);
		return NF_ACCEPT;
	}

	if (!pdmv2_parse_and_plan(pn, skb, ops, &info, &plan))
		return NF_ACCEPT;
	if (!(info.flags & PDMV2_PKT_KEY)) {
		pdmv2_stat_inc(pn, PDMV2_STAT_SKIP_NO_KEY);
		return NF_ACCEPT;
	}
	/* only echo among ICMPv6: never errors, ND or MLD */
	if (info.proto == IPPROTO_ICMPV6 &&
	    info.icmp_type != ICMPV6_ECHO_REQUEST &&
	    info.icmp_type != ICMPV6_ECHO_REPLY) {
		pdmv2_stat_inc(pn, PDMV2_STAT_SKIP_ICMP);
		return NF_ACCEPT;
	}
	if (!skb_is_gso(skb) &&
	    skb->len + plan.grow - sizeof(struct ipv6hdr) > IPV6_MAXPLEN) {
		pdmv2_stat_inc(pn, PDMV2_STAT_SKIP_TOO_LONG);
		return NF_ACCEPT;
	}

	pdmv2_key_from(&key, skb->data, &info, false);
	flow = pdmv2_flow_get(pn, &key);
	if (IS_ERR(flow)) {
		pdmv2_count_no_room(pn, PTR_ERR(flow), true);
		return NF_ACCEPT;
	}
	src = pdmv2_source_get(pn, &ipv6_hdr(skb)->saddr);
	if (IS_ERR(src)) {
		pdmv2_count_no_room(pn, PTR_ERR(src), false);
		return NF_ACCEPT;
	}
	if (!skb->sk && !READ_ONCE(flow->forwarded))
		WRITE_ONCE(flow->forwarded, 1);
	pdmv2_note_offload(pn, skb, flow);

	if (ops->fmt == PDMV2_FMT_ENCRYPTED) {
		ops = pdmv2_encrypted_or_policy(pn, skb, flow, ops, &info,
						&plan);
		if (!ops)
			return NF_ACCEPT;
	}

	mtu = pdmv2_mtu(skb, flow);
	if (!pdmv2_fits(skb, mtu, plan.grow))
		return pdmv2_too_big(pn, skb, mtu, plan.grow);

	if (skb_is_gso(skb)) {
		segs = pdmv2_gso_deferrable(pn, skb, ops, &info, &plan);
		if (!segs || !pdmv2_gso_claim(skb))
			return pdmv2_egress_gso(pn, skb, state, &plan, ops,
						flow, src);
		if (ops->fmt == PDMV2_FMT_ENCRYPTED) {
			sealed = kmalloc_array(segs, PDMV2_OPT_LEN_ENC,
					       GFP_ATOMIC);
			if (!sealed) {
				pdmv2_gso_release(skb);
				return pdmv2_egress_gso(pn, skb, state, &plan,
							ops, flow, src);
			}
		}
	}
	pdmv2_send_begin(&snd, pn, ops, flow,
			 pdmv2_gp_take(src, &ipv6_hdr(skb)->saddr,
				       segs ? segs : 1));
	snd.sealed = sealed;
	inserted = pdmv2_insert(&snd, skb, &plan, segs);
	pdmv2_send_end(&snd);
	if (segs)
		pdmv2_gso_arm_inserted(skb, inserted, sealed, segs);
	else if (inserted && IP6CB(skb)->frag_max_size && skb->ignore_df &&
		 skb->len > min_t(unsigned int, IP6CB(skb)->frag_max_size, mtu))
		return pdmv2_refragment(pn, skb, state, plan.hdr_off, mtu);
	return NF_ACCEPT;
}

/* ---- ingress ----------------------------------------------------------- */

/*
 * A Packet Too Big about a packet this module enlarged: the sender must
 * leave room for the option, so tell it the MTU minus what we add, the way
 * a tunnel entry point does, and remember the smaller MTU for the flow.
 */
static void pdmv2_ptb_adjust(struct pdmv2_net *pn, struct sk_buff *skb,
			     const struct pdmv2_pkt *outer)
{
	unsigned int icmp_off = outer->l4_off;
	struct pdmv2_flow_key key;
	struct pdmv2_flow *flow;
	struct icmp6hdr *ic;
	struct pdmv2_pkt info;
	u32 mtu, new_mtu;
	u16 grow;

	/* a Packet Too Big (rare, and acted upon): its headers may be pulled */
	if (!pskb_may_pull(skb, icmp_off + sizeof(*ic)) ||
	    skb->data[icmp_off + 1] != 0)
		return;
	if (pdmv2_skb_parse(skb, icmp_off + sizeof(*ic), &info) ||
	    !info.pdm_off || !(info.flags & PDMV2_PKT_KEY))
		return;
	pdmv2_key_from(&key, skb->data + icmp_off + sizeof(*ic), &info,
		       false);
	/*
	 * Forwarded flows only (local senders: see pdmv2_too_big()). Told by
	 * the flow, not by the quoted source address: behind NAT66 that is
	 * one of ours for a forwarded flow (the egress hook runs after SNAT,
	 * and so does the flow key; this hook runs before conntrack turns the
	 * message back towards the inside host).
	 */
	flow = pdmv2_flow_lookup(pn, &key);
	if (!flow || !READ_ONCE(flow->forwarded))
		return;
	spin_lock_bh(&flow->lock);
	grow = flow->last_grow;
	spin_unlock_bh(&flow->lock);
	if (!grow)
		return;

	ic = (struct icmp6hdr *)(skb->data + icmp_off);
	mtu = ntohl(ic->icmp6_mtu);
	WRITE_ONCE(flow->pmtu_expires, jiffies +
		   READ_ONCE(pn->net->ipv6.sysctl.ip6_rt_mtu_expires));
	WRITE_ONCE(flow->pmtu, max_t(u32, mtu, IPV6_MIN_MTU));
	new_mtu = mtu >= IPV6_MIN_MTU + grow ? mtu - grow : IPV6_MIN_MTU;
	if (new_mtu >= mtu)
		return;
	if (skb_ensure_writable(skb, icmp_off + sizeof(*ic)))
		return;
	ic = (struct icmp6hdr *)(skb->data + icmp_off);
	inet_proto_csum_replace4(&ic->icmp6_cksum, skb, htonl(mtu),
				 htonl(new_mtu), false);
	ic->icmp6_mtu = htonl(new_mtu);
	pdmv2_stat_inc(pn, PDMV2_STAT_PTB_ADJUSTED);
}

/*
 * TCP MSS clamping: a SYN travelling opposite to a direction we insert into
 * announces how large the other end may make its segments; leave room for
 * the option there. The MTU of the interface it came in on stands for the
 * other direction's way out (symmetric routing, as for the usual clamping).
 */
static void pdmv2_mss_clamp(struct pdmv2_net *pn, struct sk_buff *skb,
			    const struct pdmv2_pkt *info,
			    const struct nf_hook_state *state,
			    const struct pdmv2_emit_ops *ops)
{
	unsigned int off = info->l4_off, doff, i, len, mtu;
	struct pdmv2_doh_plan plan;
	struct tcphdr *th;
	u16 mss, clamp;
	u8 *opt;

	if (!state->in || !pskb_may_pull(skb, off + sizeof(*th)))
		return;
	th = (struct tcphdr *)(skb->data + off);
	if (!th->syn)
		return;
	doff = th->doff * 4;
	if (doff <= sizeof(*th) || !pskb_may_pull(skb, off + doff))
		return;
	if (pdmv2_doh_plan(NULL, 0, ops->opt_len, &plan))
		return;
	mtu = max_t(unsigned int, READ_ONCE(state->in->mtu), IPV6_MIN_MTU);
	clamp = mtu - sizeof(struct ipv6hdr) - sizeof(*th) - plan.new_len;

	opt = skb->data + off;
	for (i = sizeof(*th); i < doff; i += len) {
		if (opt[i] == TCPOPT_EOL)
			return;
		if (opt[i] == TCPOPT_NOP) {
			len = 1;
			continue;
		}
		if (i + 1 >= doff)
			return;
		len = opt[i + 1];
		if (len < 2 || i + len > doff)
			return;
		/* the checksum update assumes an even offset, as usual */
		if (opt[i] != TCPOPT_MSS || len != TCPOLEN_MSS || (i & 1))
			continue;
		mss = get_unaligned_be16(opt + i + 2);
		if (mss <= clamp || skb_ensure_writable(skb, off + doff))
			return;
		th = (struct tcphdr *)(skb->data + off);
		opt = skb->data + off;
		inet_proto_csum_replace2(&th->check, skb, htons(mss),
					 htons(clamp), false);
		put_unaligned_be16(clamp, opt + i + 2);
		pdmv2_stat_inc(pn, PDMV2_STAT_MSS_CLAMPED);
		return;
	}
}

/* a SYN of a flow whose reverse direction gets the option */
static void pdmv2_ingress_tcp(struct pdmv2_net *pn, struct sk_buff *skb,
			      const u8 *hdr, const struct pdmv2_pkt *info,
			      const struct nf_hook_state *state)
{
	const struct pdmv2_emit_ops *ops;
	struct pdmv2_flow_key key;
	const u8 *flags;
	u8 flags_buf;

	ops = pdmv2_emit_ops_for(READ_ONCE(pn->cfg.mode));
	if (!ops)
		return;
	flags = skb_header_pointer(skb, info->l4_off + 13, 1, &flags_buf);
	if (!flags || !(*flags & TCPHDR_SYN))
		return;
	if (!(skb->mark & READ_ONCE(pn->cfg.mark_mask))) {
		pdmv2_key_from(&key, hdr, info, true);
		if (!pdmv2_flow_lookup(pn, &key))
			return;
	}
	pdmv2_mss_clamp(pn, skb, info, state, ops);
}

/*
 * Check a received encrypted option with the sender's key, when we can
 * derive it; flow lock held. Returns 0 when the option may be learned from
 * (verified, or no key to check it with), else the reason it may not.
 */
/*
 * Verifies an encrypted option and, when it opens, copies its PSNLR and
 * DeltaTLR into @answer (the router's own metrics; the rest is wiped).
 * *@opened tells whether @answer holds them.
 */
static int pdmv2_verify(struct pdmv2_net *pn, struct pdmv2_flow *flow,
			const u8 *opt, unsigned int len, u16 epoch, u32 psntp,
			struct pdmv2_opt *answer, bool *opened)
{
	const struct pdmv2_gcm *gcm;
	struct pdmv2_opt o;
	int err;

	*opened = false;
	err = pdmv2_flow_rx_key(pn, flow, epoch);
	if (err == -EBUSY) {
		pdmv2_stat_inc(pn, PDMV2_STAT_INGRESS_DERIVE_LIMITED);
		return PDMV2_ERR_CRYPTO;
	}
	if (err) {
		/* the sender chooses the epoch: no key is no pass */
		if (pdmv2_flow_in_pairing(pn, flow)) {
			pdmv2_stat_inc(pn, PDMV2_STAT_INGRESS_KEY_UNKNOWN);
			return PDMV2_ERR_UNKNOWN_EPOCH;
		}
		pdmv2_stat_inc(pn, PDMV2_STAT_INGRESS_UNVERIFIED);
		return 0;
	}
	gcm = pdmv2_flow_gcm_get(flow, true);
	err = gcm ? pdmv2_opt_open(gcm, opt, len, &o) : PDMV2_ERR_CRYPTO;
	pdmv2_flow_gcm_put();
	if (!err) {
		answer->psnlr = o.psnlr;
		answer->delta_tlr = o.delta_tlr;
		answer->scale_dtlr = o.scale_dtlr;
		*opened = true;
	}
	memzero_explicit(&o, sizeof(o));
	if (err) {
		pdmv2_stat_inc(pn, PDMV2_STAT_INGRESS_TAG_FAILED);
		return err;
	}
	if (!pdmv2_replay_check(&flow->replay, psntp)) {
		pdmv2_stat_inc(pn, PDMV2_STAT_INGRESS_REPLAYED);
		return PDMV2_ERR_REPLAYED;
	}
	pdmv2_stat_inc(pn, PDMV2_STAT_INGRESS_VERIFIED);
	return 0;
}

/* Learn from the PDM option of a received packet whose headers are at @hdr. */
static void pdmv2_ingress_learn(struct pdmv2_net *pn, struct sk_buff *skb,
				const u8 *hdr, const struct pdmv2_pkt *info)
{
	static const u8 fmt_stat[] = {
		[PDMV2_FMT_V1]		= PDMV2_STAT_INGRESS_V1,
		[PDMV2_FMT_CLEAR]	= PDMV2_STAT_INGRESS_CLEAR,
		[PDMV2_FMT_DRAFT_CLEAR]	= PDMV2_STAT_INGRESS_DRAFT,
		[PDMV2_FMT_ENCRYPTED]	= PDMV2_STAT_INGRESS_ENCRYPTED,
	};
	struct pdmv2_flow_key key;
	struct pdmv2_flow *flow;
	struct pdmv2_opt o;
	bool opened;
	int err;

	pdmv2_stat_inc(pn, PDMV2_STAT_INGRESS_PDM);
	/* lenient: receivers ignore reserved bits; only PSNTP is needed */
	err = pdmv2_opt_decode(hdr + info->pdm_off, info->pdm_len, false, &o);
	if (err) {
		pdmv2_stat_inc(pn, PDMV2_STAT_INGRESS_INVALID);
		return;
	}
	pdmv2_stat_inc(pn, fmt_stat[o.fmt]);
	if (o.reserved_nonzero)
		pdmv2_stat_inc(pn, PDMV2_STAT_INGRESS_RESERVED);
	if (!(info->flags & PDMV2_PKT_KEY)) {
		pdmv2_stat_inc(pn, PDMV2_STAT_INGRESS_NO_FLOW);
		return;
	}

	/* the state of our sending direction: the reversed 5-tuple */
	pdmv2_key_from(&key, hdr, info, true);
	if (skb->mark & READ_ONCE(pn->cfg.mark_mask))
		flow = pdmv2_flow_get(pn, &key);
	else
		flow = pdmv2_flow_lookup(pn, &key);
	if (IS_ERR(flow)) {
		pdmv2_count_no_room(pn, PTR_ERR(flow), true);
		return;
	}
	if (!flow) {
		pdmv2_stat_inc(pn, PDMV2_STAT_INGRESS_NO_FLOW);
		return;
	}
	/* the clear forms carry PSNLR and DeltaTLR readable; encrypted ones once opened */
	opened = o.fmt != PDMV2_FMT_ENCRYPTED;
	spin_lock_bh(&flow->lock);
	if (o.fmt == PDMV2_FMT_ENCRYPTED && READ_ONCE(pn->cfg.verify))
		err = pdmv2_verify(pn, flow, hdr + info->pdm_off,
				   info->pdm_len, o.epoch, o.psntp, &o, &opened);
	if (!err) {
		u64 now = ktime_get_ns();

		if (opened)
			pdmv2_metrics_on_answer(&flow->m, now, o.psnlr,
						o.delta_tlr, o.scale_dtlr);
		pdmv2_metrics_on_receive(&flow->m, now, o.psntp);
		flow->rx_packets++;
	}
	spin_unlock_bh(&flow->lock);
	if (err == PDMV2_ERR_TAG_MISMATCH)
		net_info_ratelimited("integrity check failed for an option from %pI6c: ignored\n",
				     &ipv6_hdr(skb)->saddr);
	if (!err)
		pdmv2_stat_inc(pn, PDMV2_STAT_INGRESS_LEARNED);
}

/* headers of a received packet looked at in place or in a copy this long */
#define PDMV2_INGRESS_PEEK	256

unsigned int pdmv2_ingress(struct pdmv2_net *pn, struct sk_buff *skb,
			   const struct nf_hook_state *state)
{
	u8 peek[PDMV2_INGRESS_PEEK];
	struct pdmv2_pkt info;
	const u8 *hdr;
	int err;

	if (skb_network_offset(skb))
		return NF_ACCEPT;
	hdr = pdmv2_skb_peek(skb, peek, sizeof(peek), &info, &err);
	if (err) {
		pdmv2_stat_inc(pn, err == PDMV2_ERR_TOO_LONG ?
			       PDMV2_STAT_INGRESS_NOT_EXAMINED :
			       PDMV2_STAT_INGRESS_PARSE_ERRORS);
		return NF_ACCEPT;
	}
	if (info.pdm_off)
		pdmv2_ingress_learn(pn, skb, hdr, &info);
	/* both may pull or write the packet: @hdr is not used after them */
	if (info.proto == IPPROTO_TCP && (info.flags & PDMV2_PKT_KEY) &&
	    !(info.flags & PDMV2_PKT_FRAG))
		pdmv2_ingress_tcp(pn, skb, hdr, &info, state);
	else if (info.proto == IPPROTO_ICMPV6 &&
		 (info.flags & PDMV2_PKT_KEY) &&
		 info.icmp_type == ICMPV6_PKT_TOOBIG)
		pdmv2_ptb_adjust(pn, skb, &info);
	return NF_ACCEPT;
}
