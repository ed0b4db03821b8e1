# shellcheck shell=bash
# Helpers for lab scenarios (bash, inside the guest). Source it with
#   . "${LAB_LIB:-$(dirname "$0")/lib/lab.sh}"
#
# Topology (lab_topology_up):
#
#   netns lan (host)          netns rtr (router, forwarding=1)          netns wan (server)
#   eth0 ------------------- lan0                 wan0 ------------------- eth0
#   2001:db8:1::2/64      2001:db8:1::1/64   2001:db8:2::1/64       2001:db8:2::2/64
#   fe80::1:2             fe80::1:1          fe80::2:1              fe80::2:2
#   default via fe80::1:1                                          default via fe80::2:1
#         LAN link: MTU 1500                      WAN link: MTU $1 (default 1500)
#
# Addresses are static, DAD is off (accept_dad=0 + nodad), RA is off, link-local
# addresses are fixed (addrgenmode none), so everything is usable at once.
#
# Checks: lab_check "name" cmd... records ok/not ok and keeps going; lab_finish
# prints "N passed, M failed" and returns non-zero if anything failed.

set -o pipefail

ARTIFACTS=${ARTIFACTS:-/tmp/artifacts}
mkdir -p "$ARTIFACTS"

LAN_NET=2001:db8:1::/64 WAN_NET=2001:db8:2::/64
LAN_IP=2001:db8:1::2   RTR_LAN_IP=2001:db8:1::1
WAN_IP=2001:db8:2::2   RTR_WAN_IP=2001:db8:2::1
LAN_LL=fe80::1:2       RTR_LAN_LL=fe80::1:1
WAN_LL=fe80::2:2       RTR_WAN_LL=fe80::2:1
LAB_NAMESPACES="lan rtr wan"

LAB_PASS=0 LAB_FAIL=0 LAB_PIDS=()
declare -A LAB_CAP=()

lab_log() { echo "[$(cut -d' ' -f1 /proc/uptime)] $*"; }

# run a command inside a namespace: nsx NS cmd...
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

lab_modprobe() { local m; for m in "$@"; do modprobe "$m" || { lab_log "modprobe $m failed"; return 1; }; done; }

# lab_check NAME CMD... : run CMD, record the result, never exit
lab_check() {
	local name=$1 out rc; shift
	out=$("$@" 2>&1); rc=$?
	# Guest uptime at the end of each check: where a scenario spends its time.
	[ -d "$ARTIFACTS" ] && printf '%s %s\n' "$(cut -d' ' -f1 /proc/uptime)" "$name" >>"$ARTIFACTS/check-times.txt"
	if [ $rc -eq 0 ]; then
		LAB_PASS=$((LAB_PASS + 1)); echo "ok - $name"
	else
		LAB_FAIL=$((LAB_FAIL + 1)); echo "not ok - $name (rc=$rc)"
		printf '%s\n' "$out" | tail -n 15 | sed 's/^/    # /'
	fi
	return 0
}

# lab_finish: summary line, exit status for the scenario
lab_finish() {
	echo "$LAB_PASS passed, $LAB_FAIL failed"
	[ "$LAB_FAIL" -eq 0 ]
}

# lab_bg [nsx NS] cmd...: start in the background, killed by lab_cleanup (EXIT
# trap). `nsx NS` is turned into a plain `ip netns exec NS` (which execs the
# command) so that $! / LAB_LAST_PID is the real process, not a subshell.
lab_bg() {
	if [ "$1" = nsx ]; then ip netns exec "$2" "${@:3}" & else "$@" & fi
	LAB_LAST_PID=$!
	LAB_PIDS+=($!)
}
lab_cleanup() {
	local p
	for p in "${LAB_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${LAB_PIDS[@]}"; do lab_wait_pid "$p" 5 || kill -KILL "$p" 2>/dev/null; done
	return 0
}
# wait for PID to exit, at most SECS (default 10)
lab_wait_pid() {
	local pid=$1 secs=${2:-10} i=0
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1)); [ $i -ge $((secs * 10)) ] && return 1
		sleep 0.1
	done
	wait "$pid" 2>/dev/null
	return 0
}
trap lab_cleanup EXIT

# wait until CMD succeeds (up to SECS, default 10): lab_wait_for SECS cmd...
lab_wait_for() {
	local secs=$1 i=0; shift
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -ge $((secs * 10)) ] && return 1
		sleep 0.1
	done
}

