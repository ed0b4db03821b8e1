/// <reference types="node" />
// Issue 19 item 6: three primary instances (separate processes, one key file)
// on one PostgreSQL behind a load balancer. Enrollments racing for one token
// on different instances give exactly one grant; SIGKILL of an instance in
// the middle of a burst loses no grant a device received; renewals go on
// through the other two.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { toHex } from '../core/src/util/bytes.js';
import type { EnrollResponse } from '../core/src/enroll/messages.js';
import { openStore } from '../primary/src/open-store.js';
import type { Store } from '../primary/src/store.js';
import { startBalancer, type Balancer } from '../primary/test/balancer.js';
import { cliOk, SimDevice, spawnPrimary, tempDir, type ServeProcess, testPairing } from '../primary/test/harness.js';
import { cluster } from '../primary/test/postgres.js';

const PREFIX = '2001:db8:1::/48';
const now = () => Math.floor(Date.now() / 1000);

let url = '';
let key = '';
let instances: ServeProcess[] = [];
let lb: Balancer;
let store: Store;
const cleanups: (() => Promise<void> | void)[] = [];

test.before(async () => {
  const t = tempDir('pg-cluster');
  cleanups.push(t.cleanup);
  url = await (await cluster()).newDatabase('cluster');
  key = join(t.dir, 'primary.key');
  await cliOk(['init', '--db', url, '--key', key]);
  await cliOk(['prefix', 'add', '--client', PREFIX, '--db', url, '--key', key]);
  store = await openStore(url);
  cleanups.push(() => store.db.close());
  const t0 = now();
  await store.insertPairing(
    testPairing({
      id: 'c1c1c1c1c1c1c1c1',
      t0: t0 - 3600,
      period: 86400,
      overlap: 3600,
      clientPrefixes: [PREFIX],
    }),
    t0,
  );
  instances = await Promise.all([0, 1, 2].map(() => spawnPrimary(['--db', url, '--key', key, '--rate', '0', '--quiet', '--pool', '6'])));
  cleanups.push(async () => {
    for (const i of instances) await i.stop('SIGTERM');
  });
  lb = await startBalancer(instances.map((i) => i.port));
  cleanups.push(() => lb.close());
  assert.is(toHex(instances[0]!.pk), toHex(instances[2]!.pk));
});

test.after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const device = (base: string) => new SimDevice(base, instances[0]!.pk, 'client', [PREFIX]);

test('enrollments racing for one token on three instances: exactly one grant per token, the others TOKEN_USED, nothing else approved', async () => {
  const TOKENS = 8;
  const RACERS = 6;
  for (let k = 0; k < TOKENS; k++) {
    const tok = await store.createToken({ role: 'client', prefixes: [PREFIX], ttl: 600, now: now() });
    // each racer straight at an instance, two per instance, all released at once
    const racers = Array.from({ length: RACERS }, (_, i) => device(instances[i % 3]!.url));
    const built = racers.map((d) => d.build({ token: tok.token }));
    const answers = await Promise.all(racers.map((d, i) => d.send(built[i]!)));
    const granted = answers.filter((a) => a.status === 'granted');
    assert.is(granted.length, 1, `token ${k}: ${answers.map((a) => (a.status === 'rejected' ? a.reason : a.status)).join(' ')}`);
    for (const a of answers) if (a.status !== 'granted') assert.ok(a.status === 'rejected' && a.reason === 'TOKEN_USED', JSON.stringify(a));
    const winner = racers[answers.findIndex((a) => a.status === 'granted')]!;
    const row = (await store.db.get('SELECT t.used_by AS used_by, d.pk AS pk FROM tokens t JOIN devices d ON d.id = t.used_by WHERE t.id = ?', [tok.id]))!;
    assert.is(toHex(row.pk as Uint8Array), toHex(winner.pk));
  }
  const approved = Number((await store.db.get(`SELECT count(*) AS n FROM devices WHERE status = 'approved'`))!.n);
  const all = Number((await store.db.get('SELECT count(*) AS n FROM devices'))!.n);
  assert.equal([approved, all], [TOKENS, TOKENS], 'the losers left no device behind');
});

