// pdmv2 analyzer command line (Node).
//   node .build/node/analyzer/src/cli.js decode FILE.pcap [--json] [--all]
// Prints one line per IPv6 packet that carries a PDM option (--all: every IPv6
// packet), or a JSON array with --json.
import { readFileSync } from 'node:fs';
import { decodeCapture, formatRecord } from './decode.js';
import { readPcap, PcapError } from './pcap.js';

function usage(): never {
  process.stderr.write('usage: pdmv2-analyze decode FILE.pcap [--json] [--all]\n');
  process.exit(2);
}

function main(argv: string[]): void {
  const [command, file, ...flags] = argv;
  if (command !== 'decode' || !file) usage();
  for (const f of flags) if (f !== '--json' && f !== '--all') usage();
  let packets;
  try {
    packets = readPcap(new Uint8Array(readFileSync(file)));
  } catch (err) {
    const why = err instanceof PcapError ? err.message : `cannot read: ${(err as Error).message}`;
    process.stderr.write(`pdmv2-analyze: ${file}: ${why}\n`);
    process.exit(1);
  }
  const records = decodeCapture(packets).filter((r) => flags.includes('--all') || r.option || r.error);
  if (flags.includes('--json')) {
    process.stdout.write(`${JSON.stringify(records, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 1)}\n`);
  } else {
    for (const r of records) process.stdout.write(`${formatRecord(r)}\n`);
  }
}

main(process.argv.slice(2));
