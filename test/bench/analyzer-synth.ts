// A large synthetic capture for the analyzer's speed benchmark, written as a
// stream (memory stays flat): many concurrent UDP conversations between LAN
// hosts and servers, each a request/response exchange like the lab's traffic
// (large client datagrams, small answers), every packet carrying a clear
// PDMv2 option with consistent PSNTP/PSNLR and RFC 8250 deltas, with a little
// loss. Packets come from per-flow templates made by core's packet builder.
//   node .build/node/test/bench/analyzer-synth.js OUT.pcap SIZE_MB [FLOWS]
import { closeSync, openSync, writeSync } from 'node:fs';
import { encodeClear } from '../../core/src/wire/options.js';
import { encodeNanoseconds } from '../../core/src/time/delta.js';
import { ether, udp, withOption } from '../capture-fixtures.js';

const [out, sizeMb, flowsArg] = process.argv.slice(2);
if (!out || !sizeMb) {
  console.error('usage: analyzer-synth OUT.pcap SIZE_MB [FLOWS]');
  process.exit(2);
}
const target = Number(sizeMb) * 1024 * 1024;
const FLOWS = Number(flowsArg ?? 2000);
const REQUEST = 1180;
const ANSWER = 40;

interface Template {
  frame: Uint8Array;
  /** Offset of the option's type octet in the frame. */
  opt: number;
}

function template(client: number, server: number, sport: number, fromClient: boolean): Template {
  const c = `2001:db8:1::${(client + 2).toString(16)}`;
  const s = `2001:db8:2::${(server + 2).toString(16)}`;
  const ip = fromClient ? udp(c, s, sport, 5201, REQUEST) : udp(s, c, 5201, sport, ANSWER);
  const zero = { epoch: 0, psntp: 0, psnlr: 0, globalPointer: 0, scaleDtlr: 0, scaleDtls: 0, deltaTlr: 0, deltaTls: 0 };
  const frame = ether(withOption(ip, encodeClear(zero)));
  return { frame, opt: frame.indexOf(0x0f, 14 + 40) };
}

const flows = Array.from({ length: FLOWS }, (_, i) => ({
  up: template(i % 250, i % 7, 30000 + i, true),
  down: template(i % 250, i % 7, 30000 + i, false),
  cPsn: (i * 2654435761) >>> 0,
  sPsn: (i * 40503) >>> 0,
}));

const fd = openSync(out, 'w');
const buf = Buffer.alloc(16 * 1024 * 1024);
const header = Buffer.alloc(24);
header.writeUInt32LE(0xa1b23c4d, 0);
header.writeUInt16LE(2, 4);
header.writeUInt16LE(4, 6);
header.writeUInt32LE(262144, 16);
header.writeUInt32LE(1, 20);
writeSync(fd, header);
let used = 0;
let written = 24;
let packets = 0;
let t = 1_767_225_600n * 1_000_000_000n;
let rng = 12345;
const rand = (): number => (rng = (Math.imul(rng, 1103515245) + 12345) >>> 0) / 2 ** 32;

function put(tp: Template, psntp: number, psnlr: number, tlrNs: number, tlsNs: number): void {
  const f = tp.frame;
  if (used + 16 + f.length > buf.length) {
    writeSync(fd, buf, 0, used);
    written += used;
    used = 0;
  }
  const tlr = encodeNanoseconds(Math.round(tlrNs));
  const tls = encodeNanoseconds(Math.round(tlsNs));
  const o = tp.opt;
  f[o + 4] = psntp >>> 24;
  f[o + 5] = (psntp >>> 16) & 0xff;
  f[o + 6] = (psntp >>> 8) & 0xff;
  f[o + 7] = psntp & 0xff;
  f[o + 8] = psnlr >>> 24;
  f[o + 9] = (psnlr >>> 16) & 0xff;
  f[o + 10] = (psnlr >>> 8) & 0xff;
  f[o + 11] = psnlr & 0xff;
  f[o + 16] = tlr.scale;
  f[o + 17] = tls.scale;
  f[o + 20] = tlr.delta >> 8;
  f[o + 21] = tlr.delta & 0xff;
  f[o + 22] = tls.delta >> 8;
  f[o + 23] = tls.delta & 0xff;
  buf.writeUInt32LE(Number(t / 1_000_000_000n), used);
  buf.writeUInt32LE(Number(t % 1_000_000_000n), used + 4);
  buf.writeUInt32LE(f.length, used + 8);
  buf.writeUInt32LE(f.length, used + 12);
  buf.set(f, used + 16);
  used += 16 + f.length;
  packets++;
}

// Rounds: every flow sends a request and gets its answer; the capture point sees
// ~0.1 % of requests lost before it.
while (written + used < target) {
  for (const fl of flows) {
    const rtt = 2_000_000 + rand() * 3_000_000;
    const serverDelay = 50_000 + rand() * 400_000;
    fl.cPsn = (fl.cPsn + 1) >>> 0;
    if (rand() >= 0.001) put(fl.up, fl.cPsn, fl.sPsn, 10_000_000 - rtt, rtt);
    t += 50_000n;
    fl.sPsn = (fl.sPsn + 1) >>> 0;
    put(fl.down, fl.sPsn, fl.cPsn, serverDelay, 10_000_000 - serverDelay);
    t += 50_000n;
  }
}
writeSync(fd, buf, 0, used);
written += used;
closeSync(fd);
console.log(`${out}: ${packets} packets, ${written} octets, ${FLOWS} flows`);
