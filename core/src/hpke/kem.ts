/**
 * HPKE key encapsulation mechanisms (RFC 9180 §4.1, §7.1). Only DHKEM(X25519, HKDF-SHA256)
 * is implemented; the `Kem` interface and the `dhkem()` factory leave room for others
 * (a NIST-curve DHKEM needs its own DH group with rejection-sampling DeriveKeyPair).
 * Pure: only @noble/curves and @noble/hashes; randomness is injected.
 *
 * Keys cross this interface in their serialized form (`Uint8Array` of Nsk / Npk bytes).
 * Secret intermediates (DH outputs, PRKs) are wiped after use. That is best effort: JS engines
 * may have copied the bytes (GC moves, JIT registers, BigInt scalars inside @noble/curves).
 */

import { x25519 } from '@noble/curves/ed25519.js';
import { concat, constantTimeEqual, u16, ascii, wipe } from '../util/bytes.js';
import type { RandomBytes } from '../util/bytes.js';
import { HpkeError } from './errors.js';
import { getKdf, KdfId, labeledExpand, labeledExtract } from './kdf.js';
import type { Kdf } from './kdf.js';

export const KemId = {
  DhkemX25519HkdfSha256: 0x0020,
} as const;

/** A KEM key pair in serialized form. */
export interface KeyPair {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/**
 * Where the sender's ephemeral key comes from:
 * - a `RandomBytes` function (normal use: GenerateKeyPair),
 * - `{ ikm }`: DeriveKeyPair(ikm), as the RFC test vectors do (`ikmE`),
 * - `{ keyPair }`: an explicit key pair (tests only; checked for consistency).
 */
export type EphemeralSource = RandomBytes | { readonly ikm: Uint8Array } | { readonly keyPair: KeyPair };

export interface EncapResult {
  readonly sharedSecret: Uint8Array;
  readonly enc: Uint8Array;
}

export interface Kem {
  readonly id: number;
  readonly name: string;
  /** Sizes in bytes: KEM shared secret, encapsulated key, public key, private key. */
  readonly Nsecret: number;
  readonly Nenc: number;
  readonly Npk: number;
  readonly Nsk: number;
  /** Whether AuthEncap/AuthDecap exist (true for every DHKEM). */
  readonly supportsAuth: boolean;
  generateKeyPair(random: RandomBytes): KeyPair;
  deriveKeyPair(ikm: Uint8Array): KeyPair;
  /** pk(sk): the serialized public key of a serialized private key. */
  publicKeyOf(privateKey: Uint8Array): Uint8Array;
  serializePublicKey(publicKey: Uint8Array): Uint8Array;
  /** Throws HpkeError 'DESERIALIZE' on a malformed encoding. */
  deserializePublicKey(bytes: Uint8Array): Uint8Array;
  serializePrivateKey(privateKey: Uint8Array): Uint8Array;
  /** Throws HpkeError 'DESERIALIZE' on a malformed encoding. */
  deserializePrivateKey(bytes: Uint8Array): Uint8Array;
  encap(pkR: Uint8Array, ephemeral: EphemeralSource): EncapResult;
  decap(enc: Uint8Array, skR: Uint8Array): Uint8Array;
  authEncap(pkR: Uint8Array, skS: Uint8Array, ephemeral: EphemeralSource): EncapResult;
  authDecap(enc: Uint8Array, skR: Uint8Array, pkS: Uint8Array): Uint8Array;
}

/** The prime-order-group operations a DHKEM needs (RFC 9180 §4.1). */
interface DhGroup {
  readonly name: string;
  readonly Ndh: number;
  readonly Npk: number;
  readonly Nsk: number;
  /** DeriveKeyPair's group-specific step (§7.1.3): private key from dkp_prk. */
  derivePrivateKey(kdf: Kdf, suiteId: Uint8Array, dkpPrk: Uint8Array): Uint8Array;
  /** Private key bytes from random(Nsk) bytes, or throw if they are not a valid key. */
  privateKeyFromRandom(bytes: Uint8Array): Uint8Array;
  publicKeyOf(sk: Uint8Array): Uint8Array;
  validatePublicKey(pk: Uint8Array): void;
  validatePrivateKey(sk: Uint8Array): void;
  /** DH(sk, pk); throws HpkeError 'VALIDATION' on an all-zero / low-order result. */
  dh(sk: Uint8Array, pk: Uint8Array): Uint8Array;
}

function isAllZero(b: Uint8Array): boolean {
  let acc = 0;
  for (const x of b) acc |= x;
  return acc === 0;
}

const X25519_GROUP: DhGroup = Object.freeze({
  name: 'X25519',
  Ndh: 32,
  Npk: 32,
  Nsk: 32,
  derivePrivateKey(kdf: Kdf, suiteId: Uint8Array, dkpPrk: Uint8Array): Uint8Array {
    // RFC 9180 §7.1.3: for X25519 the expanded bytes are the private key (clamped by X25519()).
    return labeledExpand(kdf, suiteId, dkpPrk, 'sk', new Uint8Array(0), 32);
  },
  privateKeyFromRandom(bytes: Uint8Array): Uint8Array {
    return bytes;
  },
  publicKeyOf(sk: Uint8Array): Uint8Array {
    X25519_GROUP.validatePrivateKey(sk);
    try {
      return x25519.getPublicKey(sk);
    } catch (e) {
      throw new HpkeError('VALIDATION', `X25519 public key computation failed: ${(e as Error).message}`);
    }
  },
  validatePublicKey(pk: Uint8Array): void {
    if (!(pk instanceof Uint8Array) || pk.length !== 32) {
      throw new HpkeError('DESERIALIZE', `X25519 public key must be 32 bytes, got ${describeLength(pk)}`);
    }
  },
  validatePrivateKey(sk: Uint8Array): void {
    if (!(sk instanceof Uint8Array) || sk.length !== 32) {
      throw new HpkeError('DESERIALIZE', `X25519 private key must be 32 bytes, got ${describeLength(sk)}`);
    }
  },
  dh(sk: Uint8Array, pk: Uint8Array): Uint8Array {
    X25519_GROUP.validatePrivateKey(sk);
    X25519_GROUP.validatePublicKey(pk);
    let out: Uint8Array;
    try {
      // @noble/curves rejects the low-order inputs that would give an all-zero output.
      out = x25519.getSharedSecret(sk, pk);
    } catch {
      throw new HpkeError('VALIDATION', 'X25519 DH output is all zero (low-order public key)');
    }
    // RFC 9180 §7.1.4 / RFC 7748 §6.1: reject the all-zero value whatever the library did.
    if (isAllZero(out)) {
      wipe(out);
      throw new HpkeError('VALIDATION', 'X25519 DH output is all zero (low-order public key)');
    }
    return out;
  },
});

function describeLength(x: unknown): string {
  return x instanceof Uint8Array ? `${x.length} bytes` : typeof x;
}

/** DHKEM(Group, KDF) as in RFC 9180 §4.1. */
function dhkem(id: number, name: string, group: DhGroup, kdf: Kdf): Kem {
  const suiteId = concat(ascii('KEM'), u16(id));
  const empty = new Uint8Array(0);
  const Nsecret = kdf.Nh;

  function deriveKeyPair(ikm: Uint8Array): KeyPair {
    if (!(ikm instanceof Uint8Array)) throw new HpkeError('INVALID_ARGUMENT', 'ikm must be a Uint8Array');
    // RFC 9180 §7.1.3: ikm SHOULD have at least Nsk bytes of entropy; shorter cannot.
    if (ikm.length < group.Nsk) {
      throw new HpkeError('DERIVE_KEY_PAIR', `ikm is ${ikm.length} bytes, at least ${group.Nsk} required`);
    }
    const dkpPrk = labeledExtract(kdf, suiteId, empty, 'dkp_prk', ikm);
    try {
      const privateKey = group.derivePrivateKey(kdf, suiteId, dkpPrk);
      return { privateKey, publicKey: group.publicKeyOf(privateKey) };
    } finally {
      wipe(dkpPrk);
    }
  }

  function generateKeyPair(random: RandomBytes): KeyPair {
    if (typeof random !== 'function') throw new HpkeError('INVALID_ARGUMENT', 'random must be a RandomBytes function');
    const bytes = random(group.Nsk);
    if (!(bytes instanceof Uint8Array) || bytes.length !== group.Nsk) {
      throw new HpkeError('INVALID_ARGUMENT', `random(${group.Nsk}) returned ${describeLength(bytes)}`);
    }
    const privateKey = group.privateKeyFromRandom(Uint8Array.from(bytes));
    return { privateKey, publicKey: group.publicKeyOf(privateKey) };
  }

  function ephemeralKeyPair(source: EphemeralSource): KeyPair {
    if (typeof source === 'function') return generateKeyPair(source);
    if (source !== null && typeof source === 'object') {
      if ('ikm' in source) return deriveKeyPair(source.ikm);
      if ('keyPair' in source) {
        const { privateKey, publicKey } = source.keyPair;
        group.validatePrivateKey(privateKey);
        group.validatePublicKey(publicKey);
        const expected = group.publicKeyOf(privateKey);
        if (!constantTimeEqual(expected, publicKey)) {
          throw new HpkeError('VALIDATION', 'explicit ephemeral key pair: public key does not match private key');
        }
        return { privateKey: Uint8Array.from(privateKey), publicKey: expected };
      }
    }
    throw new HpkeError('INVALID_ARGUMENT', 'ephemeral source must be a RandomBytes function, { ikm } or { keyPair }');
  }

  function extractAndExpand(dh: Uint8Array, kemContext: Uint8Array): Uint8Array {
    const eaePrk = labeledExtract(kdf, suiteId, empty, 'eae_prk', dh);
    try {
      return labeledExpand(kdf, suiteId, eaePrk, 'shared_secret', kemContext, Nsecret);
    } finally {
      wipe(eaePrk);
    }
  }

  function encapWith(pkR: Uint8Array, skS: Uint8Array | undefined, ephemeral: EphemeralSource): EncapResult {
    group.validatePublicKey(pkR);
    const pkS = skS === undefined ? undefined : group.publicKeyOf(skS);
    const eph = ephemeralKeyPair(ephemeral);
    const dhParts: Uint8Array[] = [];
    try {
      dhParts.push(group.dh(eph.privateKey, pkR));
      if (skS !== undefined) dhParts.push(group.dh(skS, pkR));
      const dh = concat(...dhParts);
      const enc = Uint8Array.from(eph.publicKey);
      const kemContext = pkS === undefined ? concat(enc, pkR) : concat(enc, pkR, pkS);
      try {
        return { sharedSecret: extractAndExpand(dh, kemContext), enc };
      } finally {
        wipe(dh);
      }
    } finally {
      wipe(eph.privateKey, ...dhParts);
    }
  }

  function decapWith(enc: Uint8Array, skR: Uint8Array, pkS: Uint8Array | undefined): Uint8Array {
    if (!(enc instanceof Uint8Array) || enc.length !== group.Npk) {
      throw new HpkeError('DESERIALIZE', `enc must be ${group.Npk} bytes, got ${describeLength(enc)}`);
    }
    group.validatePrivateKey(skR);
    if (pkS !== undefined) group.validatePublicKey(pkS);
    const pkR = group.publicKeyOf(skR);
    const dhParts: Uint8Array[] = [];
    try {
      dhParts.push(group.dh(skR, enc));
      if (pkS !== undefined) dhParts.push(group.dh(skR, pkS));
      const dh = concat(...dhParts);
      const kemContext = pkS === undefined ? concat(enc, pkR) : concat(enc, pkR, pkS);
      try {
        return extractAndExpand(dh, kemContext);
      } finally {
        wipe(dh);
      }
    } finally {
      wipe(...dhParts);
    }
  }

  return Object.freeze({
    id,
    name,
    Nsecret,
    Nenc: group.Npk,
    Npk: group.Npk,
    Nsk: group.Nsk,
    supportsAuth: true,
    generateKeyPair,
    deriveKeyPair,
    publicKeyOf: (sk: Uint8Array) => group.publicKeyOf(sk),
    serializePublicKey(pk: Uint8Array): Uint8Array {
      group.validatePublicKey(pk);
      return Uint8Array.from(pk);
    },
    deserializePublicKey(bytes: Uint8Array): Uint8Array {
      group.validatePublicKey(bytes);
      return Uint8Array.from(bytes);
    },
    serializePrivateKey(sk: Uint8Array): Uint8Array {
      group.validatePrivateKey(sk);
      return Uint8Array.from(sk);
    },
    deserializePrivateKey(bytes: Uint8Array): Uint8Array {
      group.validatePrivateKey(bytes);
      return Uint8Array.from(bytes);
    },
    encap: (pkR: Uint8Array, ephemeral: EphemeralSource) => encapWith(pkR, undefined, ephemeral),
    decap: (enc: Uint8Array, skR: Uint8Array) => decapWith(enc, skR, undefined),
    authEncap(pkR: Uint8Array, skS: Uint8Array, ephemeral: EphemeralSource): EncapResult {
      group.validatePrivateKey(skS);
      return encapWith(pkR, skS, ephemeral);
    },
    authDecap(enc: Uint8Array, skR: Uint8Array, pkS: Uint8Array): Uint8Array {
      group.validatePublicKey(pkS);
      return decapWith(enc, skR, pkS);
    },
  });
}

const KEMS: ReadonlyMap<number, Kem> = new Map<number, Kem>([
  [
    KemId.DhkemX25519HkdfSha256,
    dhkem(KemId.DhkemX25519HkdfSha256, 'DHKEM(X25519, HKDF-SHA256)', X25519_GROUP, getKdf(KdfId.HkdfSha256)),
  ],
]);

export function getKem(id: number): Kem {
  const kem = KEMS.get(id);
  if (kem === undefined) throw new HpkeError('UNSUPPORTED', `KEM id 0x${id.toString(16).padStart(4, '0')} is not supported`);
  return kem;
}
