// SPDX-License-Identifier: GPL-2.0
/*
 * Lab helper: a kernel profile by sampling, for the benchmark's "profile"
 * series (qemu/scenarios/bench.sh, docs/bench/forwarding-2026-12-06.md).
 *
 *   ipsample [-p PERIOD_NS] OUTFILE
 *
 * Opens a cpu-clock software event (no PMU needed: TCG has none) on every
 * online CPU, sampling the instruction pointer every PERIOD_NS (default
 * 50000) of CPU time, until SIGINT or SIGTERM. Then writes OUTFILE: one
 * line per kernel function, "SAMPLES FUNCTION [MODULE]", most samples first,
 * the functions found in /proc/kallsyms; user-space samples are counted as
 * "(user)", samples lost by the kernel as "(lost)". Under QEMU's -icount
 * the guest's clock advances by instructions executed, so the samples are
 * evenly spaced in instructions and the profile does not depend on the
 * host's load.
 *
 * Exit status 1 on a system error, 2 on usage errors.
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_CPUS	64
#define RING_PAGES	256	/* data pages per CPU, a power of two */
#define HIST_BITS	20

struct hist_entry {
	uint64_t ip;
	uint64_t count;
};

struct ksym {
	uint64_t addr;
	char name[96];
};

static struct hist_entry hist[1 << HIST_BITS];
static uint64_t user_samples, lost_samples, dropped_ips;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void hist_add(uint64_t ip)
{
	uint64_t h = (ip * 0x9e3779b97f4a7c15ULL) >> (64 - HIST_BITS);
	unsigned int i;

	for (i = 0; i < 64; i++, h = (h + 1) & ((1 << HIST_BITS) - 1)) {
		if (hist[h].ip == ip || !hist[h].count) {
			hist[h].ip = ip;
			hist[h].count++;
			return;
		}
	}
	dropped_ips++;
}

/* the records written since the last call, then hand the space back */
static void drain(struct perf_event_mmap_page *meta, size_t page)
{
	unsigned char *data = (unsigned char *)meta + page;
	uint64_t size = (uint64_t)RING_PAGES * page;
	uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = meta->data_tail;

	while (tail < head) {
		struct perf_event_header h;
		unsigned char rec[64];
		uint64_t off = tail % size, i;

		for (i = 0; i < sizeof(h); i++)
			((unsigned char *)&h)[i] = data[(off + i) % size];
		if (h.size < sizeof(h))
			break;
		for (i = 0; i < h.size && i < sizeof(rec); i++)
			rec[i] = data[(off + i) % size];
		if (h.type == PERF_RECORD_SAMPLE && h.size >= sizeof(h) + 8) {
			uint64_t ip;

			memcpy(&ip, rec + sizeof(h), sizeof(ip));
			if ((h.misc & PERF_RECORD_MISC_CPUMODE_MASK) ==
			    PERF_RECORD_MISC_KERNEL)
				hist_add(ip);
			else
				user_samples++;
		} else if (h.type == PERF_RECORD_LOST && h.size >= sizeof(h) + 16) {
			uint64_t lost;

			memcpy(&lost, rec + sizeof(h) + 8, sizeof(lost));
			lost_samples += lost;
		}
		tail += h.size;
	}
	__atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
}

static int by_addr(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int by_count_desc(const void *a, const void *b)
{
	const struct hist_entry *x = a, *y = b;

	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

/* text symbols of /proc/kallsyms, sorted by address */
static struct ksym *read_kallsyms(size_t *n)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	struct ksym *syms = NULL;
	size_t cap = 0;
	char line[256];

	*n = 0;
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long addr;
		char type, name[64], mod[32] = "";

		if (sscanf(line, "%llx %c %63s %31s", &addr, &type, name, mod) < 3 ||
		    (type != 't' && type != 'T') || !addr)
			continue;
		if (*n == cap) {
			struct ksym *more;

			cap = cap ? cap * 2 : 65536;
			more = realloc(syms, cap * sizeof(*syms));
			if (!more)
				break;
			syms = more;
		}
		syms[*n].addr = addr;
		snprintf(syms[*n].name, sizeof(syms[*n].name), "%s%s%s", name,
			 *mod ? " " : "", mod);
		(*n)++;
	}
	fclose(f);
	qsort(syms, *n, sizeof(*syms), by_addr);
	return syms;
}

