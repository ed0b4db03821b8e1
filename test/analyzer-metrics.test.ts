// Analyzer metrics in RFC 8250's terms, on exchanges whose numbers are known:
// round-trip time, server and client delay, network RTT, loss, reordering and
// duplicates per direction, percentiles, time series, host pairs; every PDM
// form; and the fast frame scanner held to core's parsePacket.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseIpv6 } from '../core/src/wire/addr.js';
import { buildPacket, parsePacket } from '../core/src/wire/ipv6.js';
import { AEAD_AES_128_GCM } from '../core/src/keys/schedule.js';
import { encodeClear } from '../core/src/wire/options.js';
import { CaptureParser } from '../analyzer/src/capture-format.js';
import { FlowEngine } from '../analyzer/src/flow-metrics.js';
import { FrameScan, scanFrame } from '../analyzer/src/packet-scan.js';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../analyzer/src/pcap.js';
import { buildReport, type AnalysisReport } from '../analyzer/src/report.js';
import { Samples } from '../analyzer/src/samples.js';
import { CLIENT, ether, exchange, pcapFile, SERVER, udp, withOption, type ExchangePacket, type OptionForm } from './capture-fixtures.js';

const KEY = new Uint8Array(16).fill(9);

function analyze(packets: ExchangePacket[], withKey = false, batch?: number): AnalysisReport {
  const engine = new FlowEngine(withKey ? () => ({ key: KEY, aeadId: AEAD_AES_128_GCM }) : undefined, batch);
  const parser = new CaptureParser(engine.packet);
  parser.push(pcapFile(packets.map((p) => ({ t: p.t, data: ether(p.ip) })), { linkType: LINKTYPE_ETHERNET, nanos: true }));
  parser.finish();
  return buildReport(engine, { file: 'test', format: 'pcap', baseNs: parser.baseNs, error: null }, withKey).report;
}

/** Nearest-rank percentile, the definition the report uses. */
function percentile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.max(1, Math.ceil(q * s.length)) - 1]!;
}

/** PDM deltas carry 16 significant bits: 2^-16 relative, plus the float division. */
function near(actual: number | null, expected: number, what: string): void {
  assert.ok(actual !== null && Math.abs(actual - expected) <= expected * 2 ** -16 + 1e-6, `${what}: ${actual} vs ${expected}`);
}

const FORMS: OptionForm[] = ['pdm-v1', 'pdmv2-clear', 'pdmv2-draft-clear', 'pdmv2-encrypted'];

test('every PDM form: RTT, server delay, client delay and network RTT as RFC 8250 defines them', () => {
  for (const form of FORMS) {
    const sd = (i: number): number => 150_000 + ((i * 7919) % 100) * 10_000;
    const ex = exchange({ form, rounds: 120, serverDelayNs: sd, networkNs: 3_000_000, key: KEY, aeadId: AEAD_AES_128_GCM });
    const r = analyze(ex.packets, form === 'pdmv2-encrypted');
    assert.is(r.flows.length, 1, form);
    const f = r.flows[0]!;
    assert.is(f.client, CLIENT);
    assert.is(f.server, SERVER);
    assert.equal(f.formats, [form]);
    assert.is(f.rtt.count, ex.rttNs.length);
    for (const q of [0.5, 0.95, 0.99] as const) {
      const k = (`p${Math.round(q * 100)}`) as 'p50' | 'p95' | 'p99';
      near(f.rtt[k], percentile(ex.rttNs, q), `${form} rtt ${k}`);
      near(f.serverDelay[k], percentile(ex.serverDelayNs, q), `${form} server delay ${k}`);
    }
    near(f.rtt.max, Math.max(...ex.rttNs), `${form} rtt max`);
    near(f.serverDelay.max, Math.max(...ex.serverDelayNs), `${form} server delay max`);
    // Every round's answer takes the 3 ms network round trip plus the server's own time.
    near(f.networkRtt.p50, 3_000_000, `${form} network RTT`);
    assert.ok(Math.abs(f.networkRtt.max! - 3_000_000) < 3_000_000 * 2 ** -15, `${form} network RTT max ${f.networkRtt.max}`);
    assert.is(f.networkRtt.count, ex.rttNs.length);
    // The client waits out its 10 ms interval after each answer.
    near(f.clientDelay.p50, percentile(ex.rttNs.map((v) => 10_000_000 - v), 0.5), `${form} client delay`);
    for (const d of [f.clientToServer, f.serverToClient]) {
      assert.equal([d.packets, d.expected, d.lost, d.reordered, d.duplicates, d.sealed, d.malformed], [120, 120, 0, 0, 0, 0, 0], form);
    }
  }
});

