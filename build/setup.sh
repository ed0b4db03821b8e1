#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian bookworm machine, then does
# nothing on later runs. Downloads are cached outside the repository in
# ${PDMV2_CACHE:-$HOME/.cache/pdmv2}.
#   build/setup.sh [core] [kmod] [kmod-lint] [lab] [browser]
#   core: npm packages and QuickJS (always)
#   kmod: compiler and sanitizer runtimes for the module's user-space core
#   kmod-lint: sparse (make -C kmod C=1 W=1) and checkpatch.pl in
#         $PDMV2_CACHE/checkpatch (docs/kmod.md, "Build")
#   lab:  what the QEMU lab needs on the host (qemu, cpio, tshark, pahole for
#         6.12's kbuild); the guest's packages are fetched by qemu/build-image.sh
#   arch: the other CPUs (qemu/arch.sh): cross compilers with their C
#         libraries, QEMU for ARM and s390x, qemu-user-static
#   browser: Debian's chromium for the browser tests (LuCI app, analyzer report)
#   analyzer: tshark (the Lua dissector's tests), tcpdump (the speed benchmark's
#         reference), GNU time, and the browser part (the HTML report's test);
#         libwireshark-dev, libglib2.0-dev, libgcrypt20-dev, pkgconf and gcc to build the C
#         decryption plugin (analyzer/wireshark/decrypt/) against the tshark installed
#   primary: PostgreSQL server binaries for the primary's PostgreSQL tests and
#         benchmarks (they start their own throwaway cluster; the package's
#         own cluster is not used)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PDMV2_CACHE="${PDMV2_CACHE:-$HOME/.cache/pdmv2}"
mkdir -p "$PDMV2_CACHE"

apt_updated=0
need_apt() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  if [[ $apt_updated -eq 0 ]]; then
    $sudo apt-get update -qq
    apt_updated=1
  fi
  echo "setup: apt-get install ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

setup_core() {
  command -v node >/dev/null || need_apt nodejs npm
  # better-sqlite3 (the primary's database) builds from source with node-gyp
  # against the installed Node's own headers (/usr/include/node): no header download.
  need_apt python3 make g++
  export npm_config_nodedir="${npm_config_nodedir:-/usr}"
  # npm ci only when the lockfile changed since the last install.
  if [[ ! -f "$root/node_modules/.package-lock.json" || "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]]; then
    echo "setup: npm ci" >&2
    (cd "$root" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
  "$root/build/fetch-quickjs.sh" </dev/null >&2
}

# checkpatch.pl is in no headers or kbuild package; Debian ships it in the
# kernel source tarball (linux-source-6.1, ~140 MB, fetched once): its three
# files go to $PDMV2_CACHE/checkpatch (make -C kmod checkpatch CHECKPATCH=...)
setup_checkpatch() {
  local dir="$PDMV2_CACHE/checkpatch" tmp
  [[ -f "$dir/checkpatch.pl" ]] && return 0
  need_apt xz-utils
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download linux-source-6.1 >&2)
  mkdir -p "$dir"
  dpkg-deb --fsys-tarfile "$tmp"/linux-source-6.1_*.deb |
    tar -x -O ./usr/src/linux-source-6.1.tar.xz |
    tar -xJ -C "$tmp" --wildcards 'linux-source-6.1/scripts/checkpatch.pl' \
      'linux-source-6.1/scripts/spelling.txt' 'linux-source-6.1/scripts/const_structs.checkpatch'
  cp "$tmp"/linux-source-6.1/scripts/{checkpatch.pl,spelling.txt,const_structs.checkpatch} "$dir/"
  rm -rf "$tmp"
}

setup_core
for part in "$@"; do
  case "$part" in
    core) ;;
    kmod) need_apt gcc make libc6-dev libssl-dev valgrind ;;
    kmod-lint) need_apt sparse; setup_checkpatch ;;
    # the LuCI app's browser test (test/lab/luci-host.ts, puppeteer-core drives it)
    browser) need_apt chromium ;;
    lab) need_apt qemu-system-x86 cpio tshark pahole ;;
    arch) need_apt qemu-system-arm qemu-system-misc qemu-user-static pahole \
      gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-arm-linux-gnueabihf libc6-dev-armhf-cross \
      gcc-s390x-linux-gnu libc6-dev-s390x-cross gcc-mips64el-linux-gnuabi64 libc6-dev-mips64el-cross \
      gcc-mipsel-linux-gnu libc6-dev-mipsel-cross ;;
    analyzer) need_apt tshark tcpdump chromium time libwireshark-dev libglib2.0-dev libgcrypt20-dev pkgconf gcc make ;;
    primary) need_apt postgresql ;;
    *) echo "setup: unknown part '$part'" >&2; exit 2 ;;
  esac
done
