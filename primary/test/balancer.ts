/// <reference types="node" />
// A small HTTP load balancer for the multi-instance tests and the fleet
// benchmark: round robin over backends, skipping one that refuses
// connections (as a load balancer's health check would), answering 502 when
// a backend fails mid-request. Adds X-Forwarded-For like a real proxy.
import { createServer, request, type Server } from 'node:http';

export interface Balancer {
  readonly port: number;
  readonly served: Map<number, number>;
  close(): Promise<void>;
}

export async function startBalancer(backends: readonly number[]): Promise<Balancer> {
  let next = 0;
  const served = new Map<number, number>(backends.map((b) => [b, 0]));
  const down = new Set<number>();
  const forward = (port: number, method: string, path: string, headers: Record<string, string>, body: Buffer) =>
    new Promise<{ status: number; headers: Record<string, string>; body: Buffer }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers as Record<string, string>, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const headers: Record<string, string> = {
        'content-type': req.headers['content-type'] ?? 'application/octet-stream',
        'content-length': String(body.length),
        'x-forwarded-for': req.socket.remoteAddress ?? '',
      };
      for (let tries = 0; tries < backends.length; tries++) {
        const port = backends[next++ % backends.length]!;
        if (down.has(port)) continue;
        try {
          const r = await forward(port, req.method ?? 'GET', req.url ?? '/', headers, body);
          served.set(port, (served.get(port) ?? 0) + 1);
          res.writeHead(r.status, { 'content-type': r.headers['content-type'] ?? 'text/plain', ...(r.headers['retry-after'] ? { 'retry-after': r.headers['retry-after'] } : {}) });
          res.end(r.body);
          return;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ECONNREFUSED') {
            down.add(port); // not listening: nothing was sent, try the next one
            continue;
          }
          res.writeHead(502).end('BAD_GATEWAY\n'); // failed mid-request: the client decides whether to retry
          return;
        }
      }
      res.writeHead(503, { 'retry-after': '1' }).end('UNAVAILABLE\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    served,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
