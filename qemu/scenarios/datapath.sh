#!/bin/bash
# pdmv2.ko lab scenario (runs inside the QEMU guest, see qemu/run.sh).
#
#   npm run lab -- datapath   (qemu/lab.sh prepares the share .build/lab/KERNEL)
#
# The module is $PDMV2_KO, else pdmv2.ko in the share ($LAB_SHARE, i.e.
# /share, which qemu/lab.sh fills from .build/lab/KERNEL).
#
# lan ---- rtr ---- wan (qemu/scenarios/lib/lab.sh). rtr marks lan<->wan IPv6
# with nft table inet pdmv2 and runs the module in mode clear; later wan
# does too (server role) so that both learn from each other. Checks option
# presence on the wire, counters, PSNLR learning, TCP/UDP/GSO, MTU handling
# (Packet Too Big with MTU minus overhead, skip policy), strict control
# parsing, namespace teardown and unload under traffic.
# shellcheck source=/dev/null
. "${LAB_LIB:-/host/scenarios/lib/lab.sh}"

KO=
for c in "${PDMV2_KO:-}" "${LAB_SHARE:-/share}/pdmv2.ko"; do
	if [ -n "$c" ] && [ -f "$c" ]; then KO=$c; break; fi
done
if [ -z "$KO" ]; then
	echo "not ok - pdmv2.ko not found (set PDMV2_KO or share a directory holding it)"
	echo "0 passed, 1 failed"
	exit 1
fi

MARK=0x100
# cap_start/cap_stop/cap_ok/cap_none, ctl, st, stat_ge/eq/delta, save_state
# shellcheck source=qemu/scenarios/lib/pdmv2.sh
. "${LAB_SCENARIOS:-/host/scenarios}/lib/pdmv2.sh"


# nft_router / nft_server: the marking rulesets, shared with bench.sh
# shellcheck source=qemu/scenarios/lib/nft.sh
. "${LAB_SCENARIOS:-/host/scenarios}/lib/nft.sh"

OPT_CLEAR='opt_type 0x0f: len=22'
OPT_V1='opt_type 0x0f: len=10'

# ---------------------------------------------------------------- load
lab_topology_up 1500 1500
lab_check "insmod $KO" insmod "$KO"
lab_check "proc files in every namespace" sh -c '
	for ns in lan rtr wan; do
		for f in control stats flows; do
			ip netns exec $ns test -e /proc/net/pdmv2/$f || exit 1
		done
	done'
lab_check "control is 0600" sh -c \
	'[ "$(ip netns exec rtr stat -c %a /proc/net/pdmv2/control)" = 600 ]'
lab_check "default mode off" sh -c \
	'ip netns exec rtr grep -qx "mode off" /proc/net/pdmv2/control'
lab_check "every namespace off: no GSO wrapper in the kernel's IPv6 offload's place" \
	stat_eq rtr gso_wrapper_installed 0

# ---------------------------------------------------------------- control
lab_check "good settings accepted" ctl rtr "mode clear" "mark_mask $MARK" \
	"max_flows 4096" "flow_timeout 30" "mtu_policy icmp"
nsx rtr cat /proc/net/pdmv2/control >"$ARTIFACTS/control-good.txt"
lab_check "bad mode rejected" sh -c '! printf "mode bogus\n" |
	ip netns exec rtr sh -c "cat > /proc/net/pdmv2/control" 2>/dev/null'
lab_check "all-or-nothing: a bad line applies nothing" sh -c '
	! printf "flow_timeout 99\nmax_flows 0\n" |
		ip netns exec rtr sh -c "cat > /proc/net/pdmv2/control" 2>/dev/null &&
	ip netns exec rtr grep -qx "flow_timeout 30" /proc/net/pdmv2/control'
lab_check "junk, signs, extra words and binary rejected" sh -c '
	for l in "max_flows -1" "max_flows +5" "max_flows 5 6" "mark_mask 0" \
		 "mtu_policy" "nosuch 1" "max_flows 99999999999"; do
		printf "%s\n" "$l" | ip netns exec rtr sh -c \
			"cat > /proc/net/pdmv2/control" 2>/dev/null && exit 1
	done
	printf "mode \001clear\n" | ip netns exec rtr sh -c \
		"cat > /proc/net/pdmv2/control" 2>/dev/null && exit 1
	cmp -s /dev/stdin "'"$ARTIFACTS"'/control-good.txt" \
		< <(ip netns exec rtr cat /proc/net/pdmv2/control)'
