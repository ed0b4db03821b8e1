#!/bin/bash
# Runs inside the guest (started by /init as pdmv2.run=/host/runner.sh).
# qemu/run.sh copies this file, qemu/scenarios/ and the requested scripts into
# the 9p control share (/host) before boot:
#   /host/scripts.list      one script name per line, in order
#   /host/scripts/NAME      the scripts themselves
#   /host/scenarios/lib/lab.sh  helper library ($LAB_LIB)
# Each script runs under bash with ARTIFACTS=/host/artifacts/<name without .sh>
# (its output is also kept there as output.log);
# results go to /host/results.txt ("name rc seconds"). Exit status: the first
# non-zero script status, else 0. Network namespaces are removed between
# scripts so each one starts from a clean guest.

export LAB_HOST=/host
export LAB_LIB=/host/scenarios/lib/lab.sh
export LAB_SCENARIOS=/host/scenarios
if grep -q ' /share 9p ' /proc/mounts; then export LAB_SHARE=/share; fi

up() { read -r u _ </proc/uptime; echo "$u"; }
# pdmv2.deadline=SECS (guest uptime) from run.sh: scripts still running then
# are killed, so that dmesg and artifacts make it back before the host timeout
deadline=$(sed -n 's/.*pdmv2\.deadline=\([0-9]*\).*/\1/p' /proc/cmdline)

overall=0
: >/host/results.txt
while read -r name; do
	[ -n "$name" ] || continue
	export ARTIFACTS=/host/artifacts/${name%.sh}
	mkdir -p "$ARTIFACTS"
	echo "pdmv2-lab: >>> $name"
	t0=$(up)
	if [ -n "$deadline" ]; then
		left=$(awk -v d="$deadline" -v u="$(up)" 'BEGIN { l = int(d - u); print (l < 1 ? 1 : l) }')
		(cd /tmp && exec timeout -s KILL "$left" bash "/host/scripts/$name") 2>&1 | tee "$ARTIFACTS/output.log"
		rc=${PIPESTATUS[0]}
		if [ $rc -eq 137 ] && awk -v d="$deadline" -v u="$(up)" 'BEGIN { exit !(u >= d - 1) }'; then
			echo "pdmv2-lab: !!! $name killed at the guest deadline (${deadline}s uptime)"
			rc=124
		fi
	else
		(cd /tmp && exec bash "/host/scripts/$name") 2>&1 | tee "$ARTIFACTS/output.log"
		rc=${PIPESTATUS[0]}
	fi
	dt=$(awk -v a="$t0" -v b="$(up)" 'BEGIN { printf "%.1f", b - a }')
	echo "$name $rc $dt" >>/host/results.txt
	echo "pdmv2-lab: <<< $name rc=$rc (${dt}s)"
	[ "$overall" -ne 0 ] || overall=$rc
	# clean slate for the next script
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do ip netns delete "$ns"; done
	nft flush ruleset 2>/dev/null
	sync
done </host/scripts.list
exit "$overall"
