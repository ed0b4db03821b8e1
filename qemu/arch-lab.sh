#!/usr/bin/env bash
# The lab on the CPUs OpenWrt routers have (npm run lab:arch):
#   qemu/arch-lab.sh [--artifacts DIR] [--timeout SEC] [--kernel K] [--agent] [--jobs N] [ARCH...]
# ARCH: amd64 arm64 armhf s390x (default: all of them, qemu/arch.sh's
# LAB_BOOT_ARCHES; amd64 is the reference and always runs first). For each:
# the Debian image of that architecture (qemu/build-image.sh --arch), pdmv2.ko
# cross-built against its Debian headers (qemu/build-module.sh: W=1 clean is a
# check), the lab's traffic tools cross-built static, then one boot under TCG
# (qemu/run.sh --arch: the table's board, console and virtio transport)
# running qemu/scenarios/arch.sh; on the host the analyzer's decoder checks
# the captures (test/lab/check-captures.ts), the encrypted ones are opened
# and compared with the module's trace (test/lab/check-encrypted.ts), and at
# the end the golden options of every CPU must equal amd64's byte for byte
# (test/lab/check-arch-golden.ts). With --agent, arm64's boot also runs the
# agent's self-check on Debian trixie's qjs for arm64 (qemu/scenarios/agent-selfcheck.sh).
# amd64 boots first, alone (two vCPUs); the others boot one vCPU each, in
# --jobs lanes at once (default 2: one host core each). Artifacts: DIR/ARCH/
# and DIR/ARCH.log (default DIR artifacts/arch). Prints each boot's time and
# ends with "N passed, M failed".
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=qemu/common.sh
. qemu/common.sh
# shellcheck source=qemu/arch.sh
. qemu/arch.sh

artifacts=$root/artifacts/arch timeout=1500 kernel=$LAB_DEFAULT_KERNEL arches=() agent= jobs=2
while [ $# -gt 0 ]; do
	case $1 in
	--artifacts) artifacts=$(mkdir -p "$2" && cd "$2" && pwd); shift ;;
	--timeout) timeout=$2; shift ;;
	--kernel) kernel=$2; shift ;;
	--agent) agent=1 ;;
	--jobs) jobs=$2; shift ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "arch-lab: unknown option $1" >&2; exit 2 ;;
	*) arches+=("$1") ;;
	esac
	shift
