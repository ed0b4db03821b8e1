/// <reference types="node" />
// Issue 19 item 4: the primary never sends what docs/PROTOCOL.md (and the
// agent's parser) refuses, and it finds out before it commits anything: a
// grant that would break a limit spends no token, approves no device, records
// no issued secret. The administrator is stopped earlier where the limit is
// one of configuration (pairings per role, prefixes per device and per kind).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { count, newDb, query } from '../primary/test/backend.js';
import { MAX_GRANT_PAIRINGS, MAX_PEER_PREFIXES, MAX_REQUEST_PREFIXES } from '../core/src/enroll/messages.js';
import { startPrimary, type RunningPrimary } from '../primary/src/main.js';
import { AdminError, type Pairing } from '../primary/src/store.js';
import { cli, SimDevice, tempDir, testPairing } from '../primary/test/harness.js';

const now = () => Math.floor(Date.now() / 1000);
const hex16 = (i: number) => i.toString(16).padStart(16, '0');
const prefixN = (i: number) => `2001:db8:${(0x100 + i).toString(16)}::/48`;

interface Ctx {
  p: RunningPrimary;
  db: string;
  base: string;
}
const opened: { p: RunningPrimary; cleanup(): void }[] = [];
test.after(async () => {
  for (const o of opened) {
    await o.p.close();
    o.cleanup();
  }
});

async function primary(name: string): Promise<Ctx> {
  const t = tempDir(name);
  const db = await newDb(t.dir);
  const p = await startPrimary({ db, key: join(t.dir, 'primary.key'), host: '127.0.0.1', port: 0, limits: { rate: 0 } });
  opened.push({ p, cleanup: t.cleanup });
  return { p, db, base: `http://127.0.0.1:${p.port}` };
}

function pairing(i: number, clientPrefixes: string[], t: number): Omit<Pairing, 'status' | 'created' | 'updated'> {
  // now lies inside the overlap: every pairing gives two generations
  return testPairing({ id: hex16(i + 1), t0: t - 3600 + 60, period: 3600, overlap: 1800, clientPrefixes });
}

async function tokenState(db: string, id: number): Promise<{ used_by: unknown }> {
  return (await query(db, 'SELECT used_by FROM tokens WHERE id = ?', [id]))[0] as { used_by: unknown };
}

test(`a ${MAX_GRANT_PAIRINGS + 1}th active pairing of a role is refused (a grant carries at most ${MAX_GRANT_PAIRINGS})`, async () => {
  const c = await primary('lim-pairings');
  const t = now();
  await c.p.store.addPrefix(prefixN(0), 'client', t);
  for (let i = 0; i < MAX_GRANT_PAIRINGS; i++) await c.p.store.insertPairing(pairing(i, [prefixN(0)], t), t);
  try {
    await c.p.store.insertPairing(pairing(MAX_GRANT_PAIRINGS, [prefixN(0)], t), t);
    assert.unreachable('the 17th pairing was stored');
  } catch (e) {
    assert.instance(e, AdminError, String(e));
    assert.match((e as Error).message, /16 active client pairings/);
  }
  assert.is(await count(c.db, `SELECT count(*) AS n FROM pairings WHERE status = 'active'`), MAX_GRANT_PAIRINGS);
});

