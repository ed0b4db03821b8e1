#!/bin/bash
# pdmv2.ko encrypted-mode lab scenario (runs inside the QEMU guest).
#
#   npm run lab -- encrypted   (qemu/lab.sh prepares the share .build/lab/KERNEL)
#
# Inputs, made on the host by test/lab/encrypted-setup.ts into
# .build/lab/enc/ (the share's enc/): control files with
# the test secrets (rtr: CS(P) of the LAN prefix; wan: the SGS, from which
# the module derives CS(P) itself), bad control writes, encrypted packets to
# inject, and secrets.json / wrong-secrets.json (analyzer key files, copied
# into the artifacts so that any analyzer can decrypt the captures).
#
# lan ---- rtr ---- wan: both ends run mode encrypted. The tracepoint
# pdmv2:pdmv2_emit records the fields of every option before sealing
# (trace-*.txt); the host decrypts the captures and compares
# (test/lab/check-encrypted.ts). Also: ingress verification, tampered,
# wrong-key, replayed and truncated options, strict key control, rekeying
# with a small interval, a generation change in the middle of a flow with
# overlap and wipe, keyflush and the no-key policy, unload with keys, a flow
# restarted by idle expiry and by a reload that never repeats a nonce.
# shellcheck source=/dev/null
. "${LAB_LIB:-/host/scenarios/lib/lab.sh}"

SHARE=${LAB_SHARE:-/share}
ENC=$SHARE/enc
KO=
for c in "${PDMV2_KO:-}" "$SHARE/pdmv2.ko"; do
	if [ -n "$c" ] && [ -f "$c" ]; then KO=$c; break; fi
done
if [ -z "$KO" ] || [ ! -f "$ENC/rtr-gen1.ctl" ]; then
	echo "not ok - pdmv2.ko or the encrypted-scenario inputs ($ENC) not found"
	echo "0 passed, 1 failed"
	exit 1
fi

MARK=0x100
PAIRING=00000000000000a1
OPT_ENC='opt_type 0x0f: len=34'
OPT_CLEAR='opt_type 0x0f: len=22'
TRACE=/sys/kernel/tracing
# cap_start/cap_stop/cap_ok/cap_none, ctl, st, stat_ge/eq/delta, save_state
# shellcheck source=qemu/scenarios/lib/pdmv2.sh
. "${LAB_SCENARIOS:-/host/scenarios}/lib/pdmv2.sh"

ctl_file() { # NS FILE: the whole file in one write
	nsx "$1" sh -c 'cat > /proc/net/pdmv2/control' <"$2"
}
keys() { nsx "$1" cat /proc/net/pdmv2/keys; }
trace_save() { # TAG: the emitted options so far, then an empty buffer
	cat "$TRACE/trace" >"$ARTIFACTS/trace-$1.txt"
	echo >"$TRACE/trace"
}

# shellcheck source=qemu/scenarios/lib/nft.sh
. "${LAB_SCENARIOS:-/host/scenarios}/lib/nft.sh"

cp "$ENC/secrets.json" "$ENC/wrong-secrets.json" "$ARTIFACTS/"

# ---------------------------------------------------------------- load, trace
lab_topology_up 1500 1500
lab_check "insmod $KO" insmod "$KO"
lab_check "AES-GCM with the CPU's AES and carry-less multiply instructions exactly where it has them" simd_crypto_as_cpu
lab_check "tracefs mounted, record-cmd off" trace_mount
echo 16384 >"$TRACE/buffer_size_kb"
echo >"$TRACE/trace"
lab_check "tracepoint pdmv2:pdmv2_emit enabled" \
	sh -c "echo 1 > $TRACE/events/pdmv2/pdmv2_emit/enable"
lab_check "keys file is 0400" sh -c \
	'[ "$(ip netns exec rtr stat -c %a /proc/net/pdmv2/keys)" = 400 ]'
