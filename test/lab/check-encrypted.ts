// Host-side checks of the lab's encrypted scenario:
//   node .build/node/test/lab/check-encrypted.js ARTIFACT_DIR
// Prints one "ok - NAME (detail)" / "not ok - NAME (detail)" line per check,
// "# ..." lines for information, and ends with "N passed, M failed" (the
// lab checks' convention, checks.ts); exits 1 on any failure.
//
// Inputs in ARTIFACT_DIR:
//   secrets.json, wrong-secrets.json   analyzer key files (test/lab/encrypted-setup.ts)
//   *.pcap                             captures on the wan link, both directions
//   trace-*.txt                        ftrace output holding pdmv2:pdmv2_emit lines; the
//                                      part after "pdmv2_emit: " is key=value pairs:
//     fmt=encrypted net=4026532xxx src=2001:db8:1::2 sport=40000 dst=2001:db8:2::2
//     dport=5201 proto=17 epoch=0x100 psntp=123 psnlr=0 gp=5 scale_dtlr=0
//     delta_tlr=0 scale_dtls=0 delta_tls=0
//                                      (fmt v1|clear|encrypted; addresses as %pI6c prints them)
//   expect-*.json (optional)           rekeying and generation change, see below
//
// Checks (packets of the injected tuple, UDP port 4242, are left out: they are
// crafted, see inject-encrypted.hex):
//   - every encrypted option in each capture opens with secrets.json;
//   - each opened option has a trace record (fmt=encrypted) with the same src,
//     sport, dst, dport, proto and psntp, and exactly the same epoch, psnlr, gp,
//     scale_dtlr, delta_tlr, scale_dtls, delta_tls;
//   - options were opened in both directions (client -> server and server ->
//     client; the client is the address inside secrets.json's client prefixes);
//   - with wrong-secrets.json every one of them fails with TAG_MISMATCH;
//   - no flow direction (5-tuple as sent) of a capture carries one (epoch, PSNTP)
//     pair twice: under one STK that would be one GCM nonce twice (each packet is
//     captured once, so a repeat is a sender's, never the capture's).
//
// Restarted flows: restarts.json (optional), one JSON object
//   { "capture": "enc-restart-wan.pcap", "src": ..., "dst": ..., "sport": 40123,
//     "dport": 4343, "protocol": 17, "options": 12, "states": 3 }
// the one flow direction of that 5-tuple in that capture carries exactly
// "options" opened options under "states" distinct epochs (one per flow
// state: the lab restarts the flow states-1 times, by idle expiry and a
// reload), and no (epoch, PSNTP) pair twice.
//
// Epoch expectations: expect-epochs.json and any other expect-*.json (not
// expect.json, which describes the injected packets) in ARTIFACT_DIR, each one
// JSON object:
//   {
//     "rekey_packets": 16,                   PSNs per key (the module's rekey_packets);
//                                            absent: no rekey rule, only the generations
//     "generations": [1, 2],                 optional: the generations (compared mod 16 with
//                                            the epoch) the flow goes through, in this
//                                            order, each at least once
//     "min_rekeys": 1,                       optional: rekeys each flow must show (default 1
//                                            with rekey_packets, else 0)
//     "capture": "enc-rekey-wan.pcap",       optional: only the flows of this capture
//                                            (default: all captures, merged by PSN)
//     "src": "2001:db8:1::2", "dst": "2001:db8:2::2", "sport": 0, "dport": 5201,
//     "proto": 17,                           optional selector ("protocol" also accepted);
//                                            nothing given: every flow direction
//     "flows": [ { selector, and any of the fields above to override them } ]
//                                            optional: several selectors instead of the
//                                            top-level one
//   }
// e.g. {"rekey_packets": 16, "capture": "enc-rekey-wan.pcap", "src": "2001:db8:1::2",
// "dst": "2001:db8:2::2", "protocol": 58} or {"generations": [1, 2], ...}.
// Each flow direction (5-tuple as sent) a selector matches is checked; a
// selector matching nothing fails. Per flow, the opened options are put in PSN
// order (modulo 2^32, from the flow's first PSN) and cut into runs of one
// generation (epoch >> 8); within a run starting at PSN p0 with rekey count r0
// (the module starts each flow state where its epoch memory says), the option with PSN p
// must carry rekey count (r0 + floor((p - p0) / rekey_packets)) mod 256: the
// epoch's low 8 bits advance by one exactly every rekey_packets PSNs, counted
// from the flow's first PSN in the capture (start the capture before the
// flow). A generation never comes back once a later one has appeared
// (generation 2 after 1, never the reverse).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatIpv6, parseIpv6, parsePrefix } from '../../core/src/wire/addr.js';
import type { AnalyzerKeys } from '../../core/src/enroll/export.js';
import { prefixContains } from '../../core/src/keys/schedule.js';
import type { Pdmv2Clear } from '../../core/src/wire/options.js';
import { decodeCapture, type KeySource, type PdmRecord } from '../../analyzer/src/decode.js';
import { AnalyzerKeyRing, parseAnalyzerKeyFile } from '../../analyzer/src/keys.js';
import { readPcap, type CapturedPacket } from '../../analyzer/src/pcap.js';
import { check, finish, info } from './checks.js';

