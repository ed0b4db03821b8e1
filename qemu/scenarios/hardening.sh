#!/bin/bash
# pdmv2.ko hardening scenario (issue 12; runs inside the QEMU guest, see
# qemu/run.sh). qemu/lab.sh boots it on its own kernel with slab poisoning
# (slub_debug=FZPU init_on_free=1 page_poison=1), so that a use after free
# of the module's objects shows up in the kernel log, which qemu/run.sh
# checks.
#
#   npm run lab -- hardening
#
# lan ---- rtr ---- wan (qemu/scenarios/lib/lab.sh). Sections, one per
# defect of the issue: control numbers are decimal; the control file refuses
# an unprivileged user in a user and network namespace of its own; a
# module-wide flow limit across namespaces; an option under an epoch no key
# exists for is not learned with verify on; fragmented datagrams cross a
# router with conntrack's IPv6 defragmentation; 100 load/unload cycles with
# keys installed under forwarded TCP and UDP; the GSO wrapper installed only
# while a namespace measures, and removed under traffic.
# shellcheck source=/dev/null
. "${LAB_LIB:-/host/scenarios/lib/lab.sh}"

SHARE=${LAB_SHARE:-/share}
KO=${PDMV2_KO:-$SHARE/pdmv2.ko}
ENC=$SHARE/enc
if [ ! -f "$KO" ] || [ ! -d "$ENC" ]; then
	echo "not ok - $KO or $ENC missing (qemu/lab.sh prepares the share)"
	echo "0 passed, 1 failed"
	exit 1
fi
MARK=0x100
OPT_CLEAR='opt_type 0x0f: len=22'
# shellcheck source=qemu/scenarios/lib/pdmv2.sh
. "${LAB_SCENARIOS:-/host/scenarios}/lib/pdmv2.sh"
# shellcheck source=qemu/scenarios/lib/nft.sh
. "${LAB_SCENARIOS:-/host/scenarios}/lib/nft.sh"

ctl_file() { # NS FILE LINE...: the lines, then FILE, in one control write
	local ns=$1 f=$2; shift 2
	{ printf '%s\n' "$@"; cat "$f"; } | nsx "$ns" sh -c 'cat > /proc/net/pdmv2/control'
}

# ---------------------------------------------------------------- boot
lab_topology_up 1500 1500
lab_check "insmod $KO" insmod "$KO"
lab_check "slab poisoning on for the module's flow cache (slub_debug=FZPU)" sh -c \
	'[ "$(cat /sys/kernel/slab/pdmv2_flow/poison)" = 1 ] &&
	 [ "$(cat /sys/kernel/slab/pdmv2_flow/sanity_checks)" = 1 ]'
# page_poison takes precedence over init_on_free (mm/page_alloc.c says so)
lab_check "freed pages overwritten (page_poison=1 or init_on_free=1)" sh -c \
	'dmesg | grep -Eq "mem auto-init:.*heap free:on|PAGE_POISONING is on"'

# ---------------------------------------------------------------- item 7: the GSO wrapper only while needed
# The module's wrapper of the IPv6 GSO callback (pdmv2_gso.c) takes the
# kernel's packet offload's place only while some namespace has a mode other
# than off and gso_defer on; `gso_wrapper_installed` (module-wide, in every
# namespace's stats) says whether it stands there now.
wrapper_is() { # WANT (0|1): gso_wrapper_installed, read from rtr's stats
	stat_eq rtr gso_wrapper_installed "$1"
}
lab_check "every namespace off: the IPv6 offload is the kernel's (gso_wrapper_installed 0)" \
	wrapper_is 0
ctl wan "mode clear"
lab_check "wan in mode clear: the wrapper installed" wrapper_is 1
ctl rtr "mode v1"
ctl wan "mode off"
lab_check "wan off, rtr in v1: still installed" wrapper_is 1
ctl rtr "gso_defer off"
lab_check "gso_defer off in rtr, the last namespace using it: removed" wrapper_is 0
ctl rtr "gso_defer on"
lab_check "gso_defer on again: installed" wrapper_is 1
ctl rtr "mode off"
lab_check "rtr off too: removed" wrapper_is 0
ip netns add gso7
ctl gso7 "mode clear"
lab_check "a namespace created later, in mode clear: installed" wrapper_is 1
ip netns delete gso7
lab_check "that namespace deleted: removed (within 10 s)" \
	lab_wait_for 10 wrapper_is 0
