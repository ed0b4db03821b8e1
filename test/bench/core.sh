#!/usr/bin/env bash
# Core benchmark: the same operations on Node and on QuickJS (qjs), in one run,
# with the qjs/Node ratio for each, plus the agent core bundle size.
#   npm run bench
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
build/setup.sh >&2
node build/build.mjs >/dev/null
node .build/node/test/bench/core-bench-node.js >.build/bench-node.jsonl
build/qjs --std -m .build/qjs/bench.mjs >.build/bench-qjs.jsonl
node --input-type=module - .build/bench-node.jsonl .build/bench-qjs.jsonl .build/qjs/agent-core.min.mjs <<'JS'
import { readFileSync, statSync } from 'node:fs';
const [nodeFile, qjsFile, bundle] = process.argv.slice(2);
const load = (f) => new Map(readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).map((r) => [r.name, r]));
const n = load(nodeFile), q = load(qjsFile);
const size = statSync(bundle).size;
console.log(`agent core bundle (minified): ${size} bytes (${(size / 1024).toFixed(1)} KiB; budget 120 KB)`);
console.log('figure                         node            qjs             qjs/node');
for (const [name, a] of n) {
  const b = q.get(name);
  const fmt = (r) => `${r.value.toFixed(r.unit === 'ms' ? 3 : 1)} ${r.unit}`.padEnd(16);
  console.log(`${name.padEnd(31)}${fmt(a)}${fmt(b)}${(b.value / a.value).toFixed(1)}x`);
}
const hpke = q.get('hpke_auth_seal_open_256B');
console.log(`HPKE auth round trip on qjs: ${hpke.value.toFixed(1)} ms (target <= 250 ms)`);
JS
