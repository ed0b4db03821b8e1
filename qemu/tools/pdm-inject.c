// SPDX-License-Identifier: GPL-2.0
/*
 * Lab helper: send whole IPv6 packets given as "name hex" lines on stdin
 * through a raw IPPROTO_RAW socket (the header is ours, the kernel only
 * routes it), so that malformed PDM options reach the module's ingress on
 * real links. Prints one line per packet; exit status 1 if any send failed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int main(void)
{
	static char line[8192];
	unsigned char pkt[4096];
	int fd, failed = 0;

	fd = socket(AF_INET6, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0) {
		perror("pdm-inject: socket");
		return 1;
	}
	while (fgets(line, sizeof(line), stdin)) {
		char *hex = strchr(line, ' ');
		struct sockaddr_in6 dst = { .sin6_family = AF_INET6 };
		size_t n = 0;

		if (!hex)
			continue;
		*hex++ = '\0';
		while (hex[2 * n] && hex[2 * n] != '\n' && n < sizeof(pkt)) {
			int hi = hex_digit(hex[2 * n]), lo = hex_digit(hex[2 * n + 1]);

			if (hi < 0 || lo < 0)
				break;
			pkt[n++] = (unsigned char)(hi << 4 | lo);
		}
		if (n < 40) {
			printf("%s: bad hex\n", line);
			failed = 1;
			continue;
		}
		memcpy(&dst.sin6_addr, pkt + 24, 16);
		if (sendto(fd, pkt, n, 0, (struct sockaddr *)&dst, sizeof(dst)) != (ssize_t)n) {
			printf("%s: ", line);
			fflush(stdout);
			perror("sendto");
			failed = 1;
		} else {
			printf("%s: sent %zu octets\n", line, n);
		}
	}
	close(fd);
	return failed;
}