lab_check "the kernel's own IPv6 offload found every time (gso_wrapper_refused 0)" \
	stat_eq rtr gso_wrapper_refused 0

# ---------------------------------------------------------------- item 7: another module's IPv6 offload
# qemu/tools/kmod/offload_squatter.ko puts an IPv6 packet offload of its own
# in the kernel's place (replace=1), or behind it at the same priority
# (replace=0), where it comes first once the kernel's entry is taken out.
# pdmv2 must leave it alone either way, log that once, count every refusal,
# and segment GSO packets in its hook; unloading both leaves the kernel's.
SQUATTER=$SHARE/tools/offload_squatter.ko
LOG_REFUSED="pdmv2: IPv6 offload not replaced"
nft_router
nsx rtr ethtool -K wan0 tso off >/dev/null
iperf_wan() { # TAG PORT: 2 s of TCP lan -> wan (through rtr's wan0 without TSO)
	lab_iperf_server wan "$2"
	nsx lan iperf3 -6 -c "$WAN_IP" -p "$2" -t 2 -J >"$ARTIFACTS/iperf-$1.json" 2>&1
	lab_iperf_ok "$ARTIFACTS/iperf-$1.json" 100000
}
squatter_run() { # REPLACE TAG PORT
	local rep=$1 tag=$2 port=$3 logs d0 s0
	logs=$(dmesg | grep -c "$LOG_REFUSED")
	lab_check "$tag: offload_squatter replace=$rep loaded under pdmv2" sh -c \
		"rmmod pdmv2 && insmod '$SQUATTER' replace=$rep && insmod '$KO'"
	ctl rtr "mode clear" "mark_mask $MARK"
	lab_check "$tag: mode clear left the other module's offload in place (gso_wrapper_installed 0)" \
		wrapper_is 0
	lab_check "$tag: the refusal counted (gso_wrapper_refused 1)" \
		stat_eq rtr gso_wrapper_refused 1
	ctl rtr "mode off"
	ctl rtr "mode clear"
	lab_check "$tag: refused again on the next mode switch, counted (gso_wrapper_refused 2)" \
		stat_eq rtr gso_wrapper_refused 2
	lab_check "$tag: logged once" sh -c \
		"dmesg | grep '$LOG_REFUSED' | tail -n 1; [ \$(dmesg | grep -c '$LOG_REFUSED') -eq $((logs + 1)) ]"
	d0=$(st rtr gso_deferred) s0=$(st rtr gso_segmented)
	lab_check "$tag: TCP lan -> wan through rtr in mode clear" iperf_wan "$tag" "$port"
	lab_check "$tag: the hook segmented the aggregates itself" \
		stat_ge rtr gso_segmented $((s0 + 20))
	lab_check "$tag: none left to the other module's offload (gso_deferred unchanged)" \
		stat_eq rtr gso_deferred "$d0"
	lab_check "$tag: pdmv2 unloaded, then offload_squatter" sh -c \
		"rmmod pdmv2 && rmmod offload_squatter"
	lab_check "$tag: TCP lan -> wan with neither module (the kernel's IPv6 GSO is back)" \
		iperf_wan "$tag-after" $((port + 10))
	insmod "$KO"
}
squatter_run 1 squatter-replaced 5611
squatter_run 0 squatter-behind 5612
nsx rtr nft delete table inet pdmv2
nsx rtr ethtool -K wan0 tso on >/dev/null

# ---------------------------------------------------------------- item 10: numbers are decimal
lab_check "control: '010' is ten, not octal eight" sh -c '
	printf "flow_timeout 010\n" | ip netns exec rtr sh -c "cat > /proc/net/pdmv2/control" &&
	ip netns exec rtr grep -x "flow_timeout.*" /proc/net/pdmv2/control | tee /dev/stderr |
		grep -qx "flow_timeout 10"'
lab_check "control: 0x hex still accepted (mark_mask 0x100)" sh -c '
	printf "mark_mask 0x100\n" | ip netns exec rtr sh -c "cat > /proc/net/pdmv2/control" &&
	ip netns exec rtr grep -qx "mark_mask 0x00000100" /proc/net/pdmv2/control'
