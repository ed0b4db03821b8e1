/**
 * Key source for the analyzer: finds the session temporary key (STK) of an
 * encrypted PDMv2 option from the analyzer key files a primary exports
 * (AnalyzerKeys, docs/PROTOCOL.md §7.8), following the key
 * schedule of docs/PROTOCOL.md §5. Pure: no Node API; the CLI reads files.
 *
 * For a packet (5-tuple in its own direction) and the option's epoch:
 *  - generations: the keys whose generation mod 16 equals epoch >> 8, newest
 *    first. Validity windows (not_before/not_after) are ignored on purpose:
 *    an analyzer decrypts old captures. When several generations share the
 *    nibble (more than 16 exported), each is offered and decode.ts keeps the
 *    first whose tag checks.
 *  - client: the source address if it lies in one of the key's client
 *    prefixes (the prefixes of `secrets`, or the pairing's client_prefixes
 *    for `sgs` keys), otherwise the destination (the server's reply).
 *  - CS(P): the secret of the longest matching prefix, derived from the SGS
 *    with clientPrefixSecret for `sgs` keys; then HS(client) and
 *    STK(aead, epoch, tuple).
 * Across pairings the one whose server prefixes hold the other endpoint wins,
 * then the longest client prefix.
 *
 * Derived secrets are cached: HS per (pairing, generation, client) and the
 * candidate list per (tuple, epoch), so a capture of many packets of a few
 * flows derives each key once.
 */
import { formatIpv6, parsePrefix } from '../../core/src/wire/addr.js';
import { fromHex, toHex } from '../../core/src/util/bytes.js';
import { ENVELOPE_VERSION, MsgType } from '../../core/src/enroll/codec.js';
import { openAnalyzerKeys, parseAnalyzerKeys, type AnalyzerKeys } from '../../core/src/enroll/export.js';
import { FieldError } from '../../core/src/enroll/json.js';
import { SealError } from '../../core/src/enroll/seal.js';
import {
  aeadKeyLength,
  checkEpoch,
  clientPrefixSecret,
  hostSecret,
  prefixContains,
  sessionTemporaryKey,
  type FlowTuple,
  type Prefix,
} from '../../core/src/keys/schedule.js';
import type { KeyCandidate, KeySource } from './decode.js';

export class AnalyzerKeyFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AnalyzerKeyFileError';
  }
}

// ---------------------------------------------------------------------------------------------
// Loading key files

function isJsonStart(bytes: Uint8Array): boolean {
  for (const b of bytes) {
    if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) continue;
    return b === 0x7b; // '{'
  }
  return false;
}

function fieldMessage(e: unknown): string {
  if (e instanceof FieldError || e instanceof SealError || e instanceof TypeError) return e.message;
  throw e;
}

export interface KeyFileOptions {
  /** The primary's public key the file must be sealed by (sealed files only). */
  primaryPk?: Uint8Array;
}

/**
 * Reads an analyzer key file: either the plaintext AnalyzerKeys JSON
 * (`{"v":1,"type":"analyzer-keys",…}`, what the lab writes and what any
 * analyzer can use) or the sealed envelope of type 0x05 that
 * `primary export-keys` writes, which needs the analyzer's X25519 secret key
 * (from `primary analyzer-keygen`). The envelope names the primary's public
 * key; pass `primaryPk` to insist on one. Throws AnalyzerKeyFileError.
 */
export function parseAnalyzerKeyFile(bytes: Uint8Array, analyzerSecretKey?: Uint8Array, opts: KeyFileOptions = {}): AnalyzerKeys {
  if (bytes.length === 0) throw new AnalyzerKeyFileError('empty key file');
  if (isJsonStart(bytes)) {
    try {
      return parseAnalyzerKeys(bytes);
    } catch (e) {
      throw new AnalyzerKeyFileError(`not a valid analyzer key file: ${fieldMessage(e)}`);
    }
  }
  if (bytes[0] === ENVELOPE_VERSION && bytes.length >= 2) {
    if (bytes[1] !== MsgType.AnalyzerKeys) {
      throw new AnalyzerKeyFileError(`a sealed message of type 0x${bytes[1]!.toString(16).padStart(2, '0')}, not an analyzer key file (type 0x05)`);
    }
    if (!analyzerSecretKey) {
      throw new AnalyzerKeyFileError('the key file is sealed to an analyzer key: give the analyzer secret key (--analyzer-key FILE)');
    }
    if (analyzerSecretKey.length !== 32) throw new AnalyzerKeyFileError('the analyzer secret key must be 32 octets');
    let opened: ReturnType<typeof openAnalyzerKeys>;
    try {
      opened = openAnalyzerKeys(bytes, analyzerSecretKey, opts.primaryPk);
    } catch (e) {
      if (e instanceof SealError && e.code === 'UNAUTHENTICATED') {
        throw new AnalyzerKeyFileError('cannot open the sealed key file: it was sealed to another analyzer key, or it is damaged');
      }
      if (e instanceof FieldError && e.field === 'primary') {
        throw new AnalyzerKeyFileError('the sealed key file comes from another primary than the one given');
      }
      throw new AnalyzerKeyFileError(`bad sealed key file: ${fieldMessage(e)}`);
    }
    return opened.keys;
  }
  throw new AnalyzerKeyFileError('neither an analyzer key JSON file nor a sealed analyzer key file');
}

