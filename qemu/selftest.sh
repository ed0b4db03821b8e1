#!/usr/bin/env bash
# Self-test of the QEMU lab harness: each case boots the guest once and checks
# run.sh's exit status. About 2-3 minutes under TCG on 2 cores.
#   qemu/selftest.sh            all cases
#   qemu/selftest.sh topology   only the named case(s)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
ART=${ARTIFACTS_ROOT:-artifacts/qemu-selftest}
CASES=("$@")
[ ${#CASES[@]} -gt 0 ] || CASES=(topology fail-exit kernel-warning hang insmod)
pass=0 fail=0
expect() { # name expected-rc run.sh args...
	local name=$1 want=$2 rc; shift 2
	qemu/run.sh --quiet --artifacts "$ART/$name" "$@"
	rc=$?
	if [ "$rc" = "$want" ]; then echo "ok - $name (run.sh rc=$rc)"; pass=$((pass + 1))
	else echo "not ok - $name (run.sh rc=$rc, expected $want)"; fail=$((fail + 1)); fi
}
for c in "${CASES[@]}"; do
	case $c in
	topology) expect topology 0 -- qemu/scenarios/topology.sh ;;
	fail-exit) expect fail-exit 1 -- qemu/scenarios/selftest/fail-exit.sh ;;
	kernel-warning) expect kernel-warning 3 -- qemu/scenarios/selftest/kernel-warning.sh ;;
	hang) expect hang 124 --timeout 45 -- qemu/scenarios/selftest/hang.sh ;;
	panic) expect panic 4 --timeout 60 -- qemu/scenarios/selftest/panic.sh ;;
	insmod)
		# build a trivial out-of-tree module against the lab kernel, load it in the guest
		d=$(mktemp -d)
		printf '%s\n' '#include <linux/module.h>' \
			'static int __init h_init(void) { pr_info("labhello: loaded\n"); return 0; }' \
			'static void __exit h_exit(void) { }' \
			'module_init(h_init); module_exit(h_exit); MODULE_LICENSE("GPL");' >"$d/labhello.c"
		echo 'obj-m := labhello.o' >"$d/Kbuild"
		eval "$(qemu/kernel-env.sh --check)"
		if make -s -C "$KDIR" M="$d" modules >"$d/build.log" 2>&1; then
			rm -f "$d"/*.o "$d"/*.mod* "$d"/.*.cmd
			expect insmod 0 --share "$d" -- qemu/scenarios/selftest/insmod-share.sh
		else
			cat "$d/build.log"; echo "not ok - insmod (module build failed)"; fail=$((fail + 1))
		fi
		rm -rf "$d" ;;
	*) echo "unknown case $c"; fail=$((fail + 1)) ;;
	esac
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
