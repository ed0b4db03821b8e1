// Host side of the lab benchmark: reads the iperf3 JSON that kmod/test/lab-bench.sh
// left (tcp|udp-MODE-ROUND.json) and prints throughput per mode (median of the
// rounds) and the ratio to module-off, all from one boot.
//   node .build/node/test/bench/lab-bench-report.js ARTIFACTS_DIR
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface IperfEnd {
  end?: {
    sum_received?: { bits_per_second?: number };
    sum?: { bits_per_second?: number; lost_percent?: number };
  };
}

function receivedBps(file: string, udp: boolean): number | null {
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as IperfEnd;
    if (udp) {
      const s = j.end?.sum;
      return s?.bits_per_second === undefined ? null : s.bits_per_second * (1 - (s.lost_percent ?? 0) / 100);
    }
    return j.end?.sum_received?.bits_per_second ?? null;
  } catch {
    return null;
  }
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const dir = process.argv[2];
if (!dir) {
  console.error('usage: lab-bench-report ARTIFACTS_DIR');
  process.exit(2);
}
const files = readdirSync(dir);
let missing = 0;
for (const proto of ['tcp', 'udp'] as const) {
  const byMode = new Map<string, number[]>();
  for (const f of files) {
    const m = new RegExp(`^${proto}-(off|v1|clear)-(\\d+)\\.json$`).exec(f);
    if (!m) continue;
    const bps = receivedBps(join(dir, f), proto === 'udp');
    if (bps === null) missing++;
    else byMode.set(m[1]!, [...(byMode.get(m[1]!) ?? []), bps]);
  }
  const off = byMode.get('off');
  for (const mode of ['off', 'v1', 'clear']) {
    const v = byMode.get(mode);
    if (!v || !off) continue;
    const ratio = median(v) / median(off);
    console.log(`${proto.toUpperCase()} ${mode.padEnd(5)} ${(median(v) / 1e6).toFixed(1).padStart(8)} Mbit/s (median of ${v.length})  ${(100 * ratio).toFixed(1)} % of module off`);
  }
}
if (missing) console.log(`${missing} runs without a result`);
