/// <reference types="node" />
// Enrollment / pairing core: envelopes, fingerprints, tokens, plaintext
// schemas, HPKE sealing with request binding, the node:crypto KEM against the
// pure one, generation schedule, pairing handshake and analyzer key files.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { concat, fromHex, toHex } from '../core/src/util/bytes.js';
import {
  base32,
  DEFAULT_SUITE,
  fingerprint,
  formatToken,
  MsgType,
  normalizeFingerprint,
  normalizeToken,
  parseRequestEnvelope,
  tokenDigest,
  tokenFromBytes,
  unbase32,
  MAX_REQUEST_ENVELOPE,
} from '../core/src/enroll/codec.js';
import {
  encodeEnrollRequest,
  encodeEnrollResponse,
  parseEnrollRequest,
  parseEnrollResponse,
  type EnrollResponse,
} from '../core/src/enroll/messages.js';
import { openRequest, openResponse, pureSuites, SealError, sealResponse } from '../core/src/enroll/seal.js';
import { buildEnrollRequest, EnrollClientError, readEnrollResponse } from '../core/src/enroll/client.js';
import { checkSchedule, generationAt, generationsToIssue, nextRenewal, clientKey, serverKey } from '../core/src/enroll/schedule.js';
import {
  chooseSuite,
  encodeOffer,
  encodeChoice,
  initiatorFinish,
  initiatorVerifyConfirm,
  PAIR_SUITES,
  PairError,
  parseChoice,
  responderFinish,
  encodeConfirm,
  parseConfirm,
} from '../core/src/pairing/protocol.js';
import { openAnalyzerKeys, sealAnalyzerKeys, keySecret } from '../core/src/enroll/export.js';
import { clientPrefixSecret, serverGroupSecret } from '../core/src/keys/schedule.js';
import { parsePrefix } from '../core/src/wire/addr.js';
import { createSuite, getKem, KemId, Mode, setupRecipient, setupSender } from '../core/src/hpke/hpke.js';
import { fastKem, fastSuites } from '../primary/src/fast-suite.js';
import { agentKem } from '../firmware/src/agent-kem.js';

const rand = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const kem = getKem(KemId.DhkemX25519HkdfSha256);
const keyPair = () => kem.generateKeyPair(rand);

function expectSeal(f: () => unknown, code: string): void {
  try {
    f();
  } catch (e) {
    assert.instance(e, SealError);
    assert.is((e as SealError).code, code);
    return;
  }
  assert.unreachable(`expected SealError ${code}`);
}

function expectPair(f: () => unknown, code: string): void {
  try {
    f();
  } catch (e) {
    assert.instance(e, PairError, String(e));
    assert.is((e as PairError).code, code, (e as Error).message);
    return;
  }
  assert.unreachable(`expected PairError ${code}`);
}

// ---------------------------------------------------------------------------------------------

test('base32 follows RFC 4648 (no padding)', () => {
  const enc = (s: string) => base32(Uint8Array.from(s, (c) => c.charCodeAt(0)));
  assert.equal(['', 'f', 'fo', 'foo', 'foob', 'fooba', 'foobar'].map(enc), ['', 'MY', 'MZXQ', 'MZXW6', 'MZXW6YQ', 'MZXW6YTB', 'MZXW6YTBOI']);
  const b = rand(15);
  assert.equal(unbase32(base32(b)), b);
  assert.equal(unbase32(base32(b).toLowerCase()), b);
  assert.is(unbase32('A1AAAAAA'), null);
});

test('fingerprint: 24 base32 characters in six groups, SHA-256 over label || 0 || pk', () => {
  const pk = fromHex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
  const fp = fingerprint(pk);
  assert.match(fp, /^[A-Z2-7]{4}(-[A-Z2-7]{4}){5}$/);
  assert.is(fingerprint(pk), fp);
  assert.is.not(fingerprint(rand(32)), fp);
  assert.is(normalizeFingerprint(fp.toLowerCase().replace(/-/g, ' ')), fp);
  assert.is(normalizeFingerprint('ABCD-EFGH'), null);
  assert.is(normalizeFingerprint(`${fp}-AAAA`), null);
});

