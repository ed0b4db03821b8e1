#!/usr/bin/env bash
# Load benchmark of the primary (see docs/primary.md "Performance"):
#   bash test/bench/primary-load.sh [--devices N] [--concurrency C] [--renewals R] [--sync full|normal] [--json]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
build/setup.sh >&2
node build/build.mjs >/dev/null
exec node .build/node/test/bench/primary-load.js "$@"
