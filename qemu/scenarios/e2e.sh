#!/bin/bash
# End-to-end enrollment lab scenario (issue 5 part 3), inside the QEMU guest.
#
#   npm run lab -- e2e       (qemu/lab.sh boots with --net user and runs the
#                             host side, test/lab/e2e-host.ts, alongside)
#
# The real agent (pdmv2d, the firmware bundle on QuickJS) enrolls with real
# primaries on the host and drives the real module: the router agent (client
# role) in netns rtr by fingerprint approval, the server agent (server role)
# in netns wan by one-time token; encrypted PDMv2 flows lan <-> wan and is
# captured on the wan link (the host decrypts it with keys the Primary Client
# exports); the Primary Server is killed and restarted between the server's
# enrollment and its renewal; revoking the router wipes its keys within a
# renew period; negative cases run in netns neg, each with its message and
# nothing installed. docs/enrollment.md "End to end in the lab".
#
# Networking: QEMU user networking gives the guest eth0 (10.0.2.15/24; the
# host's 127.0.0.1 is 10.0.2.2). Each agent namespace (rtr, wan, neg) gets an
# IPv4-only veth to the root namespace (10.99.N.2/30 <-> 10.99.N.1/30, IPv6
# off on it), the root namespace forwards and masquerades it out of eth0.
# The agents thus run inside their namespaces with the defaults an OpenWrt
# router would use: /proc/net/pdmv2/control and `nft` of their own
# namespace, HTTP through BusyBox wget (http_client auto).
#
# Inputs: qemu/scenarios/lib/agent.sh (the share's e2e-PID directory that
# qemu/lab.sh prepares).
# shellcheck source=/dev/null
. "${LAB_LIB:-/host/scenarios/lib/lab.sh}"
# shellcheck source=qemu/scenarios/lib/agent.sh
. "${LAB_SCENARIOS:-/host/scenarios}/lib/agent.sh"

W=/tmp/e2e
if ! agentlab_inputs_ok; then
	echo "not ok - pdmv2.ko or the e2e inputs ($E2E: qjs/, pdmv2d.mjs, pdmv2d-wrapper, sync/) not found (run it through qemu/lab.sh)"
	echo "0 passed, 1 failed"
	exit 1
fi

# ---------------------------------------------------------------- helpers
# cap_start/cap_stop/cap_ok/cap_none, st/stat_ge/stat_eq (shared with the other
# pdmv2.ko scenarios)
# shellcheck source=qemu/scenarios/lib/pdmv2.sh
. "${LAB_SCENARIOS:-/host/scenarios}/lib/pdmv2.sh"
up() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(up)" 'BEGIN { printf "%.1f", b - a }'; } # seconds since an up value
keys() { nsx "$1" grep -v '^#' /proc/net/pdmv2/keys; } # without the header line
no_keys() { ! nsx "$1" grep -qE '^(key|peer) ' /proc/net/pdmv2/keys; }
mode_is() { nsx "$1" grep -qx "mode $2" /proc/net/pdmv2/control; }
save_state() { # TAG
	local ns
	for ns in rtr wan neg; do
		lab_append "state-$1.txt" nsx "$ns" cat /proc/net/pdmv2/control
		lab_append "state-$1.txt" nsx "$ns" cat /proc/net/pdmv2/keys
		lab_append "state-$1.txt" nsx "$ns" cat /proc/net/pdmv2/stats
		lab_append "state-$1.txt" nsx "$ns" nft list ruleset
	done
}

# the agent: the package's wrapper on QuickJS (trixie qjs with its own loader and libc)
agentlab_install "$W"

