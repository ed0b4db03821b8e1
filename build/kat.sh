#!/usr/bin/env bash
# npm run kat -- FILE...: check RFC 9180 JSON test-vector files with the project's HPKE.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/build/setup.sh" >&2
(cd "$root" && node build/build.mjs >&2)
cd "${INIT_CWD:-$PWD}"
exec node "$root/.build/node/build/kat.js" "$@"
