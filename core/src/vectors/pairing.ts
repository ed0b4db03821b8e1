/** Pairing section of the keys vectors: HPKE auth mode between two primaries, then PMS and SGS. */
import { fromHex, toHex } from '../util/bytes.js';
import { createSuite, Mode, setupRecipient, setupSender, KemId, KdfId, AeadId } from '../hpke/hpke.js';
import { pmsExporterContext, serverGroupSecret } from '../keys/schedule.js';
import { pairingInfo, pairMasterSecret } from '../pairing/secret.js';
import { expectEqual } from './check-report.js';

type Json = Record<string, unknown>;

const CASES: Array<{
  name: string;
  aead: number;
  ikm_initiator: string;
  ikm_responder: string;
  ikm_ephemeral: string;
  salt: string;
  generation: number;
}> = [
  {
    name: 'pairing with AES-128-GCM',
    aead: AeadId.Aes128Gcm,
    ikm_initiator: '7f0b2c13a6b1d1c2e3f405162738495a6b7c8d9eafb0c1d2e3f405162738495a',
    ikm_responder: '1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809',
    ikm_ephemeral: 'c0ffee00c0ffee01c0ffee02c0ffee03c0ffee04c0ffee05c0ffee06c0ffee07',
    salt: '5a17000000000000000000000000000000000000000000000000000000005a17',
    generation: 1,
  },
  {
    name: 'pairing with export-only AEAD',
    aead: AeadId.ExportOnly,
    ikm_initiator: '0101010101010101010101010101010101010101010101010101010101010101',
    ikm_responder: '0202020202020202020202020202020202020202020202020202020202020202',
    ikm_ephemeral: '0303030303030303030303030303030303030303030303030303030303030303',
    salt: 'ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100',
    generation: 7,
  },
];

function derive(c: (typeof CASES)[number]): Json {
  const suite = createSuite(KemId.DhkemX25519HkdfSha256, KdfId.HkdfSha256, c.aead);
  const initiator = suite.kem.deriveKeyPair(fromHex(c.ikm_initiator));
  const responder = suite.kem.deriveKeyPair(fromHex(c.ikm_responder));
  const info = pairingInfo(suite);
  const salt = fromHex(c.salt);
  const { enc, context } = setupSender(suite, {
    mode: Mode.Auth,
    pkR: responder.publicKey,
    skS: initiator.privateKey,
    info,
    ephemeral: { ikm: fromHex(c.ikm_ephemeral) },
  });
  const recipient = setupRecipient(suite, { mode: Mode.Auth, enc, skR: responder.privateKey, pkS: initiator.publicKey, info });
  const pms = pairMasterSecret(context, salt);
  expectEqual(toHex(pairMasterSecret(recipient, salt)), toHex(pms), 'PMS on the responder');
  return {
    name: c.name,
    kem_id: suite.kem.id,
    kdf_id: suite.kdf.id,
    aead_id: suite.aead.id,
    ikm_initiator: c.ikm_initiator,
    ikm_responder: c.ikm_responder,
    ikm_ephemeral: c.ikm_ephemeral,
    pk_initiator: toHex(initiator.publicKey),
    pk_responder: toHex(responder.publicKey),
    info: toHex(info),
    enc: toHex(enc),
    salt: c.salt,
    exporter_context: toHex(pmsExporterContext(salt)),
    pms: toHex(pms),
    generation: c.generation,
    sgs: toHex(serverGroupSecret(pms, c.generation)),
  };
}

export function pairingVectors(): Json[] {
  return CASES.map(derive);
}

/** Recompute one pairing entry from its inputs (both sides) and compare every value. */
export function checkPairingVector(v: Json): void {
  const inputs = {
    name: String(v.name),
    aead: v.aead_id as number,
    ikm_initiator: String(v.ikm_initiator),
    ikm_responder: String(v.ikm_responder),
    ikm_ephemeral: String(v.ikm_ephemeral),
    salt: String(v.salt),
    generation: v.generation as number,
  };
  const again = derive(inputs);
  for (const k of Object.keys(again)) expectEqual(JSON.stringify(again[k]), JSON.stringify(v[k]), k);
}