/** The text of an analyzer secret key file (64 hex digits, as `primary analyzer-keygen` writes). */
export function parseAnalyzerSecretKey(text: string): Uint8Array {
  const t = text.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(t)) throw new AnalyzerKeyFileError('an analyzer secret key file holds 64 hex digits (as primary analyzer-keygen writes)');
  return fromHex(t);
}

// ---------------------------------------------------------------------------------------------
// Key ring

interface PrefixEntry {
  prefix: Prefix;
  text: string;
}

interface GenerationEntry {
  generation: number;
  sgs: Uint8Array | null;
  /** CS(P) given directly (`secrets`), or derived from the SGS on first use. */
  cs: Map<string, Uint8Array>;
  /** Prefixes whose clients this generation covers. */
  prefixes: PrefixEntry[];
}

interface PairingEntry {
  id: string;
  aead: number;
  clientPrefixes: PrefixEntry[];
  serverPrefixes: PrefixEntry[];
  generations: Map<number, GenerationEntry>;
  /** Index: generation mod 16 → entries, newest first. */
  byNibble: GenerationEntry[][];
}

export interface KeyRingSummary {
  pairing: string;
  aead: number;
  generations: Array<{ generation: number; kind: 'sgs' | 'secrets' | 'sgs+secrets'; prefixes: string[] }>;
}

function prefixEntry(text: string): PrefixEntry {
  const prefix = parsePrefix(text);
  return { prefix, text };
}

