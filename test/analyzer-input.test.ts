// Analyzer input: pcapng (several interfaces, link types and timestamp
// resolutions, both byte orders, several sections, comments and other blocks
// skipped), gzip, standard input, chunked reading, and damaged files (clear
// error with the file offset; what came before is still reported).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CaptureParser } from '../analyzer/src/capture-format.js';
import { decodeCapture } from '../analyzer/src/decode.js';
import { LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL2, LINKTYPE_RAW, readCaptureLenient, readPcap } from '../analyzer/src/pcap.js';
import { ether, exchange, PcapngWriter, pcapFile, sll2, type Frame } from './capture-fixtures.js';

const CLI = fileURLToPath(new URL('../analyzer/src/cli.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pdmv2-analyzer-input-'));

function cli(args: string[], input?: Uint8Array): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const ex = exchange({ form: 'pdmv2-clear', rounds: 15, startNs: 1_767_225_600_123_456_789n });
const frames: Frame[] = ex.packets.map((p) => ({ t: p.t, data: ether(p.ip) }));
const pcapBytes = pcapFile(frames, { linkType: LINKTYPE_ETHERNET, nanos: true });

/** The same packets over three interfaces: Ethernet in ns, raw IPv6 in µs, Linux SLL2 in 2^-30 s. */
function multiInterface(little: boolean): { bytes: Uint8Array; blockOffsets: number[] } {
  const w = new PcapngWriter(little);
  w.section('made by analyzer-input.test').iface(LINKTYPE_ETHERNET, 9, 'eth0').iface(LINKTYPE_RAW).iface(LINKTYPE_LINUX_SLL2, 0x80 | 30);
  w.other(4, Uint8Array.of(0, 0, 0, 0)); // name resolution block, empty
  w.other(0x40000bad, new Uint8Array(12)); // a custom block nobody knows
  const blockOffsets: number[] = [];
  ex.packets.forEach((p, i) => {
    blockOffsets.push(w.bytes().length);
    const iface = i % 3;
    const data = iface === 0 ? ether(p.ip) : iface === 1 ? p.ip : sll2(p.ip);
    w.packet(iface, p.t, data, iface === 0 ? 9 : iface === 1 ? 6 : 0x80 | 30, i % 4 === 0 ? `packet ${i}` : undefined);
  });
  w.other(5, new Uint8Array(20)); // interface statistics
  return { bytes: w.bytes(), blockOffsets };
}

test('pcapng with three interfaces, link types and timestamp resolutions reads the packets pcap holds', () => {
  for (const little of [true, false]) {
    const ng = readPcap(multiInterface(little).bytes);
    const classic = readPcap(pcapBytes);
    assert.is(ng.length, classic.length);
    ng.forEach((p, i) => {
      const exact = classic[i]!.timestampNs;
      // ns exact on interface 0; truncated to the µs on 1; to 2^-30 s on 2 (one unit is 0.93 ns, rounded to the ns).
      const [low, high] = ([[0n, 0n], [0n, 999n], [-2n, 2n]] as const)[i % 3]!;
      const diff = exact - p.timestampNs;
      assert.ok(diff >= low && diff <= high, `packet ${i}: ${p.timestampNs} vs ${exact}`);
      assert.is(p.linkType, [LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LINUX_SLL2][i % 3]);
    });
    const a = decodeCapture(ng).map((r) => r.option);
    const b = decodeCapture(classic).map((r) => r.option);
    assert.equal(a, b);
  }
});

test('a file of two sections (big-endian, then little-endian) resets interfaces per section', () => {
  const first = multiInterface(false).bytes;
  const second = new PcapngWriter(true)
    .section()
    .iface(LINKTYPE_RAW, 9)
    .iface(LINKTYPE_ETHERNET)
    .obsoletePacket(1, 1_767_225_699_000_001_000n, ether(ex.packets[1]!.ip))
    .packet(0, 1_767_225_700_000_000_001n, ex.packets[0]!.ip, 9)
    .bytes();
  const both = new Uint8Array(first.length + second.length);
  both.set(first);
  both.set(second, first.length);
  const packets = readPcap(both);
  assert.is(packets.length, ex.packets.length + 2);
  assert.is(packets.at(-2)!.linkType, LINKTYPE_ETHERNET, 'the obsolete packet block names the second interface');
  assert.is(packets.at(-2)!.timestampNs, 1_767_225_699_000_001_000n);
  assert.is(packets.at(-1)!.linkType, LINKTYPE_RAW);
  assert.is(packets.at(-1)!.timestampNs, 1_767_225_700_000_000_001n);
});

test('chunks of any size give the same packets as one buffer', () => {
  const { bytes } = multiInterface(true);
  const whole: string[] = [];
  const p1 = new CaptureParser((lt, sec, ns, d, off, len) => whole.push(`${lt} ${sec}.${ns} ${Buffer.from(d.subarray(off, off + len)).toString('hex')}`));
  p1.push(bytes);
  p1.finish();
  for (const size of [1, 3, 7, 100]) {
    const got: string[] = [];
    const p = new CaptureParser((lt, sec, ns, d, off, len) => got.push(`${lt} ${sec}.${ns} ${Buffer.from(d.subarray(off, off + len)).toString('hex')}`));
    for (let i = 0; i < bytes.length; i += size) p.push(bytes.slice(i, i + size));
    p.finish();
    assert.equal(got, whole, `chunks of ${size}`);
  }
});

