#!/bin/bash
# LuCI app lab scenario (issue 14), inside the QEMU guest: the router side of
# the browser test. The host side (test/lab/luci-host.ts) runs the primaries
# and drives Debian's headless Chromium against the pages served from here.
#
#   npm run lab -- luci      (qemu/lab.sh boots with --net user,hostfwd=... and
#                             runs the host side alongside)
#
# Real: pdmv2.ko in netns rtr and wan; the agent (pdmv2d on QuickJS) in rtr,
# started and reloaded by the real /etc/init.d/pdmv2; the real rpcd plugin
# /usr/libexec/rpcd/pdmv2; the package's views, menu and ACL files; a server
# agent in wan enrolled by token, as in e2e. Stood in (test/luci-standin/,
# docs/luci.md): uhttpd+rpcd (a QuickJS CGI under BusyBox httpd, in netns
# rtr on 10.99.1.2:8080, forwarded from the guest's eth0:8080 and from the
# host's 127.0.0.1:PORT), /etc/rc.common with procd's functions, and the
# LuCI client framework.
#
# After the set-up the guest serves the host's requests through the share
# (sync/req-N: one line, a command of act() below; sync/done-N: its output,
# first line "ok" or "error ...") until the host sends "done".
# shellcheck source=/dev/null
. "${LAB_LIB:-/host/scenarios/lib/lab.sh}"
# shellcheck source=qemu/scenarios/lib/pdmv2.sh
. "${LAB_SCENARIOS:-/host/scenarios}/lib/pdmv2.sh"
# shellcheck source=qemu/scenarios/lib/uplink.sh
. "${LAB_SCENARIOS:-/host/scenarios}/lib/uplink.sh"

SHARE=${LAB_SHARE:-/share}
IN=$SHARE/$(sed -n 's/.*pdmv2\.luci=\([^ ]*\).*/\1/p' /proc/cmdline)
SYNC=$IN/sync
W=/tmp/luci
KO=$SHARE/pdmv2.ko
if [ ! -f "$KO" ] || [ ! -x "$IN/qjs/qjs" ] || [ ! -f "$IN/pdmv2d.mjs" ] || [ ! -d "$SYNC" ]; then
	echo "not ok - pdmv2.ko or the luci inputs ($IN: qjs/, pdmv2d.mjs, repo/, sync/) not found (run it through qemu/lab.sh)"
	echo "0 passed, 1 failed"
	exit 1
fi
QJS="$W/qjs/ld.so --library-path $W/qjs $W/qjs/qjs"

# ---------------------------------------------------------------- network (as e2e: uplinks, NAT)
lab_topology_up 1500 1500
lab_user_net_up
lab_uplink rtr 1; lab_uplink wan 2
# the pages: eth0:8080 (the host's forwarded port) to the stand-in server in rtr
lab_check "NAT out of eth0, eth0:8080 forwarded to rtr's 10.99.1.2:8080" nft -f - <<'EOF'
table ip luci_nat {
	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "eth0" tcp dport 8080 dnat to 10.99.1.2:8080
	}
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "eth0" ip saddr 10.99.0.0/16 masquerade
	}
}
EOF
lab_save_topology

lab_check "the host side wrote its env (primaries up, paired, token, passwords)" lab_wait_for 120 test -f "$SYNC/env"
# shellcheck source=/dev/null
. "$SYNC/env"
! lsmod | grep -q '^pdmv2 ' || rmmod pdmv2
lab_check "insmod $KO" lab_insmod "$KO"

# ---------------------------------------------------------------- QuickJS, the agent, the package
mkdir -p "$W/qjs" "$W/wan"
cp "$IN/qjs/"* "$W/qjs/"
mkdir -p /usr/share/pdmv2 /usr/bin
cp "$IN/pdmv2d.mjs" /usr/share/pdmv2/pdmv2d.mjs
printf '#!/bin/sh\nexec %s --std -m /usr/share/pdmv2/pdmv2d.mjs "$@"\n' "$QJS" >/usr/bin/pdmv2d
chmod 755 /usr/bin/pdmv2d
lab_check "package and stand-ins installed at their router paths (test/luci-standin/install.sh /)" \
	sh "$IN/repo/test/luci-standin/install.sh" / "$QJS" "$IN/standin-ubus.mjs"
cat >/etc/config/rpcd <<EOF
config login
	option username 'root'
	option password '$ROOT_PASSWORD'
	list read '*'
	list write '*'

config login
	option username 'viewer'
	option password '$VIEWER_PASSWORD'
	list read 'standin-luci-base'
	list read 'luci-app-pdmv2'
