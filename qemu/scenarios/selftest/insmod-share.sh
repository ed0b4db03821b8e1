#!/bin/bash
# Loads every *.ko found in the --share directory ($LAB_SHARE) with
# lab_insmod, lists it, unloads it. Proves the headers/KDIR -> guest path:
#   eval "$(qemu/kernel-env.sh)"; make -C "$KDIR" M=$PWD/DIR modules
#   qemu/run.sh --share DIR -- qemu/scenarios/selftest/insmod-share.sh
. "${LAB_LIB:-$(dirname "$0")/../lib/lab.sh}"
[ -n "${LAB_SHARE:-}" ] || { echo "no /share (use qemu/run.sh --share DIR)"; exit 1; }
n=0
for ko in "$LAB_SHARE"/*.ko; do
	[ -f "$ko" ] || continue
	m=$(basename "$ko" .ko)
	n=$((n + 1))
	lab_check "insmod $m" lab_insmod "$ko"
	lab_check "$m listed in lsmod" sh -c "lsmod | grep -q '^${m//-/_} '"
	lab_check "rmmod $m" rmmod "$m"
done
lab_check "found at least one .ko in $LAB_SHARE" test "$n" -gt 0
dmesg | tail -n 20 >"$ARTIFACTS/dmesg-tail.txt"
lab_finish