function addPrefix(list: PrefixEntry[], text: string): void {
  if (!list.some((p) => p.text === text)) list.push(prefixEntry(text));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function longestMatch(list: readonly PrefixEntry[], address: Uint8Array): PrefixEntry | null {
  let best: PrefixEntry | null = null;
  for (const e of list) {
    if (prefixContains(e.prefix, address) && (!best || e.prefix.length > best.prefix.length)) best = e;
  }
  return best;
}

/** A candidate before its key is derived. */
interface Match {
  pairing: PairingEntry;
  gen: GenerationEntry;
  client: Uint8Array;
  prefix: PrefixEntry;
  peerIsServer: boolean;
}

export interface KeyRingOptions {
  /** Entries kept in the (tuple, epoch) cache before it is emptied; default 65536. */
  cacheLimit?: number;
}

/**
 * The keys of one or more analyzer key files. Files of the same pairing are
 * merged (their AEAD must agree, and one generation cannot have two
 * different SGS or two different CS(P) for one prefix).
 */
export class AnalyzerKeyRing {
  private readonly pairings = new Map<string, PairingEntry>();
  private readonly hsCache = new Map<string, Uint8Array>();
  private readonly candidateCache = new Map<string, KeyCandidate[]>();
  private readonly cacheLimit: number;
  /** Key derivations done (HS and STK), for tests and statistics. */
  derivations = 0;

  constructor(files: readonly AnalyzerKeys[], opts: KeyRingOptions = {}) {
    this.cacheLimit = opts.cacheLimit ?? 65536;
    for (const f of files) this.add(f);
    for (const p of this.pairings.values()) {
      p.byNibble = Array.from({ length: 16 }, () => [] as GenerationEntry[]);
      for (const g of p.generations.values()) {
        if (g.sgs) for (const c of p.clientPrefixes) addPrefix(g.prefixes, c.text);
        p.byNibble[g.generation & 0xf]!.push(g);
      }
      for (const list of p.byNibble) list.sort((a, b) => b.generation - a.generation);
    }
  }

  private add(f: AnalyzerKeys): void {
    aeadKeyLength(f.aead);
    let p = this.pairings.get(f.pairing);
    if (!p) {
      p = { id: f.pairing, aead: f.aead, clientPrefixes: [], serverPrefixes: [], generations: new Map(), byNibble: [] };
      this.pairings.set(f.pairing, p);
    } else if (p.aead !== f.aead) {
      throw new AnalyzerKeyFileError(`pairing ${f.pairing}: two key files disagree on the AEAD (${p.aead} and ${f.aead})`);
    }
    for (const c of f.client_prefixes) addPrefix(p.clientPrefixes, c);
    for (const s of f.server_prefixes) addPrefix(p.serverPrefixes, s);
    for (const k of f.keys) {
      let g = p.generations.get(k.generation);
      if (!g) {
        g = { generation: k.generation, sgs: null, cs: new Map(), prefixes: [] };
        p.generations.set(k.generation, g);
      }
      if (k.sgs !== undefined) {
        const sgs = fromHex(k.sgs);
        if (g.sgs && !sameBytes(g.sgs, sgs)) {
          throw new AnalyzerKeyFileError(`pairing ${f.pairing} generation ${k.generation}: two different SGS`);
        }
        g.sgs = sgs;
      }
      for (const s of k.secrets ?? []) {
        const cs = fromHex(s.secret);
        const old = g.cs.get(s.prefix);
        if (old && !sameBytes(old, cs)) {
          throw new AnalyzerKeyFileError(`pairing ${f.pairing} generation ${k.generation}: two different secrets for ${s.prefix}`);
        }
        g.cs.set(s.prefix, cs);
        addPrefix(g.prefixes, s.prefix);
      }
    }
  }

  /** What the ring holds (no secrets), for messages. */
  summary(): KeyRingSummary[] {
    return [...this.pairings.values()].map((p) => ({
      pairing: p.id,
      aead: p.aead,
      generations: [...p.generations.values()]
        .sort((a, b) => a.generation - b.generation)
        .map((g) => ({
          generation: g.generation,
          kind: g.sgs && g.cs.size > 0 ? ('sgs+secrets' as const) : g.sgs ? ('sgs' as const) : ('secrets' as const),
          prefixes: g.prefixes.map((x) => x.text),
        })),
    }));
  }

  private matches(tuple: FlowTuple, nibble: number): Match[] {
    const out: Match[] = [];
    for (const p of this.pairings.values()) {
      for (const gen of p.byNibble[nibble] ?? []) {
        let client = tuple.src;
        let peer = tuple.dst;
        let prefix = longestMatch(gen.prefixes, client);
        if (!prefix) {
          client = tuple.dst;
          peer = tuple.src;
          prefix = longestMatch(gen.prefixes, client);
        }
        if (!prefix) continue;
        const peerIsServer = p.serverPrefixes.some((s) => prefixContains(s.prefix, peer));
        out.push({ pairing: p, gen, client, prefix, peerIsServer });
      }
    }
    // Stable sort: pairing evidence first, then the longest client prefix, then the newest generation.
    out.sort(
      (a, b) =>
        Number(b.peerIsServer) - Number(a.peerIsServer) ||
        b.prefix.prefix.length - a.prefix.prefix.length ||
        b.gen.generation - a.gen.generation,
    );
    return out;
  }

  private clientSecret(m: Match): Uint8Array {
    let cs = m.gen.cs.get(m.prefix.text);
    if (!cs) {
      // Only generations with an SGS list prefixes without a secret.
      cs = clientPrefixSecret(m.gen.sgs!, m.prefix.prefix);
      m.gen.cs.set(m.prefix.text, cs);
      this.derivations++;
    }
    return cs;
  }

  private hostSecretOf(m: Match): Uint8Array {
    const key = `${m.pairing.id}/${m.gen.generation}/${toHex(m.client)}`;
    let hs = this.hsCache.get(key);
    if (!hs) {
      hs = hostSecret(this.clientSecret(m), m.client);
      this.derivations++;
      if (this.hsCache.size >= this.cacheLimit) this.hsCache.clear();
      this.hsCache.set(key, hs);
    }
    return hs;
  }

  /** Every key that may open an option of this packet, best first (usually one). */
  candidates(tuple: FlowTuple, epoch: number): KeyCandidate[] {
    checkEpoch(epoch);
    const cacheKey = `${toHex(tuple.src)}${toHex(tuple.dst)}/${tuple.sport}/${tuple.dport}/${tuple.protocol}/${epoch}`;
    const cached = this.candidateCache.get(cacheKey);
    if (cached) return cached;
    const list = this.matches(tuple, epoch >> 8).map((m): KeyCandidate => {
      const key = sessionTemporaryKey(this.hostSecretOf(m), m.pairing.aead, epoch, tuple);
      this.derivations++;
      return {
        key,
        aeadId: m.pairing.aead,
        label: `${m.pairing.id}/${m.gen.generation}`,
        pairing: m.pairing.id,
        generation: m.gen.generation,
        client: formatIpv6(m.client),
        prefix: m.prefix.text,
      };
    });
    if (this.candidateCache.size >= this.cacheLimit) this.candidateCache.clear();
    this.candidateCache.set(cacheKey, list);
    return list;
  }

  /** The KeySource decodeCapture takes. */
  readonly source: KeySource = (tuple, epoch) => {
    const list = this.candidates(tuple, epoch);
    return list.length === 0 ? null : list;
  };
}

/** A KeySource from one or more analyzer key files' contents. */
export function keySourceFromAnalyzerKeys(files: readonly AnalyzerKeys[], opts: KeyRingOptions = {}): KeySource {
  return new AnalyzerKeyRing(files, opts).source;
}
