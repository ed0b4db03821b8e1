#!/usr/bin/env bash
# The QEMU lab in one command (npm run lab):
#   qemu/lab.sh [--kernel 6.1|6.12] [--artifacts DIR] [--timeout SEC] [--icount] [--ko FILE] [SCENARIO...]
# Builds (or reuses) the image of that Debian kernel (default 6.1, bookworm's;
# 6.12 is bookworm-security's, OpenWrt 25.12's; qemu/arch.sh) and pdmv2.ko for
# it (qemu/build-module.sh: W=1, a warning is one failed check), boots once,
# runs the named scenarios (all by default) in that boot, then checks the
# captures on the host with the project's TypeScript decoder and with tshark.
# Scenarios:
#   topology   lan/rtr/wan namespaces, nftables marking, MTU 1500 and 1280 (no module)
#   datapath   pdmv2.ko: control file, clear/v1 insertion, learning, TCP/UDP/GSO, MTU, unload
#   encrypted  pdmv2.ko mode encrypted: keys, sealing checked against the trace, ingress
#              verification, bad options, rekey, generation change, keyflush, unload
#   e2e        enrollment end to end: the agent (pdmv2d on QuickJS) in the guest's
#              namespaces enrolls with a Primary Client and a Primary Server on the
#              host (test/lab/e2e-host.ts, reached through QEMU user networking),
#              installs keys into pdmv2.ko; encrypted traffic, restart, revocation,
#              negative cases; the host decrypts the capture with exported keys
#   hardening  pdmv2.ko under attack and abuse (issue 12): unprivileged writers, a
#              module-wide flow limit, forged epochs, fragments with conntrack, 100
#              load/unload cycles under traffic; in a boot of its own with slab
#              poisoning (POISON_ARGS below)
#   luci       the LuCI app in Debian's headless Chromium (test/lab/luci-host.ts on
#              the host, through a forwarded port) against the real agent, plugin,
#              init script and module in the guest's rtr; stand-ins for uhttpd/rpcd
#              and the LuCI framework (test/luci-standin/, docs/luci.md)
#   agent      the agent as an OpenWrt service (qemu/scenarios/agent.sh): packet mark
#              and mask, nft table repair, stop wipes, clock years behind then
#              stepped, RSS and the qjs memory limit (primaries: as for e2e)
#   bench      forwarding throughput (off, v1, clear, encrypted), new flows per second,
#              memory per flow (not in the default set)
# --ko FILE: the guest gets this pdmv2.ko instead of a build of kmod/ (a build of
# an older commit, to show a defect before its fix; same kernel release).
# --icount boots one vCPU whose clock advances by instructions executed
# (qemu/run.sh --icount 1): benchmark figures that host load does not
# move (docs/lab.md, "Deterministic timing").
# Each scenario is qemu/scenarios/NAME.sh (guest helpers in qemu/scenarios/lib/);
# the traffic tools of qemu/tools/ are built static into .build/lab/KERNEL/tools/,
# which the guest sees, with pdmv2.ko and the test inputs, at /share: one share
# per kernel, so that the two kernels' labs can run at the same time (build/test.sh).
# PDMV2_LAB_PREPARED=1: the caller has run build/setup.sh and build/build.mjs
# (build/test.sh does, once for the labs it runs side by side).
# Artifacts: DIR/<scenario>/ (pcaps, stats, iperf3 JSON), DIR/dmesg.txt,
# DIR/console.log; default DIR is artifacts/lab. Last line: "N passed, M failed".
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=qemu/common.sh
. qemu/common.sh

declare -A SCRIPT=()
for n in topology datapath encrypted agent e2e luci hardening bench; do SCRIPT[$n]=qemu/scenarios/$n.sh; done
# the default set; bench runs only when named. agent runs before e2e: the host
# side they share ends with e2e's last request
ORDER=(topology datapath encrypted agent e2e luci hardening)
# Scenarios that boot a kernel of their own with slab poisoning: a use after
# free of the module's objects then writes into poisoned memory, which slub
# reports in the kernel log (run.sh fails the boot on it). It slows every
# allocation, so the other scenarios keep their unpoisoned boot.
POISONED=(hardening)
POISON_ARGS="slub_debug=FZPU init_on_free=1 page_poison=1"
artifacts="$root/artifacts/lab"
timeout=1800	# a cap for each boot: the default set with luci takes 15-18 min under TCG on a loaded host
names=() timing=() ko='' keep=() kernel=${PDMV2_LAB_KERNEL:-6.1}
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=$2; shift ;;
	--artifacts) artifacts=$(mkdir -p "$2" && cd "$2" && pwd); shift ;;
	--timeout) timeout=$2; shift ;;
	--icount) timing=(--icount 1) ;;
	--ko) ko=$(readlink -f "$2"); shift ;;
	--keep-luci) keep=(--keep) timeout=86400 ;;	# the pages stay up until Ctrl-C (npm run demo -- --keep)
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "lab: unknown option $1" >&2; exit 2 ;;
	*) [ -n "${SCRIPT[$1]:-}" ] || { echo "lab: unknown scenario '$1' (known: ${!SCRIPT[*]})" >&2; exit 2; }
	   names+=("$1") ;;
	esac
	shift