lab_check "control: malformed numbers refused (0x, 0b1, 1_0)" sh -c '
	for l in "max_flows 0x" "max_flows 0b1" "max_flows 1_0"; do
		printf "%s\n" "$l" | ip netns exec rtr sh -c \
			"cat > /proc/net/pdmv2/control" 2>/dev/null && { echo "accepted: $l"; exit 1; }
	done; exit 0'

# ---------------------------------------------------------------- item 4: unprivileged writers
UNPRIV=$SHARE/tools/unpriv-write
sysctl -qw kernel.unprivileged_userns_clone=1 2>/dev/null
unpriv_refused() { "$UNPRIV" /proc/net/pdmv2/control "mode clear" | tee "$ARTIFACTS/unpriv-write.txt"; }
lab_check "unprivileged user in its own user+network namespace: control write refused" \
	unpriv_refused
lab_check "root of the initial namespace may still write (control of rtr)" ctl rtr "mode off"

# ---------------------------------------------------------------- item 4: module-wide flow limit
FLOWGEN=$SHARE/tools/flowgen
nft_router
nft_server
ctl rtr "mode clear" "mark_mask $MARK" flush
ctl wan "mode clear" "mark_mask $MARK" flush
limit=/sys/module/pdmv2/parameters/max_flows_total
old_limit=$(cat "$limit" 2>/dev/null)
lab_check "module-wide flow limit is a module parameter (max_flows_total=30)" \
	sh -c "echo 30 > $limit"
nsx lan "$FLOWGEN" -n 100 -s 20000 -p 9 "$LAN_IP" "$WAN_IP" >"$ARTIFACTS/flowgen-limit.json" 2>&1
sleep 0.5
module_flows_check() {
	local r w m
	r=$(st rtr flows) w=$(st wan flows) m=$(st rtr flows_module)
	echo "rtr flows $r, wan flows $w, flows_module $m (limit 30, each namespace allows 4096)"
	[ -n "$m" ] && [ "$((r + w))" -eq 30 ] && [ "$m" -eq 30 ]
}
lab_check "100 new flows through two namespaces: 30 flows in all" module_flows_check
full_check() { # every packet rtr could not give a flow was refused by the module's limit
	local r f
	r=$(st rtr table_full_module) f=$(st rtr flows)
	echo "rtr: table_full_module ${r:-missing}, flows $f (want 100 - flows)"
	[ -n "$r" ] && [ "$r" -eq $((100 - f)) ]
}
lab_check "refusals by the module-wide limit counted (table_full_module)" full_check
lab_check "a namespace's own limit is reported apart (table_full 0)" stat_eq rtr table_full 0
ctl rtr flush
ctl wan flush
sleep 0.2
lab_check "flushed flows give their room back (flows_module 0)" stat_eq rtr flows_module 0
[ -z "$old_limit" ] || echo "$old_limit" >"$limit"
save_state limit

# ---------------------------------------------------------------- item 3: unknown epoch with verify on
ctl_file wan "$ENC/wan-gen1.ctl" "mode encrypted" "mark_mask $MARK" "verify on" flush
ctl rtr "mode off"
e0=$(st wan ingress_encrypted) l0=$(st wan ingress_learned) u0=$(st wan ingress_unverified)
k0=$(st wan ingress_key_unknown)
lab_check "inject an option of the pairing's flow under epoch 0x533 (no key of generation 5)" \
	sh -c "grep '^unknown-epoch ' '$ENC/inject-hardening.hex' | ip netns exec lan '$SHARE/tools/pdm-inject'"
sleep 0.5
lab_check "wan examined the forged option" stat_delta wan ingress_encrypted "$e0" 1
lab_check "verify on: the forged option is not learned from" stat_delta wan ingress_learned "$l0" 0
lab_check "verify on: not counted as unverified-but-learned" stat_delta wan ingress_unverified "$u0" 0
lab_check "verify on: counted as a verification failure (ingress_key_unknown)" \
	stat_delta wan ingress_key_unknown "${k0:-0}" 1
lab_check "the forged PSNTP 1004 is in no flow of wan" sh -c \
	'! ip netns exec wan awk "NR > 1 && \$7 == 1004" /proc/net/pdmv2/flows | grep -q .'
save_state unknown-epoch