test('tokens: wire form, display form, digest', () => {
  const wire = tokenFromBytes(rand(15));
  assert.match(wire, /^[a-z2-7]{24}$/);
  const shown = formatToken(wire);
  assert.match(shown, /^pdt-([a-z2-7]{4}-){5}[a-z2-7]{4}$/);
  assert.is(normalizeToken(shown), wire);
  assert.is(normalizeToken(shown.toUpperCase()), wire);
  assert.is(normalizeToken(`  ${wire}  `), wire);
  assert.is(normalizeToken('pdt-abcd'), null);
  assert.is(tokenDigest(wire).length, 32);
  assert.is.not(toHex(tokenDigest(wire)), toHex(tokenDigest(tokenFromBytes(rand(15)))));
});

// ---------------------------------------------------------------------------------------------

const REQ = { role: 'client', prefixes: ['2001:db8:1::/48'], ts: 1700000000, nonce: '00112233445566778899aabbccddeeff' } as const;

test('request plaintext: round trip and canonical prefixes', () => {
  const r = parseEnrollRequest(encodeEnrollRequest({ ...REQ, prefixes: ['2001:0DB8:0001:0000::/48'], token: 'a'.repeat(24), agent: 'pdmv2d/0.1.0' }));
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.equal(r.value.prefixes, ['2001:db8:1::/48']);
  assert.is(r.value.token, 'a'.repeat(24));
  assert.is(r.value.agent, 'pdmv2d/0.1.0');
});

test('request plaintext: every malformed field is a BAD_REQUEST naming it', () => {
  const bad: [Record<string, unknown>, string][] = [
    [{ ...REQ, role: 'router' }, 'role'],
    [{ ...REQ, prefixes: ['2001:db8:1::1/48'] }, 'host bits'],
    [{ ...REQ, prefixes: ['2001:db8:1::/48', '2001:db8:1:0::/48'] }, 'duplicate'],
    [{ ...REQ, prefixes: 'x' }, 'prefixes'],
    [{ ...REQ, ts: -1 }, 'ts'],
    [{ ...REQ, ts: 1.5 }, 'ts'],
    [{ ...REQ, nonce: 'zz' }, 'nonce'],
    [{ ...REQ, token: 'short' }, 'token'],
    [{ ...REQ, agent: 'x'.repeat(65) }, 'agent'],
  ];
  for (const [o, word] of bad) {
    const r = parseEnrollRequest(new TextEncoder().encode(JSON.stringify({ v: 1, ...o })));
    assert.ok(!r.ok, JSON.stringify(o));
    if (!r.ok) {
      assert.is(r.error, 'BAD_REQUEST');
      assert.ok(r.message.includes(word), `${r.message} should mention ${word}`);
    }
  }
  const v2 = parseEnrollRequest(new TextEncoder().encode(JSON.stringify({ v: 2, ...REQ })));
  assert.ok(!v2.ok && v2.error === 'UNSUPPORTED_VERSION');
  const notJson = parseEnrollRequest(new TextEncoder().encode('{"v":1,'));
  assert.ok(!notJson.ok && notJson.error === 'BAD_REQUEST');
  const utf8 = parseEnrollRequest(new TextEncoder().encode('{"v":1,"agent":"é"}'));
  assert.ok(!utf8.ok && utf8.message.includes('ASCII'));
});

test('JSON plaintexts are ASCII: non-ASCII characters are escaped', () => {
  const b = encodeEnrollResponse({ status: 'rejected', ts: 1, nonce: REQ.nonce, reason: 'BAD_REQUEST', message: 'ü' });
  assert.ok(b.every((x) => x < 0x7f));
  const r = parseEnrollResponse(b);
  assert.ok(!r.ok); // message must be printable ASCII after decoding, so the escaped 'ü' is refused
});