lab_check "defaults: verify on, nokey_policy none" sh -c '
	ip netns exec rtr grep -qx "verify on" /proc/net/pdmv2/control &&
	ip netns exec rtr grep -qx "nokey_policy none" /proc/net/pdmv2/control'

# ---------------------------------------------------------------- keys
lab_check "rtr: gen-1 client-prefix secret installed (key/peer/active)" \
	ctl_file rtr "$ENC/rtr-gen1.ctl"
lab_check "wan: gen-1 SGS installed, CS(P) derived in the module" \
	ctl_file wan "$ENC/wan-gen1.ctl"
keys rtr >"$ARTIFACTS/keys-rtr.txt"
keys wan >"$ARTIFACTS/keys-wan.txt"
lab_check "rtr keys: one active gen-1 key and its peer" sh -c "
	grep -q '^key $PAIRING 1 1 .* active\$' $ARTIFACTS/keys-rtr.txt &&
	grep -q '^peer $PAIRING ' $ARTIFACTS/keys-rtr.txt"
lab_check "wan keys: the client prefix, active" \
	grep -q "^key $PAIRING 1 1 2001:db8:1::/64 active\$" "$ARTIFACTS/keys-wan.txt"
lab_check "secrets_installed counted" stat_eq rtr secrets_installed 1

# every bad write is refused as a whole and changes nothing
bad_control() {
	local name="" body="" line n=0 fail=0 before after
	before=$(keys rtr; nsx rtr cat /proc/net/pdmv2/control)
	while IFS= read -r line || [ -n "$line" ]; do
		case $line in
		'#'*) name=${line#\# } ;;
		---)
			if [ -n "$body" ]; then
				n=$((n + 1))
				if printf '%s\n' "$body" | nsx rtr sh -c \
					'cat > /proc/net/pdmv2/control' 2>/dev/null; then
					echo "accepted: $name"; fail=1
				fi
			fi
			body="" name="" ;;
		*) body=${body:+$body$'\n'}$line ;;
		esac
	done <"$ENC/bad-control.txt"
	if [ -n "$body" ]; then
		n=$((n + 1))
		printf '%s\n' "$body" | nsx rtr sh -c 'cat > /proc/net/pdmv2/control' \
			2>/dev/null && { echo "accepted: $name"; fail=1; }
	fi
	after=$(keys rtr; nsx rtr cat /proc/net/pdmv2/control)
	echo "$n bad writes"
	[ "$n" -ge 6 ] && [ "$fail" -eq 0 ] && [ "$before" = "$after" ]
}
lab_check "bad key control (short key, bad hex, AEAD 3, host bits, gen collision, overlapping scope) rejected, nothing changed" bad_control
lab_check "a bad line after good key lines applies nothing" sh -c "
	! printf 'unkey $PAIRING 1\nmode bogus\n' |
		ip netns exec rtr sh -c 'cat > /proc/net/pdmv2/control' 2>/dev/null &&
	ip netns exec rtr grep -q '^key $PAIRING 1 ' /proc/net/pdmv2/keys"

lab_check "rtr: mode encrypted" ctl rtr "mode encrypted" "mark_mask $MARK" \
	"key_overlap 3"
lab_check "wan: mode encrypted" ctl wan "mode encrypted" "mark_mask $MARK" \
	"key_overlap 3"
nft_router
nft_server

