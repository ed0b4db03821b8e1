// SPDX-License-Identifier: GPL-2.0
/*
 * Per-packet work of the data path's user-space core, for instruction
 * counting under callgrind (test/bench/insert-callgrind.sh). Each iteration
 * does, on a packet with headroom in front of it, what the module does for
 * one packet in clear mode (kmod/pdmv2_xmit.c: pdmv2_parse_and_plan,
 * pdmv2_insert, pdmv2_fill):
 *   1. parse the header chain once and plan the insertion;
 *   2. take the Global Pointer, update the flow's metrics, fill the option
 *      fields and encode the option into a temporary buffer;
 *   3. move the packet's start plan.grow octets towards the head (the skb
 *      push) and apply the plan there.
 * The flow is in its steady state: it has sent and received before, so
 * every packet encodes both DeltaTLR and DeltaTLS. Mode "reset" does only
 * the harness's part of an iteration (copy the original packet into the
 * buffer, read one octet of it), so the script can subtract it. The last
 * packet is checked against the reference pdmv2_pkt_insert().
 * Modes "find" and "finish" count what the GSO wrapper (kmod/pdmv2_gso.c)
 * adds when the kernel segments a GSO packet with a pending option: finding
 * the option once per GSO packet, and turning the copy in each segment into
 * that segment's option (the segment's pending type is restored after each
 * iteration, which the "reset" mode of the same length also does).
 *   bench_insert full|reset|find|finish udp|tcp ITERATIONS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../pdmv2_core.h"

#define HEADROOM	64

static const u8 udp_packet[40 + 8 + 16] = {
	0x60, 0, 0, 0, 0, 24, PDMV2_NEXTHDR_UDP, 64,
	0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
	0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
	0x9c, 0x40, 0x14, 0x51, 0, 24, 0, 0,
	[48 ... 63] = 0x5a,
};

/* a data segment: TCP header with the timestamp option, 48 octets of data */
static const u8 tcp_packet[40 + 32 + 48] = {
	0x60, 0, 0, 0, 0, 80, PDMV2_NEXTHDR_TCP, 64,
	0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
	0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
	0xc3, 0x50, 0x01, 0xbb, 0x12, 0x34, 0x56, 0x78,
	0x9a, 0xbc, 0xde, 0xf0, 0x80, 0x18, 0x01, 0xf5,
	0, 0, 0, 0, 1, 1, 8, 10,
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	[72 ... 119] = 0x5a,
};

/*
 * The GSO wrapper's part: @finish: pdmv2_pending_finish on a segment's
 * option, else pdmv2_pending_find on the GSO packet's headers. Each
 * iteration restores the pending type (in both modes, so that "find"
 * minus nothing and "finish" minus "find"'s restore are comparable).
 */
static int pending_bench(int finish, const u8 *packet, size_t len, long n)
{
	static u8 pkt[256];
	u8 opt[PDMV2_OPT_LEN_CLEAR] = { PDMV2_OPT_TYPE, PDMV2_DLEN_CLEAR };
	volatile u32 sink = 0;
	struct pdmv2_pkt info;
	size_t new_len;
	u32 off = 0, l4 = 0;
	long i;

	memcpy(pkt, packet, len);
	if (pdmv2_pkt_insert(pkt, len, sizeof(pkt), opt, sizeof(opt),
			     &new_len) ||
	    pdmv2_pkt_parse(pkt, new_len, new_len, &info))
		return 1;
	for (i = 0; i < n; i++) {
		pkt[info.pdm_off] = PDMV2_OPT_TYPE_PENDING;
		if (finish)
			sink += pdmv2_pending_finish(pkt + info.pdm_off,
						     (u32)i);
		else
			sink += pdmv2_pending_find(pkt, new_len, &off, &l4);
	}
	if (!finish && (off != info.pdm_off || l4 != info.l4_off))
		return 1;
	printf("%u\n", sink);
	return 0;
}