test('response plaintext: granted round trip and strict key shape', () => {
  const grant = {
    fingerprint: fingerprint(rand(32)),
    role: 'client' as const,
    mode: 'encrypted' as const,
    prefixes: ['2001:db8:1::/48'],
    issued: 10,
    expires: 100,
    renew_after: 50,
    pairings: [
      {
        id: '0123456789abcdef',
        aead: 1,
        peer_prefixes: ['2001:db8:ff::/48'],
        keys: [{ generation: 3, not_before: 5, not_after: 100, secrets: [{ prefix: '2001:db8:1::/48', secret: 'ab'.repeat(32) }] }],
      },
    ],
  };
  const resp: EnrollResponse = { status: 'granted', ts: 10, nonce: REQ.nonce, grant };
  const r = parseEnrollResponse(encodeEnrollResponse(resp));
  assert.ok(r.ok);
  if (r.ok) assert.equal(r.value, resp);
  const withSgs = { ...grant, pairings: [{ ...grant.pairings[0]!, keys: [{ ...grant.pairings[0]!.keys[0]!, sgs: 'cd'.repeat(32) }] }] };
  const bad = parseEnrollResponse(encodeEnrollResponse({ status: 'granted', ts: 10, nonce: REQ.nonce, grant: withSgs }));
  assert.ok(!bad.ok && bad.message.includes('sgs'));
  const badAead = { ...grant, pairings: [{ ...grant.pairings[0]!, aead: 3 }] };
  assert.ok(!parseEnrollResponse(encodeEnrollResponse({ status: 'granted', ts: 10, nonce: REQ.nonce, grant: badAead })).ok);
});

// ---------------------------------------------------------------------------------------------

function sealPair() {
  const device = keyPair();
  const primary = keyPair();
  const built = buildEnrollRequest({
    device: { sk: device.privateKey, pk: device.publicKey },
    primaryPk: primary.publicKey,
    role: 'client',
    prefixes: ['2001:db8:1::/48'],
    now: 1700000000,
    random: rand,
  });
  return { device, primary, built };
}

test('request envelope: layout, opens at the primary with the device key authenticated', () => {
  const { device, primary, built } = sealPair();
  const env = built.envelope;
  assert.is(env[0], 1);
  assert.is(env[1], MsgType.EnrollRequest);
  assert.equal([...env.subarray(2, 8)], [0x00, 0x20, 0x00, 0x01, 0x00, 0x03]);
  assert.equal(env.subarray(8, 40), device.publicKey);
  const opened = openRequest(MsgType.EnrollRequest, env, primary.privateKey);
  assert.equal(opened.senderPk, device.publicKey);
  assert.equal(opened.suite, DEFAULT_SUITE);
  const r = parseEnrollRequest(opened.plaintext);
  assert.ok(r.ok && r.value.nonce === built.nonce);
  // the fast (node:crypto) suite opens it too
  assert.equal(openRequest(MsgType.EnrollRequest, env, primary.privateKey, fastSuites).plaintext, opened.plaintext);
});

test('request envelope: wrong primary key, tampering, a claimed key without its private key all fail as UNAUTHENTICATED', () => {
  const { primary, built } = sealPair();
  expectSeal(() => openRequest(MsgType.EnrollRequest, built.envelope, keyPair().privateKey), 'UNAUTHENTICATED');
  for (const at of [9, 45, 80, built.envelope.length - 1]) {
    const t = built.envelope.slice();
    t[at]! ^= 1;
    expectSeal(() => openRequest(MsgType.EnrollRequest, t, primary.privateKey), 'UNAUTHENTICATED');
  }
  // header claims another device key: auth-mode decapsulation fails
  const other = built.envelope.slice();
  other.set(keyPair().publicKey, 8);
  expectSeal(() => openRequest(MsgType.EnrollRequest, other, primary.privateKey), 'UNAUTHENTICATED');
  // suite changed in the header (AAD and info both bind it)
  const suite = built.envelope.slice();
  suite[7] = 1;
  expectSeal(() => openRequest(MsgType.EnrollRequest, suite, primary.privateKey), 'UNAUTHENTICATED');
});

