/**
 * Streaming per-flow metrics in RFC 8250's terms, fed one captured frame at a
 * time (CaptureParser's sink) without per-packet allocation for clear options.
 *
 * RFC 8250 §3.2 / §4: a packet's DeltaTLR is the time its sender took between
 * receiving the packet named by PSNLR and sending this one; DeltaTLS is the
 * time between its sender's previous send and that receive. So, with the
 * client being the end that starts the exchange:
 *   round-trip time = DeltaTLS of the client's packets,
 *   server delay    = DeltaTLR of the server's packets,
 *   client delay    = DeltaTLR of the client's packets,
 *   network RTT     = a client packet's DeltaTLS minus the DeltaTLR of the
 *                     server packet its PSNLR names (round trip less the
 *                     server's own time).
 * Loss, reordering and duplicates come from PSNTP per direction, as seen at
 * the capture point: a PSN never seen was lost before it (or not yet sent).
 * PSNTP is in clear in the encrypted form too, so those need no keys.
 */
import type { FiveTuple } from '../../core/src/wire/ipv6.js';
import type { KeySource } from './decode.js';
import { openWithKeys } from './decode.js';
import { FrameScan, scanFrame } from './packet-scan.js';
import { Col, Samples, Series, SeriesClock } from './samples.js';

export const FORMAT_V1 = 1;
export const FORMAT_CLEAR = 2;
export const FORMAT_ENCRYPTED = 4;
export const FORMAT_DRAFT = 8;
export const FORMAT_NAMES: ReadonlyArray<[number, string]> = [
  [FORMAT_V1, 'pdm-v1'],
  [FORMAT_CLEAR, 'pdmv2-clear'],
  [FORMAT_ENCRYPTED, 'pdmv2-encrypted'],
  [FORMAT_DRAFT, 'pdmv2-draft-clear'],
];

/** PSNs remembered behind the highest one, to tell a late packet from a duplicate. */
const PSN_WINDOW = 8192;
const WINDOW_MASK = PSN_WINDOW - 1;
/** Packets read before they are applied (FlowEngine.flush). */
const BATCH = 131072;
const KIND_NONE = 0;
const KIND_METRICS = 1;
const KIND_SEALED = 2;
const KIND_MALFORMED = 3;
/** Recent DeltaTLR values by PSNTP, for the reverse direction's network RTT. */
const TLR_RING = 256;

/** 2^scale / 10^9: ns per delta unit (RFC 8250 §3.3: DELTA × 2^SCALE attoseconds). */
const NS_PER_UNIT = Float64Array.from({ length: 256 }, (_, s) => 2 ** s / 1e9);

export class Direction {
  packets = 0;
  octets = 0;
  pdm = 0;
  formats = 0;
  /** Options present but malformed (bad length or version). */
  malformed = 0;
  /** Encrypted options whose metrics stayed closed (no key, wrong key). */
  sealed = 0;
  firstNs = 0;
  lastNs = 0;
  // PSN accounting on an unwrapped sequence number line.
  private started = false;
  private bits = 32;
  /** The highest PSN as carried (modulo 2^bits); highestPsn is the same on the unwrapped line. */
  private highestRaw = 0;
  firstPsn = 0;
  highestPsn = 0;
  /** Distinct PSNs received (new or late). */
  received = 0;
  duplicates = 0;
  reordered = 0;
  private readonly window = new Uint32Array(PSN_WINDOW / 32);
  readonly tlr = new Samples();
  readonly tls = new Samples();
  readonly net = new Samples();
  /** PSNTP and DeltaTLR side by side (one cache line per lookup, not two), by PSNTP modulo TLR_RING. */
  private readonly ring = new Float64Array(2 * TLR_RING).fill(-1);
  readonly series: Series;

  constructor(clock: SeriesClock) {
    this.series = new Series(clock);
  }

  /** PSNs the sender used between its first and highest seen, minus those seen. */
  get lost(): number {
    return this.started ? Math.max(0, this.highestPsn - this.firstPsn + 1 - this.received) : 0;
  }

  get expected(): number {
    return this.started ? this.highestPsn - this.firstPsn + 1 : 0;
  }