done
[ ${#arches[@]} -gt 0 ] || read -ra arches <<<"$LAB_BOOT_ARCHES"
# the reference first, once
ref=$(lab_host_arch)
mapfile -t arches < <(printf '%s\n' "$ref" "${arches[@]}" | awk '!seen[$0]++')

if [ "${PDMV2_LAB_PREPARED:-0}" != 1 ]; then # set by build/test.sh, which has done both
	build/setup.sh lab kmod >&2
	node build/build.mjs >/dev/null
fi
# inputs every CPU shares: the same malformed packets and test secrets
inputs=.build/lab-arch/inputs
rm -rf "$inputs" && mkdir -p "$inputs"
node .build/node/test/lab/malformed-packets.js "$inputs/malformed.hex" >&2
node .build/node/test/lab/encrypted-setup.js "$inputs/enc" >&2

passed=0 failed=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $*"; failed=$((failed + 1)); }
count() { # LOG: add a "N passed, M failed" line, or one failure without it
	local line
	line=$(lab_summary_counts "$1")
	if [ -z "$line" ]; then failed=$((failed + 1)); return; fi
	passed=$((passed + ${line% *})) failed=$((failed + ${line#* }))
}

cross_tools() { # ARCH SHARE: the scenario's traffic tools, static, for that CPU
	local cc=${ARCH_CROSS}gcc t out
	[ -n "$ARCH_FOREIGN" ] || cc=gcc
	mkdir -p "$2/tools"
	for t in flowgen pdm-inject; do
		out=$2/tools/$t
		[ "$out" -nt "qemu/tools/$t.c" ] && continue
		"$cc" -static -O2 -Wall -Wextra -Werror -o "$out" "qemu/tools/$t.c" || return 1
	done
}

# --agent: the agent's checks on arm64's own qjs (Debian trixie's, with its libc)
agent_inputs() { # SHARE
	build/fetch-quickjs.sh --arch arm64 >&2 || return 1
	local q
	q=$(readlink -f "${PDMV2_CACHE:-$HOME/.cache/pdmv2}/quickjs/current-arm64")
	rm -rf "$1/qjs" "$1/js" "$1/vectors" && mkdir -p "$1/qjs" "$1/js" "$1/vectors"
	cp -L "$q/ld.so" "$q/qjs" "$q/lib/libc.so.6" "$q/lib/libm.so.6" "$1/qjs/"
	cp .build/qjs/agent-check.mjs .build/qjs/selfcheck.mjs "$1/js/"
	cp test/vectors/pdmv2-*.json "$1/vectors/"
}

# One CPU: build, boot, host checks. Prints ok/not ok lines and ends with
# its own "N passed, M failed"; runs in its lane's subshell (own counters).
run_arch() { # ARCH
	local a=$1 share=.build/lab-arch/$1 out=$artifacts/$1 rc=0 ko scripts summary
	passed=0 failed=0
	echo "== $a"
	lab_arch_load "$a"
	mkdir -p "$share"
	ko=$(qemu/build-module.sh --arch "$a" --kernel "$kernel") || rc=$?
	if [ "$rc" -gt 1 ]; then not_ok "$a: pdmv2.ko builds"; echo "$passed passed, $failed failed"; return; fi
	if [ "$rc" = 0 ]; then ok "$a: pdmv2.ko builds W=1 clean ($(basename "$(dirname "$ko")"))"
	else not_ok "$a: pdmv2.ko has W=1 warnings ($(dirname "$ko")/build.log)"; fi
	cp "$ko" "$share/pdmv2.ko"
	rm -rf "$share/enc" && cp -r "$inputs/enc" "$inputs/malformed.hex" "$share/"
	if ! cross_tools "$a" "$share"; then not_ok "$a: traffic tools cross-build"; echo "$passed passed, $failed failed"; return; fi
	scripts=(qemu/scenarios/arch.sh)
	if [ -n "$agent" ] && [ "$a" = arm64 ]; then
		if agent_inputs "$share"; then scripts+=(qemu/scenarios/agent-selfcheck.sh)
		else not_ok "arm64: trixie's qjs for arm64 fetched"; fi
	fi
	rm -rf "$out"
	rc=0
	qemu/run.sh --quiet --arch "$a" --kernel "$kernel" --timeout "$timeout" --artifacts "$out" \
		--share "$share" -- "${scripts[@]}" || rc=$?
	summary=$(tail -n 1 "$out/summary.txt" 2>/dev/null || echo "qemu/run.sh exit $rc")
	echo "$a: $summary"
	grep -E '^not ok ' "$out/arch/output.log" 2>/dev/null || true
	echo "$a: scenario: $(grep -E '[0-9]+ passed, [0-9]+ failed' "$out/arch/output.log" 2>/dev/null | tail -n 1)"
	count "$out/arch/output.log"
	if [[ " ${scripts[*]} " == *agent-selfcheck.sh* ]]; then
		grep -E '^not ok ' "$out/agent-selfcheck/output.log" 2>/dev/null || true
		echo "$a: agent on $a's qjs: $(grep -E '[0-9]+ passed, [0-9]+ failed' "$out/agent-selfcheck/output.log" 2>/dev/null | tail -n 1)"
		count "$out/agent-selfcheck/output.log"
	fi
	if [ "$rc" = 0 ]; then ok "$a: boot passed, dmesg clean"; else not_ok "$a: qemu/run.sh exit $rc"; fi
	# the analyzer's decoder on every capture; TCG on one foreign vCPU can run
	# a softirq later than under amd64's two threads: wider delta tolerance
	node .build/node/test/lab/check-captures.js "$out/arch" --delta-tolerance-ms 100 >"$out/host-checks.txt" 2>&1 || true
	grep -E '^not ok ' "$out/host-checks.txt" || true
	echo "$a: analyzer on the captures: $(tail -n 1 "$out/host-checks.txt")"
	count "$out/host-checks.txt"
	node .build/node/test/lab/check-encrypted.js "$out/arch/enc" >"$out/host-checks-encrypted.txt" 2>&1 || true
	grep -E '^not ok ' "$out/host-checks-encrypted.txt" || true
	echo "$a: encrypted options opened and matched to the trace: $(tail -n 1 "$out/host-checks-encrypted.txt")"
	count "$out/host-checks-encrypted.txt"
	echo "$passed passed, $failed failed"
}

# Lanes: the boots of foreign CPUs use one vCPU, i.e. one host core each, so
# two lanes keep both cores of a 2-core machine busy (amd64's boot has two
# vCPUs and runs first, alone). A lane takes the next CPU of the list when it
# is free (the list starts with the slowest, s390x).
mkdir -p "$artifacts"
run_arch "${arches[0]}" >"$artifacts/${arches[0]}.log" 2>&1
queue=$artifacts/.next
echo 1 >"$queue"
next_arch() { # the index of the next CPU to boot, or nothing
	local i
	exec 7<>"$queue.lock"
	flock 7
	i=$(cat "$queue")
	echo $((i + 1)) >"$queue"
	exec 7>&-
	[ "$i" -lt ${#arches[@]} ] && echo "$i"
}
lane_pids=()
for ((l = 0; l < jobs; l++)); do
	(
		while i=$(next_arch); do
			run_arch "${arches[$i]}" >"$artifacts/${arches[$i]}.log" 2>&1
		done
	) &
	lane_pids+=($!)
done
for p in "${lane_pids[@]}"; do wait "$p" || true; done
rm -f "$queue" "$queue.lock"

declare -A boot=()
done_arches=()
passed=0 failed=0
for a in "${arches[@]}"; do
	cat "$artifacts/$a.log"
	count "$artifacts/$a.log"
	boot[$a]=$(sed -nE 's/.*boot-to-script ([0-9.?]+)s, total ([0-9.?]+)s.*/boot \1 s, whole boot \2 s/p' "$artifacts/$a/summary.txt" 2>/dev/null)
	[ ! -d "$artifacts/$a/arch" ] || done_arches+=("$artifacts/$a/arch")
done

if [ ${#done_arches[@]} -gt 1 ]; then
	echo "== golden options: every CPU against $ref"
	node .build/node/test/lab/check-arch-golden.js "${done_arches[@]}" | tee "$artifacts/golden.txt" || true
	count "$artifacts/golden.txt"
else
	not_ok "golden options: fewer than two CPUs booted"
fi
echo "== boot times (kernel $kernel; 'whole boot' is run.sh's total: image cache or build, QEMU, the scenarios)"
for a in "${arches[@]}"; do echo "$a: ${boot[$a]:-no boot}"; done
echo "arch-lab: artifacts in $artifacts"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
