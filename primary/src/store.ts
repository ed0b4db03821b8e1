/**
 * Data access for the primary: prefixes, devices, tokens, pairings, replay
 * nonces, the record of issued secrets and the audit log, over the
 * asynchronous SQL interface (sql.ts: SQLite or PostgreSQL). Callers group
 * methods in transactions with tx(), and inside one use only the Store it
 * hands them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { formatToken, normalizeFingerprint, normalizeToken, tokenDigest, tokenFromBytes, TOKEN_OCTETS } from '../../core/src/enroll/codec.js';
import { canonicalPrefix, MAX_GRANT_PAIRINGS, MAX_PEER_PREFIXES, MAX_REQUEST_PREFIXES, MODES, ROLES, type DataMode, type Role } from '../../core/src/enroll/messages.js';
import { parsePrefix } from '../../core/src/wire/addr.js';
import { prefixContains } from '../../core/src/keys/schedule.js';
import type { Row, Sql, SqlDatabase } from './sql.js';

export type DeviceStatus = 'pending' | 'approved' | 'revoked';

export interface Device {
  readonly id: number;
  readonly pk: Uint8Array;
  readonly fingerprint: string;
  readonly role: Role;
  readonly status: DeviceStatus;
  readonly prefixes: string[];
  readonly requestedPrefixes: string[];
  readonly mode: DataMode;
  readonly approvedVia: string | null;
  readonly created: number;
  readonly updated: number;
  readonly lastSeen: number | null;
  readonly lastSource: string | null;
  readonly lastStatus: string | null;
  readonly grants: number;
}

export interface Token {
  readonly id: number;
  readonly label: string;
  readonly role: Role;
  readonly prefixes: string[];
  readonly mode: DataMode;
  readonly created: number;
  readonly expires: number;
  readonly usedAt: number | null;
  readonly usedBy: number | null;
}

export interface Pairing {
  readonly id: string;
  readonly role: Role;
  readonly peerPk: Uint8Array;
  readonly peerUrl: string | null;
  readonly pms: Uint8Array;
  readonly suite: string;
  readonly dataAead: number;
  readonly mode: DataMode;
  readonly t0: number;
  readonly period: number;
  readonly overlap: number;
  readonly clientPrefixes: string[];
  readonly serverPrefixes: string[];
  readonly status: 'active' | 'revoked';
  readonly created: number;
  readonly updated: number;
}

export class AdminError extends Error {}

const u8 = (v: unknown): Uint8Array => new Uint8Array(v as Buffer);
const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const json = (v: unknown): string[] => JSON.parse(v as string) as string[];

function toDevice(r: Row): Device {
  return {
    id: num(r.id),
    pk: u8(r.pk),
    fingerprint: r.fingerprint as string,
    role: r.role as Role,
    status: r.status as DeviceStatus,
    prefixes: json(r.prefixes),
    requestedPrefixes: json(r.requested_prefixes),
    mode: r.mode as DataMode,
    approvedVia: (r.approved_via as string | null) ?? null,
    created: num(r.created),
    updated: num(r.updated),
    lastSeen: numOrNull(r.last_seen),
    lastSource: (r.last_source as string | null) ?? null,
    lastStatus: (r.last_status as string | null) ?? null,
    grants: num(r.grants),
  };
}

function toToken(r: Row): Token {
  return {
    id: num(r.id),
    label: r.label as string,
    role: r.role as Role,
    prefixes: json(r.prefixes),
    mode: r.mode as DataMode,
    created: num(r.created),
    expires: num(r.expires),
    usedAt: numOrNull(r.used_at),
    usedBy: numOrNull(r.used_by),
  };
}

function toPairing(r: Row): Pairing {
  return {
    id: r.id as string,
    role: r.role as Role,
    peerPk: u8(r.peer_pk),
    peerUrl: (r.peer_url as string | null) ?? null,
    pms: u8(r.pms),
    suite: r.suite as string,
    dataAead: num(r.data_aead),
    mode: r.mode as DataMode,
    t0: num(r.t0),
    period: num(r.period),
    overlap: num(r.overlap),
    clientPrefixes: json(r.client_prefixes),
    serverPrefixes: json(r.server_prefixes),
    status: r.status as 'active' | 'revoked',
    created: num(r.created),
    updated: num(r.updated),
  };
}

export function checkRole(role: string): Role {
  if (!(ROLES as readonly string[]).includes(role)) throw new AdminError(`role must be client or server, not '${role}'`);
  return role as Role;
}

export function checkMode(mode: string): DataMode {
  if (!(MODES as readonly string[]).includes(mode)) throw new AdminError(`mode must be one of ${MODES.join(', ')}`);
  return mode as DataMode;
}

/** A device's prefixes travel in one grant's `prefixes` list: at most MAX_REQUEST_PREFIXES. */
export function devicePrefixes(prefixes: readonly string[]): string[] {
  const out = prefixes.map(prefixText);
  if (new Set(out).size !== out.length) throw new AdminError('a prefix is given twice');
  if (out.length > MAX_REQUEST_PREFIXES) {
    throw new AdminError(`a device holds at most ${MAX_REQUEST_PREFIXES} prefixes (a grant's limit, docs/PROTOCOL.md 7.5); ${out.length} given`);
  }
  return out;
}

