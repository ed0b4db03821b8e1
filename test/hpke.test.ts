/// <reference types="node" />
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ascii, fromHex, toHex } from '../core/src/util/bytes.js';
import type { RandomBytes } from '../core/src/util/bytes.js';
import {
  AeadId,
  createSuite,
  HpkeError,
  KdfId,
  KemId,
  keySchedule,
  Mode,
  open,
  receiveExport,
  seal,
  sendExport,
  setupAuthPskR,
  setupAuthPskS,
  setupBaseR,
  setupBaseS,
  setupRecipient,
  setupSender,
} from '../core/src/hpke/hpke.js';
import type { HpkeErrorCode, KeyPair, Suite } from '../core/src/hpke/hpke.js';
import { checkHpkeVectors } from '../core/src/hpke/known-answers.js';

const random: RandomBytes = (n) => new Uint8Array(randomBytes(n));

/** Repository root: the nearest ancestor holding package.json (works from .build/node/test/ too). */
function repoRoot(): string {
  for (const start of [dirname(fileURLToPath(import.meta.url)), process.cwd()]) {
    let dir = start;
    for (;;) {
      if (existsSync(join(dir, 'package.json'))) return dir;
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  throw new Error('repository root (a directory with package.json) not found');
}

const RFC9180_VECTORS = join(repoRoot(), 'test', 'vectors', 'rfc9180-x25519-sha256.json');

function throwsHpke(fn: () => unknown, code: HpkeErrorCode, what: string): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, HpkeError, `${what}: expected HpkeError, got ${String(e)}`);
    assert.is((e as HpkeError).code, code, `${what}: error code`);
    return;
  }
  assert.unreachable(`${what}: expected HpkeError ${code}, nothing thrown`);
}

const X25519 = KemId.DhkemX25519HkdfSha256;
const SHA256 = KdfId.HkdfSha256;
const AEADS = [AeadId.Aes128Gcm, AeadId.Aes256Gcm, AeadId.ChaCha20Poly1305] as const;
const MODES = [Mode.Base, Mode.Psk, Mode.Auth, Mode.AuthPsk] as const;
const usesPsk = (m: Mode) => m === Mode.Psk || m === Mode.AuthPsk;
const usesAuth = (m: Mode) => m === Mode.Auth || m === Mode.AuthPsk;

interface Party {
  suite: Suite;
  r: KeyPair;
  s: KeyPair;
  psk: Uint8Array;
  pskId: Uint8Array;
  info: Uint8Array;
}

function party(aead: number, kdf: number = SHA256): Party {
  const suite = createSuite(X25519, kdf, aead);
  return {
    suite,
    r: suite.kem.generateKeyPair(random),
    s: suite.kem.generateKeyPair(random),
    psk: random(32),
    pskId: ascii('psk-id-1'),
    info: ascii('pdmv2 hpke test'),
  };
}

function senderParams(p: Party, mode: Mode) {
  return {
    mode,
    pkR: p.r.publicKey,
    info: p.info,
    ...(usesPsk(mode) ? { psk: p.psk, pskId: p.pskId } : {}),
    ...(usesAuth(mode) ? { skS: p.s.privateKey } : {}),
    ephemeral: random,
  };
}

