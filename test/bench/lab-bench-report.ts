// Host side of the lab benchmark (qemu/scenarios/bench.sh), all from one boot:
//  - throughput: the iperf3 JSON per run (tcp|tcpwire|udp-MODE-ROUND.json:
//    TCP over the "agg" WAN link, where module-off aggregates cross whole, and
//    over the "wire" WAN link, where rtr's WAN port segments them in software;
//    UDP), received throughput per mode (median of the rounds), ratio to
//    module off, and encrypted/clear; for UDP also the forwarding rate
//    (udpfwd-MODE-ROUND.json: packets rtr sent on wan0 per second), which
//    drops at the receiving socket do not change;
//  - new flows: flows-MODE-ROUND.json (flowgen's line, the rtr counter deltas,
//    what wan received), flows/s per mode (median), ratio to module off and
//    encrypted/clear (of the medians, and per round: the modes are interleaved);
//  - memory per flow: memory-ROUND.json (the pdmv2_flow slab cache holding the
//    flows of an encrypted run).
//   node .build/node/test/bench/lab-bench-report.js ARTIFACTS_DIR
// Prints lines only; the exit status is 0 unless usage is wrong (the guest's
// checks decide pass/fail).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface IperfEnd {
  start?: { tcp_mss_default?: number };
  end?: {
    sum_received?: { bits_per_second?: number };
    sum_sent?: { retransmits?: number };
    sum?: { bits_per_second?: number; lost_percent?: number };
  };
}

interface FlowRun {
  mode: string;
  round: number;
  flowgen: { packets: number; sent: number; errors: number; elapsed_ns: number; pps: number };
  rtr: Record<string, number>;
  rtr_flows: number;
  wan_received: number;
}

interface SlabMemory {
  flows: number;
  page_size: number;
  object_size: number;
  slab_size: number;
  objs_per_slab: number;
  order: number;
  objects: number;
  slabs: number;
  total_objects: number;
  slabinfo: string;
}

// clearhook: clear with gso_defer off (the hook segments), wire link only
const MODES = ['off', 'v1', 'clear', 'clearhook', 'encrypted'] as const;
const FLOW_MODES = ['off', 'clear', 'encrypted'] as const;
// issue 3: PDMv2 clear >= 98 % of module-off TCP; issue 4: encrypted >= 97 %
const TCP_GOALS = [
  ['clear', 0.98],
  ['encrypted', 0.97],
] as const;
// the TCP series: file prefix, label
const TCP_LINKS = [
  ['tcp', 'TCP agg'],
  ['tcpwire', 'TCP wire'],
] as const;
// per-round ratios printed where a series has both modes
const ROUND_PAIRS = [
  ['clear', 'off'],
  ['clear', 'clearhook'],
] as const;
// the "parts" series: off (plain sender), offopt (module off, the sender's
// own 32-octet Destination Options header), cleardata (rtr inserts into
// lan -> wan only), clear (rtr inserts both ways); offoptenc and encrypted
// the same with the encrypted option's 40-octet header
const PART_MODES = ['off', 'offopt', 'cleardata', 'clear', 'offoptenc', 'encrypted'] as const;
const MEMORY_GOAL = 512; // octets per flow
// issue 17: encrypted at the speed of clear
const ISSUE17 = { tcpEncClear: 0.98, tcpEncOwn: 0.97, udpEncClear: 0.95, flowsEncClear: 0.8 } as const;

function receivedBps(j: IperfEnd, udp: boolean): number | null {
  if (udp) {
    const s = j.end?.sum;
    return s?.bits_per_second === undefined ? null : s.bits_per_second * (1 - (s.lost_percent ?? 0) / 100);
  }
  return j.end?.sum_received?.bits_per_second ?? null;
}

function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