# agent_conf NAME URL KEY ROLE TOKEN PREFIX...: a UCI file as on a router;
# control file and nft are the defaults (the agent's own namespace)
agent_conf() {
	local name=$1 url=$2 key=$3 role=$4 token=$5 p; shift 5
	mkdir -p "$W/$name"
	{
		echo "config pdmv2 'main'"
		echo "	option enabled '1'"
		echo "	option primary_url '$url'"
		echo "	option primary_key '$key'"
		echo "	option role '$role'"
		for p in "$@"; do echo "	list prefix '$p'"; done
		[ -z "$token" ] || echo "	option token '$token'"
		echo "	option state_dir '$W/$name/state'"
		echo "	option run_dir '$W/$name/run'"
		echo "	option nft_file '$W/$name/run/pdmv2.nft'"
		echo "	option http_client '${HTTP_CLIENT:-auto}'"
		echo "	option http_timeout '10'"
		echo "	option poll_max '2'"
		echo "	option retry_min '1'"
		echo "	option retry_max '2'"
	} >"$W/$name/config"
}
agent() { # NS NAME ARGS...: one agent command in that namespace
	local ns=$1 name=$2; shift 2
	nsx "$ns" "$W/bin/pdmv2d" --config "$W/$name/config" "$@"
}
state_has() { grep -q "$2" "$W/$1/run/state.json" 2>/dev/null; } # the run-time state (tmpfs on a router)
nft_table_has() { # NS TEXT...: the agent's table in NS holds every TEXT (blanks collapsed)
	local t x
	t=$(nsx "$1" nft list table inet pdmv2 | tr -s ' \t\n' ' ') || return 1
	echo "$t"; shift
	for x in "$@"; do grep -qF "$x" <<<"$t" || { echo "missing: $x"; return 1; }; done
}

# nothing_installed NS NAME: module off with no key, no pdmv2 table, no grant
nothing_installed() {
	local ns=$1 name=$2
	no_keys "$ns" || { echo "keys in $ns:"; keys "$ns"; return 1; }
	mode_is "$ns" off || { echo "$ns: mode is not off"; return 1; }
	if nsx "$ns" nft list table inet pdmv2 >/dev/null 2>&1; then echo "$ns: table inet pdmv2 exists"; return 1; fi
	if [ -e "$W/$name/state/grant.json" ]; then echo "$name: a grant on flash (grant.json)"; return 1; fi
	if grep -Eq '"(secret|sgs)"' "$W/$name/run/state.json"; then echo "$name: secret in the run-time state"; return 1; fi
	echo "nothing installed in $ns"
}

# negative NAME WANT_RC REGEX URL KEY ROLE TOKEN PREFIX...: one `pdmv2d enroll`
# in netns neg with a fresh device key
negative() {
	local name=$1 want=$2 re=$3 out rc; shift 3
	agent_conf "$name" "$@"
	out=$(agent neg "$name" enroll 2>&1); rc=$?
	printf '%s\n' "$out" | tee "$ARTIFACTS/agent-$name.txt"
	[ "$rc" = "$want" ] || { echo "exit $rc, want $want"; return 1; }
	grep -Eq "$re" <<<"$out" || { echo "message does not match /$re/"; return 1; }
	nothing_installed neg "$name"
}

# ---------------------------------------------------------------- network: topology, uplinks, NAT
lab_topology_up 1500 1500
lab_ns_add neg
# shellcheck disable=SC2034 # read by lab_save_topology (lib.sh)
LAB_NAMESPACES="lan rtr wan neg"
agentlab_net rtr wan neg
lab_save_topology

agentlab_env
lab_check "rtr reaches the Primary Client ($PC_URL/v1/info)" reach rtr "$PC_URL" "$PC_KEY"
lab_check "wan reaches the Primary Server ($PS_URL/v1/info)" reach wan "$PS_URL" "$PS_KEY"

! lsmod | grep -q '^pdmv2 ' || rmmod pdmv2 # left loaded by an earlier scenario
lab_check "insmod $KO" lab_insmod "$KO"
all_off() { no_keys rtr && no_keys wan && no_keys neg && mode_is rtr off && mode_is wan off && mode_is neg off; }
lab_check "module off with no keys in rtr, wan and neg" all_off

# ---------------------------------------------------------------- server agent: token
lab_log "server agent: enrollment by token"
agent_conf wan "$PS_URL" "$PS_KEY" server "$SERVER_TOKEN" "$SERVER_P"
server_enroll() {
	local out rc
	out=$(agent wan wan enroll 2>&1); rc=$?
	printf '%s\n' "$out" | tee "$ARTIFACTS/agent-wan-enroll.txt"
	[ "$rc" = 0 ] && grep -q '^granted' <<<"$out"
}
lab_check "server agent (wan) enrolls by one-time token: granted" server_enroll
keys wan >"$ARTIFACTS/keys-wan.txt"
lab_check "wan: CS(P) derived from the SGS for both client prefixes of the pairing, active" sh -c "
	grep -q '^key $PAIRING [0-9]* 1 $CLIENT_P active' $ARTIFACTS/keys-wan.txt &&
	grep -q '^key $PAIRING [0-9]* 1 $CLIENT_P_EXTRA active' $ARTIFACTS/keys-wan.txt"
