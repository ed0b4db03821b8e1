#!/usr/bin/env node
/**
 * pdmv2-primary: the Primary Client / Primary Server service and its admin
 * CLI. See docs/primary.md.
 *
 *   node .build/node/primary/src/main.js serve --db FILE --listen 127.0.0.1:8600
 *   node .build/node/primary/src/main.js list|approve|revoke|token|prefix|pair|export-keys ...
 */
import { existsSync, realpathSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { toHex } from '../../core/src/util/bytes.js';
import { fingerprint, normalizeFingerprint } from '../../core/src/enroll/codec.js';
import { isPostgresUrl, openStore } from './open-store.js';
import { SqliteDatabase } from './sqlite-sql.js';
import { DEFAULT_ENROLL_CONFIG, EnrollService, type EnrollConfig, type Identity, type Logger } from './enroll-service.js';
import { exportAnalyzerKeys } from './export.js';
import { nodeRandom } from './fast-suite.js';
import { backupPrimary, restorePrimary } from './backup.js';
import { KeyFileError, loadOrCreateKey, parsePublicKey, readKeyFile } from './keyfile.js';
import { initiatePairing, PairingResponder, updatePairing } from './pairing-service.js';
import { createPrimaryServer, DEFAULT_LIMITS, type ServerLimits } from './server.js';
import { AdminError, checkMode, checkRole, DEFAULT_RETENTION, type Device, type RetentionCounts, type RetentionPolicy, type Store } from './store.js';
import { RateLimiter } from './server.js';

export const VERSION = '0.1.0';

const USAGE = `pdmv2-primary ${VERSION}: PDMv2 Primary Client / Primary Server

usage: pdmv2-primary COMMAND [options]      (common: --db FILE --key FILE)

  serve [--init] [--listen ADDR:PORT] [--window S] [--renew S] [--rate N] [--burst N]
        [--max-body N] [--max-pending N] [--pending-retry S] [--sync normal|full] [--quiet]
        [--max-connections N] [--connections-per-source N] [--header-timeout S] [--request-timeout S]
        [--trusted-proxy ADDR]...   (limits key on X-Forwarded-For of requests from ADDR)
        [--max-pending-per-source N] [--pending-ttl 7d] [--revoked-keep 90d] [--audit-keep 365d]
        [--token-keep 30d] [--lock-wait 1s] [--max-db-size MIB] [--pool N]
  --db FILE is a SQLite database; --db postgres://USER@HOST/DB (with --key FILE) is PostgreSQL,
  which several instances (with the same key file) can share.
  init                                   create the key and database, print the public key
                                         (every other command needs them to exist; serve --init creates them too)
  info                                   public key, fingerprint, counts
  prefix add|remove (--client|--server) PREFIX...     this primary's prefixes
  prefix list
  list [--status pending|approved|revoked] [--json]
  purge-pending [--older-than D] [--source ADDR] --yes   forget pending requests (all, old ones, one source's)
  approve FINGERPRINT [--role client|server] [--prefix P]... [--mode encrypted|clear|v1] [--reinstate]
                                         (--reinstate: the device was revoked and is to be trusted again)
  revoke FINGERPRINT
  token create --role client|server [--prefix P]... [--ttl 1h] [--label TEXT] [--mode M]
  token list | token delete ID|TOKEN
  pair accept --peer-key HEX [--ttl 1h]   (responder: allow one initiator key)
  pair init URL --peer-key HEX [--period 1d] [--overlap 1h] [--data-aead 1|2] [--mode M]
  pair list | pair revoke ID --yes | pair update ID [--url URL]
                                         (pair revoke wipes the pairing master secret: it cannot be undone)
  export-keys --pairing ID --analyzer-key HEX (--all | --prefix P...) [--from-gen N] [--to-gen N] --out FILE
  analyzer-keygen --out FILE              make an analyzer key pair (for tests and small setups)
  backup --out DIR                        consistent copy of key and database into a new directory (safe while serving)
  restore --from DIR --yes                key and database back from a backup (stop the service first)

Output files (--out) are created new: an existing file is never overwritten.

Defaults: --db ./pdmv2-primary.db (or $PDMV2_PRIMARY_DB), --key next to the database: primary.key
Durations: 90, 90s, 15m, 1h, 7d.`;

class UsageError extends Error {}

export function parseDuration(text: string, what: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!m) throw new UsageError(`${what}: '${text}' is not a duration (e.g. 90, 15m, 1h, 7d)`);
  return Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
}

