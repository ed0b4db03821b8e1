// SPDX-License-Identifier: GPL-2.0
/*
 * Lab helper: try to write a command to a file as an unprivileged user
 * that owns a user namespace of its own and a network namespace in it,
 * i.e. what `unshare -Urn` as an ordinary user gives (qemu/scenarios/
 * hardening.sh: /proc/net/pdmv2/control of that new network namespace).
 *
 *   unpriv-write [-u UID] FILE LINE
 *
 * Runs as root, drops to UID (default 65534) for good, unshares user and
 * network namespaces, maps itself to root inside, then opens FILE for
 * writing and writes LINE and a newline. Prints what happened. Exit status:
 * 0 the write was refused (at open or at write), 1 it was accepted,
 * 2 the setup failed (not refused by the file: nothing was tried).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

int main(int argc, char **argv)
{
	unsigned long uid = 65534;
	char map[64], line[1024];
	int opt, fd;
	ssize_t n;

	while ((opt = getopt(argc, argv, "u:")) != -1) {
		if (opt != 'u')
			goto usage;
		uid = strtoul(optarg, NULL, 10);
	}
	if (argc - optind != 2 || uid == 0)
		goto usage;
	if (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
	    setresuid(uid, uid, uid)) {
		perror("unpriv-write: dropping privileges");
		return 2;
	}
	/* a changed uid makes /proc/self/ root's: what `unshare -Ur` is not */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)) {
		perror("unpriv-write: PR_SET_DUMPABLE");
		return 2;
	}
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET)) {
		perror("unpriv-write: unshare(CLONE_NEWUSER | CLONE_NEWNET)");
		return 2;
	}
	snprintf(map, sizeof(map), "0 %lu 1\n", uid);
	if (write_file("/proc/self/setgroups", "deny") ||
	    write_file("/proc/self/uid_map", map) ||
	    write_file("/proc/self/gid_map", map)) {
		perror("unpriv-write: mapping root in the new user namespace");
		return 2;
	}
	if (access(argv[optind], F_OK)) {
		fprintf(stderr, "unpriv-write: %s: %s (not in the new network namespace)\n",
			argv[optind], strerror(errno));
		return 2;
	}
	printf("uid %lu, root of its own user namespace, in its own network namespace\n", uid);
	fd = open(argv[optind], O_WRONLY);
	if (fd < 0) {
		printf("refused at open: %s\n", strerror(errno));
		return 0;
	}
	snprintf(line, sizeof(line), "%s\n", argv[optind + 1]);
	n = write(fd, line, strlen(line));
	if (n < 0) {
		printf("opened, write refused: %s\n", strerror(errno));
		close(fd);
		return 0;
	}
	close(fd);
	printf("accepted: wrote %zd octets\n", n);
	return 1;
usage:
	fprintf(stderr, "usage: unpriv-write [-u UID] FILE LINE (UID not 0)\n");
	return 2;
}
