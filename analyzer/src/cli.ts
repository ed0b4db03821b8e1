// pdmv2 analyzer command line (Node).
//   node .build/node/analyzer/src/cli.js decode FILE.pcap [--json] [--all] [KEYS]
//   node .build/node/analyzer/src/cli.js flows FILE.pcap [--json] [KEYS]
//   KEYS: --keys FILE [--keys FILE...] [--analyzer-key FILE] [--primary-key HEX]
// decode: one line per IPv6 packet that carries a PDM option (--all: every IPv6
// packet), or a JSON array with --json. flows: per-flow report (loss,
// reordering, PSNLR consistency, deltas against the capture's timestamps).
// --keys: analyzer key files (plaintext AnalyzerKeys JSON, or sealed files from
// `primary export-keys`, which need the analyzer's secret key file from
// `primary analyzer-keygen` given with --analyzer-key; --primary-key insists on
// the primary that sealed them). Encrypted options are then opened and their
// metrics decoded like clear ones (docs/analyzer.md).
import { readFileSync } from 'node:fs';
import { fromHex } from '../../core/src/util/bytes.js';
import type { AnalyzerKeys } from '../../core/src/enroll/export.js';
import { decodeCapture, formatRecord, type KeySource, type PdmRecord } from './decode.js';
import { analyzeFlows, formatFlowReport } from './flows.js';
import { AnalyzerKeyFileError, AnalyzerKeyRing, parseAnalyzerKeyFile, parseAnalyzerSecretKey } from './keys.js';
import { readPcap, PcapError } from './pcap.js';

function usage(): never {
  process.stderr.write(
    'usage: pdmv2-analyze decode FILE.pcap [--json] [--all] [KEYS]\n' +
      '       pdmv2-analyze flows FILE.pcap [--json] [KEYS]\n' +
      '  KEYS: --keys FILE [--keys FILE...] [--analyzer-key FILE] [--primary-key HEX]\n',
  );
  process.exit(2);
}

function fail(file: string, why: string): never {
  process.stderr.write(`pdmv2-analyze: ${file}: ${why}\n`);
  process.exit(1);
}

interface Args {
  command: 'decode' | 'flows';
  file: string;
  json: boolean;
  all: boolean;
  keys: string[];
  analyzerKey: string | null;
  primaryKey: string | null;
}

function parseArgs(argv: string[]): Args {
  const [command, file, ...rest] = argv;
  if ((command !== 'decode' && command !== 'flows') || !file) usage();
  const a: Args = { command, file, json: false, all: false, keys: [], analyzerKey: null, primaryKey: null };
  for (let i = 0; i < rest.length; i++) {
    const f = rest[i]!;
    const value = (): string => {
      const v = rest[++i];
      if (v === undefined) usage();
      return v;
    };
    if (f === '--json') a.json = true;
    else if (f === '--all') a.all = true; // accepted and ignored by flows, as before
    else if (f === '--keys') a.keys.push(value());
    else if (f === '--analyzer-key') a.analyzerKey = value();
    else if (f === '--primary-key') a.primaryKey = value();
    else usage();
  }
  if ((a.analyzerKey || a.primaryKey) && a.keys.length === 0) usage();
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

function main(argv: string[]): void {
  const a = parseArgs(argv);
  let packets;
  try {
    packets = readPcap(readBytes(a.file));
  } catch (err) {
    fail(a.file, err instanceof PcapError ? err.message : `cannot read: ${(err as Error).message}`);
  }
  const keys = loadKeys(a);
  const records = decodeCapture(packets, keys);
  if (a.command === 'flows') {
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
    return;
  }
  const shown = records.filter((r) => a.all || r.option || r.error);
  if (a.json) {
    process.stdout.write(`${JSON.stringify(shown, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 1)}\n`);
  } else {
    for (const r of shown) process.stdout.write(`${formatRecord(r)}\n`);
  }
}

// `pdmv2-analyze decode big.pcap | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv.slice(2));
