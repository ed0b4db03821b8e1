/// <reference types="node" />
// The primary over real HTTP on 127.0.0.1: enrollment by fingerprint approval
// and by token, every rejection with its reason code, the HTTP-level limits,
// pairing between two primaries, prefix updates and analyzer key export.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { fromHex, toHex } from '../core/src/util/bytes.js';
import { fingerprint, formatToken, MsgType } from '../core/src/enroll/codec.js';
import { EnrollClientError } from '../core/src/enroll/client.js';
import { openAnalyzerKeys } from '../core/src/enroll/export.js';
import type { EnrollResponse } from '../core/src/enroll/messages.js';
import { generationAt } from '../core/src/enroll/schedule.js';
import { clientPrefixSecret, serverGroupSecret } from '../core/src/keys/schedule.js';
import { parsePrefix } from '../core/src/wire/addr.js';
import { sealRequest } from '../core/src/enroll/seal.js';
import { MIGRATIONS } from '../primary/src/db.js';
import { PG_MIGRATIONS } from '../primary/src/postgres-sql.js';
import { BACKEND, count, newDb, query } from '../primary/test/backend.js';
import { startPrimary, parseDuration, parseListen, type RunningPrimary } from '../primary/src/main.js';
import { generateX25519, nodeRandom } from '../primary/src/fast-suite.js';
import { cli, cliOk, postRaw, SimDevice, tempDir } from '../primary/test/harness.js';

const CLIENT_P = '2001:db8:1::/48';
const CLIENT_P2 = '2001:db8:2::/48';
const SERVER_P = '2001:db8:ff::/48';

interface Ctx {
  dir: string;
  db: string;
  p: RunningPrimary;
  base: string;
  cleanup(): void;
}

async function primary(name: string, opts: Parameters<typeof startPrimary>[0] extends infer O ? Partial<O> : never = {}): Promise<Ctx> {
  const t = tempDir(name);
  const db = await newDb(t.dir);
  const p = await startPrimary({ db, key: join(t.dir, 'primary.key'), host: '127.0.0.1', port: 0, limits: { rate: 0 }, ...opts });
  return { dir: t.dir, db, p, base: `http://127.0.0.1:${p.port}`, cleanup: t.cleanup };
}

const ctxs: Ctx[] = [];
async function fresh(name: string, opts = {}): Promise<Ctx> {
  const c = await primary(name, opts);
  ctxs.push(c);
  await cliOk(['prefix', 'add', '--client', CLIENT_P, CLIENT_P2, '--db', c.db]);
  await cliOk(['prefix', 'add', '--server', SERVER_P, '--db', c.db]);
  return c;
}

test.after(async () => {
  for (const c of ctxs) {
    await c.p.close();
    c.cleanup();
  }
});

function rejected(r: EnrollResponse, reason: string): string {
  assert.is(r.status, 'rejected', JSON.stringify(r));
  if (r.status !== 'rejected') return '';
  assert.is(r.reason, reason, r.message);
  return r.message;
}

async function token(c: Ctx, ...args: string[]): Promise<string> {
  return (await cliOk(['token', 'create', '--db', c.db, ...args])).trim();
}

async function plain(promise: Promise<unknown>, code: string): Promise<void> {
  try {
    await promise;
    assert.unreachable(`expected ${code}`);
  } catch (e) {
    assert.instance(e, EnrollClientError, String(e));
    assert.is((e as EnrollClientError).code, code, (e as Error).message);
  }
}

// ---------------------------------------------------------------------------------------------

