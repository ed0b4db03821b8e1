#!/bin/bash
# The agent as an OpenWrt service (issue 15), inside the QEMU guest:
#
#   npm run lab -- agent     (qemu/lab.sh starts the host side, the primaries
#                             of test/lab/e2e-host.ts, as for e2e)
#
# The router agent (client role, pdmv2d through the package's own wrapper
# with its qjs --memory-limit) runs in netns rtr, enrolls with the Primary
# Client on the host by a one-time token and drives the real module and nft:
#   mark      the module's mark_mask is the agent's mark (default 0x01000000),
#             the nft table sets that bit, marked LAN traffic gets options; a
#             mark_mask changed by hand is put back; another table that sets
#             the bit is reported (status mark_conflicts)
#   nft       the loaded table, not the written file, is checked: after `nft
#             flush ruleset`, after a failed load (nft failing, then working)
#             the table is back within a check (check_interval 5 s); a reload
#             as fw4 does it (flush table inet fw4) leaves it alone
#   memory    the daemon's VmRSS <= 6 MB; qjs --memory-limit 1M stops the agent
#             with an error, 4M (the package default) runs it
#   stop      SIGTERM: keys and nft table gone from the kernel, the grant kept
#             on flash; the next start installs it again; the module reloaded
#             meanwhile gets the agent's copy of its epoch memory back
#   clock     a reboot with the guest's clock 3 years behind and the primary
#             unreachable: no key installed, status waiting for "clock"; the
#             clock stepped to the right time: keys and a renewal within one
#             renew period; while running, steps years back and forth keep the
#             keys and the renewals going (the offset absorbs the step)
# The guest's clock is the real one (date -s), restored at the end; the
# host's primaries keep theirs.
# shellcheck source=/dev/null
. "${LAB_LIB:-/host/scenarios/lib/lab.sh}"
# shellcheck source=qemu/scenarios/lib/agent.sh
. "${LAB_SCENARIOS:-/host/scenarios}/lib/agent.sh"
# shellcheck source=qemu/scenarios/lib/pdmv2.sh
. "${LAB_SCENARIOS:-/host/scenarios}/lib/pdmv2.sh"

W=/tmp/agent
if ! agentlab_inputs_ok; then
	echo "not ok - pdmv2.ko or the agent inputs ($E2E: qjs/, pdmv2d.mjs, pdmv2d-wrapper, sync/) not found (run it through qemu/lab.sh)"
	echo "0 passed, 1 failed"
	exit 1
fi

up() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(up)" 'BEGIN { printf "%.1f", b - a }'; }
no_keys() { ! nsx rtr grep -qE '^(key|peer) ' /proc/net/pdmv2/keys; }
has_keys() { nsx rtr grep -qE '^key ' /proc/net/pdmv2/keys && nsx rtr grep -qx 'mode encrypted' /proc/net/pdmv2/control; }
mark_mask_is() { [ "$(nsx rtr sed -n 2p /proc/net/pdmv2/control)" = "mark_mask $1" ]; }
table_loaded() { nsx rtr nft list table inet pdmv2 >/dev/null 2>&1; }
status_json() { nsx rtr "$W/bin/pdmv2d" --config "$W/rtr/config" status --json; }
status_has() { status_json | grep -q "$1"; }

# The real time, kept against the monotonic uptime: the scenario moves the
# guest's clock and puts it back from this
REAL0=$(date +%s) UP0=$(up)
real_now() { awk -v r="$REAL0" -v a="$UP0" -v b="$(up)" 'BEGIN { printf "%d", r + (b - a) }'; }
clock_restore() { date -s "@$(real_now)" >/dev/null; }
YEARS3=$((3 * 365 * 86400))

