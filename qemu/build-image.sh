#!/usr/bin/env bash
# Build (or reuse) the pdmv2 QEMU lab image from Debian packages only.
#
#   qemu/build-image.sh [--arch ARCH] [--kernel 6.1|6.12] [--force] [--quiet]
#                       [--extra DIR]... [--print-env]
#
# --arch: a Debian architecture of qemu/arch.sh's table (default: the host's,
# or $PDMV2_LAB_ARCH); a foreign one takes its packages from a private apt
# index of that architecture (qemu/arch.sh, lab_apt_for) and its kernel
# headers' host tools (linux-kbuild) from the host's own apt. --kernel: a
# kernel of that table (default 6.1, or $PDMV2_LAB_KERNEL). Each arch and
# kernel is a separate image, and the cache keeps them side by side.
#
# Output, outside the repo, in ${PDMV2_CACHE:-~/.cache/pdmv2}/qemu/:
#   debs/                 downloaded .deb files (apt-get download: apt checks
#                         them against the signed archive metadata)
#   images/<key>/         vmlinuz, initrd.img (newc cpio, zstd), image.env,
#                         manifest.txt; <key> = sha256 of the package versions
#                         and hashes, the files under qemu/image/, this script,
#                         and any --extra directories
#   current -> images/<key>   (the last image of the host's arch and the default
#                             kernel; current-ARCH-KERNEL for every pair)
#   headers/<release>_<version>/usr/src/linux-headers-<release>  (= KDIR)
#
# The image only holds Debian bits plus qemu/image/*. Everything
# project-specific (pdmv2.ko, scenario scripts, qjs) reaches the guest through
# the 9p share at run time (see qemu/run.sh), so it does not cause rebuilds.
# --extra DIR copies DIR's tree into the image root (e.g. DIR/usr/bin/qjs) for
# the rare case where something must be inside the initramfs.
#
# Environment: PDMV2_CACHE (cache root), PDMV2_KERNEL_PKG (e.g.
# linux-image-6.1.0-56-amd64 to pin a kernel instead of the meta-package's).
set -euo pipefail
LAB_PROG=build-image
# shellcheck source=qemu/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=qemu/arch.sh
. "$QEMU_DIR/arch.sh"

FORCE= QUIET= PRINT_ENV= EXTRA=()
LAB_ARCH=${PDMV2_LAB_ARCH:-$(lab_host_arch)} LAB_KERNEL_CHOICE=${PDMV2_LAB_KERNEL:-$LAB_DEFAULT_KERNEL}
while [ $# -gt 0 ]; do
	case $1 in
	--arch) LAB_ARCH=$2; shift ;;
	--kernel) LAB_KERNEL_CHOICE=$2; shift ;;
	--force) FORCE=1 ;;
	--quiet|-q) QUIET=1 ;;
	--print-env) PRINT_ENV=1 ;;
	--extra) EXTRA+=("$(cd "$2" && pwd)"); shift ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) lab_die "unknown option $1" ;;
	esac
	shift
done
say() { [ -n "$QUIET" ] || lab_log "$@"; }
lab_arch_load "$LAB_ARCH"
[ -n "$ARCH_QEMU" ] || lab_die "arch $LAB_ARCH is for user-space tests only (no lab boot)"
KMETA=$(lab_kernel_meta "$LAB_KERNEL_CHOICE" "$ARCH_FLAVOUR")
HOST_ARCH=$(lab_host_arch)
FLAVOUR_TAG=$LAB_ARCH-$LAB_KERNEL_CHOICE

T0=$(date +%s.%N)
IMG_SRC=$QEMU_DIR/image
mkdir -p "$LAB_CACHE"/{debs,images,headers}
exec 9>"$LAB_CACHE/.lock"
flock 9