function parseInt10(text: string | undefined, what: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) throw new UsageError(`${what} must be an integer ${min}..${max}`);
  return Number(text);
}

export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]*)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  if (!m) throw new UsageError(`--listen '${text}': expected ADDR:PORT, [V6ADDR]:PORT or PORT`);
  const port = Number(m[3]);
  if (port > 65535) throw new UsageError('port out of range');
  return { host: m[1] || m[2] || '127.0.0.1', port };
}

const nowSec = (): number => Math.floor(Date.now() / 1000);

interface Common {
  db: string;
  key: string;
}

function common(values: Record<string, unknown>): Common {
  const db = (values.db as string | undefined) || process.env.PDMV2_PRIMARY_DB || 'pdmv2-primary.db';
  const given = (values.key as string | undefined) || process.env.PDMV2_PRIMARY_KEY;
  if (!given && isPostgresUrl(db)) throw new UsageError('with a PostgreSQL --db, give the key file: --key FILE (or $PDMV2_PRIMARY_KEY)');
  return { db, key: given ?? join(dirname(db), 'primary.key') };
}

function defaultKey(c: Common): boolean {
  return !isPostgresUrl(c.db) && c.key === join(dirname(c.db), 'primary.key');
}

const INIT_HINT = (c: Common) => `run pdmv2-primary init --db ${isPostgresUrl(c.db) ? 'URL' : c.db}${defaultKey(c) ? '' : ` --key ${c.key}`} first`;

/** Opens the existing database: only init (and serve --init) create one. */
async function openExisting(c: Common, o: { service?: boolean; sync?: 'normal' | 'full'; maxPages?: number } = {}): Promise<Store> {
  if (!isPostgresUrl(c.db) && !existsSync(c.db)) throw new UsageError(`no database at ${c.db}: ${INIT_HINT(c)}`);
  const store = await openStore(c.db, o);
  if (isPostgresUrl(c.db) && (await store.meta('public_key')) === null) {
    await store.db.close();
    throw new UsageError(`the PostgreSQL database holds no primary yet: ${INIT_HINT(c)}`);
  }
  return store;
}

async function withStore<T>(c: Common, f: (store: Store) => Promise<T>): Promise<T> {
  const store = await openExisting(c);
  try {
    return await f(store);
  } finally {
    await store.db.close();
  }
}

/** Records the key in a new database, or checks that it is the recorded one. */
async function bindKey(store: Store, id: Identity, keyPath: string): Promise<void> {
  await store.tx(async (s) => {
    const recorded = await s.meta('public_key');
    if (recorded !== null && recorded !== toHex(id.pk)) {
      throw new KeyFileError(`${keyPath} is not the key this database was created with (fingerprint ${(await s.meta('fingerprint')) ?? '?'})`);
    }
    if (recorded === null) await s.setMeta('public_key', toHex(id.pk));
    await s.setMeta('fingerprint', id.fingerprint);
  });
}

function identity(c: Common, create = false): Identity & { created: boolean } {
  if (create) {
    const k = loadOrCreateKey(c.key);
    return { sk: k.sk, pk: k.pk, fingerprint: k.fingerprint, created: k.created };
  }
  if (!existsSync(c.key)) throw new UsageError(`no primary key at ${c.key}: ${INIT_HINT(c)}`);
  const k = readKeyFile(c.key);
  return { sk: k.sk, pk: k.pk, fingerprint: fingerprint(k.pk), created: false };
}

function fmtTime(t: number | null): string {
  return t === null ? '-' : new Date(t * 1000).toISOString().replace('.000Z', 'Z');
}

function deviceJson(d: Device): Record<string, unknown> {
  return {
    fingerprint: d.fingerprint,
    status: d.status,
    role: d.role,
    prefixes: d.prefixes,
    requested_prefixes: d.requestedPrefixes,
    mode: d.mode,
    approved_via: d.approvedVia,
    public_key: toHex(d.pk),
    created: d.created,
    last_seen: d.lastSeen,
    last_source: d.lastSource,
    last_status: d.lastStatus,
    grants: d.grants,
  };
}

