#!/bin/bash
# The reduced functional scenario every CPU of the lab runs in one boot
# (qemu/arch-lab.sh; docs/lab.md, "Other CPUs"): topology, insertion through
# rtr in clear, v1 and encrypted (keys installed) with the peer verifying on
# ingress, WAN MTU 1280, injected malformed and tampered options, unload under
# traffic, dmesg clean.
#
# Endianness proof: the module is loaded with test_random (every per-flow
# random draw fixed), and before any other marked traffic one UDP flow per
# mode sends GOLDEN_PACKETS one-way datagrams lan -> wan (qemu/tools/flowgen.c,
# fixed source port): PSNs, Global Pointer and (with no packet received on
# the flow) the deltas are then the same on every machine, and so are the
# option bytes, encrypted ones included. The host compares the captures
# (golden-MODE.pcap) with amd64's (test/lab/check-arch-golden.ts); it also
# checks every capture with the analyzer's decoder (test/lab/check-captures.ts)
# and opens the encrypted ones against the trace (test/lab/check-encrypted.ts).
#
# Inputs in the share: pdmv2.ko, tools/ (flowgen, pdm-inject: built for this
# CPU), malformed.hex, enc/ (test/lab/encrypted-setup.ts).
# shellcheck source=/dev/null
. "${LAB_LIB:-/host/scenarios/lib/lab.sh}"
# shellcheck source=qemu/scenarios/lib/pdmv2.sh
. "${LAB_SCENARIOS:-/host/scenarios}/lib/pdmv2.sh"
# shellcheck source=qemu/scenarios/lib/nft.sh
. "${LAB_SCENARIOS:-/host/scenarios}/lib/nft.sh"

SHARE=${LAB_SHARE:-/share}
KO=$SHARE/pdmv2.ko ENC=$SHARE/enc TOOLS=$SHARE/tools
for f in "$KO" "$ENC/rtr-gen1.ctl" "$TOOLS/flowgen" "$TOOLS/pdm-inject" "$SHARE/malformed.hex"; do
	[ -e "$f" ] || { echo "not ok - input $f missing"; echo "0 passed, 1 failed"; exit 1; }
done
MARK=0x100
# the fixed draw: initial PSN 0x5eed0103 of every flow, rekey count 0x03 of every epoch
TEST_RANDOM=0x5eed0103
GOLDEN_PORT=9999 GOLDEN_PACKETS=4
TRACE=/sys/kernel/tracing
OPT_V1='opt_type 0x0f: len=10' OPT_CLEAR='opt_type 0x0f: len=22' OPT_ENC='opt_type 0x0f: len=34'

uname -a | tee "$ARTIFACTS/uname.txt"
# encrypted captures, the keys and the trace in enc/ (test/lab/check-encrypted.ts),
# the others beside (test/lab/check-captures.ts, which needs no keys)
mkdir -p /tmp/enc "$ARTIFACTS/enc"
cp "$ENC/secrets.json" "$ENC/wrong-secrets.json" "$ARTIFACTS/enc/"
cap() { [ "$1" = encrypted ] && echo "enc/$2-$1" || echo "$2-$1"; }	# MODE NAME: capture name
ctl_file() { nsx "$1" sh -c 'cat > /proc/net/pdmv2/control' <"$2"; }
both() { ctl rtr "$@" && ctl wan "$@"; }

# ---------------------------------------------------------------- topology, no module
lab_topology_up 1500 1500
lab_check "topology: ping lan -> wan" nsx lan ping -6 -c 2 -W 5 "$WAN_IP"
lab_check "topology: ping wan -> lan" nsx wan ping -6 -c 2 -W 5 "$LAN_IP"

# ---------------------------------------------------------------- load, keys
lab_check "insmod with test_random=$TEST_RANDOM" lab_insmod "$KO" "test_random=$TEST_RANDOM"
lab_check "AES-GCM with the CPU's AES and carry-less multiply instructions exactly where it has them" simd_crypto_as_cpu
lab_check "tracefs mounted, record-cmd off" trace_mount
echo >"$TRACE/trace"
lab_check "tracepoint pdmv2:pdmv2_emit enabled" sh -c "echo 1 > $TRACE/events/pdmv2/pdmv2_emit/enable"
lab_check "rtr: gen-1 client-prefix secret installed" ctl_file rtr "$ENC/rtr-gen1.ctl"
lab_check "wan: gen-1 SGS installed" ctl_file wan "$ENC/wan-gen1.ctl"
nft_router
nft_server
# the golden datagrams end at wan's input hook: no ICMP error comes back to
# teach rtr's flow a PSNLR
nsx wan nft -f - <<EOF
table inet golden {
	chain in { type filter hook input priority 0; policy accept; udp dport $GOLDEN_PORT drop; }
}
EOF

# ---------------------------------------------------------------- golden flows
golden() { # MODE SPORT OPT
	local i c
	c=$(cap "$1" golden)
	both "mode $1" "mark_mask $MARK" "key_overlap 3" || return 1
	# all of ip6: BPF's "udp" does not look past the Destination Options header
	cap_start wan eth0 "$c" ip6
	for i in $(seq "$GOLDEN_PACKETS"); do
		nsx lan "$TOOLS/flowgen" -n 1 -s "$2" -p "$GOLDEN_PORT" -l 32 "$LAN_IP" "$WAN_IP" >/dev/null || return 1
		sleep 0.2
	done
	cap_stop "$c"
	cap_ok "$c" "$3.* > $GOLDEN_PORT: " "$GOLDEN_PACKETS"
}
lab_check "golden flow, mode clear: $GOLDEN_PACKETS options of length 22" golden clear 40001 "$OPT_CLEAR"
lab_check "golden flow, mode v1: $GOLDEN_PACKETS options of length 10" golden v1 40002 "$OPT_V1"
lab_check "golden flow, mode encrypted: $GOLDEN_PACKETS options of length 34" golden encrypted 40003 "$OPT_ENC"