test('request envelope: structural errors', () => {
  const { primary, built } = sealPair();
  expectSeal(() => openRequest(MsgType.EnrollRequest, built.envelope.subarray(0, 80), primary.privateKey), 'TRUNCATED');
  expectSeal(() => openRequest(MsgType.PairUpdateRequest, built.envelope, primary.privateKey), 'WRONG_TYPE');
  const v = built.envelope.slice();
  v[0] = 2;
  expectSeal(() => openRequest(MsgType.EnrollRequest, v, primary.privateKey), 'UNSUPPORTED_VERSION');
  const s = built.envelope.slice();
  s[7] = 0xff; // export-only AEAD cannot carry a message
  expectSeal(() => openRequest(MsgType.EnrollRequest, s, primary.privateKey), 'UNSUPPORTED_SUITE');
  const big = concat(built.envelope, new Uint8Array(MAX_REQUEST_ENVELOPE));
  assert.is(parseRequestEnvelope(big, MsgType.EnrollRequest).ok, false);
  expectSeal(() => openRequest(MsgType.EnrollRequest, big, primary.privateKey), 'TOO_LARGE');
});

test('response: bound to its request; wrong key, tampering and replay to another request are refused', () => {
  const { device, primary, built } = sealPair();
  const dev = { sk: device.privateKey, pk: device.publicKey };
  const answer = (req: Uint8Array, sk = primary.privateKey, nonce = built.nonce) =>
    sealResponse({
      type: MsgType.EnrollResponse,
      request: req,
      senderSk: sk,
      recipientPk: device.publicKey,
      plaintext: encodeEnrollResponse({ status: 'pending', ts: 1700000000, nonce, fingerprint: fingerprint(device.publicKey), retry_after: 30 }),
      random: rand,
      suites: fastSuites,
    });
  const good = answer(built.envelope);
  const r = readEnrollResponse({ body: good, sent: built, device: dev, primaryPk: primary.publicKey });
  assert.is(r.status, 'pending');

  const expectClient = (f: () => unknown, code: string) => {
    try {
      f();
      assert.unreachable();
    } catch (e) {
      assert.instance(e, EnrollClientError);
      assert.is((e as EnrollClientError).code, code, (e as Error).message);
    }
  };
  // configured primary key is not the one that sealed it
  expectClient(() => readEnrollResponse({ body: good, sent: built, device: dev, primaryPk: keyPair().publicKey }), 'RESPONSE_UNAUTHENTICATED');
  // sealed by someone else's key
  expectClient(() => readEnrollResponse({ body: answer(built.envelope, keyPair().privateKey), sent: built, device: dev, primaryPk: primary.publicKey }), 'RESPONSE_UNAUTHENTICATED');
  // tampered
  const t = good.slice();
  t[t.length - 3]! ^= 0x40;
  expectClient(() => readEnrollResponse({ body: t, sent: built, device: dev, primaryPk: primary.publicKey }), 'RESPONSE_UNAUTHENTICATED');
  // the answer to another request of the same device
  const second = buildEnrollRequest({ device: dev, primaryPk: primary.publicKey, role: 'client', prefixes: [], now: 1700000001, random: rand });
  expectClient(() => readEnrollResponse({ body: good, sent: second, device: dev, primaryPk: primary.publicKey }), 'RESPONSE_UNAUTHENTICATED');
  // right binding but a nonce that is not the request's
  expectClient(
    () => readEnrollResponse({ body: answer(built.envelope, primary.privateKey, 'ff'.repeat(16)), sent: built, device: dev, primaryPk: primary.publicKey }),
    'RESPONSE_INVALID',
  );
  // suite mismatch
  const sm = good.slice();
  sm[7] = 1;
  expectSeal(
    () => openResponse({ type: MsgType.EnrollResponse, envelope: sm, request: built.envelope, recipientSk: device.privateKey, senderPk: primary.publicKey }),
    'SUITE_MISMATCH',
  );
});