lab_need_tools dpkg-deb:dpkg cpio:cpio zstd:zstd xz:xz-utils readelf:binutils depmod:kmod flock:util-linux
ARCH_RUN=
if [ -n "$ARCH_FOREIGN" ]; then
	lab_need_tools "$ARCH_QUSER:qemu-user-static"
	ARCH_RUN=$ARCH_QUSER
fi
lab_apt_for "$LAB_ARCH"	# LAB_APT_OPTS: the target's apt (empty: the host's)
APT_T=(${LAB_APT_OPTS[@]+"${LAB_APT_OPTS[@]}"})

# ---- resolve packages -------------------------------------------------------
list() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$1"; }

# Resolution (apt-cache + print-uris, ~3 s) is cached, keyed on the apt
# lists and sources, the package list and this script; warm runs skip it.
resolve_packages() {
	KPKG=${PDMV2_KERNEL_PKG:-$(apt-cache "${APT_T[@]}" depends "$KMETA" | awk '$1 == "Depends:" && !f && $2 ~ /^linux-image-/ {print $2; f = 1}')}
	[ -n "$KPKG" ] || lab_die "cannot resolve $KMETA for $LAB_ARCH (apt-get update? not built for $LAB_ARCH?)"
	KREL=${KPKG#linux-image-}
	KREL=${KREL%-unsigned}
	HPKGS=$(apt-cache "${APT_T[@]}" depends "linux-headers-$KREL" | awk '$1 == "Depends:" && $2 ~ /^linux-headers-/ {print $2}')
	KBUILD=$(apt-cache "${APT_T[@]}" depends "linux-headers-$KREL" | awk '$1 == "Depends:" && $2 ~ /^linux-kbuild-/ {print $2}')
	[ -n "$HPKGS" ] && [ -n "$KBUILD" ] || lab_die "no linux-headers-$KREL in apt lists"
	HPKGS="linux-headers-$KREL $HPKGS"
	# the headers' host programs (fixdep, modpost, ...) run here: linux-kbuild of
	# the host's architecture, the kernel's own version
	local kver
	kver=$(apt-cache "${APT_T[@]}" show --no-all-versions "$KPKG" | sed -n 's/^Version: //p' | head -n 1)
	(cd "$TMPQ" && apt-get download --print-uris "$KBUILD=$kver") | awk '{print $2, $3, $4}' >"$TMPQ/kbuild"
	[ -s "$TMPQ/kbuild" ] || lab_die "no $KBUILD=$kver for $HOST_ARCH in the host's apt lists"

	mapfile -t TOOLS < <(list "$IMG_SRC/packages.txt")
	# Dependency closure of the tools (Depends/PreDepends only), minus packages
	# that only serve maintainer scripts (perl, debconf, pam, ...): the binaries we
	# copy never load them. libelogind0 is an alternative to libsystemd0.
	mapfile -t USERPKGS < <(
		apt-cache "${APT_T[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts \
			--no-breaks --no-replaces --no-enhances "${TOOLS[@]}" |
		awk '!/^ / && !/^</' | sort -u |
		grep -vE 'perl|debconf|^(dpkg|adduser|passwd|tar|usrmerge|usr-is-merged|install-info|init-system-helpers)$|^libelogind|^libpam|^libsemanage|^libdebian-installer|^libnewt|^libslang|^libtextwrap')

	# apt-get download --print-uris prints nothing for files already in the cwd,
	# so ask from an empty directory. Lines: 'URI' FILE SIZE SHA256:HASH
	(cd "$TMPQ" && apt-get "${APT_T[@]}" download --print-uris "$KPKG" $HPKGS "${USERPKGS[@]}") |
		awk '{print $2, $3, $4}' | cat - "$TMPQ/kbuild" | sort >"$TMPQ/manifest"
	[ -s "$TMPQ/manifest" ] || lab_die "apt-get download --print-uris returned nothing"
}
eval "$(apt-config shell APT_LISTS Dir::State::Lists/d)"
RKEY=$( {
	echo "kernel-pkg=${PDMV2_KERNEL_PKG:-} arch=$LAB_ARCH kernel=$LAB_KERNEL_CHOICE"
	cat "$IMG_SRC/packages.txt" "$QEMU_DIR/build-image.sh" "$QEMU_DIR/arch.sh"
	ls -l --time-style=+%s "${APT_LISTS:-/var/lib/apt/lists/}" "$LAB_CACHE/apt/$LAB_ARCH/state/lists" 2>/dev/null | grep -E 'Packages|Release' || true
	cat /etc/apt/sources.list /etc/apt/sources.list.d/* /etc/apt/preferences /etc/apt/preferences.d/* 2>/dev/null || true
} | sha256sum | cut -c1-16)
TMPQ=$(mktemp -d)
trap 'rm -rf "$TMPQ"' EXIT
mkdir -p "$LAB_CACHE/resolve"
if [ -s "$LAB_CACHE/resolve/$RKEY" ] && [ -z "$FORCE" ]; then
	cp "$LAB_CACHE/resolve/$RKEY" "$TMPQ/manifest"
else
	lab_apt_lists_ready
	resolve_packages
	# one resolution per arch and kernel is kept (the newest few)
	(cd "$LAB_CACHE/resolve" && ls -1t | tail -n +13 | xargs -r rm -f)
	cp "$TMPQ/manifest" "$LAB_CACHE/resolve/$RKEY"
fi
KDEB=$(awk '$1 ~ /^linux-image-/ {print $1}' "$TMPQ/manifest")
KPKG=${KDEB%%_*}
KREL=${KPKG#linux-image-}
KREL=${KREL%-unsigned}
KVER=$(echo "$KDEB" | sed -E 's/^[^_]+_([^_]+)_.*/\1/; s/%3a/:/g')

# ---- cache key --------------------------------------------------------------
{
	echo "manifest:"; grep -vE '^linux-(headers|kbuild)-' "$TMPQ/manifest"
	echo "scripts:"; (cd "$QEMU_DIR" && sha256sum build-image.sh image/*)
	echo "arch: $(awk -v a="$LAB_ARCH" '$1 == a' <<<"$LAB_ARCH_TABLE")"
	for d in ${EXTRA[@]+"${EXTRA[@]}"}; do
		echo "extra: $(tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$d" -cf - . | sha256sum)"
	done
} >"$TMPQ/key-input"
KEY=$(sha256sum <"$TMPQ/key-input" | cut -c1-16)
IMG=$LAB_CACHE/images/$KEY
KIMG=vmlinux; [ -e "$IMG/vmlinux" ] || KIMG=vmlinuz
HDIR=$LAB_CACHE/headers/${KREL}_${KVER//:/%3a}
KDIR=$HDIR/usr/src/linux-headers-$KREL

fetch() { # download missing debs (apt verifies them against the signed Release)
	local missing=() f
	for f in "$@"; do [ -s "$LAB_CACHE/debs/$f" ] || missing+=("$f"); done
	[ ${#missing[@]} -gt 0 ] || return 0
	local names=()
	for f in "${missing[@]}"; do
		names+=("$(echo "$f" | sed -E 's/^([^_]+)_([^_]+)_.*/\1=\2/; s/%3a/:/g')")
	done
	say "downloading ${#names[@]} packages"
	# the target's packages through its apt, the host-arch kbuild through the host's
	local tnames=() hnames=() i
	for i in "${!missing[@]}"; do
		if [ -n "$ARCH_FOREIGN" ] && [[ ${missing[$i]} == *_$HOST_ARCH.deb ]]; then hnames+=("${names[$i]}")
		else tnames+=("${names[$i]}"); fi
	done
	[ ${#tnames[@]} -eq 0 ] || (cd "$LAB_CACHE/debs" && apt-get "${APT_T[@]}" download -q -o APT::Sandbox::User=root "${tnames[@]}" >/dev/null)
	[ ${#hnames[@]} -eq 0 ] || (cd "$LAB_CACHE/debs" && apt-get download -q -o APT::Sandbox::User=root "${hnames[@]}" >/dev/null)
	for f in "${missing[@]}"; do
		[ -s "$LAB_CACHE/debs/$f" ] || lab_die "download of $f failed"
		grep -F "$f " "$TMPQ/manifest" | awk '{sub("SHA256:", "", $3); print $3 "  " $1}' |
			(cd "$LAB_CACHE/debs" && sha256sum -c --quiet -) || lab_die "checksum mismatch: $f"
	done
}

# ---- headers for out-of-tree module builds ----------------------------------
if [ ! -e "$HDIR/.done" ]; then
	mapfile -t HDEBS < <(grep -E '^linux-(headers|kbuild)-' "$TMPQ/manifest" | awk '{print $1}')
	fetch "${HDEBS[@]}"
	say "unpacking kernel headers for $KREL into $HDIR"
	rm -rf "$HDIR"; mkdir -p "$HDIR"
	for f in "${HDEBS[@]}"; do dpkg-deb -x "$LAB_CACHE/debs/$f" "$HDIR"; done
	rm -rf "$HDIR/usr/share/doc" "$HDIR/usr/share/man"
	[ -f "$KDIR/Makefile" ] || lab_die "headers unpacked but $KDIR/Makefile missing"
	touch "$HDIR/.done"
fi
# Debian's arch headers Makefile includes the common one by its installed
# path (/usr/src/linux-headers-*-common/Makefile since 6.1.0-57): point it
# into this unpacked tree instead (idempotent, also for older caches).
if grep -q '^include /usr/src/' "$KDIR/Makefile"; then
	sed -i "s|^include /usr/src/|include $HDIR/usr/src/|" "$KDIR/Makefile"
fi

write_env() {
	cat <<EOF
LAB_ARCH=$LAB_ARCH
LAB_KERNEL_CHOICE=$LAB_KERNEL_CHOICE
KERNEL_RELEASE=$KREL
KERNEL_PACKAGE=$KPKG
KERNEL_VERSION=$KVER
KDIR=$KDIR
LAB_IMAGE=$IMG
LAB_VMLINUZ=$IMG/vmlinuz
LAB_KERNEL=$IMG/$KIMG
LAB_INITRD=$IMG/initrd.img
EOF
}

finish() {
	ln -sfn "images/$KEY" "$LAB_CACHE/current-$FLAVOUR_TAG"
	[ "$LAB_ARCH-$LAB_KERNEL_CHOICE" != "$HOST_ARCH-$LAB_DEFAULT_KERNEL" ] || ln -sfn "images/$KEY" "$LAB_CURRENT"
	touch "$IMG/.used"
	# per arch and kernel: keep this image and the most recent other one;
	# then drop headers and debs no kept image's package list references
	# (images without one, from older versions of this script, go too)
	(
		set +o pipefail
		cd "$LAB_CACHE/images"
		for d in *; do
			[ -f "$d/packages.txt" ] && [ -f "$d/image.env" ] || { [ "$d" = "$KEY" ] || rm -rf "$d"; continue; }
			echo "$(sed -n 's/^LAB_ARCH=//p' "$d/image.env")-$(sed -n 's/^LAB_KERNEL_CHOICE=//p' "$d/image.env") $(stat -c %Y "$d/.used" 2>/dev/null || echo 0) $d"
		done | sort -k1,1 -k2,2nr | awk -v k="$KEY" '$3 != k { if (++n[$1] > 1) print $3 }' | xargs -r rm -rf
		cat ./*/packages.txt | awk '{print $1}' | sort -u >"$TMPQ/referenced"
		cd "$LAB_CACHE/debs" && ls -1 | grep -vxFf "$TMPQ/referenced" | xargs -r rm -f
		cd "$LAB_CACHE/headers" && for h in *; do
			grep -qxF "$h" <(sed -n 's/^KDIR_NAME=//p' ../images/*/packages.txt) || rm -rf "$h"
		done
	)
	say "$1 image $KEY ($KREL, $(du -h "$IMG/initrd.img" | cut -f1) initrd) in $(lab_elapsed "$T0")s"
	say "KDIR=$KDIR"
	if [ -n "$PRINT_ENV" ]; then write_env; fi
}

if [ -z "$FORCE" ] && [ -e "$IMG/.done" ]; then
	finish "cached"
	exit 0
fi

# ---- cold build ------------------------------------------------------------
mapfile -t IDEBS < <(grep -vE '^linux-(headers|kbuild)-' "$TMPQ/manifest" | awk '{print $1}')
fetch "${IDEBS[@]}"
say "building image $KEY for $KPKG ($KVER)"

W=$(mktemp -d "$LAB_CACHE/build.XXXXXX")
trap 'rm -rf "$TMPQ" "$W"' EXIT
ST=$W/stage KS=$W/kstage R=$W/root
mkdir -p "$ST" "$KS" "$R"

# unpack userland packages (in parallel with the kernel, which takes longest)
(dpkg-deb --fsys-tarfile "$LAB_CACHE/debs/$KDEB" | tar -x -C "$KS" ./boot ./lib/modules) &
KPID=$!
for f in "${IDEBS[@]}"; do
	[ "$f" = "$KDEB" ] || dpkg-deb -x "$LAB_CACHE/debs/$f" "$ST"
done
wait $KPID

# root skeleton: merged /usr, everything in /usr/bin
mkdir -p "$R"/usr/{bin,lib/"$ARCH_TRIPLET",lib64,share} "$R"/{dev,proc,sys,run,tmp,host,share,root,etc/lab,var,mnt}
ln -s usr/bin "$R/bin"; ln -s usr/bin "$R/sbin"; ln -s bin "$R/usr/sbin"
ln -s usr/lib "$R/lib"; ln -s usr/lib64 "$R/lib64"
ln -s ../run "$R/var/run"; mkdir -p "$R/var/tmp"
chmod 1777 "$R/tmp" "$R/var/tmp"

# busybox and its applets
for BB in "$ST"/bin/busybox "$ST"/usr/bin/busybox; do [ -f "$BB" ] && break; done
cp "$BB" "$R/usr/bin/busybox"
# a foreign busybox (static) lists its applets under qemu-user
for a in $($ARCH_RUN "$R/usr/bin/busybox" --list); do
	[ "$a" = busybox ] || ln -s busybox "$R/usr/bin/$a"
done

# real programs (replace same-named applets) + shared library closure
LIBDIRS=("$ST/lib/$ARCH_TRIPLET" "$ST/usr/lib/$ARCH_TRIPLET" "$ST/lib" "$ST/usr/lib" "$ST/lib64" "$ST/usr/lib64")
declare -A SEEN=()
copy_lib() { # soname
	local so=$1 d src
	[ -z "${SEEN[$so]:-}" ] || return 0
	SEEN[$so]=1
	for d in "${LIBDIRS[@]}"; do
		if [ -e "$d/$so" ]; then src=$d/$so; break; fi
	done
	[ -n "${src:-}" ] || lab_die "shared library $so not found in the unpacked packages"
	cp -L "$src" "$R/usr/lib/$ARCH_TRIPLET/$so"
	resolve "$R/usr/lib/$ARCH_TRIPLET/$so"
}
resolve() { # ELF file
	local so
	for so in $(readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		copy_lib "$so"
	done
}
while read -r b; do
	[ -f "$ST/$b" ] || lab_die "$b not found in unpacked packages"
	rm -f "$R/usr/bin/$(basename "$b")"
	cp "$ST/$b" "$R/usr/bin/"
	resolve "$ST/$b"
done < <(list "$IMG_SRC/binaries.txt")
# /bin/sh is bash: Debian's static busybox prefers its own applets over
# programs in PATH inside its shell (SH_STANDALONE), so under busybox sh `ip`
# would be busybox's ip, not iproute2's. busybox ash stays available as `ash`.
ln -sf bash "$R/usr/bin/sh"
# the dynamic loader where the programs ask for it (/lib64/ld-linux-x86-64.so.2,
# /lib/ld-linux-aarch64.so.1, /lib/ld64.so.1 ...), from the unpacked libc6
INTERP=$(readelf -l "$R/usr/bin/bash" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
[ -n "$INTERP" ] || lab_die "no program interpreter in bash"
copy_lib "$(basename "$INTERP")"
copy_lib libgcc_s.so.1 # dlopen()ed by glibc for pthread_cancel/unwinding
[ -e "$R$INTERP" ] || ln -s "/usr/lib/$ARCH_TRIPLET/$(basename "$INTERP")" "$R/usr${INTERP#/usr}"
[ -d "$ST/etc/iproute2" ] && cp -a "$ST/etc/iproute2" "$R/etc/"

# kernel modules: requested names/dirs + modules.dep closure, then depmod
MSRC=$KS/lib/modules/$KREL
depmod -b "$KS" "$KREL"
MDST=$R/lib/modules/$KREL
mkdir -p "$MDST"
cp "$MSRC"/modules.{order,builtin,builtin.modinfo} "$MDST/"
{
	while read -r m; do
		case $m in
		*/*) (cd "$MSRC" && find $m -name '*.ko' -o -name '*.ko.xz' 2>/dev/null) ;;
		*) awk -F: -v n="$(echo "$m" | tr - _)" '
			{ b = $1; sub(/.*\//, "", b); sub(/\.ko(\.xz)?$/, "", b); gsub(/-/, "_", b) }
			b == n { print $1; found = 1; exit }
			END { if (!found) print "MISSING:" n }' "$MSRC/modules.dep" ;;
		esac
	done < <(list "$IMG_SRC/modules.txt"; [ -z "$ARCH_VMOD" ] || echo "$ARCH_VMOD")
} | sort -u >"$W/mods.want"
if grep -q '^MISSING:' "$W/mods.want"; then
	# a missing name may be built in; only fail if it is not
	while read -r m; do
		m=${m#MISSING:}
		grep -qE "/${m//_/[-_]}\.ko\$" "$MSRC/modules.builtin" ||
			lab_die "module $m is neither a module nor built in"
	done < <(grep '^MISSING:' "$W/mods.want")
fi
awk -F': *' 'NR == FNR { if ($0 !~ /^MISSING:/) want[$0] = 1; next }
	($1 in want) { print $1; n = split($2, d, " "); for (i = 1; i <= n; i++) print d[i] }' \
	"$W/mods.want" "$MSRC/modules.dep" | sort -u >"$W/mods.all"
(cd "$MSRC" && cpio -pdm --quiet "$MDST" <"$W/mods.all")
# 6.12's modules come xz-compressed: unpack them here, not under TCG at every modprobe
find "$MDST" -name '*.ko.xz' -print0 | xargs -0 -r xz -d
depmod -b "$R" "$KREL"
cp "$KS/boot/config-$KREL" "$R/etc/lab/kernel-config"

# lab files
install -m 0755 "$IMG_SRC/init" "$R/init"
{ [ -z "$ARCH_VMOD" ] || echo "$ARCH_VMOD"; list "$IMG_SRC/boot-modules.txt"; } >"$R/etc/lab/boot-modules"
cat >"$R/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
tcpdump:x:101:101:tcpdump:/nonexistent:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$R/etc/group" <<'EOF'
root:x:0:
tty:x:5:
tcpdump:x:101:
nogroup:x:65534:
EOF
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$R/etc/hosts"
printf 'hosts: files\nnetworks: files\nprotocols: files\nservices: files\npasswd: files\ngroup: files\n' >"$R/etc/nsswitch.conf"
printf 'ip 0 IP\nicmp 1 ICMP\ntcp 6 TCP\nudp 17 UDP\nipv6 41 IPv6\nipv6-route 43 IPv6-Route\nipv6-frag 44 IPv6-Frag\nesp 50 IPSEC-ESP\nah 51 IPSEC-AH\nipv6-icmp 58 IPv6-ICMP\nipv6-nonxt 59 IPv6-NoNxt\nipv6-opts 60 IPv6-Opts\nsctp 132 SCTP\n' >"$R/etc/protocols"
echo pdmv2-lab >"$R/etc/hostname"
write_env | grep -v '^LAB_\|^KDIR' >"$R/etc/lab/image.env"
echo "IMAGE_KEY=$KEY" >>"$R/etc/lab/image.env"
cp "$TMPQ/manifest" "$R/etc/lab/manifest.txt"

for d in ${EXTRA[@]+"${EXTRA[@]}"}; do
	cp -a "$d/." "$R/"
	find "$d" -type f -exec sh -c 'head -c4 "$1" | grep -q ELF' _ {} \; -print |
		while read -r f; do resolve "$f"; done
done

# pack (sorted, fixed owner and mtimes: reproducible)
mkdir -p "$W/out"
find "$R" -exec touch -h -d @0 {} +
(cd "$R" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --owner=0:0 --reproducible --quiet) |
	zstd -q -T0 -10 -o "$W/out/initrd.img"
cp "$KS/boot/vmlinuz-$KREL" "$W/out/vmlinuz"
# Uncompressed ELF vmlinux for PVH direct boot: saves the ~3 s that the xz
# self-decompression of bzImage takes under TCG. Falls back to bzImage.
extract_vmlinux() ( # bzImage -> ELF; no pipefail: the decompressor stops reading early
	set +o pipefail
	local off
	# 6.1's payload is xz, 6.12's zstd
	off=$(LC_ALL=C grep -abo $'\xfd7zXZ' "$1" | head -n1 | cut -d: -f1)
	if [ -n "$off" ]; then
		tail -c +$((off + 1)) "$1" | xz -dc --single-stream >"$2" 2>/dev/null || return 1
	else
		off=$(LC_ALL=C grep -abo $'\x28\xb5\x2f\xfd' "$1" | head -n1 | cut -d: -f1)
		[ -n "$off" ] || return 1
		# zstd reads the frame and stops; the bzImage's trailer after it is ignored
		tail -c +$((off + 1)) "$1" | zstd -dcq 2>/dev/null >"$2"
		[ -s "$2" ] || return 1
	fi
	[ "$(LC_ALL=C readelf -n "$2" 2>/dev/null | grep -cE 'PHYS32_ENTRY|\(0x00000012\)')" -ge 1 ] # PVH entry
)
if [ "$LAB_ARCH" != amd64 ]; then
	KIMG=vmlinuz	# QEMU loads these boards' kernel images as Debian ships them
elif extract_vmlinux "$W/out/vmlinuz" "$W/out/vmlinux"; then
	KIMG=vmlinux
else
	rm -f "$W/out/vmlinux"; KIMG=vmlinuz
	lab_log "warning: no PVH vmlinux could be extracted; booting bzImage (slower)"
fi
cp "$TMPQ/key-input" "$W/out/manifest.txt"
# every package this image and its headers came from (the cache keeps what any kept image names)
{ cat "$TMPQ/manifest"; echo "KDIR_NAME=$(basename "$HDIR")"; } >"$W/out/packages.txt"
(cd "$R" && find . \( -type f -o -type l \) | LC_ALL=C sort) >"$W/out/contents.txt"
du -sk "$R" | awk '{print "ROOT_KB=" $1}' >"$W/out/size.txt"
write_env >"$W/out/image.env"
touch "$W/out/.done"
rm -rf "$IMG"
mv "$W/out" "$IMG"
finish "built"