# ---------------------------------------------------------------- item 8: receive-path bounds
inject_h() { # PATTERN NS: the hardening packets whose names match, sent from NS
	grep -E "^$1 " "$ENC/inject-hardening.hex" | ip netns exec "$2" "$SHARE/tools/pdm-inject" >/dev/null
}
# options under 64 distinct epochs of generation 1 (wan has that key), wrong
# tags: each epoch is one STK derivation unless bounded per flow and second
sleep 1.1
d0=$(st wan keys_derived) dl0=$(st wan ingress_derive_limited) l0=$(st wan ingress_learned)
t_start=$(cut -d' ' -f1 /proc/uptime)
lab_check "inject 64 forged options under 64 epochs of generation 1" inject_h 'epoch-flood-[0-9]+' lan
t_end=$(cut -d' ' -f1 /proc/uptime)
sleep 0.3
# 4 per flow and started second, the injection's seconds and one more
bound=$(awk -v a="$t_start" -v b="$t_end" 'BEGIN { printf "%d", 4 * (int(b - a) + 2) }')
lab_check "epoch flood: at most $bound key derivations (4 per flow and second)" sh -c "
	d=\$(ip netns exec wan awk '\$1 == \"keys_derived\" { print \$2 }' /proc/net/pdmv2/stats)
	echo \"keys_derived $d0 -> \$d\"; [ \$((d - $d0)) -le $bound ]"
lab_check "epoch flood: the rest refused without a derivation (ingress_derive_limited)" \
	stat_ge wan ingress_derive_limited $((dl0 + 64 - bound))
lab_check "epoch flood: nothing learned" stat_delta wan ingress_learned "$l0" 0
sleep 1.1
v0=$(st wan ingress_verified)
lab_check "a second later, the flow's own key verifies a good option" sh -c \
	"grep '^valid ' '$ENC/inject-encrypted.hex' | ip netns exec lan '$SHARE/tools/pdm-inject'"
sleep 0.3
lab_check "the good option verified" stat_delta wan ingress_verified "$v0" 1

# a Packet Too Big from beyond the router lowers the flow's MTU for as long as
# the kernel would keep it for a route (net.ipv6.route.mtu_expires), no longer
# (a flow_timeout far longer than the test: the flow must not expire and come
# back without its MTU, which would pass the last check for the wrong reason)
ctl rtr "mode clear" "mark_mask $MARK" "flow_timeout 600"
nsx rtr sysctl -qw net.ipv6.route.mtu_expires=3
nsx lan "$FLOWGEN" -n 1 -s 30000 -p 9 "$LAN_IP" "$WAN_IP" >/dev/null 2>&1
a0=$(st rtr ptb_adjusted)
lab_check "a Packet Too Big (MTU 1400) about the lan host's UDP flow, sent from wan" inject_h ptb wan
sleep 0.3
lab_check "rtr adjusted it (ptb_adjusted)" stat_delta rtr ptb_adjusted "$a0" 1
lab_check "rtr's flow took MTU 1400 from it" sh -c "[ \"\$(ip netns exec rtr awk -v s=$LAN_IP '\$1 == s && \$2 == 30000 && \$4 == 9 { print \$12 }' /proc/net/pdmv2/flows)\" = 1400 ]"
sleep 3.5
nsx lan "$FLOWGEN" -n 1 -s 30000 -p 9 "$LAN_IP" "$WAN_IP" >/dev/null 2>&1
lab_check "rtr forgot it after net.ipv6.route.mtu_expires (3 s), same flow (age >= 3 s)" sh -c "
	set -- \$(ip netns exec rtr awk -v s=$LAN_IP '\$1 == s && \$2 == 30000 && \$4 == 9 { print \$12, \$10 }' /proc/net/pdmv2/flows)
	echo \"pmtu \$1, age \$2 s\"; [ \"\$1\" = 0 ] && [ \"\$2\" -ge 3 ]"
save_state receive-bounds