  /** Accounts a PSNTP (raw, modulo 2^bits); `row` is the packet's series row. */
  psn(raw: number, bits: number, row: number): void {
    const data = this.series.data;
    const w = this.window;
    if (!this.started || this.bits !== bits) {
      this.started = true;
      this.bits = bits;
      this.firstPsn = this.highestPsn = raw;
      this.highestRaw = raw;
      this.received = 1;
      w.fill(0);
      w[(raw & WINDOW_MASK) >>> 5]! |= 1 << (raw & 31);
      return;
    }
    // Signed distance from the highest PSN, modulo 2^bits (integer arithmetic: no float modulo per packet).
    const diff = bits === 32 ? (raw - this.highestRaw) | 0 : ((raw - this.highestRaw) << 16) >> 16;
    const p = this.highestPsn + diff;
    if (diff > 0) {
      // New highest: clear the window slots that now stand for new PSNs.
      if (diff >= PSN_WINDOW) w.fill(0);
      else for (let q = this.highestPsn + 1; q < p; q++) w[(q & WINDOW_MASK) >>> 5]! &= ~(1 << (q & 31));
      data[row + Col.Gaps]! += diff - 1;
      this.highestPsn = p;
      this.highestRaw = raw;
      this.received++;
      w[(p & WINDOW_MASK) >>> 5]! |= 1 << (p & 31);
      return;
    }
    if (p < this.firstPsn) {
      // Older than anything seen: the capture started after it was sent.
      this.firstPsn = p;
      this.received++;
      this.reordered++;
      return;
    }
    const slot = (p & WINDOW_MASK) >>> 5;
    const bit = 1 << (p & 31);
    if (this.highestPsn - p < PSN_WINDOW && w[slot]! & bit) {
      this.duplicates++;
      data[row + Col.Duplicates]!++;
      return;
    }
    w[slot]! |= bit;
    this.received++;
    this.reordered++;
    data[row + Col.Fills]!++;
  }

  rememberTlr(psn: number, tlrNs: number): void {
    const i = (psn & (TLR_RING - 1)) << 1;
    this.ring[i] = psn;
    this.ring[i + 1] = tlrNs;
  }

  /** DeltaTLR of this direction's packet `psn`, if still remembered, else -1. */
  tlrOf(psn: number): number {
    const i = (psn & (TLR_RING - 1)) << 1;
    return this.ring[i] === psn ? this.ring[i + 1]! : -1;
  }
}

export class Conversation {
  readonly ab: Direction;
  readonly ba: Direction;
  /** True when A (the sender of the first packet seen) is the client. */
  clientIsA = true;
  /** Set once a packet said who the client is (TCP SYN, ICMPv6 echo). */
  roleKnown = false;
  next: Conversation | null = null;
  /** This conversation's packets in the engine's current batch: first and last entry, and the batch they belong to. */
  batchHead = -1;
  batchTail = -1;
  batch = -1;
  addrA: string;
  addrB: string;
  /** The addresses as 32-bit words, for matching packets without reading them octet by octet. */
  readonly a0: number;
  readonly a1: number;
  readonly a2: number;
  readonly a3: number;
  readonly b0: number;
  readonly b1: number;
  readonly b2: number;
  readonly b3: number;

  constructor(
    readonly id: number,
    readonly protocol: number,
    readonly rawA: Uint8Array,
    readonly portA: number,
    readonly rawB: Uint8Array,
    readonly portB: number,
    /** Hash of the 5-tuple, the same in both directions. */
    readonly hash: number,
    clock: SeriesClock,
  ) {
    this.ab = new Direction(clock);
    this.ba = new Direction(clock);
    this.addrA = formatAddress(rawA);
    this.addrB = formatAddress(rawB);
    const a = new DataView(rawA.buffer, rawA.byteOffset, 16);
    const b = new DataView(rawB.buffer, rawB.byteOffset, 16);
    this.a0 = a.getInt32(0);
    this.a1 = a.getInt32(4);
    this.a2 = a.getInt32(8);
    this.a3 = a.getInt32(12);
    this.b0 = b.getInt32(0);
    this.b1 = b.getInt32(4);
    this.b2 = b.getInt32(8);
    this.b3 = b.getInt32(12);
    // Without a stronger hint, the end on a well-known port is the server.
    if (portA < 1024 && portB >= 1024 && protocol !== 58) this.clientIsA = false;
  }

  get client(): Direction {
    return this.clientIsA ? this.ab : this.ba;
  }

  get server(): Direction {
    return this.clientIsA ? this.ba : this.ab;
  }
}

function mix(w0: number, w1: number, w2: number, w3: number, port: number): number {
  let h = Math.imul(0x811c9dc5 ^ port ^ w0, 0x01000193);
  h = Math.imul(h ^ (h >>> 15) ^ w1, 0x01000193);
  h = Math.imul(h ^ (h >>> 15) ^ w2, 0x01000193);
  h = Math.imul(h ^ (h >>> 15) ^ w3, 0x01000193);
  return h ^ (h >>> 15);
}

