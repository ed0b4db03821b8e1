/// <reference types="node" />
// Issue 19 item 7: durability tests that fail when something is lost.
//
// The primary process is killed (SIGKILL) in the middle of enrollment bursts,
// three times over. After each kill, every grant a device *received* must be
// in the database: the device approved, its token spent by it, and for every
// secret in the grant an `issued` record whose digest is that secret's
// (an answer sent before its transaction committed, or a commit that a kill
// can undo, fails here). SQLite's integrity check must pass after each kill.
//
// Then the `issued` guard: the pairing master secret is altered in the
// database behind the primary's back. Every device that received a grant
// must now be refused (INTERNAL) rather than handed a different secret for a
// generation it already holds; that works only if the issued record of every
// acknowledged grant survived the kills.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import type { EnrollResponse } from '../core/src/enroll/messages.js';
import { nodeRandom } from '../primary/src/fast-suite.js';
import { openStore } from '../primary/src/open-store.js';
import { BACKEND, count, newDb, query } from '../primary/test/backend.js';
import { cliOk, SimDevice, spawnPrimary, tempDir, type ServeProcess, seedPrimary } from '../primary/test/harness.js';

const PREFIX = '2001:db8:1::/48';
const DEVICES = 120;
const PAIRING = 'd0d0d0d0d0d0d0d0';
type Granted = Extract<EnrollResponse, { status: 'granted' }>;
const digest = (secret: string) => createHash('sha256').update(secret, 'ascii').digest('hex');

for (const sync of BACKEND === 'sqlite' ? ['normal', 'full'] : ['-']) {
  test(`SIGKILL during enrollment bursts${BACKEND === 'sqlite' ? ` (sync=${sync})` : ''}: every grant a device received is in the database; then the issued guard refuses a changed PMS`, async () => {
    const t = tempDir(`dur-${sync}`);
    const db = await newDb(t.dir);
    const key = `${t.dir}/primary.key`;
    await cliOk(['init', '--db', db, '--key', key]);
    const now = Math.floor(Date.now() / 1000);
    const tokens = await seedPrimary(db, { prefix: PREFIX, pairing: { id: PAIRING, t0: now - 3600, period: 3600, overlap: 600 }, tokens: DEVICES, now });

    const serveArgs = ['--db', db, '--key', key, '--rate', '0', '--quiet', ...(BACKEND === 'sqlite' ? ['--sync', sync] : [])];
    let srv: ServeProcess = await spawnPrimary(serveArgs);
    const devices = Array.from({ length: DEVICES }, () => new SimDevice(srv.url, srv.pk, 'client', [PREFIX]));
    const received = new Map<number, Granted>();

    /** Every acknowledged grant is in the database (the check that fails on a lost commit). */
    const checkAcknowledged = async (): Promise<void> => {
      for (const [i, g] of received) {
        const dev = (await query(db, 'SELECT id, status FROM devices WHERE pk = ?', [devices[i]!.pk]))[0];
        assert.is(dev?.status, 'approved', `device ${i} received a grant but is ${String(dev?.status ?? 'missing')} in the database`);
        assert.is(await count(db, 'SELECT count(*) AS n FROM tokens WHERE used_by = ?', [dev!.id]), 1, `device ${i}'s token is recorded as spent by it`);
        for (const p of g.grant.pairings) {
          for (const k of p.keys) {
            for (const sec of k.secrets ?? []) {
              const row = (await query(db, 'SELECT digest FROM issued WHERE device_id = ? AND pairing_id = ? AND generation = ? AND prefix = ?', [dev!.id, p.id, k.generation, sec.prefix]))[0];
              assert.ok(row, `issued record of device ${i}, generation ${k.generation}`);
              assert.is(Buffer.from(row!.digest as Uint8Array).toString('hex'), digest(sec.secret));
            }
          }
        }
      }
    };

    const acksAtKill: number[] = [];
    for (let round = 0; round < 3; round++) {
      const target = received.size + 25;
      let next = 0;
      const burst = Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < DEVICES) {
            const i = next++;
            const d = devices[i]!;
            try {
              const r = await d.send(d.build({ token: tokens[i]! }), AbortSignal.timeout(10000));
              if (r.status === 'granted') received.set(i, r);
            } catch {
              /* the kill: connection reset or refused */
            }
          }
        }),
      );
      while (received.size < target && next < DEVICES) await new Promise((r) => setTimeout(r, 2));
      await srv.stop('SIGKILL');
      acksAtKill.push(received.size);
      await burst;
      if (BACKEND === 'sqlite') {
        const check = new Database(db); // read-write: recovers the WAL as the next start would
        assert.is(check.pragma('integrity_check', { simple: true }), 'ok', `integrity after kill ${round + 1}`);
        check.close();
      }
      await checkAcknowledged();
      srv = await spawnPrimary(serveArgs);
      for (const d of devices) Object.assign(d, { base: srv.url });
    }
    assert.ok(acksAtKill[0]! < DEVICES, `the first kill landed mid-burst (${acksAtKill.join(', ')} grants acknowledged at the kills)`);

    // Every device completes (those whose answer was lost retry with their token).
    for (let i = 0; i < DEVICES; i++) {
      const r = await devices[i]!.enroll({ token: tokens[i]! });
      assert.is(r.status, 'granted', `device ${i}`);
      received.set(i, r as Granted);
    }
    await checkAcknowledged();
    await srv.stop('SIGTERM');

    // The issued guard: a different PMS would hand out different secrets for generations
    // devices already hold. Every one of them is refused instead.
    const s1 = await openStore(db);
    await s1.db.run('UPDATE pairings SET pms = ? WHERE id = ?', [nodeRandom(32), PAIRING]);
    await s1.db.close();
    srv = await spawnPrimary(serveArgs);
    for (const d of devices) Object.assign(d, { base: srv.url });
    const refused: string[] = [];
    for (let i = 0; i < DEVICES; i++) {
      const r = await devices[i]!.enroll();
      refused.push(r.status === 'rejected' ? r.reason : `${r.status} (a different secret for a held generation)`);
    }
    await srv.stop('SIGTERM');
    assert.equal([...new Set(refused)], ['INTERNAL'], 'every device is refused rather than given a contradicting secret');
    t.cleanup();
  });
}

test.run();
