// Captures built in the test itself (no QEMU): IPv6/UDP packets carrying a PDM
// option (core's packet builder and option encoders), written as classic pcap
// or pcapng, and a client/server exchange whose RFC 8250 metrics are known.
import { parseIpv6 } from '../core/src/wire/addr.js';
import { buildPacket, insertPdmOption } from '../core/src/wire/ipv6.js';
import { encodeClear, encodeDraftClear, encodeV1 } from '../core/src/wire/options.js';
import { sealOption } from '../core/src/keys/seal.js';
import { encodeNanoseconds } from '../core/src/time/delta.js';

export const CLIENT = '2001:db8:1::2';
export const SERVER = '2001:db8:2::2';

export function udp(src: string, dst: string, sport: number, dport: number, payload = 8): Uint8Array {
  const body = new Uint8Array(8 + payload);
  body.set([sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, (8 + payload) >> 8, (8 + payload) & 0xff, 0, 0]);
  for (let i = 8; i < body.length; i++) body[i] = i & 0xff;
  // A real checksum, so Wireshark has nothing to flag but what the test is about.
  const s = parseIpv6(src);
  const d = parseIpv6(dst);
  let sum = 17 + body.length;
  for (const b of [s, d, body]) for (let i = 0; i < b.length; i += 2) sum += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff || 0xffff;
  body[6] = c >> 8;
  body[7] = c & 0xff;
  return buildPacket(s, d, 17, body);
}

export function withOption(packet: Uint8Array, option: Uint8Array): Uint8Array {
  const r = insertPdmOption(packet, option);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

export function ether(ip: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + ip.length);
  f.fill(2, 0, 12);
  f[12] = 0x86;
  f[13] = 0xdd;
  f.set(ip, 14);
  return f;
}

export function sll2(ip: Uint8Array): Uint8Array {
  const f = new Uint8Array(20 + ip.length);
  f[0] = 0x86;
  f[1] = 0xdd;
  f.set(ip, 20);
  return f;
}

export interface Frame {
  /** ns since the epoch */
  t: bigint;
  data: Uint8Array;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function pcapFile(frames: Frame[], opts: { linkType: number; little?: boolean; nanos?: boolean }): Uint8Array {
  const little = opts.little ?? true;
  const h = new DataView(new ArrayBuffer(24));
  h.setUint32(0, opts.nanos ? 0xa1b23c4d : 0xa1b2c3d4, little);
  h.setUint16(4, 2, little);
  h.setUint16(6, 4, little);
  h.setUint32(16, 262144, little);
  h.setUint32(20, opts.linkType, little);
  const parts: Uint8Array[] = [new Uint8Array(h.buffer)];
  for (const f of frames) {
    const r = new DataView(new ArrayBuffer(16));
    r.setUint32(0, Number(f.t / 1_000_000_000n), little);
    r.setUint32(4, Number(opts.nanos ? f.t % 1_000_000_000n : (f.t % 1_000_000_000n) / 1000n), little);
    r.setUint32(8, f.data.length, little);
    r.setUint32(12, f.data.length, little);
    parts.push(new Uint8Array(r.buffer), f.data);
  }
  return concatBytes(parts);
}

/** pcapng building blocks, either byte order. */
export class PcapngWriter {
  private parts: Uint8Array[] = [];
  constructor(private little = true) {}

  private block(type: number, body: Uint8Array): this {
    const padded = (body.length + 3) & ~3;
    const len = 12 + padded;
    const b = new Uint8Array(len);
    const v = new DataView(b.buffer);
    v.setUint32(0, type, this.little);
    v.setUint32(4, len, this.little);
    b.set(body, 8);
    v.setUint32(len - 4, len, this.little);
    this.parts.push(b);
    return this;
  }

  private options(opts: Array<[number, Uint8Array]>): Uint8Array {
    if (opts.length === 0) return new Uint8Array(0);
    const parts: Uint8Array[] = [];
    for (const [code, value] of [...opts, [0, new Uint8Array(0)] as [number, Uint8Array]]) {
      const h = new DataView(new ArrayBuffer(4));
      h.setUint16(0, code, this.little);
      h.setUint16(2, value.length, this.little);
      const pad = new Uint8Array(((value.length + 3) & ~3) - value.length);
      parts.push(new Uint8Array(h.buffer), value, pad);
    }
    return concatBytes(parts);
  }

