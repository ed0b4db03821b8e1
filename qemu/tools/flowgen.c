// SPDX-License-Identifier: GPL-2.0
/*
 * Lab helper: new-flow generator for the benchmark (qemu/scenarios/bench.sh).
 *
 *   flowgen [-n COUNT] [-s FIRST_SPORT] [-p DPORT] [-l PAYLOAD] [-1] SRC DST
 *
 * Sends COUNT IPv6/UDP packets SRC:sport -> DST:DPORT, each from another
 * source port (FIRST_SPORT, FIRST_SPORT + 1, ..., wrapping inside
 * 1024..65535), so that every packet is a new 5-tuple, i.e. a new flow at a
 * router on the way. With -1 every packet is from FIRST_SPORT: one flow
 * (the encrypted scenario's restarted flow, its packets close together
 * however slowly the guest starts processes). Whole packets through a raw IPPROTO_RAW socket (the
 * IPv6 header is ours, the kernel only routes it), as fast as the socket
 * takes them. On a veth path the receiving side's softirq runs when the
 * sender's transmit re-enables bottom halves, so the elapsed time includes
 * the forwarding work of the namespaces on the way.
 *
 * Prints one JSON line: packets asked, sent, send errors, elapsed
 * nanoseconds (CLOCK_MONOTONIC around the send loop) and packets per
 * second. Exit status 1 if any send failed, 2 on usage errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PAYLOAD	1024
#define PORT_MIN	1024U
#define PORT_SPAN	(65536U - PORT_MIN)

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 0);
	return errno || end == s || *end || *out > max || s[0] == '-' ? -1 : 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: flowgen [-n COUNT] [-s FIRST_SPORT] [-p DPORT] [-l PAYLOAD] [-1] SRC DST\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static uint8_t pkt[40 + 8 + MAX_PAYLOAD];
	unsigned long count = 10000, sport0 = 20000, dport = 9, len = 16, v;
	struct sockaddr_in6 dst = { .sin6_family = AF_INET6 };
	struct in6_addr saddr, daddr;
	unsigned long i, sent = 0, errors = 0;
	struct timespec t0, t1;
	uint32_t base;
	size_t n;
	int fd, c, first_errno = 0, one_flow = 0;
	double ns;

	while ((c = getopt(argc, argv, "n:s:p:l:1")) != -1) {
		switch (c) {
		case '1':
			one_flow = 1;
			break;
		case 'n':
			if (parse_uint(optarg, 100000000UL, &count) || !count)
				usage();
			break;
		case 's':
			if (parse_uint(optarg, 65535, &v) || v < PORT_MIN)
				usage();
			sport0 = v;
			break;
		case 'p':
			if (parse_uint(optarg, 65535, &dport) || !dport)
				usage();
			break;
		case 'l':
			if (parse_uint(optarg, MAX_PAYLOAD, &len))
				usage();
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2 || inet_pton(AF_INET6, argv[optind], &saddr) != 1 ||
	    inet_pton(AF_INET6, argv[optind + 1], &daddr) != 1)
		usage();

	n = 40 + 8 + len;
	/* IPv6: version 6, traffic class 0, flow label 0, UDP, hop limit 64 */
	pkt[0] = 0x60;
	pkt[4] = (uint8_t)((8 + len) >> 8);
	pkt[5] = (uint8_t)(8 + len);
	pkt[6] = IPPROTO_UDP;
	pkt[7] = 64;
	memcpy(pkt + 8, &saddr, 16);
	memcpy(pkt + 24, &daddr, 16);
	/* UDP: source port per packet, checksum per packet */
	pkt[42] = (uint8_t)(dport >> 8);
	pkt[43] = (uint8_t)dport;
	pkt[44] = pkt[4];
	pkt[45] = pkt[5];
	for (i = 0; i < len; i++)
		pkt[48 + i] = (uint8_t)('a' + i % 26);
	/* pseudo-header (addresses, upper-layer length, next header) + UDP
	 * header without the source port and checksum + payload
	 */
	base = csum_add(0, pkt + 8, 32);
	base += (uint32_t)(8 + len) + IPPROTO_UDP;
	base = csum_add(base, pkt + 42, 4);
	base = csum_add(base, pkt + 48, len);
	dst.sin6_addr = daddr;

	fd = socket(AF_INET6, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0) {
		perror("flowgen: socket");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < count; i++) {
		uint16_t sport = (uint16_t)(PORT_MIN + (sport0 - PORT_MIN + (one_flow ? 0 : i)) % PORT_SPAN);
		uint16_t sum;

		pkt[40] = (uint8_t)(sport >> 8);
		pkt[41] = (uint8_t)sport;
		sum = csum_fold(base + sport);
		if (!sum)
			sum = 0xffff;
		pkt[46] = (uint8_t)(sum >> 8);
		pkt[47] = (uint8_t)sum;
		if (sendto(fd, pkt, n, 0, (struct sockaddr *)&dst, sizeof(dst)) == (ssize_t)n) {
			sent++;
		} else {
			if (!errors)
				first_errno = errno;
			errors++;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(fd);

	ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
	if (errors)
		fprintf(stderr, "flowgen: %lu sends failed, first: %s\n", errors, strerror(first_errno));
	printf("{\"tool\":\"flowgen\",\"packets\":%lu,\"sent\":%lu,\"errors\":%lu,"
	       "\"elapsed_ns\":%.0f,\"pps\":%.1f,\"sport_first\":%lu,\"dport\":%lu,"
	       "\"payload\":%lu}\n",
	       count, sent, errors, ns, ns > 0 ? (double)sent * 1e9 / ns : 0.0,
	       sport0, dport, len);
	return errors ? 1 : 0;
}
