// SPDX-License-Identifier: GPL-2.0
/*
 * Per-packet work of the data path's user-space core, for instruction
 * counting under callgrind (test/bench/insert-callgrind.sh): parse a UDP
 * packet, advance the Global Pointer and the flow's metrics, encode the clear
 * option and insert it. Mode "reset" does only the per-iteration copy of the
 * original packet, so the script can subtract it.
 *   bench_insert full|reset ITERATIONS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../pdmv2_core.h"

static const u8 udp_packet[48] = {
	0x60, 0, 0, 0, 0, 8, 17, 64,
	0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
	0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
	0x9c, 0x40, 0x14, 0x51, 0, 8, 0, 0,
};

int main(int argc, char **argv)
{
	static u8 buf[256];
	struct pdmv2_metrics m;
	struct pdmv2_gp gp;
	volatile u32 sink = 0;
	long i, n;
	int full;

	if (argc != 3) {
		fprintf(stderr, "usage: bench_insert full|reset ITERATIONS\n");
		return 2;
	}
	full = !strcmp(argv[1], "full");
	n = atol(argv[2]);
	pdmv2_metrics_init(&m, 0x12345678);
	pdmv2_gp_init(&gp);
	pdmv2_metrics_on_receive(&m, 1000, 77);
	for (i = 0; i < n; i++) {
		struct pdmv2_pkt info;
		struct pdmv2_tx tx;
		struct pdmv2_opt o;
		u8 opt[64];
		unsigned int opt_len;
		size_t new_len;

		memcpy(buf, udp_packet, sizeof(udp_packet));
		if (!full) {
			sink += buf[i & 31];
			continue;
		}
		if (pdmv2_pkt_parse(buf, sizeof(udp_packet), sizeof(udp_packet), &info))
			return 1;
		pdmv2_metrics_on_send(&m, 2000 + (u64)i * 1000, &tx);
		pdmv2_opt_from_tx(&o, PDMV2_FMT_CLEAR, 0, &tx,
				  pdmv2_gp_next(&gp, buf + 8));
		opt_len = pdmv2_opt_encode(&o, opt, sizeof(opt));
		if (pdmv2_pkt_insert(buf, sizeof(udp_packet), sizeof(buf), opt,
				     opt_len, &new_len))
			return 1;
		sink += buf[i & 31] + (u32)new_len;
	}
	printf("%u\n", sink);
	return 0;
}