const out = (s: string): void => {
  process.stdout.write(`${s}\n`);
};

function jsonLogger(quiet: boolean): Logger {
  return (event, fields) => {
    if (quiet && !['internal-error', 'issued-conflict', 'listening', 'store-unavailable', 'retention-error'].includes(event)) return;
    process.stdout.write(`${JSON.stringify({ ts: new Date().toISOString(), event, ...fields })}\n`);
  };
}

export interface RunningPrimary {
  readonly port: number;
  readonly host: string;
  readonly identity: Identity;
  readonly store: Store;
  /** One pass of the retention job (it also runs every `retentionEvery` seconds). */
  retain(): Promise<RetentionCounts>;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly db: string;
  readonly key: string;
  readonly host: string;
  readonly port: number;
  readonly config?: Partial<EnrollConfig>;
  readonly limits?: Partial<ServerLimits>;
  readonly sync?: 'normal' | 'full';
  readonly log?: Logger;
  readonly now?: () => number;
  /** Create key and database when missing (default); false: refuse to start without them. */
  readonly create?: boolean;
  readonly retention?: Partial<RetentionPolicy>;
  /** Seconds between retention passes (default 60). */
  readonly retentionEvery?: number;
  /** SQLite: largest database in 4 KiB pages. */
  readonly maxPages?: number;
  /** Longest wait for another writer's lock before answering 503, ms (default 1000). */
  readonly lockWaitMs?: number;
  /** PostgreSQL connections of this instance. */
  readonly poolSize?: number;
}

