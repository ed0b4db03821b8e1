// The analyzer and the Wireshark dissector on the QEMU lab's captures (build/test.sh
// stage "analyzer-lab", after qemu-lab):
//   node .build/node/test/analyzer-lab.js ARTIFACT_DIR
// For every capture DIR/*/*.pcap:
//  - `pdmv2-analyze flows --json` reads it whole, and reads the pcapng that
//    editcap (Wireshark's own tool) makes of it to the same report;
//  - tshark with analyzer/wireshark/pdmv2.lua dissects every PDM option the
//    analyzer sees, with the same PSNTP, flags exactly the options the
//    analyzer rejects, and nothing else in those packets is malformed; the
//    built-in RFC 8250 dissector never gets an option;
// and where the scenario left its analyzer key file (secrets.json):
//  - `pdmv2-analyze decrypt` exports it; tshark reads metrics in clear for
//    every option the keys open, and the export's flow report without keys
//    equals the original's with keys;
//  - tshark with the C decryption plugin (analyzer/wireshark/decrypt/) and the
//    key file opens every option the analyzer opens, with the same PSNLR and
//    DeltaTLR, and nothing malformed.
// Prints ok/not ok lines and "N passed, M failed"; status 1 on failure.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installPlugins, type PluginTshark } from './wireshark-plugins.js';

const CLI = fileURLToPath(new URL('../analyzer/src/cli.js', import.meta.url));
const LUA = fileURLToPath(new URL('../../../analyzer/wireshark/pdmv2.lua', import.meta.url));

let passed = 0;
let failed = 0;
function check(name: string, ok: boolean, detail = ''): void {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok' : 'not ok'} - ${name}${!ok && detail ? ` (${detail})` : ''}`);
}

function run(cmd: string, args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 30 });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error?.message || '') };
}

interface Decoded {
  index: number;
  option: { format: string; psntp: number; psnlr?: number } | null;
  error: string | null;
  decryption?: string;
  deltaTlrNs?: number | null;
}

interface Flow {
  clientPort: number;
  serverPort: number;
  formats: string[];
}

interface Report {
  capture: Record<string, unknown>;
  flows: Flow[];
  hostPairs: unknown[];
  decryption: Record<string, number> | null;
}

function json<T>(args: string[]): { ok: boolean; value: T | null; err: string } {
  const r = run(process.execPath, [CLI, ...args]);
  if (r.code !== 0) return { ok: false, value: null, err: r.stderr.trim() || `exit ${r.code}` };
  return { ok: true, value: JSON.parse(r.stdout) as T, err: '' };
}

/**
 * Per frame number: [format, psntp, 3 × pdm malformed expert, _ws.malformed, built-in PDM psntp, dtlr_ns,
 * frame length, captured length, UDP length].
 */
function tsharkFrames(file: string): Map<number, string[]> | string {
  const r = run('tshark', [
    // HTTP off: the lab's downloads are random octets, and after a TCP retransmission
    // Wireshark's HTTP dissector may take a body segment for a header and call it
    // malformed (seen once in wan-mtu1280.pcap, frame 9545, full length, nothing dropped)
    '-n', '--disable-protocol', 'http', '-X', `lua_script:${LUA}`, '-r', file, '-Y', 'pdmv2 || ipv6.opt.pdm.psn_this_pkt || _ws.malformed', '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=f',
    '-e', 'frame.number', '-e', 'pdmv2.format', '-e', 'pdmv2.psntp', '-e', 'pdmv2.malformed.length', '-e', 'pdmv2.malformed.version', '-e', 'pdmv2.malformed.truncated',
    '-e', '_ws.malformed', '-e', 'ipv6.opt.pdm.psn_this_pkt', '-e', 'pdmv2.dtlr_ns', '-e', 'frame.len', '-e', 'frame.cap_len', '-e', 'udp.length',
  ]);
  if (r.code !== 0 || /Lua: Error/.test(r.stderr)) return `tshark exit ${r.code}: ${r.stderr.trim().slice(0, 300)}`;
  const m = new Map<number, string[]>();
  for (const line of r.stdout.split('\n')) {
    if (!line) continue;
    const [n, ...rest] = line.split('\t');
    m.set(Number(n), rest);
  }
  return m;
}

/**
 * A packet the capture cut short: a Lua dissector can only hand the upper
 * layer what was captured, so the upper layer sees a short packet where the
 * built-in dissector says "packet size limited during capture" (UDP's length
 * check, a TCP payload dissector running out of octets). A limitation of the
 * Lua API (docs/analyzer.md), nothing the option did.
 */
