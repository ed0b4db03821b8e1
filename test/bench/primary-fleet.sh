#!/usr/bin/env bash
# Fleet benchmark of the primary (docs/primary.md "Fleet figures"): the request
# rate of 100,000 routers on the agent's own renewal schedule, then p50/p99
# latency and CPU per request at the average and the peak rate on one SQLite
# instance and on two PostgreSQL instances, all on 127.0.0.1. About 3 minutes.
#   bash test/bench/primary-fleet.sh [--routers N] [--seconds S] [--devices N] [--json]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
build/setup.sh primary >&2
node build/build.mjs >/dev/null
exec node .build/node/test/bench/primary-fleet.js "$@"
