/// <reference types="node" />
// Issue 19 item 3: administrative commands that cannot destroy the service.
// Outputs are created new (never over the key or the database), nothing but
// init creates a primary, destructive commands want --yes, a revoked device
// comes back only with --reinstate, and backup/restore of key and database
// round-trip while the service keeps answering.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { toHex } from '../core/src/util/bytes.js';
import { fingerprint } from '../core/src/enroll/codec.js';
import { startPrimary } from '../primary/src/main.js';
import { nodeRandom } from '../primary/src/fast-suite.js';
import { cli, cliOk, SimDevice, tempDir } from '../primary/test/harness.js';
import { BACKEND, newDb, query } from '../primary/test/backend.js';

const CLIENT_P = '2001:db8:1::/48';
const now = () => Math.floor(Date.now() / 1000);

const cleanups: (() => Promise<void> | void)[] = [];
test.after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function dir(name: string): string {
  const t = tempDir(name);
  cleanups.push(t.cleanup);
  return t.dir;
}

async function initialised(name: string): Promise<{ dir: string; db: string; key: string }> {
  const d = dir(name);
  const db = await newDb(d);
  await cliOk(['init', '--db', db]);
  await cliOk(['prefix', 'add', '--client', CLIENT_P, '--db', db]);
  return { dir: d, db, key: join(d, 'primary.key') };
}

test('no command but init creates a key or a database: info, list, serve refuse and leave nothing behind', async () => {
  const d = dir('adm-noinit');
  const db = await newDb(d);
  for (const args of [['info'], ['list'], ['token', 'create', '--role', 'client', '--prefix', CLIENT_P], ['prefix', 'list'], ['serve', '--listen', '127.0.0.1:0']]) {
    const r = await cli([...args, '--db', db]);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}${r.stdout}`);
    assert.match(r.stderr, /run pdmv2-primary init --db/, args.join(' '));
    assert.equal(readdirSync(d), [], `${args.join(' ')} created ${readdirSync(d).join(', ')}`);
  }
  // the default database in the current directory is not created either
  const cwd = dir('adm-cwd');
  const r = await new Promise<number>((resolve) => {
    import('node:child_process').then(({ execFile }) =>
      execFile(process.execPath, [join(process.cwd(), '.build/node/primary/src/main.js'), 'info'], { cwd, env: { ...process.env, PDMV2_PRIMARY_DB: '' } }, (err) =>
        resolve(err ? Number((err as { code?: number }).code ?? 1) : 0),
      ),
    );
  });
  assert.is(r, 2);
  assert.equal(readdirSync(cwd), []);
  const init = await cliOk(['init', '--db', db]);
  assert.match(init, /created primary key/);
  if (BACKEND === 'sqlite') assert.is(statSync(db).mode & 0o777, 0o600);
  assert.is(statSync(join(d, 'primary.key')).mode & 0o777, 0o600);
  assert.match(await cliOk(['info', '--db', db]), /devices: 0 approved/);
});

test('export-keys --out never overwrites: not the primary key, not the database, not any file', async () => {
  const c = await initialised('adm-export');
  const pk = toHex(nodeRandom(32));
  const ps = await startPrimary({ db: join(c.dir, 'ps.db'), key: join(c.dir, 'ps.key'), host: '127.0.0.1', port: 0 });
  cleanups.push(() => ps.close());
  await cliOk(['pair', 'accept', '--peer-key', toHex((await import('../primary/src/keyfile.js')).readKeyFile(c.key).pk), '--db', join(c.dir, 'ps.db'), '--key', join(c.dir, 'ps.key')]);
  const paired = await cliOk(['pair', 'init', `http://127.0.0.1:${ps.port}`, '--peer-key', toHex(ps.identity.pk), '--db', c.db]);
  const id = /paired: ([0-9a-f]{16})/.exec(paired)![1]!;
  const keyBefore = readFileSync(c.key);
  const dbBefore = BACKEND === 'sqlite' ? readFileSync(c.db) : null;
  const other = join(c.dir, 'notes.txt');
  writeFileSync(other, 'keep me\n');
  for (const target of BACKEND === 'sqlite' ? [c.key, c.db, other] : [c.key, other]) {
    const r = await cli(['export-keys', '--pairing', id, '--analyzer-key', pk, '--all', '--out', target, '--db', c.db]);
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /exists; not overwriting/);
  }
  assert.equal(readFileSync(c.key), keyBefore);
  if (dbBefore) assert.equal(readFileSync(c.db).subarray(0, 100), dbBefore.subarray(0, 100));
  assert.is(readFileSync(other, 'utf8'), 'keep me\n');
  assert.match(await cliOk(['info', '--db', c.db]), /pairings: 1 active/);
  const fresh = join(c.dir, 'keys.pdmk');
  await cliOk(['export-keys', '--pairing', id, '--analyzer-key', pk, '--all', '--out', fresh, '--db', c.db]);
  assert.is(statSync(fresh).mode & 0o777, 0o600);
});