test('SIGKILL of one instance during a burst: every grant a device received is in the database; renewals go on through the other two', async () => {
  const DEVICES = 150;
  const tokens: string[] = [];
  for (let i = 0; i < DEVICES; i++) tokens.push((await store.createToken({ role: 'client', prefixes: [PREFIX], ttl: 600, now: now() })).token);
  const base = `http://127.0.0.1:${lb.port}`;
  const devices = Array.from({ length: DEVICES }, () => device(base));
  const received = new Map<number, Extract<EnrollResponse, { status: 'granted' }>>();
  const failed: number[] = [];
  let next = 0;
  const burst = Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < DEVICES) {
        const i = next++;
        try {
          const r = await devices[i]!.enroll({ token: tokens[i]! });
          if (r.status === 'granted') received.set(i, r);
          else failed.push(i);
        } catch {
          failed.push(i); // 502 from the balancer: the instance died under this request
        }
      }
    }),
  );
  while (received.size < 20) await new Promise((r) => setTimeout(r, 5));
  const victim = instances[1]!;
  await victim.stop('SIGKILL');
  const atKill = received.size;
  await burst;
  assert.ok(atKill < DEVICES, `the kill landed mid-burst (${atKill} of ${DEVICES} granted before it)`);

  // every acknowledged grant is in the database: device approved, token spent by it, each secret recorded
  const digest = (s: string) => createHash('sha256').update(s, 'ascii').digest('hex');
  for (const [i, r] of received) {
    const dev = await store.deviceByPk(devices[i]!.pk);
    assert.is(dev?.status, 'approved', `device ${i}`);
    const used = await store.db.get('SELECT count(*) AS n FROM tokens WHERE used_by = ?', [dev!.id]);
    assert.is(Number(used!.n), 1, `device ${i}'s token is spent by it`);
    for (const p of r.grant.pairings) {
      for (const k of p.keys) {
        for (const s of k.secrets ?? []) {
          const row = await store.db.get('SELECT digest FROM issued WHERE device_id = ? AND pairing_id = ? AND generation = ? AND prefix = ?', [dev!.id, p.id, k.generation, s.prefix]);
          assert.ok(row, `issued record of device ${i} generation ${k.generation}`);
          assert.is(Buffer.from(row!.digest as Uint8Array).toString('hex'), digest(s.secret));
        }
      }
    }
  }
  // those whose answer was lost retry (with the same token) through the balancer and get theirs
  for (const i of failed) {
    const r = await devices[i]!.enroll({ token: tokens[i]! });
    assert.is(r.status, 'granted', `device ${i} on retry: ${JSON.stringify(r).slice(0, 200)}`);
    received.set(i, r as Extract<EnrollResponse, { status: 'granted' }>);
  }
  assert.is(received.size, DEVICES);

  // renewals: all through the balancer, none reaching the dead instance, same secrets as before
  const servedBefore = new Map(lb.served);
  for (const [i, first] of received) {
    const r = await devices[i]!.enroll();
    assert.is(r.status, 'granted', `renewal of device ${i}`);
    if (r.status === 'granted') assert.equal(r.grant.pairings[0]!.keys[0]!.secrets, first.grant.pairings[0]!.keys[0]!.secrets);
  }
  assert.is(lb.served.get(victim.port), servedBefore.get(victim.port), 'the killed instance served nothing after its death');
  const live = instances.filter((x) => x !== victim).map((x) => (lb.served.get(x.port) ?? 0) - (servedBefore.get(x.port) ?? 0));
  assert.ok(live.every((n) => n > DEVICES / 4), `both remaining instances renewed devices (${live.join(', ')})`);
});

test.run();