const INJECTED_PORT = 4242;
const MAX_EXAMPLES = 5;

// ---------------------------------------------------------------------------------------------
// Trace records

export interface TraceRecord {
  fmt: string;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  proto: number;
  epoch: number;
  psntp: number;
  psnlr: number;
  gp: number;
  scaleDtlr: number;
  deltaTlr: number;
  scaleDtls: number;
  deltaTls: number;
  where: string;
}

/** Canonical text of an address as %pI6c or anyone else prints it (unparsable text stays as is). */
function canonicalAddress(text: string): string {
  try {
    return formatIpv6(parseIpv6(text));
  } catch {
    return text;
  }
}

function num(v: string | undefined): number | null {
  if (v === undefined || !/^(0x[0-9a-f]+|[0-9]+)$/i.test(v)) return null;
  return Number(v);
}

/** The pdmv2_emit record of one ftrace line, or null (not such a line) or a string (why it is bad). */
export function parseTraceLine(line: string, where: string): TraceRecord | string | null {
  const at = line.indexOf('pdmv2_emit: ');
  if (at < 0) return null;
  const kv = new Map<string, string>();
  for (const tok of line.slice(at + 'pdmv2_emit: '.length).trim().split(/\s+/)) {
    const eq = tok.indexOf('=');
    if (eq > 0) kv.set(tok.slice(0, eq), tok.slice(eq + 1));
  }
  const fields = ['sport', 'dport', 'proto', 'epoch', 'psntp', 'psnlr', 'gp', 'scale_dtlr', 'delta_tlr', 'scale_dtls', 'delta_tls'] as const;
  const n: Record<string, number> = {};
  for (const f of fields) {
    const v = num(kv.get(f));
    if (v === null) return `${where}: field ${f} missing or not a number`;
    n[f] = v;
  }
  const fmt = kv.get('fmt');
  const src = kv.get('src');
  const dst = kv.get('dst');
  if (!fmt || !src || !dst) return `${where}: fmt, src or dst missing`;
  return {
    fmt,
    src: canonicalAddress(src),
    dst: canonicalAddress(dst),
    sport: n.sport!,
    dport: n.dport!,
    proto: n.proto!,
    epoch: n.epoch!,
    psntp: n.psntp!,
    psnlr: n.psnlr!,
    gp: n.gp!,
    scaleDtlr: n.scale_dtlr!,
    deltaTlr: n.delta_tlr!,
    scaleDtls: n.scale_dtls!,
    deltaTls: n.delta_tls!,
    where,
  };
}

const tupleKey = (t: { src: string; sport: number; dst: string; dport: number }, proto: number, psntp: number): string =>
  `${proto} [${t.src}]:${t.sport} > [${t.dst}]:${t.dport} #${psntp}`;

const flowKey = (r: PdmRecord): string => `${r.protocol} [${r.src}]:${r.sport} > [${r.dst}]:${r.dport}`;

/** One GCM nonce under one STK: the flow direction, the epoch and the PSNTP. */
const nonceKey = (r: PdmRecord, o: Pdmv2Clear): string => `${flowKey(r)} e0x${o.epoch.toString(16).padStart(3, '0')} #${o.psntp}`;