test('pair revoke wipes the PMS only with --yes', async () => {
  const c = await initialised('adm-pair');
  const ps = await startPrimary({ db: join(c.dir, 'ps.db'), key: join(c.dir, 'ps.key'), host: '127.0.0.1', port: 0 });
  cleanups.push(() => ps.close());
  const { readKeyFile } = await import('../primary/src/keyfile.js');
  await cliOk(['pair', 'accept', '--peer-key', toHex(readKeyFile(c.key).pk), '--db', join(c.dir, 'ps.db'), '--key', join(c.dir, 'ps.key')]);
  const id = /paired: ([0-9a-f]{16})/.exec(await cliOk(['pair', 'init', `http://127.0.0.1:${ps.port}`, '--peer-key', toHex(ps.identity.pk), '--db', c.db]))![1]!;
  const r = await cli(['pair', 'revoke', id, '--db', c.db]);
  assert.is(r.code, 2);
  assert.match(r.stderr, /wipes the pairing master secret.*--yes/);
  const pmsOf = async () => (await query(c.db, 'SELECT pms, status FROM pairings WHERE id = ?', [id]))[0] as { pms: Buffer; status: string };
  assert.is((await pmsOf()).status, 'active');
  assert.ok((await pmsOf()).pms.some((b) => b !== 0));
  await cliOk(['pair', 'revoke', id, '--yes', '--db', c.db]);
  assert.is((await pmsOf()).status, 'revoked');
  assert.ok((await pmsOf()).pms.every((b) => b === 0));
});

test('approving a revoked device needs --reinstate', async () => {
  const c = await initialised('adm-reinstate');
  const p = await startPrimary({ db: c.db, key: c.key, host: '127.0.0.1', port: 0, limits: { rate: 0 } });
  cleanups.push(() => p.close());
  const d = new SimDevice(`http://127.0.0.1:${p.port}`, p.identity.pk, 'client', [CLIENT_P]);
  assert.is((await d.enroll()).status, 'pending');
  await cliOk(['approve', fingerprint(d.pk), '--db', c.db]);
  assert.is((await d.enroll()).status, 'granted');
  await cliOk(['revoke', fingerprint(d.pk), '--db', c.db]);
  const r = await cli(['approve', fingerprint(d.pk), '--db', c.db]);
  assert.is(r.code, 2);
  assert.match(r.stderr, /was revoked .*--reinstate/);
  assert.is((await d.enroll()).status, 'revoked');
  await cliOk(['approve', fingerprint(d.pk), '--reinstate', '--db', c.db]);
  assert.is((await d.enroll()).status, 'granted');
});