test('grant checks: a grant for another device or with unrequested prefixes is refused', () => {
  const { device, primary, built } = sealPair();
  const dev = { sk: device.privateKey, pk: device.publicKey };
  const grantFor = (fp: string, prefixes: string[]) =>
    sealResponse({
      type: MsgType.EnrollResponse,
      request: built.envelope,
      senderSk: primary.privateKey,
      recipientPk: device.publicKey,
      plaintext: encodeEnrollResponse({
        status: 'granted',
        ts: 1,
        nonce: built.nonce,
        grant: { fingerprint: fp, role: 'client', mode: 'encrypted', prefixes, issued: 1, expires: 2, renew_after: 2, pairings: [] },
      }),
      random: rand,
    });
  const me = fingerprint(device.publicKey);
  assert.is(readEnrollResponse({ body: grantFor(me, ['2001:db8:1::/48']), sent: built, device: dev, primaryPk: primary.publicKey }).status, 'granted');
  for (const body of [grantFor(fingerprint(rand(32)), ['2001:db8:1::/48']), grantFor(me, ['2001:db8:2::/48'])]) {
    try {
      readEnrollResponse({ body, sent: built, device: dev, primaryPk: primary.publicKey });
      assert.unreachable();
    } catch (e) {
      assert.is((e as EnrollClientError).code, 'RESPONSE_INVALID');
    }
  }
});

test('fast (node:crypto) KEM and agent (ladder) KEM = pure KEM, byte for byte', () => {
  for (let i = 0; i < 20; i++) {
    const r = keyPair();
    const s = keyPair();
    const ikm = rand(32);
    const a = kem.authEncap(r.publicKey, s.privateKey, { ikm });
    const b = fastKem.authEncap(r.publicKey, s.privateKey, { ikm });
    assert.equal(b.enc, a.enc);
    assert.equal(b.sharedSecret, a.sharedSecret);
    assert.equal(fastKem.authDecap(a.enc, r.privateKey, s.publicKey), a.sharedSecret);
    const c = kem.encap(r.publicKey, { ikm });
    assert.equal(fastKem.decap(c.enc, r.privateKey), c.sharedSecret);
    assert.equal(fastKem.publicKeyOf(r.privateKey), r.publicKey);
    // and the agent's ladder-only KEM
    const d = agentKem.authEncap(r.publicKey, s.privateKey, { ikm });
    assert.equal([d.enc, d.sharedSecret], [a.enc, a.sharedSecret]);
    assert.equal(agentKem.authDecap(a.enc, r.privateKey, s.publicKey), a.sharedSecret);
    assert.equal(agentKem.publicKeyOf(r.privateKey), r.publicKey);
  }
  // whole HPKE: fast sender, pure recipient
  const suiteIds = { kem: 0x20, kdf: 1, aead: 1 };
  const r = keyPair();
  const s = keyPair();
  const { enc, context } = setupSender(fastSuites(suiteIds), { mode: Mode.Auth, pkR: r.publicKey, skS: s.privateKey, info: rand(5), ephemeral: rand });
  const ct = context.seal(new Uint8Array(0), Uint8Array.of(1, 2, 3));
  assert.ok(ct.length > 3);
  const rc = setupRecipient(createSuite(0x20, 1, 1), { mode: Mode.Auth, enc, skR: r.privateKey, pkS: s.publicKey, info: new Uint8Array(5) });
  assert.throws(() => rc.open(new Uint8Array(0), ct)); // different info: must fail
  // low-order public key is refused by the fast KEM too
  assert.throws(() => fastKem.encap(new Uint8Array(32), rand), /VALIDATION/);
  assert.ok(pureSuites(suiteIds));
});

// ---------------------------------------------------------------------------------------------

test('schedule: generations, the next one within overlap, renewal before it is due', () => {
  const s = { t0: 1000, period: 3600, overlap: 600 };
  assert.is(checkSchedule(s), null);
  assert.ok(checkSchedule({ ...s, overlap: 2000 }));
  assert.ok(checkSchedule({ ...s, period: 10 }));
  assert.is(generationAt(s, 999), 0);
  assert.is(generationAt(s, 1000 + 3600 * 5 + 10), 5);
  const early = generationsToIssue(s, 1000 + 100);
  assert.equal(early, [{ generation: 0, not_before: 1000, not_after: 1000 + 3600 + 600 }]);
  const late = generationsToIssue(s, 1000 + 3600 - 300);
  assert.equal(late.map((w) => w.generation), [0, 1]);
  assert.is(nextRenewal(s, early, 1100, 86400), 1000 + 3600 - 300);
  assert.is(nextRenewal(s, early, 1100, 60), 1160);
  assert.is(nextRenewal(s, late, 1000 + 3600 - 300, 86400), 1000 + 7200 - 300);
});

