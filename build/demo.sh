#!/usr/bin/env bash
# The main job (README): until the QEMU lab lands, run the protocol core on real
# QuickJS: the self-check over every vector file, then the Node/QuickJS benchmark.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
shared="${PDMV2_SHARED:-$root/../shared}"
build/setup.sh
node build/build.mjs
echo "== protocol self-check on QuickJS ($(build/qjs -h 2>/dev/null | head -n 1))"
build/qjs --std -m .build/qjs/selfcheck.mjs --rfc9180 "$shared"/vectors/*.json \
  --options test/vectors/pdmv2-options.json --keys test/vectors/pdmv2-keys.json
echo "== benchmark"
bash test/bench/core.sh
