#!/bin/bash
# Lab benchmark (guest side): forwarding through rtr with pdmv2.ko in mode off,
# v1 and clear, TCP (iperf3, 4 s) and UDP (iperf3 -u unlimited, 1200-octet
# datagrams, 3 s), lan -> wan, all selected by the nft mark; modes interleaved
# over three rounds so drift on the shared host hits them alike. Leaves
# iperf3 JSON per run in $ARTIFACTS; the host (qemu/lab.sh, via
# test/bench/lab-bench-report.ts) turns them into ratios.
# shellcheck source=/dev/null
. "${LAB_LIB:-/host/scenarios/lib.sh}"
MARK=0x100
# shellcheck source=kmod/test/lab-nft.sh
. "${LAB_SHARE:-/share}/test/lab-nft.sh"
KO=${PDMV2_KO:-${LAB_SHARE:-/share}/pdmv2.ko}

ctl() { local ns=$1; shift; printf '%s\n' "$@" | nsx "$ns" sh -c 'cat > /proc/net/pdmv2/control'; }

lab_topology_up 1500 1500
lab_check "insmod $KO" lab_insmod "$KO"
lab_check "nft marking in rtr" nft_router
lab_check "mark mask" ctl rtr "mark_mask $MARK"
port=5300
for round in 1 2 3; do
	for mode in off v1 clear; do
		ctl rtr "mode $mode"
		port=$((port + 1))
		lab_iperf_server wan $port
		nsx lan iperf3 -6 -c "$WAN_IP" -p $port -t 4 -J >"$ARTIFACTS/tcp-$mode-$round.json" 2>&1
		lab_check "TCP round $round mode $mode" lab_iperf_ok "$ARTIFACTS/tcp-$mode-$round.json" 100000
		port=$((port + 1))
		lab_iperf_server wan $port
		nsx lan iperf3 -6 -c "$WAN_IP" -p $port -u -b 0 -l 1200 -t 3 -J >"$ARTIFACTS/udp-$mode-$round.json" 2>&1
		lab_check "UDP round $round mode $mode" lab_iperf_ok "$ARTIFACTS/udp-$mode-$round.json" 100000
	done
done
nsx rtr cat /proc/net/pdmv2/stats >"$ARTIFACTS/stats.txt"
lab_check "rtr inserted options during the clear and v1 runs" \
	sh -c "[ \"\$(awk '\$1 == \"inserted\" { print \$2 }' $ARTIFACTS/stats.txt)\" -gt 1000 ]"
lab_topology_down
lab_check "rmmod (leave the guest as found for the next scenario)" rmmod pdmv2
lab_finish