test('grant keys are the PROTOCOL.md §5 key schedule (deterministic)', () => {
  const pms = rand(32);
  const w = { generation: 7, not_before: 1, not_after: 2 };
  const ck = clientKey(pms, w, ['2001:db8:1::/48', '2001:db8:2::/64']);
  const sgs = serverGroupSecret(pms, 7);
  assert.is(ck.secrets![0]!.secret, toHex(clientPrefixSecret(sgs, parsePrefix('2001:db8:1::/48'))));
  assert.is(ck.secrets![1]!.secret, toHex(clientPrefixSecret(sgs, parsePrefix('2001:db8:2::/64'))));
  assert.equal(clientKey(pms, w, ['2001:db8:1::/48']).secrets![0], ck.secrets![0]);
  assert.is(serverKey(pms, w).sgs, toHex(sgs));
});

// ---------------------------------------------------------------------------------------------

const PARAMS = { data_aead: 1, mode: 'encrypted' as const, t0: 1700000000, period: 86400, overlap: 3600, client_prefixes: ['2001:db8:1::/48'] };

function handshake(opts: { tamperOffer?: boolean; wrongInitiatorKey?: boolean } = {}) {
  const i = keyPair();
  const r = keyPair();
  const offer = encodeOffer({ initiator: i.publicKey, responder: r.publicKey, suites: PAIR_SUITES, nonce: rand(32), ts: 1 });
  const suite = chooseSuite(PAIR_SUITES)!;
  const choice = encodeChoice({ session: rand(16), suite, initiator: i.publicKey, responder: r.publicKey, nonce: rand(32), ts: 1 });
  const fin = initiatorFinish({ offer, choice, initiatorSk: opts.wrongInitiatorKey ? keyPair().privateKey : i.privateKey, params: PARAMS, random: rand });
  const offerAtR = opts.tamperOffer ? encodeOffer({ initiator: i.publicKey, responder: r.publicKey, suites: [PAIR_SUITES[1]!], nonce: rand(32), ts: 1 }) : offer;
  return { i, r, offer, offerAtR, choice, fin };
}

test('pairing: both sides derive the same PMS, confirm both ways, agree on the pairing id and parameters', () => {
  const h = handshake();
  assert.equal(chooseSuite(PAIR_SUITES), { kem: 0x20, kdf: 1, aead: 0xffff });
  const res = responderFinish({ offer: h.offer, choice: h.choice, finish: h.fin.finish, responderSk: h.r.privateKey, responderParams: { server_prefixes: ['2001:db8:ff::/48'] } });
  assert.equal(res.pms, h.fin.pms);
  assert.is(res.pairingId, h.fin.pairingId);
  assert.equal(res.params, PARAMS);
  const server = initiatorVerifyConfirm({ confirm: res.confirm, confirmKey: h.fin.confirmKey, pairingId: h.fin.pairingId, session: parseChoice(h.choice).session });
  assert.equal(server.server_prefixes, ['2001:db8:ff::/48']);
});

