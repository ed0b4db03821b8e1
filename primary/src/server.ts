/**
 * The primary's HTTP service (node:http). Plain HTTP is safe: every message
 * that matters is sealed (docs/PROTOCOL.md). This layer enforces
 * what needs no decryption: methods and paths, request size, per-source rate
 * limits and timeouts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, isIPv6, type Socket } from 'node:net';
import { toHex } from '../../core/src/util/bytes.js';
import { MAX_REQUEST_ENVELOPE } from '../../core/src/enroll/codec.js';
import { plainAnswer, type EnrollService, type HttpAnswer, type Identity, type Logger } from './enroll-service.js';
import type { PairingResponder } from './pairing-service.js';
import { StoreUnavailable } from './sql.js';

export interface ServerLimits {
  /** Largest accepted request body, octets. */
  readonly maxBody: number;
  /** Requests per second per source (IPv4 address or IPv6 /64); 0 disables. */
  readonly rate: number;
  readonly burst: number;
  /** Open connections in all. */
  readonly maxConnections: number;
  /** Open connections per source address (IPv4 address or IPv6 /64); trusted proxies are exempt. */
  readonly connectionsPerSource: number;
  /** Milliseconds from connection (or the previous response) to the end of the request headers. */
  readonly headersTimeout: number;
  /** Milliseconds from connection (or the previous response) to the end of the request body. */
  readonly requestTimeout: number;
  /**
   * Peers whose X-Forwarded-For is believed (a reverse proxy or load
   * balancer in front of the primary): rate limits and the pending cap are then
   * keyed on the client address it forwards, not on the proxy's.
   */
  readonly trustedProxies: readonly string[];
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxBody: MAX_REQUEST_ENVELOPE,
  rate: 10,
  burst: 40,
  maxConnections: 4096,
  connectionsPerSource: 64,
  headersTimeout: 10000,
  requestTimeout: 15000,
  trustedProxies: [],
};

/** Canonical text of an address as Node reports peers (IPv4-mapped IPv6 as IPv4). */
function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/**
 * The client a request is from: the TCP peer, or, when the peer is a trusted
 * proxy, the nearest address in X-Forwarded-For that is not itself a trusted
 * proxy (entries further left were written by the client and prove nothing).
 */
export function clientAddress(peer: string, forwardedFor: string | string[] | undefined, trusted: ReadonlySet<string>): string {
  let client = plainAddress(peer);
  if (!trusted.has(client) || forwardedFor === undefined) return client;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',').map((h) => h.trim());
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = plainAddress(hops[i]!);
    if (isIP(hop) === 0) break; // garbage: stop at the last address a trusted hop vouched for
    client = hop;
    if (!trusted.has(hop)) break;
  }
  return client;
}

/** Token buckets per source, bounded in memory. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly maxSources = 100000,
  ) {}

  static sourceKey(address: string): string {
    address = plainAddress(address);
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

/** `source`: the client's key for limits (IPv4 address or IPv6 /64, after trusted proxies); `address`: its full address, for logs. */
type Handler = (body: Uint8Array, source: string, address: string) => Promise<HttpAnswer>;

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

/**
 * Counts open connections per source and refuses those over the cap at once,
 * before any octet is read; closes connections silent for the headers timeout.
 */
function capConnectionsPerSource(server: Server, limits: ServerLimits, trusted: ReadonlySet<string>, log: Logger): void {
  const open = new Map<string, number>();
  let lastLog = 0;
  server.on('connection', (socket: Socket) => {
    // Node's headers timeout starts with the first octet: a connection that never sends one would stay.
    const silent = setTimeout(() => {
      if (socket.bytesRead === 0) socket.destroy();
    }, limits.headersTimeout);
    silent.unref();
    socket.once('close', () => clearTimeout(silent));
    const peer = plainAddress(socket.remoteAddress ?? 'unknown');
    if (trusted.has(peer)) return;
    const key = RateLimiter.sourceKey(peer);
    const n = open.get(key) ?? 0;
    if (n >= limits.connectionsPerSource) {
      socket.destroy();
      if (Date.now() - lastLog > 1000) {
        lastLog = Date.now();
        log('connection-limit', { source: key, open: n });
      }
      return;
    }
    open.set(key, n + 1);
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left <= 0) open.delete(key);
      else open.set(key, left);
    });
  });
}

export function createPrimaryServer(parts: ServiceParts): Server {
  const limiter = new RateLimiter(parts.limits.rate, parts.limits.burst);
  const trusted = new Set(parts.limits.trustedProxies.map(plainAddress));
  const info = Buffer.from(
    JSON.stringify({ v: 1, public_key: toHex(parts.identity.pk), fingerprint: parts.identity.fingerprint, software: 'pdmv2-primary/0.1.0' }),
  );
  const routes: Record<string, Handler> = {
    '/v1/enroll': (b, s, a) => parts.enroll.handle(b, a, s),
    '/v1/pair/offer': (b, s) => parts.pairing.offer(b, s),
    '/v1/pair/finish': (b, s) => parts.pairing.finish(b, s),
    '/v1/pair/update': (b, s) => parts.pairing.update(b, s),
  };

  const { headersTimeout, requestTimeout } = parts.limits;
  const server = createServer(
    {
      headersTimeout,
      requestTimeout,
      keepAliveTimeout: Math.min(5000, headersTimeout),
      // Node checks both timeouts only this often (30 s by default): a slow-loris
      // client would hold its connection three times longer than configured.
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(headersTimeout / 4))),
      maxHeaderSize: 8192,
    },
    (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const address = clientAddress(req.socket.remoteAddress ?? 'unknown', req.headers['x-forwarded-for'], trusted);
    const source = RateLimiter.sourceKey(address);
    if (path === '/v1/info') {
      if (req.method !== 'GET') return send(res, plainAnswer('METHOD_NOT_ALLOWED'));
      return send(res, { status: 200, body: new Uint8Array(info), type: 'application/json' });
    }
    const handler = routes[path];
    if (!handler) return send(res, plainAnswer('NOT_FOUND'));
    if (req.method !== 'POST') return send(res, plainAnswer('METHOD_NOT_ALLOWED'));
    const wait = limiter.take(source, Date.now());
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
      handler(new Uint8Array(Buffer.concat(chunks)), source, address).then(
        (answer) => send(res, answer),
        (e: unknown) => {
          if (e instanceof StoreUnavailable) {
            parts.log('store-unavailable', { path, source: address, reason: e.reason, error: e.message });
            return send(res, plainAnswer('UNAVAILABLE', { 'retry-after': String(e.retryAfter) }));
          }
          parts.log('internal-error', { path, source: address, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
          send(res, plainAnswer('INTERNAL'));
        },
      );
    });
    req.on('error', () => {
      done = true;
    });
  },
  );
  server.maxHeadersCount = 50;
  server.maxConnections = parts.limits.maxConnections;
  capConnectionsPerSource(server, parts.limits, trusted, parts.log);
  return server;
}
