#!/bin/bash
# Proves the lab topology lan <-> rtr <-> wan (see lib.sh) inside the guest:
#   part 1, WAN MTU 1500: ping6 (global, link-local), UDP, a 12 MiB HTTP
#     transfer with sha256 compare, a 16 MiB iperf3 TCP run, a pcap on the WAN
#     side, and an nftables table in rtr that marks lan->wan IPv6 traffic
#     (counters must grow);
#   part 2, WAN MTU 1280: ICMPv6 Packet Too Big from rtr, PMTU learnt by lan,
#     fragmented ping and a 12 MiB HTTP transfer work, nothing > 1280 on the
#     WAN wire (offloads off there, so packets are wire-sized).
# Artifacts: topology-*.txt, routes-*.txt, nft-*.txt, wan-*.pcap (+ .txt
# decode), iperf3-*.json, dmesg.txt.
. "${LAB_LIB:-$(dirname "$0")/lib/lab.sh}"

MARK=0x00000a11
NFT_RULES="
table inet pdmv2lab {
	chain forward {
		type filter hook forward priority mangle; policy accept;
		iifname \"lan0\" oifname \"wan0\" meta nfproto ipv6 meta mark set $MARK counter comment \"mark-lan2wan\"
		ct state new counter comment \"ct-new\"
	}
	chain postrouting {
		type filter hook postrouting priority mangle; policy accept;
		oifname \"wan0\" meta mark $MARK counter comment \"marked-out\"
	}
}"

pcap_count() { # FILE FILTER...
	local f=$1; shift
	tcpdump -n -r "$f" "$@" 2>/dev/null | wc -l
}
gt0() { [ "${1:-0}" -gt 0 ]; }

# ---------------------------------------------------------------- part 1
part1() {
	lab_log "part 1: WAN MTU 1500"
	lab_topology_up 1500
	lab_save_topology topology-mtu1500.txt

	lab_check "nft ruleset loads in rtr" nsx rtr nft -f - <<<"$NFT_RULES"
	lab_save nft-mtu1500-before.txt nsx rtr nft list ruleset
	local mark0; mark0=$(lab_nft_packets rtr mark-lan2wan)

	lab_capture_start wan eth0 wan-mtu1500 ip6

	lab_check "ping6 lan -> wan (global)" nsx lan ping6 -c 3 -w 15 "$WAN_IP"
	lab_check "ping6 wan -> lan (global)" nsx wan ping6 -c 2 -w 15 "$LAN_IP"
	lab_check "ping6 rtr -> wan link-local ($WAN_LL%wan0)" nsx rtr ping6 -c 2 -w 10 -I wan0 "$WAN_LL"
	lab_check "ping6 rtr -> lan link-local ($LAN_LL%lan0)" nsx rtr ping6 -c 2 -w 10 -I lan0 "$LAN_LL"
	lab_check "ping6 lan -> rtr link-local (default gateway)" nsx lan ping6 -c 2 -w 10 -I eth0 "$RTR_LAN_LL"

	# UDP: a marked datagram (seen in the WAN pcap), then iperf3 -u
	nsx lan bash -c "echo pdmv2-udp-probe >/dev/udp/$WAN_IP/7000"
	lab_iperf_server wan 5202
	lab_check "iperf3 UDP lan -> wan (2 MiB at 20 Mbit/s)" \
		nsx lan iperf3 -6 -c "$WAN_IP" -p 5202 -u -b 20M -n 2M -J --logfile "$ARTIFACTS/iperf3-udp.json"
	lab_check "iperf3 UDP result" lab_iperf_ok "$ARTIFACTS/iperf3-udp.json" 1000000

	# TCP: 12 MiB over HTTP with checksum, 16 MiB with iperf3
	mkdir -p /tmp/www
	head -c $((12 * 1024 * 1024)) /dev/urandom >/tmp/www/blob
	lab_bg nsx wan httpd -f -p 8080 -h /tmp/www
	lab_wait_for 10 sh -c "ip netns exec wan ss -Hltn 'sport = :8080' | grep -q LISTEN"
	lab_check "HTTP GET 12 MiB lan -> wan" nsx lan wget -q -O /tmp/blob.rx "http://[$WAN_IP]:8080/blob"
	lab_check "HTTP payload sha256 matches" \
		sh -c "[ \"\$(sha256sum </tmp/www/blob)\" = \"\$(sha256sum </tmp/blob.rx)\" ]"
	rm -f /tmp/blob.rx

	lab_iperf_server wan 5201
	lab_check "iperf3 TCP lan -> wan (16 MiB)" \
		nsx lan iperf3 -6 -c "$WAN_IP" -p 5201 -n 16M -J --logfile "$ARTIFACTS/iperf3-tcp.json"
	lab_check "iperf3 TCP receiver got >= 10 MB" lab_iperf_ok "$ARTIFACTS/iperf3-tcp.json" 10000000

	lab_capture_stop wan-mtu1500
	local pc=$ARTIFACTS/wan-mtu1500.pcap
	tcpdump -n -r "$pc" 2>/dev/null | head -n 300 >"$ARTIFACTS/wan-mtu1500.pcap.txt"
	lab_check "pcap on wan: ICMPv6 echo from lan" gt0 "$(pcap_count "$pc" "src $LAN_IP and icmp6 and ip6[40] == 128")"
	lab_check "pcap on wan: UDP probe datagram" gt0 "$(pcap_count "$pc" "src $LAN_IP and udp dst port 7000")"
	lab_check "pcap on wan: TCP data from lan" gt0 "$(pcap_count "$pc" "src $LAN_IP and (tcp dst port 8080 or tcp dst port 5201)")"

	lab_save nft-mtu1500.txt nsx rtr nft list ruleset
	local mark1 out1 ct1
	mark1=$(lab_nft_packets rtr mark-lan2wan) out1=$(lab_nft_packets rtr marked-out) ct1=$(lab_nft_packets rtr ct-new)
	lab_log "nft counters: mark-lan2wan $mark0 -> $mark1, marked-out $out1, ct-new $ct1"
	lab_check "nft mark counter increased" test "${mark1:-0}" -gt "${mark0:-0}"
	lab_check "nft postrouting saw the mark" gt0 "$out1"
	lab_check "nft conntrack (ct state new) counted" gt0 "$ct1"
	nsx lan ping6 -c 2 -w 10 "$WAN_IP" >/dev/null
	local mark2; mark2=$(lab_nft_packets rtr mark-lan2wan)
	lab_check "nft mark counter grows with more traffic" test "${mark2:-0}" -gt "${mark1:-0}"

	lab_save routes-mtu1500.txt sh -c 'for n in lan rtr wan; do echo "== $n"; ip -n $n -6 route show; done'
	lab_topology_down
}

