# shellcheck shell=bash
# Sourced by the guest scenarios that run the real agent (e2e.sh, agent.sh)
# against the primaries of the host side (test/lab/e2e-host.ts, started by
# qemu/lab.sh): inputs in the share, the agent installed as the package
# installs it, host requests, the guest's uplink to the host. Needs lab.sh
# (nsx, lab_check, lab_wait_for), lib/uplink.sh and ARTIFACTS.
#
# Inputs in the share (/share), in a directory private to the lab run
# (.build/lab/KERNEL/e2e-PID, named by pdmv2.e2e= on the kernel command line):
#   qjs/            QuickJS (Debian trixie's qjs with its own ld.so, libc, libm)
#   pdmv2d.mjs      the agent bundle (.build/qjs/pdmv2d.min.mjs)
#   pdmv2d-wrapper  the package's /usr/bin/pdmv2d (firmware/files/usr/bin/pdmv2d)
#   sync/           coordination with the host side (header of test/lab/e2e-host.ts)

# shellcheck source=qemu/scenarios/lib/uplink.sh
. "${LAB_SCENARIOS:-/host/scenarios}/lib/uplink.sh"

SHARE=${LAB_SHARE:-/share}
E2E=$SHARE/$(sed -n 's/.*pdmv2\.e2e=\([^ ]*\).*/\1/p' /proc/cmdline)
SYNC=$E2E/sync
KO=
for c in "${PDMV2_KO:-}" "$SHARE/pdmv2.ko"; do
	if [ -n "$c" ] && [ -f "$c" ]; then KO=$c; break; fi
done

# agentlab_inputs_ok: everything above is there (else the scenario cannot run)
agentlab_inputs_ok() {
	[ -n "$KO" ] && [ -x "$E2E/qjs/qjs" ] && [ -f "$E2E/pdmv2d.mjs" ] && [ -f "$E2E/pdmv2d-wrapper" ] && [ -d "$SYNC" ]
}

# host_call NAME [ARGS]: ask the host side through the share; prints its
# answer, succeeds when it starts with "ok"
host_call() {
	local name=$1; shift
	printf '%s\n' "$*" >"$SYNC/.req-$name" && mv "$SYNC/.req-$name" "$SYNC/req-$name"
	if ! lab_wait_for 90 test -f "$SYNC/done-$name"; then
		echo "no answer from the host to $name within 90 s"; return 1
	fi
	cat "$SYNC/done-$name"
	head -n 1 "$SYNC/done-$name" | grep -q '^ok'
}

# agentlab_install DIR: the agent as the package installs it, under DIR:
# DIR/bin/pdmv2d runs the package's wrapper (qjs --memory-limit) with the
# lab's QuickJS and the bundle
agentlab_install() {
	local w=$1
	mkdir -p "$w/bin" "$w/qjs"
	cp "$E2E/qjs/"* "$w/qjs/"
	cp "$E2E/pdmv2d.mjs" "$w/pdmv2d.mjs"
	cp "$E2E/pdmv2d-wrapper" "$w/bin/pdmv2d.pkg"
	cat >"$w/bin/pdmv2d" <<EOF
#!/bin/sh
PDMV2_QJS="$w/qjs/ld.so --library-path $w/qjs $w/qjs/qjs" PDMV2_BUNDLE=$w/pdmv2d.mjs exec sh $w/bin/pdmv2d.pkg "\$@"
EOF
	chmod 755 "$w/bin/pdmv2d"
}

# agentlab_net NS...: the guest's eth0 on QEMU user networking (the host's
# 127.0.0.1 is 10.0.2.2) and an IPv4-only uplink with NAT for each namespace
# (lib/uplink.sh)
agentlab_net() {
	local n=0 ns
	lab_user_net_up
	for ns in "$@"; do
		n=$((n + 1))
		lab_uplink "$ns" "$n"
	done
	lab_check "NAT from the namespaces out of eth0" nft -f - <<'EOF'
table ip e2e_nat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "eth0" ip saddr 10.99.0.0/16 masquerade
	}
}
EOF
}

agentlab_net_down() {
	nft delete table ip e2e_nat 2>/dev/null
	lab_user_net_down
}

# agentlab_env: wait for the host's env (primaries up, paired, tokens made) and load it
agentlab_env() {
	lab_check "the host side wrote its env (primaries up, paired, tokens made)" lab_wait_for 120 test -f "$SYNC/env"
	# shellcheck source=/dev/null
	. "$SYNC/env"
	cp "$SYNC/env" "$ARTIFACTS/env"
}

# reach NS URL KEY: the primary's /v1/info from NS shows its key
reach() {
	local out
	out=$(nsx "$1" wget -q -O - "$2/v1/info" 2>&1) || { echo "$out"; return 1; }
	echo "$out"; grep -q "$3" <<<"$out"
}