  section(comment?: string): this {
    const b = new DataView(new ArrayBuffer(16));
    b.setUint32(0, 0x1a2b3c4d, this.little);
    b.setUint16(4, 1, this.little);
    b.setBigInt64(8, -1n, this.little);
    const opts = comment ? this.options([[1, new TextEncoder().encode(comment)]]) : new Uint8Array(0);
    return this.block(0x0a0d0d0a, concatBytes([new Uint8Array(b.buffer), opts]));
  }

  /** tsresol: the if_tsresol octet (6 = µs, 9 = ns, 0x80|n = 2^-n); undefined: no option (µs). */
  iface(linkType: number, tsresol?: number, comment?: string): this {
    const b = new DataView(new ArrayBuffer(8));
    b.setUint16(0, linkType, this.little);
    b.setUint32(4, 262144, this.little);
    const opts: Array<[number, Uint8Array]> = [];
    if (comment) opts.push([1, new TextEncoder().encode(comment)]);
    if (tsresol !== undefined) opts.push([9, Uint8Array.of(tsresol)]);
    return this.block(1, concatBytes([new Uint8Array(b.buffer), this.options(opts)]));
  }

  /** Enhanced packet block; t in ns since the epoch, converted to the interface's `tsresol`. */
  packet(ifaceId: number, t: bigint, data: Uint8Array, tsresol = 6, comment?: string): this {
    const units = tsresol & 0x80 ? (t << BigInt(tsresol & 0x7f)) / 1_000_000_000n : (t * 10n ** BigInt(tsresol)) / 1_000_000_000n;
    const opts = comment ? this.options([[1, new TextEncoder().encode(comment)]]) : new Uint8Array(0);
    return this.timedPacket(6, ifaceId, units, data, opts);
  }

  /** The obsolete packet block (type 2): 16-bit interface id, then a drop count; µs timestamps here. */
  obsoletePacket(ifaceId: number, t: bigint, data: Uint8Array): this {
    return this.timedPacket(2, ifaceId, t / 1000n, data, new Uint8Array(0));
  }

  private timedPacket(type: 2 | 6, ifaceId: number, units: bigint, data: Uint8Array, opts: Uint8Array): this {
    const b = new DataView(new ArrayBuffer(20));
    if (type === 2) b.setUint16(0, ifaceId, this.little);
    else b.setUint32(0, ifaceId, this.little);
    b.setUint32(4, Number(units >> 32n), this.little);
    b.setUint32(8, Number(units & 0xffffffffn), this.little);
    b.setUint32(12, data.length, this.little);
    b.setUint32(16, data.length, this.little);
    const pad = new Uint8Array(((data.length + 3) & ~3) - data.length);
    return this.block(type, concatBytes([new Uint8Array(b.buffer), data, pad, opts]));
  }

  /** A block the reader must skip (name resolution, statistics, custom...). */
  other(type: number, body = new Uint8Array(8)): this {
    return this.block(type, body);
  }