lab_check "mode encrypted accepted (keys: encrypted.sh)" ctl rtr "mode encrypted"
lab_check "back to mode clear" ctl rtr "mode clear"
lab_check "namespaces are independent" sh -c \
	'ip netns exec wan grep -qx "mode off" /proc/net/pdmv2/control'

nft_router

# ---------------------------------------------------------------- ping, router only
cap_start wan eth0 ping-wan ip6
cap_start lan eth0 ping-lan ip6
lab_check "ping lan -> wan" nsx lan ping -6 -c 5 -i 0.2 -W 2 "$WAN_IP"
lab_check "ping rtr -> wan (local output)" nsx rtr ping -6 -c 3 -i 0.2 -W 2 "$WAN_IP"
cap_stop ping-wan
cap_stop ping-lan
lab_check "echo requests lan->wan carry the clear option on the WAN link" \
	cap_ok ping-wan "$LAN_IP > $WAN_IP: DSTOPT .*$OPT_CLEAR.* ICMP6, echo request" 5
lab_check "router's own echo requests carry it too" \
	cap_ok ping-wan "$RTR_WAN_IP > $WAN_IP: DSTOPT .*$OPT_CLEAR.* ICMP6, echo request" 3
lab_check "replies wan->lan carry it on the LAN link (other direction)" \
	cap_ok ping-lan "$WAN_IP > $LAN_IP: DSTOPT .*$OPT_CLEAR.* ICMP6, echo reply" 5
lab_check "unmarked neighbour discovery untouched" \
	cap_none ping-wan "DSTOPT .*neighbor"
lab_check "rtr inserted >= 13" stat_ge rtr inserted 13
lab_check "rtr flows >= 3" stat_ge rtr flows 3
save_state ping

# ---------------------------------------------------------------- server role
lab_check "wan: mode clear" ctl wan "mode clear" "mark_mask $MARK"
nft_server
cap_start wan eth0 learn-wan ip6
lab_check "ping lan -> wan, both ends emitting" \
	nsx lan ping -6 -c 5 -i 0.3 -W 2 "$WAN_IP"
cap_stop learn-wan
lab_check "wan replies carry its own option" \
	cap_ok learn-wan "$WAN_IP > $LAN_IP: DSTOPT .*$OPT_CLEAR.* ICMP6, echo reply" 5
lab_check "rtr learned from wan's options" stat_ge rtr ingress_learned 5
lab_check "wan learned from rtr's options" stat_ge wan ingress_learned 5
lab_check "rtr left wan's options alone (one PDM per packet)" \
	stat_ge rtr skip_has_pdm 5
# after the exchange: rtr's PSNLR for the lan->wan flow is wan's last PSNTP
psnlr_check() {
	local id rtr_rx wan_next
	# the echo flow that received something: the one of this exchange
	read -r id rtr_rx < <(nsx rtr awk -v s="$LAN_IP" -v d="$WAN_IP" \
		'$1 == s && $3 == d && $5 == 58 && $9 > 0 { print $2, $7 }' \
		/proc/net/pdmv2/flows)
	wan_next=$(nsx wan awk -v s="$WAN_IP" -v d="$LAN_IP" -v i="$id" \
		'$1 == s && $3 == d && $5 == 58 && $2 == i { print $6 }' /proc/net/pdmv2/flows)
	echo "id $id: rtr psn_last_rx $rtr_rx, wan psn_next $wan_next"
	[ -n "$rtr_rx" ] && [ -n "$wan_next" ] &&
		[ "$(( (rtr_rx + 1) & 0xffffffff ))" = "$wan_next" ]
}
lab_check "PSNLR = peer's last PSNTP" psnlr_check
save_state learn