test('loss, reordering and duplicates per direction, from PSN gaps, and loss in the time series', () => {
  const ex = exchange({ form: 'pdmv2-clear', rounds: 100 });
  const client = ex.packets.filter((p) => p.fromClient);
  const server = ex.packets.filter((p) => !p.fromClient);
  // Client PSNs 1003 and 1040 never reach the capture point; server 5010 and 5011 arrive swapped; 5020 twice.
  const lostPsns = new Set([1003, 1040]);
  const seq: ExchangePacket[] = [];
  for (let i = 0; i < 100; i++) {
    if (!lostPsns.has(client[i]!.psntp)) seq.push(client[i]!);
    if (i === 10) continue;
    seq.push(server[i]!);
    if (i === 11) seq.push({ ...server[10]!, t: server[11]!.t + 50_000_000n });
    if (i === 20) seq.push(server[20]!);
  }
  const f = analyze(seq).flows[0]!;
  assert.equal([f.clientToServer.expected, f.clientToServer.lost, f.clientToServer.reordered, f.clientToServer.duplicates], [100, 2, 0, 0]);
  assert.is(f.clientToServer.lossRatio, 0.02);
  assert.equal([f.serverToClient.packets, f.serverToClient.expected, f.serverToClient.lost, f.serverToClient.reordered, f.serverToClient.duplicates], [101, 100, 0, 1, 1]);
  assert.is(f.series.reduce((n, p) => n + p.lostClientToServer, 0), 2);
  assert.is(f.series.reduce((n, p) => n + p.lostServerToClient, 0), 0, 'a late packet is not a loss');
  const lossBins = f.series.filter((p) => p.lostClientToServer > 0).map((p) => p.t);
  // Packet i leaves at i × 10 ms, so the gaps show in the bins of 40 ms and 410 ms.
  assert.equal(lossBins.map((t) => Math.floor(t * 100)), [4, 41]);
});

test('16-bit PSNs wrap without counting loss; encrypted options without keys still give loss', () => {
  const ex = exchange({ form: 'pdm-v1', rounds: 80 });
  // Shift every PSN so the sequence crosses 65535 → 0.
  for (const p of ex.packets) {
    const o = p.ip.indexOf(0x0f, 40);
    const psn = ((((p.ip[o + 4]! << 8) | p.ip[o + 5]!) + 64500) & 0xffff) >>> 0;
    p.ip[o + 4] = psn >> 8;
    p.ip[o + 5] = psn & 0xff;
  }
  const f = analyze(ex.packets).flows[0]!;
  assert.equal([f.clientToServer.lost, f.clientToServer.reordered, f.serverToClient.lost], [0, 0, 0]);
  assert.is(f.clientToServer.expected, 80);

  const enc = exchange({ form: 'pdmv2-encrypted', rounds: 30, key: KEY, aeadId: AEAD_AES_128_GCM });
  const sealed = analyze(enc.packets.filter((p) => p.psntp !== 1005)).flows[0]!;
  assert.equal([sealed.clientToServer.lost, sealed.clientToServer.sealed, sealed.rtt.count], [1, 29, 0]);
});