agentlab_install "$W"
# nft that fails to load while $W/nft-broken exists (the failed-load case)
cat >"$W/bin/nft" <<EOF
#!/bin/sh
if [ "\$1" = -f ] && [ -e $W/nft-broken ]; then echo "Error: simulated failure" >&2; exit 1; fi
exec nft "\$@"
EOF
chmod 755 "$W/bin/nft"

lab_topology_up 1500 1500
agentlab_net rtr
lab_save_topology
agentlab_env
lab_check "rtr reaches the Primary Client ($PC_URL/v1/info)" reach rtr "$PC_URL" "$PC_KEY"
! lsmod | grep -q '^pdmv2 ' || rmmod pdmv2
lab_check "insmod $KO" lab_insmod "$KO"

TOKEN=$(host_call token-rtr | sed -n 's/^ok //p')
lab_check "host: a one-time client token" test -n "$TOKEN"
mkdir -p "$W/rtr"
cat >"$W/rtr/config" <<EOF
config pdmv2 'main'
	option enabled '1'
	option primary_url '$PC_URL'
	option primary_key '$PC_KEY'
	option role 'client'
	list prefix '$CLIENT_P'
	option token '$TOKEN'
	option state_dir '$W/rtr/state'
	option run_dir '$W/rtr/run'
	option nft_file '$W/rtr/run/pdmv2.nft'
	option nft '$W/bin/nft'
	option http_timeout '5'
	option poll_max '2'
	option retry_min '1'
	option retry_max '2'
	option check_interval '5'
EOF
DAEMON=
start_daemon() {
	lab_bg nsx rtr env PDMV2_MEMORY_LIMIT=4M "$W/bin/pdmv2d" --config "$W/rtr/config" run
	DAEMON=$LAB_LAST_PID
}
stop_daemon() {
	kill -TERM "$DAEMON" 2>/dev/null
	lab_wait_pid "$DAEMON" 10
}
exec 3>>"$ARTIFACTS/agent-rtr.log"
start_daemon 2>&3
# the kernel is written first, then the nft table is loaded
installed() { has_keys && table_loaded; }
lab_check "router agent granted by token: keys in rtr's module, mode encrypted, nft table loaded" lab_wait_for 30 installed

# ---------------------------------------------------------------- packet mark
lab_log "packet mark"
lab_check "the module's mark_mask is the agent's mark 0x01000000" mark_mask_is 0x01000000
nft_marks() { nsx rtr nft list table inet pdmv2 | grep -c 'meta mark set meta mark | 0x01000000'; }
four_marks() { [ "$(nft_marks)" = 4 ]; }
lab_check "the agent's nft table sets the same bit (4 rules)" four_marks
marked_ping() { # options inserted for LAN traffic
	local before after
	before=$(st rtr inserted)
	nsx lan ping -6 -c 5 -i 0.1 -W 2 "$WAN_IP" >/dev/null || return 1
	after=$(st rtr inserted)
	echo "rtr inserted $before -> $after"
	[ "$after" -ge $((before + 5)) ]
}
lab_check "ping lan -> wan: rtr inserts an option into every packet" marked_ping
ctl rtr "mark_mask 0x00000100"
t0=$(up)
lab_check "a mark_mask changed by hand is put back within a check" lab_wait_for 15 mark_mask_is 0x01000000
echo "# mark_mask back after $(since "$t0") s"