  bytes(): Uint8Array {
    return concatBytes(this.parts);
  }
}

export type OptionForm = 'pdm-v1' | 'pdmv2-clear' | 'pdmv2-draft-clear' | 'pdmv2-encrypted';

export interface ExchangeOptions {
  form: OptionForm;
  rounds: number;
  /** Network round trip, ns (without the server's own time). */
  networkNs?: number;
  /** Server delay of round i, ns. */
  serverDelayNs?: (i: number) => number;
  /** ns between client sends. */
  intervalNs?: number;
  startNs?: bigint;
  sport?: number;
  dport?: number;
  key?: Uint8Array;
  /** The STK of each direction, when the two differ (they do for real keys: the 5-tuple is in the derivation). */
  keyFor?: (fromClient: boolean) => Uint8Array;
  aeadId?: number;
  client?: string;
  server?: string;
}

export interface ExchangePacket {
  t: bigint;
  ip: Uint8Array;
  fromClient: boolean;
  psntp: number;
}

/**
 * A request/response exchange captured at the client: client packet i leaves at
 * start + i·interval, the server answers after its delay, the answer arrives
 * networkNs + serverDelay after the request. Each packet carries what RFC 8250
 * says its sender knows: PSNLR of the last packet received, DeltaTLR since that
 * receive, DeltaTLS from its own previous send to that receive.
 */
export function exchange(o: ExchangeOptions): { packets: ExchangePacket[]; rttNs: number[]; serverDelayNs: number[]; networkNs: number } {
  const net = o.networkNs ?? 4_000_000;
  const sd = o.serverDelayNs ?? ((i: number) => 200_000 + 1000 * i);
  const interval = o.intervalNs ?? 10_000_000;
  const start = o.startNs ?? 1_767_225_600_000_000_000n;
  const client = o.client ?? CLIENT;
  const server = o.server ?? SERVER;
  const sport = o.sport ?? 40000;
  const dport = o.dport ?? 5201;
  const bits = o.form === 'pdm-v1' || o.form === 'pdmv2-draft-clear' ? 16 : 32;
  const mask = bits === 16 ? 0xffff : 0xffffffff;
  const packets: ExchangePacket[] = [];
  const rttNs: number[] = [];
  const serverDelayNs: number[] = [];
  let cPsn = 1000;
  let sPsn = 5000;
  let lastServerPsn = 0;
  let lastReplyArrival = 0;
  let lastClientSend = 0;
  let lastClientArrivalAtServer = 0;
  let lastServerSend = 0;
  const option = (psntp: number, psnlr: number, tlrNs: number, tlsNs: number, gp: number, fromClient: boolean): Uint8Array => {
    const tlr = encodeNanoseconds(BigInt(Math.round(tlrNs)));
    const tls = encodeNanoseconds(BigInt(Math.round(tlsNs)));
    const f = { scaleDtlr: tlr.scale, scaleDtls: tls.scale, deltaTlr: tlr.delta, deltaTls: tls.delta };
    switch (o.form) {
      case 'pdm-v1':
        return encodeV1({ psntp: psntp & mask, psnlr: psnlr & mask, ...f });
      case 'pdmv2-draft-clear':
        return encodeDraftClear({ random: 0x1234, flag: 0, globalPointer: gp, psntp: psntp & mask, psnlr: psnlr & mask, ...f });
      case 'pdmv2-clear':
        return encodeClear({ epoch: 0, psntp, psnlr, globalPointer: gp, ...f });
      case 'pdmv2-encrypted':
        return sealOption(o.keyFor ? o.keyFor(fromClient) : o.key!, o.aeadId!, { epoch: 0x100, psntp, psnlr, globalPointer: gp, ...f });
    }
  };
  for (let i = 0; i < o.rounds; i++) {
    const send = i * interval;
    const tlr = i === 0 ? 0 : send - lastReplyArrival;
    const tls = i === 0 ? 0 : lastReplyArrival - lastClientSend;
    if (i > 0) rttNs.push(tls);
    packets.push({ t: start + BigInt(send), ip: withOption(udp(client, server, sport, dport), option(cPsn, lastServerPsn, tlr, tls, i + 1, true)), fromClient: true, psntp: cPsn });
    const arrival = send + net / 2;
    const delay = sd(i);
    serverDelayNs.push(delay);
    const reply = arrival + delay;
    const sTls = i === 0 ? 0 : lastClientArrivalAtServer - lastServerSend;
    packets.push({ t: start + BigInt(reply + net / 2), ip: withOption(udp(server, client, dport, sport), option(sPsn, cPsn, delay, sTls, i + 1, false)), fromClient: false, psntp: sPsn });
    lastClientSend = send;
    lastClientArrivalAtServer = arrival;
    lastServerSend = reply;
    lastReplyArrival = reply + net / 2;
    lastServerPsn = sPsn;
    cPsn = (cPsn + 1) % 2 ** bits;
    sPsn = (sPsn + 1) % 2 ** bits;
  }
  return { packets, rttNs, serverDelayNs, networkNs: net };
}