# ---------------------------------------------------------------- both directions, every mode
traffic() { # MODE OPT: ping both ways and a UDP burst, captured on the WAN link
	both "mode $1" "mark_mask $MARK" || return 1
	local v0 c
	c=$(cap "$1" traffic)
	v0=$(st wan ingress_verified)
	cap_start wan eth0 "$c" ip6
	nsx lan ping -6 -c 6 -i 0.3 -W 5 "$WAN_IP" >"$ARTIFACTS/ping-$1.txt" || return 1
	nsx lan "$TOOLS/flowgen" -n 20 -s 41000 -p 7 -l 200 "$LAN_IP" "$WAN_IP" >/dev/null || return 1
	cap_stop "$c"
	cap_ok "$c" "$LAN_IP\\.?[0-9]* > $WAN_IP.*$2" 6 || return 1
	cap_ok "$c" "$WAN_IP\\.?[0-9]* > $LAN_IP.*$2" 6 || return 1
	[ "$1" != encrypted ] || stat_ge wan ingress_verified $((v0 + 6))
}
lab_check "clear: options both ways" traffic clear "$OPT_CLEAR"
lab_check "rtr learned the server's PSNs" stat_ge rtr ingress_learned 6
lab_check "v1: options both ways" traffic v1 "$OPT_V1"
lab_check "encrypted: options both ways, wan verified rtr's tags" traffic encrypted "$OPT_ENC"
lab_check "rtr verified wan's tags" stat_ge rtr ingress_verified 6
lab_check "no tag failures (wan)" stat_eq wan ingress_tag_failed 0
lab_check "no tag failures (rtr)" stat_eq rtr ingress_tag_failed 0
t0=$(st wan ingress_tag_failed) v0=$(st wan ingress_verified)
inject() { for n in "$@"; do grep "^$n " "$ENC/inject-encrypted.hex"; done | nsx lan "$TOOLS/pdm-inject"; }
lab_check "inject a valid and a tampered encrypted option" inject valid tampered
sleep 0.5
lab_check "wan: the valid one verified" stat_delta wan ingress_verified "$v0" 1
lab_check "wan: the tampered one failed its tag" stat_delta wan ingress_tag_failed "$t0" 1
cat "$TRACE/trace" >"$ARTIFACTS/enc/trace-arch.txt"
echo 0 >"$TRACE/events/pdmv2/pdmv2_emit/enable"
save_state traffic

# ---------------------------------------------------------------- malformed options
both "mode clear" "mark_mask $MARK"
lab_check "malformed packets injected from lan" \
	sh -c "ip netns exec lan $TOOLS/pdm-inject <$SHARE/malformed.hex >$ARTIFACTS/malformed-inject.txt 2>&1"
sleep 0.5
lab_check "rtr: bad PDM options counted as invalid" stat_ge rtr ingress_invalid 3
lab_check "rtr: option overrunning its header is a parse error" stat_ge rtr ingress_parse_errors 1
lab_check "wan: bad PDM options counted as invalid" stat_ge wan ingress_invalid 3
lab_check "ping still works after malformed input" nsx lan ping -6 -c 2 -i 0.3 -W 5 "$WAN_IP"

# ---------------------------------------------------------------- WAN MTU 1280
lab_topology_down
lab_topology_up 1280 1500
nft_router
nft_server
both "mode clear" "mark_mask $MARK"
mkdir -p /tmp/www
head -c 1048576 /dev/urandom >/tmp/www/blob
lab_bg nsx wan httpd -f -p 8080 -h /tmp/www
lab_wait_listen wan 8080
i0=$(st rtr inserted)
cap_start wan eth0 mtu1280 ip6
lab_check "HTTP GET 1 MiB through WAN MTU 1280" nsx lan wget -q -O /tmp/blob.rx "http://[$WAN_IP]:8080/blob"
cap_stop mtu1280
lab_check "HTTP payload intact at MTU 1280" cmp -s /tmp/www/blob /tmp/blob.rx
lab_check "rtr inserted into the HTTP flow" stat_ge rtr inserted $((i0 + 20))
lab_check "no frame above 1280 + 14 octets on the WAN link" sh -c \
	"[ -z \"\$(tcpdump -nn -r $ARTIFACTS/mtu1280.pcap 'greater 1295' 2>/dev/null)\" ]"
lab_check "MTU 1280: no oversize skip on the server" stat_eq wan skip_mtu 0

# ---------------------------------------------------------------- unload under traffic
# long enough to outlast a reload on the slowest emulated CPU
lab_iperf_server wan 5205
lab_bg nsx lan iperf3 -6 -u -c "$WAN_IP" -p 5205 -b 2M -l 1000 -t 15
lab_bg nsx lan ping -6 -q -i 0.05 -c 300 "$WAN_IP"
sleep 1.5
lab_check "rmmod under traffic" rmmod pdmv2
lab_check "insmod again under traffic" lab_insmod "$KO"
ctl rtr "mode clear" "mark_mask $MARK"
lab_wait_for 10 stat_ge rtr inserted 5
lab_check "inserting again after reload" stat_ge rtr inserted 5
lab_check "rmmod" rmmod pdmv2
sleep 0.5
lab_save_dmesg
lab_check "dmesg has no oops/warning/BUG" sh -c \
	'! dmesg | grep -E "BUG:|WARNING:|Oops|Call Trace|general protection|refcount_t|leak|UBSAN"'
lab_check "module logged its unload" sh -c 'dmesg | grep -q "pdmv2: unloaded"'

lab_finish