test('host pairs merge the flows between two hosts; roles follow well-known ports and echo requests', () => {
  const a = exchange({ form: 'pdmv2-clear', rounds: 20, sport: 40001, dport: 443 });
  const b = exchange({ form: 'pdmv2-clear', rounds: 30, sport: 40002, dport: 443, startNs: 1_767_225_600_005_000_000n });
  // The server's answer is the first packet of flow a the capture sees: port 443 still marks it as the server.
  const first = a.packets[1]!;
  const packets = [{ ...first, t: a.packets[0]!.t - 1000n }, ...a.packets, ...b.packets].sort((x, y) => (x.t < y.t ? -1 : x.t > y.t ? 1 : 0));
  const r = analyze(packets);
  assert.is(r.flows.length, 2);
  for (const f of r.flows) assert.equal([f.client, f.server, f.serverPort], [CLIENT, SERVER, 443]);
  assert.is(r.hostPairs.length, 1);
  const p = r.hostPairs[0]!;
  assert.is(p.flows, 2);
  assert.is(p.rtt.count, r.flows[0]!.rtt.count + r.flows[1]!.rtt.count);
  assert.is(p.clientToServer.packets, 50);
  assert.is(p.serverToClient.duplicates, 1);
  assert.is(p.rtt.max, Math.max(r.flows[0]!.rtt.max!, r.flows[1]!.rtt.max!));
});

test('distributions: exact percentiles for small sets, within 0.2 % past 512 samples, exact max', () => {
  const s = new Samples();
  const values: number[] = [];
  let x = 12345;
  for (let i = 0; i < 50_000; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const v = 1000 + (x % 5_000_000);
    values.push(v);
    s.add(v);
    if (i === 499) assert.is(s.quantile(0.95), percentile(values, 0.95), 'exact below the limit');
  }
  for (const q of [0.5, 0.95, 0.99]) {
    const want = percentile(values, q);
    const got = s.quantile(q)!;
    assert.ok(Math.abs(got - want) <= want * 0.002, `q${q}: ${got} vs ${want}`);
  }
  assert.is(s.summary().max, Math.max(...values));
  assert.is(s.summary().count, 50_000);
  const merged = new Samples();
  merged.merge(s);
  merged.merge(s);
  assert.is(merged.count, 100_000);
  assert.is(merged.quantile(0.5), s.quantile(0.5));
});

test('the report does not depend on the engine batching packets: batches of 1, 2, 7, 100 and the default agree', () => {
  // Interleaved flows of every form (encrypted ones opened, and one whose first packets have no option),
  // with loss, a swap and a duplicate, long enough that the series bins widen several times mid-batch.
  const flows = FORMS.map((form, k) =>
    exchange({ form, rounds: 300, sport: 41000 + k, intervalNs: 40_000_000 + k * 1_000_000, startNs: 1_767_225_600_000_000_000n + BigInt(k) * 3_000_000n, key: KEY, aeadId: AEAD_AES_128_GCM }).packets,
  );
  const all = flows.flat().filter((p, i) => i % 97 !== 5);
  all.push({ ...all[40]!, t: all[40]!.t + 1n }, { ...all[70]!, t: all[90]!.t + 1n });
  all.push({ ...all[10]!, t: all[10]!.t + 7n, ip: udp(CLIENT, SERVER, 40999, 53) });
  all.sort((x, y) => (x.t < y.t ? -1 : x.t > y.t ? 1 : 0));
  const reference = analyze(all, true, 1);
  assert.is(reference.flows.length, FORMS.length, 'flows with PDM');
  assert.ok(reference.flows.some((f) => f.clientToServer.lost + f.serverToClient.lost > 0), 'some loss');
  assert.ok(reference.flows.some((f) => f.clientToServer.duplicates + f.serverToClient.duplicates > 0), 'a duplicate');
  assert.ok(reference.capture.binSeconds > 0.04, `bins widened (${reference.capture.binSeconds} s)`);
  for (const batch of [2, 7, 100, undefined]) assert.equal(analyze(all, true, batch), reference, `batch ${batch ?? 'default'}`);
});

test('a long capture keeps at most 256 time-series bins per direction, and every packet in them', () => {
  const engine = new FlowEngine();
  const ip = withOption(udp(CLIENT, SERVER, 40000, 5201), encodeClear({ epoch: 0, psntp: 0, psnlr: 0, globalPointer: 0, scaleDtlr: 0, scaleDtls: 0, deltaTlr: 0, deltaTls: 0 }));
  const o = ip.indexOf(0x0f, 40);
  const n = 100_000;
  for (let i = 0; i < n; i++) {
    ip[o + 4] = (i >>> 24) & 0xff;
    ip[o + 5] = (i >>> 16) & 0xff;
    ip[o + 6] = (i >>> 8) & 0xff;
    ip[o + 7] = i & 0xff;
    // Two hours, one packet every 72 ms.
    const t = i * 72e6;
    engine.packet(LINKTYPE_RAW, Math.floor(t / 1e9), t % 1e9, ip, 0, ip.length, ip.length);
  }
  const f = buildReport(engine, { file: 't', format: 'pcap', baseNs: 0n, error: null }, false).report.flows[0]!;
  assert.ok(f.series.length <= 256 && f.series.length > 128, `${f.series.length} bins`);
  assert.is(f.clientToServer.packets, n);
  assert.is(f.clientToServer.lost, 0);
});

