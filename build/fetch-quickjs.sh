#!/usr/bin/env bash
# Obtain Debian trixie's `quickjs` (/usr/bin/qjs) plus the trixie libc6 it needs
# (qjs's only NEEDED libraries are libc.so.6 and libm.so.6, both in libc6, and it
# requires libc6 >= 2.38 while bookworm ships 2.36), using apt's own tools with a
# private configuration so apt verifies the signed InRelease and every hash.
# Nothing is fetched from anywhere but the Debian mirror this machine already uses.
#
# Result: ${PDMV2_CACHE:-$HOME/.cache/pdmv2}/quickjs/<versions>/ (unpacked with
# dpkg-deb -x) and a `current` symlink to it; build/qjs runs it.
#
# Usage: build/fetch-quickjs.sh [--refresh] [--arch ARCH]
#   --refresh  re-read the trixie index even if a cached qjs exists (switches
#              `current` to a newer version if Debian published one)
#   --arch     another Debian architecture's qjs and libc (e.g. arm64, for the
#              lab's arm64 guest): its own index (apt/ARCH), `current-ARCH`;
#              the smoke test runs it under qemu-user-static
# Env: PDMV2_CACHE (cache root), PDMV2_DEBIAN_MIRROR (override the mirror URL).
set -euo pipefail
exec </dev/null

SUITE=trixie
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
CACHE="${PDMV2_CACHE:-$HOME/.cache/pdmv2}/quickjs"
refresh=0
host_arch=$(dpkg --print-architecture)
arch=$host_arch
while [[ $# -gt 0 ]]; do
  case "$1" in
    --refresh) refresh=1 ;;
    --arch) arch=${2:?--arch wants a Debian architecture}; shift ;;
    *) echo "usage: $0 [--refresh] [--arch ARCH]" >&2; exit 2 ;;
  esac
  shift
done
# the host's own qjs keeps its old names (current, apt/); another arch's get a suffix
sfx=""
[[ $arch == "$host_arch" ]] || sfx="-$arch"
run=()
if [[ -n $sfx ]]; then
  case $arch in
    arm64) run=(qemu-aarch64-static) ;; armhf) run=(qemu-arm-static) ;;
    *) run=("qemu-$arch-static") ;;
  esac
fi

log() { printf 'fetch-quickjs: %s\n' "$*"; }
die() { printf 'fetch-quickjs: error: %s\n' "$*" >&2; exit 1; }

if [[ $refresh == 0 && -e "$CACHE/current$sfx/.stamp" ]]; then
  log "already present: $(readlink -f "$CACHE/current$sfx") (nothing to do)"
  exit 0
fi

for tool in apt-get apt-cache dpkg-deb flock sha256sum; do
  command -v "$tool" >/dev/null || die "missing $tool (this script needs a Debian system)"
done

mkdir -p "$CACHE"
# Serialise concurrent callers (e.g. parallel tests all starting build/qjs).
exec 9>"$CACHE/.lock"
flock 9
if [[ $refresh == 0 && -e "$CACHE/current$sfx/.stamp" ]]; then
  log "already present: $(readlink -f "$CACHE/current$sfx") (fetched by a concurrent run)"
  exit 0
