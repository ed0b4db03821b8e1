// SPDX-License-Identifier: GPL-2.0
/*
 * Lab helper: runs a command the way rpcd runs an exec plugin, ROUNDS times,
 * and prints each run's wall time in milliseconds (test/bench/rpcd-status.sh).
 *
 *   execbench ROUNDS INPUT CMD [ARG...]
 *
 * Each run: pipes for stdin and stdout, fork, exec CMD, write INPUT to its
 * stdin and close it, read stdout to EOF, wait for the exit; timed with
 * CLOCK_MONOTONIC from before the fork to after the wait. A run whose
 * output does not start with '{' or whose exit status is not 0 ends the
 * program with status 1 (the output on stderr). Usage errors: status 2.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int run_once(char **argv, const char *input, double *ms)
{
	static char out[1 << 20];
	int in_pipe[2], out_pipe[2], status;
	size_t len = 0;
	double t0 = now_ms();
	ssize_t n;
	pid_t pid;

	if (pipe(in_pipe) || pipe(out_pipe))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(in_pipe[0], 0);
		dup2(out_pipe[1], 1);
		close(in_pipe[0]);
		close(in_pipe[1]);
		close(out_pipe[0]);
		close(out_pipe[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(in_pipe[0]);
	close(out_pipe[1]);
	if (write(in_pipe[1], input, strlen(input)) < 0) {
		/* a plugin need not read its arguments: as rpcd, ignore it */
	}
	close(in_pipe[1]);
	while ((n = read(out_pipe[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += n;
	close(out_pipe[0]);
	out[len] = 0;
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	*ms = now_ms() - t0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) || out[0] != '{') {
		fprintf(stderr, "execbench: %s: exit %d, output: %.200s\n", argv[0], status, out);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int rounds, i;
	double ms;

	if (argc < 4 || (rounds = atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: execbench ROUNDS INPUT CMD [ARG...]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < rounds; i++) {
		if (run_once(argv + 3, argv[2], &ms))
			return 1;
		printf("%.3f\n", ms);
	}
	return 0;
}
