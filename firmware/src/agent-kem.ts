// DHKEM(X25519, HKDF-SHA256) for the agent, with every X25519 operation on
// the Montgomery ladder. @noble/curves computes X25519 public keys through
// cached Edwards base-point tables; on QuickJS the first use of those tables
// costs about 2.6 MB of RSS for the life of the process, more than the rest
// of the agent together. The ladder is a little slower (a few ms per key on
// qjs), which the agent does not notice. Output is identical to the core's
// KEM (checked in test/enroll-codec.test.ts and test/qjs/agent-check.ts).
import { montgomery } from '@noble/curves/abstract/montgomery.js';
import { pow } from '@noble/curves/abstract/modular.js';
import { ascii, concat, u16, wipe, type RandomBytes } from '../../core/src/bytes.js';
import type { SuiteIds } from '../../core/src/enroll-codec.js';
import type { SuiteProvider } from '../../core/src/enroll-seal.js';
import {
  getAead,
  getKdf,
  getKem,
  HpkeError,
  KdfId,
  KemId,
  labeledExpand,
  labeledExtract,
  type EncapResult,
  type EphemeralSource,
  type Kem,
  type KeyPair,
  type Suite,
} from '../../core/src/hpke.js';

const P = 2n ** 255n - 19n;

const ladder = montgomery({
  P,
  type: 'x25519',
  powPminus2: (x: bigint) => pow(x, P - 2n, P),
  adjustScalarBytes: (b: Uint8Array) => {
    b[0]! &= 248;
    b[31]! &= 127;
    b[31]! |= 64;
    return b;
  },
});

const BASE_U = Uint8Array.of(9, ...new Uint8Array(31));

function check32(b: Uint8Array, what: string): void {
  if (!(b instanceof Uint8Array) || b.length !== 32) throw new HpkeError('DESERIALIZE', `X25519 ${what} must be 32 bytes`);
}

function publicOf(sk: Uint8Array): Uint8Array {
  check32(sk, 'private key');
  return ladder.scalarMult(sk, BASE_U);
}

function dh(sk: Uint8Array, pk: Uint8Array): Uint8Array {
  check32(pk, 'public key');
  let out: Uint8Array;
  try {
    out = ladder.scalarMult(sk, pk);
  } catch {
    throw new HpkeError('VALIDATION', 'X25519 DH output is all zero (low-order public key)');
  }
  let acc = 0;
  for (const b of out) acc |= b;
  if (acc === 0) throw new HpkeError('VALIDATION', 'X25519 DH output is all zero (low-order public key)');
  return out;
}

const pure = getKem(KemId.DhkemX25519HkdfSha256);
const kdf = getKdf(KdfId.HkdfSha256);
const KEM_SUITE_ID = concat(ascii('KEM'), u16(KemId.DhkemX25519HkdfSha256));
const EMPTY = new Uint8Array(0);

function extractAndExpand(dhValue: Uint8Array, kemContext: Uint8Array): Uint8Array {
  const prk = labeledExtract(kdf, KEM_SUITE_ID, EMPTY, 'eae_prk', dhValue);
  try {
    return labeledExpand(kdf, KEM_SUITE_ID, prk, 'shared_secret', kemContext, 32);
  } finally {
    wipe(prk);
  }
}

function ephemeral(source: EphemeralSource): KeyPair {
  if (typeof source === 'function') {
    const sk = Uint8Array.from(source(32));
    return { privateKey: sk, publicKey: publicOf(sk) };
  }
  if ('ikm' in source) return pure.deriveKeyPair(source.ikm);
  const kp = source.keyPair;
  const pk = publicOf(kp.privateKey);
  if (pk.some((b, i) => b !== kp.publicKey[i])) throw new HpkeError('VALIDATION', 'explicit ephemeral key pair: public key does not match private key');
  return { privateKey: Uint8Array.from(kp.privateKey), publicKey: pk };
}

function encapWith(pkR: Uint8Array, skS: Uint8Array | undefined, eph: EphemeralSource): EncapResult {
  check32(pkR, 'public key');
  const e = ephemeral(eph);
  const parts = [dh(e.privateKey, pkR)];
  let ctx = concat(e.publicKey, pkR);
  if (skS !== undefined) {
    parts.push(dh(skS, pkR));
    ctx = concat(ctx, publicOf(skS));
  }
  const dhv = concat(...parts);
  try {
    return { sharedSecret: extractAndExpand(dhv, ctx), enc: e.publicKey };
  } finally {
    wipe(dhv, e.privateKey, ...parts);
  }
}

function decapWith(enc: Uint8Array, skR: Uint8Array, pkS: Uint8Array | undefined): Uint8Array {
  check32(enc, 'enc');
  const parts = [dh(skR, enc)];
  let ctx = concat(enc, publicOf(skR));
  if (pkS !== undefined) {
    parts.push(dh(skR, pkS));
    ctx = concat(ctx, pkS);
  }
  const dhv = concat(...parts);
  try {
    return extractAndExpand(dhv, ctx);
  } finally {
    wipe(dhv, ...parts);
  }
}

export const agentKem: Kem = Object.freeze({
  id: pure.id,
  name: `${pure.name} (ladder)`,
  Nsecret: pure.Nsecret,
  Nenc: pure.Nenc,
  Npk: pure.Npk,
  Nsk: pure.Nsk,
  supportsAuth: true,
  generateKeyPair(random: RandomBytes): KeyPair {
    const privateKey = Uint8Array.from(random(32));
    return { privateKey, publicKey: publicOf(privateKey) };
  },
  deriveKeyPair: (ikm: Uint8Array) => pure.deriveKeyPair(ikm),
  publicKeyOf: publicOf,
  serializePublicKey: (pk: Uint8Array) => pure.serializePublicKey(pk),
  deserializePublicKey: (b: Uint8Array) => pure.deserializePublicKey(b),
  serializePrivateKey: (sk: Uint8Array) => pure.serializePrivateKey(sk),
  deserializePrivateKey: (b: Uint8Array) => pure.deserializePrivateKey(b),
  encap: (pkR: Uint8Array, eph: EphemeralSource) => encapWith(pkR, undefined, eph),
  decap: (enc: Uint8Array, skR: Uint8Array) => decapWith(enc, skR, undefined),
  authEncap: (pkR: Uint8Array, skS: Uint8Array, eph: EphemeralSource) => encapWith(pkR, skS, eph),
  authDecap: (enc: Uint8Array, skR: Uint8Array, pkS: Uint8Array) => decapWith(enc, skR, pkS),
});

const cache = new Map<string, Suite>();

export const agentSuites: SuiteProvider = (ids: SuiteIds) => {
  const key = `${ids.kem}/${ids.kdf}/${ids.aead}`;
  let s = cache.get(key);
  if (!s) {
    if (ids.kem !== KemId.DhkemX25519HkdfSha256) throw new HpkeError('UNSUPPORTED', `KEM 0x${ids.kem.toString(16)} not supported`);
    s = Object.freeze({ kem: agentKem, kdf: getKdf(ids.kdf), aead: getAead(ids.aead), suiteId: concat(ascii('HPKE'), u16(ids.kem), u16(ids.kdf), u16(ids.aead)) });
    cache.set(key, s);
  }
  return s;
};
