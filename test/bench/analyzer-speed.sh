#!/usr/bin/env bash
# Analyzer speed and memory on a large capture, against tshark -r and tcpdump -r
# on the same file, in one run (docs/analyzer.md, "Speed"):
#   test/bench/analyzer-speed.sh            # 2100 MB capture, 1000 flows
#   PDMV2_BENCH_MB=4200 test/bench/analyzer-speed.sh
#   PDMV2_BENCH_BASELINE=/path/to/older/.build test/bench/analyzer-speed.sh   # also times an older build
# The capture is synthesised once (test/bench/analyzer-synth.ts) into
# ${PDMV2_CACHE:-~/.cache/pdmv2}/bench/ and read from the page cache by all
# three tools. Rates are packets per second of wall time and of CPU time
# (user + system): the machine is shared, and CPU time is what load moves
# least. Memory: the analyzer's peak RSS on the full capture and on one a
# quarter of its size (same traffic): equal when memory does not grow with
# the capture.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
build/setup.sh core analyzer >&2
node build/build.mjs >/dev/null
cache="${PDMV2_CACHE:-$HOME/.cache/pdmv2}/bench"
mkdir -p "$cache"
mb=${PDMV2_BENCH_MB:-2100}
flows=${PDMV2_BENCH_FLOWS:-1000}
big="$cache/analyzer-${mb}m-${flows}f.pcap"
quarter="$cache/analyzer-$((mb / 4))m-${flows}f.pcap"
for f in "$big:$mb" "$quarter:$((mb / 4))"; do
	file=${f%%:*} size=${f##*:}
	[ -s "$file" ] || node .build/node/test/bench/analyzer-synth.js "$file" "$size" "$flows" >&2
done
cat "$big" "$quarter" >/dev/null # into the page cache, for every tool alike

# run NAME CMD...: "wall user sys maxrss_kb" of one run, output discarded
run() {
	local name=$1; shift
	/usr/bin/time -f '%e %U %S %M' -o "$cache/time-$name" "$@" >/dev/null 2>"$cache/err-$name" || {
		echo "$name failed:" >&2; cat "$cache/err-$name" >&2; exit 1; }
	cat "$cache/time-$name"
}

analyzer=$(run analyzer node .build/node/analyzer/src/cli.js flows "$big")
analyzer_q=$(run analyzer-quarter node .build/node/analyzer/src/cli.js flows "$quarter")
baseline=""
if [ -n "${PDMV2_BENCH_BASELINE:-}" ]; then
	baseline=$(run baseline node "$PDMV2_BENCH_BASELINE/node/analyzer/src/cli.js" flows "$big")
fi
packets=$(node .build/node/analyzer/src/cli.js flows "$big" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);console.log(r.capture.packets, r.capture.pdmPackets)})')
tcpdump=$(run tcpdump tcpdump -n -r "$big")
tshark=$(run tshark tshark -n -r "$big")

node --input-type=module - "$big" "$packets" "$analyzer" "$tshark" "$tcpdump" "$analyzer_q" "$baseline" "${PDMV2_BENCH_BASELINE:-}" <<'JS'
import { statSync } from 'node:fs';
const [file, packets, a, t, d, q, b, bDir] = process.argv.slice(2);
const [total, pdm] = packets.split(' ').map(Number);
const parse = (s) => { const [wall, user, sys, rss] = s.split(' ').map(Number); return { wall, cpu: user + sys, rss: rss / 1024 }; };
const tools = { 'pdmv2-analyze flows': parse(a), 'tshark -r': parse(t), 'tcpdump -r': parse(d) };
const gb = statSync(file).size / 1e9;
console.log(`capture: ${file} (${gb.toFixed(2)} GB, ${total} packets, ${pdm} with PDM)`);
console.log('tool                   wall s    cpu s    packets/s (wall)  packets/s (cpu)   peak RSS');
for (const [name, r] of Object.entries(tools)) {
  console.log(`${name.padEnd(21)}${r.wall.toFixed(1).padStart(7)}${r.cpu.toFixed(1).padStart(9)}${Math.round(total / r.wall).toLocaleString('en').padStart(18)}${Math.round(total / r.cpu).toLocaleString('en').padStart(17)}${r.rss.toFixed(0).padStart(8)} MB`);
}
const an = tools['pdmv2-analyze flows'];
for (const other of ['tshark -r', 'tcpdump -r']) {
  const o = tools[other];
  console.log(`analyzer / ${other}: ${(o.wall / an.wall).toFixed(1)}x by wall time, ${(o.cpu / an.cpu).toFixed(1)}x by CPU time`);
}
const quarter = parse(q);
console.log(`analyzer peak RSS: ${an.rss.toFixed(0)} MB on the capture, ${quarter.rss.toFixed(0)} MB on one a quarter its size (ratio ${(an.rss / quarter.rss).toFixed(2)})`);
console.log(`analyzer PDM packets per second: ${Math.round(pdm / an.wall).toLocaleString('en')} (wall), ${Math.round(pdm / an.cpu).toLocaleString('en')} (cpu); target 1,000,000`);
if (b) {
  const base = parse(b);
  console.log(`baseline ${bDir}: ${Math.round(pdm / base.wall).toLocaleString('en')} (wall), ${Math.round(pdm / base.cpu).toLocaleString('en')} (cpu) PDM packets per second, peak RSS ${base.rss.toFixed(0)} MB; this build ${(base.wall / an.wall).toFixed(2)}x by wall, ${(base.cpu / an.cpu).toFixed(2)}x by CPU time`);
}
JS