EOF
chmod 600 /etc/config/rpcd
cat >/etc/config/pdmv2 <<EOF
config pdmv2 'main'
	option enabled '1'
	option primary_url '$PC_URL'
	option primary_key '$PC_KEY'
	option role 'client'
	list prefix '$CLIENT_P'
	option mode 'encrypted'
	option http_timeout '3'
	option poll_max '2'
	option retry_min '1'
	option retry_max '2'
EOF
cp /etc/config/pdmv2 "$W/pdmv2.good"

# the server agent (wan): token enrollment, then its daemon (as in e2e)
cat >"$W/wan/config" <<EOF
config pdmv2 'main'
	option enabled '1'
	option primary_url '$PS_URL'
	option primary_key '$PS_KEY'
	option role 'server'
	list prefix '$SERVER_P'
	option token '$SERVER_TOKEN'
	option state_dir '$W/wan/state'
	option run_dir '$W/wan/run'
	option nft_file '$W/wan/run/pdmv2.nft'
	option http_timeout '10'
EOF
lab_check "server agent (wan) enrolls by token" sh -c "ip netns exec wan /usr/bin/pdmv2d --config $W/wan/config enroll | grep '^granted'"
lab_bg nsx wan /usr/bin/pdmv2d --config "$W/wan/config" run >"$W/wan.log" 2>&1
lab_check "wan: mode encrypted" lab_wait_for 20 sh -c "ip netns exec wan grep -qx 'mode encrypted' /proc/net/pdmv2/control"

# the router agent: started by its init script, in rtr
lab_check "/etc/init.d/pdmv2 start (rtr): the daemon runs and wrote its pid file" sh -c \
	"ip netns exec rtr /etc/init.d/pdmv2 start && for i in \$(seq 200); do [ -s /var/run/pdmv2/pdmv2d.pid ] && exit 0; sleep 0.1; done; exit 1"
FP=$(/usr/bin/pdmv2d fingerprint | head -n 1)
echo "$FP" >"$ARTIFACTS/rtr-fingerprint.txt"
lab_check "router fingerprint $FP" grep -Eq '^[A-Z2-7]{4}(-[A-Z2-7]{4}){5}$' <<<"$FP"
lab_check "the router is pending (status file)" lab_wait_for 30 grep -q '"status":"pending"' /var/run/pdmv2/status.json

# the stand-in server: BusyBox httpd in rtr, the CGI in the environment install.sh wrote
# shellcheck source=/dev/null
. /standin.env
mkdir -p "$STANDIN_STATE"
lab_bg nsx rtr busybox httpd -f -p 10.99.1.2:8080 -h /www
lab_check "stand-in server answers on 10.99.1.2:8080 (rtr)" lab_wait_for 10 sh -c \
	"ip netns exec rtr wget -q -O - http://10.99.1.2:8080/ | grep -q luci-standin"

# ---------------------------------------------------------------- status call: today's plugin against the new one
lab_log "status latency through the plugin"
# the plugin before issue 14, under BusyBox ash as on OpenWrt
printf '#!/usr/bin/ash\nexec /usr/bin/pdmv2d "$@"\n' >"$W/plugin-qjs"
chmod 755 "$W/plugin-qjs"
# A few rounds show that the benchmark runs; its figures come from 30
# (PDMV2_RPCD_ROUNDS=30 npm run lab -- luci; QuickJS per call costs about 2 s under TCG).
rounds=$(sed -n 's/.*pdmv2\.rpcd_rounds=\([0-9]*\).*/\1/p' /proc/cmdline)
lab_check "rpcd status latency, the plugin before (QuickJS per call) and today's (test/bench/rpcd-status.sh, ${rounds:-3} rounds)" sh -c \
	"ip netns exec rtr bash $IN/repo/test/bench/rpcd-status.sh ${rounds:-3} $SHARE/tools/execbench $W/plugin-qjs /usr/libexec/rpcd/pdmv2 | tee $ARTIFACTS/rpcd-status-bench.txt"

