#!/usr/bin/env bash
# Boot the pdmv2 lab image under QEMU (TCG) and run scenario scripts in it.
#
#   qemu/run.sh [options] -- SCRIPT [SCRIPT...]
#   qemu/run.sh --shell [--share DIR]          interactive guest shell
#
# Options:
#   --arch ARCH       the CPU to boot (qemu/arch.sh: amd64, arm64, armhf, s390x;
#                     default the host's or $PDMV2_LAB_ARCH): QEMU board, console
#                     and virtio transport come from that table
#   --kernel K        the Debian kernel to boot (6.1 default, 6.12; or
#                     $PDMV2_LAB_KERNEL), each with its own cached image
#   --artifacts DIR   where results land (default: <repo>/artifacts/qemu/<first
#                     script name>, emptied first). Gets console.log, dmesg.txt,
#                     results.txt, summary.txt and one subdirectory per script
#                     with whatever it wrote to $ARTIFACTS in the guest.
#   --timeout SEC     wall-clock limit for the whole boot (default 600)
#   --share DIR       also export DIR (read-write) to the guest at /share
#                     (e.g. the directory holding pdmv2.ko); $LAB_SHARE=/share
#   --mem MB / --smp N  guest size (default 1024 / the arch's: 2 on amd64, 1 on
#                     foreign CPUs; 1 vCPU with --icount)
#   --quiet           don't echo the guest console (it is still logged)
#   --keep            keep the temporary 9p control directory
#   --append ARGS     extra kernel command line arguments
#   --icount SHIFT    deterministic timing for benchmarks: one vCPU (the
#                     default then; QEMU 7.2 never brings up a second), the
#                     guest's clock advances 2^SHIFT ns per instruction
#                     executed (-icount shift=SHIFT,sleep=off), so host load
#                     does not reach the guest's figures (docs/lab.md)
#   --extra DIR       bake DIR into the image (build-image.sh --extra; a
#                     separate cached image). Prefer --share for project files.
#   --net user[,OPTS] add a virtio NIC on QEMU user-mode networking (slirp;
#                     OPTS are -netdev user options, e.g. hostfwd=tcp::2222-:22).
#                     The guest sees it as eth0 once it loads virtio_net and
#                     configures it itself (10.0.2.15/24, gateway 10.0.2.2); the
#                     host's 127.0.0.1:PORT is the guest's 10.0.2.2:PORT; IPv4
#                     only (ipv6=off). Default: no NIC at all.
#
# All scripts run in one boot, in order, under bash, each with
# ARTIFACTS=/host/artifacts/<name> and LAB_LIB=/host/scenarios/lib/lab.sh.
# Artifacts come back through the 9p share, not the console.
#
# Exit status: 0 pass; 1 a script failed; 3 the kernel log has an oops,
# WARNING:, BUG:, Call Trace, general protection fault or panic (even if the
# scripts passed); 4 the guest died without reporting (panic/crash);
# 124 timeout (a script still running at --timeout minus a margin is killed in
# the guest so dmesg and artifacts still come back; if the guest itself hangs,
# QEMU is killed at --timeout); 2 usage/infrastructure error. The last line
# printed is a one-line summary (also in summary.txt).
set -euo pipefail
LAB_PROG=run.sh
# shellcheck source=qemu/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=qemu/arch.sh
. "$QEMU_DIR/arch.sh"

LAB_ARCH=${PDMV2_LAB_ARCH:-$(lab_host_arch)} LAB_KERNEL_CHOICE=${PDMV2_LAB_KERNEL:-$LAB_DEFAULT_KERNEL}
ARTIFACTS= TIMEOUT=600 SHARE= MEM=1024 SMP= QUIET= KEEP= SHELL_MODE= APPEND= NET= ICOUNT= SCRIPTS=() BUILD_ARGS=()
while [ $# -gt 0 ]; do
	case $1 in
	--artifacts) ARTIFACTS=$2; shift ;;
	--timeout) TIMEOUT=$2; shift ;;
	--share) SHARE=$(cd "$2" && pwd); shift ;;
	--arch) LAB_ARCH=$2; shift ;;
	--kernel) LAB_KERNEL_CHOICE=$2; shift ;;
	--mem) MEM=$2; shift ;;
	--smp) SMP=$2; shift ;;
	--quiet|-q) QUIET=1 ;;
	--keep) KEEP=1 ;;
	--shell) SHELL_MODE=1 ;;
	--append) APPEND=$2; shift ;;
	--icount) ICOUNT=$2; shift ;;
	--extra) BUILD_ARGS+=(--extra "$2"); shift ;;
	--net) NET=$2; shift ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	--) shift; SCRIPTS=("$@"); break ;;
	-*) lab_die "unknown option $1 (see --help)" ;;
	*) SCRIPTS+=("$1") ;;
	esac
	shift