export function formatAddress(a: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((a[i]! << 8) | a[i + 1]!).toString(16));
  // The longest run of two or more zero groups becomes "::" (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

export interface DecryptionCounts {
  opened: number;
  tagMismatch: number;
  noKey: number;
  other: number;
}

export class FlowEngine {
  readonly clock = new SeriesClock();
  readonly conversations: Conversation[] = [];
  packets = 0;
  ipv6 = 0;
  pdm = 0;
  lastNs = 0;
  readonly decryption: DecryptionCounts = { opened: 0, tagMismatch: 0, noKey: 0, other: 0 };
  /** Conversations by hash of their 5-tuple (chained through `next`); the length is a power of two. */
  private table: Array<Conversation | null> = new Array<Conversation | null>(1024).fill(null);
  private readonly scan = new FrameScan();
  /** The capture buffer last seen and a view of it for 32-bit reads. */
  private words: Uint8Array | null = null;
  private wordView: DataView = new DataView(new ArrayBuffer(0));

  /** `batch`: packets read before they are applied (tests vary it; the report does not depend on it). */
  constructor(
    private readonly keys?: KeySource,
    private readonly batch = BATCH,
  ) {
    this.bNext = new Int32Array(batch);
    this.bWay = new Uint8Array(batch);
    this.bKind = new Uint8Array(batch);
    this.bFormat = new Uint8Array(batch);
    this.bOctets = new Float64Array(batch);
    this.bRelNs = new Float64Array(batch);
    this.bPsntp = new Float64Array(batch);
    this.bPsnlr = new Float64Array(batch);
    this.bTlr = new Float64Array(batch);
    this.bTls = new Float64Array(batch);
  }

  /** CaptureParser's sink. */
  /**
   * Packets are handled in two passes over a batch. The first (packet) reads
   * everything the metrics need out of the frame into the batch arrays, in
   * capture order; the second (flush) applies them conversation by
   * conversation. With many concurrent flows, a flow's counters, series and
   * histograms are then fetched into the cache once per batch instead of once
   * per packet: that, not the parsing, is what bounds the speed. Per
   * direction the order stays the capture's; directions of different
   * conversations do not depend on each other.
   */
  private batchSize = 0;
  private batchNumber = 0;
  private readonly batchConversations: Conversation[] = [];
  private readonly bNext: Int32Array;
  /** 1: A→B, 2: B→A. */
  private readonly bWay: Uint8Array;
  private readonly bKind: Uint8Array;
  private readonly bFormat: Uint8Array;
  private readonly bOctets: Float64Array;
  private readonly bRelNs: Float64Array;
  private readonly bPsntp: Float64Array;
  private readonly bPsnlr: Float64Array;
  private readonly bTlr: Float64Array;
  private readonly bTls: Float64Array;

  /** CaptureParser's sink: the first pass. The frame is not needed after the call. */
  readonly packet = (linkType: number, relSec: number, relNsInSec: number, d: Uint8Array, off: number, capLen: number, origLen: number): void => {
    this.packets++;
    const relNs = relSec * 1e9 + relNsInSec;
    if (relNs > this.lastNs) this.lastNs = relNs;
    const s = this.scan;
    if (!scanFrame(d, off, capLen, linkType, s)) return;
    this.ipv6++;
    const src = s.ip + 8;
    const dst = s.ip + 24;
    const proto = s.protocol;
    const sport = s.sport;
    const dport = s.dport;
    if (d !== this.words) {
      this.words = d;
      this.wordView = new DataView(d.buffer, d.byteOffset, d.byteLength);
    }
    const v = this.wordView;
    const s0 = v.getInt32(src);
    const s1 = v.getInt32(src + 4);
    const s2 = v.getInt32(src + 8);
    const s3 = v.getInt32(src + 12);
    const t0 = v.getInt32(dst);
    const t1 = v.getInt32(dst + 4);
    const t2 = v.getInt32(dst + 8);
    const t3 = v.getInt32(dst + 12);
    // Symmetric in the two ends, and kept within V8's small-integer range (no boxing when stored or passed).
    const h = (mix(s0, s1, s2, s3, sport) ^ mix(t0, t1, t2, t3, dport) ^ proto) & 0x3fffffff;
    let c: Conversation | null = this.table[h & (this.table.length - 1)]!;
    let way = 0;
    for (; c !== null; c = c.next) {
      if (c.protocol !== proto) continue;
      if (sport === c.portA && dport === c.portB && s0 === c.a0 && s1 === c.a1 && s2 === c.a2 && s3 === c.a3 && t0 === c.b0 && t1 === c.b1 && t2 === c.b2 && t3 === c.b3) {
        way = 1;
        break;
      }
      if (sport === c.portB && dport === c.portA && s0 === c.b0 && s1 === c.b1 && s2 === c.b2 && s3 === c.b3 && t0 === c.a0 && t1 === c.a1 && t2 === c.a2 && t3 === c.a3) {
        way = 2;
        break;
      }
    }
    if (c === null) {
      c = new Conversation(this.conversations.length, proto, d.slice(src, src + 16), sport, d.slice(dst, dst + 16), dport, h, this.clock);
      this.conversations.push(c);
      if (this.conversations.length > this.table.length) this.rehash();
      else this.link(c);
      way = 1;
    }
    if (!c.roleKnown && (proto === 6 || proto === 58)) this.roleHint(c, way, d, s);

    const i = this.batchSize++;
    this.bNext[i] = -1;
    if (c.batch !== this.batchNumber) {
      c.batch = this.batchNumber;
      c.batchHead = i;
      this.batchConversations.push(c);
    } else {
      this.bNext[c.batchTail] = i;
    }
    c.batchTail = i;
    this.bWay[i] = way;
    this.bOctets[i] = origLen;
    this.bRelNs[i] = relNs;
    this.bKind[i] = this.readOption(d, s, i);
    if (this.batchSize === this.batch) this.flush();
  };

