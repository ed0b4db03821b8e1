// Writes the malformed-PDM packets the lab's data-path scenario injects from the
// LAN host (one "name hex" line each): whole IPv6/UDP packets from LAN_IP to
// WAN_IP whose Destination Options carry broken PDM options, so that the
// router's and the server's ingress parsers meet them on real traffic.
//   node .build/node/test/lab/malformed-packets.js OUT_FILE
import { writeFileSync } from 'node:fs';
import { parseIpv6 } from '../../core/src/wire/addr.js';
import { toHex } from '../../core/src/util/bytes.js';
import { buildPacket } from '../../core/src/wire/ipv6.js';
import { encodeClear } from '../../core/src/wire/options.js';

const LAN_IP = '2001:db8:1::2';
const WAN_IP = '2001:db8:2::2';
const UDP = Uint8Array.from([0xc3, 0x50, 0x1f, 0x90, 0, 12, 0, 0, 0x70, 0x64, 0x6d, 0x32]);

function packet(nextHeader: number, payload: number[]): Uint8Array {
  return buildPacket(parseIpv6(LAN_IP), parseIpv6(WAN_IP), nextHeader, payload);
}

/** A Destination Options header (next header UDP) holding `body`, padded with PadN to a multiple of 8. */
function destOpts(body: number[]): number[] {
  const h = [17, 0, ...body];
  const pad = (8 - (h.length % 8)) % 8;
  if (pad === 1) h.push(0);
  else if (pad > 1) h.push(1, pad - 2, ...new Array<number>(pad - 2).fill(0));
  h[1] = h.length / 8 - 1;
  return h;
}

const clear = Array.from(encodeClear({ epoch: 0, psntp: 7, psnlr: 0, globalPointer: 1, scaleDtlr: 0, scaleDtls: 0, deltaTlr: 0, deltaTls: 0 }));
const withByte = (bytes: number[], i: number, v: number): number[] => bytes.map((b, j) => (j === i ? v : b));

// Expected classification by the module's ingress (kmod/pdmv2_xmit.c): see the lab scenario.
const cases: Array<[string, Uint8Array]> = [
  ['invalid:length-20', packet(60, [...destOpts([0x0f, 20, ...new Array<number>(20).fill(0)]), ...UDP])],
  ['invalid:clear-version-1', packet(60, [...destOpts(withByte(clear, 2, 0x10)), ...UDP])],
  ['invalid:encrypted-length-version-3', packet(60, [...destOpts([0x0f, 34, 0x30, 0, ...new Array<number>(32).fill(0xaa)]), ...UDP])],
  ['reserved:clear-reserved-bits', packet(60, [...destOpts(withByte(clear, 19, 1)), ...UDP])],
  ['parse:option-overruns-header', packet(60, [17, 0, 0x0f, 22, 0, 0, 0, 0, ...UDP])],
  ['any:two-pdm-options', packet(60, [...destOpts([...clear, ...clear]), ...UDP])],
  ['any:first-fragment', packet(44, [60, 0, 0, 1, 0, 0, 0, 9, ...destOpts(clear), ...UDP])],
  ['any:non-first-fragment', packet(44, [60, 0, 0, 8 * 3, 0, 0, 0, 9, ...destOpts(clear), ...UDP])],
  ['any:truncated-udp-after-option', packet(60, [...destOpts(clear), 0xc3, 0x50])],
];

const out = process.argv[2];
if (!out) {
  console.error('usage: malformed-packets OUT_FILE');
  process.exit(2);
}
writeFileSync(out, cases.map(([name, p]) => `${name} ${toHex(p)}\n`).join(''));
console.log(`wrote ${cases.length} packets to ${out}`);