# save a command's output into $ARTIFACTS/FILE: lab_save FILE cmd...
lab_save() { local f=$1; shift; { echo "# $*"; "$@"; } >"$ARTIFACTS/$f" 2>&1; }
lab_append() { local f=$1; shift; { echo "# $*"; "$@"; echo; } >>"$ARTIFACTS/$f" 2>&1; }

lab_ns_add() { # NAME: namespace with lo up, no DAD, no RA, IPv6 on
	local ns=$1
	ip netns add "$ns"
	nsx "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 \
		net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 >/dev/null
	nsx "$ns" ip link set lo up
}

# lab_link NS1 IF1 NS2 IF2 MTU: veth pair (down), no automatic link-local
# address (addrgenmode none): lab_topology_up assigns fixed ones
lab_link() {
	local ns1=$1 if1=$2 ns2=$3 if2=$4 mtu=$5
	nsx "$ns1" ip link add "$if1" mtu "$mtu" type veth peer name "$if2" netns "$ns2" mtu "$mtu"
	nsx "$ns1" ip link set dev "$if1" addrgenmode none
	nsx "$ns2" ip link set dev "$if2" addrgenmode none
}

lab_addr() { nsx "$1" ip -6 addr add "$3" dev "$2" nodad; }

# lab_offloads NS IFACE on|off: TSO/GSO/GRO of a veth end. With offloads on
# (the veth default) TCP travels as GSO super-packets (up to 64 KiB) through
# the stack, netfilter hooks and tcpdump; off = every packet is wire-sized.
lab_offloads() { nsx "$1" ethtool -K "$2" tso "$3" gso "$3" gro "$3" >/dev/null 2>&1 || true; }

# lab_topology_up [WAN_MTU] [LAN_MTU] [OFFLOADS on|off]
lab_topology_up() {
	local wan_mtu=${1:-1500} lan_mtu=${2:-1500} offl=${3:-on} ns
	LAB_WAN_MTU=$wan_mtu LAB_LAN_MTU=$lan_mtu
	lab_modprobe veth
	for ns in $LAB_NAMESPACES; do lab_ns_add "$ns"; done
	nsx rtr sysctl -qw net.ipv6.conf.all.forwarding=1 >/dev/null

	lab_link lan eth0 rtr lan0 "$lan_mtu"
	lab_link rtr wan0 wan eth0 "$wan_mtu"
	if [ "$offl" = off ]; then
		lab_offloads lan eth0 off; lab_offloads rtr lan0 off
		lab_offloads rtr wan0 off; lab_offloads wan eth0 off
	fi

	lab_addr lan eth0 "$LAN_IP/64";     lab_addr lan eth0 "$LAN_LL/64"
	lab_addr rtr lan0 "$RTR_LAN_IP/64"; lab_addr rtr lan0 "$RTR_LAN_LL/64"
	lab_addr rtr wan0 "$RTR_WAN_IP/64"; lab_addr rtr wan0 "$RTR_WAN_LL/64"
	lab_addr wan eth0 "$WAN_IP/64";     lab_addr wan eth0 "$WAN_LL/64"
	nsx lan ip link set eth0 up
	nsx rtr ip link set lan0 up
	nsx rtr ip link set wan0 up
	nsx wan ip link set eth0 up

	nsx lan ip -6 route add default via "$RTR_LAN_LL" dev eth0
	nsx wan ip -6 route add default via "$RTR_WAN_LL" dev eth0
	# carrier is immediate on veth; make sure addresses are not tentative
	lab_wait_for 5 sh -c "! ip netns exec lan ip -6 addr show tentative | grep -q inet6"
	lab_log "topology up (LAN MTU $lan_mtu, WAN MTU $wan_mtu, offloads $offl)"
}

lab_topology_down() {
	local ns
	for ns in $LAB_NAMESPACES; do ip netns delete "$ns" 2>/dev/null; done
	return 0
}

# addresses, routes and links of every namespace into $ARTIFACTS/FILE
lab_save_topology() {
	local f=${1:-topology.txt} ns
	: >"$ARTIFACTS/$f"
	for ns in $LAB_NAMESPACES; do
		echo "===== netns $ns =====" >>"$ARTIFACTS/$f"
		lab_append "$f" nsx "$ns" ip -d link show
		lab_append "$f" nsx "$ns" ip -6 addr show
		lab_append "$f" nsx "$ns" ip -6 route show
	done
}

