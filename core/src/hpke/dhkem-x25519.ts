/**
 * DHKEM(X25519, HKDF-SHA256) over a pluggable X25519 backend. The runtimes
 * that need another implementation of the curve (the agent: a Montgomery
 * ladder that keeps QuickJS's memory small; the primary: OpenSSL through
 * node:crypto, for speed) supply only the key handling and the raw DH; the
 * KEM itself (validation, all-zero check, ExtractAndExpand, Encap/Decap and
 * their auth forms, RFC 9180 §4.1) is this one piece of code, so every
 * backend yields the core KEM's bytes exactly.
 */
import { ascii, concat, constantTimeEqual, u16, wipe, type RandomBytes } from '../util/bytes.js';
import { HpkeError } from './errors.js';
import { getKdf, KdfId, labeledExpand, labeledExtract } from './kdf.js';
import { getKem, KemId, type EncapResult, type EphemeralSource, type Kem, type KeyPair } from './kem.js';

/** A private key in the backend's own form, with its serialized public key. */
export interface X25519Private<K> {
  readonly key: K;
  readonly publicKey: Uint8Array;
}

export interface X25519Backend<K> {
  /** A long-lived or given private key (32 octets); the backend may cache it. */
  importPrivate(sk: Uint8Array): X25519Private<K>;
  /** A fresh ephemeral key; `random` is the caller's source, which a backend may replace by its own CSPRNG. */
  generateEphemeral(random: RandomBytes): X25519Private<K>;
  /** Raw X25519(key, pk); may throw on low-order input. */
  dh(key: K, pk: Uint8Array): Uint8Array;
}

const SUITE_ID = concat(ascii('KEM'), u16(KemId.DhkemX25519HkdfSha256));
const EMPTY = new Uint8Array(0);
const LOW_ORDER = 'X25519 DH output is all zero (low-order public key)';

function check32(b: Uint8Array, what: string): void {
  if (!(b instanceof Uint8Array) || b.length !== 32) throw new HpkeError('DESERIALIZE', `X25519 ${what} must be 32 bytes`);
}

export function dhkemX25519With<K>(backend: X25519Backend<K>, label: string): Kem {
  const pure = getKem(KemId.DhkemX25519HkdfSha256);
  const kdf = getKdf(KdfId.HkdfSha256);

  function dh(key: K, pk: Uint8Array): Uint8Array {
    check32(pk, 'public key');
    let out: Uint8Array;
    try {
      out = backend.dh(key, pk);
    } catch (e) {
      if (e instanceof HpkeError) throw e;
      throw new HpkeError('VALIDATION', LOW_ORDER);
    }
    let acc = 0;
    for (const b of out) acc |= b;
    if (acc === 0) throw new HpkeError('VALIDATION', LOW_ORDER);
    return out;
  }

  function importPrivate(sk: Uint8Array): X25519Private<K> {
    check32(sk, 'private key');
    return backend.importPrivate(sk);
  }

  function ephemeral(source: EphemeralSource): X25519Private<K> {
    if (typeof source === 'function') return backend.generateEphemeral(source);
    // Deterministic sources (tests, vectors): the pure KEM derives the pair, and an
    // explicit pair must be consistent.
    const kp: KeyPair = 'ikm' in source ? pure.deriveKeyPair(source.ikm) : source.keyPair;
    const imported = importPrivate(kp.privateKey);
    if (!constantTimeEqual(imported.publicKey, kp.publicKey)) {
      throw new HpkeError('VALIDATION', 'explicit ephemeral key pair: public key does not match private key');
    }
    return imported;
  }

  function extractAndExpand(dhValue: Uint8Array, kemContext: Uint8Array): Uint8Array {
    const prk = labeledExtract(kdf, SUITE_ID, EMPTY, 'eae_prk', dhValue);
    try {
      return labeledExpand(kdf, SUITE_ID, prk, 'shared_secret', kemContext, pure.Nsecret);
    } finally {
      wipe(prk);
    }
  }

  function encapWith(pkR: Uint8Array, skS: Uint8Array | undefined, eph: EphemeralSource): EncapResult {
    check32(pkR, 'public key');
    const e = ephemeral(eph);
    const parts = [dh(e.key, pkR)];
    let ctx = concat(e.publicKey, pkR);
    if (skS !== undefined) {
      const s = importPrivate(skS);
      parts.push(dh(s.key, pkR));
      ctx = concat(ctx, s.publicKey);
    }
    const dhv = concat(...parts);
    try {
      return { sharedSecret: extractAndExpand(dhv, ctx), enc: Uint8Array.from(e.publicKey) };
    } finally {
      wipe(dhv, ...parts);
    }
  }

  function decapWith(enc: Uint8Array, skR: Uint8Array, pkS: Uint8Array | undefined): Uint8Array {
    check32(enc, 'enc');
    const r = importPrivate(skR);
    const parts = [dh(r.key, enc)];
    let ctx = concat(enc, r.publicKey);
    if (pkS !== undefined) {
      parts.push(dh(r.key, pkS));
      ctx = concat(ctx, pkS);
    }
    const dhv = concat(...parts);
    try {
      return extractAndExpand(dhv, ctx);
    } finally {
      wipe(dhv, ...parts);
    }
  }

  return Object.freeze({
    id: pure.id,
    name: `${pure.name} (${label})`,
    Nsecret: pure.Nsecret,
    Nenc: pure.Nenc,
    Npk: pure.Npk,
    Nsk: pure.Nsk,
    supportsAuth: true,
    generateKeyPair(random: RandomBytes): KeyPair {
      const privateKey = Uint8Array.from(random(32));
      return { privateKey, publicKey: Uint8Array.from(importPrivate(privateKey).publicKey) };
    },
    deriveKeyPair: (ikm: Uint8Array) => pure.deriveKeyPair(ikm),
    publicKeyOf: (sk: Uint8Array) => Uint8Array.from(importPrivate(sk).publicKey),
    serializePublicKey: (pk: Uint8Array) => pure.serializePublicKey(pk),
    deserializePublicKey: (b: Uint8Array) => pure.deserializePublicKey(b),
    serializePrivateKey: (sk: Uint8Array) => pure.serializePrivateKey(sk),
    deserializePrivateKey: (b: Uint8Array) => pure.deserializePrivateKey(b),
    encap: (pkR: Uint8Array, eph: EphemeralSource) => encapWith(pkR, undefined, eph),
    decap: (enc: Uint8Array, skR: Uint8Array) => decapWith(enc, skR, undefined),
    authEncap: (pkR: Uint8Array, skS: Uint8Array, eph: EphemeralSource) => encapWith(pkR, skS, eph),
    authDecap: (enc: Uint8Array, skR: Uint8Array, pkS: Uint8Array) => {
      check32(pkS, 'public key');
      return decapWith(enc, skR, pkS);
    },
  });
}