test('first start: key 0600, database 0600 in WAL mode with the current schema version; info endpoint', async () => {
  const c = await fresh('first');
  assert.is(statSync(join(c.dir, 'primary.key')).mode & 0o777, 0o600);
  if (BACKEND === 'sqlite') {
    assert.is(statSync(c.db).mode & 0o777, 0o600);
    const db = new Database(c.db, { readonly: true });
    assert.is(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.is(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
    db.close();
  } else {
    assert.is(await c.p.store.db.schemaVersion(), PG_MIGRATIONS.length);
  }
  const info = (await (await fetch(`${c.base}/v1/info`)).json()) as { public_key: string; fingerprint: string };
  assert.is(info.public_key, toHex(c.p.identity.pk));
  assert.is(info.fingerprint, fingerprint(c.p.identity.pk));
  const out = await cliOk(['info', '--db', c.db]);
  assert.ok(out.includes(`primary fingerprint: ${c.p.identity.fingerprint}`));
  assert.match(out, new RegExp(`database: ${BACKEND} `));
});

test('fingerprint approval: pending until the administrator approves, then granted; list shows the device', async () => {
  const c = await fresh('approve');
  const d = new SimDevice(c.base, c.p.identity.pk, 'client', [CLIENT_P]);
  const r1 = await d.enroll();
  assert.is(r1.status, 'pending');
  if (r1.status === 'pending') assert.is(r1.fingerprint, fingerprint(d.pk));
  const list = await cliOk(['list', '--db', c.db, '--json']);
  const devs = JSON.parse(list) as { fingerprint: string; status: string; requested_prefixes: string[] }[];
  assert.equal(devs.map((x) => [x.fingerprint, x.status, x.requested_prefixes]), [[fingerprint(d.pk), 'pending', [CLIENT_P]]]);
  assert.is((await d.enroll()).status, 'pending');
  const approved = await cliOk(['approve', fingerprint(d.pk).toLowerCase(), '--db', c.db]);
  assert.ok(approved.includes(`approved ${fingerprint(d.pk)} as client for ${CLIENT_P}`), approved);
  const r2 = await d.enroll();
  assert.is(r2.status, 'granted');
  if (r2.status !== 'granted') return;
  assert.equal(r2.grant.prefixes, [CLIENT_P]);
  assert.is(r2.grant.role, 'client');
  assert.is(r2.grant.fingerprint, fingerprint(d.pk));
  assert.equal(r2.grant.pairings, []);
  assert.ok(r2.grant.renew_after > r2.grant.issued && r2.grant.expires >= r2.grant.renew_after);
  assert.is((await d.enroll()).status, 'granted'); // renewal
});

test('approval is checked against the primary prefixes; unknown fingerprints are an error', async () => {
  const c = await fresh('approve-check');
  const d = new SimDevice(c.base, c.p.identity.pk, 'client', ['2001:db8:99::/48']);
  assert.is((await d.enroll()).status, 'pending');
  const r = await cli(['approve', fingerprint(d.pk), '--db', c.db]);
  assert.is(r.code, 2);
  assert.match(r.stderr, /not one of this primary's client prefixes/);
  const r2 = await cli(['approve', 'AAAA-AAAA-AAAA-AAAA-AAAA-AAAA', '--db', c.db]);
  assert.is(r2.code, 2);
  assert.match(r2.stderr, /no device with fingerprint/);
  assert.is((await cli(['approve', 'nonsense', '--db', c.db])).code, 2);
});

test('token: immediate grant; used twice (other device) TOKEN_USED; retry by the same device fine; expired; scope', async () => {
  const c = await fresh('token');
  const tok = await token(c, '--role', 'client', '--prefix', CLIENT_P, '--ttl', '10m');
  assert.match(tok, /^pdt-/);
  const a = new SimDevice(c.base, c.p.identity.pk, 'client', [CLIENT_P]);
  const wire = tok.slice(4).replace(/-/g, '');
  const r = await a.enroll({ token: wire });
  assert.is(r.status, 'granted');
  assert.is((await a.enroll({ token: wire })).status, 'granted');
  const b = new SimDevice(c.base, c.p.identity.pk, 'client', [CLIENT_P]);
  assert.match(rejected(await b.enroll({ token: wire }), 'TOKEN_USED'), /was used at/);
  // b was not created or approved by the failed attempt
  assert.is((await c.p.store.deviceByPk(b.pk)), null);

  const listed = await cliOk(['token', 'list', '--db', c.db]);
  assert.ok(listed.includes('used') && listed.includes(fingerprint(a.pk)), listed);

  const expired = await c.p.store.createToken({ role: 'client', prefixes: [CLIENT_P], ttl: 1, now: Math.floor(Date.now() / 1000) - 100 });
  assert.match(rejected(await b.enroll({ token: expired.token }), 'TOKEN_EXPIRED'), /expired/);

  const unknown = 'a'.repeat(24);
  rejected(await b.enroll({ token: unknown }), 'TOKEN_UNKNOWN');

  const serverTok = await token(c, '--role', 'server', '--prefix', SERVER_P);
  rejected(await b.enroll({ token: serverTok.slice(4).replace(/-/g, '') }), 'TOKEN_SCOPE');

  const narrow = await token(c, '--role', 'client', '--prefix', CLIENT_P);
  const m = rejected(await b.enroll({ token: narrow.slice(4).replace(/-/g, ''), prefixes: [CLIENT_P, CLIENT_P2] }), 'PREFIX_NOT_AUTHORISED');
  assert.ok(m.includes(CLIENT_P2), m);
  // the refused attempt did not consume the token
  assert.is((await b.enroll({ token: narrow.slice(4).replace(/-/g, ''), prefixes: [CLIENT_P] })).status, 'granted');

  const bad = await cli(['token', 'create', '--role', 'client', '--prefix', '2001:db8:77::/48', '--db', c.db]);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /not one of this primary's client prefixes/);
  assert.ok(formatToken(wire) === tok);
});

test('approved device: prefix outside its authorisation and the wrong role are refused, nothing granted', async () => {
  const c = await fresh('scope');
  const d = new SimDevice(c.base, c.p.identity.pk, 'client', [CLIENT_P]);
  await d.enroll();
  await cliOk(['approve', fingerprint(d.pk), '--db', c.db]);
  const m = rejected(await d.enroll({ prefixes: [CLIENT_P, CLIENT_P2] }), 'PREFIX_NOT_AUTHORISED');
  assert.ok(m.includes(CLIENT_P2) && m.includes(`authorised: ${CLIENT_P}`), m);
  const s = new SimDevice(c.base, c.p.identity.pk, 'server', []);
  Object.assign(s, { sk: d.sk, pk: d.pk });
  rejected(await s.enroll(), 'ROLE_MISMATCH');
  assert.is(await count(c.db, 'SELECT count(*) AS n FROM issued'), 0);
});

test('revoked device is told so, and stays revoked (a token does not bring it back)', async () => {
  const c = await fresh('revoke');
  const tok = await token(c, '--role', 'client', '--prefix', CLIENT_P);
  const d = new SimDevice(c.base, c.p.identity.pk, 'client', [CLIENT_P]);
  assert.is((await d.enroll({ token: tok.slice(4).replace(/-/g, '') })).status, 'granted');
  await cliOk(['revoke', fingerprint(d.pk), '--db', c.db]);
  assert.is((await d.enroll()).status, 'revoked');
  const tok2 = await token(c, '--role', 'client', '--prefix', CLIENT_P);
  assert.is((await d.enroll({ token: tok2.slice(4).replace(/-/g, '') })).status, 'revoked');
  await cliOk(['approve', fingerprint(d.pk), '--reinstate', '--db', c.db]); // an explicit reinstatement does
  assert.is((await d.enroll()).status, 'granted');
});

test('replayed request: REPLAY; stale timestamp: STALE_REQUEST with the primary time', async () => {
  const c = await fresh('replay');
  const d = new SimDevice(c.base, c.p.identity.pk, 'client', [CLIENT_P]);
  const sent = d.build();
  assert.is((await d.send(sent)).status, 'pending');
  rejected(await d.send(sent), 'REPLAY');
  const now = Math.floor(Date.now() / 1000);
  const m = rejected(await d.enroll({ now: now - 1000 }), 'STALE_REQUEST');
  assert.match(m, /primary time \d+/);
});

test('wrong primary key / tampering / foreign device key: plain 401, identical for existing and unknown devices', async () => {
  const c = await fresh('unauth');
  const known = new SimDevice(c.base, c.p.identity.pk, 'client', [CLIENT_P]);
  await known.enroll();
  const before = (await c.p.store.listDevices()).length;
  const wrong = new SimDevice(c.base, generateX25519().publicKey, 'client', [CLIENT_P]);
  const r = await postRaw(`${c.base}/v1/enroll`, wrong.build().envelope);
  assert.is(r.status, 401);
  assert.is(Buffer.from(r.body).toString(), 'UNAUTHENTICATED\n');
  await plain(wrong.enroll(), 'UNAUTHENTICATED');

  const forge = (claimedPk: Uint8Array) => {
    const attacker = generateX25519();
    const env = sealRequest({
      type: MsgType.EnrollRequest,
      suite: { kem: 0x20, kdf: 1, aead: 3 },
      senderSk: attacker.privateKey,
      senderPk: claimedPk,
      recipientPk: c.p.identity.pk,
      plaintext: new TextEncoder().encode('{}'),
      random: nodeRandom,
    });
    return postRaw(`${c.base}/v1/enroll`, env);
  };
  const a1 = await forge(known.pk);
  const a2 = await forge(generateX25519().publicKey);
  assert.equal([a1.status, Buffer.from(a1.body).toString()], [a2.status, Buffer.from(a2.body).toString()]);
  assert.is(a1.status, 401);

  const t = known.build().envelope.slice();
  t[100]! ^= 4;
  assert.is((await postRaw(`${c.base}/v1/enroll`, t)).status, 401);
  assert.is((await c.p.store.listDevices()).length, before);
});

test('HTTP limits: size, method, path, malformed envelope, per-source rate limit with Retry-After', async () => {
  const c = await fresh('limits');
  assert.is((await postRaw(`${c.base}/v1/enroll`, new Uint8Array(20000))).status, 413);
  assert.is((await fetch(`${c.base}/v1/enroll`)).status, 405);
  assert.is((await postRaw(`${c.base}/nope`, new Uint8Array(1))).status, 404);
  const bad = await postRaw(`${c.base}/v1/enroll`, Uint8Array.of(1, 1, 2, 3));
  assert.equal([bad.status, Buffer.from(bad.body).toString()], [400, 'MALFORMED\n']);
  const v9 = new SimDevice(c.base, c.p.identity.pk).build().envelope.slice();
  v9[0] = 9;
  assert.is(Buffer.from((await postRaw(`${c.base}/v1/enroll`, v9)).body).toString(), 'UNSUPPORTED_VERSION\n');

  const limited = await fresh('rate', { limits: { rate: 1, burst: 3 } });
  const d = new SimDevice(limited.base, limited.p.identity.pk, 'client', [CLIENT_P]);
  const codes: number[] = [];
  for (let i = 0; i < 5; i++) codes.push((await postRaw(`${limited.base}/v1/enroll`, d.build().envelope)).status);
  assert.equal(codes, [200, 200, 200, 429, 429]);
  const r = await postRaw(`${limited.base}/v1/enroll`, d.build().envelope);
  assert.ok(Number(r.headers.get('retry-after')) >= 1);
  await plain(d.enroll(), 'RATE_LIMITED');
});

test('pending limit: devices beyond max-pending are refused with PENDING_LIMIT', async () => {
  const c = await fresh('pending-limit', { config: { maxPending: 1 } });
  assert.is((await new SimDevice(c.base, c.p.identity.pk, 'client', [CLIENT_P]).enroll()).status, 'pending');
  rejected(await new SimDevice(c.base, c.p.identity.pk, 'client', [CLIENT_P]).enroll(), 'PENDING_LIMIT');
});

// ---------------------------------------------------------------------------------------------

async function pairUp(): Promise<{ pc: Ctx; ps: Ctx; id: string }> {
  const pc = await fresh('pc');
  const ps = await fresh('ps');
  const refused = await cli(['pair', 'init', ps.base, '--peer-key', toHex(ps.p.identity.pk), '--db', pc.db, '--period', '1h', '--overlap', '10m']);
  assert.is(refused.code, 2);
  assert.match(refused.stderr, /PAIRING_REFUSED/);
  await cliOk(['pair', 'accept', '--peer-key', toHex(pc.p.identity.pk), '--db', ps.db, '--ttl', '5m']);
  const out = await cliOk(['pair', 'init', ps.base, '--peer-key', toHex(ps.p.identity.pk), '--db', pc.db, '--period', '1h', '--overlap', '10m', '--data-aead', '2']);
  const id = /paired: ([0-9a-f]{16})/.exec(out)![1]!;
  return { pc, ps, id };
}

test('pairing: both primaries hold the same PMS and parameters; devices get CS(P) and SGS that agree', async () => {
  const { pc, ps, id } = await pairUp();
  const a = (await pc.p.store.pairing(id))!;
  const b = (await ps.p.store.pairing(id))!;
  assert.equal(a.pms, b.pms);
  assert.equal([a.role, b.role], ['client', 'server']);
  assert.equal(a.clientPrefixes, [CLIENT_P, CLIENT_P2]);
  assert.equal(b.clientPrefixes, [CLIENT_P, CLIENT_P2]);
  assert.equal(a.serverPrefixes, [SERVER_P]);
  assert.equal([a.t0, a.period, a.overlap, a.dataAead], [b.t0, b.period, b.overlap, b.dataAead]);
  assert.equal([a.period, a.overlap, a.dataAead], [3600, 600, 2]);
  assert.equal(a.peerPk, ps.p.identity.pk);
  assert.equal(b.peerPk, pc.p.identity.pk);
  const listed = await cliOk(['pair', 'list', '--db', ps.db]);
  assert.ok(listed.includes(id) && listed.includes('server'), listed);

  const again = await cli(['pair', 'init', ps.base, '--peer-key', toHex(ps.p.identity.pk), '--db', pc.db]);
  assert.match(again.stderr, /active pairing/);

  // router (client role) on the Primary Client, by token
  const tok = await token(pc, '--role', 'client', '--prefix', CLIENT_P);
  const router = new SimDevice(pc.base, pc.p.identity.pk, 'client', [CLIENT_P]);
  const rg = await router.enroll({ token: tok.slice(4).replace(/-/g, '') });
  assert.is(rg.status, 'granted');
  // server (server role) on the Primary Server, by approval
  const server = new SimDevice(ps.base, ps.p.identity.pk, 'server', []);
  assert.is((await server.enroll()).status, 'pending');
  await cliOk(['approve', fingerprint(server.pk), '--db', ps.db]);
  const sg = await server.enroll();
  assert.is(sg.status, 'granted');
  if (rg.status !== 'granted' || sg.status !== 'granted') return;
  const rp = rg.grant.pairings[0]!;
  const sp = sg.grant.pairings[0]!;
  assert.equal([rp.id, sp.id, rp.aead, sp.aead], [id, id, 2, 2]);
  assert.equal(rp.peer_prefixes, [SERVER_P]);
  assert.equal(sp.peer_prefixes, [CLIENT_P, CLIENT_P2]);
  const g = generationAt(a, Math.floor(Date.now() / 1000));
  const rk = rp.keys.find((k) => k.generation === g)!;
  const sk = sp.keys.find((k) => k.generation === g)!;
  const sgs = serverGroupSecret(a.pms, g);
  assert.is(sk.sgs, toHex(sgs));
  // what the server derives from SGS for the router's prefix is what the router holds
  assert.is(rk.secrets![0]!.secret, toHex(clientPrefixSecret(fromHex(sk.sgs!), parsePrefix(CLIENT_P))));
  assert.equal(rk.secrets!.map((s) => s.prefix), [CLIENT_P]);

  // issued secrets are recorded, one row per (device, pairing, generation, prefix)
  const rows = await query(pc.db, 'SELECT generation, prefix FROM issued');
  assert.ok(rows.some((r) => Number(r.generation) === g && r.prefix === CLIENT_P));

  // the same generation twice gives the same secret
  const again2 = await router.enroll();
  assert.is(again2.status, 'granted');
  if (again2.status === 'granted') assert.equal(again2.grant.pairings[0]!.keys.find((k) => k.generation === g), rk);
});

test('pairing update: new client prefixes reach the Primary Server; analyzer key export', async () => {
  const { pc, ps, id } = await pairUp();
  await cliOk(['prefix', 'add', '--client', '2001:db8:3::/48', '--db', pc.db]);
  const out = await cliOk(['pair', 'update', id, '--db', pc.db]);
  assert.match(out, /peer has 2001:db8:ff::\/48/);
  assert.equal((await ps.p.store.pairing(id))!.clientPrefixes, [CLIENT_P, CLIENT_P2, '2001:db8:3::/48']);
  // and the other way, with the URL given once
  await cliOk(['prefix', 'add', '--server', '2001:db8:fe::/48', '--db', ps.db]);
  await cliOk(['pair', 'update', id, '--url', pc.base, '--db', ps.db]);
  assert.equal((await pc.p.store.pairing(id))!.serverPrefixes, ['2001:db8:fe::/48', SERVER_P]);

  const keyFile = join(pc.dir, 'analyzer.key');
  const apk = /analyzer public key: ([0-9a-f]{64})/.exec(await cliOk(['analyzer-keygen', '--out', keyFile]))![1]!;
  assert.is(statSync(keyFile).mode & 0o777, 0o600);
  const outFile = join(pc.dir, 'keys.pdmk');
  await cliOk(['export-keys', '--pairing', id, '--analyzer-key', apk, '--prefix', CLIENT_P, '--out', outFile, '--db', pc.db]);
  const ask = fromHex(readFileSync(keyFile, 'ascii').trim());
  const opened = openAnalyzerKeys(new Uint8Array(readFileSync(outFile)), ask, pc.p.identity.pk);
  const pms = (await pc.p.store.pairing(id))!.pms;
  for (const k of opened.keys.keys) {
    assert.is(k.secrets![0]!.secret, toHex(clientPrefixSecret(serverGroupSecret(pms, k.generation), parsePrefix(CLIENT_P))));
  }
  assert.is(opened.keys.pairing, id);
  const allFile = join(pc.dir, 'all.pdmk');
  await cliOk(['export-keys', '--pairing', id, '--analyzer-key', apk, '--all', '--from-gen', '0', '--to-gen', '2', '--out', allFile, '--db', ps.db]);
  const all = openAnalyzerKeys(new Uint8Array(readFileSync(allFile)), ask, ps.p.identity.pk);
  assert.equal(all.keys.keys.map((k) => [k.generation, k.sgs]), [0, 1, 2].map((g) => [g, toHex(serverGroupSecret(pms, g))]));
  const bad = await cli(['export-keys', '--pairing', id, '--analyzer-key', apk, '--prefix', '2001:db8:77::/48', '--out', join(pc.dir, 'never.pdmk'), '--db', pc.db]);
  assert.match(bad.stderr, /not a client prefix of pairing/);

  // revoking the pairing wipes the PMS and devices stop getting its keys
  await cliOk(['pair', 'revoke', id, '--yes', '--db', pc.db]);
  assert.ok((await pc.p.store.pairing(id))!.pms.every((b) => b === 0));
  const tok = await token(pc, '--role', 'client', '--prefix', CLIENT_P);
  const r = await new SimDevice(pc.base, pc.p.identity.pk, 'client', [CLIENT_P]).enroll({ token: tok.slice(4).replace(/-/g, '') });
  assert.ok(r.status === 'granted' && r.grant.pairings.length === 0);
});

test('CLI helpers: durations and listen addresses', () => {
  assert.equal([parseDuration('90', 'x'), parseDuration('15m', 'x'), parseDuration('2h', 'x'), parseDuration('1d', 'x')], [90, 900, 7200, 86400]);
  assert.throws(() => parseDuration('1w', 'x'));
  assert.equal(parseListen('127.0.0.1:8600'), { host: '127.0.0.1', port: 8600 });
  assert.equal(parseListen('[::1]:0'), { host: '::1', port: 0 });
  assert.equal(parseListen('8600'), { host: '127.0.0.1', port: 8600 });
  assert.throws(() => parseListen('[::1]'));
});

test.run();
