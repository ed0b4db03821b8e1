# Sourced by the lab scenarios (guest side): the nftables rulesets that select
# flows for pdmv2 by setting $MARK, in their own table, as an operator would.
# Needs LAN_NET, WAN_NET (qemu/scenarios/lib/lab.sh), MARK and nsx.

# rtr: mark forwarded lan<->wan traffic and its own traffic to both sides
nft_router() {
	nsx rtr nft -f - <<EOF
table inet pdmv2 {
	chain pre {
		type filter hook prerouting priority mangle; policy accept;
		ip6 saddr $LAN_NET ip6 daddr $WAN_NET meta mark set meta mark or $MARK counter comment "lan-wan"
		ip6 saddr $WAN_NET ip6 daddr $LAN_NET meta mark set meta mark or $MARK counter comment "wan-lan"
	}
	chain out {
		type route hook output priority mangle; policy accept;
		ip6 daddr { $LAN_NET, $WAN_NET } meta mark set meta mark or $MARK counter comment "rtr-out"
	}
}
EOF
}

# wan (server role): mark what it sends to and receives from the LAN
nft_server() {
	nsx wan nft -f - <<EOF
table inet pdmv2 {
	chain pre {
		type filter hook prerouting priority mangle; policy accept;
		ip6 saddr $LAN_NET meta mark set meta mark or $MARK counter comment "from-lan"
	}
	chain out {
		type route hook output priority mangle; policy accept;
		ip6 daddr $LAN_NET meta mark set meta mark or $MARK counter comment "to-lan"
	}
}
EOF
}