# ---------------------------------------------------------------- part 2
part2() {
	lab_log "part 2: WAN MTU 1280"
	# offloads off: packets on the WAN veth are wire-sized, not GSO super-packets
	lab_topology_up 1280 1500 off
	lab_save_topology topology-mtu1280.txt
	lab_capture_start wan eth0 wan-mtu1280 ip6
	local pc=$ARTIFACTS/wan-mtu1280.pcap

	lab_check "wan0 MTU is 1280" sh -c "ip -n rtr link show wan0 | grep -q 'mtu 1280'"
	lab_check "small ping6 lan -> wan" nsx lan ping6 -c 2 -w 10 "$WAN_IP"
	# 1448-byte packets: the first ones trigger Packet Too Big, later ones are
	# fragmented by lan
	nsx lan ping6 -c 4 -s 1400 -w 15 "$WAN_IP" >"$ARTIFACTS/ping-1400-mtu1280.txt" 2>&1
	lab_check "ping6 -s 1400 lan -> wan gets replies" grep -q 'bytes from' "$ARTIFACTS/ping-1400-mtu1280.txt"
	lab_check "lan learnt PMTU 1280" sh -c "ip -n lan -6 route get $WAN_IP | tee /dev/stderr | grep -q 'mtu 1280'"

	lab_bg nsx wan httpd -f -p 8080 -h /tmp/www
	lab_wait_for 10 sh -c "ip netns exec wan ss -Hltn 'sport = :8080' | grep -q LISTEN"
	lab_check "HTTP GET 12 MiB lan -> wan over MTU 1280" nsx lan wget -q -O /tmp/blob.rx "http://[$WAN_IP]:8080/blob"
	lab_check "HTTP payload sha256 matches" \
		sh -c "[ \"\$(sha256sum </tmp/www/blob)\" = \"\$(sha256sum </tmp/blob.rx)\" ]"
	rm -f /tmp/blob.rx

	lab_capture_stop wan-mtu1280
	tcpdump -n -v -r "$pc" 2>/dev/null | head -n 300 >"$ARTIFACTS/wan-mtu1280.pcap.txt"
	tcpdump -n -r "$pc" greater 1295 2>/dev/null | head -n 5
	lab_check "pcap on wan: fragmented echo requests" gt0 "$(pcap_count "$pc" "src $LAN_IP and ip6[6] == 44")"
	lab_check "pcap on wan: TCP segments from lan" gt0 "$(pcap_count "$pc" "src $LAN_IP and tcp dst port 8080")"
	lab_check "pcap on wan: nothing larger than 1280 (frame <= 1294)" \
		test "$(pcap_count "$pc" "greater 1295")" -eq 0
	lab_save routes-mtu1280.txt sh -c "for n in lan rtr wan; do echo \"== \$n\"; ip -n \$n -6 route show; done; echo '== lan: route get $WAN_IP'; ip -n lan -6 route get $WAN_IP"
	lab_topology_down
}

lab_modprobe nf_tables nft_ct nf_conntrack
part1
part2
lab_save_dmesg
lab_finish
