#!/usr/bin/env bash
# Print, as shell assignments, the kernel the lab boots and the headers tree to
# build out-of-tree modules against (builds/refreshes the cached image first;
# ~0.1 s when nothing changed):
#
#   eval "$(qemu/kernel-env.sh [--check] [--arch ARCH] [--kernel 6.1|6.12])"
#   make -C "$KDIR" M="$PWD/kmod" CROSS_COMPILE="$LAB_CROSS_COMPILE" modules
#
# Variables: KERNEL_RELEASE (uname -r in the guest), KERNEL_PACKAGE,
# KERNEL_VERSION (Debian package version), KDIR, LAB_IMAGE, LAB_KERNEL,
# LAB_INITRD, LAB_ARCH, LAB_KERNEL_CHOICE, LAB_CROSS_COMPILE (empty for the
# host's own arch; the headers set ARCH themselves). Host needs gcc-12 and
# make (Debian's kernels are built with gcc-12), or the arch's gcc-12 cross
# compiler. With --check, installs the toolchain via apt if missing.
set -euo pipefail
LAB_PROG=kernel-env
# shellcheck source=qemu/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=qemu/arch.sh
. "$QEMU_DIR/arch.sh"

CHECK= ARGS=() LAB_ARCH=${PDMV2_LAB_ARCH:-$(lab_host_arch)}
while [ $# -gt 0 ]; do
	case $1 in
	--check) CHECK=1 ;;
	--arch) LAB_ARCH=$2; ARGS+=(--arch "$2"); shift ;;
	--kernel) ARGS+=(--kernel "$2"); shift ;;
	*) lab_die "unknown option $1" ;;
	esac
	shift
done
lab_arch_load "$LAB_ARCH"
if [ -n "$CHECK" ]; then
	if [ -n "$ARCH_FOREIGN" ]; then
		lab_need_tools "${ARCH_CROSS}gcc-12:gcc-12-${ARCH_TRIPLET}" make:make
	else
		lab_need_tools gcc-12:gcc-12 make:make
	fi
fi
"$QEMU_DIR/build-image.sh" --quiet --print-env ${ARGS[@]+"${ARGS[@]}"} | while IFS='=' read -r k v; do
	case $k in
	KERNEL_*|KDIR|LAB_*) printf 'export %s=%q\n' "$k" "$v" ;;
	esac
done
printf 'export LAB_CROSS_COMPILE=%q\n' "$ARCH_CROSS"
