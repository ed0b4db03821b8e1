# shellcheck shell=bash
# The lab's CPUs and kernels: ONE table, read by build-image.sh, run.sh,
# kernel-env.sh, lab.sh and the cross-build helpers. Sourced, not executed.
#
# A lab "arch" is a Debian architecture name. Per arch:
#   flavour    Debian kernel flavour (linux-image-<flavour>, linux-image-6.12-<flavour>)
#   qemu       qemu-system binary, machine, cpu
#   console    the kernel's console device
#   virtio     transport of the 9p shares and the NIC: pci (virtio-*-pci),
#              mmio (virtio-*-device on the virt board's virtio-mmio slots),
#              ccw (virtio-*-ccw, s390's channel I/O)
#   vmod       the transport's kernel module, loaded first at boot ("-" if built in)
#   karch      ARCH= for kbuild; cross  CROSS_COMPILE= prefix ("" on the host's own)
#   triplet    Debian multiarch triplet (library directory, cross tools)
#   quser      qemu-user binary for user-space tests ("" on the host's own)
#   append     extra kernel command line
#   smp        vCPUs by default (TCG on 2 host cores: foreign arches boot one, see docs/lab.md)
#
# arch     flavour  qemu               machine          cpu        console   virtio vmod        karch cross                    triplet                  quser                 smp append
LAB_ARCH_TABLE='
amd64    amd64    qemu-system-x86_64 pc               max        ttyS0     pci    virtio_pci  x86   -                        x86_64-linux-gnu         -                     2   tsc=reliable
arm64    arm64    qemu-system-aarch64 virt            cortex-a72 ttyAMA0   mmio   virtio_mmio arm64 aarch64-linux-gnu-       aarch64-linux-gnu        qemu-aarch64-static   1   -
armhf    armmp    qemu-system-arm    virt,highmem=off cortex-a15 ttyAMA0   mmio   virtio_mmio arm   arm-linux-gnueabihf-     arm-linux-gnueabihf      qemu-arm-static       1   -
s390x    s390x    qemu-system-s390x  s390-ccw-virtio  max        ttysclp0  ccw    -           s390  s390x-linux-gnu-         s390x-linux-gnu          qemu-s390x-static     1   -
mips64el -        -                  -                -          -         -      -           mips  mips64el-linux-gnuabi64- mips64el-linux-gnuabi64  qemu-mips64el-static  -   -
mipsel   -        -                  -                -          -         -      -           mips  mipsel-linux-gnu-        mipsel-linux-gnu         qemu-mipsel-static    -   -
'
# Kernels the lab can boot: the name given to --kernel, and the Debian
# meta-package's prefix (FLAVOUR appended). 6.1 is bookworm's own kernel,
# 6.12 bookworm-security's (the kernel of OpenWrt 25.12).
LAB_KERNEL_TABLE='
6.1   linux-image-
6.12  linux-image-6.12-
'
LAB_DEFAULT_KERNEL=6.1
# Arches booted in the lab (a kernel, a QEMU board); the mips rows serve the
# user-space tests under qemu-user only.
LAB_BOOT_ARCHES="amd64 s390x arm64 armhf"	# the slowest boot first (qemu/arch-lab.sh's lanes)
# CPUs of the user-space core tests under qemu-user: 64- and 32-bit, both endians
LAB_USER_ARCHES="arm64 armhf s390x mips64el mipsel"

# shellcheck source=build/apt-private.sh
. "$REPO_DIR/build/apt-private.sh"

lab_host_arch() { dpkg --print-architecture; }

# lab_arch_load ARCH: set ARCH_* from the table, or fail
lab_arch_load() {
	local row
	row=$(awk -v a="$1" '$1 == a' <<<"$LAB_ARCH_TABLE")
	[ -n "$row" ] || lab_die "unknown arch '$1' (known: $(awk 'NF {printf "%s ", $1}' <<<"$LAB_ARCH_TABLE"))"
	read -r ARCH_NAME ARCH_FLAVOUR ARCH_QEMU ARCH_MACHINE ARCH_CPU ARCH_CONSOLE ARCH_VIRTIO \
		ARCH_VMOD ARCH_KARCH ARCH_CROSS ARCH_TRIPLET ARCH_QUSER ARCH_SMP ARCH_APPEND <<<"$row"
	local v
	for v in ARCH_FLAVOUR ARCH_QEMU ARCH_MACHINE ARCH_CPU ARCH_CONSOLE ARCH_VIRTIO ARCH_VMOD \
		ARCH_CROSS ARCH_QUSER ARCH_SMP ARCH_APPEND; do
		[ "${!v}" != - ] || printf -v "$v" ''
	done
	ARCH_FOREIGN=1
	[ "$ARCH_NAME" != "$(lab_host_arch)" ] || ARCH_FOREIGN=
}

# lab_kernel_meta KERNEL FLAVOUR: the Debian meta-package of that kernel
lab_kernel_meta() {
	local prefix
	prefix=$(awk -v k="$1" '$1 == k {print $2}' <<<"$LAB_KERNEL_TABLE")
	[ -n "$prefix" ] || lab_die "unknown kernel '$1' (known: $(awk 'NF {printf "%s ", $1}' <<<"$LAB_KERNEL_TABLE"))"
	echo "$prefix$2"
}

# The virtio device name for a transport: lab_virtio_dev KIND (9p, net)
lab_virtio_dev() {
	case $ARCH_VIRTIO in
	pci) echo "virtio-$1-pci" ;;
	mmio) echo "virtio-$1-device" ;;
	ccw) echo "virtio-$1-ccw" ;;
	esac
}

# A private apt for a foreign architecture (arch $1): the Debian suites this
# machine's apt uses (bookworm, -updates, -security, from its own sources),
# indexes in $LAB_CACHE/apt/ARCH, verified with the Debian archive keyring.
# The host's dpkg is not touched (no dpkg --add-architecture). Sets
# LAB_APT_OPTS for apt-get/apt-cache; empty for the host's own arch.
lab_apt_for() {
	LAB_APT_OPTS=()
	[ "$1" != "$(lab_host_arch)" ] || return 0
	local A=$LAB_CACHE/apt/$1 codename
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
	apt_private_setup "$A" "$1"
	apt-get --print-uris update 2>/dev/null |
		sed -nE "s@^'(.*)/dists/($codename(-updates|-security)?)/InRelease' .*@deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] \\1 \\2 main@p" |
		sort -u >"$A/sources.list.new"
	[ -s "$A/sources.list.new" ] || lab_die "no Debian $codename suites in this machine's apt sources"
	LAB_APT_OPTS=(-c "$A/apt.conf")
	# refresh when the sources changed or the host's own lists are newer
	# (the host's apt-get update is what moves the lab to new packages)
	eval "$(apt-config shell HOST_LISTS Dir::State::Lists/d)"
	if ! cmp -s "$A/sources.list.new" "$A/etc/sources.list" || [ ! -e "$A/.updated" ] ||
		[ -n "$(find "${HOST_LISTS:-/var/lib/apt/lists/}" -maxdepth 1 -name '*InRelease' -newer "$A/.updated" 2>/dev/null | head -n 1)" ]; then
		mv "$A/sources.list.new" "$A/etc/sources.list"
		lab_log "apt-get update for $1 (private index in $A)"
		apt-get "${LAB_APT_OPTS[@]}" -q --error-on=any update >&2 || lab_die "apt-get update for $1 failed"
		touch "$A/.updated"
	else
		rm -f "$A/sources.list.new"
	fi
}