/** What differs between an opened option and a trace record (empty: identical). */
function traceDiff(o: Pdmv2Clear, t: TraceRecord): string[] {
  const pairs: Array<[string, number, number]> = [
    ['epoch', o.epoch, t.epoch],
    ['psnlr', o.psnlr, t.psnlr],
    ['gp', o.globalPointer, t.gp],
    ['scale_dtlr', o.scaleDtlr, t.scaleDtlr],
    ['delta_tlr', o.deltaTlr, t.deltaTlr],
    ['scale_dtls', o.scaleDtls, t.scaleDtls],
    ['delta_tls', o.deltaTls, t.deltaTls],
  ];
  const out = pairs.filter(([, a, b]) => a !== b).map(([name, a, b]) => `${name} ${a} != ${b}`);
  if (t.fmt !== 'encrypted') out.unshift(`fmt ${t.fmt}`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Epoch expectations (expect-*.json)

interface EpochRule {
  capture?: string;
  src?: string;
  dst?: string;
  sport?: number;
  dport?: number;
  proto?: number;
  rekey_packets?: number;
  generations?: number[];
  min_rekeys?: number;
}

/** One selector with its rules resolved (top level, overridden by the flow entry). */
interface EpochCheck extends EpochRule {
  label: string;
}

function parseRule(o: unknown, where: string): EpochRule {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new Error(`${where} must be a JSON object`);
  const e = o as Record<string, unknown>;
  const int = (v: unknown, name: string, min: number, max: number): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new Error(`${where}${name} must be an integer in ${min}..${max}`);
    return v;
  };
  const r: EpochRule = {};
  if (e.capture !== undefined) {
    if (typeof e.capture !== 'string') throw new Error(`${where}capture must be a file name`);
    r.capture = e.capture;
  }
  for (const k of ['src', 'dst'] as const) {
    if (e[k] === undefined) continue;
    if (typeof e[k] !== 'string') throw new Error(`${where}${k} must be an address`);
    r[k] = canonicalAddress(e[k] as string);
  }
  if (e.sport !== undefined) r.sport = int(e.sport, 'sport', 0, 0xffff);
  if (e.dport !== undefined) r.dport = int(e.dport, 'dport', 0, 0xffff);
  const proto = e.proto ?? e.protocol;
  if (proto !== undefined) r.proto = int(proto, 'proto', 0, 255);
  if (e.rekey_packets !== undefined) r.rekey_packets = int(e.rekey_packets, 'rekey_packets', 1, 0xffffffff);
  if (e.min_rekeys !== undefined) r.min_rekeys = int(e.min_rekeys, 'min_rekeys', 0, 0xffffffff);
  if (e.generations !== undefined) {
    const g = e.generations;
    if (!Array.isArray(g) || g.length === 0 || g.some((x) => typeof x !== 'number' || !Number.isInteger(x) || x < 0)) {
      throw new Error(`${where}generations must be a non-empty list of generation numbers`);
    }
    r.generations = g as number[];
  }
  return r;
}

/** The checks an expect-*.json file asks for. Throws with a reason. */
export function parseEpochExpectations(text: string, file: string): EpochCheck[] {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    throw new Error('not valid JSON');
  }
  const top = parseRule(o, '');
  const flows = (o as Record<string, unknown>).flows;
  let checks: EpochCheck[];
  if (flows === undefined) {
    checks = [{ ...top, label: file }];
  } else {
    if (!Array.isArray(flows) || flows.length === 0) throw new Error('flows must be a non-empty list');
    checks = flows.map((f, i) => ({ ...top, ...parseRule(f, `flows[${i}].`), label: `${file} flows[${i}]` }));
  }
  for (const c of checks) {
    if (c.rekey_packets === undefined && c.generations === undefined) throw new Error(`${c.label}: give rekey_packets or generations (or both)`);
  }
  return checks;
}

function selects(sel: EpochRule, r: PdmRecord): boolean {
  return (
    (sel.src === undefined || sel.src === r.src) &&
    (sel.dst === undefined || sel.dst === r.dst) &&
    (sel.sport === undefined || sel.sport === r.sport) &&
    (sel.dport === undefined || sel.dport === r.dport) &&
    (sel.proto === undefined || sel.proto === r.protocol)
  );
}

interface EpochVerdict {
  ok: boolean;
  detail: string;
  problems: string[];
}