done
[ ${#SCRIPTS[@]} -gt 0 ] || [ -n "$SHELL_MODE" ] || lab_die "no script given (usage: qemu/run.sh [opts] -- SCRIPT...)"
[[ $TIMEOUT =~ ^[0-9]+$ ]] || lab_die "--timeout wants seconds"
[ -z "$ICOUNT" ] || [[ $ICOUNT =~ ^[0-9]$ ]] || lab_die "--icount wants a shift of 0-9"
if [ -n "$ICOUNT" ]; then
	[ "${SMP:-1}" = 1 ] || lab_die "--icount boots one vCPU only (the second never comes up)"
	SMP=1
fi
lab_arch_load "$LAB_ARCH"
[ -n "$ARCH_QEMU" ] || lab_die "arch $LAB_ARCH has no lab boot (user-space tests only)"
SMP=${SMP:-$ARCH_SMP}
[ -z "$NET" ] || [[ $NET == user || $NET == user,* ]] || lab_die "--net supports user[,OPTS] only"
for s in ${SCRIPTS[@]+"${SCRIPTS[@]}"}; do [ -f "$s" ] || lab_die "no such script: $s"; done

T0=$(date +%s.%N)
case $ARCH_QEMU in
qemu-system-x86_64) QPKG=qemu-system-x86 ;;
qemu-system-aarch64|qemu-system-arm) QPKG=qemu-system-arm ;;
*) QPKG=qemu-system-misc ;;
esac
lab_need_tools "$ARCH_QEMU:$QPKG" timeout:coreutils
BUILD_ARGS+=(--arch "$LAB_ARCH" --kernel "$LAB_KERNEL_CHOICE")

# image (warm: ~0.1 s; cold: ~20 s, see build-image.sh)
ENV_OUT=$("$QEMU_DIR/build-image.sh" --quiet --print-env ${BUILD_ARGS[@]+"${BUILD_ARGS[@]}"}) || lab_die "image build failed"
eval "$(printf '%s\n' "$ENV_OUT" | grep -E '^(KERNEL_RELEASE|LAB_KERNEL|LAB_INITRD)=')"
T_IMAGE=$(lab_elapsed "$T0")

# 9p control share
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pdmv2-lab.XXXXXX")
cleanup() {
	if [ -n "$KEEP" ]; then lab_log "kept control dir $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$WORK"/{scripts,artifacts}
cp "$QEMU_DIR/guest/runner.sh" "$WORK/runner.sh"
cp -a "$QEMU_DIR/scenarios" "$WORK/scenarios"
declare -A USED=()
for s in ${SCRIPTS[@]+"${SCRIPTS[@]}"}; do
	n=$(basename "$s")
	[ -z "${USED[$n]:-}" ] || n="${#USED[@]}-$n"
	USED[$n]=1
	cp "$s" "$WORK/scripts/$n"
	echo "$n" >>"$WORK/scripts.list"
done

if [ -n "$SHELL_MODE" ]; then
	ARTIFACTS=$WORK/artifacts
elif [ -z "$ARTIFACTS" ]; then
	first=${SCRIPTS[0]}
	ARTIFACTS=$REPO_DIR/artifacts/qemu/$(basename "${first%.sh}")
	rm -rf "$ARTIFACTS"
fi
mkdir -p "$ARTIFACTS"
ARTIFACTS=$(cd "$ARTIFACTS" && pwd)
rm -f "$ARTIFACTS"/{console.log,dmesg.txt,results.txt,summary.txt}

# guest-side deadline a bit before the host timeout, so that a hung script is
# killed in the guest and dmesg/artifacts still come back
DEADLINE=$((TIMEOUT > 60 ? TIMEOUT - 20 : TIMEOUT * 2 / 3))
# tsc=reliable: under multi-threaded TCG the kernel finds the vCPUs' TSCs
# unsynchronised and falls back to the HPET, whose every read is an
# emulated MMIO access costing microseconds. Every packet the module
# touches reads the clock (the PSN's send time), a router's forwarding path
# alone does not, so the lab would charge the module for the emulator. TCG
# derives every vCPU's TSC from one virtual clock, so it is monotonic
# across them, as a router's arch timer or cycle counter is.
CMDLINE="console=$ARCH_CONSOLE panic=-1 quiet mitigations=off slab_nomerge${ARCH_APPEND:+ $ARCH_APPEND} pdmv2.run=/host/runner.sh pdmv2.deadline=$DEADLINE"
[ -z "$SHARE" ] || CMDLINE+=" pdmv2.share=share"
[ -z "$SHELL_MODE" ] || CMDLINE+=" pdmv2.shell"
[ -z "$APPEND" ] || CMDLINE+=" $APPEND"

ACCEL=(-accel tcg,thread=multi)
[ -z "$ICOUNT" ] || ACCEL=(-accel tcg,thread=single -icount "shift=$ICOUNT,sleep=off")
V9P=$(lab_virtio_dev 9p) VNET=$(lab_virtio_dev net)
QEMU=("$ARCH_QEMU" "${ACCEL[@]}" -machine "$ARCH_MACHINE" -cpu "$ARCH_CPU"
	-smp "$SMP" -m "$MEM" -nodefaults -no-user-config -display none -no-reboot
	-kernel "$LAB_KERNEL" -initrd "$LAB_INITRD" -append "$CMDLINE"
	-fsdev "local,id=fshost,path=$WORK,security_model=none,multidevs=remap"
	-device "$V9P,fsdev=fshost,mount_tag=host")
[ -z "$SHARE" ] || QEMU+=(
	-fsdev "local,id=fsshare,path=$SHARE,security_model=none,multidevs=remap"
	-device "$V9P,fsdev=fsshare,mount_tag=share")
[ -z "$NET" ] || QEMU+=(
	-netdev "user,id=net0,ipv6=off,net=10.0.2.0/24,host=10.0.2.2${NET#user}"
	-device "$VNET,netdev=net0,mac=52:54:00:12:34:56")
# the console: a UART on most boards, the SCLP line console on s390
SERIAL=(-serial chardev:con)
[ "$ARCH_CONSOLE" != ttysclp0 ] || SERIAL=(-device sclpconsole,chardev=con)

if [ -n "$SHELL_MODE" ]; then
	QEMU+=(-chardev stdio,id=con,mux=on,signal=off "${SERIAL[@]}" -mon chardev=con,mode=readline)
	lab_log "interactive guest shell; 'exit' powers off (Ctrl-A x kills QEMU)"
	"${QEMU[@]}"
	exit 0
fi
QEMU+=(-chardev stdio,id=con,signal=off "${SERIAL[@]}")

# boot; the console goes to console.log and (prefixed) to stdout
lab_log "booting $KERNEL_RELEASE ($LAB_ARCH, $ARCH_MACHINE) under TCG (timeout ${TIMEOUT}s): ${SCRIPTS[*]}"
T_QEMU=$(date +%s.%N)
set +e
timeout --foreground -k 10 "$TIMEOUT" "${QEMU[@]}" </dev/null 2>&1 |
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line//$'\r'/}
		printf '%s\n' "$line" >>"$ARTIFACTS/console.log"
		case $line in
		"pdmv2-lab: boot done"*) lab_elapsed "$T_QEMU" >"$WORK/.t_boot" ;;
		esac
		[ -n "$QUIET" ] || printf 'guest| %s\n' "$line"
	done