# ---------------------------------------------------------------- serve the host's requests
# secrets of the lab, for the host's search of every response body: the
# device key, the grant's secrets (rtr and wan grant files on flash)
secrets_file() {
	{
		grep -oE '[0-9a-f]{64}' /etc/pdmv2/device.key
		cat /etc/pdmv2/grant.json "$W/wan/state/grant.json" 2>/dev/null | grep -oE '"(secret|sgs)":"[0-9a-f]{64}"' | grep -oE '[0-9a-f]{64}'
	} | sort -u
}
# the LAN host's echo flow (identifier as both ports)
flows_line() { ip netns exec rtr grep -E "^$LAN_IP [0-9]+ $WAN_IP [0-9]+ 58 " /proc/net/pdmv2/flows; }
act() { # COMMAND ARGS...: one request of the host
	case "$1" in
	fingerprint) echo "$FP" ;;
	ping) # NAME COUNT: echo requests lan -> wan, captured on rtr's wan0 (copied to the share for the host)
		cap_start rtr wan0 "$2" ip6 || return 1
		nsx lan ping -6 -c "$3" -i 0.3 -W 2 "$WAN_IP"; local rc=$?
		cap_stop "$2"
		cp "$ARTIFACTS/$2.pcap" "$SYNC/$2.pcap"
		flows_line
		return $rc ;;
	wait-granted) # SECS: until the agent's status file says granted
		lab_wait_for "$2" grep -q '"status":"granted"' /var/run/pdmv2/status.json ;;
	mode) ip netns exec rtr head -n 1 /proc/net/pdmv2/control ;;
	wait-mode) # MODE SECS
		local t0; t0=$(cut -d' ' -f1 /proc/uptime)
		lab_wait_for "$3" sh -c "ip netns exec rtr grep -qx 'mode $2' /proc/net/pdmv2/control" || { echo "mode is not $2 after $3 s"; return 1; }
		awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "mode %s after %.1f s\n", ARGV[1], b - a }' "$2" ;;
	no-option) # CAPTURE: no PDM option from the LAN in that capture
		cap_none "$2" "$LAN_IP > $WAN_IP: DSTOPT" ;;
	has-option) cap_ok "$2" "$LAN_IP > $WAN_IP.*opt_type 0x0f: len=34" 1 ;;
	uci) cat /etc/config/pdmv2 ;;
	agent-stop) ip netns exec rtr /etc/init.d/pdmv2 stop ;;
	agent-start) ip netns exec rtr /etc/init.d/pdmv2 start && lab_wait_for 20 test -s /var/run/pdmv2/pdmv2d.pid ;;
	rmmod) rmmod pdmv2 ;;
	insmod) lab_insmod "$KO" ;;
	break-uci) printf 'config pdmv2 main\n\toption enabled 1\n\tthis is not uci\n' >/etc/config/pdmv2 ;;
	restore-uci) cp "$W/pdmv2.good" /etc/config/pdmv2 && cat /etc/config/pdmv2 ;;
	block-primary) # new connections from rtr to the host (the primaries) dropped; the pages' answers to
		# the browser, also to 10.0.2.2 (QEMU's gateway), belong to connections that exist
		nsx rtr nft add table ip luci_block &&
		nsx rtr nft add chain ip luci_block out '{ type filter hook output priority 0; policy accept; }' &&
		nsx rtr nft add rule ip luci_block out ip daddr 10.0.2.2 ct state new drop ;;
	unblock-primary) nsx rtr nft delete table ip luci_block ;;
	secrets) secrets_file ;;
	log) cat /var/run/procd-standin/pdmv2.log ;;
	*) echo "unknown request $1"; return 2 ;;
	esac
}
lab_log "serving the host's requests"
n=0
while :; do
	if ! lab_wait_for 600 test -f "$SYNC/req-$n"; then
		lab_check "the host's next request ($n) within 600 s" false
		break
	fi
	read -r -a req <"$SYNC/req-$n"
	[ "${req[0]}" = done ] && break
	out=$(act "${req[@]}" 2>&1); rc=$?
	{ if [ $rc -eq 0 ]; then echo ok; else echo "error $rc"; fi; printf '%s\n' "$out"; } >"$SYNC/.done-$n"
	mv "$SYNC/.done-$n" "$SYNC/done-$n"
	echo "# request $n: ${req[*]}: rc $rc"
	n=$((n + 1))
done
lab_check "the host's browser test finished (${n} requests)" test "${req[0]:-}" = done

# ---------------------------------------------------------------- end
ip netns exec rtr /etc/init.d/pdmv2 stop
cp /var/run/procd-standin/pdmv2.log "$ARTIFACTS/agent-rtr.log" 2>/dev/null
cp "$STANDIN_STATE/reloads.log" "$ARTIFACTS/uci-reloads.log" 2>/dev/null
cp "$W/wan.log" "$ARTIFACTS/agent-wan.log"
lab_save_dmesg
lab_check "dmesg has no oops/warning/BUG" sh -c \
	'! dmesg | grep -E "BUG:|WARNING:|Oops|Call Trace|general protection|refcount_t"'
nft delete table ip luci_nat 2>/dev/null
lab_user_net_down
lab_finish