# packet capture: lab_capture_start NS IFACE NAME [filter...]; pcap written to
# guest /tmp first (9p is slow for per-packet writes), copied by lab_capture_stop
# where lib/pdmv2.sh's cap_text keeps the decoded text of capture NAME
lab_cap_text_file() {
	printf '/tmp/cap-%s.txt' "$(printf '%s' "$ARTIFACTS/$1.pcap" | tr / _)"
}
lab_capture_start() {
	local ns=$1 ifc=$2 name=$3; shift 3
	rm -f "/tmp/$name.pcap" "/tmp/$name.tcpdump.log" "$(lab_cap_text_file "$name")"
	# -B: 8 MiB of kernel buffer, for a guest starved of CPU by a loaded host (what
	# it still drops is in NAME.tcpdump.log; test/lab/check-captures.ts allows for it)
	lab_bg nsx "$ns" tcpdump -Z root -n -U -s 256 -B 8192 -i "$ifc" -w "/tmp/$name.pcap" "$@" \
		>"/tmp/$name.tcpdump.log" 2>&1
	LAB_CAP[$name]=$LAB_LAST_PID
	lab_wait_for 10 grep -q 'listening on' "/tmp/$name.tcpdump.log"
}
lab_capture_stop() {
	local name=$1 pid=${LAB_CAP[$1]:-}
	[ -n "$pid" ] || return 1
	sleep 0.2
	kill -TERM "$pid" 2>/dev/null # tcpdump flushes and exits on TERM
	lab_wait_pid "$pid" 10 || { echo "tcpdump $name did not stop"; kill -KILL "$pid"; }
	cp "/tmp/$name.pcap" "$ARTIFACTS/$name.pcap"
	cat "/tmp/$name.tcpdump.log" >>"$ARTIFACTS/$name.tcpdump.log"
}

# iperf3 server in NS, one client then exits: lab_iperf_server NS [PORT]
lab_iperf_server() {
	local ns=$1 port=${2:-5201}
	lab_bg nsx "$ns" iperf3 -s -1 -p "$port" >/dev/null 2>&1
	lab_wait_listen "$ns" "$port"
}

# lab_wait_listen NS PORT: a TCP server started in the background listens (a
# fixed sleep is not enough for a guest starved by a loaded host)
lab_wait_listen() {
	lab_wait_for 10 sh -c "ip netns exec $1 ss -Hltn 'sport = :$2' | grep -q LISTEN"
}

# iperf3 -J output FILE is a success with at least MIN bytes received
# (iperf3 3.12 exits 0 with --logfile even when it could not connect)
lab_iperf_ok() { # FILE MIN_BYTES
	local f=$1 min=${2:-1} rx
	[ -s "$f" ] || { echo "no iperf3 output"; return 1; }
	if grep -q '"error"' "$f"; then grep '"error"' "$f"; return 1; fi
	rx=$(awk '/"sum_received"/ { f = 1 } f && /"bytes"/ { gsub(/[^0-9]/, ""); print; exit }' "$f")
	[ -n "$rx" ] || rx=$(awk '/"end"/ { e = 1 } e && /"sum"/ { f = 1 } f && /"bytes"/ { gsub(/[^0-9]/, ""); print; exit }' "$f")
	echo "iperf3 received ${rx:-0} bytes (need $min)"
	[ "${rx:-0}" -ge "$min" ]
}

# first number after "packets" on the line of an nft rule that has COMMENT
lab_nft_packets() { # NS COMMENT
	nsx "$1" nft list ruleset | awk -v c="comment \"$2\"" 'index($0, c) {
		for (i = 1; i < NF; i++) if ($i == "packets") { print $(i + 1); exit } }'
}

# lab_insmod FILE.ko [params...]: load an out-of-tree module (e.g. from
# $LAB_SHARE), after modprobe-ing the in-tree modules it depends on
lab_insmod() {
	local ko=$1 d; shift
	for d in $(modinfo -F depends "$ko" 2>/dev/null | tr ',' ' '); do
		modprobe "$d" || { echo "lab_insmod: modprobe $d failed"; return 1; }
	done
	insmod "$ko" "$@"
}

# dmesg into the artifacts (run.sh also checks the full dmesg at the end)
lab_save_dmesg() { dmesg >"$ARTIFACTS/${1:-dmesg.txt}"; }
