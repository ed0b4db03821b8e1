#!/usr/bin/env bash
# The README's main command (npm run demo): boot the QEMU lab, run the data-path
# and encrypted scenarios (router and server namespaces with pdmv2.ko, ping,
# UDP, TCP; clear, RFC 8250 and encrypted options), then show the WAN-side
# captures decoded by tshark and by the project's TypeScript decoder side by
# side, the per-flow metrics the analyzer derives, and the encrypted capture
# as seen without keys and opened with the lab's analyzer key file. The same
# boot runs the LuCI app's browser test (scenario luci) and prints the pages'
# URL; with --keep the pages stay up afterwards until Ctrl-C (docs/luci.md).
#   npm run demo [-- --keep]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
art="$root/artifacts/demo"
rc=0 keep=()
[ "${1:-}" != --keep ] || keep=(--keep-luci)
qemu/lab.sh --artifacts "$art" ${keep[@]+"${keep[@]}"} datapath encrypted luci || rc=$?
dir="$art/datapath"
analyze() { node .build/node/analyzer/src/cli.js "$@"; }

show() { # PCAP TITLE [TSHARK_PDM_FIELDS [ANALYZER_ARGS...]]
	local - f="$dir/$1" fields=() extra=("${@:4}")
	set +o pipefail	# `| head` ends tshark early; that is not a failure
	[ -f "$f" ] || return 0
	# tshark 4.0 knows only RFC 8250's layout: its PSN fields are meaningful for v1 only
	[ -n "${3:-}" ] && fields=(-e ipv6.opt.pdm.psn_this_pkt -e ipv6.opt.pdm.psn_last_recv)
	echo
	echo "=================== $2 ($1)"
	echo "--- tshark $(tshark --version 2>/dev/null | sed -n '1s/^TShark (Wireshark) \([0-9.]*\).*/\1/p'): frame, addresses, option types and lengths${3:+, PSN this/last}"
	tshark -r "$f" -Y 'ipv6.opt.type == 15' -T fields -E separator=' ' \
		-e frame.number -e ipv6.src -e ipv6.dst -e ipv6.opt.type -e ipv6.opt.length \
		"${fields[@]}" 2>/dev/null | head -n 8
	echo "--- pdmv2 analyzer: frame, protocol, 5-tuple, format, fields"
	analyze decode "$f" "${extra[@]}" | head -n 8
	echo "--- pdmv2 analyzer flow report"
	analyze flows "$f" "${extra[@]}" | head -n 14
}
show learn-wan.pcap "ping6 lan -> wan, router and server both emitting PDMv2 (clear)"
show tcp-wan.pcap "TCP (iperf3) through the router, both directions"
show v1-wan.pcap "RFC 8250 PDM (v1 mode)" with-pdm-fields
dir="$art/encrypted"
show enc-wan.pcap "encrypted PDMv2, without keys: only PSNTP and the epoch are readable" ""
show enc-wan.pcap "encrypted PDMv2, opened with the lab's analyzer key file (secrets.json)" "" \
	--keys "$dir/secrets.json"
echo
echo "demo: LuCI app: screenshots of every page and state in $art/luci-screenshots (status.png: the status page)"
echo "demo: artifacts (pcaps, stats, dmesg) in $art"
exit $rc
