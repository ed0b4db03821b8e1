// pdmv2 analyzer command line (Node); docs/analyzer.md is the manual.
//   pdmv2-analyze flows FILE [--json | --csv | --html OUT] [--check] [KEYS]
//   pdmv2-analyze decode FILE [--json] [--all] [KEYS]
//   pdmv2-analyze decrypt IN OUT KEYS
//   KEYS: --keys FILE [--keys FILE...] [--analyzer-key FILE] [--primary-key HEX]
// FILE is pcap or pcapng, optionally gzip-compressed, or "-" for standard input.
// flows: per flow and per host pair, RFC 8250 round-trip time, server and
// client delay, network RTT, loss, reordering, duplicates (a table; JSON, CSV
// or a self-contained HTML page with plots on request); --check instead prints
// the developer's self-check of the deltas against the capture's timestamps.
// decode: one line per packet with a PDM option. decrypt: a copy of the
// capture with every opened encrypted option replaced by its clear form.
import { readFileSync, writeFileSync } from 'node:fs';
import { fromHex } from '../../core/src/util/bytes.js';
import type { AnalyzerKeys } from '../../core/src/enroll/export.js';
import { decodeCapture, formatRecord, type KeySource, type PdmRecord } from './decode.js';
import { analyzeFlows, formatFlowReport } from './flows.js';
import { AnalyzerKeyFileError, AnalyzerKeyRing, parseAnalyzerKeyFile, parseAnalyzerSecretKey } from './keys.js';
import { decryptCaptureInPlace } from './decrypt-export.js';
import { FlowEngine } from './flow-metrics.js';
import { InputError, readWholeCapture, streamCapture } from './input.js';
import { formatHtml } from './output-html.js';
import { formatCsv, formatTable } from './output-text.js';
import { readCaptureLenient } from './pcap.js';
import { buildReport } from './report.js';

function usage(): never {
  process.stderr.write(
    'usage: pdmv2-analyze flows FILE [--json | --csv | --html OUT] [--check] [KEYS]\n' +
      '       pdmv2-analyze decode FILE [--json] [--all] [KEYS]\n' +
      '       pdmv2-analyze decrypt IN OUT KEYS\n' +
      '  FILE: pcap or pcapng, gzip-compressed or not, "-" for standard input\n' +
      '  KEYS: --keys FILE [--keys FILE...] [--analyzer-key FILE] [--primary-key HEX]\n',
  );
  process.exit(2);
}

function fail(file: string, why: string): never {
  process.stderr.write(`pdmv2-analyze: ${file}: ${why}\n`);
  process.exit(1);
}

interface Args {
  command: 'decode' | 'flows' | 'decrypt';
  file: string;
  out: string | null;
  json: boolean;
  csv: boolean;
  html: string | null;
  check: boolean;
  all: boolean;
  keys: string[];
  analyzerKey: string | null;
  primaryKey: string | null;
}

function parseArgs(argv: string[]): Args {
  const [command, file, ...rest] = argv;
  if ((command !== 'decode' && command !== 'flows' && command !== 'decrypt') || !file) usage();
  const a: Args = { command, file, out: null, json: false, csv: false, html: null, check: false, all: false, keys: [], analyzerKey: null, primaryKey: null };
  if (command === 'decrypt') {
    a.out = rest.shift() ?? null;
    if (!a.out || a.out.startsWith('--')) usage();
  }
  for (let i = 0; i < rest.length; i++) {
    const f = rest[i]!;
    const value = (): string => {
      const v = rest[++i];
      if (v === undefined) usage();
      return v;
    };
    if (f === '--json') a.json = true;
    else if (f === '--csv' && command === 'flows') a.csv = true;
    else if (f === '--html' && command === 'flows') a.html = value();
    else if (f === '--check' && command === 'flows') a.check = true;
    else if (f === '--all') a.all = true; // accepted and ignored by flows, as before
    else if (f === '--keys') a.keys.push(value());
    else if (f === '--analyzer-key') a.analyzerKey = value();
    else if (f === '--primary-key') a.primaryKey = value();
    else usage();
  }
  if ((a.analyzerKey || a.primaryKey) && a.keys.length === 0) usage();
  if (command === 'decrypt' && a.keys.length === 0) usage();
  if ([a.json, a.csv, a.html !== null].filter(Boolean).length > 1) usage();
  if (a.check && (a.csv || a.html !== null)) usage();
  return a;
}

function readBytes(file: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(file));
  } catch (err) {
    fail(file, `cannot read: ${(err as Error).message}`);
  }
}

function loadKeys(a: Args): KeySource | undefined {
  if (a.keys.length === 0) return undefined;
  let sk: Uint8Array | undefined;
  if (a.analyzerKey) {
    try {
      sk = parseAnalyzerSecretKey(Buffer.from(readBytes(a.analyzerKey)).toString('latin1'));
    } catch (err) {
      fail(a.analyzerKey, (err as Error).message);
    }
  }
  let primaryPk: Uint8Array | undefined;
  if (a.primaryKey) {
    const t = a.primaryKey.trim().toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(t)) fail('--primary-key', 'a public key is 64 hex digits');
    primaryPk = fromHex(t);
  }
  const files: AnalyzerKeys[] = [];
  for (const file of a.keys) {
    try {
      files.push(parseAnalyzerKeyFile(readBytes(file), sk, primaryPk ? { primaryPk } : {}));
    } catch (err) {
      if (err instanceof AnalyzerKeyFileError) fail(file, err.message);
      throw err;
    }
  }
  try {
    return new AnalyzerKeyRing(files).source;
  } catch (err) {
    if (err instanceof AnalyzerKeyFileError) fail(a.keys.join(', '), err.message);
    throw err;
  }
}