test('backup while serving, restore after a loss: same key, same devices, devices renew; bad restores refused', async () => {
  const c = await initialised('adm-backup');
  if (BACKEND === 'postgres') {
    // PostgreSQL has its own tools; the command says so instead of writing something half-right
    const r = await cli(['backup', '--out', join(c.dir, 'b'), '--db', c.db]);
    assert.is(r.code, 2);
    assert.match(r.stderr, /pg_dump/);
    assert.not.ok(existsSync(join(c.dir, 'b')));
    return;
  }
  const p = await startPrimary({ db: c.db, key: c.key, host: '127.0.0.1', port: 0, limits: { rate: 0 } });
  const base = `http://127.0.0.1:${p.port}`;
  const tokens = await Promise.all(
    Array.from({ length: 6 }, async () => JSON.parse(await cliOk(['token', 'create', '--role', 'client', '--prefix', CLIENT_P, '--json', '--db', c.db])) as { token: string }),
  );
  const wire = (t: string) => t.slice(4).replace(/-/g, '');
  const devices = tokens.map(() => new SimDevice(base, p.identity.pk, 'client', [CLIENT_P]));
  for (let i = 0; i < 3; i++) assert.is((await devices[i]!.enroll({ token: wire(tokens[i]!.token) })).status, 'granted');
  // enrollments keep going while the backup is taken
  const busy = Promise.all(devices.slice(0, 3).map(async (d) => {
    for (let k = 0; k < 10; k++) assert.is((await d.enroll()).status, 'granted');
  }));
  const bdir = join(c.dir, 'backup-1');
  const out = await cliOk(['backup', '--out', bdir, '--db', c.db]);
  await busy;
  assert.match(out, /3 devices/);
  assert.is(statSync(bdir).mode & 0o777, 0o700);
  for (const f of readdirSync(bdir)) assert.is(statSync(join(bdir, f)).mode & 0o777, 0o600, f);
  const again = await cli(['backup', '--out', bdir, '--db', c.db]);
  assert.is(again.code, 2);
  assert.match(again.stderr, /exists/);

  // after the backup: three more devices
  for (let i = 3; i < 6; i++) assert.is((await devices[i]!.enroll({ token: wire(tokens[i]!.token) })).status, 'granted');
  await p.close();

  // refused: no --yes; a backup of another primary over this key; a damaged backup
  assert.match((await cli(['restore', '--from', bdir, '--db', c.db])).stderr, /--yes/);
  const other = await initialised('adm-other');
  const obdir = join(other.dir, 'b');
  await cliOk(['backup', '--out', obdir, '--db', other.db]);
  const foreign = await cli(['restore', '--from', obdir, '--yes', '--db', c.db]);
  assert.is(foreign.code, 2);
  assert.match(foreign.stderr, /another key/);
  const damaged = join(other.dir, 'damaged');
  await cliOk(['backup', '--out', damaged, '--db', other.db]);
  const buf = readFileSync(join(damaged, 'primary.db'));
  buf.fill(0x55, 4096, 8192);
  writeFileSync(join(damaged, 'primary.db'), buf);
  const bad = await cli(['restore', '--from', damaged, '--yes', '--db', join(other.dir, 'new.db'), '--key', join(other.dir, 'new.key')]);
  assert.is(bad.code, 2, bad.stderr);
  assert.ok(!existsSync(join(other.dir, 'new.db')), 'nothing restored from a damaged backup');

  // the disk is lost: restore onto a new place
  const lost = dir('adm-restored');
  const db2 = join(lost, 'p.db');
  const restored = await cliOk(['restore', '--from', bdir, '--yes', '--db', db2]);
  assert.match(restored, /3 devices/);
  assert.is(statSync(db2).mode & 0o777, 0o600);
  assert.is(statSync(join(lost, 'primary.key')).mode & 0o777, 0o600);
  const p2 = await startPrimary({ db: db2, key: join(lost, 'primary.key'), host: '127.0.0.1', port: 0, limits: { rate: 0 }, create: false });
  cleanups.push(() => p2.close());
  assert.equal(p2.identity.pk, p.identity.pk);
  for (const d of devices) Object.assign(d, { base: `http://127.0.0.1:${p2.port}` });
  for (let i = 0; i < 3; i++) assert.is((await devices[i]!.enroll()).status, 'granted', `device ${i} renews from the restored primary`);
  // the later three were enrolled after the backup: their tokens are unspent in it, so they enroll again
  for (let i = 3; i < 6; i++) assert.is((await devices[i]!.enroll({ token: wire(tokens[i]!.token) })).status, 'granted');
  const ro = new Database(db2, { readonly: true });
  assert.is(ro.pragma('integrity_check', { simple: true }), 'ok');
  ro.close();
  // restoring over the same primary's current database (the key matches) works too
  await p2.close();
  cleanups.pop();
  assert.match(await cliOk(['restore', '--from', bdir, '--yes', '--db', db2]), /3 devices/);
  void now;
});

test.run();