# ---------------------------------------------------------------- item 2: fragments and conntrack
# 4000-octet UDP datagrams and echo requests from lan: lan fragments them
# for its 1500 link. Without conntrack in rtr each fragment is forwarded as
# it is, and a non-atomic fragment cannot take the option (skip_fragment).
# With a stateful rule, conntrack's IPv6 defragmentation hands rtr's hooks
# the reassembled datagram with frag_max_size set; the output path fragments
# it again at that size, the option in the first fragment behind the
# Fragment header (RFC 8200 §4.5: part of the fragmentable part).
lab_topology_down
lab_topology_up 1500 1500
nft_router
ctl rtr "mode clear" "mark_mask $MARK" "mtu_policy icmp"
frag_run() { # TAG PORT
	local tag=$1 port=$2
	cap_start wan eth0 "$tag-wan" ip6
	lab_iperf_server wan "$port"
	nsx lan iperf3 -6 -u -c "$WAN_IP" -p "$port" -l 4000 -b 1M -t 2 -J \
		>"$ARTIFACTS/iperf-$tag.json" 2>&1
	lab_check "$tag: 4000-octet UDP datagrams lan -> wan arrive (reassembled by wan)" \
		lab_iperf_ok "$ARTIFACTS/iperf-$tag.json" 100000
	lab_check "$tag: 4000-octet pings lan -> wan answered" \
		nsx lan ping -6 -c 3 -i 0.3 -W 2 -s 3952 "$WAN_IP"
	cap_stop "$tag-wan"
	lab_check "$tag: no frame above the WAN MTU" cap_none "$tag-wan" . greater 1515
}
s0=$(st rtr skip_fragment) m0=$(st rtr mtu_events)
frag_run frag-noct 5501
lab_check "frag-noct: fragments forwarded unmodified (skip_fragment)" \
	stat_ge rtr skip_fragment $((s0 + 6))
lab_check "frag-noct: no Packet Too Big" stat_delta rtr mtu_events "$m0" 0

nsx rtr nft -f - <<EOF
table inet ctstate {
	chain forward {
		type filter hook forward priority filter; policy accept;
		ct state established,related counter accept comment "ct-est"
	}
}
EOF
m0=$(st rtr mtu_events)
frag_run frag-ct 5502
lab_check "frag-ct: conntrack tracked the flows in rtr" sh -c \
	"[ \"\$(ip netns exec rtr nft list ruleset | sed -n 's/.*packets \([0-9]*\).*ct-est.*/\1/p')\" -gt 0 ]"
lab_check "frag-ct: no Packet Too Big for the reassembled datagrams" \
	stat_delta rtr mtu_events "$m0" 0
lab_check "frag-ct: first fragments carry the option behind the Fragment header" \
	cap_ok frag-ct-wan "$LAN_IP > $WAN_IP: frag \([^)]*:0\|[0-9]+\) DSTOPT .*$OPT_CLEAR" 6
lab_check "frag-ct: echo requests among them" \
	cap_ok frag-ct-wan "$LAN_IP > $WAN_IP: frag \([^)]*:0\|[0-9]+\) DSTOPT .*$OPT_CLEAR.*ICMP6, echo request" 3
lab_check "frag-ct: no later fragment carries a PDM option" \
	cap_none frag-ct-wan "frag \([^)]*:[1-9][0-9]*\|[0-9]+\).*opt_type 0x0f|opt_type 0x0f.* frag \([^)]*:[1-9]"
lab_check "frag-ct: rtr cut the datagrams itself (refragmented)" stat_ge rtr refragmented 6
save_state frag

# ---------------------------------------------------------------- item 6: NAT66 (masquerade on rtr)
# The egress hook runs after SNAT: a Packet Too Big must still reach the
# inside host (icmpv6_ndo_send() undoes the translation for the message),
# and one from beyond, quoting the translated packet, belongs to a
# forwarded flow even though its quoted source is the router's own address.
lab_topology_down
lab_topology_up 1500 1500
nft_router
nsx rtr nft -f - <<EOF
table ip6 nat66 {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan0" masquerade
	}
}
EOF
ctl rtr "mode clear" "mark_mask $MARK" "mtu_policy icmp"
lab_check "NAT66: ping lan -> wan through masquerade" \
	nsx lan ping -6 -c 2 -i 0.3 -W 2 "$WAN_IP"
ptb_roundtrip NAT66 ping-nat66-ptb.txt
nsx lan "$FLOWGEN" -n 1 -s 30001 -p 9 "$LAN_IP" "$WAN_IP" >/dev/null 2>&1
sleep 0.2
lab_check "NAT66: rtr's flow of the masqueraded UDP packet has its WAN address as source" sh -c \
	"ip netns exec rtr awk '\$1 == \"$RTR_WAN_IP\" && \$2 == 30001' /proc/net/pdmv2/flows | grep -q ."