lab_check "wan: mode encrypted" mode_is wan encrypted
lab_check "wan: the agent's nft table marks traffic with the client prefixes" \
	nft_table_has wan "elements = { $CLIENT_P, $CLIENT_P_EXTRA }" "elements = { $SERVER_P }" \
	"ip6 saddr @peer6 meta mark set meta mark | 0x01000000" "ip6 daddr @peer6 meta mark set meta mark | 0x01000000"
# the daemon takes over (its first reconcile rewrites the same keys, then it
# saves its run-time state: a new inode)
inode=$(stat -c %i "$W/wan/run/state.json")
lab_bg nsx wan "$W/bin/pdmv2d" --config "$W/wan/config" run >"$W/wan.log" 2>&1
WAN_PID=$LAB_LAST_PID
lab_check "server agent daemon running" lab_wait_for 20 sh -c \
	"test -f $W/wan/run/pdmv2d.pid && [ \$(stat -c %i $W/wan/run/state.json) != $inode ]"
wan_installed=$(st wan secrets_installed)

# ---------------------------------------------------------------- Primary Server restart
lab_log "Primary Server restart"
lab_check "host: Primary Server killed (-9) and restarted" host_call restart-ps
wan_mark=$(wc -l <"$W/wan.log")

# ---------------------------------------------------------------- negative cases (netns neg)
lab_log "negative cases"
lab_check "token used twice (after the restart): TOKEN_USED, nothing installed" \
	negative tok-twice 4 'TOKEN_USED.*already been used by another device' \
	"$PS_URL" "$PS_KEY" server "$SERVER_TOKEN" "$SERVER_P"
lab_check "wrong primary public key: UNAUTHENTICATED, nothing installed" \
	negative wrong-key 1 'UNAUTHENTICATED.*primary public key is probably wrong' \
	"$PC_URL" "$PS_KEY" client "" "$CLIENT_P"
lab_check "prefix outside the token's authorisation: PREFIX_NOT_AUTHORISED, nothing installed" \
	negative prefix 4 "PREFIX_NOT_AUTHORISED.*outside the device's authorisation: $CLIENT_P_EXTRA" \
	"$PC_URL" "$PC_KEY" client "$CLIENT_TOKEN" "$CLIENT_P" "$CLIENT_P_EXTRA"
lab_check "expired token: TOKEN_EXPIRED, nothing installed" \
	negative expired 4 'TOKEN_EXPIRED.*expired' \
	"$PC_URL" "$PC_KEY" client "$EXPIRED_TOKEN" "$CLIENT_P"
HTTP_CLIENT=wget lab_check "BusyBox wget as the only HTTP client: refused with the reason, nothing installed" \
	negative busybox-wget 1 'no usable HTTP client found \(wget; [^ ]*/wget is BusyBox wget, which cuts binary request bodies' \
	"$PC_URL" "$PC_KEY" client "$CLIENT_TOKEN" "$CLIENT_P"

# ---------------------------------------------------------------- router agent: fingerprint approval
lab_log "router agent: enrollment by fingerprint approval"
agent_conf rtr "$PC_URL" "$PC_KEY" client "" "$CLIENT_P"
FP=$(agent rtr rtr fingerprint | head -n 1)
echo "$FP" >"$ARTIFACTS/rtr-fingerprint.txt"
lab_check "router fingerprint $FP" grep -Eq '^[A-Z2-7]{4}(-[A-Z2-7]{4}){5}$' <<<"$FP"
lab_bg nsx rtr "$W/bin/pdmv2d" --config "$W/rtr/config" run >"$W/rtr.log" 2>&1
RTR_PID=$LAB_LAST_PID
pending_nothing() {
	lab_wait_for 20 state_has rtr '"status":"pending"' || { echo "not pending"; return 1; }
	no_keys rtr && mode_is rtr off && echo "pending; rtr has no key, mode off"
}
lab_check "router agent daemon pending, nothing installed meanwhile" pending_nothing
lab_check "host: approved on the Primary Client by fingerprint" host_call approve "$FP"
t0=$(up)
lab_check "router granted: keys in rtr's module, mode encrypted" lab_wait_for 30 sh -c "
	ip netns exec rtr grep -q '^key ' /proc/net/pdmv2/keys && ip netns exec rtr grep -qx 'mode encrypted' /proc/net/pdmv2/control"