# ---------------------------------------------------------------- traffic, both directions
mkdir -p /tmp/www
head -c 262144 /dev/urandom >/tmp/www/blob
lab_bg nsx wan httpd -f -p 8080 -h /tmp/www
lab_wait_listen wan 8080
cap_start wan eth0 enc-wan ip6
lab_check "ping lan -> wan" nsx lan ping -6 -c 10 -i 0.1 -W 2 "$WAN_IP"
udp_run() { # PORT FILE [iperf3 args...]: one UDP run against its own server
	local port=$1 f=$2; shift 2
	lab_iperf_server wan "$port"
	nsx lan iperf3 -6 -u -c "$WAN_IP" -p "$port" "$@" -J >"$ARTIFACTS/$f" 2>&1
	lab_iperf_ok "$ARTIFACTS/$f" 10000
}
lab_check "UDP lan -> wan" udp_run 5301 iperf-udp-up.json -b 1M -l 600 -t 1
lab_check "UDP wan -> lan (-R)" udp_run 5302 iperf-udp-down.json -b 1M -l 600 -t 1 -R
lab_check "HTTP GET 256 KiB" nsx lan wget -q -O /tmp/blob.rx "http://[$WAN_IP]:8080/blob"
lab_check "payload intact" cmp -s /tmp/www/blob /tmp/blob.rx
cap_stop enc-wan
trace_save traffic
save_state traffic
lab_check "lan->wan options are encrypted (length 34) on the WAN link" \
	cap_ok enc-wan "$LAN_IP\\.?[0-9]* > $WAN_IP.*$OPT_ENC" 100
lab_check "wan->lan options are encrypted too (server emits)" \
	cap_ok enc-wan "$WAN_IP\\.?[0-9]* > $LAN_IP.*$OPT_ENC" 100
lab_check "no clear PDMv2 option on the wire" cap_none enc-wan "$OPT_CLEAR"
lab_check "wan verified rtr's tags" stat_ge wan ingress_verified 100
lab_check "rtr verified wan's tags" stat_ge rtr ingress_verified 100
lab_check "no tag failures in normal traffic (wan)" stat_eq wan ingress_tag_failed 0
lab_check "no tag failures in normal traffic (rtr)" stat_eq rtr ingress_tag_failed 0
lab_check "keys derived once per flow and epoch, not per packet" sh -c "
	d=\$(ip netns exec rtr awk '\$1 == \"keys_derived\" { print \$2 }' /proc/net/pdmv2/stats)
	i=\$(ip netns exec rtr awk '\$1 == \"inserted\" { print \$2 }' /proc/net/pdmv2/stats)
	echo \"derived \$d inserted \$i\"; [ \"\$d\" -ge 1 ] && [ \$((d * 10)) -lt \"\$i\" ]"
lab_check "trace recorded the encrypted options" \
	grep -q 'pdmv2_emit: fmt=encrypted' "$ARTIFACTS/trace-traffic.txt"