// a/b for each round both have, in round order
function perRound(a: Map<string, number> | undefined, b: Map<string, number> | undefined): number[] {
  if (!a || !b) return [];
  return [...a.keys()]
    .filter((k) => b.has(k))
    .sort((x, y) => Number(x) - Number(y))
    .map((k) => a.get(k)! / b.get(k)!);
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const pct = (r: number): string => `${(100 * r).toFixed(1)} %`;

const dir = process.argv[2];
if (!dir) {
  console.error('usage: lab-bench-report ARTIFACTS_DIR');
  process.exit(2);
}
const files = readdirSync(dir);
let missing = 0;

// ---------------------------------------------------------------- throughput
const tcpMedian = new Map<string, number>(); // key: series prefix + ' ' + mode
let moduleOwn: number | undefined; // parts: median of the per-round clear/offopt
let moduleOwnEnc: number | undefined; // parts: median of the per-round encrypted/offoptenc
for (const [proto, label] of [...TCP_LINKS, ['udp', 'UDP'] as const]) {
  const byRound = new Map<string, Map<string, number>>(); // mode -> round -> bit/s
  const mss = new Map<string, number>(); // mode -> TCP payload per full segment
  for (const f of files) {
    const m = new RegExp(`^${proto}-(${MODES.join('|')})-(\\d+)\\.json$`).exec(f);
    if (!m) continue;
    const run = readJson<IperfEnd>(join(dir, f));
    const segment = run?.start?.tcp_mss_default;
    if (segment) mss.set(m[1]!, segment);
    const bps = run ? receivedBps(run, proto === 'udp') : null;
    if (bps === null) missing++;
    else byRound.set(m[1]!, (byRound.get(m[1]!) ?? new Map<string, number>()).set(m[2]!, bps));
  }
  const byMode = new Map([...byRound].map(([mode, r]) => [mode, [...r.values()]]));
  const off = byMode.get('off');
  for (const mode of MODES) {
    const v = byMode.get(mode);
    if (!v || !off) continue;
    const ratio = median(v) / median(off);
    tcpMedian.set(`${proto} ${mode}`, median(v));
    console.log(`${label} ${mode.padEnd(9)} ${(median(v) / 1e6).toFixed(1).padStart(8)} Mbit/s (median of ${v.length})  ${pct(ratio)} of module off`);
  }
  const enc = byMode.get('encrypted');
  const clear = byMode.get('clear');
  if (enc && clear) console.log(`${label} encrypted/clear ${pct(median(enc) / median(clear))}`);
  // the option's octets come out of every full-size segment's payload (MSS clamping)
  const [mssOff, mssClear] = [mss.get('off'), mss.get('clear')];
  if (mssOff && mssClear) {
    console.log(
      `${label} payload per full-size segment (iperf3's MSS): off ${mssOff}, clear ${mssClear} octets, ${pct(mssClear / mssOff)}: ` +
        'the most clear can reach where packets or octets per second are the limit',
    );
  }
  // the modes of a round ran back to back: their ratios per round show the noise
  for (const [a, b] of ROUND_PAIRS) {
    const per = perRound(byRound.get(a), byRound.get(b));
    if (per.length > 1) console.log(`${label} ${a}/${b} per round: ${per.map(pct).join(', ')}; median ${pct(median(per))}`);
  }
}
// UDP forwarding: packets rtr sent on its WAN port per second of the run
{
  const byMode = new Map<string, number[]>();
  for (const f of files) {
    const m = new RegExp(`^udpfwd-(${MODES.join('|')})-(\\d+)\\.json$`).exec(f);
    const r = m ? readJson<{ packets: number; ns: number }>(join(dir, f)) : null;
    if (m && r && r.ns > 0) byMode.set(m[1]!, [...(byMode.get(m[1]!) ?? []), (r.packets * 1e9) / r.ns]);
  }
  const off = byMode.get('off');
  for (const mode of MODES) {
    const v = byMode.get(mode);
    if (!v || !off) continue;
    console.log(`UDP forwarded ${mode.padEnd(9)} ${median(v).toFixed(0).padStart(8)} packets/s (rtr wan0, median of ${v.length})  ${pct(median(v) / median(off))} of module off`);
  }
}
// What clear costs, in parts: the wire format (offopt/off: the same packets,
// nothing done by rtr) and the module (clear/offopt)
{
  const byMode = new Map<string, Map<string, number>>(); // mode -> round -> bit/s
  for (const f of files) {
    const m = new RegExp(`^tcpparts-(${PART_MODES.join('|')})-(\\d+)\\.txt$`).exec(f);
    if (!m) continue;
    const r = /^received (\d+) octets in (\d+) ns/m.exec(readFileSync(join(dir, f), 'utf8'));
    if (!r || Number(r[2]) <= 0) {
      missing++;
      continue;
    }
    const bps = (Number(r[1]) * 8e9) / Number(r[2]);
    byMode.set(m[1]!, (byMode.get(m[1]!) ?? new Map<string, number>()).set(m[2]!, bps));
  }
  const medianOf = (mode: string): number | undefined => {
    const r = byMode.get(mode);
    return r ? median([...r.values()]) : undefined;
  };
  const off = medianOf('off');
  for (const mode of PART_MODES) {
    const v = medianOf(mode);
    if (v === undefined || off === undefined) continue;
    console.log(`TCP parts ${mode.padEnd(9)} ${(v / 1e6).toFixed(1).padStart(8)} Mbit/s (median of ${byMode.get(mode)!.size})  ${pct(v / off)} of module off`);
  }
  const parts = [
    ['offopt', 'off', 'the wire format (32 octets per packet, no work at rtr)'],
    ['clear', 'offopt', "rtr's module, for the same packets"],
    ['cleardata', 'offopt', "rtr's module, lan -> wan only"],
    ['clear', 'cleardata', 'the option in the ACKs (rtr inserting, lan receiving it)'],
    ['clear', 'off', 'both'],
    ['offoptenc', 'off', 'the encrypted wire format (40 octets per packet, no work at rtr)'],
    ['encrypted', 'offoptenc', "rtr's module in encrypted mode, for the same packets"],
    ['encrypted', 'clear', 'encrypted against clear'],
  ] as const;
  for (const [a, b, what] of parts) {
    const per = perRound(byMode.get(a), byMode.get(b));
    if (per.length) console.log(`TCP parts ${a}/${b} per round: ${per.map(pct).join(', ')}; median ${pct(median(per))}: ${what}`);
    if (per.length && a === 'clear' && b === 'offopt') moduleOwn = median(per);
    if (per.length && a === 'encrypted' && b === 'offoptenc') moduleOwnEnc = median(per);
  }
}
// Kernel profiles of one parts transfer in modes offopt and clear (the same
// octets, the same packets on the wire), offoptenc and encrypted, and of one
// new-flow run in clear and encrypted: samples per function, every 50 us of
// CPU time (qemu/tools/ipsample.c); where the second spends more
{
  const readProfile = (mode: string): Map<string, number> | null => {
    try {
      const m = new Map<string, number>();
      for (const line of readFileSync(join(dir, `profile-${mode}.txt`), 'utf8').split('\n')) {
        const r = /^(\d+) (.+)$/.exec(line);
        if (r) m.set(r[2]!, (m.get(r[2]!) ?? 0) + Number(r[1]));
      }
      return m;
    } catch {
      return null;
    }
  };
  for (const [baseMode, mode] of [
    ['offopt', 'clear'],
    ['offoptenc', 'encrypted'],
    // the same number of new flows (flowgen), clear against encrypted
    ['flows-clear', 'flows-encrypted'],
  ] as const) {
    const base = readProfile(baseMode);
    const prof = readProfile(mode);
    if (!base || !prof) continue;
    const total = (m: Map<string, number>): number => [...m].filter(([k]) => k !== '(lost)').reduce((a, [, v]) => a + v, 0);
    const [tb, tc] = [total(base), total(prof)];
    const module = [...prof].filter(([k]) => k.endsWith(' [pdmv2]'));
    const inModule = module.reduce((a, [, v]) => a + v, 0);
    console.log(
      `PROFILE samples (50 us of CPU each, same ${mode.startsWith('flows') ? 'new flows' : 'transfer'}): ${baseMode} ${tb}, ${mode} ${tc} (${pct(tc / tb)}); ` +
        `lost: ${baseMode} ${base.get('(lost)') ?? 0}, ${mode} ${prof.get('(lost)') ?? 0}`,
    );
    console.log(
      `PROFILE ${mode}: ${inModule} samples in pdmv2.ko (${pct(inModule / tc)} of all): ` +
        module
          .sort((a, b) => b[1] - a[1])
          .slice(0, 8)
          .map(([k, v]) => `${k.replace(' [pdmv2]', '')} ${v}`)
          .join(', '),
    );
    const diff = [...new Set([...base.keys(), ...prof.keys()])]
      .filter((k) => k !== '(lost)')
      .map((k) => [k, (prof.get(k) ?? 0) - (base.get(k) ?? 0)] as const)
      .sort((a, b) => b[1] - a[1]);
    console.log(`PROFILE ${mode} - ${baseMode}, most grown: ${diff.slice(0, 12).map(([k, v]) => `${k} ${v > 0 ? '+' : ''}${v}`).join(', ')}`);
    console.log(`PROFILE ${mode} - ${baseMode}, most shrunk: ${diff.slice(-5).reverse().map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
}
// CPU cost of the same TCP traffic (fixed rate, wire link): busy jiffies per
// run and per GB received, ratio to module off per round and of the medians
{
  const cost = new Map<string, Map<string, number>>(); // mode -> round -> busy jiffies per GB
  for (const f of files) {
    const m = /^tcpcost-cpu-(\w+)-(\d+)\.json$/.exec(f);
    const c = m ? readJson<{ busy: number; total: number }>(join(dir, f)) : null;
    const j = m ? readJson<{ end?: { sum_received?: { bytes?: number } } }>(join(dir, `tcpcost-iperf-${m[1]}-${m[2]}.json`)) : null;
    const bytes = j?.end?.sum_received?.bytes;
    if (!m || !c || !bytes) continue;
    const byRound = cost.get(m[1]!) ?? new Map<string, number>();
    byRound.set(m[2]!, c.busy / (bytes / 1e9));
    cost.set(m[1]!, byRound);
  }
  const off = cost.get('off');
  for (const mode of ['off', 'clear', 'clearhook']) {
    const byRound = cost.get(mode);
    if (!byRound) continue;
    const v = [...byRound.values()];
    let line = `TCP wire CPU cost ${mode.padEnd(9)} ${median(v).toFixed(0).padStart(6)} busy jiffies per GB received (median of ${v.length})`;
    if (off && mode !== 'off') {
      const per = perRound(byRound, off);
      line += `  ${pct(median(v) / median([...off.values()]))} of module off; per round ${per.map(pct).join(', ')}`;
    }
    console.log(line);
  }
}
if (missing) console.log(`${missing} runs without a result`);

// losses behind the throughput: TCP retransmits (iperf3) and packets dropped on a full
// input backlog (runs.txt: softnet_stat deltas; veth passes every packet through it)
const perMode = (mp: Map<string, number[]>, prefix = ''): string =>
  [...new Set<string>([...MODES, ...PART_MODES])]
    .filter((mode) => mp.has(prefix + mode))
    .map((mode) => `${mode} ${median(mp.get(prefix + mode)!)}`)
    .join(', ');
const backlog = new Map<string, number[]>();
try {
  for (const line of readFileSync(join(dir, 'runs.txt'), 'utf8').split('\n')) {
    const m = /^(tcp|tcpwire|tcpparts|udp) (\S+) \d+ .*backlog_drops (\d+)/.exec(line);
    if (m) backlog.set(`${m[1]} ${m[2]}`, [...(backlog.get(`${m[1]} ${m[2]}`) ?? []), Number(m[3])]);
  }
} catch {
  // no runs.txt: an older artifacts directory
}
for (const [proto, label] of TCP_LINKS) {
  const retransmits = new Map<string, number[]>();
  for (const f of files) {
    const m = new RegExp(`^${proto}-(${MODES.join('|')})-(\\d+)\\.json$`).exec(f);
    const r = m ? readJson<IperfEnd>(join(dir, f))?.end?.sum_sent?.retransmits : undefined;
    if (m && r !== undefined) retransmits.set(m[1]!, [...(retransmits.get(m[1]!) ?? []), r]);
  }
  if (retransmits.size) console.log(`${label} retransmits per run (median): ${perMode(retransmits)}`);
}
for (const proto of ['tcp', 'tcpwire', 'tcpparts', 'udp']) {
  if ([...backlog.keys()].some((k) => k.startsWith(`${proto} `))) {
    console.log(`${proto} input backlog drops per run (median): ${perMode(backlog, `${proto} `)}`);
  }
}

// ---------------------------------------------------------------- new flows
const runs: FlowRun[] = [];
for (const f of files) {
  if (!/^flows-[a-z0-9]+-\d+\.json$/.test(f)) continue;
  const r = readJson<FlowRun>(join(dir, f));
  if (r?.flowgen && typeof r.flowgen.pps === 'number') runs.push(r);
  else console.log(`${f}: no result`);
}
const flowMedian = new Map<string, number>();
if (runs.length) {
  const n = runs[0]!.flowgen.packets;
  console.log(`New flows: flowgen, ${n} UDP packets lan -> wan per run, each from another source port (a new flow at rtr)`);
  // each new encrypted flow costs one HMAC-SHA256 through the kernel's SHA-256 (bench.sh saves which)
  const sha = existsSync(join(dir, 'sha256-driver.txt')) ? /^pdmv2: SHA-256: (\S+)/m.exec(readFileSync(join(dir, 'sha256-driver.txt'), 'utf8')) : null;
  console.log(`New flows: the module's SHA-256 (one HMAC of two compressions per new encrypted flow): ${sha ? sha[1] : 'not recorded'}`);
  for (const mode of FLOW_MODES) {
    const rs = runs.filter((r) => r.mode === mode).sort((a, b) => a.round - b.round);
    if (!rs.length) continue;
    const pps = median(rs.map((r) => r.flowgen.pps));
    flowMedian.set(mode, pps);
    const off = flowMedian.get('off');
    const c = (k: string): number => median(rs.map((r) => r.rtr[k] ?? 0));
    console.log(
      `FLOWS ${mode.padEnd(9)} ${pps.toFixed(0).padStart(8)} flows/s (median of ${rs.length}; runs ${rs.map((r) => r.flowgen.pps.toFixed(0)).join(', ')})` +
        `${off ? `  ${pct(pps / off)} of module off` : ''}` +
        `  [rtr per run: flows_created ${c('flows_created')}, keys_derived ${c('keys_derived')}, inserted ${c('inserted')}, skip_no_secret ${c('skip_no_secret')}; wan received ${median(rs.map((r) => r.wan_received))}]`,
    );
  }
  const enc = flowMedian.get('encrypted');
  const clear = flowMedian.get('clear');
  if (enc && clear) {
    // the modes of a round ran back to back: their ratio is less exposed to the host's load
    const perRound: number[] = [];
    for (const r of runs.filter((x) => x.mode === 'encrypted').sort((a, b) => a.round - b.round)) {
      const c = runs.find((x) => x.mode === 'clear' && x.round === r.round);
      if (c) perRound.push(r.flowgen.pps / c.flowgen.pps);
    }
    console.log(
      `FLOWS encrypted/clear ${pct(enc / clear)} (ratio of the medians; per round ${perRound.map(pct).join(', ')}, median ${pct(median(perRound))})`,
    );
  }
}

// ---------------------------------------------------------------- memory per flow
const mems: Array<{ round: number; m: SlabMemory; perFlow: number }> = [];
for (const f of files) {
  const mm = /^memory-(\d+)\.json$/.exec(f);
  if (!mm) continue;
  const m = readJson<SlabMemory>(join(dir, f));
  if (!m || !m.objects) {
    console.log(`${f}: no result`);
    continue;
  }
  mems.push({ round: Number(mm[1]), m, perFlow: (m.slabs * m.page_size * 2 ** m.order) / m.objects });
}
if (mems.length) {
  mems.sort((a, b) => a.round - b.round);
  const last = mems[mems.length - 1]!;
  const m = last.m;
  const perFlow = median(mems.map((x) => x.perFlow));
  console.log(
    `MEMORY pdmv2_flow slab with ${m.flows} encrypted flows (round ${last.round}): object_size ${m.object_size}, slab_size ${m.slab_size}, ` +
      `${m.objs_per_slab} per slab of ${m.page_size * 2 ** m.order} octets (order ${m.order}), ${m.objects} objects in ${m.slabs} slabs`,
  );
  console.log(
    `MEMORY per flow (slabs x page x 2^order / objects): ${perFlow.toFixed(1)} octets (median of ${mems.length}; runs ${mems.map((x) => x.perFlow.toFixed(1)).join(', ')})` +
      `  goal <= ${MEMORY_GOAL}: ${perFlow <= MEMORY_GOAL ? 'met' : 'NOT met'}`,
  );
  console.log(
    'MEMORY cipher state per flow: the STKs only (<= 32 octets per direction, inside the object); the expanded key and H ' +
      'live in a per-CPU cache of 4 entries (pdmv2_flow_gcm_get(), kmod/pdmv2_keys.c), not per flow',
  );
}

// ---------------------------------------------------------------- goals
for (const [proto, label] of TCP_LINKS) {
  const off = tcpMedian.get(`${proto} off`);
  for (const [mode, goal] of TCP_GOALS) {
    const v = tcpMedian.get(`${proto} ${mode}`);
    if (v && off) console.log(`GOAL ${label} ${mode} >= ${pct(goal)} of module off: ${pct(v / off)}, ${v / off >= goal ? 'met' : 'NOT met'}`);
  }
}
// the same goal for what the module itself costs: the same packets (the
// format's 32 octets in both), rtr inserting them or not
const clearGoal = TCP_GOALS.find(([mode]) => mode === 'clear')![1];
if (moduleOwn !== undefined) {
  console.log(
    `GOAL TCP parts clear/offopt (the module's own cost) >= ${pct(clearGoal)}: ${pct(moduleOwn)}, ${moduleOwn >= clearGoal ? 'met' : 'NOT met'}`,
  );
}
// issue 17: encrypted at the speed of clear, all from this boot
const goal17 = (what: string, v: number | undefined, goal: number): void => {
  if (v !== undefined && Number.isFinite(v)) console.log(`GOAL ${what} >= ${pct(goal)}: ${pct(v)}, ${v >= goal ? 'met' : 'NOT met'}`);
  else console.log(`GOAL ${what} >= ${pct(goal)}: not measured in this boot`);
};
const ratio = (a: number | undefined, b: number | undefined): number | undefined => (a && b ? a / b : undefined);
goal17('TCP wire encrypted/clear', ratio(tcpMedian.get('tcpwire encrypted'), tcpMedian.get('tcpwire clear')), ISSUE17.tcpEncClear);
goal17("TCP parts encrypted/offoptenc (the module's own cost, cryptography included)", moduleOwnEnc, ISSUE17.tcpEncOwn);
goal17('UDP encrypted/clear', ratio(tcpMedian.get('udp encrypted'), tcpMedian.get('udp clear')), ISSUE17.udpEncClear);
goal17('FLOWS encrypted/clear (new flows per second)', ratio(flowMedian.get('encrypted'), flowMedian.get('clear')), ISSUE17.flowsEncClear);
if (mems.length) {
  const perFlow = median(mems.map((x) => x.perFlow));
  console.log(`GOAL MEMORY per flow <= ${MEMORY_GOAL} octets: ${perFlow.toFixed(1)}, ${perFlow <= MEMORY_GOAL ? 'met' : 'NOT met'}`);
}