/** The rekey and generation rules for one flow direction's opened options (any order, no duplicates). */
export function checkFlowEpochs(
  options: ReadonlyArray<{ psntp: number; epoch: number }>,
  rekeyPackets: number | undefined,
  generations?: number[],
  minRekeys = rekeyPackets === undefined ? 0 : 1,
): EpochVerdict {
  const problems: string[] = [];
  if (options.length === 0) return { ok: false, detail: 'no options', problems };
  const first = options[0]!.psntp;
  const offset = (p: number): number => {
    const d = (p - first + 2 ** 32) % 2 ** 32;
    return d >= 2 ** 31 ? d - 2 ** 32 : d;
  };
  const sorted = [...options].sort((a, b) => offset(a.psntp) - offset(b.psntp));
  // Runs of one generation nibble, in PSN order.
  const runs: Array<{ gen: number; p0: number; r0: number; last: number; count: number }> = [];
  let rekeys = 0;
  for (const o of sorted) {
    const gen = o.epoch >> 8;
    const rekey = o.epoch & 0xff;
    let run = runs[runs.length - 1];
    if (!run || run.gen !== gen) {
      if (runs.some((x) => x.gen === gen)) problems.push(`psntp ${o.psntp}: generation nibble ${gen} again after ${run?.gen}`);
      run = { gen, p0: o.psntp, r0: rekey, last: rekey, count: 0 };
      runs.push(run);
    }
    if (rekeyPackets !== undefined) {
      const dist = (o.psntp - run.p0 + 2 ** 32) % 2 ** 32;
      const want = (run.r0 + Math.floor(dist / rekeyPackets)) & 0xff;
      if (rekey !== want) problems.push(`psntp ${o.psntp}: epoch 0x${o.epoch.toString(16)}, expected rekey ${want} (run from psntp ${run.p0})`);
    }
    if (rekey !== run.last) rekeys += (rekey - run.last + 256) & 0xff;
    run.last = rekey;
    run.count++;
  }
  const seen = runs.map((r) => r.gen);
  if (generations) {
    const want = generations.map((g) => g & 0xf);
    if (seen.length !== want.length || seen.some((g, i) => g !== want[i])) problems.push(`generations seen ${seen.join(' -> ')}, expected ${want.join(' -> ')}`);
  }
  if (rekeys < minRekeys) problems.push(`${rekeys} rekeys, expected at least ${minRekeys}`);
  return {
    ok: problems.length === 0,
    detail: `${options.length} options, generations ${seen.join(' -> ')}, ${rekeys} rekeys${problems.length ? `, ${problems.length} problems` : ''}`,
    problems,
  };
}

// ---------------------------------------------------------------------------------------------

interface FlowOptions {
  sample: PdmRecord;
  byPsn: Map<number, Pdmv2Clear>;
}

/** The flows of one capture, or of all captures merged by flow and PSN. */
function flowsOf(opened: Map<string, Map<string, FlowOptions>>, capture?: string): FlowOptions[] {
  if (capture !== undefined) return [...(opened.get(capture)?.values() ?? [])];
  const merged = new Map<string, FlowOptions>();
  for (const flows of opened.values()) {
    for (const [key, f] of flows) {
      const m = merged.get(key) ?? { sample: f.sample, byPsn: new Map<number, Pdmv2Clear>() };
      for (const [psn, o] of f.byPsn) m.byPsn.set(psn, o);
      merged.set(key, m);
    }
  }
  return [...merged.values()];
}

function loadKeys(dir: string, name: string): { ring: AnalyzerKeyRing; keys: AnalyzerKeys } | null {
  try {
    const keys = parseAnalyzerKeyFile(new Uint8Array(readFileSync(join(dir, name))));
    const ring = new AnalyzerKeyRing([keys]);
    check(`${name} loads`, true, `pairing ${keys.pairing}, generations ${keys.keys.map((k) => k.generation).join(',')}`);
    return { ring, keys };
  } catch (err) {
    check(`${name} loads`, false, (err as Error).message);
    return null;
  }
}

const injected = (r: PdmRecord): boolean => r.protocol === 17 && (r.sport === INJECTED_PORT || r.dport === INJECTED_PORT);
const encrypted = (r: PdmRecord): boolean => r.decryption !== undefined;

function decode(packets: CapturedPacket[], keys: KeySource): PdmRecord[] {
  return decodeCapture(packets, keys).filter((r) => !injected(r));
}

