#!/bin/bash
# Latency of `ubus call pdmv2 status` through the rpcd exec plugin, as rpcd
# runs it (`PLUGIN call status`, the arguments as JSON on stdin), for two
# plugins in interleaved rounds of one run: the figures to compare are the
# medians and 95th percentiles side by side (the machine is shared and noisy).
#
#   test/bench/rpcd-status.sh ROUNDS PLUGIN_A PLUGIN_B
#
# Run by the luci lab scenario in the guest (qemu/scenarios/luci.sh) with
# today's plugin before issue 14 (exec pdmv2d, i.e. QuickJS and the agent
# bundle per call) against the POSIX sh plugin reading the daemon's status
# file and /proc/net/pdmv2. Prints one line per plugin and the ratio.
set -euo pipefail
rounds=${1:?ROUNDS}
a=${2:?PLUGIN_A}
b=${3:?PLUGIN_B}

ms_since() { # START: milliseconds since EPOCHREALTIME START, 3 decimals
	awk -v s="$1" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.3f\n", (e - s) * 1000 }'
}
one() { # PLUGIN: one call; fails unless it printed a JSON object with a status
	local t0 out
	t0=$EPOCHREALTIME
	out=$(echo '{"ubus_rpc_session":"00000000000000000000000000000000"}' | "$1" call status)
	ms_since "$t0"
	case "$out" in '{'*'"status":'*'}') ;; *) echo "$1: not a status object: ${out:0:200}" >&2; return 1 ;; esac
}
stats() { # FILE: "median X ms, p95 Y ms" of one number per line
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		p = v[int(0.95 * NR + 0.999)]
		printf "median %.1f ms, p95 %.1f ms (n=%d)\n", m, p, NR }'
}
ta=$(mktemp) tb=$(mktemp)
trap 'rm -f "$ta" "$tb"' EXIT
one "$a" >/dev/null && one "$b" >/dev/null # warm the page cache
for _ in $(seq "$rounds"); do
	one "$a" >>"$ta"
	one "$b" >>"$tb"
done
echo "status via $a: $(stats "$ta")"
echo "status via $b: $(stats "$tb")"
ma=$(sort -n "$ta" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
mb=$(sort -n "$tb" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
awk -v a="$ma" -v b="$mb" 'BEGIN { printf "median ratio %s/%s: %.1f\n", "A", "B", a / b }'
