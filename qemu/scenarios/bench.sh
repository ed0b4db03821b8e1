#!/bin/bash
# Lab benchmark (guest side), all figures from one boot, modes interleaved
# over rounds so that drift on the shared host hits them alike:
#
# 1. Forwarding throughput lan -> wan through rtr with pdmv2.ko in mode off,
#    v1, clear and encrypted (rtr holds the gen-1 key of the encrypted
#    scenario, test/lab/encrypted-setup.ts): TCP (iperf3, 4 s) and UDP
#    (iperf3 -u unlimited, 1200-octet datagrams, 3 s), selected by the nft
#    mark, $BENCH_ROUNDS rounds (5). TCP runs over two kinds of WAN link:
#    - "agg": rtr's wan0 as veth makes it, with TSO: a forwarded 64 KiB GRO
#      aggregate crosses to wan whole when the module is off (no link of
#      MTU-sized frames anywhere);
#    - "wire": wan0 without TSO, like the WAN port of most router SoCs: the
#      device segments forwarded aggregates in software (validate_xmit_skb),
#      so the link carries MTU-sized frames in every mode. With the module
#      on, the kernel still segments them and the module numbers the
#      segments (v1, clear: pending options, kmod/pdmv2_gso.c) or puts
#      in the options the hook sealed for them (encrypted); mode
#      "clearhook" is clear with gso_defer off, where the hook segments
#      (as it does on the agg link), for the ratio of the two ways.
#    CPU cost: TCP at a fixed rate ($BENCH_COST_RATE, 200 Mbit/s, below
#    what every mode reaches) over the wire link in modes off, clear and
#    clearhook, and the guest's busy CPU time during each run from
#    /proc/stat (tcpcost-cpu-MODE-ROUND.json; iperf3's in
#    tcpcost-iperf-MODE-ROUND.json): what the same traffic costs.
#    Parts: what clear costs over module off, split into the share of the
#    wire format and the share of the router's module, on the wire link.
#    qemu/tools/dstopt-send.c sends $BENCH_PARTS_BYTES (200 MiB) lan -> wan
#    to its sink, which times it (tcpparts-MODE-ROUND.txt). Modes: off (a
#    plain TCP sender); offopt (module off, the sender's own sticky
#    32-octet Destination Options header, the size clear's makes: the
#    same packets on the wire and at the receiver as in clear, 32 octets
#    less payload each, and rtr does nothing); cleardata (a plain sender,
#    rtr inserts into lan -> wan only: nft marks that direction alone, so
#    the ACKs coming back get no option); clear (a plain sender, rtr
#    inserts both ways, as everywhere else); offoptenc and encrypted the
#    same for the encrypted option (a 40-octet header). clear/offopt and
#    encrypted/offoptenc are then the module's own cost, and
#    clear/cleardata the share of the ACKs.
#    Profile: one transfer of the parts series in modes offopt, clear,
#    offoptenc and encrypted under qemu/tools/ipsample.c (the kernel's
#    instruction pointer sampled every 50 us of CPU time): samples per
#    kernel function, profile-MODE.txt; the host report prints where
#    clear and encrypted spend more.
#    $BENCH_SERIES (default "agg wire cost udp parts profile flows
#    flowprofile") picks
#    a subset; $BENCH_PROFILE_MODES the profile's modes ("offopt clear
#    offoptenc encrypted"; also cleardata, off).
#    iperf3 JSON per run: tcp-MODE-ROUND.json (agg), tcpwire-MODE-ROUND.json,
#    udp-MODE-ROUND.json, and for UDP the packets rtr sent on wan0 over the
#    run's wall time (udpfwd-MODE-ROUND.json: forwarding rate, which the
#    receiving socket's drops do not change); the rtr counters each run
#    moved: runs.txt.
# 2. New-flow rate: qemu/tools/flowgen.c sends $BENCH_FLOWS (20000) UDP
#    packets lan -> wan, each from another source port (a new flow at rtr),
#    in mode off, clear and encrypted (one STK derivation per flow), five
#    rounds ($BENCH_FLOW_ROUNDS); rtr's flow table is flushed and the slab
#    cache shrunk before each run. Per run flows-MODE-ROUND.json:
#    flowgen's line, the rtr counter deltas (flows_created, inserted,
#    keys_derived, ...), the packets wan received.
# 3. Memory per flow: after each encrypted run, with $BENCH_FLOWS keyed flows
#    in the table, the pdmv2_flow slab cache (/sys/kernel/slab, the lab boots
#    with slab_nomerge): memory-ROUND.json.
#
# The host (qemu/lab.sh, via test/bench/lab-bench-report.ts) turns them into
# medians and ratios.
# shellcheck source=/dev/null
. "${LAB_LIB:-/host/scenarios/lib/lab.sh}"
MARK=0x100
SHARE=${LAB_SHARE:-/share}
# shellcheck source=qemu/scenarios/lib/nft.sh
. "${LAB_SCENARIOS:-/host/scenarios}/lib/nft.sh"
KO=${PDMV2_KO:-$SHARE/pdmv2.ko}
ENC=$SHARE/enc
FLOWGEN=$SHARE/tools/flowgen
FLOWS=${BENCH_FLOWS:-20000}
ROUNDS=${BENCH_ROUNDS:-5}
FLOW_ROUNDS=${BENCH_FLOW_ROUNDS:-5}
# 20000 flows in the default 1024 buckets would be chains of 20: size the
# table for the flow count, as an operator expecting that many would
HASH_BUCKETS=${BENCH_HASH_BUCKETS:-16384}
# CPU mask (taskset) for the iperf3 client and server, empty: not pinned. An
# experiment knob: pinned to one CPU the flow is forwarded by one CPU only
PIN=${BENCH_PIN:-}
SINK_PORT=9
SLAB=/sys/kernel/slab/pdmv2_flow

