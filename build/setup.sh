#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian bookworm machine, then does
# nothing on later runs. Downloads are cached outside the repository in
# ${PDMV2_CACHE:-$HOME/.cache/pdmv2}.
#   build/setup.sh [core] [kmod] [lab]
#   core: npm packages and QuickJS (always)
#   kmod: compiler and sanitizer runtimes for the module's user-space core
#   lab:  what the QEMU lab needs on the host (qemu, cpio, tshark); the guest's
#         packages are fetched by qemu/build-image.sh
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

setup_core
for part in "$@"; do
  case "$part" in
    core) ;;
    kmod) need_apt gcc make libc6-dev libssl-dev ;;
    lab) need_apt qemu-system-x86 cpio tshark ;;
    primary) need_apt postgresql ;;
    *) echo "setup: unknown part '$part'" >&2; exit 2 ;;
  esac
done