test('a grant over a protocol limit is refused (INTERNAL) before anything is committed: token unspent, no device, nothing issued', async () => {
  const c = await primary('lim-grant');
  const t = now();
  // 17 pairings reached the database behind the administrator's back (an older
  // version, a hand edit): the grant check is the last line of defence.
  await c.p.store.addPrefix(prefixN(0), 'client', t);
  for (let i = 0; i < MAX_GRANT_PAIRINGS; i++) await c.p.store.insertPairing(pairing(i, [prefixN(0)], t), t);
  const p = pairing(99, [prefixN(0)], t);
  await query(
    c.db,
    `INSERT INTO pairings (id, role, peer_pk, peer_url, pms, suite, data_aead, mode, t0, period, overlap, client_prefixes, server_prefixes, status, created, updated)
     VALUES (?, 'client', ?, NULL, ?, ?, 1, 'encrypted', ?, ?, ?, ?, ?, 'active', ?, ?) RETURNING id`,
    [p.id, p.peerPk, p.pms, p.suite, p.t0, p.period, p.overlap, JSON.stringify(p.clientPrefixes), JSON.stringify(p.serverPrefixes), t, t],
  );
  const tok = await c.p.store.createToken({ role: 'client', prefixes: [prefixN(0)], ttl: 600, now: t });
  const d = new SimDevice(c.base, c.p.identity.pk, 'client', [prefixN(0)]);
  const r = await d.enroll({ token: tok.token });
  assert.is(r.status, 'rejected', JSON.stringify(r).slice(0, 300));
  if (r.status === 'rejected') {
    assert.is(r.reason, 'INTERNAL');
    assert.match(r.message, /pairings/);
  }
  assert.is((await tokenState(c.db, tok.id)).used_by, null, 'the token is still unspent');
  assert.is(await count(c.db, 'SELECT count(*) AS n FROM devices'), 0);
  assert.is(await count(c.db, 'SELECT count(*) AS n FROM issued'), 0);
});

test('a grant larger than a response envelope may be (65 536 octets) is refused before commit, token unspent', async () => {
  const c = await primary('lim-size');
  const t = now();
  const prefixes = Array.from({ length: MAX_REQUEST_PREFIXES }, (_, i) => prefixN(i));
  for (const x of prefixes) await c.p.store.addPrefix(x, 'client', t);
  // 16 pairings x 2 generations x 32 prefixes: each list within its own limit, the whole about 100 kB
  for (let i = 0; i < MAX_GRANT_PAIRINGS; i++) await c.p.store.insertPairing(pairing(i, prefixes, t), t);
  const tok = await c.p.store.createToken({ role: 'client', prefixes, ttl: 600, now: t });
  const d = new SimDevice(c.base, c.p.identity.pk, 'client', prefixes);
  const r = await d.enroll({ token: tok.token });
  assert.is(r.status, 'rejected');
  if (r.status === 'rejected') {
    assert.is(r.reason, 'INTERNAL');
    assert.match(r.message, /octets/);
  }
  assert.is((await tokenState(c.db, tok.id)).used_by, null, 'the token is still unspent');
  assert.is(await count(c.db, 'SELECT count(*) AS n FROM issued'), 0);
  // fewer prefixes fit: the same token then works
  const few = new SimDevice(c.base, c.p.identity.pk, 'client', prefixes.slice(0, 8));
  assert.is((await few.enroll({ token: tok.token })).status, 'granted');
});

test(`more than ${MAX_REQUEST_PREFIXES} prefixes for one device (token, approval) and more than ${MAX_PEER_PREFIXES} of a kind are refused`, async () => {
  const c = await primary('lim-prefixes');
  const t = now();
  const many = Array.from({ length: MAX_REQUEST_PREFIXES + 1 }, (_, i) => prefixN(i));
  for (const x of many) await c.p.store.addPrefix(x, 'client', t);
  try {
    await c.p.store.createToken({ role: 'client', prefixes: many, ttl: 600, now: t });
    assert.unreachable('token with 33 prefixes');
  } catch (e) {
    assert.instance(e, AdminError);
    assert.match((e as Error).message, /at most 32 prefixes/);
  }
  const d = new SimDevice(c.base, c.p.identity.pk, 'client', many.slice(0, 1));
  assert.is((await d.enroll()).status, 'pending');
  const { fingerprint } = await import('../core/src/enroll/codec.js');
  const r = await cli(['approve', fingerprint(d.pk), '--db', c.db, ...many.flatMap((x) => ['--prefix', x])]);
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /at most 32 prefixes/);
  for (let i = many.length; i < MAX_PEER_PREFIXES; i++) await c.p.store.addPrefix(prefixN(i), 'client', t);
  try {
    await c.p.store.addPrefix(prefixN(MAX_PEER_PREFIXES), 'client', t);
    assert.unreachable('257th client prefix');
  } catch (e) {
    assert.instance(e, AdminError);
    assert.match((e as Error).message, /at most 256 client prefixes/);
  }
  assert.is((await c.p.store.prefixes('client')).length, MAX_PEER_PREFIXES);
});

test.run();