int main(int argc, char **argv)
{
	static u8 buf[HEADROOM + 256];
	u8 *const orig = buf + HEADROOM;
	struct pdmv2_metrics m;
	struct pdmv2_gp gp;
	u8 opt[PDMV2_OPT_MAX_LEN], *pkt = orig;
	volatile u32 sink = 0;
	const u8 *packet;
	size_t len, new_len = 0;
	long i, n;
	int full;

	if (argc != 4 || (strcmp(argv[1], "full") && strcmp(argv[1], "reset") &&
			  strcmp(argv[1], "find") && strcmp(argv[1], "finish")) ||
	    (strcmp(argv[2], "udp") && strcmp(argv[2], "tcp"))) {
		fprintf(stderr,
			"usage: bench_insert full|reset|find|finish udp|tcp ITERATIONS\n");
		return 2;
	}
	full = !strcmp(argv[1], "full");
	if (!strcmp(argv[2], "udp")) {
		packet = udp_packet;
		len = sizeof(udp_packet);
	} else {
		packet = tcp_packet;
		len = sizeof(tcp_packet);
	}
	n = atol(argv[3]);
	if (argv[1][0] == 'f' && argv[1][1] == 'i')
		return pending_bench(argv[1][2] == 'n' && argv[1][3] == 'i' &&
				     argv[1][4] == 's', packet, len, n);
	pdmv2_metrics_init(&m, 0x12345678);
	pdmv2_gp_init(&gp);
	/* steady state: sent at 500 ns, answer received at 1000 ns */
	{
		struct pdmv2_tx tx;

		pdmv2_metrics_on_send(&m, 500, &tx);
	}
	pdmv2_metrics_on_receive(&m, 1000, 77);
	for (i = 0; i < n; i++) {
		struct pdmv2_ins_plan plan;
		struct pdmv2_pkt info;
		struct pdmv2_opt fields;
		struct pdmv2_tx tx;
		u32 gp_value;

		memcpy(orig, packet, len);
		if (!full) {
			sink += orig[i & 31];
			continue;
		}
		/* 1. pdmv2_parse_and_plan (pdmv2_skb_parse, linear packet) */
		if (pdmv2_pkt_parse(orig, len, len, &info) ||
		    pdmv2_pkt_insert_plan(orig, &info, PDMV2_OPT_LEN_CLEAR,
					  &plan))
			return 1;
		/* pdmv2_egress's checks of the result */
		if (!(info.flags & PDMV2_PKT_KEY) ||
		    (info.proto == PDMV2_NEXTHDR_ICMPV6 &&
		     info.icmp_type != PDMV2_ICMPV6_ECHO_REQUEST &&
		     info.icmp_type != PDMV2_ICMPV6_ECHO_REPLY) ||
		    len + plan.grow - 40 > 0xffff)
			return 1;
		/* 2. the Global Pointer, then pdmv2_fill */
		gp_value = pdmv2_gp_next(&gp, orig + 8);
		pdmv2_metrics_on_send(&m, 2000 + (u64)i * 1000, &tx);
		pdmv2_opt_from_tx(&fields, PDMV2_FMT_CLEAR, 0, &tx, gp_value);
		if (!pdmv2_opt_encode(&fields, opt, PDMV2_OPT_MAX_LEN) ||
		    tx.negative)
			return 1;
		/* 3. pdmv2_insert: __skb_push(skb, plan.grow), then the rest */
		pkt = orig - plan.grow;
		new_len = len + plan.grow;
		pdmv2_pkt_apply_plan(pkt, new_len, &plan, opt);
		sink += orig[i & 31];
	}
	/* the last packet is the reference insertion's result */
	if (full && n > 0) {
		static u8 ref[256];
		size_t ref_len;

		memcpy(ref, packet, len);
		if (pdmv2_pkt_insert(ref, len, sizeof(ref), opt,
				     PDMV2_OPT_LEN_CLEAR, &ref_len) ||
		    ref_len != new_len || memcmp(ref, pkt, ref_len)) {
			fprintf(stderr, "bench_insert: wrong packet\n");
			return 1;
		}
	}
	printf("%u\n", sink);
	return 0;
}
