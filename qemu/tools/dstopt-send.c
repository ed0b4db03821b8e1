// SPDX-License-Identifier: GPL-2.0
/*
 * Lab helper: a TCP sender whose every packet carries a Destination
 * Options header of its own (qemu/scenarios/datapath.sh), and the bulk sender
 * and sink of the benchmark's "parts" series (qemu/scenarios/bench.sh).
 *
 *   dstopt-send [-n|-e] [-b BYTES] [-p PORT] DST
 *   dstopt-send -l [-p PORT]       the sink: accept one connection, read
 *                                  it to its end, print the octet count
 *                                  and the nanoseconds (CLOCK_MONOTONIC)
 *                                  from the connection to its end
 *
 * Connects to DST:PORT over IPv6 with the sticky IPV6_DSTOPTS option set
 * to a 32-octet header holding one RFC 4727 experimental option, type 0x1e,
 * of 22 data octets (0xa5 each): the type and length of the module's
 * pending option, so a router must not take it for its own, and the size
 * of the header a PDMv2 clear option makes. -e: a 40-octet header with
 * 0x1e of 34 data octets instead, the size an encrypted option makes. -n:
 * no option (a plain TCP sender). Sends BYTES (default 4 MiB) and closes.
 * Exit status 1 on a socket error, 2 on usage errors.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static unsigned long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (unsigned long long)t.tv_sec * 1000000000ULL +
	       (unsigned long long)t.tv_nsec;
}

static int sink(unsigned long port)
{
	struct sockaddr_in6 any = { .sin6_family = AF_INET6,
				    .sin6_addr = IN6ADDR_ANY_INIT };
	static char buf[65536];
	unsigned long long start;
	unsigned long got = 0;
	int fd, conn, one = 1;
	ssize_t r;

	any.sin6_port = htons((unsigned short)port);
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&any, sizeof(any)) || listen(fd, 1)) {
		perror("dstopt-send: listen");
		return 1;
	}
	conn = accept(fd, NULL, NULL);
	if (conn < 0) {
		perror("dstopt-send: accept");
		return 1;
	}
	start = now_ns();
	while ((r = read(conn, buf, sizeof(buf))) > 0)
		got += (unsigned long)r;
	printf("received %lu octets in %llu ns\n", got, now_ns() - start);
	return r < 0;
}

int main(int argc, char **argv)
{
	static char buf[65536];
	unsigned long total = 4UL << 20, port = 9, sent = 0;
	struct sockaddr_in6 dst = { .sin6_family = AF_INET6 };
	/* next header (set by the kernel), length 3 (32 octets), 0x1e/22, PadN(4) */
	unsigned char doh[40] = { 0, 3, 0x1e, 22 };
	/* or length 4 (40 octets), 0x1e/34, PadN(0) */
	static const unsigned char doh_enc_head[4] = { 0, 4, 0x1e, 34 };
	int c, fd, listen_mode = 0, with_option = 1;
	socklen_t doh_len = 32;

	memset(doh + 4, 0xa5, 22);
	doh[26] = 1;
	doh[27] = 4;
	while ((c = getopt(argc, argv, "lneb:p:")) != -1) {
		switch (c) {
		case 'l':
			listen_mode = 1;
			break;
		case 'n':
			with_option = 0;
			break;
		case 'e':
			memcpy(doh, doh_enc_head, sizeof(doh_enc_head));
			memset(doh + 4, 0xa5, 34);
			doh[38] = 1;
			doh[39] = 0;
			doh_len = 40;
			break;
		case 'b':
			total = strtoul(optarg, NULL, 10);
			break;
		case 'p':
			port = strtoul(optarg, NULL, 10);
			break;
		default:
			return 2;
		}
	}
	if (listen_mode && optind == argc && port && port <= 65535)
		return sink(port);
	if (optind != argc - 1 || !total || !port || port > 65535 ||
	    inet_pton(AF_INET6, argv[optind], &dst.sin6_addr) != 1) {
		fputs("usage: dstopt-send [-n|-e] [-b BYTES] [-p PORT] IPV6-DST\n",
		      stderr);
		return 2;
	}
	dst.sin6_port = htons((unsigned short)port);
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd < 0 ||
	    (with_option &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_DSTOPTS, doh, doh_len)) ||
	    connect(fd, (struct sockaddr *)&dst, sizeof(dst))) {
		perror("dstopt-send");
		return 1;
	}
	memset(buf, 0x5a, sizeof(buf));
	while (sent < total) {
		size_t n = total - sent < sizeof(buf) ? total - sent : sizeof(buf);
		ssize_t w = write(fd, buf, n);

		if (w <= 0) {
			perror("dstopt-send: write");
			return 1;
		}
		sent += (unsigned long)w;
	}
	close(fd);
	printf("sent %lu octets %s\n", sent,
	       with_option ? "with a 0x1e/22 destination option" :
			     "without a destination option");
	return 0;
}
