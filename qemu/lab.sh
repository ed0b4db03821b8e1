#!/usr/bin/env bash
# The QEMU lab in one command (npm run lab):
#   qemu/lab.sh [--artifacts DIR] [--timeout SEC] [SCENARIO...]
# Builds (or reuses) the image and pdmv2.ko for the image's kernel, boots once,
# runs the named scenarios (all by default) in that boot, then checks the
# captures on the host with the project's TypeScript decoder and with tshark.
# Scenarios:
#   topology   lan/rtr/wan namespaces, nftables marking, MTU 1500 and 1280 (no module)
#   datapath   pdmv2.ko: control file, clear/v1 insertion, learning, TCP/UDP/GSO, MTU, unload
#   encrypted  pdmv2.ko mode encrypted: keys, sealing checked against the trace, ingress
#              verification, bad options, rekey, generation change, keyflush, unload
#   bench      forwarding throughput with the module off, v1 and clear (not in the default set)
# Artifacts: DIR/<scenario>/ (pcaps, stats, iperf3 JSON), DIR/dmesg.txt,
# DIR/console.log; default DIR is artifacts/lab. Last line: "N passed, M failed".
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

declare -A SCRIPT=([topology]=qemu/scenarios/topology.sh [datapath]=kmod/test/lab-basic.sh
	[encrypted]=kmod/test/lab-encrypted.sh [bench]=kmod/test/lab-bench.sh)
ORDER=(topology datapath encrypted)	# the default set; bench runs only when named
artifacts="$root/artifacts/lab"
timeout=1200
names=()
while [ $# -gt 0 ]; do
	case $1 in
	--artifacts) artifacts=$(mkdir -p "$2" && cd "$2" && pwd); shift ;;
	--timeout) timeout=$2; shift ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "lab: unknown option $1" >&2; exit 2 ;;
	*) [ -n "${SCRIPT[$1]:-}" ] || { echo "lab: unknown scenario '$1' (known: ${!SCRIPT[*]})" >&2; exit 2; }
	   names+=("$1") ;;
	esac
	shift
done
[ ${#names[@]} -gt 0 ] || names=("${ORDER[@]}")

build/setup.sh lab kmod >&2
node build/build.mjs >/dev/null
qemu/build-image.sh >&2
eval "$(qemu/kernel-env.sh --check)"
make -s -C "$KDIR" M="$root/kmod" modules >&2
# Guest-side helpers reach the guest through the kmod share (/share).
mkdir -p kmod/test/.build
node .build/node/test/lab/malformed-packets.js kmod/test/.build/malformed.hex >&2
if [[ " ${names[*]} " == *" encrypted "* ]]; then
	rm -rf kmod/test/.build/enc
	node .build/node/test/lab/encrypted-setup.js kmod/test/.build/enc >&2
fi
gcc -static -O2 -Wall -Wextra -Werror -o kmod/test/.build/pdm-inject kmod/test/pdm-inject.c

scripts=()
for n in "${names[@]}"; do scripts+=("${SCRIPT[$n]}"); done
passed=0 failed=0
count() { # LOG: add the counts of a "N passed, M failed" line
	local line
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1 | sed -E 's/^(.*[^0-9])?([0-9]+) passed, ([0-9]+) failed.*/\2 \3/')
	if [ -z "$line" ]; then failed=$((failed + 1)); return; fi
	passed=$((passed + ${line% *})) failed=$((failed + ${line#* }))
}

rc=0
qemu/run.sh --quiet --timeout "$timeout" --artifacts "$artifacts" --share kmod -- "${scripts[@]}" || rc=$?
echo "lab: $(tail -n 1 "$artifacts/summary.txt" 2>/dev/null || echo "qemu/run.sh exit $rc")"
# Guest checks: each scenario ends with lab_finish's "N passed, M failed" in its
# output.log; run.sh's own verdict (script exit codes, dmesg) counts once more.
for n in "${names[@]}"; do
	out="$artifacts/$(basename "${SCRIPT[$n]}" .sh)/output.log"
	grep -E '^not ok ' "$out" 2>/dev/null || true
	echo "lab: $n: $(grep -E '[0-9]+ passed, [0-9]+ failed' "$out" 2>/dev/null | tail -n 1)"
	count "$out"
done
if [ $rc -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "not ok - qemu/run.sh exit $rc"; fi

for n in "${names[@]}"; do
	[ "$n" = bench ] || continue
	echo "== lab benchmark (one boot, medians of 3 interleaved rounds)"
	node .build/node/test/bench/lab-bench-report.js "$artifacts/lab-bench" | tee "$artifacts/bench.txt"
done
for n in "${names[@]}"; do
	[ "$n" = datapath ] || continue
	dir="$artifacts/$(basename "${SCRIPT[$n]}" .sh)"
	echo "== host checks of $n captures (TypeScript decoder)"
	node .build/node/test/lab/check-captures.js "$dir" | tee "$artifacts/host-checks.txt" || true
	count "$artifacts/host-checks.txt"
	echo "== tshark on the v1 capture"
	ours=$(node .build/node/analyzer/src/cli.js decode "$dir/v1-wan.pcap" | grep -c ' pdm-v1 ' || true)
	theirs=$(tshark -r "$dir/v1-wan.pcap" -Y ipv6.opt.pdm.psn_this_pkt -T fields -e ipv6.opt.pdm.psn_this_pkt 2>/dev/null | grep -c '^[0-9]' || true)
	invalid=$(tshark -r "$dir/v1-wan.pcap" -V 2>/dev/null | grep -ci 'invalid length' || true)
	if [ "$theirs" -gt 0 ] && [ "$theirs" = "$ours" ] && [ "$invalid" -eq 0 ]; then
		echo "ok - tshark dissects all $theirs RFC 8250 options (as our decoder does) with no 'Invalid length'"
		passed=$((passed + 1))
	else
		echo "not ok - tshark on v1-wan.pcap: $theirs PDM options (ours: $ours), $invalid 'Invalid length'"
		failed=$((failed + 1))
	fi
done
for n in "${names[@]}"; do
	[ "$n" = encrypted ] || continue
	dir="$artifacts/$(basename "${SCRIPT[$n]}" .sh)"
	echo "== host checks of $n captures (decrypted with the test secrets, against the module's trace)"
	node .build/node/test/lab/check-encrypted.js "$dir" | tee "$artifacts/host-checks-encrypted.txt" || true
	count "$artifacts/host-checks-encrypted.txt"
done
echo "lab: artifacts in $artifacts"
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
