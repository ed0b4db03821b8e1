# shellcheck shell=bash
# Shared helpers for qemu/build-image.sh, qemu/run.sh and qemu/kernel-env.sh.
# Sourced, not executed.

QEMU_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$QEMU_DIR/.." && pwd)
PDMV2_CACHE=${PDMV2_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pdmv2}
LAB_CACHE=$PDMV2_CACHE/qemu
# "current" points at the image directory produced by the last successful build.
LAB_CURRENT=$LAB_CACHE/current

lab_log() { printf '%s: %s\n' "${LAB_PROG:-lab}" "$*" >&2; }
lab_die() { lab_log "error: $*"; exit 2; }

# Run as root or through sudo (for apt-get install on developer machines).
lab_sudo() {
	if [ "$(id -u)" = 0 ]; then "$@"
	elif command -v sudo >/dev/null 2>&1; then sudo "$@"
	else lab_die "need root to run: $*"; fi
}

lab_apt_install() {
	lab_log "installing host packages: $*"
	lab_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2
}

# Ensure host tools exist: lab_need_tools cmd:package ...
lab_need_tools() {
	local spec missing=()
	for spec in "$@"; do
		command -v "${spec%%:*}" >/dev/null 2>&1 || missing+=("${spec#*:}")
	done
	[ ${#missing[@]} -eq 0 ] || lab_apt_install "${missing[@]}"
}

# Make sure apt's package lists know about the kernel; run apt-get update once otherwise.
lab_apt_lists_ready() {
	if ! apt-cache show linux-image-amd64 >/dev/null 2>&1; then
		lab_log "apt lists are empty: running apt-get update"
		lab_sudo apt-get update -q >&2
	fi
}

# "P F" from the last "N passed, M failed" line of FILE; nothing if it has none
lab_summary_counts() {
	grep -aE '[0-9]+ passed, [0-9]+ failed' "$1" 2>/dev/null | tail -n 1 |
		sed -E 's/^(.*[^0-9])?([0-9]+) passed, ([0-9]+) failed.*/\2 \3/'
}

# seconds (one decimal) since a `date +%s.%N` timestamp
lab_elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