# ---------------------------------------------------------------- TCP and UDP
nsx rtr ethtool -K lan0 gro on >/dev/null 2>&1
nsx rtr ethtool -K wan0 gro on >/dev/null 2>&1
cap_start wan eth0 tcp-wan ip6
before=$(st rtr inserted)
lab_iperf_server wan 5201
nsx lan iperf3 -6 -c "$WAN_IP" -p 5201 -t 3 -J >"$ARTIFACTS/iperf-tcp-up.json" 2>&1
lab_check "TCP lan -> wan through the router" lab_iperf_ok "$ARTIFACTS/iperf-tcp-up.json" 100000
# fresh path MTUs: the lan host advertises MSS 1440 again, and the server's
# full-size segments get room for the option from the MSS clamp
for ns in lan rtr wan; do nsx "$ns" ip -6 route flush cache; done
lab_iperf_server wan 5202
nsx lan iperf3 -6 -c "$WAN_IP" -p 5202 -t 3 -R -J >"$ARTIFACTS/iperf-tcp-down.json" 2>&1
lab_check "TCP wan -> lan (server sends, local GSO)" lab_iperf_ok "$ARTIFACTS/iperf-tcp-down.json" 100000
cap_stop tcp-wan
lab_check "TCP data lan->wan carries the option" \
	cap_ok tcp-wan "$LAN_IP > $WAN_IP: DSTOPT .*$OPT_CLEAR.*\) [0-9]+ > 5201: " 100
lab_check "no frame above the WAN MTU" cap_none tcp-wan . greater 1515 and src host $LAN_IP
lab_check "wan's segments (after its GSO split) carry its option" \
	cap_ok tcp-wan "$WAN_IP > $LAN_IP: DSTOPT .*$OPT_CLEAR.*\) 5202 > [0-9]+: " 100
lab_check "rtr inserted into TCP" stat_ge rtr inserted $((before + 100))
lab_check "wan segmented its GSO packets" stat_ge wan gso_segmented 1
lab_check "rtr clamped the MSS of SYN/SYN-ACKs" stat_ge rtr mss_clamped 2
lab_check "wan: no local oversize skips" stat_eq wan skip_mtu 0
lab_check "rtr: no parse errors" stat_eq rtr parse_errors 0
lab_iperf_server wan 5203
nsx lan iperf3 -6 -u -c "$WAN_IP" -p 5203 -b 2M -l 1000 -t 2 -J >"$ARTIFACTS/iperf-udp.json" 2>&1
lab_check "UDP lan -> wan" lab_iperf_ok "$ARTIFACTS/iperf-udp.json" 100000
save_state tcp

# ---------------------------------------------------------------- GSO segmented by the kernel
# rtr's WAN port without TSO, like the WAN port of most router SoCs: the
# kernel segments each forwarded aggregate in validate_xmit_skb(), and the
# module, instead of segmenting in its hook, gives the aggregate one pending
# option and numbers the segments as the kernel cuts them (pdmv2_gso.c). The
# host check (check-captures.ts) finds every flow's PSNTPs contiguous.
gso_wire_run() { # MODE PORT TAG OPTION-PATTERN IPERF-LENGTH-ARGS...
	local mode=$1 port=$2 tag=$3 opt=$4 d0 s0
	shift 4
	ctl rtr "mode $mode" flush
	d0=$(st rtr gso_deferred) s0=$(st rtr gso_segmented)
	cap_start wan eth0 "$tag" ip6
	lab_iperf_server wan "$port"
	nsx lan iperf3 -6 -c "$WAN_IP" -p "$port" "$@" -J >"$ARTIFACTS/iperf-$tag.json" 2>&1
	cap_stop "$tag"
	lab_check "$mode: TCP lan -> wan, rtr's WAN port without TSO" \
		lab_iperf_ok "$ARTIFACTS/iperf-$tag.json" 100000
	lab_check "$mode: rtr left segmenting to the kernel (>= 20 aggregates)" \
		stat_ge rtr gso_deferred $((d0 + 20))
	lab_check "$mode: rtr segmented no aggregate itself" \
		stat_eq rtr gso_segmented "$s0"
	lab_check "$mode: every segment on the WAN link carries the option" \
		cap_ok "$tag" "$LAN_IP > $WAN_IP: DSTOPT .*$opt.*\) [0-9]+ > $port: " 200
	lab_check "$mode: no pending option (type 0x1e) left the router" \
		cap_none "$tag" "opt_type 0x1e"
	lab_check "$mode: no packet of the flow without the option" \
		cap_none "$tag" "$LAN_IP\.[0-9]+ > $WAN_IP\.$port: "
	lab_check "$mode: no frame above the WAN MTU" \
		cap_none "$tag" . greater 1515 and src host "$LAN_IP"
}
nsx rtr ethtool -K wan0 tso off >/dev/null
lab_check "rtr's wan0 has no TSO" sh -c \
	'ip netns exec rtr ethtool -k wan0 | grep -q "^tcp-segmentation-offload: off"'