ctl() { local ns=$1; shift; printf '%s\n' "$@" | nsx "$ns" sh -c 'cat > /proc/net/pdmv2/control'; }
ctl_file() { nsx "$1" sh -c 'cat > /proc/net/pdmv2/control' <"$2"; }
# packets dropped because a CPU's input backlog (netdev_max_backlog) was full:
# veth hands every packet to the peer through it (all namespaces)
backlog_drops() {
	local n=0 _ d rest
	while read -r _ d rest; do n=$((n + 16#$d)); done </proc/net/softnet_stat
	echo $n
}
stats() { nsx rtr cat /proc/net/pdmv2/stats; echo "backlog_drops $(backlog_drops)"; }
# cnt NAME FILE: value of a counter in a saved stats dump (0 if absent)
cnt() { awk -v n="$1" '$1 == n { v = $2 } END { print v + 0 }' "$2"; }
# delta NAME BEFORE AFTER
delta() { echo $(($(cnt "$1" "$3") - $(cnt "$1" "$2"))); }

# ---------------------------------------------------------------- setup
lab_topology_up 1500 1500
# Receive steering as a multi-queue NIC does it (RSS): every packet of a flow
# is handled by one CPU. veth by itself queues a packet on the backlog of
# the CPU that sent it, and a TCP sender transmits from two CPUs (its
# process, and the softirq handling its ACKs), so the two CPUs' packet trains
# interleave at the receiver: reordering, DSACKs and spurious retransmits
# that say nothing about the module. RPS on every receiving veth end hashes
# each flow to one CPU. BENCH_RPS=0: leave veth as it is.
RPS_MASK=$(printf '%x' $(((1 << $(nproc)) - 1)))
rps_on() { # NS IFACE
	nsx "$1" sh -c "echo $RPS_MASK >/sys/class/net/$2/queues/rx-0/rps_cpus"
}
rps_check() {
	rps_on lan eth0 && rps_on rtr lan0 && rps_on rtr wan0 && rps_on wan eth0 &&
		[ "$(nsx wan cat /sys/class/net/eth0/queues/rx-0/rps_cpus | tr -d 0,)" = "$RPS_MASK" ]
}
[ "${BENCH_RPS:-1}" = 0 ] || lab_check "RPS on every veth end (CPU mask $RPS_MASK)" rps_check
# SHA-256 as an OpenWrt x86-64 router has it: kmod-crypto-sha256 loads the
# CPU's (sha256-ssse3: SSSE3, AVX or AVX2) beside sha256-generic; the module
# takes the fastest loaded when it starts (the kernel log names it)
if [ "$(uname -m)" = x86_64 ]; then
	lab_check "modprobe sha256_ssse3 (what OpenWrt's kmod-crypto-sha256 loads on x86-64)" modprobe sha256_ssse3
fi
lab_check "insmod $KO hash_buckets=$HASH_BUCKETS" lab_insmod "$KO" "hash_buckets=$HASH_BUCKETS"
lab_save sha256-driver.txt sh -c "dmesg | grep -o 'pdmv2: SHA-256: .*' | tail -n 1"
lab_check "nft marking in rtr" nft_router
lab_check "mark mask, max_flows 65536" ctl rtr "mark_mask $MARK" "max_flows 65536"
lab_check "rtr: gen-1 key installed ($ENC/rtr-gen1.ctl)" ctl_file rtr "$ENC/rtr-gen1.ctl"
nsx rtr cat /proc/net/pdmv2/keys >"$ARTIFACTS/keys-rtr.txt"
lab_check "rtr keys: an active key" grep -Eq '^key .* active$' "$ARTIFACTS/keys-rtr.txt"
# wan: the flowgen packets end in an nft counter (no listener, no ICMPv6 errors back)
lab_check "wan: sink for UDP port $SINK_PORT" nsx wan nft -f - <<EOF
table inet bench {
	chain pre {
		type filter hook prerouting priority raw; policy accept;
		udp dport $SINK_PORT counter drop comment "flowgen"
	}
}
EOF
lab_check "flowgen present" test -x "$FLOWGEN"
lab_check "slab cache pdmv2_flow in sysfs" test -r "$SLAB/slabs"
lab_check "ping lan -> wan" nsx lan ping -6 -c 2 -i 0.2 -W 2 "$WAN_IP"
stats >"$ARTIFACTS/stats-start.txt"

# ---------------------------------------------------------------- 1. throughput
: >"$ARTIFACTS/runs.txt"
# the SNMP counters (TCP retransmits, losses, drops) a run moved, per namespace
nstat_mark() { local ns; for ns in $LAB_NAMESPACES; do NSTAT_HISTORY=/tmp/nstat.$ns nsx "$ns" nstat -n; done; }
nstat_save() { # FILE
	local ns
	for ns in $LAB_NAMESPACES; do
		echo "== $ns"
		NSTAT_HISTORY=/tmp/nstat.$ns nsx "$ns" nstat
	done >"$ARTIFACTS/$1" 2>&1
}
run_check() { # PROTO MODE ROUND BEFORE AFTER: the counters fit the mode
	local ins nos def seg
	ins=$(delta inserted "$4" "$5") nos=$(delta skip_no_secret "$4" "$5")
	def=$(delta gso_deferred "$4" "$5") seg=$(delta gso_segmented "$4" "$5")
	echo "$1 $2 $3 inserted $ins skip_no_secret $nos keys_derived $(delta keys_derived "$4" "$5")" \
		"gso_deferred $def gso_segmented $seg" \
		"backlog_drops $(($(cnt backlog_drops "$5") - $(cnt backlog_drops "$4")))" >>"$ARTIFACTS/runs.txt"
	echo "inserted +$ins, skip_no_secret +$nos, gso_deferred +$def, gso_segmented +$seg"
	case $2 in
	off|offopt*) [ "$ins" -eq 0 ] ;;
	*) [ "$ins" -gt 1000 ] && [ "$nos" -eq 0 ] || return 1 ;;
	esac
	# the way GSO packets took: the kernel cuts the aggregates for a WAN
	# port without TSO (v1 and clear numbered by the wrapper, encrypted
	# sealed per segment by the hook and put in by the wrapper); the hook
	# segments the others (a TSO port takes aggregates whole)
	case $1-$2 in
	tcpwire-v1|tcpwire-clear|tcpwire-encrypted|tcpcost-clear|tcpparts-clear*|tcpparts-encrypted) [ "$def" -gt 0 ] && [ "$seg" -eq 0 ] ;;
	tcp-v1|tcp-clear|tcp-encrypted|tcpwire-clearhook|tcpcost-clearhook)
		[ "$def" -eq 0 ] && [ "$seg" -gt 0 ] ;;
	*) true ;;
	esac
}
# tcp_run NAME MODE ROUND: one iperf3 TCP run lan -> wan into NAME-MODE-ROUND.json
port=5300
tcp_run() {
	port=$((port + 1))
	lab_iperf_server wan $port
	[ -z "$PIN" ] || taskset -p "$PIN" "$LAB_LAST_PID" >/dev/null
	stats >/tmp/before
	nstat_mark
	nsx lan ${PIN:+taskset "$PIN"} iperf3 -6 -c "$WAN_IP" -p $port -t 4 -J >"$ARTIFACTS/$1-$2-$3.json" 2>&1
	stats >/tmp/after
	nstat_save "$1-$2-$3.nstat.txt"
	lab_check "$1 round $3 mode $2" lab_iperf_ok "$ARTIFACTS/$1-$2-$3.json" 100000
	lab_check "$1 round $3 mode $2: rtr counters" run_check "$1" "$2" "$3" /tmp/before /tmp/after
}
# packets rtr sent on its WAN port: what it forwarded, whatever the receiver
# then drops (an unlimited UDP sender overruns the receiving socket)
wan_tx_packets() { nsx rtr cat /sys/class/net/wan0/statistics/tx_packets; }
# "cpu BUSY TOTAL" in jiffies, all CPUs: busy is all but idle and iowait
cpu_jiffies() { awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i; print "cpu", t - $5 - $6, t }' /proc/stat; }
COST_RATE=${BENCH_COST_RATE:-200M}
# the series to run (a subset for a closer look at one, with more rounds)
SERIES=" ${BENCH_SERIES:-agg wire cost udp parts profile flows flowprofile} "
has() { [[ $SERIES == *" $1 "* ]]; }
# parts_run MODE ROUND: one timed bulk transfer lan -> wan, no iperf3 (its
# sender cannot set a Destination Options header)
DSTOPT_SEND=$SHARE/tools/dstopt-send
IPSAMPLE=$SHARE/tools/ipsample
PARTS_BYTES=${BENCH_PARTS_BYTES:-209715200}
parts_run() {
	local out=$ARTIFACTS/tcpparts-$1-$2.txt sink plain=-n
	[ "$1" != offopt ] || plain=
	[ "$1" != offoptenc ] || plain=-e
	port=$((port + 1))
	lab_bg sh -c "ip netns exec wan $DSTOPT_SEND -l -p $port >$out"
	sink=$LAB_LAST_PID
	lab_wait_listen wan "$port"
	stats >/tmp/before
	lab_check "parts round $2 mode $1: $PARTS_BYTES octets sent" \
		nsx lan "$DSTOPT_SEND" ${plain:+"$plain"} -b "$PARTS_BYTES" -p "$port" "$WAN_IP"
	lab_wait_pid "$sink" 30
	stats >/tmp/after
	lab_check "parts round $2 mode $1: all received" grep -q "^received $PARTS_BYTES octets in [0-9]* ns" "$out"
	lab_check "parts round $2 mode $1: rtr counters" run_check tcpparts "$1" "$2" /tmp/before /tmp/after
}
mark_lan_to_wan_only() {
	nsx rtr nft -f - <<EOF || return 1
flush chain inet pdmv2 pre
add rule inet pdmv2 pre ip6 saddr $LAN_NET ip6 daddr $WAN_NET meta mark set meta mark or $MARK counter comment "lan-wan"
EOF
	[ "$(nsx rtr nft list chain inet pdmv2 pre | grep -c 'meta mark set')" -eq 1 ]
}
mark_both() { nsx rtr nft delete table inet pdmv2 && nft_router; }
# parts_mode_begin LABEL MODE / parts_mode_end LABEL MODE: rtr set up for a
# mode of the parts series (clear*: module in clear; cleardata: nft marks
# lan -> wan only) and back to both directions marked
parts_mode_begin() {
	case $2 in
	clear*) ctl rtr "mode clear" ;;
	encrypted) ctl rtr "mode encrypted" ;;
	*) ctl rtr "mode off" ;;
	esac
	[ "$2" != cleardata ] || lab_check "$1: nft marks lan -> wan only" mark_lan_to_wan_only
}
parts_mode_end() {
	[ "$2" != cleardata ] || lab_check "$1: nft marks both ways again" mark_both
}
wan_tso() { nsx rtr ethtool -K wan0 tso "$1" >/dev/null; }
wan_tso_is() { nsx rtr ethtool -k wan0 | grep -q "^tcp-segmentation-offload: $1"; }
for round in $(seq 1 "$ROUNDS"); do
	# the link order alternates by round, so that drift hits both alike
	links="agg wire"
	[ $((round % 2)) -eq 1 ] || links="wire agg"
	for link in $links; do
		has "$link" || continue
		case $link in
		agg) wan_tso on; lab_check "round $round: rtr wan0 TSO on" wan_tso_is on ;;
		wire) wan_tso off; lab_check "round $round: rtr wan0 TSO off" wan_tso_is off ;;
		esac
		name=tcp
		[ "$link" = agg ] || name=tcpwire
		modes="off v1 clear encrypted"
		[ "$link" = agg ] || modes="off v1 clear clearhook encrypted"
		for mode in $modes; do
			# clearhook: clear, its GSO packets segmented in the hook
			case $mode in
			clearhook) ctl rtr "mode clear" "gso_defer off" ;;
			*) ctl rtr "mode $mode" "gso_defer on" ;;
			esac
			tcp_run "$name" "$mode" "$round"
		done
		ctl rtr "gso_defer on"
	done
	# CPU cost at a fixed rate over the wire link: the same traffic in
	# every mode, the guest's busy CPU time per run (/proc/stat, both
	# vCPUs: rtr, lan's sender and wan's receiver alike)
	wan_tso off
	for mode in off clear clearhook; do
		has cost || break
		case $mode in
		clearhook) ctl rtr "mode clear" "gso_defer off" ;;
		*) ctl rtr "mode $mode" "gso_defer on" ;;
		esac
		port=$((port + 1))
		lab_iperf_server wan $port
		stats >/tmp/before
		read -r _ c0 < <(cpu_jiffies)
		nsx lan iperf3 -6 -c "$WAN_IP" -p "$port" -b "$COST_RATE" -t 4 -J >"$ARTIFACTS/tcpcost-iperf-$mode-$round.json" 2>&1
		read -r _ c1 < <(cpu_jiffies)
		stats >/tmp/after
		printf '{"busy":%d,"total":%d}\n' "$((${c1% *} - ${c0% *}))" "$((${c1#* } - ${c0#* }))" \
			>"$ARTIFACTS/tcpcost-cpu-$mode-$round.json"
		lab_check "CPU cost round $round mode $mode" lab_iperf_ok "$ARTIFACTS/tcpcost-iperf-$mode-$round.json" 100000
		lab_check "CPU cost round $round mode $mode: rtr counters" run_check tcpcost "$mode" "$round" /tmp/before /tmp/after
	done
	ctl rtr "gso_defer on"
	for mode in off offopt cleardata clear offoptenc encrypted; do
		has parts || break
		parts_mode_begin "parts round $round" "$mode"
		parts_run "$mode" "$round"
		parts_mode_end "parts round $round" "$mode"
	done
	wan_tso on
	for mode in off v1 clear encrypted; do
		has udp || break
		ctl rtr "mode $mode"
		port=$((port + 1))
		lab_iperf_server wan $port
		[ -z "$PIN" ] || taskset -p "$PIN" "$LAB_LAST_PID" >/dev/null
		stats >/tmp/before
		tx0=$(wan_tx_packets) t0=${EPOCHREALTIME/./}
		nsx lan ${PIN:+taskset "$PIN"} iperf3 -6 -c "$WAN_IP" -p "$port" -u -b 0 -l 1200 -t 3 -J >"$ARTIFACTS/udp-$mode-$round.json" 2>&1
		tx1=$(wan_tx_packets) t1=${EPOCHREALTIME/./}
		printf '{"packets":%d,"ns":%d}\n' $((tx1 - tx0)) $(((t1 - t0) * 1000)) >"$ARTIFACTS/udpfwd-$mode-$round.json"
		stats >/tmp/after
		lab_check "UDP round $round mode $mode" lab_iperf_ok "$ARTIFACTS/udp-$mode-$round.json" 100000
		lab_check "UDP round $round mode $mode: rtr counters" run_check udp "$mode" "$round" /tmp/before /tmp/after
	done