no_secret_anywhere() {
	local f ns s
	for ns in rtr wan; do
		for f in control stats flows keys; do
			nsx "$ns" cat "/proc/net/pdmv2/$f"
		done
	done >/tmp/readable.txt
	dmesg >>/tmp/readable.txt
	cat "$ARTIFACTS"/trace-*.txt >>/tmp/readable.txt
	for s in $(grep -ohE '[0-9a-f]{64}' "$ENC"/*.ctl | sort -u); do
		if grep -qi "$s" /tmp/readable.txt; then echo "secret visible"; return 1; fi
		if grep -qi "${s:0:16}" /tmp/readable.txt; then echo "part of a secret visible"; return 1; fi
	done
	echo "$(grep -ohE '[0-9a-f]{64}' "$ENC"/*.ctl | sort -u | wc -l) secrets not found in /proc, dmesg or trace"
}
lab_check "no secret readable back (control, stats, flows, keys, dmesg, trace)" no_secret_anywhere

# ---------------------------------------------------------------- ingress: bad options
inject() { # NAME...: send these packets from lan
	local n
	for n in "$@"; do grep "^$n " "$ENC/inject-encrypted.hex"; done |
		nsx lan "$SHARE/tools/pdm-inject"
}
v0=$(st wan ingress_verified) r0=$(st wan ingress_replayed)
t0=$(st wan ingress_tag_failed) i0=$(st wan ingress_invalid)
p0=$(st wan ingress_parse_errors)
lab_check "inject valid, replayed, tampered, wrong-key and truncated options" \
	inject valid replay tampered wrong-key truncated-option truncated-header
sleep 0.5
lab_check "wan: the valid one verified" stat_delta wan ingress_verified "$v0" 1
lab_check "wan: the replayed PSN detected" stat_delta wan ingress_replayed "$r0" 1
lab_check "wan: tampered and wrong-key tags failed" \
	stat_delta wan ingress_tag_failed "$t0" 2
lab_check "wan: truncated option (length 30) invalid" \
	stat_delta wan ingress_invalid "$i0" 1
lab_check "wan: option overrunning its header is a parse error" \
	stat_delta wan ingress_parse_errors "$p0" 1
lab_check "tag failures logged, rate-limited, without key material" \
	sh -c 'dmesg | grep -q "integrity check failed for an option from 2001:db8:1::2"'
lab_check "ping still works after bad input" nsx lan ping -6 -c 2 -i 0.2 -W 2 "$WAN_IP"
save_state inject

# ---------------------------------------------------------------- rekey with a small interval
ctl rtr "rekey_packets 16"
rk0=$(st rtr rekeys)
cap_start wan eth0 enc-rekey-wan ip6
lab_check "ping lan -> wan, 60 packets, rekey every 16 PSNs" \
	nsx lan ping -6 -c 60 -i 0.05 -W 2 "$WAN_IP"
cap_stop enc-rekey-wan
trace_save rekey
lab_check "rtr rekeyed >= 3 times" stat_ge rtr rekeys $((rk0 + 3))
printf '{ "rekey_packets": 16, "capture": "enc-rekey-wan.pcap", "src": "%s", "dst": "%s", "protocol": 58 }\n' \
	"$LAN_IP" "$WAN_IP" >"$ARTIFACTS/expect-rekey.json"

# the same over TCP: rtr segments GSO packets and seals all the segments of
# one under one hold of the flow lock, so the key must change inside such a
# batch every 16 PSNs (data lan -> wan, forwarded by rtr; ACKs wan -> lan,
# sent by wan's module)
tcp_rekey_run() { # PORT CLIENT-PORT TAG: 512 KiB lan -> wan
	lab_iperf_server wan "$1"
	nsx lan iperf3 -6 -c "$WAN_IP" -p "$1" --cport "$2" -n 512K -J \
		>"$ARTIFACTS/iperf-$3.json" 2>&1
	lab_iperf_ok "$ARTIFACTS/iperf-$3.json" 10000
}
ctl wan "rekey_packets 16"
g0=$(st rtr gso_segmented) rk0=$(st rtr rekeys)
cap_start wan eth0 enc-rekey-tcp-wan ip6
lab_check "TCP 512 KiB lan -> wan from port 5311, rekey every 16 PSNs" \
	tcp_rekey_run 5310 5311 rekey-tcp
cap_stop enc-rekey-tcp-wan
trace_save rekey-tcp
ctl wan "rekey_packets 4294967295"
lab_check "rtr segmented GSO packets of the flow (>= 5)" stat_ge rtr gso_segmented $((g0 + 5))
# (counted from the options rtr sealed on that flow, its tx_packets: iperf3
# -n ends the test when the sender has written its 512 KiB, and on a loaded
# host less than that may have crossed by then; rtr's inserted counter also
# has the options of iperf3's control connection, 16 of them in one run)
rekeys_per_psns() { # CLIENT-PORT
	local n r=$(( $(st rtr rekeys) - rk0 ))
	n=$(nsx rtr awk -v s="$LAN_IP" -v p="$1" \
		'$1 == s && $2 == p && $5 == 6 { print $8 }' /proc/net/pdmv2/flows)
	echo "rtr sealed ${n:-no} options on the flow from port $1, rekeyed $r times (want >= $n / 16 - 1, and >= 10)"
	[ -n "$n" ] && [ "$r" -ge $((n / 16 - 1)) ] && [ "$r" -ge 10 ]
}
lab_check "rtr rekeyed once per 16 PSNs of the TCP flow" rekeys_per_psns 5311
printf '{ "rekey_packets": 16, "capture": "enc-rekey-tcp-wan.pcap", "flows": [ %s, %s ] }\n' \
	"{ \"protocol\": 6, \"src\": \"$LAN_IP\", \"sport\": 5311 }" \
	"{ \"protocol\": 6, \"dst\": \"$LAN_IP\", \"dport\": 5311 }" >"$ARTIFACTS/expect-rekey-tcp.json"

# the same with rtr's WAN port without TSO (most router SoCs): the kernel
# segments each forwarded aggregate, and rtr seals the options of all its
# segments in the hook, each under its PSN's epoch key, for the GSO wrapper
# to put into the segments it cuts (pdmv2_gso.c); the host check matches
# every option with the trace and the epoch rule, as above
nsx rtr ethtool -K wan0 tso off >/dev/null
ctl wan "rekey_packets 16"
d0=$(st rtr gso_deferred) g0=$(st rtr gso_segmented) rk0=$(st rtr rekeys)
cap_start wan eth0 enc-rekey-tcpwire-wan ip6
lab_check "TCP 512 KiB lan -> wan from port 5313, rtr's WAN port without TSO, rekey every 16 PSNs" \
	tcp_rekey_run 5312 5313 rekey-tcpwire
cap_stop enc-rekey-tcpwire-wan
trace_save rekey-tcpwire
ctl wan "rekey_packets 4294967295"
nsx rtr ethtool -K wan0 tso on >/dev/null
lab_check "rtr sealed for the kernel's segments (>= 5 aggregates deferred)" \
	stat_ge rtr gso_deferred $((d0 + 5))
lab_check "rtr segmented no aggregate itself" stat_eq rtr gso_segmented "$g0"
lab_check "rtr rekeyed once per 16 PSNs of the flow, inside aggregates" rekeys_per_psns 5313
lab_check "no pending option (type 0x1e) left rtr" \
	cap_none enc-rekey-tcpwire-wan "opt_type 0x1e"
lab_check "no data segment lan -> wan without the encrypted option" \
	cap_none enc-rekey-tcpwire-wan "$LAN_IP\\.5313 > $WAN_IP\\.5312: "
printf '{ "rekey_packets": 16, "capture": "enc-rekey-tcpwire-wan.pcap", "flows": [ %s ] }\n' \
	"{ \"protocol\": 6, \"src\": \"$LAN_IP\", \"sport\": 5313 }" >"$ARTIFACTS/expect-rekey-tcpwire.json"

# 16 PSNs x 255 epochs: a flow must stop before any epoch comes back
ctl rtr "rekey_packets 2"
ex0=$(st rtr skip_rekey_exhausted)
lab_check "UDP 700 packets at rekey_packets 2" udp_run 5303 iperf-exhaust.json \
	-b 2M -l 200 -k 700
lab_check "a flow that used every epoch of its generation stops emitting" \
	sh -c "[ \$(ip netns exec rtr awk '\$1 == \"skip_rekey_exhausted\" { print \$2 }' \
		/proc/net/pdmv2/stats) -gt $ex0 ]"
ctl rtr "rekey_packets 4294967295"
echo >"$TRACE/trace"

# ---------------------------------------------------------------- generation change mid-flow
cap_start wan eth0 enc-gen-wan ip6
lab_bg nsx lan ping -6 -c 40 -i 0.1 "$WAN_IP"
ping_pid=$LAB_LAST_PID
sleep 1.5
lab_check "wan: gen-2 SGS, active 2 (mid-flow)" ctl_file wan "$ENC/wan-gen2.ctl"
lab_check "rtr: gen-2 key, active 2 (mid-flow)" ctl_file rtr "$ENC/rtr-gen2.ctl"
keys rtr >"$ARTIFACTS/keys-rtr-gen2.txt"
lab_check "gen 1 retiring during the overlap, gen 2 active" sh -c "
	grep -q '^key $PAIRING 1 .* retiring' $ARTIFACTS/keys-rtr-gen2.txt &&
	grep -q '^key $PAIRING 2 .* active\$' $ARTIFACTS/keys-rtr-gen2.txt"
w0=$(st rtr secrets_wiped)
lab_wait_pid "$ping_pid" 20
cap_stop enc-gen-wan
trace_save generation
lab_check "gen 1 wiped after the overlap (3 s)" lab_wait_for 8 sh -c "
	! ip netns exec rtr grep -q '^key $PAIRING 1 ' /proc/net/pdmv2/keys"
lab_check "rtr counted the wipe" stat_delta rtr secrets_wiped "$w0" 1
printf '{ "capture": "enc-gen-wan.pcap", "src": "%s", "dst": "%s", "protocol": 58, "generations": [1, 2] }\n' \
	"$LAN_IP" "$WAN_IP" >"$ARTIFACTS/expect-generation.json"
save_state generation

# ---------------------------------------------------------------- keyflush, no-key policy
w0=$(st rtr secrets_wiped)
n0=$(st rtr skip_no_secret)
lab_check "keyflush" ctl rtr keyflush
lab_check "keys file empty after keyflush" sh -c \
	'! ip netns exec rtr grep -q "^key" /proc/net/pdmv2/keys'
lab_check "keyflush wiped the gen-2 secret" stat_delta rtr secrets_wiped "$w0" 1
cap_start wan eth0 nokey-wan ip6
lab_check "ping without keys" nsx lan ping -6 -c 5 -i 0.1 -W 2 "$WAN_IP"
cap_stop nokey-wan
lab_check "policy none: no option from rtr without a key" \
	cap_none nokey-wan "$LAN_IP > $WAN_IP: DSTOPT"
lab_check "skipped packets counted (skip_no_secret)" stat_ge rtr skip_no_secret $((n0 + 5))
ctl rtr "nokey_policy clear"
cap_start wan eth0 nokey-clear-wan ip6
lab_check "ping without keys, policy clear" nsx lan ping -6 -c 5 -i 0.1 -W 2 "$WAN_IP"
cap_stop nokey-clear-wan
lab_check "policy clear: the clear option instead" \
	cap_ok nokey-clear-wan "$LAN_IP > $WAN_IP: DSTOPT .*$OPT_CLEAR" 5
lab_check "nokey_clear counted" stat_ge rtr nokey_clear 5
trace_save nokey
save_state nokey

# ---------------------------------------------------------------- unload with keys installed
# generation 2 again: rtr has sealed with it, so generation 1 is behind its
# epoch memory and would be refused (skip_old_generation)
lab_check "rtr: keys again (generation 2, after gen 1 and its peer)" sh -c "
	cat '$ENC/rtr-gen1.ctl' '$ENC/rtr-gen2.ctl' |
		ip netns exec rtr sh -c 'cat > /proc/net/pdmv2/control'"
lab_bg nsx lan ping -6 -q -i 0.02 -c 200 "$WAN_IP"
ping_pid=$LAB_LAST_PID
sleep 1
echo 0 >"$TRACE/events/pdmv2/pdmv2_emit/enable"
lab_check "rmmod with keys installed, under traffic" rmmod pdmv2
lab_check "no pdmv2 slab cache left" sh -c '! grep -q "^pdmv2" /proc/slabinfo'
lab_wait_pid "$ping_pid" 20
sleep 0.5

# ---------------------------------------------------------------- restarted flows (issue 12, item 5)
# One 5-tuple (UDP lan:RESTART_SPORT -> wan:RESTART_DPORT) sends RESTART_N
# datagrams, three times: at the start, after its flow state expired
# (flow_timeout 1), and after a module reload that carried the epoch
# memory over (the `epochs` file written back into the new module's
# control file, as the agent does). The module is loaded with test_random:
# every flow's first PSN and the epoch memory's base are the same fixed
# draw, so a restarted flow that kept no memory would repeat every
# (epoch, PSNTP) pair exactly. The host checks the capture
# (test/lab/check-encrypted.ts, restarts.json): no pair repeats, three
# distinct epochs.
RESTART_SPORT=40123 RESTART_DPORT=4343 RESTART_N=4 TEST_RANDOM=0x5eed0103
restart_send() { # TAG: RESTART_N datagrams of the one 5-tuple, at once (one flow state)
	nsx lan "$SHARE/tools/flowgen" -1 -n "$RESTART_N" -s "$RESTART_SPORT" -p "$RESTART_DPORT" \
		-l 64 "$LAN_IP" "$WAN_IP" >/dev/null || return 1
	echo "$1: $RESTART_N datagrams sent"
}
restart_setup() { # rtr: keys of generation 1, encrypted, flows expire after 1 s idle
	ctl_file rtr "$ENC/rtr-gen1.ctl" &&
		ctl rtr "mode encrypted" "mark_mask $MARK" "flow_timeout 1"
}
restart_insmod() { # the module with the fixed draw, its tracepoint on
	insmod "$KO" "test_random=$TEST_RANDOM" &&
		echo 1 >"$TRACE/events/pdmv2/pdmv2_emit/enable"
}
echo >"$TRACE/trace"
lab_check "insmod test_random=$TEST_RANDOM" restart_insmod
lab_check "rtr: gen 1, encrypted, flow_timeout 1" restart_setup
cap_start wan eth0 enc-restart-wan ip6
lab_check "first flow state" restart_send first
lab_check "rtr: the flow expired (idle 1 s)" lab_wait_for 10 sh -c \
	"[ \$(ip netns exec rtr awk '\$1 == \"flows_expired\" { print \$2 }' /proc/net/pdmv2/stats) -ge 1 ]"
lab_check "second flow state, after idle expiry" restart_send after-expiry
nsx rtr cat /proc/net/pdmv2/epochs >"$ARTIFACTS/epochs-rtr.txt" 2>&1
lab_check "rtr: the epoch memory holds generation 1 of the pairing" \
	grep -Eq "^epoch $PAIRING 1 [0-9]+ [1-9][0-9]*\$" "$ARTIFACTS/epochs-rtr.txt"
lab_check "rtr: epochs file is 0400" sh -c \
	'[ "$(ip netns exec rtr stat -c %a /proc/net/pdmv2/epochs)" = 400 ]'
trace_save restart-1	# unloading a module clears the trace buffer of its events
lab_check "rmmod (the epoch memory read out before)" rmmod pdmv2
lab_check "insmod test_random=$TEST_RANDOM again" restart_insmod
lab_check "rtr: the epoch memory written back (before any key)" \
	ctl_file rtr "$ARTIFACTS/epochs-rtr.txt"
lab_check "rtr: gen 1 again, encrypted" restart_setup
lab_check "third flow state, after the reload" restart_send after-reload
cap_stop enc-restart-wan
trace_save restart-2
echo 0 >"$TRACE/events/pdmv2/pdmv2_emit/enable"
nsx rtr cat /proc/net/pdmv2/epochs >"$ARTIFACTS/epochs-rtr-after.txt" 2>&1
printf '{ "capture": "enc-restart-wan.pcap", "src": "%s", "dst": "%s", "sport": %d, "dport": %d, "protocol": 17, "options": %d, "states": 3 }\n' \
	"$LAN_IP" "$WAN_IP" "$RESTART_SPORT" "$RESTART_DPORT" $((3 * RESTART_N)) >"$ARTIFACTS/restarts.json"
save_state restart
lab_check "rmmod" rmmod pdmv2

lab_save_dmesg
lab_check "dmesg has no oops/warning/BUG/leak" sh -c \
	'! dmesg | grep -E "BUG:|WARNING:|Oops|Call Trace|general protection|refcount_t|leak|still has objects"'

lab_finish