/* 1 + the index of the last symbol at or below @ip; 0: below them all */
static size_t symbol_after(const struct ksym *syms, size_t n, uint64_t ip)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (syms[mid].addr <= ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* samples summed per function, most first */
static int write_profile(const char *path)
{
	struct hist_entry *per_fn;
	struct ksym *syms;
	size_t nsyms, i, nfn = 0;
	FILE *out;

	syms = read_kallsyms(&nsyms);
	if (!syms || !nsyms) {
		fputs("ipsample: no addresses in /proc/kallsyms (kptr_restrict?)\n",
		      stderr);
		return 1;
	}
	/* per function: the entry's ip field holds symbol_after() */
	per_fn = calloc(nsyms + 1, sizeof(*per_fn));
	if (!per_fn)
		return 1;
	for (i = 0; i < (1u << HIST_BITS); i++) {
		size_t at;

		if (!hist[i].count)
			continue;
		at = symbol_after(syms, nsyms, hist[i].ip);
		per_fn[at].ip = at;
		per_fn[at].count += hist[i].count;
	}
	for (i = 0; i <= nsyms; i++)
		if (per_fn[i].count)
			per_fn[nfn++] = per_fn[i];
	qsort(per_fn, nfn, sizeof(*per_fn), by_count_desc);
	out = fopen(path, "w");
	if (!out) {
		perror("ipsample: output");
		return 1;
	}
	for (i = 0; i < nfn; i++)
		fprintf(out, "%llu %s\n", (unsigned long long)per_fn[i].count,
			per_fn[i].ip ? syms[per_fn[i].ip - 1].name : "(unknown)");
	fprintf(out, "%llu (user)\n", (unsigned long long)user_samples);
	fprintf(out, "%llu (lost)\n", (unsigned long long)lost_samples);
	if (dropped_ips)
		fprintf(out, "%llu (histogram full)\n",
			(unsigned long long)dropped_ips);
	fclose(out);
	free(per_fn);
	free(syms);
	return 0;
}

int main(int argc, char **argv)
{
	struct perf_event_mmap_page *ring[MAX_CPUS];
	struct pollfd pfd[MAX_CPUS];
	unsigned long period = 50000;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct sigaction sa = { .sa_handler = on_signal };
	int c, i;

	while ((c = getopt(argc, argv, "p:")) != -1) {
		if (c != 'p')
			return 2;
		period = strtoul(optarg, NULL, 10);
	}
	if (optind != argc - 1 || period < 1000 || ncpu < 1 || ncpu > MAX_CPUS) {
		fputs("usage: ipsample [-p PERIOD_NS >= 1000] OUTFILE\n", stderr);
		return 2;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (i = 0; i < ncpu; i++) {
		struct perf_event_attr attr = {
			.type = PERF_TYPE_SOFTWARE,
			.size = sizeof(attr),
			.config = PERF_COUNT_SW_CPU_CLOCK,
			.sample_period = period,
			.sample_type = PERF_SAMPLE_IP,
			.wakeup_events = 256,
			.disabled = 1,
		};
		int fd = (int)syscall(SYS_perf_event_open, &attr, -1, i, -1, 0);

		if (fd < 0) {
			perror("ipsample: perf_event_open");
			return 1;
		}
		ring[i] = mmap(NULL, (RING_PAGES + 1) * page,
			       PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (ring[i] == MAP_FAILED) {
			perror("ipsample: mmap");
			return 1;
		}
		pfd[i].fd = fd;
		pfd[i].events = POLLIN;
	}
	for (i = 0; i < ncpu; i++)
		ioctl(pfd[i].fd, PERF_EVENT_IOC_ENABLE, 0);
	while (!stop) {
		if (poll(pfd, (nfds_t)ncpu, 100) < 0 && errno != EINTR) {
			perror("ipsample: poll");
			return 1;
		}
		for (i = 0; i < ncpu; i++)
			drain(ring[i], page);
	}
	for (i = 0; i < ncpu; i++) {
		ioctl(pfd[i].fd, PERF_EVENT_IOC_DISABLE, 0);
		drain(ring[i], page);
	}
	return write_profile(argv[optind]);
}