export function prefixText(p: string): string {
  try {
    return canonicalPrefix(p, 'prefix');
  } catch (e) {
    throw new AdminError((e as Error).message);
  }
}

export interface RetentionPolicy {
  /** A pending request is forgotten this long after it was made (s); the device may ask again. */
  readonly pendingTtl: number;
  /** A revoked device, its issued record and its spent token are deleted this long after the revocation (s). */
  readonly revokedKeep: number;
  /** Audit entries are kept this long (s). */
  readonly auditKeep: number;
  /** An unspent token is deleted this long after it expired (s). */
  readonly tokenKeep: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = {
  pendingTtl: 7 * 86400,
  revokedKeep: 90 * 86400,
  auditKeep: 365 * 86400,
  tokenKeep: 30 * 86400,
};

export interface RetentionCounts {
  nonces: number;
  pending: number;
  issued: number;
  revoked: number;
  tokens: number;
  audit: number;
  sessions: number;
}

export class Store {
  constructor(
    private readonly sql: Sql,
    readonly db: SqlDatabase,
    private readonly inTx = false,
  ) {}

  static open(db: SqlDatabase): Store {
    return new Store(db, db);
  }

  /** Runs `f` in one transaction with a Store bound to it (inside a transaction: in that one). */
  tx<T>(f: (s: Store) => Promise<T>): Promise<T> {
    if (this.inTx) return f(this);
    return this.db.transaction((sql) => f(new Store(sql, this.db, true)));
  }

  async audit(now: number, event: string, subject: string | null, detail?: unknown): Promise<void> {
    await this.sql.run('INSERT INTO audit (ts, event, subject, detail) VALUES (?, ?, ?, ?)', [now, event, subject, detail === undefined ? null : JSON.stringify(detail)]);
  }

  // ---- prefixes ------------------------------------------------------------------------------

  async prefixes(kind: Role): Promise<string[]> {
    return (await this.sql.all('SELECT prefix FROM prefixes WHERE kind = ? ORDER BY prefix', [kind])).map((r) => r.prefix as string);
  }

  addPrefix(prefix: string, kind: Role, now: number): Promise<string> {
    const p = prefixText(prefix);
    return this.tx(async (s) => {
      const own = await s.prefixes(kind);
      if (own.includes(p)) return p;
      // The list travels whole as a pairing's peer_prefixes, which a receiver limits.
      if (own.length >= MAX_PEER_PREFIXES) throw new AdminError(`a primary has at most ${MAX_PEER_PREFIXES} ${kind} prefixes (docs/PROTOCOL.md 7.5)`);
      await s.sql.run('INSERT INTO prefixes (prefix, kind, created) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', [p, kind, now]);
      await s.audit(now, 'prefix-add', p, { kind });
      return p;
    });
  }

  async removePrefix(prefix: string, kind: Role, now: number): Promise<boolean> {
    const p = prefixText(prefix);
    return this.tx(async (s) => {
      const n = await s.sql.run('DELETE FROM prefixes WHERE prefix = ? AND kind = ?', [p, kind]);
      if (n) await s.audit(now, 'prefix-remove', p, { kind });
      return n > 0;
    });
  }