test('the frame scanner accepts, refuses and locates exactly as core parsePacket does', () => {
  const src = parseIpv6('2001:db8::1');
  const dst = parseIpv6('2001:db8::2');
  const pdm = encodeClear({ epoch: 1, psntp: 7, psnlr: 0, globalPointer: 0, scaleDtlr: 0, scaleDtls: 0, deltaTlr: 0, deltaTls: 0 });
  const udpBody = [0x9c, 0x40, 0x14, 0x51, 0, 8, 0, 0];
  const opts = (nh: number, body: number[]): number[] => {
    const h = [nh, 0, ...body];
    while (h.length % 8) h.push(0);
    h[1] = h.length / 8 - 1;
    return h;
  };
  const cases: Array<[string, Uint8Array]> = [
    ['plain udp', buildPacket(src, dst, 17, udpBody)],
    ['pdm', withOption(udp('2001:db8::1', '2001:db8::2', 1, 2), pdm)],
    ['hop-by-hop then dest opts with pdm', buildPacket(src, dst, 0, [...opts(60, [1, 0]), ...opts(17, [1, 0, ...pdm]), ...udpBody])],
    ['dest opts before routing (pdm found there too)', buildPacket(src, dst, 60, [...opts(43, [...pdm]), 17, 0, 0, 0, 0, 0, 0, 0, ...udpBody])],
    ['second hop-by-hop is malformed', buildPacket(src, dst, 60, [...opts(0, [1, 0]), ...opts(17, [1, 0]), ...udpBody])],
    ['two pdm options', buildPacket(src, dst, 60, [...opts(17, [...pdm, ...pdm]), ...udpBody])],
    ['option overruns its header', buildPacket(src, dst, 60, [17, 0, 1, 9, 0, 0, 0, 0, ...udpBody])],
    ['atomic fragment', buildPacket(src, dst, 44, [17, 0, 0, 0, 0, 0, 0, 1, ...udpBody])],
    ['non-first fragment', buildPacket(src, dst, 44, [17, 0, 0, 8, 0, 0, 0, 1, ...udpBody])],
    ['esp', buildPacket(src, dst, 50, [0, 0, 0, 1, 0, 0, 0, 1])],
    ['no next header', buildPacket(src, dst, 59, [])],
    ['icmpv6 echo', buildPacket(src, dst, 58, [128, 0, 0, 0, 0x12, 0x34, 0, 1])],
    ['udp cut short', buildPacket(src, dst, 17, [0x9c])],
    ['ah then udp', buildPacket(src, dst, 51, [17, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, ...udpBody])],
    ['other protocol', buildPacket(src, dst, 132, [1, 2, 3, 4])],
  ];
  const s = new FrameScan();
  for (const [name, p] of cases) {
    for (const cut of [p.length, Math.min(p.length, 60)]) {
      const view = p.subarray(0, cut);
      const ref = parsePacket(view, { captured: true });
      const want = ref.ok && ref.value.fiveTuple !== null;
      const got = scanFrame(view, 0, view.length, LINKTYPE_RAW, s);
      assert.is(got, want, `${name} (${cut} octets): accepted`);
      if (!got || !ref.ok) continue;
      assert.equal([s.sport, s.dport, s.protocol], [ref.value.fiveTuple!.sport, ref.value.fiveTuple!.dport, ref.value.fiveTuple!.protocol], name);
      assert.equal(s.pdm >= 0 ? [s.pdm, s.pdmLen] : null, ref.value.pdm ? [ref.value.pdm.offset, ref.value.pdm.length] : null, `${name}: option`);
    }
  }
});

test.run();
