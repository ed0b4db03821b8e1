#!/usr/bin/env bash
# Build pdmv2.ko (or the lab's test module) for one lab arch and kernel
# (qemu/arch.sh), warnings checked:
#
#   qemu/build-module.sh [--arch ARCH] [--kernel 6.1|6.12] [--src DIR]
#
# --src: the module's sources, a directory of the repository with a Kbuild
# (default kmod/; qemu/tools/kmod/ is the lab's test module). Builds with
# W=1 in .build/kmod/ARCH-RELEASE/ for kmod/, .build/kmod/TAG-ARCH-RELEASE/
# for another DIR (TAG: its path with / as -), a copy of DIR's sources, so
# that every kernel and CPU keeps its own objects and rebuilds only what
# changed, cross-compiling with the table's compiler for a foreign arch
# against that arch's Debian headers. Prints the path of each .ko the Kbuild
# names (obj-m) on stdout; the compiler's output goes to build.log beside
# them. Exit status: 0 built and W=1 clean, 1 built with warnings (the .ko is
# there; the warnings are printed), 2 build failed.
set -euo pipefail
LAB_PROG=build-module
# shellcheck source=qemu/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ARGS=() src=kmod
while [ $# -gt 0 ]; do
	case $1 in
	--arch|--kernel) ARGS+=("$1" "$2"); shift ;;
	--src) src=${2%/}; shift ;;
	*) lab_die "unknown option $1" ;;
	esac
	shift
done
eval "$("$QEMU_DIR/kernel-env.sh" --check ${ARGS[@]+"${ARGS[@]}"})"
lab_need_tools pahole:pahole	# 6.12's kbuild asks for it (BTF is skipped: no vmlinux in the headers)
[ -f "$REPO_DIR/$src/Kbuild" ] || lab_die "--src $src: no Kbuild there (a directory of the repository)"
modules=$(sed -nE 's/^obj-m[[:space:]]*[:+]?=[[:space:]]*//p' "$REPO_DIR/$src/Kbuild")
[ -n "$modules" ] || lab_die "$src/Kbuild names no module (obj-m)"
out=$REPO_DIR/.build/kmod/$LAB_ARCH-$KERNEL_RELEASE
[ "$src" = kmod ] || out=$REPO_DIR/.build/kmod/${src//\//-}-$LAB_ARCH-$KERNEL_RELEASE
mkdir -p "$out"
# one build of a tree at a time: build/test.sh's two QEMU lanes may both want the same module
exec 8>"$out.lock"
flock 8
# a copy, refreshed by content: make sees only the files that changed
for f in "$REPO_DIR/$src"/*.[chS] "$REPO_DIR/$src"/Kbuild; do
	[ -e "$f" ] || continue	# a pattern that matched nothing
	cmp -s "$f" "$out/$(basename "$f")" || cp "$f" "$out/"
done
for f in "$out"/*.[chS]; do [ -e "$REPO_DIR/$src/$(basename "$f")" ] || rm -f "$f"; done
if ! make -C "$KDIR" M="$out" CROSS_COMPILE="$LAB_CROSS_COMPILE" W=1 modules >"$out/build.log" 2>&1; then
	cat "$out/build.log" >&2
	lab_die "$src (${modules//.o/.ko}) failed to build for $LAB_ARCH $KERNEL_RELEASE"
fi
for m in $modules; do echo "$out/${m%.o}.ko"; done
# a W=1 warning is a failure to report; the module itself is usable
if grep -E 'warning:' "$out/build.log" >&2; then exit 1; fi