/** Counts of encrypted options by outcome (only printed when keys were given). */
function decryptionCounts(records: PdmRecord[]): { opened: number; tagMismatch: number; noKey: number; other: number } {
  const c = { opened: 0, tagMismatch: 0, noKey: 0, other: 0 };
  for (const r of records) {
    if (r.decryption === undefined) continue;
    if (r.decryption === 'ok') c.opened++;
    else if (r.decryption === 'TAG_MISMATCH') c.tagMismatch++;
    else if (r.decryption === 'NO_KEY') c.noKey++;
    else c.other++;
  }
  return c;
}

/** Whole capture in memory (decode, --check, decrypt); a damaged tail keeps what came before. */
async function wholeCapture(file: string): Promise<{ bytes: Uint8Array; gzip: boolean }> {
  try {
    return await readWholeCapture(file);
  } catch (err) {
    fail(file, (err as Error).message);
  }
}

function warnDamaged(file: string, error: string | null): void {
  if (error) process.stderr.write(`pdmv2-analyze: ${file}: ${error}\n`);
}

async function flows(a: Args, keys: KeySource | undefined): Promise<boolean> {
  const engine = new FlowEngine(keys);
  let read;
  try {
    read = await streamCapture(a.file, engine.packet);
  } catch (err) {
    fail(a.file, err instanceof InputError ? err.message : `cannot read: ${(err as Error).message}`);
  }
  if (read.packets === 0 && read.error) fail(a.file, read.error);
  const built = buildReport(engine, { file: a.file === '-' ? 'stdin' : a.file, format: read.format, baseNs: read.baseNs, error: read.error }, keys !== undefined);
  if (a.json) process.stdout.write(`${JSON.stringify(built.report, null, 1)}\n`);
  else if (a.csv) process.stdout.write(formatCsv(built.report));
  else {
    if (a.html !== null) {
      try {
        writeFileSync(a.html, formatHtml(built));
      } catch (err) {
        fail(a.html, `cannot write: ${(err as Error).message}`);
      }
    }
    process.stdout.write(formatTable(built.report));
  }
  warnDamaged(a.file, read.error);
  return read.error === null;
}

async function selfCheck(a: Args, keys: KeySource | undefined): Promise<boolean> {
  const { packets, error } = readCaptureLenient((await wholeCapture(a.file)).bytes);
  if (packets.length === 0 && error) fail(a.file, error.message);
  const records = decodeCapture(packets, keys);
  const report = analyzeFlows(records);
  const counts = keys ? decryptionCounts(records) : null;
  if (a.json) process.stdout.write(`${JSON.stringify(counts ? { ...report, decryption: counts } : report, null, 1)}\n`);
  else {
    for (const f of report.flows) process.stdout.write(`${formatFlowReport(f)}\n`);
    for (const g of report.globalPointers) {
      process.stdout.write(`global pointer ${g.source}: ${g.packets} packets, ${g.first}..${g.last}, ${g.violations} violations\n`);
    }
    if (counts) {
      const other = counts.other ? `, ${counts.other} malformed` : '';
      process.stdout.write(`encrypted options: ${counts.opened} opened, ${counts.tagMismatch} TAG_MISMATCH, ${counts.noKey} NO_KEY${other}\n`);
    }
  }
  warnDamaged(a.file, error?.message ?? null);
  return error === null;
}

async function decode(a: Args, keys: KeySource | undefined): Promise<boolean> {
  const { packets, error } = readCaptureLenient((await wholeCapture(a.file)).bytes);
  if (packets.length === 0 && error) fail(a.file, error.message);
  const records = decodeCapture(packets, keys);
  const shown = records.filter((r) => a.all || r.option || r.error);
  if (a.json) {
    process.stdout.write(`${JSON.stringify(shown, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 1)}\n`);
  } else {
    for (const r of shown) process.stdout.write(`${formatRecord(r)}\n`);
  }
  warnDamaged(a.file, error?.message ?? null);
  return error === null;
}

async function decrypt(a: Args, keys: KeySource): Promise<boolean> {
  const { bytes, gzip } = await wholeCapture(a.file);
  const r = decryptCaptureInPlace(bytes, keys);
  if (r.packets === 0 && r.error) fail(a.file, r.error);
  try {
    writeFileSync(a.out!, bytes);
  } catch (err) {
    fail(a.out!, `cannot write: ${(err as Error).message}`);
  }
  const other = r.other ? `, ${r.other} malformed` : '';
  const note = gzip ? ' (written uncompressed)' : '';
  process.stdout.write(`${a.out}${note}: ${r.packets} packets, ${r.encrypted} encrypted options: ${r.opened} opened and written in clear, ${r.tagMismatch} TAG_MISMATCH, ${r.noKey} NO_KEY${other} (left as they were)\n`);
  warnDamaged(a.file, r.error);
  return r.error === null;
}

async function main(argv: string[]): Promise<void> {
  const a = parseArgs(argv);
  const keys = loadKeys(a);
  let ok: boolean;
  if (a.command === 'decrypt') ok = await decrypt(a, keys!);
  else if (a.command === 'decode') ok = await decode(a, keys);
  else if (a.check) ok = await selfCheck(a, keys);
  else ok = await flows(a, keys);
  // A damaged capture still gets its report, but the status says it was damaged.
  if (!ok) process.exitCode = 1;
}

// `pdmv2-analyze decode big.pcap | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

await main(process.argv.slice(2));