function main(): void {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: check-encrypted ARTIFACT_DIR');
    process.exit(2);
  }
  const good = loadKeys(dir, 'secrets.json');
  const wrong = loadKeys(dir, 'wrong-secrets.json');
  const clientPrefixes = (good?.keys.client_prefixes ?? []).map(parsePrefix);
  const isClient = (addr: string): boolean => clientPrefixes.some((p) => prefixContains(p, parseIpv6(addr)));

  // Traces.
  const traceFiles = readdirSync(dir).filter((f) => /^trace-.*\.txt$/.test(f)).sort();
  const traces = new Map<string, TraceRecord[]>();
  let traceCount = 0;
  const traceErrors: string[] = [];
  for (const f of traceFiles) {
    readFileSync(join(dir, f), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const t = parseTraceLine(line, `${f}:${i + 1}`);
        if (t === null) return;
        if (typeof t === 'string') {
          traceErrors.push(t);
          return;
        }
        if (t.fmt !== 'encrypted') return;
        traceCount++;
        const k = tupleKey(t, t.proto, t.psntp);
        const list = traces.get(k) ?? [];
        list.push(t);
        traces.set(k, list);
      });
  }
  check('trace files hold encrypted pdmv2_emit records', traceCount > 0, `${traceFiles.length} files, ${traceCount} records`);
  check('every pdmv2_emit trace line parses', traceErrors.length === 0, `${traceErrors.length} bad${traceErrors[0] ? `, first: ${traceErrors[0]}` : ''}`);

  const pcaps = readdirSync(dir).filter((f) => f.endsWith('.pcap')).sort();
  check('the lab left captures to check', pcaps.length > 0, `${pcaps.length} files`);

  let toServer = 0;
  let toClient = 0;
  /** Opened options per capture and flow direction, by PSN. */
  const opened = new Map<string, Map<string, FlowOptions>>();
  /** Per capture: how often each (flow direction, epoch, PSNTP) was seen. */
  const noncesByCapture = new Map<string, Map<string, number>>();

  for (const name of pcaps) {
    let packets: CapturedPacket[];
    try {
      packets = readPcap(new Uint8Array(readFileSync(join(dir, name))));
    } catch (err) {
      check(`${name}: readable pcap`, false, (err as Error).message);
      continue;
    }
    if (good) {
      const all = decode(packets, good.ring.source);
      const undecodable = all.filter((r) => r.error && !encrypted(r));
      if (undecodable.length) info(`${name}: ${undecodable.length} PDM options that do not decode (first: frame ${undecodable[0]!.index + 1} ${undecodable[0]!.error})`);
      const records = all.filter(encrypted);
      const bad = records.filter((r) => r.decryption !== 'ok');
      check(
        `${name}: every encrypted option opens with secrets.json`,
        bad.length === 0,
        `${records.length} options, ${bad.length} not opened${bad[0] ? `, first: frame ${bad[0].index + 1} ${bad[0].decryption}` : ''}`,
      );
      const nonces = new Map<string, number>();
      for (const r of records) {
        if (r.decryption !== 'ok' || r.option?.format !== 'pdmv2-clear') continue;
        const k = nonceKey(r, r.option);
        nonces.set(k, (nonces.get(k) ?? 0) + 1);
      }
      const repeated = [...nonces].filter(([, n]) => n > 1);
      check(
        `${name}: no flow direction repeats an (epoch, PSNTP) pair`,
        repeated.length === 0,
        `${nonces.size} pairs, ${repeated.length} repeated${repeated[0] ? `, first: ${repeated[0][0]} ${repeated[0][1]} times` : ''}`,
      );
      noncesByCapture.set(name, nonces);
      let matched = 0;
      const missing: string[] = [];
      const differing: string[] = [];
      for (const r of records) {
        if (r.decryption !== 'ok' || r.option?.format !== 'pdmv2-clear') continue;
        const o = r.option;
        if (isClient(r.src)) toServer++;
        else if (isClient(r.dst)) toClient++;
        const flows = opened.get(name) ?? new Map<string, FlowOptions>();
        opened.set(name, flows);
        const flow = flows.get(flowKey(r)) ?? { sample: r, byPsn: new Map<number, Pdmv2Clear>() };
        flow.byPsn.set(o.psntp, o);
        flows.set(flowKey(r), flow);
        const candidates = traces.get(tupleKey(r, r.protocol, o.psntp)) ?? [];
        const where = `frame ${r.index + 1} ${flowKey(r)} psntp ${o.psntp}`;
        if (candidates.length === 0) missing.push(where);
        else if (candidates.some((t) => traceDiff(o, t).length === 0)) matched++;
        else differing.push(`${where}: ${traceDiff(o, candidates[0]!).join(', ')} (${candidates[0]!.where})`);
      }
      check(
        `${name}: every opened option has an identical pdmv2_emit trace record`,
        missing.length === 0 && differing.length === 0,
        `${matched} identical, ${missing.length} without a record, ${differing.length} differing`,
      );
      for (const m of missing.slice(0, MAX_EXAMPLES)) info(`no trace record: ${m}`);
      for (const d of differing.slice(0, MAX_EXAMPLES)) info(`trace differs: ${d}`);
    }
    if (wrong) {
      const records = decode(packets, wrong.ring.source).filter(encrypted);
      const notMismatch = records.filter((r) => r.decryption !== 'TAG_MISMATCH');
      check(
        `${name}: with wrong-secrets.json every encrypted option fails with TAG_MISMATCH`,
        notMismatch.length === 0,
        `${records.length} options, ${notMismatch.length} other outcomes${notMismatch[0] ? `, first: frame ${notMismatch[0].index + 1} ${notMismatch[0].decryption}` : ''}`,
      );
    }
  }
  check('encrypted options opened client -> server', toServer > 0, `${toServer} options`);
  check('encrypted options opened server -> client', toClient > 0, `${toClient} options`);

  const expectFiles = readdirSync(dir).filter((f) => /^expect-.+\.json$/.test(f)).sort();
  for (const file of expectFiles) {
    let checks: EpochCheck[];
    try {
      checks = parseEpochExpectations(readFileSync(join(dir, file), 'utf8'), file);
      check(`${file} parses`, true, `${checks.length} selectors`);
    } catch (err) {
      check(`${file} parses`, false, (err as Error).message);
      continue;
    }
    for (const c of checks) {
      const flows = flowsOf(opened, c.capture).filter((f) => selects(c, f.sample));
      check(`${c.label}: selects opened flows`, flows.length > 0, `${flows.length} flow directions${c.capture ? ` in ${c.capture}` : ''}`);
      for (const f of flows) {
        const options = [...f.byPsn.values()].map((o) => ({ psntp: o.psntp, epoch: o.epoch }));
        const v = checkFlowEpochs(options, c.rekey_packets, c.generations, c.min_rekeys);
        const what = [
          c.rekey_packets !== undefined ? `epoch advances every ${c.rekey_packets} PSNs` : '',
          c.generations ? `generations ${c.generations.join(' -> ')}` : 'generations never go back',
        ]
          .filter(Boolean)
          .join(', ');
        check(`${c.label}: ${flowKey(f.sample)}: ${what}`, v.ok, v.detail);
        for (const p of v.problems.slice(0, MAX_EXAMPLES)) info(p);
      }
    }
  }

  checkRestarts(dir, noncesByCapture);
  finish();
}

