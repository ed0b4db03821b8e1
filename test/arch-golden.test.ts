// The lab's endianness check (test/lab/check-arch-golden.ts): the golden
// options are read from a capture in order, only those to the golden port,
// and any difference from the reference, one octet or one option more or
// less, is found.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { insertPdmOption } from '../core/src/wire/ipv6.js';
import { encodeClear } from '../core/src/wire/options.js';
import { toHex } from '../core/src/util/bytes.js';
import { LINKTYPE_ETHERNET } from '../analyzer/src/pcap.js';
import { firstDifference, goldenOptions } from './lab/check-arch-golden.js';
import { frame, pcap, udpPacket } from './pcap-fixtures.js';

function withOption(dport: number, psntp: number): { packet: Uint8Array; option: string } {
  const p = udpPacket();
  p[42] = dport >> 8;
  p[43] = dport & 0xff;
  const option = encodeClear({ epoch: 0, psntp, psnlr: 0, globalPointer: psntp - 99, scaleDtlr: 0, scaleDtls: 0, deltaTlr: 0, deltaTls: 0 });
  const r = insertPdmOption(p, option);
  if (!r.ok) throw new Error(r.error);
  return { packet: r.value, option: toHex(option) };
}

const capture = (packets: Uint8Array[]): Uint8Array =>
  pcap(packets.map((p) => frame(LINKTYPE_ETHERNET, p)), { little: true, nanos: false, linkType: LINKTYPE_ETHERNET });

test('golden options: those to port 9999, in capture order, as sent', () => {
  const a = withOption(9999, 100);
  const other = withOption(5201, 500);
  const b = withOption(9999, 101);
  assert.equal(goldenOptions(capture([a.packet, other.packet, udpPacket(), b.packet])), [a.option, b.option]);
});

test('golden options: a flipped octet, a missing and an extra option are differences', () => {
  const want = [withOption(9999, 100).option, withOption(9999, 101).option];
  assert.is(firstDifference(want, [...want]), -1);
  const flipped = want[1]!.slice(0, 10) + (want[1]![10] === '0' ? '1' : '0') + want[1]!.slice(11);
  assert.is(firstDifference(want, [want[0]!, flipped]), 1);
  assert.is(firstDifference(want, [want[0]!]), 1);
  assert.is(firstDifference(want, [...want, want[0]!]), 2);
  assert.is(firstDifference(want, []), 0);
});

test.run();
