/**
 * The primary's HTTP service (node:http). Plain HTTP is safe: every message
 * that matters is sealed (docs/PROTOCOL.md). This layer enforces
 * what needs no decryption: methods and paths, request size, per-source rate
 * limits and timeouts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIPv6 } from 'node:net';
import { toHex } from '../../core/src/util/bytes.js';
import { MAX_REQUEST_ENVELOPE } from '../../core/src/enroll/codec.js';
import { plainAnswer, type EnrollService, type HttpAnswer, type Identity, type Logger } from './enroll-service.js';
import type { PairingResponder } from './pairing-service.js';

export interface ServerLimits {
  /** Largest accepted request body, octets. */
  readonly maxBody: number;
  /** Requests per second per source (IPv4 address or IPv6 /64); 0 disables. */
  readonly rate: number;
  readonly burst: number;
}

export const DEFAULT_LIMITS: ServerLimits = { maxBody: MAX_REQUEST_ENVELOPE, rate: 10, burst: 40 };

/** Token buckets per source, bounded in memory. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly maxSources = 100000,
  ) {}

  static sourceKey(address: string): string {
    if (address.startsWith('::ffff:')) return address.slice(7);
    if (!isIPv6(address)) return address;
    // Aggregate IPv6 by /64: one host can have as many /128s as it likes.
    const halves = address.split('::');
    const head = halves[0] ? halves[0].split(':') : [];
    const tail = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
    const groups = [...head, ...new Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
    return `${groups.slice(0, 4).map((g) => parseInt(g || '0', 16).toString(16)).join(':')}::/64`;
  }

  /** Takes one token; returns 0 when allowed, else seconds to wait. */
  take(source: string, nowMs: number): number {
    if (this.rate <= 0) return 0;
    let b = this.buckets.get(source);
    if (!b) {
      if (this.buckets.size >= this.maxSources) this.prune(nowMs);
      b = { tokens: this.burst, at: nowMs };
      this.buckets.set(source, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((nowMs - b.at) / 1000) * this.rate);
    b.at = nowMs;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.rate));
  }

  private prune(nowMs: number): void {
    const full = (this.burst / this.rate) * 1000;
    for (const [k, b] of this.buckets) if (nowMs - b.at > full) this.buckets.delete(k);
    if (this.buckets.size >= this.maxSources) this.buckets.clear();
  }
}

export interface ServiceParts {
  readonly identity: Identity;
  readonly enroll: EnrollService;
  readonly pairing: PairingResponder;
  readonly limits: ServerLimits;
  readonly log: Logger;
}

type Handler = (body: Uint8Array, source: string) => HttpAnswer;

function send(res: ServerResponse, a: HttpAnswer, close = false): void {
  const body = typeof a.body === 'string' ? Buffer.from(a.body, 'latin1') : Buffer.from(a.body.buffer, a.body.byteOffset, a.body.length);
  res.writeHead(a.status, {
    'content-type': a.type,
    'content-length': body.length,
    'cache-control': 'no-store',
    ...(close ? { connection: 'close' } : {}),
    ...(a.headers ?? {}),
  });
  res.end(body);
}

export function createPrimaryServer(parts: ServiceParts): Server {
  const limiter = new RateLimiter(parts.limits.rate, parts.limits.burst);
  const info = Buffer.from(
    JSON.stringify({ v: 1, public_key: toHex(parts.identity.pk), fingerprint: parts.identity.fingerprint, software: 'pdmv2-primary/0.1.0' }),
  );
  const routes: Record<string, Handler> = {
    '/v1/enroll': (b, s) => parts.enroll.handle(b, s),
    '/v1/pair/offer': (b, s) => parts.pairing.offer(b, s),
    '/v1/pair/finish': (b, s) => parts.pairing.finish(b, s),
    '/v1/pair/update': (b, s) => parts.pairing.update(b, s),
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const source = req.socket.remoteAddress ?? 'unknown';
    if (path === '/v1/info') {
      if (req.method !== 'GET') return send(res, plainAnswer('METHOD_NOT_ALLOWED'));
      return send(res, { status: 200, body: new Uint8Array(info), type: 'application/json' });
    }
    const handler = routes[path];
    if (!handler) return send(res, plainAnswer('NOT_FOUND'));
    if (req.method !== 'POST') return send(res, plainAnswer('METHOD_NOT_ALLOWED'));
    const wait = limiter.take(RateLimiter.sourceKey(source), Date.now());
    if (wait > 0) {
      req.resume();
      return send(res, plainAnswer('RATE_LIMITED', { 'retry-after': String(wait) }));
    }
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > parts.limits.maxBody) {
      req.resume();
      return send(res, plainAnswer('TOO_LARGE'), true);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > parts.limits.maxBody) {
        done = true;
        send(res, plainAnswer('TOO_LARGE'), true);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      let answer: HttpAnswer;
      try {
        answer = handler(new Uint8Array(Buffer.concat(chunks)), source);
      } catch (e) {
        parts.log('internal-error', { path, source, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
        answer = plainAnswer('INTERNAL');
      }
      send(res, answer);
    });
    req.on('error', () => {
      done = true;
    });
  });
  server.headersTimeout = 10000;
  server.requestTimeout = 15000;
  server.keepAliveTimeout = 5000;
  server.maxHeadersCount = 50;
  server.maxConnections = 4096;
  return server;
}