# ---------------------------------------------------------------- nft table repair
lab_log "nft table repair"
id_of() { nsx rtr nft list table inet pdmv2 | sed -n 's/.*comment "pdmv2d \([0-9a-f]*\)".*/\1/p'; }
ID=$(id_of)
lab_check "the table carries its content id ($ID)" test -n "$ID"
nsx rtr nft flush ruleset
t0=$(up)
lab_check "after nft flush ruleset the table is back within a check (5 s + slack)" lab_wait_for 15 table_loaded
dt=$(since "$t0"); echo "# table back after $dt s"
same_id() { local now; now=$(id_of); echo "content id $now (want $ID)"; [ "$now" = "$ID" ]; }
lab_check "the same table (content id $ID) is loaded again" same_id
lab_check "ping lan -> wan after the repair: options inserted" marked_ping
nsx rtr nft -f - <<'EOF'
table inet fw4
flush table inet fw4
table inet fw4 {
	chain mangle_prerouting {
		type filter hook prerouting priority mangle; policy accept;
	}
}
EOF
lab_check "a reload as fw4 does it (flush table inet fw4) leaves the agent's table as it was" same_id
nsx rtr nft delete table inet fw4
touch "$W/nft-broken"
nsx rtr nft delete table inet pdmv2
sleep 7
nft_failing() {
	if table_loaded; then echo "the table is loaded"; return 1; fi
	status_json | grep -o '"last_error":{[^}]*}'
	status_has '"code":"NFT"'
}
lab_check "while nft fails to load, the table stays missing and status says NFT" nft_failing
rm -f "$W/nft-broken"
t0=$(up)
lab_check "once nft loads again, the table is back within a check" lab_wait_for 15 table_loaded
echo "# table back after $(since "$t0") s"
nsx rtr nft -f - <<'EOF'
table inet other {
	chain pre {
		type filter hook prerouting priority mangle; policy accept;
		meta mark set meta mark | 0x01000000
	}
}
EOF
nsx rtr nft delete table inet pdmv2
lab_check "another table setting the agent's bit is reported (status mark_conflicts)" \
	lab_wait_for 15 status_has 'table inet other changes mark bits'

status_json >"$ARTIFACTS/status-mark-conflict.json" 2>&1
nsx rtr nft delete table inet other

# ---------------------------------------------------------------- memory
lab_log "memory"
rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$DAEMON/status")
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$DAEMON/status")
echo "# daemon VmRSS $rss kB (peak $hwm kB) after enrollment, repairs and checks"
lab_check "the daemon's RSS <= 6 MB on qjs ($rss kB)" test "$rss" -le 6144
oom() {
	local out rc
	out=$(PDMV2_MEMORY_LIMIT=1M nsx rtr "$W/bin/pdmv2d" --config "$W/rtr/config" status 2>&1); rc=$?
	echo "memory limit 1M: exit $rc: $out" | head -3
	[ "$rc" != 0 ]
}
lab_check "qjs --memory-limit 1M (through the package wrapper): the agent stops with an error" oom
lab_check "qjs --memory-limit 4M (the package default): status runs" sh -c \
	"PDMV2_MEMORY_LIMIT=4M ip netns exec rtr $W/bin/pdmv2d --config $W/rtr/config status | grep -q '^status *granted'"

# ---------------------------------------------------------------- stop
lab_log "stop"
stop_daemon
lab_check "SIGTERM: the daemon exits" sh -c "! kill -0 $DAEMON 2>/dev/null"
wiped() { no_keys && nsx rtr grep -qx 'mode off' /proc/net/pdmv2/control && ! table_loaded; }
lab_check "stopped: no key in the kernel, mode off, the nft table removed" wiped
grant_kept() { [ "$(stat -c %a "$W/rtr/state/grant.json")" = 600 ]; }
lab_check "stopped: the grant is still on flash (state_dir/grant.json, 0600)" grant_kept
# the module's epoch memory (which epochs its flows took, PROTOCOL.md §5.3)
# goes with it; the agent copied it into run_dir after its wipe and gives it
# back to the reloaded module before the first key
epochs_copy() { grep '^epoch ' "$W/rtr/run/epochs"; }
lab_check "stopped: the agent's copy of the epoch memory (run_dir/epochs) holds what the pings took" \
	sh -c "grep -Eq '^epoch [0-9a-f]{16} [0-9]+ [0-9]+ [1-9][0-9]*\$' '$W/rtr/run/epochs'"
