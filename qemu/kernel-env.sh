#!/usr/bin/env bash
# Print, as shell assignments, the kernel the lab boots and the headers tree to
# build out-of-tree modules against (builds/refreshes the cached image first;
# ~0.1 s when nothing changed):
#
#   eval "$(qemu/kernel-env.sh)"
#   make -C "$KDIR" M="$PWD/kmod" modules      # -> kmod/pdmv2.ko for $KERNEL_RELEASE
#
# Variables: KERNEL_RELEASE (uname -r in the guest), KERNEL_PACKAGE,
# KERNEL_VERSION (Debian package version), KDIR, LAB_IMAGE, LAB_KERNEL,
# LAB_INITRD. Host needs gcc-12 and make (Debian's kernel is built with gcc-12).
# With --check, also verifies the toolchain (installs gcc-12/make via apt if
# missing).
set -euo pipefail
LAB_PROG=kernel-env
# shellcheck source=qemu/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if [ "${1:-}" = --check ]; then
	lab_need_tools gcc-12:gcc-12 make:make
fi
"$QEMU_DIR/build-image.sh" --quiet --print-env | while IFS='=' read -r k v; do
	case $k in
	KERNEL_*|KDIR|LAB_*) printf 'export %s=%q\n' "$k" "$v" ;;
	esac
done