a0=$(st rtr ptb_adjusted)
lab_check "NAT66: a Packet Too Big from beyond about that packet, sent from wan" inject_h ptb-nat wan
sleep 0.3
lab_check "NAT66: rtr adjusted it (a forwarded flow, though its quoted source is rtr's)" \
	stat_delta rtr ptb_adjusted "$a0" 1
save_state nat66

# ---------------------------------------------------------------- item 9: flowtables (fw4 flow offloading)
# A flowtable takes an established flow past the netfilter hooks: its later
# packets cross without the option. The module reports the flows it lost
# (flows_offloaded); excluding marked packets from `flow add` keeps them.
flowtable_run() { # TAG PORT FLOW-ADD-MATCH...
	local tag=$1 port=$2; shift 2
	nsx rtr nft delete table inet ft 2>/dev/null
	nsx rtr nft -f - <<EOF
table inet ft {
	flowtable f { hook ingress priority 0; devices = { lan0, wan0 }; }
	chain forward {
		type filter hook forward priority filter; policy accept;
		$* meta l4proto tcp flow add @f counter comment "flow-add"
	}
}
EOF
	cap_start wan eth0 "$tag-wan" ip6
	lab_iperf_server wan "$port"
	nsx lan iperf3 -6 -c "$WAN_IP" -p "$port" -t 2 -J >"$ARTIFACTS/iperf-$tag.json" 2>&1
	cap_stop "$tag-wan"
	lab_check "$tag: TCP lan -> wan through the flowtable" lab_iperf_ok "$ARTIFACTS/iperf-$tag.json" 100000
}
lab_topology_down
lab_topology_up 1500 1500
nft_router
ctl rtr "mode clear" "mark_mask $MARK"
o0=$(st rtr flows_offloaded)
flowtable_run flowtable 5701
lab_check "flowtable: rtr counted the measured flow the flowtable took (flows_offloaded)" \
	stat_ge rtr flows_offloaded $((o0 + 1))
lab_check "flowtable: and that is true: data segments crossed without the option" \
	cap_ok flowtable-wan "$LAN_IP\.[0-9]+ > $WAN_IP\.5701: .*length [1-9]" 1
o0=$(st rtr flows_offloaded)
flowtable_run flowtable-unmarked 5702 "meta mark & $MARK == 0"
lab_check "flowtable for unmarked flows only: nothing counted" stat_delta rtr flows_offloaded "$o0" 0
lab_check "flowtable for unmarked flows only: no data segment without the option" \
	cap_none flowtable-unmarked-wan "$LAN_IP\.[0-9]+ > $WAN_IP\.5702: .*length [1-9]"
lab_check "flowtable for unmarked flows only: data segments carry it" \
	cap_ok flowtable-unmarked-wan "$LAN_IP > $WAN_IP: DSTOPT .*$OPT_CLEAR.*\) [0-9]+ > 5702: .*length [1-9]" 100
nsx rtr nft delete table inet ft
save_state flowtable

# ---------------------------------------------------------------- item 7: install and removal under traffic
# rtr's WAN port without TSO, so that forwarded aggregates are numbered by
# the wrapper: switching the only measuring namespace on and off installs and
# removes it 20 times while TCP crosses; packets armed just before a removal
# leave with the pending option (counted in gso_orphaned), never broken.
lab_topology_down
lab_topology_up 1500 1500
nft_router
nsx rtr ethtool -K wan0 tso off >/dev/null
ctl rtr "mark_mask $MARK"
lab_iperf_server wan 5603
lab_bg nsx lan iperf3 -6 -c "$WAN_IP" -p 5603 -t 3600 --logfile "$ARTIFACTS/iperf-gso-toggle.txt"
toggle_pid=$LAB_LAST_PID
toggles=0 deferred=0
: >"$ARTIFACTS/gso-toggles.txt"
for i in $(seq 20); do
	d0=$(st rtr gso_deferred)
	ctl rtr "mode clear" || break
	on=$(st rtr gso_wrapper_installed)
	sleep 0.3
	ctl rtr "mode off" || break
	off=$(st rtr gso_wrapper_installed) d1=$(st rtr gso_deferred)
	echo "toggle $i: installed $on, then $off; deferred +$((d1 - d0))" >>"$ARTIFACTS/gso-toggles.txt"
	[ "$on" = 1 ] && [ "$off" = 0 ] || break
	[ "$d1" -gt "$d0" ] && deferred=$((deferred + 1))
	toggles=$((toggles + 1))