function snaplenCut(row: string[]): boolean {
  return Number(row[9]) < Number(row[8]);
}

function withoutSource(r: Report): unknown {
  const { file: _f, format: _g, ...capture } = r.capture;
  return { ...r, capture };
}

function checkCapture(file: string, work: string, keys: string | null): void {
  const name = `${basename(join(file, '..'))}/${basename(file)}`;
  const flows = json<Report>(['flows', file, '--json']);
  check(`${name}: flows report, file read to the end`, flows.ok && flows.value!.capture.error === null, flows.err);
  const decoded = json<Decoded[]>(['decode', file, '--json']);
  if (!flows.ok || !decoded.ok) return;
  const records = decoded.value!.filter((r) => r.option || r.error);
  const pdmCount = records.length;

  const ng = join(work, `${basename(file)}ng`);
  const conv = run('editcap', ['-F', 'pcapng', file, ng]);
  const ngFlows = conv.code === 0 ? json<Report>(['flows', ng, '--json']) : { ok: false, value: null, err: conv.stderr };
  check(
    `${name}: the pcapng editcap makes of it gives the same report`,
    ngFlows.ok && ngFlows.value!.capture.format === 'pcapng' && JSON.stringify(withoutSource(ngFlows.value!)) === JSON.stringify(withoutSource(flows.value!)),
    ngFlows.err || 'reports differ',
  );

  const frames = tsharkFrames(file);
  if (typeof frames === 'string') {
    check(`${name}: tshark with the PDMv2 dissector`, false, frames);
    return;
  }
  const problems: string[] = [];
  let dissected = 0;
  let flagged = 0;
  for (const r of records) {
    const row = frames.get(r.index + 1);
    const [format, psntp, badLength, badVersion, truncated] = row ?? [];
    const rejected = r.error !== null && r.error !== 'NO_KEY' && r.decryption === undefined;
    if (!row || !format) {
      problems.push(`frame ${r.index + 1}: not dissected`);
      continue;
    }
    dissected++;
    const pdmMalformed = Boolean(badLength || badVersion || truncated);
    if (pdmMalformed) flagged++;
    if (pdmMalformed !== rejected) problems.push(`frame ${r.index + 1}: expert ${pdmMalformed}, analyzer ${r.error}`);
    if (r.option && Number(psntp) !== r.option.psntp) problems.push(`frame ${r.index + 1}: psntp ${psntp} vs ${r.option.psntp}`);
  }
  let otherMalformed = 0;
  let cutFrames = 0;
  let builtin = 0;
  for (const [, row] of frames) {
    if (row[5] && !(row[2] || row[3] || row[4])) {
      if (snaplenCut(row)) cutFrames++;
      else otherMalformed++;
    }
    if (row[6]) builtin++;
  }
  check(
    `${name}: tshark dissects all ${pdmCount} PDM options with the analyzer's PSNTP (${flagged} malformed, as the analyzer says)`,
    problems.length === 0 && dissected === pdmCount,
    problems.slice(0, 5).join('; '),
  );
  const cutNote = cutFrames ? ` (${cutFrames} packets cut by the snapshot length whose upper layer Wireshark calls malformed, docs/analyzer.md)` : '';
  check(`${name}: no other malformed packet, no option left to the built-in PDM dissector${cutNote}`, otherMalformed === 0 && builtin === 0, `${otherMalformed} malformed, ${builtin} built-in`);

  if (!keys || !records.some((r) => r.option?.format === 'pdmv2-encrypted')) return;
  const out = join(work, `decrypted-${basename(file)}`);
  const dec = run(process.execPath, [CLI, 'decrypt', file, out, '--keys', keys]);
  check(`${name}: decrypt export with ${basename(keys)}`, dec.code === 0 && statSync(out).size === statSync(file).size, dec.stderr.trim() || dec.stdout.trim());
  if (dec.code !== 0) return;
  const opened = json<Decoded[]>(['decode', file, '--json', '--keys', keys]).value ?? [];
  const decFrames = tsharkFrames(out);
  if (typeof decFrames === 'string') {
    check(`${name}: tshark on the export`, false, decFrames);
    return;
  }
  let shown = 0;
  let openedCount = 0;
  const bad: string[] = [];
  for (const r of opened) {
    if (r.decryption !== 'ok') continue;
    openedCount++;
    const row = decFrames.get(r.index + 1);
    if (row && row[0] === 'PDMv2 (clear)' && row[7] !== '' && row[7] !== undefined && (!row[5] || snaplenCut(row))) shown++;
    else bad.push(`frame ${r.index + 1}: ${row?.[0] ?? 'not dissected'}`);
  }
  check(`${name}: tshark reads the metrics of all ${openedCount} opened options in the export`, openedCount > 0 && shown === openedCount, bad.slice(0, 5).join('; '));
  checkPlugin(name, file, keys, opened);
  const withKeys = json<Report>(['flows', file, '--json', '--keys', keys]);
  const plain = json<Report>(['flows', out, '--json']);
  const comparable = (r: Report | null): unknown => (r ? r.flows.map((f) => ({ ...f, formats: null })) : null);
  check(
    `${name}: the export's flow report without keys equals the capture's with keys`,
    withKeys.ok && plain.ok && JSON.stringify(comparable(plain.value)) === JSON.stringify(comparable(withKeys.value)),
    withKeys.err || plain.err || 'reports differ',
  );
}

