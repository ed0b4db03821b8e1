/**
 * Checker for HPKE known-answer tests in the official RFC 9180 JSON format
 * (github.com/cfrg/draft-irtf-cfrg-hpke test-vectors.json; field names as there). An encryption's
 * `sequence_number` is optional: when absent it is recovered from nonce XOR base_nonce.
 * Pure: the caller parses the JSON. Every entry is checked independently and nothing throws:
 * malformed or unsupported entries become failures (or skips) with a reason.
 */

import { constantTimeEqual, fromHex, toHex } from '../util/bytes.js';
import { HpkeError } from './errors.js';
import {
  computeNonce,
  createSuite,
  keySchedule,
  Mode,
  setupRecipient,
  setupSender,
} from './hpke.js';
import type { Mode as ModeT, RecipientContext, SenderContext, Suite } from './hpke.js';

export interface HpkeVectorOptions {
  /** Count entries whose suite is not implemented as skipped instead of failed. */
  readonly skipUnsupported?: boolean;
}

export interface HpkeVectorReport {
  passed: number;
  failed: number;
  skipped: number;
  /** One line per problem, each prefixed with the entry it concerns. */
  failures: string[];
}

/** Raised inside one entry's check when a field is missing or malformed. */
class MalformedEntry extends Error {}

type Json = Record<string, unknown>;

