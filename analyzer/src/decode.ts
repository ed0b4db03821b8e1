/**
 * Per-packet PDM decoding of a capture: finds the option in each IPv6 packet
 * and decodes it; encrypted options are opened when a key source is given.
 * Pure: the CLI supplies the file bytes.
 */
import { formatIpv6 } from '../../core/src/wire/addr.js';
import { parsePacket, type FiveTuple } from '../../core/src/wire/ipv6.js';
import { decodeOption, type OptionError, type Pdmv2Clear, type PdmOption } from '../../core/src/wire/options.js';
import { openOption, type OpenError } from '../../core/src/keys/seal.js';
import { decodeNanoseconds } from '../../core/src/time/delta.js';
import { ipv6Payload, type CapturedPacket } from './pcap.js';

/** A key that may open an option: the STK and AEAD, and where it came from (for reports). */
export interface KeyCandidate {
  key: Uint8Array;
  aeadId: number;
  /** Short name of the key, e.g. "PAIRING/GENERATION". */
  label?: string;
  pairing?: string;
  generation?: number;
  /** The client address and the prefix whose CS(P) the key comes from. */
  client?: string;
  prefix?: string;
}

/**
 * Returns the STK and AEAD for a packet's direction and epoch, or null when
 * not authorised. A list is tried in order and the first key whose tag
 * checks opens the option (several generations can share an epoch's
 * generation nibble in an analyzer's keys); an empty list is "no key".
 */
export type KeySource = (tuple: FiveTuple, epoch: number) => KeyCandidate | readonly KeyCandidate[] | null;

/** Outcome of opening an encrypted option, when a key source was given. */
export type Decryption = 'ok' | 'TAG_MISMATCH' | 'NO_KEY' | OpenError;

export interface PdmRecord {
  index: number;
  timestampNs: bigint;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  protocol: number;
  option: PdmOption | null;
  /** Set when the option is there but could not be decoded or opened. */
  error: OptionError | OpenError | 'NO_KEY' | null;
  /** Deltas in nanoseconds, for options that carry them in clear or once opened. */
  deltaTlrNs: number | null;
  deltaTlsNs: number | null;
  /**
   * Only for encrypted options and only when decodeCapture had a key source:
   * 'ok' (tag checked, `option` holds the opened fields), 'TAG_MISMATCH',
   * 'NO_KEY', or another opening error (same as `error`).
   */
  decryption?: Decryption;
  /** The label of the key that opened the option, or of the first one tried. */
  key?: string;
}

function record(p: CapturedPacket, t: FiveTuple): PdmRecord {
  return {
    index: p.index,
    timestampNs: p.timestampNs,
    src: formatIpv6(t.src),
    dst: formatIpv6(t.dst),
    sport: t.sport,
    dport: t.dport,
    protocol: t.protocol,
    option: null,
    error: null,
    deltaTlrNs: null,
    deltaTlsNs: null,
  };
}

/** Outcome of trying a key source's candidates on one encrypted option. */
export type OpenAttempt =
  | { ok: true; value: Pdmv2Clear; key: string | undefined }
  | { ok: false; error: OpenError | 'NO_KEY'; key: string | undefined };

export function openWithKeys(found: KeyCandidate | readonly KeyCandidate[] | null, option: Uint8Array): OpenAttempt {
  const list: readonly KeyCandidate[] = found === null ? [] : 'key' in found ? [found as KeyCandidate] : (found as readonly KeyCandidate[]);
  let error: OpenError | 'NO_KEY' = 'NO_KEY';
  let label: string | undefined;
  for (const k of list) {
    const opened = openOption(k.key, k.aeadId, option);
    if (opened.ok) return { ok: true, value: opened.value, key: k.label };
    if (error === 'NO_KEY') {
      error = opened.error;
      label = k.label;
    }
    // Only a tag mismatch is worth trying the next key for; anything else is the option's fault.
    if (opened.error !== 'TAG_MISMATCH') break;
  }
  return { ok: false, error, key: label };
}