echo "# rtr keys installed $(since "$t0") s after the approval"
keys rtr >"$ARTIFACTS/keys-rtr.txt"
lab_check "rtr: CS(P) of its LAN prefix active, the server prefix as peer" sh -c "
	grep -q '^key $PAIRING [0-9]* 1 $CLIENT_P active' $ARTIFACTS/keys-rtr.txt &&
	grep -q '^peer $PAIRING $SERVER_P' $ARTIFACTS/keys-rtr.txt &&
	! grep -q '$CLIENT_P_EXTRA' $ARTIFACTS/keys-rtr.txt"
lab_check "rtr: the agent's nft table marks LAN <-> server prefix" \
	nft_table_has rtr "elements = { $CLIENT_P }" "elements = { $SERVER_P }" "meta mark set meta mark | 0x01000000"

# ---------------------------------------------------------------- renewal after the restart
lab_log "waiting for the server agent's renewal"
lab_check "server agent renewed with the restarted Primary Server" lab_wait_for $((RENEW * 2 + 10)) sh -c \
	"tail -n +$((wan_mark + 1)) $W/wan.log | grep -q 'info: renewed'"
lab_check "the renewal gave the same secrets: nothing new written to wan's module" \
	stat_eq wan secrets_installed "$wan_installed"

# ---------------------------------------------------------------- encrypted traffic, both directions
lab_log "encrypted traffic"
mkdir -p /tmp/www
head -c 65536 /dev/urandom >/tmp/www/blob
lab_bg nsx wan httpd -f -p 8080 -h /tmp/www
lab_wait_listen wan 8080
udp_run() { # PORT FILE [iperf3 args...]
	local port=$1 f=$2; shift 2
	lab_iperf_server wan "$port"
	nsx lan iperf3 -6 -u -c "$WAN_IP" -p "$port" "$@" -J >"$ARTIFACTS/$f" 2>&1
	lab_iperf_ok "$ARTIFACTS/$f" 1000
}
OPT_ENC='opt_type 0x0f: len=34'
cap_start wan eth0 e2e-traffic-wan ip6
lab_check "ping lan -> wan" nsx lan ping -6 -c 5 -i 0.1 -W 2 "$WAN_IP"
lab_check "ping wan -> lan" nsx wan ping -6 -c 5 -i 0.1 -W 2 "$LAN_IP"
lab_check "UDP lan -> wan" udp_run 5301 iperf-udp-up.json -b 200K -l 400 -t 1
lab_check "UDP wan -> lan (-R)" udp_run 5302 iperf-udp-down.json -b 200K -l 400 -t 1 -R
lab_check "TCP: HTTP GET 64 KiB lan <- wan" nsx lan wget -q -O /tmp/blob.rx "http://[$WAN_IP]:8080/blob"
lab_check "payload intact" cmp -s /tmp/www/blob /tmp/blob.rx
cap_stop e2e-traffic-wan
save_state traffic
lab_check "lan -> wan options encrypted (length 34) on the wan link" \
	cap_ok e2e-traffic-wan "$LAN_IP\\.?[0-9]* > $WAN_IP.*$OPT_ENC" 20
lab_check "wan -> lan options encrypted too (the server emits)" \
	cap_ok e2e-traffic-wan "$WAN_IP\\.?[0-9]* > $LAN_IP.*$OPT_ENC" 20
lab_check "no clear PDMv2 option on the wire" cap_none e2e-traffic-wan 'opt_type 0x0f: len=22'
lab_check "wan verified rtr's tags" stat_ge wan ingress_verified 10
lab_check "rtr verified wan's tags" stat_ge rtr ingress_verified 10
lab_check "no tag failures (wan)" stat_eq wan ingress_tag_failed 0
lab_check "no tag failures (rtr)" stat_eq rtr ingress_tag_failed 0