test('pairing: altered offer (downgrade), altered parameters, wrong initiator key, altered confirm all fail', () => {
  const h = handshake({ tamperOffer: true });
  expectPair(() => responderFinish({ offer: h.offerAtR, choice: h.choice, finish: h.fin.finish, responderSk: h.r.privateKey, responderParams: { server_prefixes: [] } }), 'CONFIRM_FAILED');

  const h2 = handshake();
  const text = new TextDecoder().decode(h2.fin.finish).replace('2001:db8:1::/48', '2001:db8:9::/48');
  expectPair(
    () => responderFinish({ offer: h2.offer, choice: h2.choice, finish: new TextEncoder().encode(text), responderSk: h2.r.privateKey, responderParams: { server_prefixes: [] } }),
    'CONFIRM_FAILED',
  );

  const h3 = handshake({ wrongInitiatorKey: true });
  expectPair(() => responderFinish({ offer: h3.offer, choice: h3.choice, finish: h3.fin.finish, responderSk: h3.r.privateKey, responderParams: { server_prefixes: [] } }), 'CONFIRM_FAILED');

  const h4 = handshake();
  const res = responderFinish({ offer: h4.offer, choice: h4.choice, finish: h4.fin.finish, responderSk: h4.r.privateKey, responderParams: { server_prefixes: ['2001:db8:ff::/48'] } });
  const c = parseConfirm(res.confirm);
  const forged = encodeConfirm({ ...c, params: '{"server_prefixes":["::/0"]}' });
  expectPair(() => initiatorVerifyConfirm({ confirm: forged, confirmKey: h4.fin.confirmKey, pairingId: h4.fin.pairingId, session: c.session }), 'CONFIRM_FAILED');
  // responder key other than the one offered to: the decapsulation gives another PMS
  expectPair(() => responderFinish({ offer: h4.offer, choice: h4.choice, finish: h4.fin.finish, responderSk: keyPair().privateKey, responderParams: { server_prefixes: [] } }), 'CONFIRM_FAILED');
});

test('pairing: a choice outside the offer, or bad parameters, are refused', () => {
  const i = keyPair();
  const r = keyPair();
  const offer = encodeOffer({ initiator: i.publicKey, responder: r.publicKey, suites: [PAIR_SUITES[0]!], nonce: rand(32), ts: 1 });
  const choice = encodeChoice({ session: rand(16), suite: PAIR_SUITES[1]!, initiator: i.publicKey, responder: r.publicKey, nonce: rand(32), ts: 1 });
  expectPair(() => initiatorFinish({ offer, choice, initiatorSk: i.privateKey, params: PARAMS, random: rand }), 'NO_COMMON_SUITE');
  assert.is(chooseSuite([{ kem: 0x10, kdf: 1, aead: 1 }]), null);
  const good = encodeChoice({ session: rand(16), suite: PAIR_SUITES[0]!, initiator: i.publicKey, responder: r.publicKey, nonce: rand(32), ts: 1 });
  const fin = initiatorFinish({ offer, choice: good, initiatorSk: i.privateKey, params: { ...PARAMS, overlap: 86400 }, random: rand });
  expectPair(() => responderFinish({ offer, choice: good, finish: fin.finish, responderSk: r.privateKey, responderParams: { server_prefixes: [] } }), 'BAD_PARAMS');
});

test('analyzer key files: sealed to the analyzer, authenticated to the primary', () => {
  const primary = keyPair();
  const analyzer = keyPair();
  const pms = rand(32);
  const keys = {
    pairing: '0011223344556677',
    role: 'client' as const,
    aead: 1,
    mode: 'encrypted' as const,
    t0: 0,
    period: 3600,
    overlap: 60,
    client_prefixes: ['2001:db8:1::/48'],
    server_prefixes: [],
    created: 5,
    keys: [clientKey(pms, { generation: 0, not_before: 0, not_after: 3660 }, ['2001:db8:1::/48']), serverKey(pms, { generation: 1, not_before: 3600, not_after: 7260 })],
  };
  const file = sealAnalyzerKeys({ keys, primarySk: primary.privateKey, primaryPk: primary.publicKey, analyzerPk: analyzer.publicKey, random: rand });
  const opened = openAnalyzerKeys(file, analyzer.privateKey, primary.publicKey);
  assert.equal(opened.keys, keys);
  assert.equal(keySecret(opened.keys.keys[0]!, '2001:db8:1::/48'), clientPrefixSecret(serverGroupSecret(pms, 0), parsePrefix('2001:db8:1::/48')));
  assert.equal(keySecret(opened.keys.keys[1]!), serverGroupSecret(pms, 1));
  expectSeal(() => openAnalyzerKeys(file, keyPair().privateKey), 'UNAUTHENTICATED');
  assert.throws(() => openAnalyzerKeys(file, analyzer.privateKey, keyPair().publicKey), /another primary/);
});

test.run();