done
[ ${#names[@]} -gt 0 ] || names=("${ORDER[@]}")

if [ "${PDMV2_LAB_PREPARED:-0}" != 1 ]; then
	build/setup.sh lab kmod $([[ " ${names[*]} " == *" luci "* ]] && echo browser) >&2
	node build/build.mjs >/dev/null
fi
qemu/build-image.sh --kernel "$kernel" >&2
eval "$(qemu/kernel-env.sh --check --kernel "$kernel")"
build_rc=0
if [ -z "$ko" ]; then
	ko=$(qemu/build-module.sh --kernel "$kernel") || build_rc=$?
	[ "$build_rc" -le 1 ] || exit "$build_rc"
fi
# What the guest needs from the host reaches it through one share (/share,
# $LAB_SHARE): .build/lab/KERNEL holds pdmv2.ko, the traffic tools of qemu/tools/,
# the crafted packets and the test secrets
share=.build/lab/$kernel
mkdir -p "$share/tools"
cp "$ko" "$share/pdmv2.ko"
node .build/node/test/lab/malformed-packets.js "$share/malformed.hex" >&2
ran() { [[ " ${names[*]} " == *" $1 "* ]]; }	# SCENARIO: named for this run
poisoned() { [[ " ${POISONED[*]} " == *" $1 "* ]]; }
# the poisoned boot's artifacts: DIR/poisoned/ (console.log, dmesg.txt, ...)
scenario_dir() {
	local d=$artifacts
	poisoned "$1" && d=$artifacts/poisoned
	echo "$d/$(basename "${SCRIPT[$1]}" .sh)"
}
if ran encrypted || ran bench || ran hardening; then
	rm -rf "$share/enc"
	node .build/node/test/lab/encrypted-setup.js "$share/enc" >&2
fi
for tool in qemu/tools/*.c; do
	gcc -static -O2 -Wall -Wextra -Werror -o "$share/tools/$(basename "$tool" .c)" "$tool"
done
# the lab's test module (qemu/tools/kmod/: another module's IPv6 offload, for
# hardening), built W=1 for the lab kernel into the share's tools/
if ran hardening; then
	sq_ko=$(qemu/build-module.sh --kernel "$kernel" --src qemu/tools/kmod) ||
		lab_die "qemu/tools/kmod failed to build W=1 clean for $KERNEL_RELEASE"
	cp "$sq_ko" "$share/tools/"
fi

# e2e: QuickJS, the agent bundle and a snapshot of the host-side JS in a
# directory private to this run (.build/lab/KERNEL/e2e-PID: the guest sees it in the
# share, named by pdmv2.e2e=; concurrent lab runs, rebuilds of .build/node and
# `make -C kmod/test clean` leave it alone); the host side (primaries) starts
# now and runs alongside the boot; the guest reaches it through QEMU user
# networking (run.sh --net user)
e2e_pid='' e2e_dir='' luci_pid='' luci_dir='' netopts='' appends=()
stop_host_side() { # PID: let a host side finish (it ends after the guest's 'done'), else stop it
	[ -n "$1" ] || return 0
	for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
stop_e2e_host() { stop_host_side "$e2e_pid"; e2e_pid=; stop_host_side "$luci_pid"; luci_pid=; }
trap 'stop_e2e_host; [ -z "$e2e_dir" ] || rm -rf "$e2e_dir"; [ -z "$luci_dir" ] || rm -rf "$luci_dir"' EXIT
if ran e2e || ran agent; then
	for d in "$share"/e2e-* "$share"/luci-*; do # left by runs that were killed
		[ -d "$d" ] && ! kill -0 "${d##*-}" 2>/dev/null && rm -rf "$d"
	done
	build/fetch-quickjs.sh >&2
	q=$(readlink -f "${PDMV2_CACHE:-$HOME/.cache/pdmv2}/quickjs/current")
	e2e_dir=$share/e2e-$$
	mkdir -p "$e2e_dir/qjs" "$e2e_dir/sync" "$artifacts"
	cp -L "$q/ld.so" "$q/qjs" "$q/lib/libc.so.6" "$q/lib/libm.so.6" "$e2e_dir/qjs/"
	cp .build/qjs/pdmv2d.min.mjs "$e2e_dir/pdmv2d.mjs"
	cp firmware/files/usr/bin/pdmv2d "$e2e_dir/pdmv2d-wrapper"
	cp -r .build/node "$e2e_dir/host"
	node "$e2e_dir/host/test/lab/e2e-host.js" serve --sync "$e2e_dir/sync" \
		--state "$artifacts/e2e-host" --timeout "$timeout" >"$artifacts/e2e-host.txt" 2>&1 &
	e2e_pid=$!
	netopts=user appends+=("pdmv2.e2e=${e2e_dir#"$share"/}")
fi
# luci: QuickJS, the agent, the stand-in server's bundle and the package
# files in a private directory as for e2e; the host side (primaries and the
# browser) reaches the pages through a forwarded port
if ran luci; then
	build/fetch-quickjs.sh >&2
	q=$(readlink -f "${PDMV2_CACHE:-$HOME/.cache/pdmv2}/quickjs/current")
	luci_dir=$share/luci-$$
	mkdir -p "$luci_dir/qjs" "$luci_dir/sync" "$luci_dir/repo/test/bench" "$luci_dir/repo/firmware" "$artifacts"
	cp -L "$q/ld.so" "$q/qjs" "$q/lib/libc.so.6" "$q/lib/libm.so.6" "$luci_dir/qjs/"
	cp .build/qjs/pdmv2d.min.mjs "$luci_dir/pdmv2d.mjs"
	cp .build/qjs/luci-standin-ubus.min.mjs "$luci_dir/standin-ubus.mjs"
	cp -r luci-app "$luci_dir/repo/"
	cp -r firmware/files "$luci_dir/repo/firmware/"
	mkdir -p "$luci_dir/repo/test"
	cp -r test/luci-standin "$luci_dir/repo/test/"
	cp test/bench/rpcd-status.sh "$luci_dir/repo/test/bench/"
	cp -r .build/node "$luci_dir/host"
	port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
	node "$luci_dir/host/test/lab/luci-host.js" serve --sync "$luci_dir/sync" --state "$artifacts/luci-host" \
		--url "http://127.0.0.1:$port/" --shots "$artifacts/luci-screenshots" \
		--timeout "$timeout" ${keep[@]+"${keep[@]}"} >"$artifacts/luci-host.txt" 2> >(tee -a "$artifacts/luci-host.txt" >&2) &
	luci_pid=$!
	netopts="user,hostfwd=tcp:127.0.0.1:$port-:8080" appends+=("pdmv2.luci=${luci_dir#"$share"/}")
	# rounds of test/bench/rpcd-status.sh (the scenario's default: 3, enough to show it runs)
	[ -z "${PDMV2_RPCD_ROUNDS:-}" ] || appends+=("pdmv2.rpcd_rounds=$PDMV2_RPCD_ROUNDS")
	echo "lab: LuCI pages at http://127.0.0.1:$port/ (forwarded to the guest; logins in $artifacts/luci-host.txt once the test has run)" >&2
fi
net=()
[ -z "$netopts" ] || net=(--net "$netopts" --append "${appends[*]}")

scripts=() poisoned_scripts=()
for n in "${names[@]}"; do
	if poisoned "$n"; then poisoned_scripts+=("${SCRIPT[$n]}"); else scripts+=("${SCRIPT[$n]}"); fi
done
passed=0 failed=0
count() { # LOG: add the counts of a "N passed, M failed" line
	local line
	line=$(lab_summary_counts "$1")
	if [ -z "$line" ]; then failed=$((failed + 1)); return; fi
	passed=$((passed + ${line% *})) failed=$((failed + ${line#* }))
}
host_checks() { # OUT CMD...: a host-side check program, its output kept and counted
	local out=$1; shift
	"$@" | tee "$out" || true
	count "$out"
}

boot_verdict() { # RC: run.sh's own verdict (script exit codes, dmesg) counts once per boot
	if [ "$1" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "not ok - qemu/run.sh exit $1"; fi
}
if [ "$build_rc" = 0 ]; then
	echo "ok - pdmv2.ko builds W=1 clean for $KERNEL_RELEASE"; passed=$((passed + 1))
else
	echo "not ok - pdmv2.ko has W=1 warnings for $KERNEL_RELEASE (.build/kmod/*/build.log)"; failed=$((failed + 1))
fi
rc=0 prc=0
if [ ${#scripts[@]} -gt 0 ]; then
	qemu/run.sh --quiet --timeout "$timeout" --artifacts "$artifacts" --share "$share" --kernel "$kernel" \
		${timing[@]+"${timing[@]}"} ${net[@]+"${net[@]}"} -- "${scripts[@]}" || rc=$?
	stop_e2e_host
	echo "lab: $(tail -n 1 "$artifacts/summary.txt" 2>/dev/null || echo "qemu/run.sh exit $rc")"
fi
if [ ${#poisoned_scripts[@]} -gt 0 ]; then
	qemu/run.sh --quiet --timeout "$timeout" --artifacts "$artifacts/poisoned" --share "$share" --kernel "$kernel" \
		${timing[@]+"${timing[@]}"} --append "$POISON_ARGS" -- "${poisoned_scripts[@]}" || prc=$?
	echo "lab: $(tail -n 1 "$artifacts/poisoned/summary.txt" 2>/dev/null || echo "qemu/run.sh exit $prc")"
fi
# Guest checks: each scenario ends with lab_finish's "N passed, M failed" in its
# output.log; run.sh's own verdict (script exit codes, dmesg) counts once more.
for n in "${names[@]}"; do
	out="$(scenario_dir "$n")/output.log"
	grep -E '^not ok ' "$out" 2>/dev/null || true
	echo "lab: $n: $(grep -E '[0-9]+ passed, [0-9]+ failed' "$out" 2>/dev/null | tail -n 1)"
	count "$out"
done
[ ${#scripts[@]} -eq 0 ] || boot_verdict "$rc"
[ ${#poisoned_scripts[@]} -eq 0 ] || boot_verdict "$prc"

if ran bench; then
	echo "== lab benchmark (one boot, medians of interleaved rounds; ratios to module off and encrypted/clear)${timing[*]:+; timing by instruction count: ${timing[*]}}"
	# results.txt comes back only from a boot that ran: never report an older boot's files
	if [ -f "$artifacts/results.txt" ]; then
		node .build/node/test/bench/lab-bench-report.js "$artifacts/bench" | tee "$artifacts/bench.txt"
	else
		echo "lab: no benchmark results from this boot" | tee "$artifacts/bench.txt"
	fi
fi
if ran datapath; then
	dir=$(scenario_dir datapath)
	echo "== host checks of datapath captures (TypeScript decoder)"
	host_checks "$artifacts/host-checks.txt" node .build/node/test/lab/check-captures.js "$dir"
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
fi
if ran encrypted; then
	echo "== host checks of encrypted captures (decrypted with the test secrets, against the module's trace)"
	host_checks "$artifacts/host-checks-encrypted.txt" \
		node .build/node/test/lab/check-encrypted.js "$(scenario_dir encrypted)"
fi
if ran e2e; then
	echo "== host side of e2e (primaries, pairing, approval, restart, revocation; state in $artifacts/e2e-host)"
	grep -E '^(not )?ok |[0-9]+ passed, [0-9]+ failed' "$artifacts/e2e-host.txt" || true
	count "$artifacts/e2e-host.txt"
	echo "== host checks of e2e captures (analyzer CLI, keys exported by the Primary Client)"
	host_checks "$artifacts/host-checks-e2e.txt" \
		node "$e2e_dir/host/test/lab/e2e-host.js" check --state "$artifacts/e2e-host" "$(scenario_dir e2e)"
fi
if ran luci; then
	echo "== host side of luci (primaries, the browser test; screenshots in $artifacts/luci-screenshots)"
	grep -E '^(not )?ok |^# screenshots|[0-9]+ passed, [0-9]+ failed' "$artifacts/luci-host.txt" || true
	count "$artifacts/luci-host.txt"
fi
echo "lab: artifacts in $artifacts"
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
