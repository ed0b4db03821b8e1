/// <reference types="node" />
// Issue 19 item 5: the database does not block the whole service. Another
// process holding the write lock delays only the requests that need it, and
// those get 503 with Retry-After after a short wait; a full disk answers 503
// with Retry-After and the service recovers by itself once there is room;
// retention deletes what no longer serves a purpose from every table, and a
// renewing device never notices.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { fingerprint } from '../core/src/enroll/codec.js';
import { startPrimary, type RunningPrimary } from '../primary/src/main.js';
import { cliOk, postRaw, SimDevice, tempDir, testPairing } from '../primary/test/harness.js';
import { BACKEND, count, newDb, query } from '../primary/test/backend.js';
import pg from 'pg';

const CLIENT_P = '2001:db8:1::/48';
const cleanups: (() => Promise<void> | void)[] = [];
test.after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function primary(dir: string, extra: Record<string, unknown> = {}, backend = BACKEND): Promise<{ p: RunningPrimary; db: string; base: string }> {
  const db = backend === 'sqlite' ? join(dir, 'p.db') : await newDb(dir);
  const p = await startPrimary({ db, key: join(dir, 'primary.key'), host: '127.0.0.1', port: 0, limits: { rate: 0 }, ...extra } as never);
  cleanups.push(() => p.close());
  return { p, db, base: `http://127.0.0.1:${p.port}` };
}

test('another process holding the write lock: /v1/info answers at once, enrollment 503 with Retry-After after the lock wait, then works again', async () => {
  const t = tempDir('db-lock');
  cleanups.push(t.cleanup);
  const { p, db, base } = await primary(t.dir, { lockWaitMs: 500 });
  await cliOk(['prefix', 'add', '--client', CLIENT_P, '--db', db]);
  const d = new SimDevice(base, p.identity.pk, 'client', [CLIENT_P]);
  assert.is((await d.enroll()).status, 'pending');

  // SQLite: another process's write lock; PostgreSQL: another session's lock on the device's row
  const other = await holdLock(db, d.pk);
  const t0 = Date.now();
  const enrolling = postRaw(`${base}/v1/enroll`, d.build().envelope).then((r) => ({ ...r, ms: Date.now() - t0 }));
  // by now the enrollment waits for the lock
  await new Promise((r) => setTimeout(r, 200));
  const i0 = Date.now();
  const info = await fetch(`${base}/v1/info`);
  const infoMs = Date.now() - i0;
  assert.is(info.status, 200);
  assert.ok(infoMs < 400, `GET /v1/info took ${infoMs} ms while another process held the write lock`);
  const r = await enrolling;
  assert.is(r.status, 503, Buffer.from(r.body).toString());
  assert.is(Buffer.from(r.body).toString(), 'UNAVAILABLE\n');
  assert.ok(Number(r.headers.get('retry-after')) >= 1, 'Retry-After given');
  assert.ok(r.ms >= 400 && r.ms < 3000, `answered after ${r.ms} ms (lock wait 500 ms)`);
  await other.release();
  assert.is((await d.enroll()).status, 'pending');
});

async function holdLock(db: string, pk: Uint8Array): Promise<{ release(): Promise<void> }> {
  if (BACKEND === 'sqlite') {
    const other = new Database(db);
    other.exec('BEGIN IMMEDIATE');
    return {
      release: async () => {
        other.exec('ROLLBACK');
        other.close();
      },
    };
  }
  const c = new pg.Client({ connectionString: db });
  await c.connect();
  await c.query('BEGIN');
  await c.query('SELECT id FROM devices WHERE pk = $1 FOR UPDATE', [Buffer.from(pk)]);
  return {
    release: async () => {
      await c.query('ROLLBACK');
      await c.end();
    },
  };
}

/** A real small file system when this process may mount one (root), else none. */
function smallDisk(dir: string, size: string): (() => void) | null {
  if (process.getuid?.() !== 0) return null;
  try {
    mkdirSync(dir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'ignore' });
    return () => execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
  } catch {
    return null;
  }
}