fi
if [[ ${#run[@]} -gt 0 ]] && ! command -v "${run[0]}" >/dev/null; then
  die "${run[0]} missing (apt-get install qemu-user-static) to check $arch's qjs"
fi

# --- 1. the Debian archive keyring (Debian-provided keys, checked by apt) -----
keyring_ok() {
  [[ -s $KEYRING ]] &&
    dpkg-query -W -f='${Status}' debian-archive-keyring 2>/dev/null | grep -q 'install ok installed'
}
install_keyring() {
  [[ $(id -u) == 0 ]] || die "debian-archive-keyring missing/too old and not root: run 'apt-get install debian-archive-keyring' as root"
  log "installing/upgrading debian-archive-keyring from this machine's own apt sources"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debian-archive-keyring
}
if ! keyring_ok; then install_keyring; fi
keyring_ok || die "no $KEYRING after installing debian-archive-keyring"

# --- 2. which Debian mirror does this machine use? ---------------------------
codename=""
if [[ -r /etc/os-release ]]; then codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}"); fi
mirror="${PDMV2_DEBIAN_MIRROR:-}"
if [[ -z $mirror && -n $codename ]]; then
  # apt itself parses sources.list and sources.list.d (one-line and deb822).
  mirror=$(apt-get --print-uris update 2>/dev/null |
    sed -n "s|^'\(.*\)/dists/$codename/InRelease' .*|\1|p" | head -n 1 || true)
fi
mirror="${mirror:-http://deb.debian.org/debian}"
mirror="${mirror%/}"
log "mirror: $mirror (suite $SUITE, from this machine's apt sources${PDMV2_DEBIAN_MIRROR:+; overridden by PDMV2_DEBIAN_MIRROR})"

# --- 3. private apt configuration --------------------------------------------
A="$CACHE/apt$sfx"
# shellcheck source=build/apt-private.sh
. "$(dirname "${BASH_SOURCE[0]}")/apt-private.sh"
apt_private_setup "$A" "$arch"
mkdir -p "$A/debs"
echo "deb [signed-by=$KEYRING] $mirror $SUITE main" >"$A/etc/sources.list"
APT=(-c "$A/apt.conf")

# --- 4. signed index: InRelease signature + Packages hash checked by apt ----
update() { apt-get "${APT[@]}" -q --error-on=any update; }
log "apt-get update ($SUITE InRelease, verified with $KEYRING)"
if ! update; then
  # An old keyring may lack the keys; bookworm's own updates carry them.
  install_keyring
  update || die "apt could not verify $SUITE from $mirror"
fi

qver=$(apt-cache "${APT[@]}" show --no-all-versions quickjs | sed -n 's/^Version: //p')
lver=$(apt-cache "${APT[@]}" show --no-all-versions libc6 | sed -n 's/^Version: //p')
[[ -n $qver && -n $lver ]] || die "quickjs/libc6 not found in $SUITE"
name="quickjs_${qver}_libc6_${lver}_${arch}"
dest="$CACHE/$name"

if [[ -e "$dest/.stamp" ]]; then
  log "quickjs $qver + libc6 $lver already unpacked in $dest"
else
  # --- 5. download (apt checks size + SHA256 against the signed index) -----
  rm -rf "$A/debs" && mkdir -p "$A/debs"
  log "apt-get download quickjs=$qver libc6=$lver"
  (cd "$A/debs" && apt-get "${APT[@]}" -q download "quickjs=$qver" "libc6=$lver")
  # --- 6. unpack ------------------------------------------------------------
  rm -rf "$dest.tmp" && mkdir -p "$dest.tmp/root" "$dest.tmp/debs"
  for deb in "$A"/debs/*.deb; do
    log "dpkg-deb -x $(basename "$deb")  sha256 $(sha256sum "$deb" | cut -d' ' -f1)"
    dpkg-deb -x "$deb" "$dest.tmp/root"
    mv "$deb" "$dest.tmp/debs/"
  done
  qjs="$dest.tmp/root/usr/bin/qjs"
  [[ -x $qjs ]] || die "no usr/bin/qjs in the quickjs package"
  mapfile -t loaders < <(find "$dest.tmp/root/usr/lib" "$dest.tmp/root/lib" -maxdepth 2 \
    \( -name 'ld-linux*.so.*' -o -name 'ld64.so.*' \) 2>/dev/null || true)
  [[ ${#loaders[@]} -ge 1 ]] || die "no dynamic loader in the libc6 package"
  libdir=$(dirname "${loaders[0]}")
  ln -s "root${libdir#"$dest.tmp/root"}" "$dest.tmp/lib"
  ln -s "lib/$(basename "${loaders[0]}")" "$dest.tmp/ld.so"
  ln -s root/usr/bin/qjs "$dest.tmp/qjs"
  # Smoke test through the cached loader before declaring success.
  banner=$(${run[@]+"${run[@]}"} "$dest.tmp/ld.so" --library-path "$dest.tmp/lib" "$qjs" -h 2>&1 | head -n 1 || true)
  [[ $banner == "QuickJS version "* ]] || die "cached qjs does not run: $banner"
  printf 'quickjs=%s\nlibc6=%s\narch=%s\nmirror=%s\nsuite=%s\nbanner=%s\n' \
    "$qver" "$lver" "$arch" "$mirror" "$SUITE" "$banner" >"$dest.tmp/.stamp"
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
  log "unpacked into $dest ($banner)"
fi

ln -sfn "$name" "$CACHE/current$sfx.tmp" && mv -T "$CACHE/current$sfx.tmp" "$CACHE/current$sfx"
# The ~20 MB of index files are not needed any more; --refresh fetches them again.
rm -rf "$A/state/lists" "$A/cache"
log "current$sfx -> $name"