function recipientParams(p: Party, mode: Mode, enc: Uint8Array) {
  return {
    mode,
    enc,
    skR: p.r.privateKey,
    info: p.info,
    ...(usesPsk(mode) ? { psk: p.psk, pskId: p.pskId } : {}),
    ...(usesAuth(mode) ? { pkS: p.s.publicKey } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Known-answer tests

test('RFC 9180 Appendix A vectors: every entry passes', () => {
  const entries = JSON.parse(readFileSync(RFC9180_VECTORS, 'utf8')) as unknown[];
  assert.ok(entries.length >= 8, 'vector file has entries');
  const report = checkHpkeVectors(entries);
  assert.equal(report.failures, []);
  assert.is(report.failed, 0);
  assert.is(report.skipped, 0);
  assert.is(report.passed, entries.length);
});

test('RFC 9180 vectors without sequence_number (official JSON layout) still pass', () => {
  const entries = JSON.parse(readFileSync(RFC9180_VECTORS, 'utf8')) as Record<string, unknown>[];
  for (const e of entries) {
    for (const enc of e['encryptions'] as Record<string, unknown>[]) delete enc['sequence_number'];
  }
  const report = checkHpkeVectors(entries);
  assert.equal(report.failures, []);
  assert.is(report.passed, entries.length);
});

// RFC 9180 Appendix A.2.3 and A.2.4 (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
// ChaCha20Poly1305; auth and auth_psk modes), a subset of the encryptions, as printed there.
const PT = '4265617574792069732074727574682c20747275746820626561757479';
const INFO = '4f6465206f6e2061204772656369616e2055726e';
const RFC_CHACHA_VECTORS = [
  {
    mode: 2, kem_id: 32, kdf_id: 1, aead_id: 3, info: INFO,
    ikmE: '938d3daa5a8904540bc24f48ae90eed3f4f7f11839560597b55e7c9598c996c0',
    pkEm: 'f7674cc8cd7baa5872d1f33dbaffe3314239f6197ddf5ded1746760bfc847e0e',
    skEm: 'c94619e1af28971c8fa7957192b7e62a71ca2dcdde0a7cc4a8a9e741d600ab13',
    ikmR: '64835d5ee64aa7aad57c6f2e4f758f7696617f8829e70bc9ac7a5ef95d1c756c',
    pkRm: '1a478716d63cb2e16786ee93004486dc151e988b34b475043d3e0175bdb01c44',
    skRm: '3ca22a6d1cda1bb9480949ec5329d3bf0b080ca4c45879c95eddb55c70b80b82',
    ikmS: '9d8f94537d5a3ddef71234c0baedfad4ca6861634d0b94c3007fed557ad17df6',
    pkSm: 'f0f4f9e96c54aeed3f323de8534fffd7e0577e4ce269896716bcb95643c8712b',
    skSm: '2def0cb58ffcf83d1062dd085c8aceca7f4c0c3fd05912d847b61f3e54121f05',
    enc: 'f7674cc8cd7baa5872d1f33dbaffe3314239f6197ddf5ded1746760bfc847e0e',
    shared_secret: 'd2d67828c8bc9fa661cf15a31b3ebf1febe0cafef7abfaaca580aaf6d471e3eb',
    key_schedule_context:
      '02431df6cd95e11ff49d7013563baf7f11588c75a6611ee2a4404a49306ae4cfc5b69c5718a60cc5876c358d3f7fc31ddb598503f67be58ea1e798c0bb19eb9796',
    secret: '3022dfc0a81d6e09a2e6daeeb605bb1ebb9ac49535540d9a4c6560064a6c6da8',
    key: 'b071fd1136680600eb447a845a967d35e9db20749cdf9ce098bcc4deef4b1356',
    base_nonce: 'd20577dff16d7cea2c4bf780',
    exporter_secret: 'be2d93b82071318cdb88510037cf504344151f2f9b9da8ab48974d40a2251dd7',
    encryptions: [
      { sequence_number: 0, pt: PT, aad: '436f756e742d30', nonce: 'd20577dff16d7cea2c4bf780',
        ct: 'ab1a13c9d4f01a87ec3440dbd756e2677bd2ecf9df0ce7ed73869b98e00c09be111cb9fdf077347aeb88e61bdf' },
      { sequence_number: 1, pt: PT, aad: '436f756e742d31', nonce: 'd20577dff16d7cea2c4bf781',
        ct: '3265c7807ffff7fdace21659a2c6ccffee52a26d270c76468ed74202a65478bfaedfff9c2b7634e24f10b71016' },
      { sequence_number: 4, pt: PT, aad: '436f756e742d34', nonce: 'd20577dff16d7cea2c4bf784',
        ct: '502ecccd5c2be3506a081809cc58b43b94f77cbe37b8b31712d9e21c9e61aa6946a8e922f54eae630f88eb8033' },
      { sequence_number: 256, pt: PT, aad: '436f756e742d323536', nonce: 'd20577dff16d7cea2c4bf680',
        ct: '3be14e8b3bbd1028cf2b7d0a691dbbeff71321e7dec92d3c2cfb30a0994ab246af76168480285a60037b4ba13a' },
    ],
    exports: [
      { exporter_context: '', L: 32, exported_value: '070cffafd89b67b7f0eeb800235303a223e6ff9d1e774dce8eac585c8688c872' },
      { exporter_context: '00', L: 32, exported_value: '2852e728568d40ddb0edde284d36a4359c56558bb2fb8837cd3d92e46a3a14a8' },
      { exporter_context: '54657374436f6e74657874', L: 32,
        exported_value: '1df39dc5dd60edcbf5f9ae804e15ada66e885b28ed7929116f768369a3f950ee' },
    ],
  },
  {
    mode: 3, kem_id: 32, kdf_id: 1, aead_id: 3, info: INFO,
    ikmE: '49d6eac8c6c558c953a0a252929a818745bb08cd3d29e15f9f5db5eb2e7d4b84',
    pkEm: '656a2e00dc9990fd189e6e473459392df556e9a2758754a09db3f51179a3fc02',
    skEm: '5e6dd73e82b856339572b7245d3cbb073a7561c0bee52873490e305cbb710410',
    ikmR: 'f3304ddcf15848488271f12b75ecaf72301faabf6ad283654a14c398832eb184',
    pkRm: 'a5099431c35c491ec62ca91df1525d6349cb8aa170c51f9581f8627be6334851',
    skRm: '7b36a42822e75bf3362dfabbe474b3016236408becb83b859a6909e22803cb0c',
    ikmS: '20ade1d5203de1aadfb261c4700b6432e260d0d317be6ebbb8d7fffb1f86ad9d',
    pkSm: '3ac5bd4dd66ff9f2740bef0d6ccb66daa77bff7849d7895182b07fb74d087c45',
    skSm: '90761c5b0a7ef0985ed66687ad708b921d9803d51637c8d1cb72d03ed0f64418',
    psk: '0247fd33b913760fa1fa51e1892d9f307fbe65eb171e8132c2af18555a738b82',
    psk_id: '456e6e796e20447572696e206172616e204d6f726961',
    enc: '656a2e00dc9990fd189e6e473459392df556e9a2758754a09db3f51179a3fc02',
    shared_secret: '86a6c0ed17714f11d2951747e660857a5fd7616c933ef03207808b7a7123fe67',
    key_schedule_context:
      '036870c4c76ca38ae43efbec0f2377d109499d7ce73f4a9e1ec37f21d3d063b97cb69c5718a60cc5876c358d3f7fc31ddb598503f67be58ea1e798c0bb19eb9796',
    secret: '22670daee17530c9564001d0a7e740e80d0bcc7ae15349f472fcc9e057cbc259',
    key: '49c7e6d7d2d257aded2a746fe6a9bf12d4de8007c4862b1fdffe8c35fb65054c',
    base_nonce: 'abac79931e8c1bcb8a23960a',
    exporter_secret: '7c6cc1bb98993cd93e2599322247a58fd41fdecd3db895fb4c5fd8d6bbe606b5',
    encryptions: [
      { sequence_number: 0, pt: PT, aad: '436f756e742d30', nonce: 'abac79931e8c1bcb8a23960a',
        ct: '9aa52e29274fc6172e38a4461361d2342585d3aeec67fb3b721ecd63f059577c7fe886be0ede01456ebc67d597' },
      { sequence_number: 255, pt: PT, aad: '436f756e742d323535', nonce: 'abac79931e8c1bcb8a2396f5',
        ct: '4d4c462f7b9b637eaf1f4e15e325b7bc629c0af6e3073422c86064cc3c98cff87300f054fd56dd57dc34358beb' },
    ],
    exports: [
      { exporter_context: '54657374436f6e74657874', L: 32,
        exported_value: 'd3bae066aa8da27d527d85c040f7dd6ccb60221c902ee36a82f70bcd62a60ee4' },
    ],
  },
];

test('RFC 9180 A.2.3/A.2.4 ChaCha20Poly1305 vectors pass', () => {
  const report = checkHpkeVectors(RFC_CHACHA_VECTORS);
  assert.equal(report.failures, []);
  assert.is(report.passed, 2);
});

test('keySchedule() exposes the RFC intermediates (A.1.1)', () => {
  const entries = JSON.parse(readFileSync(RFC9180_VECTORS, 'utf8')) as Record<string, unknown>[];
  const v = entries.find((e) => e['mode'] === 0 && e['aead_id'] === 1);
  assert.ok(v, 'base-mode AES-128-GCM entry present');
  const h = (k: string) => fromHex(v[k] as string);
  const suite = createSuite(X25519, SHA256, AeadId.Aes128Gcm);
  const { enc, sharedSecret } = suite.kem.encap(h('pkRm'), { ikm: h('ikmE') });
  assert.is(toHex(enc), v['enc']);
  assert.is(toHex(sharedSecret), v['shared_secret']);
  const ks = keySchedule(suite, Mode.Base, sharedSecret, h('info'));
  assert.is(toHex(ks.keyScheduleContext), v['key_schedule_context']);
  assert.is(toHex(ks.secret), v['secret']);
  assert.is(toHex(ks.key), v['key']);
  assert.is(toHex(ks.baseNonce), v['base_nonce']);
  assert.is(toHex(ks.exporterSecret), v['exporter_secret']);
  // Explicit ephemeral key pair reproduces the same enc.
  const e = suite.kem.deriveKeyPair(h('ikmE'));
  const { enc: enc2 } = setupBaseS(suite, h('pkRm'), h('info'), { keyPair: e });
  assert.is(toHex(enc2), v['enc']);
  throwsHpke(
    () => setupBaseS(suite, h('pkRm'), h('info'), { keyPair: { privateKey: e.privateKey, publicKey: h('pkRm') } }),
    'VALIDATION',
    'mismatched explicit ephemeral key pair',
  );
});

// ---------------------------------------------------------------------------------------------
// Round trips

test('round trip: every AEAD in every mode, multi-message contexts, exports agree', () => {
  for (const aead of AEADS) {
    for (const mode of MODES) {
      const p = party(aead);
      const { enc, context: s } = setupSender(p.suite, senderParams(p, mode));
      const r = setupRecipient(p.suite, recipientParams(p, mode, enc));
      for (let i = 0; i < 5; i++) {
        const pt = random(i * 7);
        const aad = ascii(`aad ${i}`);
        const ct = s.seal(aad, pt);
        assert.is(ct.length, pt.length + 16);
        assert.is(toHex(r.open(aad, ct)), toHex(pt), `aead ${aead} mode ${mode} message ${i}`);
      }
      assert.is(s.sequenceNumber, 5n);
      assert.is(r.sequenceNumber, 5n);
      const ctx = ascii('exporter');
      assert.is(toHex(s.export(ctx, 42)), toHex(r.export(ctx, 42)));
      // Single-shot APIs.
      const one = seal(p.suite, { ...senderParams(p, mode), aad: ascii('x'), pt: ascii('single shot') });
      const back = open(p.suite, { ...recipientParams(p, mode, one.enc), aad: ascii('x'), ct: one.ct });
      assert.is(toHex(back), toHex(ascii('single shot')));
    }
  }
});

test('round trip: HKDF-SHA384 and HKDF-SHA512 KDFs', () => {
  for (const kdf of [KdfId.HkdfSha384, KdfId.HkdfSha512]) {
    const p = party(AeadId.ChaCha20Poly1305, kdf);
    const { enc, context: s } = setupSender(p.suite, senderParams(p, Mode.AuthPsk));
    const r = setupRecipient(p.suite, recipientParams(p, Mode.AuthPsk, enc));
    assert.is(toHex(r.open(ascii('a'), s.seal(ascii('a'), ascii('hello')))), toHex(ascii('hello')));
    assert.is(s.export(new Uint8Array(0), 255 * p.suite.kdf.Nh).length, 255 * p.suite.kdf.Nh);
  }
});

test('export-only AEAD: exports agree in every mode; seal/open throw EXPORT_ONLY', () => {
  for (const mode of MODES) {
    const p = party(AeadId.ExportOnly);
    const { enc, context: s } = setupSender(p.suite, senderParams(p, mode));
    const r = setupRecipient(p.suite, recipientParams(p, mode, enc));
    assert.is(toHex(s.export(ascii('ctx'), 32)), toHex(r.export(ascii('ctx'), 32)));
    throwsHpke(() => s.seal(new Uint8Array(0), ascii('pt')), 'EXPORT_ONLY', 'export-only seal');
    throwsHpke(() => r.open(new Uint8Array(0), new Uint8Array(16)), 'EXPORT_ONLY', 'export-only open');
    const sent = sendExport(p.suite, { ...senderParams(p, mode), exporterContext: ascii('e'), length: 16 });
    const got = receiveExport(p.suite, { ...recipientParams(p, mode, sent.enc), exporterContext: ascii('e'), length: 16 });
    assert.is(toHex(got), toHex(sent.exported));
  }
});

// ---------------------------------------------------------------------------------------------
// Failures

test('open failures: tampered ct, wrong aad, wrong key, wrong psk, wrong sender key -> OPEN', () => {
  for (const aead of AEADS) {
    const p = party(aead);
    const aad = ascii('aad');
    const pt = ascii('attack at dawn');

    // Tampered ciphertext (every byte position class: body and tag) and wrong aad.
    {
      const { enc, context: s } = setupSender(p.suite, senderParams(p, Mode.Base));
      const ct = s.seal(aad, pt);
      const r = setupRecipient(p.suite, recipientParams(p, Mode.Base, enc));
      for (const pos of [0, ct.length - 17, ct.length - 1]) {
        const bad = Uint8Array.from(ct);
        bad[pos] = bad[pos]! ^ 1;
        throwsHpke(() => r.open(aad, bad), 'OPEN', `tampered byte ${pos}`);
      }
      throwsHpke(() => r.open(aad, ct.subarray(0, 10)), 'OPEN', 'truncated ct');
      throwsHpke(() => r.open(ascii('other aad'), ct), 'OPEN', 'wrong aad');
      assert.is(r.sequenceNumber, 0n, 'failed opens do not advance the sequence');
      assert.is(toHex(r.open(aad, ct)), toHex(pt), 'the genuine ct still opens afterwards');
    }

    // Wrong recipient key.
    {
      const { enc, context: s } = setupSender(p.suite, senderParams(p, Mode.Base));
      const ct = s.seal(aad, pt);
      const other = p.suite.kem.generateKeyPair(random);
      const r = setupBaseR(p.suite, enc, other.privateKey, p.info);
      throwsHpke(() => r.open(aad, ct), 'OPEN', 'wrong recipient key');
    }

    // Wrong info.
    {
      const { enc, context: s } = setupSender(p.suite, senderParams(p, Mode.Base));
      const ct = s.seal(aad, pt);
      const r = setupBaseR(p.suite, enc, p.r.privateKey, ascii('other info'));
      throwsHpke(() => r.open(aad, ct), 'OPEN', 'wrong info');
    }

    // Wrong PSK / PSK id.
    {
      const { enc, context: s } = setupSender(p.suite, senderParams(p, Mode.Psk));
      const ct = s.seal(aad, pt);
      const r1 = setupRecipient(p.suite, { ...recipientParams(p, Mode.Psk, enc), psk: random(32) });
      throwsHpke(() => r1.open(aad, ct), 'OPEN', 'wrong psk');
      const r2 = setupRecipient(p.suite, { ...recipientParams(p, Mode.Psk, enc), pskId: ascii('other id') });
      throwsHpke(() => r2.open(aad, ct), 'OPEN', 'wrong psk_id');
    }

    // Wrong sender key in auth and auth_psk modes.
    {
      const mallory = p.suite.kem.generateKeyPair(random);
      const { enc, context: s } = setupSender(p.suite, senderParams(p, Mode.Auth));
      const ct = s.seal(aad, pt);
      const r = setupRecipient(p.suite, { ...recipientParams(p, Mode.Auth, enc), pkS: mallory.publicKey });
      throwsHpke(() => r.open(aad, ct), 'OPEN', 'wrong sender key (auth)');
      const ap = setupAuthPskS(p.suite, p.r.publicKey, p.info, p.psk, p.pskId, mallory.privateKey, random);
      const ct2 = ap.context.seal(aad, pt);
      const r2 = setupAuthPskR(p.suite, ap.enc, p.r.privateKey, p.info, p.psk, p.pskId, p.s.publicKey);
      throwsHpke(() => r2.open(aad, ct2), 'OPEN', 'wrong sender key (auth_psk)');
    }
  }
});

test('single-shot open failure is OPEN', () => {
  const p = party(AeadId.Aes128Gcm);
  const { enc, ct } = seal(p.suite, { ...senderParams(p, Mode.Base), aad: ascii('a'), pt: ascii('m') });
  throwsHpke(() => open(p.suite, { ...recipientParams(p, Mode.Base, enc), aad: ascii('b'), ct }), 'OPEN', 'single-shot');
});

test('multi-message contexts must be opened in order', () => {
  const p = party(AeadId.Aes256Gcm);
  const { enc, context: s } = setupSender(p.suite, senderParams(p, Mode.Base));
  const cts = [0, 1, 2].map((i) => s.seal(ascii(`${i}`), ascii(`message ${i}`)));
  const r = setupRecipient(p.suite, recipientParams(p, Mode.Base, enc));
  throwsHpke(() => r.open(ascii('1'), cts[1]!), 'OPEN', 'out of order');
  for (const [i, ct] of cts.entries()) assert.is(toHex(r.open(ascii(`${i}`), ct)), toHex(ascii(`message ${i}`)));
  // A lost message: the recipient skips ahead explicitly.
  s.seal(ascii('lost'), ascii('lost'));
  const ct4 = s.seal(ascii('4'), ascii('four'));
  r.skip(1);
  assert.is(toHex(r.open(ascii('4'), ct4)), toHex(ascii('four')));
});

test('message limit: sequence number space exhaustion -> MESSAGE_LIMIT', () => {
  const p = party(AeadId.Aes128Gcm);
  const { enc, context: s } = setupSender(p.suite, senderParams(p, Mode.Base));
  const r = setupRecipient(p.suite, recipientParams(p, Mode.Base, enc));
  const last = (1n << 96n) - 2n;
  s.skip(last);
  r.skip(last);
  const ct = s.seal(ascii(''), ascii('last one'));
  assert.is(toHex(r.open(ascii(''), ct)), toHex(ascii('last one')));
  throwsHpke(() => s.seal(ascii(''), ascii('one too many')), 'MESSAGE_LIMIT', 'seal past the limit');
  throwsHpke(() => r.open(ascii(''), ct), 'MESSAGE_LIMIT', 'open past the limit');
  throwsHpke(() => s.skip(1), 'MESSAGE_LIMIT', 'skip past the limit');
  throwsHpke(() => s.skip(-1), 'INVALID_ARGUMENT', 'negative skip');
});

test('invalid key encodings -> DESERIALIZE; low-order point -> VALIDATION', () => {
  const p = party(AeadId.Aes128Gcm);
  throwsHpke(() => setupBaseS(p.suite, p.r.publicKey.subarray(0, 31), p.info, random), 'DESERIALIZE', 'short pkR');
  throwsHpke(() => setupBaseS(p.suite, new Uint8Array(33), p.info, random), 'DESERIALIZE', 'long pkR');
  throwsHpke(() => setupBaseR(p.suite, new Uint8Array(31), p.r.privateKey, p.info), 'DESERIALIZE', 'short enc');
  throwsHpke(() => setupBaseR(p.suite, p.r.publicKey, new Uint8Array(16), p.info), 'DESERIALIZE', 'short skR');
  throwsHpke(() => p.suite.kem.deserializePublicKey(new Uint8Array(0)), 'DESERIALIZE', 'empty public key');
  throwsHpke(() => p.suite.kem.deserializePrivateKey(new Uint8Array(31)), 'DESERIALIZE', 'short private key');
  // u = 0 and u = 1 are low-order: the DH output would be all zero.
  throwsHpke(() => setupBaseS(p.suite, new Uint8Array(32), p.info, random), 'VALIDATION', 'pkR = 0');
  const one = new Uint8Array(32);
  one[0] = 1;
  throwsHpke(() => setupBaseR(p.suite, one, p.r.privateKey, p.info), 'VALIDATION', 'enc = 1');
});

test('PSK input rules -> INVALID_PSK', () => {
  const p = party(AeadId.Aes128Gcm);
  const base = senderParams(p, Mode.Psk);
  throwsHpke(() => setupSender(p.suite, { ...base, pskId: undefined }), 'INVALID_PSK', 'psk without psk_id');
  throwsHpke(() => setupSender(p.suite, { ...base, psk: undefined }), 'INVALID_PSK', 'psk_id without psk');
  throwsHpke(() => setupSender(p.suite, { ...base, psk: undefined, pskId: undefined }), 'INVALID_PSK', 'psk mode without psk');
  throwsHpke(() => setupSender(p.suite, { ...base, mode: Mode.Base }), 'INVALID_PSK', 'psk given in base mode');
  throwsHpke(() => setupSender(p.suite, { ...base, psk: random(16) }), 'INVALID_PSK', 'psk shorter than 32 bytes');
  throwsHpke(
    () => setupRecipient(p.suite, { ...recipientParams(p, Mode.Psk, p.r.publicKey), pskId: new Uint8Array(0) }),
    'INVALID_PSK',
    'recipient psk without psk_id',
  );
});

test('mode/key mismatches and unknown ids', () => {
  const p = party(AeadId.Aes128Gcm);
  throwsHpke(() => setupSender(p.suite, { ...senderParams(p, Mode.Auth), skS: undefined }), 'INVALID_ARGUMENT', 'auth without skS');
  throwsHpke(() => setupSender(p.suite, { ...senderParams(p, Mode.Base), skS: p.s.privateKey }), 'INVALID_ARGUMENT', 'skS in base mode');
  throwsHpke(() => setupSender(p.suite, { ...senderParams(p, Mode.Base), mode: 7 as Mode }), 'INVALID_ARGUMENT', 'unknown mode');
  throwsHpke(() => createSuite(0x0010, SHA256, AeadId.Aes128Gcm), 'UNSUPPORTED', 'P-256 KEM');
  throwsHpke(() => createSuite(X25519, 0x0004, AeadId.Aes128Gcm), 'UNSUPPORTED', 'unknown KDF');
  throwsHpke(() => createSuite(X25519, SHA256, 0x0004), 'UNSUPPORTED', 'unknown AEAD');
  throwsHpke(() => p.suite.kem.generateKeyPair(() => new Uint8Array(5)), 'INVALID_ARGUMENT', 'short randomness');
  throwsHpke(() => p.suite.kem.deriveKeyPair(new Uint8Array(8)), 'DERIVE_KEY_PAIR', 'short ikm');
});

test('exporter length limit 255*Nh', () => {
  const p = party(AeadId.Aes128Gcm);
  const { context: s } = setupSender(p.suite, senderParams(p, Mode.Base));
  assert.is(s.export(ascii('c'), 255 * 32).length, 255 * 32);
  assert.is(s.export(ascii('c'), 0).length, 0);
  throwsHpke(() => s.export(ascii('c'), 255 * 32 + 1), 'EXPORT_LENGTH', 'L > 255*Nh');
  throwsHpke(() => s.export(ascii('c'), -1), 'EXPORT_LENGTH', 'negative L');
  throwsHpke(() => s.export(ascii('c'), 1.5), 'EXPORT_LENGTH', 'fractional L');
});

test('destroy() makes the context unusable', () => {
  const p = party(AeadId.Aes128Gcm);
  const { context: s } = setupSender(p.suite, senderParams(p, Mode.Base));
  s.destroy();
  throwsHpke(() => s.export(ascii('c'), 32), 'DESTROYED', 'export after destroy');
  throwsHpke(() => s.seal(ascii(''), ascii('x')), 'DESTROYED', 'seal after destroy');
  throwsHpke(() => s.skip(1), 'DESTROYED', 'skip after destroy');
});

// ---------------------------------------------------------------------------------------------
// KAT runner robustness

test('checkHpkeVectors: malformed and unsupported entries fail (or skip) without throwing', () => {
  const good = JSON.parse(readFileSync(RFC9180_VECTORS, 'utf8')) as Record<string, unknown>[];
  const missingField = { ...good[0] };
  delete missingField['shared_secret'];
  const badHex = { ...good[1], key: 'xyz' };
  const badEncryptions = { ...good[0], encryptions: [{ pt: '00' }] };
  const decreasing = {
    ...good[0],
    encryptions: [(good[0]!['encryptions'] as unknown[])[1], (good[0]!['encryptions'] as unknown[])[0]],
  };
  const p256 = { ...good[0], kem_id: 16 };
  const wrongCt = {
    ...good[0],
    encryptions: [{ ...((good[0]!['encryptions'] as unknown[])[0] as object), ct: '00'.repeat(45) }],
  };
  const entries: unknown[] = [missingField, badHex, badEncryptions, decreasing, p256, wrongCt, null, 'x', { mode: 9 }, good[2]];
  let report = checkHpkeVectors(entries);
  assert.is(report.passed, 1);
  assert.is(report.failed, entries.length - 1);
  assert.is(report.skipped, 0);
  const text = report.failures.join('\n');
  assert.match(text, /entry 0 .*shared_secret/);
  assert.match(text, /entry 1 .*"key" is not valid hex/);
  assert.match(text, /entry 2 .*encryptions\[0\]/);
  assert.match(text, /entry 3 .*not increasing/);
  assert.match(text, /entry 4 .*unsupported suite/);
  assert.match(text, /entry 5 .*ct mismatch/);
  assert.match(text, /entry 6: malformed entry: not an object/);
  report = checkHpkeVectors([p256], { skipUnsupported: true });
  assert.equal({ passed: report.passed, failed: report.failed, skipped: report.skipped }, { passed: 0, failed: 0, skipped: 1 });
  report = checkHpkeVectors('nope' as unknown as unknown[]);
  assert.is(report.failed, 1);
});

test.run();