function reportWithoutSource(json: string): unknown {
  const r = JSON.parse(json) as { capture: Record<string, unknown> };
  delete r.capture.file;
  delete r.capture.format;
  return r;
}

test('pcap, pcapng, gzip and standard input give the same flow report', () => {
  const ngBytes = new PcapngWriter(true).section().iface(LINKTYPE_ETHERNET, 9).bytes();
  const ngFrames = frames.map((f) => new PcapngWriter(true).packet(0, f.t, f.data, 9).bytes());
  const ng = Buffer.concat([ngBytes, ...ngFrames]);
  const files: Record<string, Uint8Array> = {
    'a.pcap': pcapBytes,
    'a.pcapng': ng,
    'a.pcap.gz': gzipSync(pcapBytes),
    'a.pcapng.gz': gzipSync(ng),
  };
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
  const base = cli(['flows', join(dir, 'a.pcap'), '--json']);
  assert.is(base.code, 0, base.stderr);
  const want = reportWithoutSource(base.stdout);
  const formats: Record<string, string> = {};
  for (const name of Object.keys(files)) {
    const r = cli(['flows', join(dir, name), '--json']);
    assert.is(r.code, 0, `${name}: ${r.stderr}`);
    assert.equal(reportWithoutSource(r.stdout), want, name);
    formats[name] = (JSON.parse(r.stdout) as { capture: { format: string } }).capture.format;
  }
  assert.equal(formats, { 'a.pcap': 'pcap', 'a.pcapng': 'pcapng', 'a.pcap.gz': 'pcap.gz', 'a.pcapng.gz': 'pcapng.gz' });
  const stdin = cli(['flows', '-', '--json'], files['a.pcapng.gz']);
  assert.is(stdin.code, 0, stdin.stderr);
  assert.equal(reportWithoutSource(stdin.stdout), want);
  const decoded = cli(['decode', '-'], files['a.pcap.gz']);
  assert.is(decoded.stdout.trim().split('\n').length, frames.length);
});

test('a pcapng cut inside a block: error names the block offset, the packets before it are reported', () => {
  const { bytes, blockOffsets } = multiInterface(true);
  const cutAt = blockOffsets[10]! + 20;
  const { packets, error } = readCaptureLenient(bytes.subarray(0, cutAt));
  assert.is(packets.length, 10);
  assert.match(error!.message, `truncated block (20 octets of it present) at file offset ${blockOffsets[10]} (after 10 packets)`);
  writeFileSync(join(dir, 'cut.pcapng'), bytes.subarray(0, cutAt));
  const r = cli(['flows', join(dir, 'cut.pcapng'), '--json']);
  assert.is(r.code, 1);
  assert.match(r.stderr, `cut.pcapng: truncated block (20 octets of it present) at file offset ${blockOffsets[10]} (after 10 packets)`);
  const report = JSON.parse(r.stdout) as { capture: { packets: number; error: string }; flows: Array<{ clientToServer: { packets: number } }> };
  assert.is(report.capture.packets, 10);
  assert.match(report.capture.error, 'truncated block');
  assert.is(report.flows[0]!.clientToServer.packets, 5);
});

test('a corrupt block length and a corrupt pcap record length are errors at their offsets', () => {
  const { bytes, blockOffsets } = multiInterface(true);
  const bad = Uint8Array.from(bytes);
  new DataView(bad.buffer).setUint32(blockOffsets[4]! + 4, 13, true);
  const ng = readCaptureLenient(bad);
  assert.is(ng.packets.length, 4);
  assert.match(ng.error!.message, `corrupt block (type 6, length 13) at file offset ${blockOffsets[4]} (after 4 packets)`);
  // The trailing copy of the length disagreeing is corruption too.
  const bad2 = Uint8Array.from(bytes);
  const len = new DataView(bad2.buffer).getUint32(blockOffsets[2]! + 4, true);
  new DataView(bad2.buffer).setUint32(blockOffsets[2]! + len - 4, len + 4, true);
  assert.match(readCaptureLenient(bad2).error!.message, `trailing length differs from ${len}) at file offset ${blockOffsets[2]}`);

  const pcap = Uint8Array.from(pcapBytes);
  const third = 24 + 2 * (16 + frames[0]!.data.length);
  new DataView(pcap.buffer).setUint32(third + 8, 0x7fffffff, true);
  const p = readCaptureLenient(pcap);
  assert.is(p.packets.length, 2);
  assert.match(p.error!.message, `corrupt packet record: 2147483647 captured octets at file offset ${third} (after 2 packets)`);
  const cut = readCaptureLenient(pcapBytes.subarray(0, third + 5));
  assert.match(cut.error!.message, `truncated packet record (5 octets of it present) at file offset ${third} (after 2 packets)`);
});

test('files that are no capture at all stop with a clear message and status 1', () => {
  writeFileSync(join(dir, 'text.txt'), 'hello, this is not a capture\n');
  const r = cli(['flows', join(dir, 'text.txt')]);
  assert.is(r.code, 1);
  assert.match(r.stderr, 'text.txt: not a pcap or pcapng file (bad magic number) at file offset 0 (after 0 packets)');
  const gz = gzipSync(pcapBytes);
  writeFileSync(join(dir, 'cut.gz'), gz.subarray(0, gz.length - 40));
  const g = cli(['flows', join(dir, 'cut.gz'), '--json']);
  assert.is(g.code, 1);
  assert.match(g.stderr, 'gzip: unexpected end of file');
  const missing = cli(['flows', join(dir, 'nope.pcap')]);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, 'nope.pcap: cannot read');
});

test.run();
