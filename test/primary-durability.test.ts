/// <reference types="node" />
// kill -9 of the primary in the middle of an enrollment storm, three times
// over: the database passes SQLite's integrity check, the restarted primary
// has the same key, every device ends up granted, nobody ever received two
// different secrets for one (pairing, generation, prefix), every token was
// spent by exactly one device, and the issued-secrets record matches what the
// devices hold.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { fromHex, toHex } from '../core/src/bytes.js';
import { parsePrefix } from '../core/src/addr.js';
import { clientPrefixSecret, serverGroupSecret } from '../core/src/keys.js';
import { openStore } from '../primary/src/open-store.js';
import { nodeRandom } from '../primary/src/fast-suite.js';
import { MAIN_JS, SimDevice, tempDir } from '../primary/test/harness.js';

const PREFIX = '2001:db8:1::/48';
const DEVICES = 240;

function serve(db: string, key: string, sync: string): Promise<{ child: ChildProcess; url: string; pk: Uint8Array }> {
  const child = spawn(process.execPath, [MAIN_JS, 'serve', '--init', '--db', db, '--key', key, '--listen', '127.0.0.1:0', '--rate', '0', '--quiet', '--sync', sync], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (b: Buffer) => {
      buf += b.toString();
      const pk = /primary public key: ([0-9a-f]{64})/.exec(buf);
      const url = /listening on (http:\/\/\S+)/.exec(buf);
      if (pk && url) resolve({ child, url: url[1]!, pk: fromHex(pk[1]!) });
    });
    child.on('exit', (c) => reject(new Error(`primary exited early (${c})`)));
  });
}

for (const sync of ['normal', 'full']) {
  test(`kill -9 during an enrollment storm (sync=${sync}): no corruption, one secret per generation, restart resumes`, async () => {
    const t = tempDir(`dur-${sync}`);
    const db = join(t.dir, 'p.db');
    const key = join(t.dir, 'primary.key');
    const now = Math.floor(Date.now() / 1000);
    const pms = nodeRandom(32);
    const pairing = {
      id: 'd0d0d0d0d0d0d0d0',
      role: 'client' as const,
      peerPk: nodeRandom(32),
      peerUrl: null,
      pms,
      suite: '32/1/65535',
      dataAead: 1,
      mode: 'encrypted' as const,
      // a short period so that the storm straddles generation changes now and then
      t0: now - 3600,
      period: 60,
      overlap: 30,
      clientPrefixes: [PREFIX],
      serverPrefixes: ['2001:db8:ff::/48'],
    };
    const s0 = await openStore(db);
    await s0.addPrefix(PREFIX, 'client', now);
    await s0.insertPairing(pairing, now);
    const tokens: string[] = [];
    for (let i = 0; i < DEVICES; i++) tokens.push((await s0.createToken({ role: 'client', prefixes: [PREFIX], ttl: 3600, now })).token);
    await s0.db.close();

    let srv = await serve(db, key, sync);
    const firstPk = toHex(srv.pk);
    const devices = Array.from({ length: DEVICES }, () => new SimDevice(srv.url, srv.pk, 'client', [PREFIX]));
    /** Every secret any device was ever given: "device slot" -> secret. */
    const received = new Map<string, string>();
    const granted = new Set<number>();
    const note = (i: number, r: Awaited<ReturnType<SimDevice['enroll']>>): void => {
      if (r.status !== 'granted') return;
      granted.add(i);
      for (const p of r.grant.pairings) {
        for (const k of p.keys) {
          for (const s of k.secrets ?? []) {
            const slot = `${i} ${p.id} ${k.generation} ${s.prefix}`;
            const before = received.get(slot);
            if (before !== undefined) assert.is(s.secret, before, `two different secrets for ${slot}`);
            received.set(slot, s.secret);
          }
        }
      }
    };

    const afterRound: number[] = [];
    for (let round = 0; round < 3; round++) {
      let next = 0;
      const storm = Promise.all(
        Array.from({ length: 24 }, async () => {
          while (next < DEVICES) {
            const i = next++;
            const dev = devices[i]!;
            try {
              note(i, await dev.send(dev.build({ token: tokens[i]! }), AbortSignal.timeout(5000)));
            } catch {
              /* connection reset by the kill: retried after the restart */
            }
          }
        }),
      );
      await new Promise((r) => setTimeout(r, 150 + round * 100));
      srv.child.kill('SIGKILL');
      await storm;
      afterRound.push(granted.size);
      const check = new Database(db);
      assert.is(check.pragma('integrity_check', { simple: true }), 'ok');
      check.close();
      srv = await serve(db, key, sync);
      assert.is(toHex(srv.pk), firstPk, 'same key after restart');
      for (const dev of devices) Object.assign(dev, { base: srv.url });
    }

    assert.ok(afterRound[0]! > 0 && afterRound[0]! < DEVICES, `the first kill landed mid-storm (${afterRound.join(', ')} granted)`);
    // After the last restart, every device completes (retrying with its token).
    for (let i = 0; i < DEVICES; i++) {
      const r = await devices[i]!.enroll({ token: tokens[i]! });
      assert.is(r.status, 'granted', `device ${i}: ${JSON.stringify(r)}`);
      note(i, r);
    }
    srv.child.kill('SIGTERM');
    await new Promise((r) => srv.child.on('exit', r));
    assert.is(granted.size, DEVICES);

    // Everything given out is the deterministic derivation from the PMS.
    for (const [slot, secret] of received) {
      const [, , gen, prefix] = slot.split(' ');
      assert.is(secret, toHex(clientPrefixSecret(serverGroupSecret(pms, Number(gen)), parsePrefix(prefix!))));
    }
    const ro = new Database(db, { readonly: true });
    assert.is(ro.pragma('integrity_check', { simple: true }), 'ok');
    const tok = ro.prepare('SELECT count(*) AS n, count(DISTINCT used_by) AS d FROM tokens WHERE used_by IS NOT NULL').get() as { n: number; d: number };
    assert.equal(tok, { n: DEVICES, d: DEVICES }, 'each token spent once, by its own device');
    const devs = ro.prepare(`SELECT count(*) AS n FROM devices WHERE status = 'approved'`).get() as { n: number };
    assert.is(devs.n, DEVICES);
    // the issued record holds one digest per slot, equal to the secret the device has
    const rows = ro.prepare('SELECT d.pk AS pk, i.pairing_id AS p, i.generation AS g, i.prefix AS prefix, i.digest AS digest FROM issued i JOIN devices d ON d.id = i.device_id').all() as {
      pk: Buffer;
      p: string;
      g: number;
      prefix: string;
      digest: Buffer;
    }[];
    ro.close();
    const byPk = new Map(devices.map((d, i) => [Buffer.from(d.pk).toString('hex'), i]));
    let matched = 0;
    for (const r of rows) {
      const i = byPk.get(r.pk.toString('hex'))!;
      const secret = received.get(`${i} ${r.p} ${r.g} ${r.prefix}`);
      if (secret === undefined) continue; // issued but the answer was lost in a kill
      assert.is(r.digest.toString('hex'), createHash('sha256').update(secret, 'ascii').digest('hex'));
      matched++;
    }
    assert.ok(matched >= DEVICES, `issued record covers what devices hold (${matched})`);
    t.cleanup();
  });
}

test.run();