gso_wire_run clear 5206 gsowire-clear-wan "$OPT_CLEAR" -t 3
# v1 alone (16-bit PSNs, whose wrap the host check cannot follow past 2^15
# packets, and no 32-bit PSNs from the server to truncate): 20 MB
ctl wan "mode off"
gso_wire_run v1 5207 gsowire-v1-wan "$OPT_V1" -n 20M
ctl wan "mode clear"
# UDP GSO (UDP_SEGMENT) from the LAN host: 20 datagrams of 10 segments
UDPGSO=${LAB_SHARE:-/share}/tools/udpgso
nsx rtr ethtool -K wan0 tx-udp-segmentation off >/dev/null
ctl rtr "mode clear" flush
d0=$(st rtr gso_deferred)
# (a BPF "udp" does not look behind the Destination Options header)
cap_start wan eth0 gsowire-udp-wan ip6
lab_check "UDP GSO sender: 20 datagrams of 12000 octets" \
	nsx lan "$UDPGSO" -n 20 -m 1200 -l 12000 -p 5300 "$WAN_IP"
cap_stop gsowire-udp-wan
lab_check "UDP GSO: rtr deferred each datagram's segmenting" \
	stat_delta rtr gso_deferred "$d0" 20
lab_check "UDP GSO: all 200 segments carry the option" \
	cap_ok gsowire-udp-wan "$LAN_IP > $WAN_IP: DSTOPT .*$OPT_CLEAR.*\) [0-9]+ > 5300: UDP, length 1200" 200
lab_check "UDP GSO: no pending option left the router" \
	cap_none gsowire-udp-wan "opt_type 0x1e"
# module-wide counters, from the TCP runs above and these datagrams
lab_check "GSO: the kernel cut as many segments as rtr took PSNs for (none left pending)" \
	stat_eq rtr gso_segments_unnumbered 0
lab_check "GSO: no PSN taken for a segment that never came" \
	stat_eq rtr gso_psns_unused 0
nsx rtr ethtool -K wan0 tx-udp-segmentation on >/dev/null
# someone else's experimental option 0x1e of the pending option's length in
# the LAN host's own Destination Options header (sticky IPV6_DSTOPTS): the
# router must not take it for its pending option, so it segments those GSO
# packets in its hook, and the option crosses unchanged beside the PDM one
DSTOPT_SEND=${LAB_SHARE:-/share}/tools/dstopt-send
d0=$(st rtr gso_deferred) s0=$(st rtr gso_segmented)
cap_start wan eth0 gsowire-foreign-wan ip6
lab_bg nsx wan "$DSTOPT_SEND" -l -p 5310
lab_wait_listen wan 5310
lab_check "TCP with the LAN host's own 0x1e option: 4 MiB sent" \
	nsx lan "$DSTOPT_SEND" -b 4194304 -p 5310 "$WAN_IP"
cap_stop gsowire-foreign-wan
lab_check "foreign 0x1e: rtr deferred none of those GSO packets" \
	stat_eq rtr gso_deferred "$d0"
lab_check "foreign 0x1e: rtr segmented them in its hook" \
	stat_ge rtr gso_segmented $((s0 + 5))
lab_check "foreign 0x1e: every data segment has it unchanged, then the PDM option" \
	cap_ok gsowire-foreign-wan "$LAN_IP > $WAN_IP: DSTOPT .*opt_type 0x1e: len=22.*$OPT_CLEAR.*\) [0-9]+ > 5310: .*length 1[0-9]{3}" 500
# data segments only: the LAN host's last ACK may come from a TIME_WAIT
# socket, which has no sticky options, and carries no data
lab_check "foreign 0x1e: no data segment without it" \
	cap_none gsowire-foreign-wan "$LAN_IP > $WAN_IP: DSTOPT \(padn\)\($OPT_CLEAR\).*\) [0-9]+ > 5310: .*, length [1-9][0-9]*$"
ctl rtr "mode clear" "gso_defer off"
s0=$(st rtr gso_segmented) d0=$(st rtr gso_deferred)
lab_iperf_server wan 5208
nsx lan iperf3 -6 -c "$WAN_IP" -p 5208 -t 2 -J >"$ARTIFACTS/iperf-gsowire-hook.json" 2>&1
lab_check "gso_defer off: the hook segments again" \
	stat_ge rtr gso_segmented $((s0 + 20))
lab_check "gso_defer off: nothing deferred" stat_eq rtr gso_deferred "$d0"
lab_check "gso_defer shown in control" sh -c \
	'ip netns exec rtr grep -qx "gso_defer off" /proc/net/pdmv2/control'