test('disk full: 503 with Retry-After (not 500), nothing half-written, recovers without a restart when space is back', async () => {
  const t = tempDir('db-full');
  cleanups.push(t.cleanup);
  const mnt = join(t.dir, 'disk');
  const unmount = smallDisk(mnt, '1m');
  // Without a mount (not root), the database's own size limit gives the same SQLITE_FULL.
  const dir = unmount ? mnt : t.dir;
  // SQLite's own file: a PostgreSQL server's disk is the server's (its 53100 disk_full maps to the same 503)
  const { p, db, base } = await primary(dir, unmount ? {} : { maxPages: 40 }, 'sqlite');
  if (unmount) cleanups.push(async () => {
    await p.close();
    unmount();
  });
  console.log(`  disk full by ${unmount ? 'a 1 MiB tmpfs' : 'max_page_count (no mount permitted)'}`);
  await cliOk(['prefix', 'add', '--client', CLIENT_P, '--db', db]);
  const filler = join(dir, 'filler');
  if (unmount) {
    // leave about 64 KiB free
    const free = Number(execFileSync('df', ['--output=avail', '-B1', dir]).toString().split('\n')[1]);
    writeFileSync(filler, Buffer.alloc(Math.max(0, free - 64 * 1024)));
  }
  const answers: number[] = [];
  let retryAfter = '';
  for (let i = 0; i < 400 && !answers.includes(503); i++) {
    const d = new SimDevice(base, p.identity.pk, 'client', [CLIENT_P]);
    const r = await postRaw(`${base}/v1/enroll`, d.build().envelope);
    answers.push(r.status);
    if (r.status === 503) retryAfter = r.headers.get('retry-after') ?? '';
  }
  assert.ok(answers.includes(503), `the disk filled up: ${answers.length} requests, statuses ${[...new Set(answers)].join(',')}`);
  assert.not.ok(answers.includes(500), 'never 500');
  assert.ok(Number(retryAfter) >= 1, `Retry-After ${retryAfter}`);
  assert.is((await fetch(`${base}/v1/info`)).status, 200, 'the service is still up');
  const pendingBefore = (await p.store.listDevices('pending')).length;
  if (unmount) {
    rmSync(filler);
    const d = new SimDevice(base, p.identity.pk, 'client', [CLIENT_P]);
    assert.is((await d.enroll()).status, 'pending', 'enrolls again once there is room, without a restart');
    assert.is((await p.store.listDevices('pending')).length, pendingBefore + 1);
  }
  const ro = new Database(db, { readonly: true });
  assert.is(ro.pragma('integrity_check', { simple: true }), 'ok');
  ro.close();
});

test('retention: issued records of old generations and inactive pairings, revoked devices, expired tokens, old audit entries go; renewals never notice', async () => {
  const t = tempDir('db-retention');
  cleanups.push(t.cleanup);
  let clock = Math.floor(Date.now() / 1000);
  const { p, db, base } = await primary(t.dir, {
    now: () => clock,
    config: { window: 100 * 86400 },
    retention: { revokedKeep: 10 * 86400, auditKeep: 30 * 86400, tokenKeep: 5 * 86400 },
  });
  await p.store.addPrefix(CLIENT_P, 'client', clock);
  const pairing = (id: string, t0: number) => testPairing({ id, t0, period: 86400, overlap: 3600, clientPrefixes: [CLIENT_P] });
  await p.store.insertPairing(pairing('a0a0a0a0a0a0a0a0', clock - 86400), clock);
  await p.store.insertPairing(pairing('b0b0b0b0b0b0b0b0', clock - 86400), clock);
  const tok = await p.store.createToken({ role: 'client', prefixes: [CLIENT_P], ttl: 3600, now: clock });
  const keeper = new SimDevice(base, p.identity.pk, 'client', [CLIENT_P]);
  const gone = new SimDevice(base, p.identity.pk, 'client', [CLIENT_P]);
  const goneTok = await p.store.createToken({ role: 'client', prefixes: [CLIENT_P], ttl: 3600, now: clock });
  await p.store.createToken({ role: 'client', prefixes: [CLIENT_P], ttl: 60, now: clock }); // never used
  const rows = (table: string) => count(db, `SELECT count(*) AS n FROM ${table}`);
  // 40 days of daily renewals (the agent sends its token every time)
  for (let day = 0; day < 40; day++) {
    assert.is((await keeper.enroll({ token: tok.token, now: clock })).status, 'granted', `day ${day}`);
    if (day === 0) {
      assert.is((await gone.enroll({ token: goneTok.token, now: clock })).status, 'granted');
      await p.store.revoke(fingerprint(gone.pk), clock);
    }
    if (day === 20) await cliOk(['pair', 'revoke', 'b0b0b0b0b0b0b0b0', '--yes', '--db', db]);
    clock += 86400;
  }
  const before = { issued: await rows('issued'), audit: await rows('audit'), tokens: await rows('tokens'), devices: await rows('devices') };
  const n = await p.retain();
  const after = { issued: await rows('issued'), audit: await rows('audit'), tokens: await rows('tokens'), devices: await rows('devices') };
  // issued: only the last generations of the active pairing remain (current and the one before, maybe the next)
  assert.ok(before.issued >= 40, `issued before: ${before.issued}`);
  assert.ok(after.issued <= 3, `issued after: ${after.issued}`);
  assert.is(n.revoked, 1);
  assert.is(after.devices, 1);
  assert.is(after.tokens, 1, 'the renewing device keeps its spent token; the revoked one\'s and the never-used one are gone');
  assert.ok(after.audit < before.audit, `audit ${before.audit} -> ${after.audit}`);
  const oldest = Number((await query(db, 'SELECT min(ts) AS t FROM audit'))[0]!.t);
  assert.ok(oldest >= clock - 30 * 86400, 'no audit entry older than 30 days');
  // the renewing device does not notice, and is still guarded by the issued record
  assert.is((await keeper.enroll({ token: tok.token, now: clock })).status, 'granted');
  assert.is((await gone.enroll({ now: clock })).status, 'pending', 'a forgotten revoked device is a stranger now');
});

test.run();
