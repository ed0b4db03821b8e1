// Small pcap files built in memory for the analyzer's and the lab checks' tests:
// one UDP packet 2001:db8:1::10 port 40000 -> 2001:db8:2::20 port 5201, an
// Ethernet or SLL2 frame around an IPv6 packet, a classic pcap of frames.
import { parseIpv6 } from '../core/src/wire/addr.js';
import { LINKTYPE_ETHERNET } from '../analyzer/src/pcap.js';

export function udpPacket(): Uint8Array {
  const p = new Uint8Array(48);
  p[0] = 0x60;
  p[5] = 8;
  p[6] = 17;
  p.set(parseIpv6('2001:db8:1::10'), 8);
  p.set(parseIpv6('2001:db8:2::20'), 24);
  p.set([0x9c, 0x40, 0x14, 0x51, 0, 8, 0, 0], 40);
  return p;
}

export function frame(linkType: number, ip: Uint8Array): Uint8Array {
  if (linkType === LINKTYPE_ETHERNET) return Uint8Array.from([...new Array(12).fill(2), 0x86, 0xdd, ...ip]);
  const sll2 = new Uint8Array(20);
  sll2[0] = 0x86;
  sll2[1] = 0xdd;
  return Uint8Array.from([...sll2, ...ip]);
}

export function pcap(frames: Uint8Array[], opts: { little: boolean; nanos: boolean; linkType: number }): Uint8Array {
  const parts: number[] = [];
  const buf = new DataView(new ArrayBuffer(24));
  buf.setUint32(0, opts.nanos ? 0xa1b23c4d : 0xa1b2c3d4, opts.little);
  buf.setUint16(4, 2, opts.little);
  buf.setUint16(6, 4, opts.little);
  buf.setUint32(16, 65535, opts.little);
  buf.setUint32(20, opts.linkType, opts.little);
  parts.push(...new Uint8Array(buf.buffer));
  frames.forEach((f, i) => {
    const h = new DataView(new ArrayBuffer(16));
    h.setUint32(0, 1700000000 + i, opts.little);
    h.setUint32(4, 123, opts.little);
    h.setUint32(8, f.length, opts.little);
    h.setUint32(12, f.length, opts.little);
    parts.push(...new Uint8Array(h.buffer), ...f);
  });
  return Uint8Array.from(parts);
}