let plugins: PluginTshark | string | null = null;

/** tshark with the decryption plugin and the key file against the analyzer's opened options. */
function checkPlugin(name: string, file: string, keys: string, opened: Decoded[]): void {
  plugins ??= installPlugins();
  if (typeof plugins === 'string') {
    check(`${name}: the decryption plugin builds and installs`, false, plugins);
    return;
  }
  const r = plugins.run(file, ['-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=f', '-e', 'frame.number', '-e', 'pdmv2_decrypt.status', '-e', 'pdmv2.psnlr', '-e', 'pdmv2.dtlr_ns', '-e', '_ws.malformed', '-e', 'frame.len', '-e', 'frame.cap_len', '-Y', 'pdmv2_decrypt'], plugins.keyFile(keys));
  if (r.code !== 0 || /pdmv2-decrypt:|Lua: Error/.test(r.stderr)) {
    check(`${name}: tshark with the decryption plugin`, false, r.stderr.trim().slice(0, 300) || `exit ${r.code}`);
    return;
  }
  const rows = new Map(r.stdout.split('\n').filter((l) => l).map((l) => { const c = l.split('\t'); return [Number(c[0]), c.slice(1)] as const; }));
  const bad: string[] = [];
  let count = 0;
  for (const d of opened) {
    if (d.decryption !== 'ok') continue;
    count++;
    const [status, psnlr, dtlr, malformed, len, capLen] = rows.get(d.index + 1) ?? [];
    // A packet cut by the snapshot length has its upper layer called malformed (the Lua limitation, docs/analyzer.md).
    const cut = Number(capLen) < Number(len);
    if (status !== 'ok' || Number(psnlr) !== d.option?.psnlr || Math.abs(Number(dtlr) - (d.deltaTlrNs ?? 0)) > 1e-3 || (malformed && !cut)) {
      bad.push(`frame ${d.index + 1}: ${status ?? 'nothing'} psnlr ${psnlr} vs ${d.option?.psnlr}, dtlr ${dtlr} vs ${d.deltaTlrNs}${malformed ? ', malformed' : ''}`);
    }
  }
  const extra = [...rows.values()].filter(([status]) => status === 'ok').length - count;
  check(`${name}: tshark with the decryption plugin opens all ${count} options the analyzer opens, with its PSNLR and DeltaTLR`, count > 0 && bad.length === 0 && extra === 0, bad.slice(0, 5).join('; ') || `${extra} more opened`);
}

function main(dir: string): void {
  if (!dir || !existsSync(dir)) {
    console.log(`not ok - artifact directory ${dir || '(none)'} exists`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  const work = mkdtempSync(join(tmpdir(), 'pdmv2-analyzer-lab-'));
  try {
    const captures: Array<[string, string | null]> = [];
    for (const sub of readdirSync(dir).sort()) {
      const d = join(dir, sub);
      if (!statSync(d).isDirectory()) continue;
      const keys = existsSync(join(d, 'secrets.json')) ? join(d, 'secrets.json') : null;
      for (const f of readdirSync(d).sort()) if (f.endsWith('.pcap')) captures.push([join(d, f), keys]);
    }
    check(`captures found in ${dir}`, captures.length > 0);
    check('an encrypted scenario left its key file (secrets.json)', captures.some(([, k]) => k !== null));
    for (const [file, keys] of captures) checkCapture(file, work, keys);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main(process.argv[2] ?? '');