done
# the kernel's profile of the same packets with and without rtr's module
if has profile; then
	wan_tso off
	for mode in ${BENCH_PROFILE_MODES:-offopt clear offoptenc encrypted}; do
		parts_mode_begin profile "$mode"
		lab_bg "$IPSAMPLE" "$ARTIFACTS/profile-$mode.txt"
		sampler=$LAB_LAST_PID
		parts_run "$mode" profile
		kill -INT "$sampler"
		lab_wait_pid "$sampler" 30
		lab_check "profile of mode $mode written" test -s "$ARTIFACTS/profile-$mode.txt"
		parts_mode_end profile "$mode"
	done
	wan_tso on
fi
stats >"$ARTIFACTS/stats.txt"
if has agg || has wire || has cost || has udp || has parts; then
	lab_check "rtr inserted options during the v1, clear and encrypted runs" \
		sh -c "[ \"\$(awk '\$1 == \"inserted\" { print \$2 }' $ARTIFACTS/stats.txt)\" -gt 1000 ]"
fi
if has agg || has wire || has udp; then
	lab_check "rtr derived keys in the encrypted runs" \
		sh -c "[ \"\$(awk '\$1 == \"keys_derived\" { print \$2 }' $ARTIFACTS/stats.txt)\" -gt 0 ]"