no_secret_readable() {
	local secrets s n=0
	secrets=$(cat "$W/rtr/state/grant.json" "$W/wan/state/grant.json" | grep -oE '"(secret|sgs)":"[0-9a-f]{64}"' | grep -oE '[0-9a-f]{64}' | sort -u)
	[ -n "$secrets" ] || { echo "no secrets found in the agents' state files"; return 1; }
	{
		for ns in rtr wan; do
			for f in control stats flows keys; do nsx "$ns" cat "/proc/net/pdmv2/$f"; done
			nsx "$ns" nft list ruleset
		done
		dmesg
		cat "$W/rtr.log" "$W/wan.log" "$ARTIFACTS"/agent-*.txt
		agent rtr rtr status --json; agent wan wan status
	} >/tmp/readable.txt 2>&1
	for s in $secrets; do
		n=$((n + 1))
		if grep -qi "${s:0:16}" /tmp/readable.txt; then echo "a secret is visible"; return 1; fi
	done
	echo "$n secrets from the state files not found in /proc, nft, dmesg, agent logs or status"
}
lab_check "no secret readable outside the agents' 0600 state files and the module" no_secret_readable

# ---------------------------------------------------------------- revocation
lab_log "revocation"
t_revoke=$(up)
lab_check "host: router revoked on the Primary Client" host_call revoke "$FP"
lab_wait_for $((RENEW * 2 + 10)) no_keys rtr
dt=$(since "$t_revoke")
echo "# rtr keys wiped $dt s after the revocation"
lab_check "rtr's keys wiped within a renew period ($RENEW s, + jitter <= $RENEW/4 s, + 5 s): $dt s" \
	sh -c "$(declare -f nsx no_keys); no_keys rtr && awk -v d=$dt -v r=$RENEW 'BEGIN { exit !(d <= r * 1.25 + 5) }'"
lab_check "rtr: mode off, the agent's nft table removed" sh -c \
	"ip netns exec rtr grep -qx 'mode off' /proc/net/pdmv2/control && ! ip netns exec rtr nft list table inet pdmv2 >/dev/null 2>&1"
lab_check "router agent says so: log and state" sh -c \
	"grep 'device revoked by the primary: secrets wiped' $W/rtr.log && grep -q '\"status\":\"revoked\"' $W/rtr/run/state.json"
cap_start wan eth0 e2e-revoked-wan ip6
lab_check "ping lan -> wan after the revocation" nsx lan ping -6 -c 5 -i 0.1 -W 2 "$WAN_IP"
cap_stop e2e-revoked-wan
lab_check "no PDM option from lan any more" cap_none e2e-revoked-wan "$LAN_IP > $WAN_IP: DSTOPT"
save_state revoked

kill -TERM "$RTR_PID"
lab_check "router daemon stops on SIGTERM" lab_wait_pid "$RTR_PID" 10
revoked_enroll() {
	local out rc
	out=$(agent rtr rtr enroll 2>&1); rc=$?
	printf '%s\n' "$out" | tee "$ARTIFACTS/agent-rtr-revoked.txt"
	[ "$rc" = 4 ] || { echo "exit $rc, want 4"; return 1; }
	grep -q 'revoked' <<<"$out" && nothing_installed rtr rtr
}
lab_check "revoked device: enroll says revoked, nothing installed" revoked_enroll

# ---------------------------------------------------------------- end
lab_log "end"
lab_check "host: final checks" host_call 'done' "$FP"
kill -TERM "$WAN_PID" 2>/dev/null
lab_wait_pid "$WAN_PID" 5
cp "$W/rtr.log" "$ARTIFACTS/agent-rtr.log"
cp "$W/wan.log" "$ARTIFACTS/agent-wan.log"
agent rtr rtr status >"$ARTIFACTS/status-rtr.txt" 2>&1
agent wan wan status >"$ARTIFACTS/status-wan.txt" 2>&1
lab_save_dmesg
lab_check "dmesg has no oops/warning/BUG" sh -c \
	'! dmesg | grep -E "BUG:|WARNING:|Oops|Call Trace|general protection|refcount_t"'
agentlab_net_down
lab_finish