done
lab_check "20 installs and removals of the GSO wrapper, each seen in stats" \
	sh -c "cat '$ARTIFACTS/gso-toggles.txt'; [ $toggles -eq 20 ]"
lab_check "aggregates numbered by the wrapper in most rounds (>= 15 of 20)" \
	sh -c "echo 'rounds with deferred aggregates: $deferred'; [ $deferred -ge 15 ]"
lab_check "TCP still running after the toggles" kill -0 "$toggle_pid"
kill "$toggle_pid" 2>/dev/null
nsx rtr cat /proc/net/pdmv2/stats >"$ARTIFACTS/stats-gso-toggles.txt"
lab_check "segment counts as reserved: none beyond (gso_segments_unnumbered 0)" \
	stat_eq rtr gso_segments_unnumbered 0
lab_check "segment counts as reserved: no PSN unused (gso_psns_unused 0)" \
	stat_eq rtr gso_psns_unused 0

# ---------------------------------------------------------------- item 1: unload under traffic
# 100 cycles: load, install keys (mode encrypted), let forwarded TCP and UDP
# be sealed, unload while they flow. A CPU still inside a hook when the
# namespace's state is freed writes into poisoned memory: slub reports it in
# the kernel log, which qemu/run.sh and the check below read.
lab_topology_down
lab_topology_up 1500 1500
nft_router
lab_iperf_server wan 5601
lab_iperf_server wan 5602
lab_bg nsx lan iperf3 -6 -c "$WAN_IP" -p 5601 -t 3600 --logfile "$ARTIFACTS/iperf-cycles-tcp.txt"
tcp_pid=$LAB_LAST_PID
lab_bg nsx lan iperf3 -6 -u -c "$WAN_IP" -p 5602 -b 20M -l 1200 -t 3600 --logfile "$ARTIFACTS/iperf-cycles-udp.txt"
udp_pid=$LAB_LAST_PID
lab_check "rmmod before the cycles" rmmod pdmv2
# one process chain per cycle (process starts are what a TCG guest is slow at):
# load, install the keys, wait until rtr sealed something (at most 3 s), print
# the count, unload
cycle() {
	ip netns exec rtr sh -c '
		insmod "$1" || exit 1
		{ printf "mode encrypted\nmark_mask %s\n" "$2"; cat "$3"; } >/proc/net/pdmv2/control || echo "control write failed"
		n=0
		for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
			n=$(awk "\$1 == \"inserted\" { print \$2 }" /proc/net/pdmv2/stats)
			[ "$n" -gt 0 ] && break
			sleep 0.2
		done
		echo "inserted $n"
		rmmod pdmv2' cycle "$KO" "$MARK" "$ENC/rtr-gen1.ctl"
}
cycles=0 sealed=0
: >"$ARTIFACTS/cycles.txt"
for i in $(seq 100); do
	out=$(cycle 2>&1)
	rc=$?
	echo "cycle $i: $out (rc $rc)" >>"$ARTIFACTS/cycles.txt"
	[ $rc -eq 0 ] || break
	case $out in *"inserted "[1-9]*) sealed=$((sealed + 1)) ;; esac
	cycles=$((cycles + 1))
done
lab_check "100 load/unload cycles completed" test "$cycles" -eq 100
lab_check "traffic was being sealed when unloading (>= 90 of 100 cycles)" \
	sh -c "echo 'cycles with sealed packets: $sealed'; [ $sealed -ge 90 ]"
lab_check "TCP still running after the cycles" kill -0 "$tcp_pid"
lab_check "UDP still running after the cycles" kill -0 "$udp_pid"
kill "$tcp_pid" "$udp_pid" 2>/dev/null
sleep 1
lab_save_dmesg
lab_check "kernel log clean (no slab corruption, oops, warning or BUG)" sh -c \
	'! dmesg | grep -E "BUG|Poison overwritten|Redzone|Object already free|Freepointer|WARNING:|Oops|Call Trace|general protection|memory corruption"'

lab_finish