fi

# ---------------------------------------------------------------- 2. new flows, 3. memory
# empty table, freed objects back (kfree_rcu), empty slabs released
slab_settle() {
	local _
	for _ in $(seq 1 100); do
		echo 1 >"$SLAB/shrink"
		[ "$(cut -d' ' -f1 "$SLAB/objects")" -le 64 ] && return 0
		sleep 0.2
	done
	echo "pdmv2_flow objects still $(cat "$SLAB/objects") after flush"
	return 1
}
memory_save() { # ROUND: the slab cache with the flows of the last run
	local f page
	page=$(awk '/^KernelPageSize:/ { print $2 * 1024; exit }' /proc/self/smaps)
	{
		printf '{"flows":%s,"page_size":%s' "$(cnt flows /tmp/after)" "${page:-4096}"
		for f in object_size slab_size objs_per_slab order objects slabs total_objects; do
			printf ',"%s":%s' "$f" "$(cut -d' ' -f1 "$SLAB/$f")"
		done
		printf ',"slabinfo":"%s"}\n' "$(grep '^pdmv2_flow ' /proc/slabinfo | tr -s ' ')"
	} >"$ARTIFACTS/memory-$1.json"
	cat "$ARTIFACTS/memory-$1.json"
}
flows_check() { # MODE FILE: the counters grew by ~N (>= 99 %), nothing refused
	local j=$2 want=$((FLOWS * 99 / 100)) wan cr ins kd nos tf
	wan=$(sed -E 's/.*"wan_received":([0-9]+).*/\1/' "$j")
	cr=$(sed -E 's/.*"flows_created":([0-9]+).*/\1/' "$j")
	ins=$(sed -E 's/.*"inserted":([0-9]+).*/\1/' "$j")
	kd=$(sed -E 's/.*"keys_derived":([0-9]+).*/\1/' "$j")
	nos=$(sed -E 's/.*"skip_no_secret":([0-9]+).*/\1/' "$j")
	tf=$(sed -E 's/.*"table_full":([0-9]+).*/\1/' "$j")
	echo "N $FLOWS: wan received $wan, flows_created $cr, inserted $ins, keys_derived $kd, skip_no_secret $nos, table_full $tf"
	grep -q '"errors":0,' "$j" && [ "$wan" -ge "$want" ] && [ "$tf" -eq 0 ] || return 1
	case $1 in
	off) [ "$cr" -eq 0 ] && [ "$ins" -eq 0 ] ;;
	clear) [ "$cr" -ge "$want" ] && [ "$ins" -ge "$want" ] && [ "$kd" -eq 0 ] ;;
	encrypted) [ "$cr" -ge "$want" ] && [ "$ins" -ge "$want" ] && [ "$kd" -ge "$want" ] && [ "$nos" -eq 0 ] ;;
	esac
}
# five rounds (a run is short), the order reversed every other round so that
# a drift of the host's load hits every mode at the same mean position
# flows_run MODE ROUND [JSON]: one flowgen run from an empty flow table,
# its figures in JSON (flows-MODE-ROUND.json, which the report reads)
flows_run() {
	local mode=$1 round=$2 j=${3:-$ARTIFACTS/flows-$1-$2.json} wan0 wan1 sep s
	nsx lan ping -6 -c 1 -W 2 "$WAN_IP" >/dev/null 2>&1 # neighbours fresh
	ctl rtr "mode $mode" flush
	slab_settle
	sleep 0.5
	stats >/tmp/before
	wan0=$(lab_nft_packets wan flowgen)
	nsx lan "$FLOWGEN" -n "$FLOWS" -s 20000 -p $SINK_PORT "$LAN_IP" "$WAN_IP" >/tmp/flowgen.json 2>/tmp/flowgen.err
	sleep 0.2
	stats >/tmp/after
	wan1=$(lab_nft_packets wan flowgen)
	printf '{"mode":"%s","round":%d,"flowgen":%s,"rtr":{' "$mode" "$round" "$(head -n 1 /tmp/flowgen.json)" >"$j"
	sep=
	for s in flows_created inserted keys_derived skip_no_secret table_full skip_nomem seen; do
		printf '%s"%s":%d' "$sep" "$s" "$(delta $s /tmp/before /tmp/after)" >>"$j"
		sep=,
	done
	printf '},"rtr_flows":%d,"wan_received":%d}\n' "$(cnt flows /tmp/after)" $((wan1 - wan0)) >>"$j"
	cat /tmp/flowgen.err >>"$ARTIFACTS/flowgen.err"
	lab_check "new flows round $round mode $mode" flows_check "$mode" "$j"
}
has flows || FLOW_ROUNDS=0
for round in $(seq 1 "$FLOW_ROUNDS"); do
	order="off clear encrypted"
	[ $((round % 2)) -eq 1 ] || order="encrypted clear off"
	for mode in $order; do
		flows_run "$mode" "$round"
		if [ "$mode" = encrypted ]; then
			lab_check "memory of $FLOWS encrypted flows round $round" memory_save "$round"
		fi
	done
done
# where a new flow's time goes: one more run of clear and encrypted each
# under the sampler (profile-flows-MODE.txt; the host compares the two)
if has flowprofile; then
	for mode in clear encrypted; do
		lab_bg "$IPSAMPLE" "$ARTIFACTS/profile-flows-$mode.txt"
		sampler=$LAB_LAST_PID
		flows_run "$mode" 0 "$ARTIFACTS/flowprofile-$mode.json"
		kill -INT "$sampler"
		lab_wait_pid "$sampler" 30
		lab_check "profile of new flows in mode $mode written" test -s "$ARTIFACTS/profile-flows-$mode.txt"
	done
fi
ctl rtr flush
lab_save slabinfo.txt grep -E '^(# name|slabinfo|pdmv2)' /proc/slabinfo
stats >"$ARTIFACTS/stats-end.txt"
lab_topology_down
lab_check "rmmod (leave the guest as found for the next scenario)" rmmod pdmv2
lab_finish
