#!/usr/bin/env bash
# The module's user-space core tests (kmod/test: test_core, test_crypto and
# every vector) on the CPUs of OpenWrt routers, under qemu-user:
#   qemu/user-tests.sh [ARCH...]     (default: qemu/arch.sh's LAB_USER_ARCHES:
#                                     arm64 armhf s390x mips64el mipsel)
# 64- and 32-bit, little- and big-endian (s390x). Each is cross-compiled with
# Debian's cross compiler (gcc-TRIPLET), linked static against that CPU's own
# Debian libcrypto (libssl-dev of the architecture, fetched through the lab's
# private apt index, qemu/arch.sh lab_apt_for, and unpacked into
# ${PDMV2_CACHE}/qemu/sysroot/ARCH) and run by qemu-user-static
# (kmod/test/Makefile, user-check). Ends with "N passed, M failed".
set -euo pipefail
LAB_PROG=user-tests
# shellcheck source=qemu/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=qemu/arch.sh
. "$QEMU_DIR/arch.sh"

arches=("$@")
[ ${#arches[@]} -gt 0 ] || read -ra arches <<<"$LAB_USER_ARCHES"
lab_need_tools make:make dpkg-deb:dpkg flock:util-linux

# SYSROOT for ARCH: its libssl-dev and libssl3, unpacked (cached by version)
sysroot() {
	local a=$1 t vers dir
	lab_apt_for "$a"
	vers=$(apt-cache "${LAB_APT_OPTS[@]}" show --no-all-versions libssl-dev | sed -n 's/^Version: //p' | head -n 1)
	[ -n "$vers" ] || lab_die "no libssl-dev for $a"
	dir=$LAB_CACHE/sysroot/$a-$vers
	if [ ! -e "$dir/.done" ]; then
		t=$(mktemp -d)
		(cd "$t" && apt-get "${LAB_APT_OPTS[@]}" download -q -o APT::Sandbox::User=root \
			"libssl-dev=$vers" "libssl3=$vers" >/dev/null) || lab_die "apt-get download libssl for $a failed"
		rm -rf "$dir" && mkdir -p "$dir"
		for d in "$t"/*.deb; do dpkg-deb -x "$d" "$dir"; done
		rm -rf "$t" "$dir/usr/share"
		touch "$dir/.done"
		# older versions of this arch's sysroot
		find "$LAB_CACHE/sysroot" -maxdepth 1 -name "$a-*" ! -name "$a-$vers" -exec rm -rf {} +
	fi
	echo "$dir"
}

mkdir -p "$LAB_CACHE"
exec 8>"$LAB_CACHE/.user-tests.lock"
flock 8
passed=0 failed=0
for a in "${arches[@]}"; do
	lab_arch_load "$a"
	[ -n "$ARCH_FOREIGN" ] || { lab_log "$a is this machine: kmod/test's own check covers it"; continue; }
	lab_need_tools "${ARCH_CROSS}gcc:gcc-$ARCH_TRIPLET" "$ARCH_QUSER:qemu-user-static"
	root=$(sysroot "$a")
	log=$(mktemp)
	t0=$(date +%s.%N)
	make -s -C "$REPO_DIR/kmod/test" user-check CROSS="$ARCH_CROSS" SYSROOT="$root" \
		TRIPLET="$ARCH_TRIPLET" RUN="$ARCH_QUSER" >"$log" 2>&1 || true
	counts=$(lab_summary_counts "$log" || true)	# none: a build that failed, shown below
	grep -E '^not ok' "$log" | head -n 20 || true
	if [ -n "$counts" ]; then
		passed=$((passed + ${counts% *})) failed=$((failed + ${counts#* }))
		line="${counts% *} passed, ${counts#* } failed"
	else
		tail -n 20 "$log"; line="no summary"; failed=$((failed + 1))
	fi
	echo "$a ($ARCH_TRIPLET, $(file -b "$REPO_DIR/kmod/test/.build/$ARCH_TRIPLET/test_crypto" | cut -d, -f1-2)): $line in $(lab_elapsed "$t0")s"
	rm -f "$log"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
