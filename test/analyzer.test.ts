// Analyzer: pcap reading (both byte orders, µs and ns), link layers, PDM decoding
// of clear, v1 and encrypted options, and clear errors for bad files.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { insertPdmOption } from '../core/src/wire/ipv6.js';
import { AEAD_AES_128_GCM } from '../core/src/keys/schedule.js';
import { encodeClear, encodeV1 } from '../core/src/wire/options.js';
import { sealOption } from '../core/src/keys/seal.js';
import { decodeCapture, formatRecord, type PdmRecord } from '../analyzer/src/decode.js';
import { analyzeFlows, formatFlowReport } from '../analyzer/src/flows.js';
import { decodeNanoseconds, encodeNanoseconds } from '../core/src/time/delta.js';
import { LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL2, PcapError, readPcap } from '../analyzer/src/pcap.js';
import { frame, pcap, udpPacket } from './pcap-fixtures.js';

const fields = { epoch: 1, psntp: 100, psnlr: 7, globalPointer: 3, scaleDtlr: 14, scaleDtls: 0, deltaTlr: 61035, deltaTls: 0 };

function must(r: ReturnType<typeof insertPdmOption>): Uint8Array {
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

test('reads all four pcap header variants and decodes clear and v1 options', () => {
  for (const little of [true, false]) {
    for (const nanos of [true, false]) {
      for (const linkType of [LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL2]) {
        const clear = must(insertPdmOption(udpPacket(), encodeClear(fields)));
        const v1 = must(insertPdmOption(udpPacket(), encodeV1({ scaleDtlr: 0, scaleDtls: 0, psntp: 5, psnlr: 4, deltaTlr: 9, deltaTls: 0 })));
        const packets = readPcap(pcap([frame(linkType, clear), frame(linkType, udpPacket()), frame(linkType, v1)], { little, nanos, linkType }));
        assert.is(packets.length, 3);
        assert.is(packets[1]!.timestampNs, 1700000001n * 1_000_000_000n + (nanos ? 123n : 123_000n));
        const records = decodeCapture(packets);
        assert.is(records.length, 3);
        assert.is(records[0]!.option?.format, 'pdmv2-clear');
        assert.is(records[0]!.sport, 40000);
        assert.ok(Math.abs(records[0]!.deltaTlrNs! - 1) < 0.00001, 'DeltaTLR decodes to 1 ns');
        assert.is(records[1]!.option, null);
        assert.is(records[2]!.option?.format, 'pdm-v1');
        assert.match(formatRecord(records[0]!), /pdmv2 epoch=1 psntp=100 psnlr=7 gp=3/);
      }
    }
  }
});

test('opens encrypted options with the right key and reports the wrong one', () => {
  const key = new Uint8Array(16).fill(7);
  const sealed = must(insertPdmOption(udpPacket(), sealOption(key, AEAD_AES_128_GCM, fields)));
  const packets = readPcap(pcap([frame(LINKTYPE_ETHERNET, sealed)], { little: true, nanos: false, linkType: LINKTYPE_ETHERNET }));
  assert.is(decodeCapture(packets)[0]!.error, 'NO_KEY');
  const opened = decodeCapture(packets, () => ({ key, aeadId: AEAD_AES_128_GCM }))[0]!;
  assert.is(opened.error, null);
  assert.equal(opened.option, { format: 'pdmv2-clear', ...fields });
  const wrong = decodeCapture(packets, () => ({ key: new Uint8Array(16), aeadId: AEAD_AES_128_GCM }))[0]!;
  assert.is(wrong.error, 'TAG_MISMATCH');
});

test('packets cut by the snapshot length still decode (tcpdump -s 256)', () => {
  const payload = new Uint8Array(48 + 400);
  payload.set(udpPacket());
  payload[4] = 408 >> 8;
  payload[5] = 408 & 0xff;
  const inserted = must(insertPdmOption(payload, encodeClear(fields)));
  const cut = inserted.subarray(0, 120);
  const packets = readPcap(pcap([frame(LINKTYPE_ETHERNET, cut)], { little: true, nanos: false, linkType: LINKTYPE_ETHERNET }));
  const [r] = decodeCapture(packets);
  assert.is(r?.option?.format, 'pdmv2-clear');
  assert.is(r?.sport, 40000);
});

test('bad files give clear errors', () => {
  assert.throws(() => readPcap(new Uint8Array(10)), (e: unknown) => e instanceof PcapError && /shorter/.test(e.message));
  assert.throws(() => readPcap(new Uint8Array(24)), (e: unknown) => e instanceof PcapError && /magic/.test(e.message));
  const good = pcap([frame(LINKTYPE_ETHERNET, udpPacket())], { little: true, nanos: false, linkType: LINKTYPE_ETHERNET });
  assert.throws(() => readPcap(good.subarray(0, good.length - 1)), (e: unknown) => e instanceof PcapError && /truncated/.test(e.message));
  const ng = new Uint8Array(24);
  ng.set([0x0a, 0x0d, 0x0d, 0x0a]);
  // pcapng is read now (test/analyzer-input.test.ts); a section header without its byte-order magic is corrupt.
  assert.throws(() => readPcap(ng), (e: unknown) => e instanceof PcapError && /corrupt section header/.test(e.message));
});

function pingRecord(index: number, tMs: number, fromClient: boolean, psntp: number, psnlr: number, tlrNs: number, tlsNs: number, gp: number): PdmRecord {
  const tlr = encodeNanoseconds(tlrNs);
  const tls = encodeNanoseconds(tlsNs);
  const option = { format: 'pdmv2-clear' as const, epoch: 0, psntp, psnlr, globalPointer: gp, scaleDtlr: tlr.scale, scaleDtls: tls.scale, deltaTlr: tlr.delta, deltaTls: tls.delta };
  return {
    index,
    timestampNs: BigInt(Math.round(tMs * 1e6)),
    src: fromClient ? '2001:db8:1::10' : '2001:db8:2::20',
    dst: fromClient ? '2001:db8:2::20' : '2001:db8:1::10',
    sport: 7,
    dport: 7,
    protocol: 58,
    option,
    error: null,
    deltaTlrNs: decodeNanoseconds({ delta: tlr.delta, scale: tlr.scale }),
    deltaTlsNs: decodeNanoseconds({ delta: tls.delta, scale: tls.scale }),
  };
}

test('flow analysis of a request/response exchange: PSNs, PSNLR, deltas against the capture, global pointer', () => {
  const ms = 1e6;
  const records = [
    pingRecord(0, 0, true, 100, 0, 0, 0, 1),
    pingRecord(1, 1, false, 500, 100, 1 * ms, 0, 1),
    pingRecord(2, 10, true, 101, 500, 9 * ms, 1 * ms, 2),
    pingRecord(3, 11, false, 501, 101, 1 * ms, 9 * ms, 2),
    pingRecord(4, 20, true, 102, 501, 9 * ms, 1 * ms, 3),
  ];
  const report = analyzeFlows(records);
  assert.is(report.flows.length, 2);
  const [client, server] = report.flows;
  assert.is(client!.packets, 3);
  assert.is(client!.psnGaps, 0);
  assert.is(client!.psnlrInvalid, 0);
  assert.is(client!.psnlrExact, 2);
  assert.is(server!.psnlrExact, 2);
  assert.ok(client!.deltaTlrMaxErrorNs! < 1000, `TLR error ${client!.deltaTlrMaxErrorNs}`);
  assert.ok(client!.deltaTlsMaxErrorNs! < 1000, `TLS error ${client!.deltaTlsMaxErrorNs}`);
  assert.ok(server!.deltaTlrMaxErrorNs! < 1000);
  assert.equal(report.globalPointers.map((g) => g.violations), [0, 0]);
  assert.match(formatFlowReport(client!), /psn gaps 0/);
});

test('flow analysis detects gaps, reordering, bad PSNLR, wrong deltas and a stuck global pointer', () => {
  const ms = 1e6;
  const records = [
    pingRecord(0, 0, true, 100, 0, 0, 0, 1),
    pingRecord(1, 1, false, 500, 100, 1 * ms, 0, 1),
    pingRecord(2, 10, true, 103, 500, 3 * ms, 1 * ms, 1),
    pingRecord(3, 11, true, 102, 999, 0, 0, 2),
  ];
  const [client] = analyzeFlows(records).flows;
  assert.is(client!.psnGaps, 2);
  assert.is(client!.psnReordered, 1);
  assert.is(client!.psnlrInvalid, 1);
  assert.ok(client!.deltaTlrMaxErrorNs! > 5 * ms, 'DeltaTLR of 3 ms against 9 ms in the capture');
  assert.is(analyzeFlows(records).globalPointers[0]!.violations, 1);
});

test.run();