  /**
   * Prefixes a device of `role` may be authorised for: a client prefix must be
   * one of this primary's client prefixes exactly (CS(P) is derived for that
   * exact P, the peer finds it by longest match); a server prefix must lie
   * within one of its server prefixes.
   */
  async checkAuthorisable(role: Role, prefixes: readonly string[]): Promise<void> {
    const own = await this.prefixes(role);
    for (const p of prefixes) {
      const ok =
        role === 'client'
          ? own.includes(p)
          : own.some((o) => {
              const a = parsePrefix(o);
              const b = parsePrefix(p);
              return b.length >= a.length && prefixContains(a, b.address);
            });
      if (!ok) {
        throw new AdminError(
          role === 'client'
            ? `${p} is not one of this primary's client prefixes (add it: prefix add --client ${p})`
            : `${p} is not within this primary's server prefixes (add one: prefix add --server ...)`,
        );
      }
    }
  }

  // ---- devices -------------------------------------------------------------------------------

  async deviceByPk(pk: Uint8Array): Promise<Device | null> {
    const r = await this.sql.get('SELECT * FROM devices WHERE pk = ?', [pk]);
    return r ? toDevice(r) : null;
  }

  async deviceByFingerprint(fp: string): Promise<Device | null> {
    const n = normalizeFingerprint(fp);
    if (n === null) throw new AdminError(`'${fp}' is not a fingerprint (24 base32 characters)`);
    const r = await this.sql.get('SELECT * FROM devices WHERE fingerprint = ?', [n]);
    return r ? toDevice(r) : null;
  }

  async deviceById(id: number): Promise<Device | null> {
    const r = await this.sql.get('SELECT * FROM devices WHERE id = ?', [id]);
    return r ? toDevice(r) : null;
  }