/** restarts.json: one 5-tuple restarted (idle expiry, reload) shows one epoch per flow state and no nonce twice. */
function checkRestarts(dir: string, noncesByCapture: Map<string, Map<string, number>>): void {
  let text: string;
  try {
    text = readFileSync(join(dir, 'restarts.json'), 'utf8');
  } catch {
    return;
  }
  let want: { capture: string; src: string; dst: string; sport: number; dport: number; protocol: number; options: number; states: number };
  try {
    want = JSON.parse(text) as typeof want;
    for (const k of ['sport', 'dport', 'protocol', 'options', 'states'] as const) if (!Number.isInteger(want[k])) throw new Error(`${k} must be an integer`);
    if (typeof want.capture !== 'string' || typeof want.src !== 'string' || typeof want.dst !== 'string') throw new Error('capture, src and dst must be strings');
    check('restarts.json parses', true, want.capture);
  } catch (err) {
    check('restarts.json parses', false, (err as Error).message);
    return;
  }
  const flow = `${want.protocol} [${canonicalAddress(want.src)}]:${want.sport} > [${canonicalAddress(want.dst)}]:${want.dport}`;
  const pairs = [...(noncesByCapture.get(want.capture) ?? new Map<string, number>())].filter(([k]) => k.startsWith(`${flow} `));
  const options = pairs.reduce((n, [, c]) => n + c, 0);
  const epochs = new Set(pairs.map(([k]) => / e(0x[0-9a-f]+) /.exec(k)![1]));
  const repeated = pairs.filter(([, c]) => c > 1);
  check(
    `restarted flow ${flow}: ${want.options} options under ${want.states} distinct epochs, no (epoch, PSNTP) pair twice`,
    options === want.options && epochs.size === want.states && repeated.length === 0,
    `${options} options, epochs ${[...epochs].join(' ')}, ${repeated.length} pairs repeated${repeated[0] ? ` (first: ${repeated[0][0]})` : ''}`,
  );
}

if (process.argv[1] && /check-encrypted\.js$/.test(process.argv[1])) main();
