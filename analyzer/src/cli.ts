// pdmv2 analyzer command line (Node).
//   node .build/node/analyzer/src/cli.js decode FILE.pcap [--json] [--all]
//   node .build/node/analyzer/src/cli.js flows FILE.pcap [--json]
// decode: one line per IPv6 packet that carries a PDM option (--all: every IPv6
// packet), or a JSON array with --json. flows: per-flow report (loss,
// reordering, PSNLR consistency, deltas against the capture's timestamps).
import { readFileSync } from 'node:fs';
import { decodeCapture, formatRecord } from './decode.js';
import { analyzeFlows, formatFlowReport } from './flows.js';
import { readPcap, PcapError } from './pcap.js';

function usage(): never {
  process.stderr.write('usage: pdmv2-analyze decode FILE.pcap [--json] [--all]\n       pdmv2-analyze flows FILE.pcap [--json]\n');
  process.exit(2);
}

function main(argv: string[]): void {
  const [command, file, ...flags] = argv;
  if ((command !== 'decode' && command !== 'flows') || !file) usage();
  for (const f of flags) if (f !== '--json' && f !== '--all') usage();
  let packets;
  try {
    packets = readPcap(new Uint8Array(readFileSync(file)));
  } catch (err) {
    const why = err instanceof PcapError ? err.message : `cannot read: ${(err as Error).message}`;
    process.stderr.write(`pdmv2-analyze: ${file}: ${why}\n`);
    process.exit(1);
  }
  if (command === 'flows') {
    const report = analyzeFlows(decodeCapture(packets));
    if (flags.includes('--json')) process.stdout.write(`${JSON.stringify(report, null, 1)}\n`);
    else {
      for (const f of report.flows) process.stdout.write(`${formatFlowReport(f)}\n`);
      for (const g of report.globalPointers) {
        process.stdout.write(`global pointer ${g.source}: ${g.packets} packets, ${g.first}..${g.last}, ${g.violations} violations\n`);
      }
    }
    return;
  }
  const records = decodeCapture(packets).filter((r) => flags.includes('--all') || r.option || r.error);
  if (flags.includes('--json')) {
    process.stdout.write(`${JSON.stringify(records, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 1)}\n`);
  } else {
    for (const r of records) process.stdout.write(`${formatRecord(r)}\n`);
  }
}

// `pdmv2-analyze decode big.pcap | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv.slice(2));