  async insertDevice(d: {
    pk: Uint8Array;
    fingerprint: string;
    role: Role;
    status: DeviceStatus;
    prefixes: readonly string[];
    requested: readonly string[];
    mode: DataMode;
    via: string | null;
    source?: string | null;
    now: number;
  }): Promise<Device> {
    const r = await this.sql.get(
      `INSERT INTO devices (pk, fingerprint, role, status, prefixes, requested_prefixes, mode, approved_via, first_source, created, updated)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
      [d.pk, d.fingerprint, d.role, d.status, JSON.stringify(d.prefixes), JSON.stringify(d.requested), d.mode, d.via, d.source ?? null, d.now, d.now],
    );
    return toDevice(r!);
  }

  async setAuthorisation(id: number, a: { status: DeviceStatus; role: Role; prefixes: readonly string[]; mode: DataMode; via: string | null; now: number }): Promise<void> {
    await this.sql.run('UPDATE devices SET status = ?, role = ?, prefixes = ?, mode = ?, approved_via = ?, updated = ? WHERE id = ?', [
      a.status,
      a.role,
      JSON.stringify(a.prefixes),
      a.mode,
      a.via,
      a.now,
      id,
    ]);
  }

  async noteSeen(id: number, s: { now: number; source: string; status: string; requested: readonly string[]; role: Role; granted: boolean }): Promise<void> {
    await this.sql.run(
      `UPDATE devices SET last_seen = ?, last_source = ?, last_status = ?,
         requested_prefixes = CASE WHEN status = 'pending' THEN ? ELSE requested_prefixes END,
         role = CASE WHEN status = 'pending' THEN ? ELSE role END,
         grants = grants + ? WHERE id = ?`,
      [s.now, s.source, s.status, JSON.stringify(s.requested), s.role, s.granted ? 1 : 0, id],
    );
  }

  /**
   * Serialises additions to the approval queue until this transaction ends,
   * so that counting against the caps and adding are one step. SQLite's
   * write transactions are serial already; PostgreSQL's (READ COMMITTED, on
   * several instances) take a transaction-scoped advisory lock. Only the
   * rare creation of a pending device takes it, never a renewal.
   */
  async lockPendingQueue(): Promise<void> {
    if (this.db.backend === 'postgres') await this.sql.get('SELECT pg_advisory_xact_lock(7362618) AS locked');
  }

  /** Pending requests made after `since` (older ones have expired), from `sourceKey` when given. */
  async pendingCount(since: number, sourceKey?: string): Promise<number> {
    const r =
      sourceKey === undefined
        ? await this.sql.get(`SELECT count(*) AS n FROM devices WHERE status = 'pending' AND created >= ?`, [since])
        : await this.sql.get(`SELECT count(*) AS n FROM devices WHERE status = 'pending' AND first_source = ? AND created >= ?`, [sourceKey, since]);
    return Number(r!.n);
  }

  /** Forgets a pending device (only a pending one: nothing was ever granted to it). */
  async deletePending(id: number): Promise<boolean> {
    return (await this.sql.run(`DELETE FROM devices WHERE id = ? AND status = 'pending'`, [id])) === 1;
  }

  /** Administrator's purge of pending requests: made at or before `before`, from `sourceKey` when given. */
  purgePending(o: { before: number; sourceKey?: string; now: number }): Promise<number> {
    return this.tx(async (s) => {
      const n =
        o.sourceKey === undefined
          ? await s.sql.run(`DELETE FROM devices WHERE status = 'pending' AND created <= ?`, [o.before])
          : await s.sql.run(`DELETE FROM devices WHERE status = 'pending' AND created <= ? AND first_source = ?`, [o.before, o.sourceKey]);
      if (n) await s.audit(o.now, 'purge-pending', null, { count: n, before: o.before, source: o.sourceKey ?? null });
      return n;
    });
  }

  async listDevices(status?: DeviceStatus): Promise<Device[]> {
    const rows = status ? await this.sql.all('SELECT * FROM devices WHERE status = ? ORDER BY id', [status]) : await this.sql.all('SELECT * FROM devices ORDER BY id');
    return rows.map(toDevice);
  }

  async deviceCounts(): Promise<Record<DeviceStatus, number>> {
    const out: Record<DeviceStatus, number> = { pending: 0, approved: 0, revoked: 0 };
    for (const r of await this.sql.all('SELECT status, count(*) AS n FROM devices GROUP BY status')) out[r.status as DeviceStatus] = Number(r.n);
    return out;
  }

  /** approve FP: from pending (or revoked, with `reinstate`) to approved, with the given or the requested scope. */
  approve(fp: string, o: { role?: Role; prefixes?: readonly string[]; mode?: DataMode; reinstate?: boolean; now: number }): Promise<Device> {
    return this.tx(async (s) => {
      const d = await s.deviceByFingerprint(fp);
      if (!d) throw new AdminError(`no device with fingerprint ${fp} has asked to enroll`);
      if (d.status === 'revoked' && !o.reinstate) {
        throw new AdminError(`${d.fingerprint} was revoked at ${new Date(d.updated * 1000).toISOString()}; to trust it again give --reinstate`);
      }
      const role = o.role ?? d.role;
      const prefixes = devicePrefixes(o.prefixes ?? (d.status === 'approved' ? d.prefixes : d.requestedPrefixes));
      if (role === 'client' && prefixes.length === 0) throw new AdminError('a client device needs at least one prefix (--prefix)');
      await s.checkAuthorisable(role, prefixes);
      const mode = o.mode ?? d.mode;
      await s.setAuthorisation(d.id, { status: 'approved', role, prefixes, mode, via: 'fingerprint', now: o.now });
      await s.audit(o.now, 'approve', d.fingerprint, { role, prefixes, mode, from: d.status });
      return (await s.deviceById(d.id))!;
    });
  }

  revoke(fp: string, now: number): Promise<Device> {
    return this.tx(async (s) => {
      const d = await s.deviceByFingerprint(fp);
      if (!d) throw new AdminError(`no device with fingerprint ${fp}`);
      await s.sql.run(`UPDATE devices SET status = 'revoked', updated = ? WHERE id = ?`, [now, d.id]);
      await s.audit(now, 'revoke', d.fingerprint, { from: d.status });
      return (await s.deviceById(d.id))!;
    });
  }

  // ---- tokens --------------------------------------------------------------------------------

  createToken(o: { role: Role; prefixes: readonly string[]; ttl: number; label?: string; mode?: DataMode; now: number }): Promise<{ token: string; display: string; id: number; expires: number }> {
    const prefixes = devicePrefixes(o.prefixes);
    if (o.role === 'client' && prefixes.length === 0) throw new AdminError('a client token needs at least one prefix (--prefix)');
    if (!Number.isInteger(o.ttl) || o.ttl < 1 || o.ttl > 365 * 86400) throw new AdminError('token lifetime must be 1 s .. 365 days');
    return this.tx(async (s) => {
      await s.checkAuthorisable(o.role, prefixes);
      const wire = tokenFromBytes(new Uint8Array(randomBytes(TOKEN_OCTETS)));
      const expires = o.now + o.ttl;
      const r = await s.sql.get('INSERT INTO tokens (digest, label, role, prefixes, mode, created, expires) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id', [
        tokenDigest(wire),
        o.label ?? '',
        o.role,
        JSON.stringify(prefixes),
        o.mode ?? 'encrypted',
        o.now,
        expires,
      ]);
      const id = Number(r!.id);
      await s.audit(o.now, 'token-create', String(id), { role: o.role, prefixes, expires, label: o.label ?? '' });
      return { token: wire, display: formatToken(wire), id, expires };
    });
  }

  async tokenByWire(wire: string): Promise<Token | null> {
    const r = await this.sql.get('SELECT * FROM tokens WHERE digest = ?', [tokenDigest(wire)]);
    return r ? toToken(r) : null;
  }

  /** Marks a token used by `deviceId`; false when another use got there first. */
  async useToken(id: number, deviceId: number, now: number): Promise<boolean> {
    return (await this.sql.run('UPDATE tokens SET used_at = ?, used_by = ? WHERE id = ? AND used_by IS NULL', [now, deviceId, id])) === 1;
  }

  async listTokens(): Promise<Token[]> {
    return (await this.sql.all('SELECT * FROM tokens ORDER BY id')).map(toToken);
  }

  deleteToken(idOrToken: string, now: number): Promise<boolean> {
    const wire = normalizeToken(idOrToken);
    return this.tx(async (s) => {
      const n = wire
        ? await s.sql.run('DELETE FROM tokens WHERE digest = ? AND used_by IS NULL', [tokenDigest(wire)])
        : /^\d+$/.test(idOrToken)
          ? await s.sql.run('DELETE FROM tokens WHERE id = ? AND used_by IS NULL', [Number(idOrToken)])
          : 0;
      if (n) await s.audit(now, 'token-delete', idOrToken.slice(0, 12));
      return n > 0;
    });
  }

  // ---- replay nonces -------------------------------------------------------------------------

  /** Records (pk, nonce) until `expires`; false when it was already there (a replay). */
  async rememberNonce(pk: Uint8Array, nonce: Uint8Array, expires: number): Promise<boolean> {
    return (await this.sql.run('INSERT INTO nonces (pk, nonce, expires) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', [pk, nonce, expires])) === 1;
  }

  async purgeNonces(now: number): Promise<number> {
    return this.sql.run('DELETE FROM nonces WHERE expires < ?', [now]);
  }

  // ---- issued secrets ------------------------------------------------------------------------

  /**
   * Records that `device` received the secret with `digest` for (pairing,
   * generation, prefix). Returns false if a different secret was recorded
   * before for the same slot, which must never happen (derivation is
   * deterministic); the caller then refuses to answer.
   */
  async recordIssued(deviceId: number, pairing: string, generation: number, prefix: string, digest: Uint8Array, now: number): Promise<boolean> {
    const put = await this.sql.run(
      'INSERT INTO issued (device_id, pairing_id, generation, prefix, digest, first_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      [deviceId, pairing, generation, prefix, digest, now],
    );
    if (put === 1) return true;
    const r = await this.sql.get('SELECT digest FROM issued WHERE device_id = ? AND pairing_id = ? AND generation = ? AND prefix = ?', [deviceId, pairing, generation, prefix]);
    return r !== undefined && Buffer.compare(r.digest as Buffer, Buffer.from(digest)) === 0;
  }

  // ---- pairings ------------------------------------------------------------------------------

  async activePairings(role: Role): Promise<Pairing[]> {
    return (await this.sql.all(`SELECT * FROM pairings WHERE status = 'active' AND role = ? ORDER BY created, id`, [role])).map(toPairing);
  }

  async listPairings(): Promise<Pairing[]> {
    return (await this.sql.all('SELECT * FROM pairings ORDER BY created, id')).map(toPairing);
  }

  async pairing(id: string): Promise<Pairing | null> {
    const r = await this.sql.get('SELECT * FROM pairings WHERE id = ?', [id]);
    return r ? toPairing(r) : null;
  }

  async activePairingWith(peerPk: Uint8Array): Promise<Pairing | null> {
    const r = await this.sql.get(`SELECT * FROM pairings WHERE peer_pk = ? AND status = 'active'`, [peerPk]);
    return r ? toPairing(r) : null;
  }

  insertPairing(p: Omit<Pairing, 'status' | 'created' | 'updated'>, now: number): Promise<void> {
    return this.tx(async (s) => {
      // Every active pairing of a role can concern one device, and a grant lists at most MAX_GRANT_PAIRINGS.
      if ((await s.activePairings(p.role)).length >= MAX_GRANT_PAIRINGS) {
        throw new AdminError(`this primary has ${MAX_GRANT_PAIRINGS} active ${p.role} pairings, the most one grant can carry (docs/PROTOCOL.md 7.5): revoke one first`);
      }
      await s.sql.run(
        `INSERT INTO pairings (id, role, peer_pk, peer_url, pms, suite, data_aead, mode, t0, period, overlap,
                               client_prefixes, server_prefixes, status, created, updated)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)`,
        [
          p.id,
          p.role,
          p.peerPk,
          p.peerUrl,
          p.pms,
          p.suite,
          p.dataAead,
          p.mode,
          p.t0,
          p.period,
          p.overlap,
          JSON.stringify(p.clientPrefixes),
          JSON.stringify(p.serverPrefixes),
          now,
          now,
        ],
      );
      await s.audit(now, 'pair', p.id, { role: p.role, peer: Buffer.from(p.peerPk).toString('hex'), suite: p.suite });
    });
  }

  async setPairingPrefixes(id: string, kind: Role, prefixes: readonly string[], now: number): Promise<void> {
    const col = kind === 'client' ? 'client_prefixes' : 'server_prefixes';
    await this.sql.run(`UPDATE pairings SET ${col} = ?, updated = ? WHERE id = ?`, [JSON.stringify(prefixes), now, id]);
    await this.audit(now, 'pair-update', id, { [col]: prefixes });
  }

  async setPairingUrl(id: string, url: string): Promise<void> {
    await this.sql.run('UPDATE pairings SET peer_url = ? WHERE id = ?', [url, id]);
  }

  revokePairing(id: string, now: number): Promise<boolean> {
    return this.tx(async (s) => {
      // The PMS is no longer needed by anyone: wipe it from the database in the same statement.
      const n = await s.sql.run(`UPDATE pairings SET status = 'revoked', pms = ?, updated = ? WHERE id = ? AND status = 'active'`, [Buffer.alloc(32), now, id]);
      if (n) await s.audit(now, 'unpair', id);
      return n > 0;
    });
  }

  async addInvite(peerPk: Uint8Array, ttl: number, now: number): Promise<void> {
    await this.tx(async (s) => {
      await s.sql.run(
        'INSERT INTO pair_invites (peer_pk, created, expires) VALUES (?, ?, ?) ON CONFLICT (peer_pk) DO UPDATE SET created = excluded.created, expires = excluded.expires',
        [peerPk, now, now + ttl],
      );
      await s.audit(now, 'pair-accept', Buffer.from(peerPk).toString('hex'), { expires: now + ttl });
    });
  }

  async inviteValid(peerPk: Uint8Array, now: number): Promise<boolean> {
    const r = await this.sql.get('SELECT expires FROM pair_invites WHERE peer_pk = ?', [peerPk]);
    return r !== undefined && Number(r.expires) >= now;
  }

  async dropInvite(peerPk: Uint8Array): Promise<void> {
    await this.sql.run('DELETE FROM pair_invites WHERE peer_pk = ?', [peerPk]);
  }

  async addSession(id: Uint8Array, peerPk: Uint8Array, offer: Uint8Array, choice: Uint8Array, expires: number): Promise<void> {
    await this.sql.run('INSERT INTO pair_sessions (id, peer_pk, offer, choice, expires) VALUES (?, ?, ?, ?, ?)', [id, peerPk, offer, choice, expires]);
  }

  /** Removes and returns a session: each one is used at most once (also across instances: DELETE ... RETURNING). */
  async takeSession(id: Uint8Array, now: number): Promise<{ peerPk: Uint8Array; offer: Uint8Array; choice: Uint8Array } | null> {
    const r = await this.sql.get('DELETE FROM pair_sessions WHERE id = ? RETURNING *', [id]);
    if (!r || Number(r.expires) < now) return null;
    return { peerPk: u8(r.peer_pk), offer: u8(r.offer), choice: u8(r.choice) };
  }

  async meta(key: string): Promise<string | null> {
    const r = await this.sql.get('SELECT value FROM meta WHERE key = ?', [key]);
    return r ? (r.value as string) : null;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.sql.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
  }

  // ---- retention -----------------------------------------------------------------------------

  /**
   * Deletes what no longer serves a purpose, each kind in its own short
   * transaction (a long one would hold the write lock against enrollments):
   * expired nonces and pairing sessions, expired pending requests, issued
   * records of generations no grant will carry again (older than the one
   * before the current) and of inactive pairings, revoked devices past
   * `revokedKeep` with their records, unspent tokens past `tokenKeep` after
   * expiry, audit entries past `auditKeep`.
   */
  async retain(now: number, policy: RetentionPolicy = DEFAULT_RETENTION): Promise<RetentionCounts> {
    const c: RetentionCounts = { nonces: 0, pending: 0, issued: 0, revoked: 0, tokens: 0, audit: 0, sessions: 0 };
    c.nonces = await this.tx((s) => s.purgeNonces(now));
    c.sessions = await this.tx(
      async (s) =>
        (await s.sql.run('DELETE FROM pair_sessions WHERE expires < ?', [now])) + (await s.sql.run('DELETE FROM pair_invites WHERE expires < ?', [now])),
    );
    c.pending = await this.tx((s) => s.sql.run(`DELETE FROM devices WHERE status = 'pending' AND created < ?`, [now - policy.pendingTtl]));
    for (const p of [...(await this.activePairings('client')), ...(await this.activePairings('server'))]) {
      const current = p.t0 > now ? 0 : Math.floor((now - p.t0) / p.period);
      c.issued += await this.tx((s) => s.sql.run('DELETE FROM issued WHERE pairing_id = ? AND generation < ?', [p.id, current - 1]));
    }
    c.issued += await this.tx((s) => s.sql.run(`DELETE FROM issued WHERE pairing_id NOT IN (SELECT id FROM pairings WHERE status = 'active')`));
    for (;;) {
      const ids = (await this.sql.all(`SELECT id FROM devices WHERE status = 'revoked' AND updated < ? ORDER BY id LIMIT 500`, [now - policy.revokedKeep])).map((r) => Number(r.id));
      if (ids.length === 0) break;
      await this.tx(async (s) => {
        for (const id of ids) {
          c.issued += await s.sql.run('DELETE FROM issued WHERE device_id = ?', [id]);
          c.tokens += await s.sql.run('DELETE FROM tokens WHERE used_by = ?', [id]);
          c.revoked += await s.sql.run(`DELETE FROM devices WHERE id = ? AND status = 'revoked'`, [id]);
        }
      });
    }
    c.tokens += await this.tx((s) => s.sql.run('DELETE FROM tokens WHERE used_by IS NULL AND expires < ?', [now - policy.tokenKeep]));
    c.audit = await this.tx((s) => s.sql.run('DELETE FROM audit WHERE ts < ?', [now - policy.auditKeep]));
    if (c.pending + c.revoked + c.tokens + c.audit > 0) {
      await this.tx((s) => s.audit(now, 'retention', null, { pending: c.pending, revoked: c.revoked, tokens: c.tokens, audit: c.audit, issued: c.issued }));
    }
    return c;
  }
}

/** SHA-256 of a secret's hex form, for the issued-secrets record. */
export function secretDigest(hex: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(hex, 'ascii').digest());
}
