/// <reference types="node" />
// Issue 19 item 1: one host cannot lock everyone out. Connections are capped
// per source address, the header and request timeouts hold as configured
// (not at Node's 30 s sweep), and behind a trusted reverse proxy the limits
// count the client address it forwards, not the proxy's.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type Socket } from 'node:net';
import { request } from 'node:http';
import { join } from 'node:path';
import { startPrimary, type RunningPrimary } from '../primary/src/main.js';
import type { ServerLimits } from '../primary/src/server.js';
import { SimDevice, tempDir } from '../primary/test/harness.js';
import { newDb } from '../primary/test/backend.js';

const opened: { p: RunningPrimary; cleanup(): void }[] = [];
const sockets: Socket[] = [];
test.after(async () => {
  for (const s of sockets) s.destroy();
  for (const o of opened) {
    await o.p.close();
    o.cleanup();
  }
});

async function primary(name: string, limits: Partial<ServerLimits>): Promise<RunningPrimary> {
  const t = tempDir(name);
  const p = await startPrimary({ db: await newDb(t.dir), key: join(t.dir, 'primary.key'), host: '127.0.0.1', port: 0, limits: { rate: 0, ...limits } });
  opened.push({ p, cleanup: t.cleanup });
  return p;
}

/** A TCP connection from `from` (a loopback address); resolves once connected. */
function open(port: number, from: string): Promise<Socket & { closedAt?: number }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, localAddress: from }) as Socket & { closedAt?: number };
    sockets.push(s);
    s.on('close', () => {
      s.closedAt = Date.now();
    });
    s.on('error', () => {});
    // read to the end: a paused socket never sees the server's FIN, so it would never close
    s.resume();
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

function info(port: number, from: string, timeoutMs = 2000): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/v1/info', localAddress: from, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(-1));
    req.end();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('per-source connection cap: 60 idle sockets from one address do not keep another address out', async () => {
  const p = await primary('http-conns', { maxConnections: 40, connectionsPerSource: 16 });
  const hog = await Promise.all(Array.from({ length: 60 }, () => open(p.port, '127.0.0.1')));
  await sleep(300);
  const closed = hog.filter((s) => s.closedAt !== undefined).length;
  assert.is(closed, 60 - 16, `the server closed the sockets over the cap (${closed} closed)`);
  const codes = await Promise.all(Array.from({ length: 10 }, () => info(p.port, '127.0.0.2')));
  assert.equal(codes, new Array(10).fill(200), 'another address is served while the first holds its 16');
  // the hog's own address gets nothing more until it lets go
  assert.is(await info(p.port, '127.0.0.1'), -1);
  for (const s of hog) s.destroy();
  await sleep(100);
  assert.is(await info(p.port, '127.0.0.1'), 200);
});

test('header and request timeouts are enforced when due: silent, trickled headers, trickled body', async () => {
  const p = await primary('http-timeouts', { headersTimeout: 1000, requestTimeout: 2000 });
  const t0 = Date.now();
  const silent = await open(p.port, '127.0.0.3');
  const slowHeaders = await open(p.port, '127.0.0.3');
  const slowBody = await open(p.port, '127.0.0.3');
  slowBody.write('POST /v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n');
  const trickle = setInterval(() => {
    if (!slowHeaders.destroyed) slowHeaders.write('X');
    if (!slowBody.destroyed) slowBody.write('Y');
  }, 150);
  slowHeaders.write('GET /v1/info HTTP/1.1\r\nX-Slow: ');
  for (let i = 0; i < 60 && [silent, slowHeaders, slowBody].some((s) => s.closedAt === undefined); i++) await sleep(100);
  clearInterval(trickle);
  const after = (s: { closedAt?: number }) => (s.closedAt === undefined ? Infinity : s.closedAt - t0);
  assert.ok(after(silent) >= 900 && after(silent) < 2600, `silent connection closed after ${after(silent)} ms (headers timeout 1 s)`);
  assert.ok(after(slowHeaders) >= 900 && after(slowHeaders) < 2600, `trickled headers closed after ${after(slowHeaders)} ms (headers timeout 1 s)`);
  assert.ok(after(slowBody) >= 1900 && after(slowBody) < 3600, `trickled body closed after ${after(slowBody)} ms (request timeout 2 s)`);
});

test('behind a trusted proxy, the rate limit counts forwarded client addresses; others cannot spoof X-Forwarded-For', async () => {
  const p = await primary('http-proxy', { rate: 1, burst: 2, trustedProxies: ['127.0.0.1'] });
  const d = new SimDevice(`http://127.0.0.1:${p.port}`, p.identity.pk, 'client', []);
  const post = (from: string, xff?: string): Promise<number> =>
    new Promise((resolve) => {
      const body = d.build().envelope;
      const req = request(
        {
          host: '127.0.0.1',
          port: p.port,
          method: 'POST',
          path: '/v1/enroll',
          localAddress: from,
          agent: false,
          headers: { 'content-length': body.length, ...(xff ? { 'x-forwarded-for': xff } : {}) },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', () => resolve(-1));
      req.end(Buffer.from(body));
    });
  // two clients behind the proxy: each its own bucket of 2
  const a = [await post('127.0.0.1', '198.51.100.1'), await post('127.0.0.1', '198.51.100.1'), await post('127.0.0.1', '198.51.100.1')];
  const b = [await post('127.0.0.1', '203.0.113.9, 198.51.100.2'), await post('127.0.0.1', '198.51.100.2')];
  assert.equal(a, [200, 200, 429]);
  assert.equal(b, [200, 200], 'a client-written left part of X-Forwarded-For is not the key');
  // an untrusted peer's X-Forwarded-For is ignored: its own address is the key
  const c = [await post('127.0.0.4', '198.51.100.7'), await post('127.0.0.4', '198.51.100.8'), await post('127.0.0.4', '198.51.100.9')];
  assert.equal(c, [200, 200, 429]);
  // the device record shows the forwarded address
  const dev = await p.store.deviceByPk(d.pk);
  assert.ok(dev !== null);
  assert.ok(['198.51.100.1', '198.51.100.2', '127.0.0.4'].includes(dev!.lastSource ?? ''), String(dev!.lastSource));
});

test.run();