reload_module() { rmmod pdmv2 && lab_insmod "$KO"; }
lab_check "module reloaded while the agent is stopped" reload_module
start_daemon 2>&3
t0=$(up)
lab_check "started again: the saved grant is installed at once" lab_wait_for 10 has_keys
echo "# keys back $(since "$t0") s after the start"
memory_back() {
	local copy held
	copy=$(epochs_copy) held=$(nsx rtr grep '^epoch ' /proc/net/pdmv2/epochs)
	echo "copy: $copy; module: $held"
	[ -n "$copy" ] && [ "$copy" = "$held" ]
}
lab_check "the reloaded module holds the epoch memory the agent gave back" memory_back
lab_check "the agent logged it" grep -q 'epoch memory of 1 pairing(s) written back' "$ARTIFACTS/agent-rtr.log"
lab_check "ping lan -> wan after the reload: options again" marked_ping

# ---------------------------------------------------------------- clock
lab_log "clock: reboot with the clock 3 years behind, primary unreachable"
stop_daemon
rm -rf "$W/rtr/run" # tmpfs: gone after a reboot (the kernel has no keys either: stop wiped them)
nsx rtr ip route del default
date -s "@$(( $(real_now) - YEARS3 ))" >/dev/null
echo "# guest clock now $(date -u +%FT%TZ)"
start_daemon 2>&3
sleep 6
nothing_in_kernel() { no_keys && nsx rtr grep -qx 'mode off' /proc/net/pdmv2/control; }
lab_check "clock behind the saved grant: no key installed, module off" nothing_in_kernel
status_json >"$ARTIFACTS/status-clock-behind.json" 2>&1
lab_check "status says what it waits for: the clock" status_has '"waiting_for":"clock"'
nsx rtr ip route add default via 10.99.1.1
clock_restore
t0=$(up)
echo "# guest clock stepped to $(date -u +%FT%TZ)"
lab_check "after the step: keys installed within one renew period ($RENEW s)" lab_wait_for "$RENEW" has_keys
echo "# keys installed $(since "$t0") s after the step"
granted_primary_clock() { status_has '"clock_source":"primary"' && status_has '"status":"granted"'; }
lab_check "after the step: granted by the primary, its clock learned" lab_wait_for "$RENEW" granted_primary_clock

lab_log "clock: steps while running"
renewals() { grep -c 'info: renewed' "$ARTIFACTS/agent-rtr.log"; }
step_keeps() { # SECONDS: step the clock, the keys stay and a renewal follows
	local n0 t
	n0=$(renewals)
	date -s "@$(( $(real_now) + $1 ))" >/dev/null
	for t in $(seq $((RENEW * 3))); do
		has_keys || { echo "keys gone $t s after a step of $1 s"; return 1; }
		[ "$(renewals)" -gt "$n0" ] && { echo "renewed $t s after a step of $1 s, keys kept"; return 0; }
		sleep 1
	done
	echo "no renewal within $((RENEW * 3)) s of a step of $1 s"; return 1
}
lab_check "the clock stepped 3 years back while running: keys kept, renewals go on" step_keeps "-$YEARS3"
lab_check "the clock stepped forward again: keys kept, renewals go on" step_keeps 0
lab_check "the agent logged the steps" grep -q 'the local clock stepped by' "$ARTIFACTS/agent-rtr.log"

# ---------------------------------------------------------------- end
lab_log "end"
clock_restore
stop_daemon
exec 3>&-
nsx rtr "$W/bin/pdmv2d" --config "$W/rtr/config" status >"$ARTIFACTS/status-rtr.txt" 2>&1
ls -l "$W/rtr/state" >"$ARTIFACTS/rtr-state-listing.txt" 2>&1
lab_save_dmesg
lab_check "dmesg has no oops/warning/BUG" sh -c \
	'! dmesg | grep -E "BUG:|WARNING:|Oops|Call Trace|general protection|refcount_t"'
rmmod pdmv2 2>/dev/null
agentlab_net_down
lab_finish
