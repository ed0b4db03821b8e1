// The lab's endianness proof (qemu/arch-lab.sh, docs/lab.md "Other CPUs"):
//   node .build/node/test/lab/check-arch-golden.js REFERENCE_DIR DIR... [--psn-start N]
// Each DIR is one CPU's artifacts of qemu/scenarios/arch.sh, the first the
// reference (amd64). For every golden capture (golden-clear.pcap,
// golden-v1.pcap, enc/golden-encrypted.pcap: one-way UDP flows sent with the module's test_random
// fixed, so that nothing machine-dependent enters an option), the PDM options
// of the packets to the golden port, in capture order, must equal the
// reference's byte for byte. The reference itself must hold the expected
// number of options, its first option's PSN must be the fixed start, and the
// PSNs must count up by one (nothing lost, nothing random). Ends with
// "N passed, M failed" (checks.ts).
import { readFileSync, existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parsePacket } from '../../core/src/wire/ipv6.js';
import { decodeOption } from '../../core/src/wire/options.js';
import { toHex } from '../../core/src/util/bytes.js';
import { ipv6Payload, readPcap } from '../../analyzer/src/pcap.js';
import { check, finish, info } from './checks.js';

const GOLDEN_PORT = 9999;
const GOLDEN_PACKETS = 4;
const MODES = ['clear', 'v1', 'encrypted'] as const;

/** The PDM options of the packets to the golden port, in capture order, as hex. */
export function goldenOptions(pcap: Uint8Array): string[] {
  const out: string[] = [];
  for (const p of readPcap(pcap)) {
    const ip = ipv6Payload(p);
    if (!ip) continue;
    const parsed = parsePacket(ip, { captured: true });
    if (!parsed.ok || parsed.value.fiveTuple?.dport !== GOLDEN_PORT || !parsed.value.pdm) continue;
    const { offset, length } = parsed.value.pdm;
    out.push(toHex(ip.subarray(offset, offset + length)));
  }
  return out;
}

/** Where GOT first differs from WANT (an index), or -1 when they are equal, length included. */
export function firstDifference(want: readonly string[], got: readonly string[]): number {
  const n = Math.max(want.length, got.length);
  for (let i = 0; i < n; i++) if (want[i] !== got[i]) return i;
  return -1;
}

function label(dir: string): string {
  // DIR is ARTIFACTS/ARCH/arch: name it by the CPU
  return basename(dir) === 'arch' ? basename(dirname(dir)) : basename(dir);
}

function main(): void {
  const args = process.argv.slice(2);
  const psnIndex = args.indexOf('--psn-start');
  const psnStart = psnIndex >= 0 ? Number(args.splice(psnIndex, 2)[1]) : 0x5eed0103;
  const [ref, ...others] = args;
  if (!ref || others.length === 0) {
    console.error('usage: check-arch-golden REFERENCE_DIR DIR... [--psn-start N]');
    process.exit(2);
  }
  for (const mode of MODES) {
    // the encrypted captures sit in enc/ with their keys (qemu/scenarios/arch.sh)
    const name = `${mode === 'encrypted' ? 'enc/' : ''}golden-${mode}.pcap`;
    const refFile = join(ref, name);
    if (!existsSync(refFile)) {
      check(`${label(ref)}: ${name} present`, false, refFile);
      continue;
    }
    const want = goldenOptions(new Uint8Array(readFileSync(refFile)));
    const psns = want.map((hex) => {
      const d = decodeOption(Uint8Array.from(Buffer.from(hex, 'hex')), { allowReserved: false });
      return d.ok ? d.value.psntp : -1;
    });
    // v1 carries the low 16 bits of the PSN
    const first = mode === 'v1' ? psnStart & 0xffff : psnStart;
    const counting = psns.every((p, i) => p === first + i);
    check(`${label(ref)}: ${name} holds ${GOLDEN_PACKETS} options, PSN ${first} up by one`,
      want.length === GOLDEN_PACKETS && counting, `${want.length} options, PSNs ${psns.join(' ')}`);
    info(`${label(ref)} ${mode} first option: ${want[0] ?? 'none'}`);
    for (const dir of others) {
      const file = join(dir, name);
      if (!existsSync(file)) {
        check(`${label(dir)}: ${name} present`, false, file);
        continue;
      }
      const got = goldenOptions(new Uint8Array(readFileSync(file)));
      const firstDiff = firstDifference(want, got);
      const same = firstDiff < 0;
      check(`${label(dir)}: ${mode} option bytes equal ${label(ref)}'s`, same,
        same ? `${got.length} options` : `${got.length} options; first difference at #${firstDiff}: ${got[firstDiff] ?? 'none'} vs ${want[firstDiff] ?? 'none'}`);
    }
  }
  finish();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
