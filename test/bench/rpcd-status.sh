#!/bin/bash
# Latency of `ubus call pdmv2 status` through the rpcd exec plugin, run the
# way rpcd runs it (fork, exec `PLUGIN call status` through its #! line, the
# arguments as JSON on stdin, stdout read to its end, wait:
# qemu/tools/execbench.c), for two plugins in interleaved rounds of one run:
# compare the medians and 95th percentiles side by side (the machine is shared
# and noisy). In the lab guest, as on OpenWrt, /usr/bin/awk and ash are
# BusyBox.
#
#   test/bench/rpcd-status.sh ROUNDS EXECBENCH PLUGIN_A PLUGIN_B
#
# Run by the luci lab scenario in the guest (qemu/scenarios/luci.sh) with
# the plugin before issue 14 (exec pdmv2d: QuickJS and the agent bundle per
# call) against today's (an awk program reading the status file and /proc).
set -euo pipefail
rounds=${1:?ROUNDS}
execbench=${2:?EXECBENCH}
a=${3:?PLUGIN_A}
b=${4:?PLUGIN_B}

ta=$(mktemp) tb=$(mktemp) tf=$(mktemp)
trap 'rm -f "$ta" "$tb" "$tf"' EXIT
input='{"ubus_rpc_session":"00000000000000000000000000000000"}'

stats() { # FILE: median and p95 of one number per line
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		p = v[int(0.95 * NR + 0.999)]
		printf "median %.1f ms, p95 %.1f ms (n=%d)\n", m, p, NR }'
}
"$execbench" 1 "$input" "$a" call status >/dev/null # warm the page cache
"$execbench" 1 "$input" "$b" call status >/dev/null
# the floor: the same fork, exec and pipes for a program that only prints {}
for _ in $(seq "$rounds"); do
	"$execbench" 1 "$input" "$a" call status >>"$ta"
	"$execbench" 1 "$input" "$b" call status >>"$tb"
	"$execbench" 1 "$input" echo '{}' >>"$tf"
done
echo "status via $a: $(stats "$ta")"
echo "status via $b: $(stats "$tb")"
echo "floor (exec of echo {}): $(stats "$tf")"
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
awk -v a="$(median "$ta")" -v b="$(median "$tb")" 'BEGIN { printf "median ratio (first/second): %.1f\n", a / b }'