lab_check "bad gso_defer value rejected" sh -c '! printf "gso_defer maybe\n" |
	ip netns exec rtr sh -c "cat > /proc/net/pdmv2/control" 2>/dev/null'
ctl rtr "gso_defer on"
nsx rtr ethtool -K wan0 tso on >/dev/null
save_state gsowire

# ---------------------------------------------------------------- MTU policies
# a 1500-octet packet cannot take 32 more octets on a 1500 link; start from
# clean path MTUs (the TCP runs above lowered them) and a silent server
ctl wan "mode off"
for ns in lan rtr wan; do nsx "$ns" ip -6 route flush cache; done
ctl rtr "mtu_policy skip"
lab_check "skip: oversized ping passes unmodified" \
	nsx lan ping -6 -c 2 -i 0.3 -W 2 -s 1452 "$WAN_IP"
lab_check "skip: counted" stat_ge rtr skip_mtu 2
ctl rtr "mtu_policy icmp"
ptb_roundtrip icmp ping-ptb.txt
save_state mtu

# ---------------------------------------------------------------- v1 mode
ctl rtr "mode v1" "flush"
cap_start wan eth0 v1-wan ip6
lab_check "ping in v1 mode" nsx lan ping -6 -c 3 -i 0.2 -W 2 "$WAN_IP"
cap_stop v1-wan
lab_check "v1 (RFC 8250) option on the wire" \
	cap_ok v1-wan "$LAN_IP > $WAN_IP: DSTOPT .*$OPT_V1.* ICMP6, echo request" 3
ctl rtr "mode clear"

# ---------------------------------------------------------------- narrower WAN link
lab_topology_down
lab_topology_up 1400 1500
nft_router
nft_server
ctl rtr "mode clear"
ctl wan "mode clear"
nsx rtr ethtool -K lan0 gro on >/dev/null 2>&1
cap_start wan eth0 mtu1400-wan ip6
lab_iperf_server wan 5204
nsx lan iperf3 -6 -c "$WAN_IP" -p 5204 -t 4 -J >"$ARTIFACTS/iperf-mtu1400.json" 2>&1
cap_stop mtu1400-wan
lab_check "TCP over a 1400 WAN link with insertion" lab_iperf_ok "$ARTIFACTS/iperf-mtu1400.json" 100000
lab_check "no frame above 1400 on the WAN link" cap_none mtu1400-wan . greater 1415
lab_check "TCP data over the 1400 link carries the option" \
	cap_ok mtu1400-wan "$LAN_IP > $WAN_IP: DSTOPT .*$OPT_CLEAR.*\) [0-9]+ > 5204: " 100
lab_check "no TCP oversize on the 1400 link (MSS clamp)" stat_eq rtr skip_mtu 0
lab_check "wan (server) clamped the SYN for its own segments" stat_ge wan mss_clamped 1
lab_check "wan's TCP segments fit with its option" stat_eq wan skip_mtu 0
lab_check "wan's segments carry its option" \
	cap_ok mtu1400-wan "$WAN_IP > $LAN_IP: DSTOPT .*$OPT_CLEAR.*\) 5204 > [0-9]+: " 10
nsx lan ping -6 -c 1 -W 1 -s 1352 "$WAN_IP" >>"$ARTIFACTS/ping-ptb.txt" 2>&1
lab_check "1400-octet ping: PTB with 1368 (1400 - 32)" stat_ge rtr mtu_events 1
lab_check "lan host learned MTU 1368" sh -c \
	"ip netns exec lan ip -6 route get $WAN_IP | grep -q 'mtu 1368'"
save_state mtu1400

# ---------------------------------------------------------------- malformed options on ingress
# Whole packets from test/lab/malformed-packets.ts, sent raw from the LAN host
# through the router to the server, both running the module: wrong lengths,
# bad versions, reserved bits, a TLV overrunning its header, two PDM options,
# PDM inside fragments. Counted and ignored, never trusted, never a crash.
INJECT=${LAB_SHARE:-/share}/tools/pdm-inject
MALFORMED=${LAB_SHARE:-/share}/malformed.hex
lab_topology_down
lab_topology_up 1500 1500
nft_router
nft_server
ctl rtr "mode clear" "mark_mask $MARK"
ctl wan "mode clear" "mark_mask $MARK"
lab_check "malformed packets injected from lan" \
	sh -c "ip netns exec lan $INJECT <$MALFORMED >$ARTIFACTS/malformed-inject.txt 2>&1"