  /** Fills entry i's option fields from the frame; returns its kind. */
  private readOption(d: Uint8Array, s: FrameScan, i: number): number {
    const o = s.pdm;
    if (o < 0) return KIND_NONE;
    const len = d[o + 1]!;
    if (len === 22) {
      if (d[o + 2]! >> 4 !== 2) return KIND_MALFORMED;
      this.bFormat[i] = FORMAT_CLEAR;
      this.bPsntp[i] = u32(d, o + 4);
      this.bPsnlr[i] = u32(d, o + 8);
      this.bTlr[i] = u16(d, o + 20) * NS_PER_UNIT[d[o + 16]!]!;
      this.bTls[i] = u16(d, o + 22) * NS_PER_UNIT[d[o + 17]!]!;
    } else if (len === 34) {
      if (d[o + 2]! >> 4 !== 2) return KIND_MALFORMED;
      this.bFormat[i] = FORMAT_ENCRYPTED;
      this.bPsntp[i] = u32(d, o + 4);
      this.pdm++;
      const opened = this.open(d, s, o);
      if (opened === null) return KIND_SEALED;
      this.bPsnlr[i] = opened.psnlr;
      this.bTlr[i] = opened.deltaTlr * NS_PER_UNIT[opened.scaleDtlr]!;
      this.bTls[i] = opened.deltaTls * NS_PER_UNIT[opened.scaleDtls]!;
      return KIND_METRICS;
    } else if (len === 10) {
      this.bFormat[i] = FORMAT_V1;
      this.bPsntp[i] = u16(d, o + 4);
      this.bPsnlr[i] = u16(d, o + 6);
      this.bTlr[i] = u16(d, o + 8) * NS_PER_UNIT[d[o + 2]!]!;
      this.bTls[i] = u16(d, o + 10) * NS_PER_UNIT[d[o + 3]!]!;
    } else if (len === 18) {
      if (d[o + 2]! >> 4 !== 2) return KIND_MALFORMED;
      this.bFormat[i] = FORMAT_DRAFT;
      this.bPsntp[i] = u16(d, o + 12);
      this.bPsnlr[i] = u16(d, o + 14);
      this.bTlr[i] = u16(d, o + 16) * NS_PER_UNIT[d[o + 6]!]!;
      this.bTls[i] = u16(d, o + 18) * NS_PER_UNIT[d[o + 7]!]!;
    } else {
      return KIND_MALFORMED;
    }
    this.pdm++;
    return KIND_METRICS;
  }

  /** The second pass: applies the batch, conversation by conversation. Call before reading the results. */
  flush(): void {
    const list = this.batchConversations;
    const next = this.bNext;
    for (let k = 0; k < list.length; k++) {
      const c = list[k]!;
      for (let i = c.batchHead; i >= 0; i = next[i]!) this.apply(c, i);
    }
    list.length = 0;
    this.batchSize = 0;
    this.batchNumber++;
  }

