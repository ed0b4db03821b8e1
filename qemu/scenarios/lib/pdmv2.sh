# shellcheck shell=bash
# Sourced by the pdmv2.ko lab scenarios (guest side): captures on the lab
# links, the module's control file and counters. Needs nsx, lab_wait_for and
# LAB_PIDS (qemu/scenarios/lib/lab.sh) and ARTIFACTS.

declare -A CAP_PID=()

# Captures: tcpdump started directly (so $! is tcpdump itself) and stopped
# with SIGTERM; a background job of a non-interactive shell ignores SIGINT.
cap_start() { # NS IFACE NAME [filter...]
	local ns=$1 ifc=$2 name=$3; shift 3
	rm -f "/tmp/$name.pcap" "/tmp/$name.tcpdump.log"
	ip netns exec "$ns" tcpdump -Z root -n -U --immediate-mode -s 256 -i "$ifc" \
		-w "/tmp/$name.pcap" "$@" >"/tmp/$name.tcpdump.log" 2>&1 &
	CAP_PID[$name]=$!
	LAB_PIDS+=($!)
	lab_wait_for 10 grep -q 'listening on' "/tmp/$name.tcpdump.log"
}
cap_stop() { # NAME
	local pid=${CAP_PID[$1]:-}
	[ -n "$pid" ] || return 1
	sleep 0.5
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	cp "/tmp/$1.pcap" "$ARTIFACTS/$1.pcap"
	cat "/tmp/$1.tcpdump.log" >>"$ARTIFACTS/$1.tcpdump.log"
}

ctl() { # NS LINE...: write to /proc/net/pdmv2/control
	local ns=$1; shift
	printf '%s\n' "$@" | nsx "$ns" sh -c 'cat > /proc/net/pdmv2/control'
}
st() { # NS NAME: value of a counter
	nsx "$1" awk -v n="$2" '$1 == n { print $2 }' /proc/net/pdmv2/stats
}
stat_ge() { # NS NAME MIN
	local v
	v=$(st "$1" "$2")
	echo "$1 $2 = ${v:-missing} (want >= $3)"
	[ -n "$v" ] && [ "$v" -ge "$3" ]
}
stat_eq() { # NS NAME VALUE
	local v
	v=$(st "$1" "$2")
	echo "$1 $2 = ${v:-missing} (want $3)"
	[ "$v" = "$3" ]
}
# number of captured packets matching an extended regexp in tcpdump -v output
cap_count() { # NAME REGEX [filter...]
	local name=$1 re=$2; shift 2
	if [ $# -gt 0 ]; then
		tcpdump -nn -v -r "$ARTIFACTS/$name.pcap" "$@" 2>/dev/null | grep -Ec "$re"
	else
		grep -Ec "$re" "$(cap_text "$name")"
	fi
}
# cap_text NAME: the capture decoded once (tcpdump -v under TCG takes 10-20 s
# for a TCP transfer's capture, and several checks read the same one); redone
# when the pcap is newer than the text (a capture started again under that
# name; lab_capture_start also drops it). One text at a time in the guest's
# memory: the checks of a capture come together.
cap_text() {
	local pcap=$ARTIFACTS/$1.pcap txt
	txt=$(lab_cap_text_file "$1")
	if ! [ "$txt" -nt "$pcap" ]; then
		rm -f /tmp/cap-*.txt
		tcpdump -nn -v -r "$pcap" >"$txt.new" 2>/dev/null
		mv "$txt.new" "$txt"
	fi
	echo "$txt"
}
cap_ok() { # NAME REGEX MIN [filter...]
	local name=$1 re=$2 min=$3 n; shift 3
	n=$(cap_count "$name" "$re" "$@")
	echo "$name: $n packets match /$re/ (want >= $min)"
	[ "$n" -ge "$min" ]
}
cap_none() { # NAME REGEX [filter...]
	local name=$1 re=$2 n; shift 2
	n=$(cap_count "$name" "$re" "$@")
	echo "$name: $n packets match /$re/ (want 0)"
	[ "$n" -eq 0 ]
}
stat_delta() { # NS NAME BEFORE WANT: the counter grew by exactly WANT
	local v
	v=$(st "$1" "$2")
	echo "$1 $2: $3 -> ${v:-missing} (want +$4)"
	[ -n "$v" ] && [ "$((v - $3))" -eq "$4" ]
}
save_state() { # TAG: settings, keys, counters and flows of rtr and wan
	local ns
	for ns in rtr wan; do
		lab_append "state-$1.txt" nsx "$ns" cat /proc/net/pdmv2/control
		lab_append "state-$1.txt" nsx "$ns" cat /proc/net/pdmv2/keys
		lab_append "state-$1.txt" nsx "$ns" cat /proc/net/pdmv2/stats
		lab_append "state-$1.txt" nsx "$ns" cat /proc/net/pdmv2/flows
	done
}

# A 1500-octet echo request from lan through rtr (MTU 1500, clear: 32 octets
# of option) draws a Packet Too Big; the lan host then sends 1468-octet ones.
ptb_roundtrip() { # LABEL LOGFILE
	local ev
	ev=$(st rtr mtu_events)
	nsx lan ping -6 -c 1 -W 2 -s 1452 "$WAN_IP" >"$ARTIFACTS/$2" 2>&1
	lab_check "$1: Packet Too Big sent for a 1500-octet echo request" stat_ge rtr mtu_events $((ev + 1))
	lab_check "$1: it reached the lan host (route MTU 1468 = 1500 - 32)" sh -c \
		"ip netns exec lan ip -6 route get $WAN_IP | grep -q 'mtu 1468'"
	lab_check "$1: then 1468-octet pings cross" nsx lan ping -6 -c 2 -i 0.3 -W 2 -s 1420 "$WAN_IP"
}

# The module runs AES-GCM with the CPU's instructions exactly where the CPU
# has them (x86-64 with AES-NI and PCLMULQDQ, little-endian arm64 with AES
# and PMULL; docs/kmod.md): its parameter simd_crypto reads Y there and N
# elsewhere. Prints what it found.
simd_crypto_as_cpu() {
	local want=N got
	case $(uname -m) in
	x86_64) grep -qw aes /proc/cpuinfo && grep -qw pclmulqdq /proc/cpuinfo && want=Y ;;
	aarch64) grep -qw aes /proc/cpuinfo && grep -qw pmull /proc/cpuinfo && want=Y ;;
	esac
	got=$(cat /sys/module/pdmv2/parameters/simd_crypto) || return 1
	echo "simd_crypto $got on $(uname -m) (want $want); $(dmesg | grep -o 'pdmv2: AES-GCM: .*' | tail -n 1)"
	[ "$got" = "$want" ]
}

# Mounts tracefs at $TRACE for the pdmv2 tracepoint, with record-cmd off.
# With it on (the default), enabling the first event and disabling the last
# one also attach and detach ftrace's sched_switch probe, which patches the
# static branch inside __schedule() while every vCPU runs through it. Under
# QEMU 7.2's multi-threaded TCG that patching once left a stale int3 behind
# (6.12 guest: "Oops: int3" in __schedule, no pdmv2 frame, in CI; a known
# emulator race, docs/lab.md). The checks read only the event's own fields,
# never the task name that record-cmd keeps, so they lose nothing.
trace_mount() {
	[ -e "$TRACE/trace" ] || mount -t tracefs nodev "$TRACE" || return 1
	echo 0 >"$TRACE/options/record-cmd" && [ "$(cat "$TRACE/options/record-cmd")" = 0 ]
}