sleep 0.5
lab_check "rtr: bad PDM options counted as invalid" stat_ge rtr ingress_invalid 3
lab_check "rtr: reserved bits counted" stat_ge rtr ingress_reserved_nonzero 1
lab_check "rtr: option overrunning its header counted as a parse error" stat_ge rtr ingress_parse_errors 1
lab_check "wan: bad PDM options counted as invalid" stat_ge wan ingress_invalid 3
lab_check "wan: option overrunning its header counted as a parse error" stat_ge wan ingress_parse_errors 1
lab_check "ping lan -> wan still works after malformed input" \
	nsx lan ping -6 -c 3 -i 0.2 -W 2 "$WAN_IP"
lab_check "rtr still learns from the server's options" stat_ge rtr ingress_learned 2
save_state malformed

# ---------------------------------------------------------------- 12 MiB over HTTP, checksummed
# With GSO/GRO on (MTU 1500) and over a 1280 WAN link (the IPv6 minimum): the
# payload must arrive intact and the flow must not black-hole.
http_transfer() { # WAN_MTU TAG [notso]
	lab_topology_down
	lab_topology_up "$1" 1500
	# notso: the server's port segments its GSO packets in software, and
	# its module numbers the segments as the kernel cuts them
	[ "${3:-}" != notso ] || nsx wan ethtool -K eth0 tso off >/dev/null
	nft_router
	nft_server
	ctl rtr "mode clear" "mark_mask $MARK"
	ctl wan "mode clear" "mark_mask $MARK"
	mkdir -p /tmp/www
	[ -f /tmp/www/blob ] || head -c 12582912 /dev/urandom >/tmp/www/blob
	rm -f /tmp/blob.rx
	lab_bg nsx wan httpd -f -p 8080 -h /tmp/www
	lab_wait_listen wan 8080
	local before
	before=$(st rtr inserted)
	lab_check "HTTP GET 12 MiB through the router, WAN MTU $1" \
		nsx lan wget -q -O /tmp/blob.rx "http://[$WAN_IP]:8080/blob"
	lab_check "HTTP payload sha256 matches (WAN MTU $1)" \
		sh -c "[ \"\$(sha256sum </tmp/www/blob)\" = \"\$(sha256sum </tmp/blob.rx)\" ]"
	lab_check "rtr inserted into the HTTP flow (WAN MTU $1)" stat_ge rtr inserted $((before + 50))
	save_state "$2"
}
http_transfer 1500 http-mtu1500
http_transfer 1280 http-mtu1280
lab_check "MTU 1280: no oversize skips on the server" stat_eq wan skip_mtu 0
http_transfer 1500 http-notso1500 notso
lab_check "server port without TSO: wan numbered its GSO packets' segments" \
	stat_ge wan gso_deferred 50
lab_check "server port without TSO: wan segmented none in its hook" \
	stat_eq wan gso_segmented 0

# ---------------------------------------------------------------- teardown under traffic
# UDP, ping and TCP whose aggregates the kernel segments (rtr's WAN port
# without TSO): unloading takes the GSO wrapper away while segments are
# being numbered
nsx rtr ethtool -K wan0 tso off >/dev/null
lab_iperf_server wan 5205
lab_iperf_server wan 5209
lab_bg nsx lan iperf3 -6 -u -c "$WAN_IP" -p 5205 -b 5M -l 1200 -t 6
lab_bg nsx lan iperf3 -6 -c "$WAN_IP" -p 5209 -t 6
lab_bg nsx lan ping -6 -q -i 0.01 -c 500 "$WAN_IP"
sleep 1.5
lab_check "rmmod under traffic" rmmod pdmv2
lab_check "insmod again under traffic" insmod "$KO"
ctl rtr "mode clear" "mark_mask $MARK"
sleep 1
lab_check "inserting again after reload" stat_ge rtr inserted 10
lab_check "namespace deleted with the module loaded" ip netns delete lan
sleep 1
lab_check "rmmod" rmmod pdmv2
sleep 0.5
lab_save_dmesg
lab_check "dmesg has no oops/warning/BUG" sh -c \
	'! dmesg | grep -E "BUG:|WARNING:|Oops|Call Trace|general protection|refcount_t|leak"'
lab_check "module logged load/unload" sh -c 'dmesg | grep -q "pdmv2: unloaded"'

lab_finish