/** Starts the service in this process (used by `serve` and by the tests). */
export async function startPrimary(o: StartOptions): Promise<RunningPrimary & { created: boolean }> {
  const create = o.create ?? true;
  const c = { db: o.db, key: o.key };
  const id = identity(c, create);
  const opts = {
    service: true,
    sync: o.sync ?? 'full',
    ...(o.maxPages ? { maxPages: o.maxPages } : {}),
    ...(o.lockWaitMs ? { lockWaitMs: o.lockWaitMs } : {}),
    ...(o.poolSize ? { poolSize: o.poolSize } : {}),
  } as const;
  const store = create ? await openStore(o.db, opts) : await openExisting(c, opts);
  try {
    await bindKey(store, id, o.key);
  } catch (e) {
    await store.db.close();
    throw e;
  }
  const log = o.log ?? (() => {});
  const now = o.now ?? nowSec;
  const config: EnrollConfig = { ...DEFAULT_ENROLL_CONFIG, ...(o.config ?? {}) };
  const given: ServerLimits = { ...DEFAULT_LIMITS, ...(o.limits ?? {}) };
  // Node refuses a request timeout shorter than the headers timeout.
  const limits: ServerLimits = { ...given, requestTimeout: Math.max(given.requestTimeout, given.headersTimeout) };
  const enroll = new EnrollService(store, id, config, now, nodeRandom, log);
  const pairing = new PairingResponder(store, id, config.window, now, nodeRandom, log);
  const server = createPrimaryServer({ identity: id, enroll, pairing, limits, log });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const policy: RetentionPolicy = { ...DEFAULT_RETENTION, pendingTtl: config.pendingTtl, ...(o.retention ?? {}) };
  const retain = () => store.retain(now(), policy);
  let retaining: Promise<unknown> = Promise.resolve();
  const retention = setInterval(() => {
    retaining = retain().then(
      (n) => {
        if (n.pending + n.revoked + n.tokens + n.audit + n.issued > 0) log('retention', { ...n });
      },
      // busy or full: the next pass tries again
      (e: unknown) => log('retention-error', { error: e instanceof Error ? e.message : String(e) }),
    );
  }, (o.retentionEvery ?? 60) * 1000);
  retention.unref();
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  log('listening', { host: o.host, port, fingerprint: id.fingerprint, backend: store.db.backend, schema: await store.db.schemaVersion() });
  return {
    port,
    host: o.host,
    identity: id,
    store,
    created: id.created,
    retain,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(retention);
        server.close(() => {
          void retaining.then(() => store.db.close()).then(resolve, resolve);
        });
        server.closeAllConnections();
      }),
  };
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    out(USAGE);
    return cmd ? 0 : 2;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    strict: true,
    options: {
      db: { type: 'string' },
      key: { type: 'string' },
      listen: { type: 'string' },
      window: { type: 'string' },
      renew: { type: 'string' },
      rate: { type: 'string' },
      burst: { type: 'string' },
      'max-body': { type: 'string' },
      'max-pending': { type: 'string' },
      'pending-retry': { type: 'string' },
      sync: { type: 'string' },
      quiet: { type: 'boolean' },
      init: { type: 'boolean' },
      'max-connections': { type: 'string' },
      'connections-per-source': { type: 'string' },
      'header-timeout': { type: 'string' },
      'request-timeout': { type: 'string' },
      'trusted-proxy': { type: 'string', multiple: true },
      yes: { type: 'boolean' },
      reinstate: { type: 'boolean' },
      from: { type: 'string' },
      'older-than': { type: 'string' },
      source: { type: 'string' },
      'max-pending-per-source': { type: 'string' },
      'pending-ttl': { type: 'string' },
      'revoked-keep': { type: 'string' },
      'audit-keep': { type: 'string' },
      'token-keep': { type: 'string' },
      'lock-wait': { type: 'string' },
      'max-db-size': { type: 'string' },
      pool: { type: 'string' },
      status: { type: 'string' },
      json: { type: 'boolean' },
      role: { type: 'string' },
      prefix: { type: 'string', multiple: true },
      mode: { type: 'string' },
      ttl: { type: 'string' },
      label: { type: 'string' },
      client: { type: 'boolean' },
      server: { type: 'boolean' },
      'peer-key': { type: 'string' },
      period: { type: 'string' },
      overlap: { type: 'string' },
      'data-aead': { type: 'string' },
      t0: { type: 'string' },
      url: { type: 'string' },
      pairing: { type: 'string' },
      'analyzer-key': { type: 'string' },
      all: { type: 'boolean' },
      'from-gen': { type: 'string' },
      'to-gen': { type: 'string' },
      out: { type: 'string' },
    },
  });
  const c = common(values);
  const now = nowSec();

  switch (cmd) {
    case 'serve': {
      const { host, port } = parseListen((values.listen as string | undefined) ?? '127.0.0.1:8600');
      const sync = (values.sync as string | undefined) ?? 'full';
      if (sync !== 'normal' && sync !== 'full') throw new UsageError('--sync is normal or full');
      const config: Partial<EnrollConfig> = {};
      const window = values.window ? parseDuration(values.window as string, '--window') : undefined;
      const renew = values.renew ? parseDuration(values.renew as string, '--renew') : undefined;
      const retry = values['pending-retry'] ? parseDuration(values['pending-retry'] as string, '--pending-retry') : undefined;
      const maxPending = parseInt10(values['max-pending'] as string | undefined, '--max-pending', 0, 10_000_000);
      if (window !== undefined) Object.assign(config, { window });
      if (renew !== undefined) Object.assign(config, { renewInterval: Math.max(10, renew) });
      // retry_after is 1..86400 on the wire (docs/PROTOCOL.md 7.5)
      if (retry !== undefined) Object.assign(config, { pendingRetry: Math.min(86400, Math.max(1, retry)) });
      if (maxPending !== undefined) Object.assign(config, { maxPending });
      const perSourcePending = parseInt10(values['max-pending-per-source'] as string | undefined, '--max-pending-per-source', 0, 10_000_000);
      if (perSourcePending !== undefined) Object.assign(config, { maxPendingPerSource: perSourcePending });
      if (values['pending-ttl']) Object.assign(config, { pendingTtl: Math.max(60, parseDuration(values['pending-ttl'] as string, '--pending-ttl')) });
      const retention: Partial<RetentionPolicy> = {};
      if (values['revoked-keep']) Object.assign(retention, { revokedKeep: parseDuration(values['revoked-keep'] as string, '--revoked-keep') });
      if (values['audit-keep']) Object.assign(retention, { auditKeep: parseDuration(values['audit-keep'] as string, '--audit-keep') });
      if (values['token-keep']) Object.assign(retention, { tokenKeep: parseDuration(values['token-keep'] as string, '--token-keep') });
      const lockWait = values['lock-wait'] ? parseDuration(values['lock-wait'] as string, '--lock-wait') : undefined;
      const maxDbMiB = parseInt10(values['max-db-size'] as string | undefined, '--max-db-size', 1, 16_000_000);
      const poolSize = parseInt10(values.pool as string | undefined, '--pool', 1, 1000);
      const limits: Partial<ServerLimits> = {};
      const rate = parseInt10(values.rate as string | undefined, '--rate', 0, 1_000_000);
      const burst = parseInt10(values.burst as string | undefined, '--burst', 1, 1_000_000);
      const maxBody = parseInt10(values['max-body'] as string | undefined, '--max-body', 256, 1 << 20);
      if (rate !== undefined) Object.assign(limits, { rate });
      if (burst !== undefined) Object.assign(limits, { burst });
      if (maxBody !== undefined) Object.assign(limits, { maxBody });
      const maxConnections = parseInt10(values['max-connections'] as string | undefined, '--max-connections', 1, 1_000_000);
      const perSource = parseInt10(values['connections-per-source'] as string | undefined, '--connections-per-source', 1, 1_000_000);
      if (maxConnections !== undefined) Object.assign(limits, { maxConnections });
      if (perSource !== undefined) Object.assign(limits, { connectionsPerSource: perSource });
      const headersTimeout = values['header-timeout'] ? parseDuration(values['header-timeout'] as string, '--header-timeout') * 1000 : undefined;
      const requestTimeout = values['request-timeout'] ? parseDuration(values['request-timeout'] as string, '--request-timeout') * 1000 : undefined;
      if (headersTimeout !== undefined) Object.assign(limits, { headersTimeout: Math.max(1000, headersTimeout) });
      if (requestTimeout !== undefined) Object.assign(limits, { requestTimeout: Math.max(1000, requestTimeout) });
      const proxies = (values['trusted-proxy'] as string[] | undefined) ?? [];
      for (const a of proxies) if (isIP(a) === 0) throw new UsageError(`--trusted-proxy '${a}' is not an IP address`);
      if (proxies.length > 0) Object.assign(limits, { trustedProxies: proxies });
      const p = await startPrimary({
        db: c.db,
        key: c.key,
        host,
        port,
        config,
        limits,
        sync,
        log: jsonLogger(Boolean(values.quiet)),
        create: Boolean(values.init),
        retention,
        ...(lockWait !== undefined ? { lockWaitMs: Math.max(50, lockWait * 1000) } : {}),
        ...(maxDbMiB !== undefined ? { maxPages: maxDbMiB * 256 } : {}),
        ...(poolSize !== undefined ? { poolSize } : {}),
      });
      if (p.created) out(`created primary key ${c.key} (mode 0600)`);
      out(`primary public key: ${toHex(p.identity.pk)}`);
      out(`primary fingerprint: ${p.identity.fingerprint}`);
      out(`listening on http://${host.includes(':') ? `[${host}]` : host}:${p.port}`);
      const stop = (sig: string): void => {
        out(`${sig}: shutting down`);
        void p.close().then(() => process.exit(0));
        setTimeout(() => process.exit(0), 3000).unref();
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      return await new Promise<number>(() => {});
    }
    case 'init': {
      const id = identity(c, true);
      const store = await openStore(c.db);
      try {
        await bindKey(store, id, c.key);
      } finally {
        await store.db.close();
      }
      if (id.created) out(`created primary key ${c.key} (mode 0600)`);
      out(`primary public key: ${toHex(id.pk)}`);
      out(`primary fingerprint: ${id.fingerprint}`);
      return 0;
    }
    case 'info': {
      const id = identity(c);
      return withStore(c, async (s) => {
        out(`primary public key: ${toHex(id.pk)}`);
        out(`primary fingerprint: ${id.fingerprint}`);
        out(`database: ${s.db.backend} ${s.db.where} (schema ${await s.db.schemaVersion()})`);
        const n = await s.deviceCounts();
        out(`devices: ${n.approved} approved, ${n.pending} pending, ${n.revoked} revoked`);
        out(`client prefixes: ${(await s.prefixes('client')).join(' ') || '-'}`);
        out(`server prefixes: ${(await s.prefixes('server')).join(' ') || '-'}`);
        out(`pairings: ${(await s.listPairings()).filter((p) => p.status === 'active').length} active`);
        return 0;
      });
    }
    case 'prefix': {
      const [sub, ...ps] = positionals;
      return withStore(c, async (s) => {
        if (sub === 'list') {
          for (const kind of ['client', 'server'] as const) for (const p of await s.prefixes(kind)) out(`${kind}\t${p}`);
          return 0;
        }
        if (sub !== 'add' && sub !== 'remove') throw new UsageError('prefix add|remove|list');
        if (Boolean(values.client) === Boolean(values.server)) throw new UsageError('give --client or --server');
        if (ps.length === 0) throw new UsageError('give at least one prefix');
        const kind = values.client ? 'client' : 'server';
        await s.tx(async (t) => {
          for (const p of ps) {
            if (sub === 'add') out(`added ${kind} prefix ${await t.addPrefix(p, kind, now)}`);
            else out((await t.removePrefix(p, kind, now)) ? `removed ${kind} prefix ${p}` : `${p} was not a ${kind} prefix`);
          }
        });
        if ((await s.listPairings()).some((p) => p.status === 'active' && p.role === kind)) {
          out('note: run `pair update ID` so that peers learn the new prefix list');
        }
        return 0;
      });
    }
    case 'list': {
      const status = values.status as string | undefined;
      if (status && !['pending', 'approved', 'revoked'].includes(status)) throw new UsageError('--status pending|approved|revoked');
      return withStore(c, async (s) => {
        const ds = await s.listDevices(status as Device['status'] | undefined);
        if (values.json) {
          out(JSON.stringify(ds.map(deviceJson), null, 2));
          return 0;
        }
        out('FINGERPRINT                   STATUS    ROLE    PREFIXES                                 LAST SEEN             GRANTS');
        for (const d of ds) {
          const pfx = (d.status === 'pending' ? d.requestedPrefixes.map((p) => `${p}?`) : d.prefixes).join(',') || '-';
          out(`${d.fingerprint}  ${d.status.padEnd(8)}  ${d.role.padEnd(6)}  ${pfx.padEnd(40)} ${fmtTime(d.lastSeen).padEnd(21)} ${d.grants}`);
        }
        return 0;
      });
    }
    case 'purge-pending': {
      if (!values.yes) throw new UsageError('purge-pending forgets pending requests (their devices must ask again): repeat with --yes');
      const olderThan = values['older-than'] ? parseDuration(values['older-than'] as string, '--older-than') : 0;
      const source = values.source as string | undefined;
      if (source !== undefined && isIP(source) === 0) throw new UsageError(`--source '${source}' is not an IP address`);
      return withStore(c, async (s) => {
        const n = await s.purgePending({ before: now - olderThan, ...(source ? { sourceKey: RateLimiter.sourceKey(source) } : {}), now });
        out(`forgot ${n} pending request${n === 1 ? '' : 's'}`);
        return 0;
      });
    }
    case 'approve':
    case 'revoke': {
      const fp = positionals[0];
      if (!fp || normalizeFingerprint(fp) === null) throw new UsageError(`${cmd} needs a device fingerprint (XXXX-XXXX-XXXX-XXXX-XXXX-XXXX)`);
      return withStore(c, async (s) => {
        if (cmd === 'revoke') {
          const d = await s.revoke(fp, now);
          out(`revoked ${d.fingerprint}; it is told so on its next renewal`);
          return 0;
        }
        const d = await s.approve(fp, {
          ...(values.role ? { role: checkRole(values.role as string) } : {}),
          ...(values.prefix ? { prefixes: values.prefix as string[] } : {}),
          ...(values.mode ? { mode: checkMode(values.mode as string) } : {}),
          reinstate: Boolean(values.reinstate),
          now,
        });
        out(`approved ${d.fingerprint} as ${d.role} for ${d.prefixes.join(', ') || 'no prefixes'} (mode ${d.mode})`);
        return 0;
      });
    }
    case 'token': {
      const sub = positionals[0];
      return withStore(c, async (s) => {
        if (sub === 'create') {
          if (!values.role) throw new UsageError('token create needs --role client|server');
          const t = await s.createToken({
            role: checkRole(values.role as string),
            prefixes: (values.prefix as string[] | undefined) ?? [],
            ttl: parseDuration((values.ttl as string | undefined) ?? '1h', '--ttl'),
            ...(values.label ? { label: values.label as string } : {}),
            ...(values.mode ? { mode: checkMode(values.mode as string) } : {}),
            now,
          });
          if (values.json) out(JSON.stringify({ id: t.id, token: t.display, expires: t.expires }));
          else {
            out(t.display);
            process.stderr.write(`token ${t.id}: one use, expires ${fmtTime(t.expires)}; shown once, not stored\n`);
          }
          return 0;
        }
        if (sub === 'list') {
          out('ID   ROLE    STATE     EXPIRES               PREFIXES / LABEL');
          for (const t of await s.listTokens()) {
            const state = t.usedBy !== null ? 'used' : t.expires < now ? 'expired' : 'valid';
            const user = t.usedBy !== null ? ` by ${(await s.deviceById(t.usedBy))?.fingerprint ?? '?'}` : '';
            out(`${String(t.id).padEnd(4)} ${t.role.padEnd(7)} ${state.padEnd(9)} ${fmtTime(t.expires).padEnd(21)} ${t.prefixes.join(',') || '-'} ${t.label}${user}`);
          }
          return 0;
        }
        if (sub === 'delete' && positionals[1]) {
          out((await s.deleteToken(positionals[1], now)) ? 'deleted' : 'no such unused token');
          return 0;
        }
        throw new UsageError('token create|list|delete');
      });
    }
    case 'pair': {
      const sub = positionals[0];
      if (sub === 'accept') {
        if (!values['peer-key']) throw new UsageError('pair accept needs --peer-key HEX');
        const pk = parsePublicKey(values['peer-key'] as string);
        const ttl = parseDuration((values.ttl as string | undefined) ?? '1h', '--ttl');
        await withStore(c, (s) => s.addInvite(pk, ttl, now));
        out(`accepting a pairing from ${fingerprint(pk)} for ${ttl} s`);
        return 0;
      }
      if (sub === 'init') {
        const url = positionals[1];
        if (!url || !values['peer-key']) throw new UsageError('pair init URL --peer-key HEX');
        const id = identity(c);
        return withStore(c, async (s) => {
          const pairingId = await initiatePairing(
            s,
            id,
            {
              url,
              peerPk: parsePublicKey(values['peer-key'] as string),
              period: parseDuration((values.period as string | undefined) ?? '1d', '--period'),
              overlap: parseDuration((values.overlap as string | undefined) ?? '1h', '--overlap'),
              dataAead: parseInt10((values['data-aead'] as string | undefined) ?? '1', '--data-aead', 1, 2)!,
              mode: checkMode((values.mode as string | undefined) ?? 'encrypted'),
              ...(values.t0 ? { t0: parseInt10(values.t0 as string, '--t0', 0, 0xffffffff)! } : {}),
            },
            nowSec,
            nodeRandom,
          );
          out(`paired: ${pairingId} (this primary is the Primary Client; keys confirmed both ways)`);
          return 0;
        });
      }
      if (sub === 'update' && positionals[1]) {
        const id = identity(c);
        return withStore(c, async (s) => {
          const r = await updatePairing(s, id, positionals[1]!, values.url as string | undefined, nowSec, nodeRandom);
          out(`sent ${r.mine.join(', ') || 'no prefixes'}; peer has ${r.peer.join(', ') || 'no prefixes'}`);
          return 0;
        });
      }
      return withStore(c, async (s) => {
        if (sub === 'list') {
          out('ID                ROLE    STATUS   PEER FINGERPRINT               GEN  PERIOD  CLIENT PREFIXES / SERVER PREFIXES');
          for (const p of await s.listPairings()) {
            const g = p.t0 > now ? 0 : Math.floor((now - p.t0) / p.period);
            out(
              `${p.id}  ${p.role.padEnd(6)}  ${p.status.padEnd(7)}  ${fingerprint(p.peerPk)}  ${String(g).padEnd(4)} ${String(p.period).padEnd(7)} ${p.clientPrefixes.join(',') || '-'} / ${p.serverPrefixes.join(',') || '-'}`,
            );
          }
          return 0;
        }
        if (sub === 'revoke' && positionals[1]) {
          if (!values.yes) {
            throw new UsageError(
              `pair revoke wipes the pairing master secret of ${positionals[1]}: its devices lose its keys at their next renewal, and only a new pairing brings measurement back. Repeat with --yes`,
            );
          }
          out((await s.revokePairing(positionals[1], now)) ? `revoked pairing ${positionals[1]} (PMS wiped)` : 'no such active pairing');
          return 0;
        }
        throw new UsageError('pair accept|init|list|revoke|update');
      });
    }
    case 'export-keys': {
      if (!values.pairing || !values['analyzer-key'] || !values.out) throw new UsageError('export-keys --pairing ID --analyzer-key HEX (--all | --prefix P) --out FILE');
      const id = identity(c);
      const file = await withStore(c, (s) =>
        exportAnalyzerKeys(s, id, {
          pairing: values.pairing as string,
          analyzerPk: parsePublicKey(values['analyzer-key'] as string),
          prefixes: (values.prefix as string[] | undefined) ?? [],
          all: Boolean(values.all),
          ...(values['from-gen'] ? { fromGeneration: parseInt10(values['from-gen'] as string, '--from-gen', 0, 0xffffffff)! } : {}),
          ...(values['to-gen'] ? { toGeneration: parseInt10(values['to-gen'] as string, '--to-gen', 0, 0xffffffff)! } : {}),
          now,
        }),
      );
      writeNewFile(values.out as string, file);
      out(`wrote ${file.length} octets to ${values.out as string} (sealed to the analyzer key)`);
      return 0;
    }
    case 'backup': {
      if (!values.out) throw new UsageError('backup --out DIR (a directory that does not exist yet)');
      if (isPostgresUrl(c.db)) throw new UsageError('with PostgreSQL, back up the key file and the database with pg_dump (docs/primary.md, "Backups")');
      const id = identity(c);
      return withStore(c, async (s) => {
        const r = await backupPrimary((s.db as SqliteDatabase).raw, c.key, id, values.out as string);
        out(`backed up key and database (${r.devices} devices, ${r.pairings} pairings) to ${values.out as string}`);
        return 0;
      });
    }
    case 'restore': {
      if (!values.from) throw new UsageError('restore --from DIR --yes');
      if (isPostgresUrl(c.db)) throw new UsageError('with PostgreSQL, restore the database with pg_restore and put the key file back (docs/primary.md, "Backups")');
      if (!values.yes) throw new UsageError(`restore replaces the database ${c.db} with the backup in ${values.from as string}: stop the service, then repeat with --yes`);
      const r = await restorePrimary(values.from as string, c);
      out(`restored ${c.db} (${r.devices} devices, ${r.pairings} pairings) and ${c.key} from ${values.from as string}; fingerprint ${r.fingerprint}`);
      return 0;
    }
    case 'analyzer-keygen': {
      if (!values.out) throw new UsageError('analyzer-keygen --out FILE');
      const k = loadOrCreateKey(values.out as string);
      if (!k.created) throw new UsageError(`${values.out as string} exists; not overwriting`);
      out(`analyzer public key: ${toHex(k.pk)}`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command '${cmd}' (try --help)`);
  }
}

/** Writes a new file 0600; never replaces one (an --out typo must not destroy the key or the database). */
function writeNewFile(path: string, data: Uint8Array): void {
  try {
    writeFileSync(path, data, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new UsageError(`${path} exists; not overwriting it (give a new file name)`);
    throw e;
  }
}

function isMainModule(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMainModule()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      if (e instanceof UsageError || e instanceof AdminError || e instanceof KeyFileError) {
        process.stderr.write(`pdmv2-primary: ${e.message}\n`);
        process.exitCode = 2;
      } else if (e instanceof TypeError && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
        process.stderr.write(`pdmv2-primary: ${e.message}\n`);
        process.exitCode = 2;
      } else {
        process.stderr.write(`pdmv2-primary: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
        process.exitCode = 1;
      }
    },
  );
}
