// Host-side checks of the lab's WAN/LAN captures with the project's TypeScript
// decoder (run after qemu/run.sh has brought the artifacts back):
//   node .build/node/test/lab/check-captures.js ARTIFACTS_DIR [--delta-tolerance-ms N (default 20)]
// For every *.pcap (except those named malformed*): every PDM option decodes;
// per flow direction no PSNTP repeats and the PSNTPs seen form one contiguous
// run (nothing lost between the inserting node and the capture; reordering on
// SMP is allowed); PSNLR always names a PSNTP the peer had sent. Where tcpdump
// itself dropped packets (NAME.tcpdump.log: "N packets dropped by kernel", a
// starved guest), a PSNTP it never saw may be one of those: the gaps may add
// up to at most N, and a PSNLR may name a PSNTP missing inside the peer's run,
// never one outside it. The Global
// Pointer never repeats for a source; for ICMPv6 echo flows DeltaTLR and
// DeltaTLS agree with the capture timestamps within the tolerance.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeCapture, type PdmRecord } from '../../analyzer/src/decode.js';
import { analyzeFlows, formatFlowReport } from '../../analyzer/src/flows.js';
import { readPcap } from '../../analyzer/src/pcap.js';
import { check, finish } from './checks.js';

function flowKey(r: PdmRecord): string {
  return `${r.protocol} [${r.src}]:${r.sport} > [${r.dst}]:${r.dport}`;
}

const args = process.argv.slice(2);
const dir = args[0];
if (!dir) {
  console.error('usage: check-captures ARTIFACTS_DIR [--delta-tolerance-ms N]');
  process.exit(2);
}
const tolIndex = args.indexOf('--delta-tolerance-ms');
// Under TCG a softirq can run milliseconds after tcpdump stamped the packet it
// answers (worst seen: 4.1 ms); 20 ms is still < 7 % of the 300 ms ping spacing.
const toleranceNs = (tolIndex >= 0 ? Number(args[tolIndex + 1]) : 20) * 1e6;

/** Packets tcpdump reported dropping while it wrote NAME.pcap (its last run under that name). */
function captureDrops(pcap: string): number {
  const log = join(dir!, pcap.replace(/\.pcap$/, '.tcpdump.log'));
  if (!existsSync(log)) return 0;
  const counts = [...readFileSync(log, 'utf8').matchAll(/^(\d+) packets? dropped by kernel$/gm)];
  return counts.length ? Number(counts[counts.length - 1]![1]) : 0;
}

/** Offset of a PSN from a flow's first one, in -modulus/2 .. modulus/2. */
const offsetFrom = (first: number, p: number, modulus: number): number => {
  const d = (p - first + modulus) % modulus;
  return d > modulus / 2 ? d - modulus : d;
};

const pcaps = readdirSync(dir).filter((f) => f.endsWith('.pcap') && !f.startsWith('malformed')).sort();
check('the lab left captures to check', pcaps.length > 0, `${pcaps.length} files`);
let pdmPackets = 0;

for (const name of pcaps) {
  let records: PdmRecord[];
  try {
    records = decodeCapture(readPcap(new Uint8Array(readFileSync(join(dir, name)))));
  } catch (err) {
    check(`${name}: readable pcap`, false, (err as Error).message);
    continue;
  }
  const withPdm = records.filter((r) => r.option);
  pdmPackets += withPdm.length;
  const errors = records.filter((r) => r.error);
  check(`${name}: every PDM option decodes`, errors.length === 0, `${withPdm.length} options, ${errors.length} errors${errors[0] ? `, first: ${errors[0].error}` : ''}`);

  const dropped = captureDrops(name);
  const psns = new Map<string, number[]>();
  for (const r of withPdm) {
    const o = r.option!;
    if (o.format === 'pdmv2-encrypted') continue;
    const list = psns.get(flowKey(r)) ?? [];
    list.push(o.psntp);
    psns.set(flowKey(r), list);
  }
  const runs = new Map<string, { first: number; lowest: number; highest: number; modulus: number; seen: Set<number> }>();
  for (const [key, list] of psns) {
    const modulus = withPdm.find((r) => flowKey(r) === key)?.option?.format === 'pdmv2-clear' ? 2 ** 32 : 2 ** 16;
    const first = list[0]!;
    const offsets = list.map((p) => offsetFrom(first, p, modulus));
    const unique = new Set(offsets).size === offsets.length;
    let lowest = 0;
    let highest = 0;
    for (const d of offsets) {
      if (d < lowest) lowest = d;
      if (d > highest) highest = d;
    }
    const span = highest - lowest + 1;
    runs.set(key, { first, lowest, highest, modulus, seen: new Set(list) });
    if (dropped === 0) check(`${name}: ${key}: PSNTP unique and contiguous`, unique && span === list.length, `${list.length} packets, span ${span}`);
    else
      check(
        `${name}: ${key}: PSNTP unique, contiguous but for the ${dropped} packets the capture dropped`,
        unique && span - list.length <= dropped,
        `${list.length} packets, span ${span}`,
      );
  }
  // PSNLR of each direction against the PSNTPs the other direction carried
  for (const key of runs.keys()) {
    const r0 = withPdm.find((r) => flowKey(r) === key)!;
    const peer = runs.get(`${r0.protocol} [${r0.dst}]:${r0.dport} > [${r0.src}]:${r0.sport}`);
    let named = 0;
    const missing = new Set<number>();
    let outside = 0;
    for (const r of withPdm) {
      const o = r.option!;
      if (o.format === 'pdmv2-encrypted' || flowKey(r) !== key || o.psnlr === 0) continue;
      named++;
      if (peer?.seen.has(o.psnlr)) continue;
      const d = peer ? offsetFrom(peer.first, o.psnlr, peer.modulus) : NaN;
      if (peer && d >= peer.lowest && d <= peer.highest) missing.add(o.psnlr);
      else outside++;
    }
    if (named === 0) continue;
    const what = `${named} named, ${missing.size} PSNTPs named that the capture lacks inside the peer's run, ${outside} PSNLRs outside it`;
    if (dropped === 0) check(`${name}: ${key}: PSNLR names a PSNTP the peer sent`, missing.size + outside === 0, what);
    else check(`${name}: ${key}: PSNLR names a PSNTP the peer sent, or one of the ${dropped} packets the capture dropped`, outside === 0 && missing.size <= dropped, what);
  }

  const report = analyzeFlows(records);
  for (const f of report.flows.filter((x) => x.withPdm > 0)) {
    console.log(formatFlowReport(f).replace(/^/gm, '# '));
    if (f.protocol === 58 && f.deltaSamples > 0) {
      const worst = Math.max(f.deltaTlrMaxErrorNs ?? 0, f.deltaTlsMaxErrorNs ?? 0);
      check(`${name}: ${f.key}: deltas agree with the capture within ${toleranceNs / 1e6} ms`, worst <= toleranceNs, `worst ${(worst / 1e6).toFixed(3)} ms over ${f.deltaSamples} samples`);
    }
  }
  for (const g of report.globalPointers) {
    const seen = withPdm.filter((r) => r.src === g.source && r.option && 'globalPointer' in r.option).map((r) => (r.option as { globalPointer: number }).globalPointer);
    check(`${name}: global pointer of ${g.source} never repeats`, new Set(seen).size === seen.length, `${seen.length} packets, ${g.first}..${g.last}`);
  }
}
check('the captures carried PDM options', pdmPackets > 0, `${pdmPackets} packets`);
finish();
