// SPDX-License-Identifier: GPL-2.0
/*
 * Lab helper: UDP GSO sender (qemu/scenarios/datapath.sh).
 *
 *   udpgso [-n COUNT] [-m SEGMENT] [-l LENGTH] [-p DPORT] DST
 *
 * Sends COUNT datagrams of LENGTH octets to DST:DPORT over IPv6 with the
 * UDP_SEGMENT socket option (UDP GSO), so that each leaves the host as one
 * GSO packet of ceil(LENGTH / SEGMENT) segments; a router on the way that
 * forwards it to a port without UDP segmentation offload segments it in
 * software. Prints "sent N datagrams of L octets, S segments each". Exit
 * status 1 if a send failed, 2 on usage errors.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT	103
#endif

#define MAX_LENGTH	60000

static unsigned long arg(const char *s, unsigned long max)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v == 0 || v > max) {
		fprintf(stderr, "udpgso: bad number '%s' (1..%lu)\n", s, max);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static char payload[MAX_LENGTH];
	unsigned long count = 10, seg = 1200, len = 12000, port = 9;
	struct sockaddr_in6 dst = { .sin6_family = AF_INET6 };
	unsigned long i;
	int c, fd, gso;

	while ((c = getopt(argc, argv, "n:m:l:p:")) != -1) {
		switch (c) {
		case 'n':
			count = arg(optarg, 1000000);
			break;
		case 'm':
			seg = arg(optarg, 9000);
			break;
		case 'l':
			len = arg(optarg, MAX_LENGTH);
			break;
		case 'p':
			port = arg(optarg, 65535);
			break;
		default:
			return 2;
		}
	}
	if (optind != argc - 1 ||
	    inet_pton(AF_INET6, argv[optind], &dst.sin6_addr) != 1) {
		fputs("usage: udpgso [-n COUNT] [-m SEGMENT] [-l LENGTH] [-p DPORT] IPV6-DST\n",
		      stderr);
		return 2;
	}
	dst.sin6_port = htons((unsigned short)port);
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	gso = (int)seg;
	if (fd < 0 || setsockopt(fd, SOL_UDP, UDP_SEGMENT, &gso, sizeof(gso))) {
		perror("udpgso: socket");
		return 1;
	}
	for (i = 0; i < len; i++)
		payload[i] = (char)i;
	for (i = 0; i < count; i++) {
		if (sendto(fd, payload, len, 0, (struct sockaddr *)&dst,
			   sizeof(dst)) != (ssize_t)len) {
			perror("udpgso: sendto");
			return 1;
		}
		/* one GSO packet at a time through the TCG guest's veths */
		usleep(2000);
	}
	printf("sent %lu datagrams of %lu octets, %lu segments each\n",
	       count, len, (len + seg - 1) / seg);
	close(fd);
	return 0;
}
