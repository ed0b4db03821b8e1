/// <reference types="node" />
// Issue 19 item 2: the approval queue cannot be flooded. One source may hold
// only a few pending requests (so a flood from one address leaves room for
// everyone else), pending requests expire, and the administrator can purge
// them (all, old ones, or one source's).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { request } from 'node:http';
import { join } from 'node:path';
import { fingerprint } from '../core/src/enroll/codec.js';
import { readEnrollResponse } from '../core/src/enroll/client.js';
import type { EnrollResponse } from '../core/src/enroll/messages.js';
import { startPrimary, type RunningPrimary } from '../primary/src/main.js';
import { cli, cliOk, SimDevice, tempDir } from '../primary/test/harness.js';
import { newDb } from '../primary/test/backend.js';

const CLIENT_P = '2001:db8:1::/48';
const opened: { p: RunningPrimary; cleanup(): void }[] = [];
test.after(async () => {
  for (const o of opened) {
    await o.p.close();
    o.cleanup();
  }
});

let clock = Math.floor(Date.now() / 1000);

async function primary(name: string, config: Record<string, number>): Promise<{ p: RunningPrimary; db: string }> {
  const t = tempDir(name);
  const db = await newDb(t.dir);
  const p = await startPrimary({ db, key: join(t.dir, 'primary.key'), host: '127.0.0.1', port: 0, limits: { rate: 0 }, config: config as never, now: () => clock });
  opened.push({ p, cleanup: t.cleanup });
  await cliOk(['prefix', 'add', '--client', CLIENT_P, '--db', db]);
  return { p, db };
}

/** One enrollment of `d` sent from the loopback address `from`. */
function enrollFrom(p: RunningPrimary, d: SimDevice, from: string): Promise<EnrollResponse> {
  const sent = d.build({ now: clock });
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: p.port, method: 'POST', path: '/v1/enroll', localAddress: from, agent: false, headers: { 'content-length': sent.envelope.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
          resolve(readEnrollResponse({ body: new Uint8Array(Buffer.concat(chunks)), sent, device: d.device, primaryPk: p.identity.pk }));
        });
      },
    );
    req.on('error', reject);
    req.end(Buffer.from(sent.envelope));
  });
}

const device = (p: RunningPrimary) => new SimDevice(`http://127.0.0.1:${p.port}`, p.identity.pk, 'client', [CLIENT_P]);

test('a flood of new keys from one address fills only that address\'s share of the queue; other routers still get pending', async () => {
  const { p, db } = await primary('pend-source', { maxPending: 50, maxPendingPerSource: 5 });
  const flood = await Promise.all(Array.from({ length: 40 }, () => enrollFrom(p, device(p), '127.0.0.1')));
  const statuses = flood.map((r) => (r.status === 'rejected' ? r.reason : r.status));
  assert.is(statuses.filter((s) => s === 'pending').length, 5, statuses.join(' '));
  assert.is(statuses.filter((s) => s === 'PENDING_LIMIT').length, 35);
  const limited = flood.find((r) => r.status === 'rejected');
  assert.ok(limited?.status === 'rejected' && limited.retry_after !== undefined && /this address/.test(limited.message));
  // a real router elsewhere is queued, and approved
  const router = device(p);
  assert.is((await enrollFrom(p, router, '127.0.0.2')).status, 'pending');
  await cliOk(['approve', fingerprint(router.pk), '--db', db]);
  assert.is((await enrollFrom(p, router, '127.0.0.2')).status, 'granted');
  // a device already pending keeps polling from the flooded address without being refused
  const first = flood.findIndex((r) => r.status === 'pending');
  assert.ok(first >= 0);
});

test('pending requests expire: they stop counting, the retention pass forgets them, the device may ask again', async () => {
  clock = Math.floor(Date.now() / 1000);
  const { p } = await primary('pend-expiry', { maxPending: 3, maxPendingPerSource: 3, pendingTtl: 120 });
  const old = [device(p), device(p), device(p)];
  for (const d of old) assert.is((await enrollFrom(p, d, '127.0.0.1')).status, 'pending');
  const late = device(p);
  const r = await enrollFrom(p, late, '127.0.0.3');
  assert.ok(r.status === 'rejected' && r.reason === 'PENDING_LIMIT', JSON.stringify(r));
  clock += 121;
  assert.is((await enrollFrom(p, late, '127.0.0.3')).status, 'pending', 'the expired three no longer count');
  const n = await p.retain();
  assert.is(n.pending, 3);
  assert.equal(
    (await p.store.listDevices('pending')).map((d) => d.fingerprint),
    [fingerprint(late.pk)],
  );
  // one of the forgotten asks again: a new request, made now
  assert.is((await enrollFrom(p, old[0]!, '127.0.0.1')).status, 'pending');
  const again = await p.store.deviceByPk(old[0]!.pk);
  assert.is(again?.created, clock);
});

test('purge-pending: needs --yes; by source; by age; approved devices untouched', async () => {
  clock = Math.floor(Date.now() / 1000);
  const { p, db } = await primary('pend-purge', { maxPending: 100, maxPendingPerSource: 100 });
  for (let i = 0; i < 4; i++) await enrollFrom(p, device(p), '127.0.0.1');
  for (let i = 0; i < 2; i++) await enrollFrom(p, device(p), '127.0.0.2');
  const kept = device(p);
  await enrollFrom(p, kept, '127.0.0.2');
  await cliOk(['approve', fingerprint(kept.pk), '--db', db]);
  const refused = await cli(['purge-pending', '--db', db]);
  assert.is(refused.code, 2);
  assert.match(refused.stderr, /--yes/);
  assert.is((await p.store.listDevices('pending')).length, 6);
  assert.match(await cliOk(['purge-pending', '--source', '127.0.0.1', '--yes', '--db', db]), /forgot 4 pending requests/);
  assert.match(await cliOk(['purge-pending', '--older-than', '1h', '--yes', '--db', db]), /forgot 0 pending requests/);
  assert.match(await cliOk(['purge-pending', '--yes', '--db', db]), /forgot 2 pending requests/);
  assert.equal((await p.store.listDevices()).map((d) => [d.fingerprint, d.status]), [[fingerprint(kept.pk), 'approved']]);
  assert.is((await enrollFrom(p, kept, '127.0.0.2')).status, 'granted');
});

test.run();