function isObject(x: unknown): x is Json {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function hexOf(obj: Json, field: string, where: string): Uint8Array {
  const v = obj[field];
  if (typeof v !== 'string') throw new MalformedEntry(`${where}missing or non-string field "${field}"`);
  try {
    return fromHex(v);
  } catch (e) {
    throw new MalformedEntry(`${where}field "${field}" is not valid hex (${(e as Error).message})`);
  }
}

function intOf(obj: Json, field: string, where: string, max: number): number {
  const v = obj[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new MalformedEntry(`${where}missing or invalid integer field "${field}"`);
  }
  return v;
}

function arrayOf(obj: Json, field: string): unknown[] {
  const v = obj[field];
  if (!Array.isArray(v)) throw new MalformedEntry(`missing or non-array field "${field}"`);
  return v;
}

function hex16(n: number): string {
  return `0x${n.toString(16).padStart(4, '0')}`;
}

function describe(e: unknown): string {
  if (e instanceof HpkeError) return e.message;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

function show(b: Uint8Array): string {
  return b.length === 0 ? '(empty)' : toHex(b);
}

/** Collects the mismatches of one entry. */
class EntryCheck {
  readonly problems: string[] = [];

  equal(what: string, expected: Uint8Array, actual: Uint8Array): boolean {
    if (expected.length === actual.length && constantTimeEqual(expected, actual)) return true;
    this.problems.push(`${what} mismatch: expected ${show(expected)}, got ${show(actual)}`);
    return false;
  }

  /** Runs `fn`, recording a thrown error as a problem; returns undefined in that case. */
  attempt<T>(what: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      if (e instanceof MalformedEntry) throw e;
      this.problems.push(`${what} failed: ${describe(e)}`);
      return undefined;
    }
  }
}

interface ParsedEntry {
  mode: ModeT;
  info: Uint8Array;
  ikmE: Uint8Array;
  pkEm: Uint8Array;
  skEm: Uint8Array;
  ikmR: Uint8Array;
  pkRm: Uint8Array;
  skRm: Uint8Array;
  sender?: { ikmS: Uint8Array; pkSm: Uint8Array; skSm: Uint8Array };
  psk?: { psk: Uint8Array; pskId: Uint8Array };
  enc: Uint8Array;
  sharedSecret: Uint8Array;
  keyScheduleContext: Uint8Array;
  secret: Uint8Array;
  key: Uint8Array;
  baseNonce: Uint8Array;
  exporterSecret: Uint8Array;
  encryptions: { seq: bigint; pt: Uint8Array; aad: Uint8Array; nonce: Uint8Array; ct: Uint8Array }[];
  exports: { context: Uint8Array; length: number; value: Uint8Array }[];
}

function parseEntry(e: Json, mode: ModeT): ParsedEntry {
  const auth = mode === Mode.Auth || mode === Mode.AuthPsk;
  const usesPsk = mode === Mode.Psk || mode === Mode.AuthPsk;
  const baseNonce = hexOf(e, 'base_nonce', '');
  const encryptions: ParsedEntry['encryptions'] = [];
  let next = 0n;
  arrayOf(e, 'encryptions').forEach((raw, i) => {
    const where = `encryptions[${i}]: `;
    if (!isObject(raw)) throw new MalformedEntry(`${where}not an object`);
    const nonce = hexOf(raw, 'nonce', where);
    let seq: bigint;
    if (raw['sequence_number'] !== undefined) {
      seq = BigInt(intOf(raw, 'sequence_number', where, Number.MAX_SAFE_INTEGER));
    } else {
      // No explicit number (the official JSON omits it): recover it from nonce XOR base_nonce,
      // so files listing only some sequence numbers still work. The ct check keeps this honest.
      if (nonce.length !== baseNonce.length) throw new MalformedEntry(`${where}nonce length differs from base_nonce`);
      seq = 0n;
      for (let j = 0; j < nonce.length; j++) seq = (seq << 8n) | BigInt(nonce[j]! ^ baseNonce[j]!);
    }
    if (seq < next) throw new MalformedEntry(`${where}sequence number ${seq} is not increasing`);
    encryptions.push({
      seq,
      pt: hexOf(raw, 'pt', where),
      aad: hexOf(raw, 'aad', where),
      nonce,
      ct: hexOf(raw, 'ct', where),
    });
    next = seq + 1n;
  });
  const exports = arrayOf(e, 'exports').map((raw, i) => {
    const where = `exports[${i}]: `;
    if (!isObject(raw)) throw new MalformedEntry(`${where}not an object`);
    return {
      context: hexOf(raw, 'exporter_context', where),
      length: intOf(raw, 'L', where, 0xffff),
      value: hexOf(raw, 'exported_value', where),
    };
  });
  const parsed: ParsedEntry = {
    mode,
    info: hexOf(e, 'info', ''),
    ikmE: hexOf(e, 'ikmE', ''),
    pkEm: hexOf(e, 'pkEm', ''),
    skEm: hexOf(e, 'skEm', ''),
    ikmR: hexOf(e, 'ikmR', ''),
    pkRm: hexOf(e, 'pkRm', ''),
    skRm: hexOf(e, 'skRm', ''),
    enc: hexOf(e, 'enc', ''),
    sharedSecret: hexOf(e, 'shared_secret', ''),
    keyScheduleContext: hexOf(e, 'key_schedule_context', ''),
    secret: hexOf(e, 'secret', ''),
    key: hexOf(e, 'key', ''),
    baseNonce,
    exporterSecret: hexOf(e, 'exporter_secret', ''),
    encryptions,
    exports,
  };
  if (auth) parsed.sender = { ikmS: hexOf(e, 'ikmS', ''), pkSm: hexOf(e, 'pkSm', ''), skSm: hexOf(e, 'skSm', '') };
  if (usesPsk) parsed.psk = { psk: hexOf(e, 'psk', ''), pskId: hexOf(e, 'psk_id', '') };
  return parsed;
}

/** Returns the problems found in one well-formed, supported entry (empty = pass). */
function checkEntry(suite: Suite, v: ParsedEntry): string[] {
  const c = new EntryCheck();
  const { kem } = suite;

  // Keys: DeriveKeyPair(ikm*) must reproduce the listed key pairs.
  const pairs: [string, Uint8Array, Uint8Array, Uint8Array][] = [
    ['E', v.ikmE, v.skEm, v.pkEm],
    ['R', v.ikmR, v.skRm, v.pkRm],
  ];
  if (v.sender) pairs.push(['S', v.sender.ikmS, v.sender.skSm, v.sender.pkSm]);
  for (const [role, ikm, skm, pkm] of pairs) {
    const kp = c.attempt(`DeriveKeyPair(ikm${role})`, () => kem.deriveKeyPair(ikm));
    if (kp) {
      c.equal(`sk${role}m`, skm, kem.serializePrivateKey(kp.privateKey));
      c.equal(`pk${role}m`, pkm, kem.serializePublicKey(kp.publicKey));
    }
    c.attempt(`DeserializePublicKey(pk${role}m)`, () => kem.deserializePublicKey(pkm));
  }

  const pskArgs = v.psk ? { psk: v.psk.psk, pskId: v.psk.pskId } : {};

  // KEM + key schedule intermediates.
  const encap = c.attempt('Encap', () =>
    v.sender ? kem.authEncap(v.pkRm, v.sender.skSm, { ikm: v.ikmE }) : kem.encap(v.pkRm, { ikm: v.ikmE }),
  );
  if (encap) {
    c.equal('enc', v.enc, encap.enc);
    c.equal('shared_secret (Encap)', v.sharedSecret, encap.sharedSecret);
  }
  const decapped = c.attempt('Decap', () =>
    v.sender ? kem.authDecap(v.enc, v.skRm, v.sender.pkSm) : kem.decap(v.enc, v.skRm),
  );
  if (decapped) c.equal('shared_secret (Decap)', v.sharedSecret, decapped);
  const ks = c.attempt('KeySchedule', () => keySchedule(suite, v.mode, v.sharedSecret, v.info, v.psk?.psk, v.psk?.pskId));
  if (ks) {
    c.equal('key_schedule_context', v.keyScheduleContext, ks.keyScheduleContext);
    c.equal('secret', v.secret, ks.secret);
    c.equal('key', v.key, ks.key);
    c.equal('base_nonce', v.baseNonce, ks.baseNonce);
    c.equal('exporter_secret', v.exporterSecret, ks.exporterSecret);
  }

  // The public setup functions, with the vector's deterministic ephemeral key.
  const sender = c.attempt('setup (sender)', () =>
    setupSender(suite, {
      mode: v.mode,
      pkR: v.pkRm,
      info: v.info,
      ...pskArgs,
      ...(v.sender ? { skS: v.sender.skSm } : {}),
      ephemeral: { ikm: v.ikmE },
    }),
  );
  if (sender) c.equal('enc (setup)', v.enc, sender.enc);
  const recipient = c.attempt('setup (recipient)', () =>
    setupRecipient(suite, {
      mode: v.mode,
      enc: v.enc,
      skR: v.skRm,
      info: v.info,
      ...pskArgs,
      ...(v.sender ? { pkS: v.sender.pkSm } : {}),
    }),
  );

  // Encryptions, in order, skipping over the sequence numbers the file leaves out.
  if (suite.aead.exportOnly) {
    if (v.encryptions.length > 0) c.problems.push('encryptions listed for the export-only AEAD');
    if (sender) {
      try {
        sender.context.seal(new Uint8Array(0), new Uint8Array(0));
        c.problems.push('seal on an export-only context did not fail');
      } catch (e) {
        if (!(e instanceof HpkeError && e.code === 'EXPORT_ONLY')) c.problems.push(`export-only seal: unexpected error ${describe(e)}`);
      }
    }
  } else {
    for (const [i, enc] of v.encryptions.entries()) {
      const tag = `encryptions[${i}] (seq ${enc.seq})`;
      if (ks) c.equal(`${tag} nonce`, enc.nonce, computeNonce(ks.baseNonce, enc.seq));
      if (sender) sealAt(c, sender.context, tag, enc);
      if (recipient) openAt(c, recipient, tag, enc);
    }
  }

  // Exports, on both sides.
  for (const [i, ex] of v.exports.entries()) {
    const tag = `exports[${i}] (L=${ex.length})`;
    if (sender) {
      const out = c.attempt(`${tag} sender export`, () => sender.context.export(ex.context, ex.length));
      if (out) c.equal(`${tag} sender exported_value`, ex.value, out);
    }
    if (recipient) {
      const out = c.attempt(`${tag} recipient export`, () => recipient.export(ex.context, ex.length));
      if (out) c.equal(`${tag} recipient exported_value`, ex.value, out);
    }
  }
  sender?.context.destroy();
  recipient?.destroy();
  return c.problems;
}

function advanceTo(c: EntryCheck, ctx: SenderContext | RecipientContext, seq: bigint, tag: string): boolean {
  if (ctx.sequenceNumber > seq) {
    c.problems.push(`${tag}: context already at sequence ${ctx.sequenceNumber}`);
    return false;
  }
  try {
    ctx.skip(seq - ctx.sequenceNumber);
    return true;
  } catch (e) {
    c.problems.push(`${tag}: cannot advance to the sequence number: ${describe(e)}`);
    return false;
  }
}

function sealAt(c: EntryCheck, ctx: SenderContext, tag: string, enc: ParsedEntry['encryptions'][number]): void {
  if (!advanceTo(c, ctx, enc.seq, tag)) return;
  const ct = c.attempt(`${tag} seal`, () => ctx.seal(enc.aad, enc.pt));
  if (ct) c.equal(`${tag} ct`, enc.ct, ct);
}

function openAt(c: EntryCheck, ctx: RecipientContext, tag: string, enc: ParsedEntry['encryptions'][number]): void {
  if (!advanceTo(c, ctx, enc.seq, tag)) return;
  const pt = c.attempt(`${tag} open`, () => ctx.open(enc.aad, enc.ct));
  if (pt) c.equal(`${tag} pt`, enc.pt, pt);
}

/**
 * Validates every entry of an RFC 9180 test-vector file. An entry passes when every listed
 * value is reproduced: key pairs from ikm*, enc, shared_secret, the key-schedule values,
 * every nonce/ct (sealed in order; sequence numbers missing from the file are skipped over)
 * and pt (opened on the recipient side), and every export on both sides.
 */
export function checkHpkeVectors(entries: unknown[], options: HpkeVectorOptions = {}): HpkeVectorReport {
  const report: HpkeVectorReport = { passed: 0, failed: 0, skipped: 0, failures: [] };
  if (!Array.isArray(entries)) {
    report.failed = 1;
    report.failures.push('test vectors: expected an array of entries');
    return report;
  }
  entries.forEach((entry, index) => {
    let label = `entry ${index}`;
    const fail = (why: string) => report.failures.push(`${label}: ${why}`);
    try {
      if (!isObject(entry)) throw new MalformedEntry('not an object');
      const mode = intOf(entry, 'mode', '', 0xff);
      const kemId = intOf(entry, 'kem_id', '', 0xffff);
      const kdfId = intOf(entry, 'kdf_id', '', 0xffff);
      const aeadId = intOf(entry, 'aead_id', '', 0xffff);
      label = `entry ${index} (mode ${mode}, kem ${hex16(kemId)}, kdf ${hex16(kdfId)}, aead ${hex16(aeadId)})`;
      if (mode > Mode.AuthPsk) throw new MalformedEntry(`unknown mode ${mode}`);
      let suite: Suite;
      try {
        suite = createSuite(kemId, kdfId, aeadId);
      } catch (e) {
        if (!(e instanceof HpkeError && e.code === 'UNSUPPORTED')) throw e;
        if (options.skipUnsupported) {
          report.skipped++;
        } else {
          report.failed++;
          fail(`unsupported suite: ${e.message}`);
        }
        return;
      }
      const problems = checkEntry(suite, parseEntry(entry, mode as ModeT));
      if (problems.length === 0) {
        report.passed++;
      } else {
        report.failed++;
        for (const p of problems) fail(p);
      }
    } catch (e) {
      report.failed++;
      fail(e instanceof MalformedEntry ? `malformed entry: ${e.message}` : `unexpected error: ${describe(e)}`);
    }
  });
  return report;
}
