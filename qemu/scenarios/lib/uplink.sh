# shellcheck shell=bash
# Sourced by the lab scenarios whose agents talk to the host (e2e, luci):
# QEMU user networking on eth0 (run.sh --net user; the host's 127.0.0.1 is
# 10.0.2.2) and an IPv4-only uplink from the root namespace into an agent's
# namespace (10.99.N.2/30 <-> 10.99.N.1/30, IPv6 off on it). The caller adds
# the NAT out of eth0. Needs nsx and lab_check (lib/lab.sh).

lab_user_net_up() {
	lab_check "virtio_net: eth0 (QEMU user networking, run.sh --net user)" sh -c \
		'modprobe virtio_net && for i in $(seq 50); do ip link show eth0 >/dev/null 2>&1 && exit 0; sleep 0.1; done; exit 1'
	ip addr add 10.0.2.15/24 dev eth0
	ip link set eth0 up
	ip route add default via 10.0.2.2
	sysctl -qw net.ipv4.ip_forward=1
}

lab_user_net_down() {
	sysctl -qw net.ipv4.ip_forward=0
	ip addr flush dev eth0
	ip link set eth0 down
}

lab_uplink() { # NS N
	local ns=$1 n=$2
	ip link add "up-$ns" type veth peer name up0 netns "$ns"
	sysctl -qw "net.ipv6.conf.up-$ns.disable_ipv6=1"
	nsx "$ns" sysctl -qw net.ipv6.conf.up0.disable_ipv6=1
	ip addr add "10.99.$n.1/30" dev "up-$ns"
	ip link set "up-$ns" up
	nsx "$ns" ip addr add "10.99.$n.2/30" dev up0
	nsx "$ns" ip link set up0 up
	nsx "$ns" ip route add default via "10.99.$n.1"
}