QRC=${PIPESTATUS[0]}
set -e
T_TOTAL=$(lab_elapsed "$T0")
T_BOOT=$(cat "$WORK/.t_boot" 2>/dev/null || echo "?")

# collect
cp -a "$WORK/artifacts/." "$ARTIFACTS/" 2>/dev/null || true
for f in dmesg.txt results.txt; do [ ! -f "$WORK/$f" ] || cp "$WORK/$f" "$ARTIFACTS/"; done

STATUS=PASS RC=0 WHY=
GUEST_RC=$(cat "$WORK/.exit_code" 2>/dev/null || true)
# slub_debug's reports start "BUG <cache> (Tainted...): Poison overwritten"
BAD='Oops|WARNING:|BUG:|BUG [^ ]+ \(|Poison overwritten|Redzone overwritten|Object already free|Freepointer corrupt|pagealloc: memory corruption|Call Trace|general protection|Kernel panic|UBSAN:|KASAN:|list_(add|del) corruption|soft lockup|hard LOCKUP|rcu_.*stall|hung_task'
if [ "$QRC" = 124 ] || [ "$QRC" = 137 ]; then
	STATUS=FAIL RC=124 WHY="timeout after ${TIMEOUT}s"
elif [ -z "$GUEST_RC" ]; then
	STATUS=FAIL RC=4 WHY="guest ended without an exit code (qemu rc=$QRC; panic or crash? see console.log)"
elif [ "$GUEST_RC" = 124 ]; then
	STATUS=FAIL RC=124 WHY="script killed at the guest deadline (${DEADLINE}s uptime, --timeout $TIMEOUT)"
elif [ "$GUEST_RC" != 0 ]; then
	STATUS=FAIL RC=1 WHY="guest script exit code $GUEST_RC"
fi
# kernel log check: dmesg saved by init, else whatever reached the console
KLOG=$ARTIFACTS/dmesg.txt
[ -f "$KLOG" ] || KLOG=$ARTIFACTS/console.log
if [ -f "$KLOG" ] && grep -Eq "$BAD" "$KLOG"; then
	lab_log "kernel log problems ($(basename "$KLOG")):"
	grep -E "$BAD" "$KLOG" | head -n 10 | sed 's/^/    /' >&2
	if [ "$RC" = 0 ]; then STATUS=FAIL RC=3 WHY="kernel log has oops/WARNING/BUG"
	else WHY+="; kernel log has oops/WARNING/BUG"; fi
fi

PER=$( [ -f "$ARTIFACTS/results.txt" ] && awk '{printf "%s%s=%s(%ss)", (NR > 1 ? " " : ""), $1, $2, $3}' "$ARTIFACTS/results.txt")
SUMMARY="pdmv2-lab: $STATUS${WHY:+ ($WHY)} | ${PER:-no results} | image ${T_IMAGE}s, boot-to-script ${T_BOOT}s, total ${T_TOTAL}s | $ARTIFACTS"
echo "$SUMMARY" >"$ARTIFACTS/summary.txt"
echo "$SUMMARY"
exit "$RC"