  private apply(c: Conversation, i: number): void {
    const way = this.bWay[i]!;
    const dir = way === 1 ? c.ab : c.ba;
    const relNs = this.bRelNs[i]!;
    if (dir.packets === 0) dir.firstNs = relNs;
    dir.packets++;
    dir.octets += this.bOctets[i]!;
    dir.lastNs = relNs;
    const row = dir.series.rowOfBin(this.clock.binOf(relNs));
    const data = dir.series.data;
    data[row + Col.Packets]!++;
    const kind = this.bKind[i]!;
    if (kind === KIND_NONE) return;
    if (kind === KIND_MALFORMED) {
      dir.malformed++;
      return;
    }
    const format = this.bFormat[i]!;
    dir.formats |= format;
    dir.pdm++;
    const psntp = this.bPsntp[i]!;
    const bits = format === FORMAT_V1 || format === FORMAT_DRAFT ? 16 : 32;
    dir.psn(psntp, bits, row);
    if (kind === KIND_SEALED) {
      dir.sealed++;
      return;
    }
    const tlr = this.bTlr[i]!;
    const tls = this.bTls[i]!;
    // A zero delta means "nothing to report yet" (RFC 8250 §3.2: the first packet of a flow).
    if (tlr > 0) {
      dir.tlr.add(tlr);
      data[row + Col.TlrSum]! += tlr;
      data[row + Col.TlrCount]!++;
      if (tlr > data[row + Col.TlrMax]!) data[row + Col.TlrMax] = tlr;
      dir.rememberTlr(psntp, tlr);
    }
    if (tls > 0) {
      dir.tls.add(tls);
      data[row + Col.TlsSum]! += tls;
      data[row + Col.TlsCount]!++;
      if (tls > data[row + Col.TlsMax]!) data[row + Col.TlsMax] = tls;
      const peer = (way === 1 ? c.ba : c.ab).tlrOf(this.bPsnlr[i]!);
      if (peer >= 0 && peer <= tls) {
        const net = tls - peer;
        dir.net.add(net);
        data[row + Col.NetSum]! += net;
        data[row + Col.NetCount]!++;
      }
    }
  }

  private link(c: Conversation): void {
    const slot = c.hash & (this.table.length - 1);
    c.next = this.table[slot]!;
    this.table[slot] = c;
  }

  /** Doubles the table: chains stay about one conversation long. */
  private rehash(): void {
    this.table = new Array<Conversation | null>(this.table.length * 2).fill(null);
    for (const c of this.conversations) this.link(c);
  }

  private roleHint(c: Conversation, way: number, d: Uint8Array, s: FrameScan): void {
    const u = s.upper;
    let senderIsClient: boolean | null = null;
    if (s.protocol === 6 && u + 14 <= s.end) {
      const flags = d[u + 13]!;
      if ((flags & 0x12) === 0x02) senderIsClient = true;
      else if ((flags & 0x12) === 0x12) senderIsClient = false;
    } else if (s.protocol === 58) {
      const type = d[u]!;
      if (type === 128) senderIsClient = true;
      else if (type === 129) senderIsClient = false;
    }
    if (senderIsClient === null) return;
    c.roleKnown = true;
    c.clientIsA = (way === 1) === senderIsClient;
  }

  /** Opens an encrypted option with the key source; null when it stays closed. */
  private open(d: Uint8Array, s: FrameScan, o: number): { psnlr: number; scaleDtlr: number; scaleDtls: number; deltaTlr: number; deltaTls: number } | null {
    if (!this.keys) {
      this.decryption.noKey++;
      return null;
    }
    const tuple: FiveTuple = {
      src: d.slice(s.ip + 8, s.ip + 24),
      dst: d.slice(s.ip + 24, s.ip + 40),
      sport: s.sport,
      dport: s.dport,
      protocol: s.protocol,
    };
    const attempt = openWithKeys(this.keys(tuple, u16(d, o + 2) & 0xfff), d.subarray(o, o + 36));
    if (attempt.ok) {
      this.decryption.opened++;
      return attempt.value;
    }
    if (attempt.error === 'TAG_MISMATCH') this.decryption.tagMismatch++;
    else if (attempt.error === 'NO_KEY') this.decryption.noKey++;
    else this.decryption.other++;
    return null;
  }
}

function u16(d: Uint8Array, at: number): number {
  return (d[at]! << 8) | d[at + 1]!;
}

function u32(d: Uint8Array, at: number): number {
  return ((d[at]! << 24) | (d[at + 1]! << 16) | (d[at + 2]! << 8) | d[at + 3]!) >>> 0;
}