function openWith(r: PdmRecord, found: KeyCandidate | readonly KeyCandidate[] | null, option: Uint8Array): void {
  const a = openWithKeys(found, option);
  if (a.key !== undefined) r.key = a.key;
  if (a.ok) {
    r.option = a.value;
    r.decryption = 'ok';
  } else {
    r.error = a.error;
    r.decryption = a.error;
  }
}

/** Every IPv6 packet with a 5-tuple, whether or not it carries a PDM option. */
export function decodeCapture(packets: CapturedPacket[], keys?: KeySource): PdmRecord[] {
  const out: PdmRecord[] = [];
  for (const p of packets) {
    const ip = ipv6Payload(p);
    if (!ip) continue;
    const parsed = parsePacket(ip, { captured: true });
    if (!parsed.ok || !parsed.value.fiveTuple) continue;
    const r = record(p, parsed.value.fiveTuple);
    const pdm = parsed.value.pdm;
    if (pdm) {
      const bytes = ip.subarray(pdm.offset, pdm.offset + pdm.length);
      const d = decodeOption(bytes, { allowReserved: true });
      if (!d.ok) {
        r.error = d.error;
      } else if (d.value.format === 'pdmv2-encrypted') {
        r.option = d.value;
        if (!keys) {
          r.error = 'NO_KEY';
        } else {
          openWith(r, keys(parsed.value.fiveTuple, d.value.epoch), bytes);
        }
      } else {
        r.option = d.value;
      }
      const o = r.option;
      if (o && o.format !== 'pdmv2-encrypted') {
        r.deltaTlrNs = decodeNanoseconds({ delta: o.deltaTlr, scale: o.scaleDtlr });
        r.deltaTlsNs = decodeNanoseconds({ delta: o.deltaTls, scale: o.scaleDtls });
      }
    }
    out.push(r);
  }
  return out;
}

export function formatRecord(r: PdmRecord): string {
  const proto = r.protocol === 6 ? 'tcp' : r.protocol === 17 ? 'udp' : r.protocol === 58 ? 'icmp6' : `proto${r.protocol}`;
  // Frame numbers from 1, as tshark and Wireshark count them.
  const head = `${r.index + 1} ${proto} [${r.src}]:${r.sport} > [${r.dst}]:${r.dport}`;
  if (!r.option && !r.error) return `${head} no-pdm`;
  if (r.error && (!r.option || r.option.format === 'pdmv2-encrypted')) {
    const o = r.option;
    const key = r.key !== undefined ? ` key=${r.key}` : '';
    return `${head} ${o ? `${o.format} epoch=${o.epoch} psntp=${o.psntp}` : 'pdm'} error=${r.error}${key}`;
  }
  const o = r.option!;
  const deltas = `dtlr=${r.deltaTlrNs?.toFixed(3)}ns dtls=${r.deltaTlsNs?.toFixed(3)}ns`;
  if (r.decryption === 'ok' && o.format === 'pdmv2-clear') {
    const key = r.key !== undefined ? ` key=${r.key}` : '';
    return `${head} pdmv2-encrypted epoch=${o.epoch} psntp=${o.psntp} tag=ok${key} psnlr=${o.psnlr} gp=${o.globalPointer} ${deltas}`;
  }
  switch (o.format) {
    case 'pdm-v1':
      return `${head} pdm-v1 psntp=${o.psntp} psnlr=${o.psnlr} ${deltas}`;
    case 'pdmv2-clear':
      return `${head} pdmv2 epoch=${o.epoch} psntp=${o.psntp} psnlr=${o.psnlr} gp=${o.globalPointer} ${deltas}`;
    case 'pdmv2-draft-clear':
      return `${head} pdmv2-draft psntp=${o.psntp} psnlr=${o.psnlr} gp=${o.globalPointer} ${deltas}`;
    default:
      return `${head} ${o.format}`;
  }
}
