/**
 * Data access for the primary: prefixes, devices, tokens, pairings, replay
 * nonces, the record of issued secrets and the audit log. Every method is
 * synchronous (better-sqlite3); callers group them in transactions.
 */
import { createHash, randomBytes } from 'node:crypto';
import { formatToken, normalizeFingerprint, normalizeToken, tokenDigest, tokenFromBytes, TOKEN_OCTETS } from '../../core/src/enroll-codec.js';
import { canonicalPrefix, MAX_GRANT_PAIRINGS, MAX_PEER_PREFIXES, MAX_REQUEST_PREFIXES, MODES, ROLES, type DataMode, type Role } from '../../core/src/enroll-messages.js';
import { parsePrefix } from '../../core/src/addr.js';
import { prefixContains } from '../../core/src/keys.js';
import type Database from 'better-sqlite3';
import type { Db } from './db.js';

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

type Row = Record<string, unknown>;

const u8 = (v: unknown): Uint8Array => new Uint8Array(v as Buffer);
const json = (v: unknown): string[] => JSON.parse(v as string) as string[];

function toDevice(r: Row): Device {
  return {
    id: r.id as number,
    pk: u8(r.pk),
    fingerprint: r.fingerprint as string,
    role: r.role as Role,
    status: r.status as DeviceStatus,
    prefixes: json(r.prefixes),
    requestedPrefixes: json(r.requested_prefixes),
    mode: r.mode as DataMode,
    approvedVia: (r.approved_via as string | null) ?? null,
    created: r.created as number,
    updated: r.updated as number,
    lastSeen: (r.last_seen as number | null) ?? null,
    lastSource: (r.last_source as string | null) ?? null,
    lastStatus: (r.last_status as string | null) ?? null,
    grants: r.grants as number,
  };
}

function toToken(r: Row): Token {
  return {
    id: r.id as number,
    label: r.label as string,
    role: r.role as Role,
    prefixes: json(r.prefixes),
    mode: r.mode as DataMode,
    created: r.created as number,
    expires: r.expires as number,
    usedAt: (r.used_at as number | null) ?? null,
    usedBy: (r.used_by as number | null) ?? null,
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
    dataAead: r.data_aead as number,
    mode: r.mode as DataMode,
    t0: r.t0 as number,
    period: r.period as number,
    overlap: r.overlap as number,
    clientPrefixes: json(r.client_prefixes),
    serverPrefixes: json(r.server_prefixes),
    status: r.status as 'active' | 'revoked',
    created: r.created as number,
    updated: r.updated as number,
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

export class Store {
  readonly db: Db;
  private readonly st: Record<string, Database.Statement<unknown[]>>;

  constructor(db: Db) {
    this.db = db;
    const p = (sql: string) => db.prepare<unknown[]>(sql);
    this.st = {
      deviceByPk: p('SELECT * FROM devices WHERE pk = ?'),
      deviceByFp: p('SELECT * FROM devices WHERE fingerprint = ?'),
      deviceById: p('SELECT * FROM devices WHERE id = ?'),
      insertDevice: p(`INSERT INTO devices (pk, fingerprint, role, status, prefixes, requested_prefixes, mode, approved_via, created, updated)
                       VALUES (@pk, @fingerprint, @role, @status, @prefixes, @requested, @mode, @via, @now, @now)`),
      seen: p(`UPDATE devices SET last_seen = @now, last_source = @source, last_status = @status,
                 requested_prefixes = CASE WHEN status = 'pending' THEN @requested ELSE requested_prefixes END,
                 role = CASE WHEN status = 'pending' THEN @role ELSE role END,
                 grants = grants + @granted WHERE id = @id`),
      countPending: p(`SELECT count(*) AS n FROM devices WHERE status = 'pending'`),
      insertNonce: p('INSERT OR IGNORE INTO nonces (pk, nonce, expires) VALUES (?, ?, ?)'),
      purgeNonces: p('DELETE FROM nonces WHERE expires < ?'),
      tokenByDigest: p('SELECT * FROM tokens WHERE digest = ?'),
      useToken: p('UPDATE tokens SET used_at = ?, used_by = ? WHERE id = ? AND used_by IS NULL'),
      activePairings: p(`SELECT * FROM pairings WHERE status = 'active' AND role = ? ORDER BY created`),
      issuedGet: p('SELECT digest FROM issued WHERE device_id = ? AND pairing_id = ? AND generation = ? AND prefix = ?'),
      issuedPut: p('INSERT OR IGNORE INTO issued (device_id, pairing_id, generation, prefix, digest, first_at) VALUES (?, ?, ?, ?, ?, ?)'),
      audit: p('INSERT INTO audit (ts, event, subject, detail) VALUES (?, ?, ?, ?)'),
      prefixesOf: p('SELECT prefix FROM prefixes WHERE kind = ? ORDER BY prefix'),
    };
  }

  private get(name: string, ...args: unknown[]): Row | undefined {
    return this.st[name]!.get(...args) as Row | undefined;
  }

  private run(name: string, ...args: unknown[]): number {
    return this.st[name]!.run(...args).changes;
  }

  tx<T>(f: () => T): T {
    return this.db.transaction(f).immediate();
  }

  audit(now: number, event: string, subject: string | null, detail?: unknown): void {
    this.run('audit', now, event, subject, detail === undefined ? null : JSON.stringify(detail));
  }

  // ---- prefixes ------------------------------------------------------------------------------

  prefixes(kind: Role): string[] {
    return (this.st.prefixesOf!.all(kind) as Row[]).map((r) => r.prefix as string);
  }

  addPrefix(prefix: string, kind: Role, now: number): string {
    const p = prefixText(prefix);
    const own = this.prefixes(kind);
    if (own.includes(p)) return p;
    // The list travels whole as a pairing's peer_prefixes, which a receiver limits.
    if (own.length >= MAX_PEER_PREFIXES) throw new AdminError(`a primary has at most ${MAX_PEER_PREFIXES} ${kind} prefixes (docs/PROTOCOL.md 7.5)`);
    this.db.prepare('INSERT OR IGNORE INTO prefixes (prefix, kind, created) VALUES (?, ?, ?)').run(p, kind, now);
    this.audit(now, 'prefix-add', p, { kind });
    return p;
  }

  removePrefix(prefix: string, kind: Role, now: number): boolean {
    const p = prefixText(prefix);
    const n = this.db.prepare('DELETE FROM prefixes WHERE prefix = ? AND kind = ?').run(p, kind).changes;
    if (n) this.audit(now, 'prefix-remove', p, { kind });
    return n > 0;
  }

  /**
   * Prefixes a device of `role` may be authorised for: a client prefix must be
   * one of this primary's client prefixes exactly (CS(P) is derived for that
   * exact P, the peer finds it by longest match); a server prefix must lie
   * within one of its server prefixes.
   */
  checkAuthorisable(role: Role, prefixes: readonly string[]): void {
    const own = this.prefixes(role);
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

  deviceByPk(pk: Uint8Array): Device | null {
    const r = this.get('deviceByPk', pk);
    return r ? toDevice(r) : null;
  }

  deviceByFingerprint(fp: string): Device | null {
    const n = normalizeFingerprint(fp);
    if (n === null) throw new AdminError(`'${fp}' is not a fingerprint (24 base32 characters)`);
    const r = this.get('deviceByFp', n);
    return r ? toDevice(r) : null;
  }

  deviceById(id: number): Device | null {
    const r = this.get('deviceById', id);
    return r ? toDevice(r) : null;
  }

  insertDevice(d: {
    pk: Uint8Array;
    fingerprint: string;
    role: Role;
    status: DeviceStatus;
    prefixes: readonly string[];
    requested: readonly string[];
    mode: DataMode;
    via: string | null;
    now: number;
  }): Device {
    this.run('insertDevice', {
      pk: d.pk,
      fingerprint: d.fingerprint,
      role: d.role,
      status: d.status,
      prefixes: JSON.stringify(d.prefixes),
      requested: JSON.stringify(d.requested),
      mode: d.mode,
      via: d.via,
      now: d.now,
    });
    return this.deviceByPk(d.pk)!;
  }

  setAuthorisation(id: number, a: { status: DeviceStatus; role: Role; prefixes: readonly string[]; mode: DataMode; via: string | null; now: number }): void {
    this.db
      .prepare('UPDATE devices SET status = ?, role = ?, prefixes = ?, mode = ?, approved_via = ?, updated = ? WHERE id = ?')
      .run(a.status, a.role, JSON.stringify(a.prefixes), a.mode, a.via, a.now, id);
  }

  noteSeen(id: number, s: { now: number; source: string; status: string; requested: readonly string[]; role: Role; granted: boolean }): void {
    this.run('seen', {
      id,
      now: s.now,
      source: s.source,
      status: s.status,
      requested: JSON.stringify(s.requested),
      role: s.role,
      granted: s.granted ? 1 : 0,
    });
  }

  pendingCount(): number {
    return (this.get('countPending') as { n: number }).n;
  }

  listDevices(status?: DeviceStatus): Device[] {
    const rows = status
      ? (this.db.prepare('SELECT * FROM devices WHERE status = ? ORDER BY id').all(status) as Row[])
      : (this.db.prepare('SELECT * FROM devices ORDER BY id').all() as Row[]);
    return rows.map(toDevice);
  }

  /** approve FP: from pending (or revoked, explicitly) to approved, with the given or the requested scope. */
  approve(fp: string, o: { role?: Role; prefixes?: readonly string[]; mode?: DataMode; reinstate?: boolean; now: number }): Device {
    return this.tx(() => {
      const d = this.deviceByFingerprint(fp);
      if (!d) throw new AdminError(`no device with fingerprint ${fp} has asked to enroll`);
      if (d.status === 'revoked' && !o.reinstate) {
        throw new AdminError(`${d.fingerprint} was revoked${d.updated ? ` at ${new Date(d.updated * 1000).toISOString()}` : ''}; to trust it again give --reinstate`);
      }
      const role = o.role ?? d.role;
      const prefixes = devicePrefixes(o.prefixes ?? (d.status === 'approved' ? d.prefixes : d.requestedPrefixes));
      if (role === 'client' && prefixes.length === 0) throw new AdminError('a client device needs at least one prefix (--prefix)');
      this.checkAuthorisable(role, prefixes);
      const mode = o.mode ?? d.mode;
      this.setAuthorisation(d.id, { status: 'approved', role, prefixes, mode, via: 'fingerprint', now: o.now });
      this.audit(o.now, 'approve', d.fingerprint, { role, prefixes, mode, from: d.status });
      return this.deviceById(d.id)!;
    });
  }

  revoke(fp: string, now: number): Device {
    return this.tx(() => {
      const d = this.deviceByFingerprint(fp);
      if (!d) throw new AdminError(`no device with fingerprint ${fp}`);
      this.db.prepare(`UPDATE devices SET status = 'revoked', updated = ? WHERE id = ?`).run(now, d.id);
      this.audit(now, 'revoke', d.fingerprint, { from: d.status });
      return this.deviceById(d.id)!;
    });
  }

  // ---- tokens --------------------------------------------------------------------------------

  createToken(o: { role: Role; prefixes: readonly string[]; ttl: number; label?: string; mode?: DataMode; now: number }): { token: string; display: string; id: number; expires: number } {
    const prefixes = devicePrefixes(o.prefixes);
    if (o.role === 'client' && prefixes.length === 0) throw new AdminError('a client token needs at least one prefix (--prefix)');
    this.checkAuthorisable(o.role, prefixes);
    if (!Number.isInteger(o.ttl) || o.ttl < 1 || o.ttl > 365 * 86400) throw new AdminError('token lifetime must be 1 s .. 365 days');
    const wire = tokenFromBytes(new Uint8Array(randomBytes(TOKEN_OCTETS)));
    const expires = o.now + o.ttl;
    const r = this.db
      .prepare('INSERT INTO tokens (digest, label, role, prefixes, mode, created, expires) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(tokenDigest(wire), o.label ?? '', o.role, JSON.stringify(prefixes), o.mode ?? 'encrypted', o.now, expires);
    this.audit(o.now, 'token-create', String(r.lastInsertRowid), { role: o.role, prefixes, expires, label: o.label ?? '' });
    return { token: wire, display: formatToken(wire), id: Number(r.lastInsertRowid), expires };
  }

  tokenByWire(wire: string): Token | null {
    const r = this.get('tokenByDigest', tokenDigest(wire));
    return r ? toToken(r) : null;
  }

  /** Marks a token used by `deviceId`; false when another use got there first. */
  useToken(id: number, deviceId: number, now: number): boolean {
    return this.run('useToken', now, deviceId, id) === 1;
  }

  listTokens(): Token[] {
    return (this.db.prepare('SELECT * FROM tokens ORDER BY id').all() as Row[]).map(toToken);
  }

  deleteToken(idOrToken: string, now: number): boolean {
    const wire = normalizeToken(idOrToken);
    const n = wire
      ? this.db.prepare('DELETE FROM tokens WHERE digest = ? AND used_by IS NULL').run(tokenDigest(wire)).changes
      : this.db.prepare('DELETE FROM tokens WHERE id = ? AND used_by IS NULL').run(Number(idOrToken)).changes;
    if (n) this.audit(now, 'token-delete', idOrToken.slice(0, 12));
    return n > 0;
  }

  // ---- replay nonces -------------------------------------------------------------------------

  /** Records (pk, nonce) until `expires`; false when it was already there (a replay). */
  rememberNonce(pk: Uint8Array, nonce: Uint8Array, expires: number): boolean {
    return this.run('insertNonce', pk, nonce, expires) === 1;
  }

  purgeNonces(now: number): number {
    return this.run('purgeNonces', now);
  }

  // ---- issued secrets ------------------------------------------------------------------------

  /**
   * Records that `device` received the secret with `digest` for (pairing,
   * generation, prefix). Returns false if a different secret was recorded
   * before for the same slot, which must never happen (derivation is
   * deterministic); the caller then refuses to answer.
   */
  recordIssued(deviceId: number, pairing: string, generation: number, prefix: string, digest: Uint8Array, now: number): boolean {
    if (this.run('issuedPut', deviceId, pairing, generation, prefix, digest, now) === 1) return true;
    const r = this.get('issuedGet', deviceId, pairing, generation, prefix);
    return r !== undefined && Buffer.compare(r.digest as Buffer, Buffer.from(digest)) === 0;
  }

  // ---- pairings ------------------------------------------------------------------------------

  activePairings(role: Role): Pairing[] {
    return (this.st.activePairings!.all(role) as Row[]).map(toPairing);
  }

  listPairings(): Pairing[] {
    return (this.db.prepare('SELECT * FROM pairings ORDER BY created').all() as Row[]).map(toPairing);
  }

  pairing(id: string): Pairing | null {
    const r = this.db.prepare('SELECT * FROM pairings WHERE id = ?').get(id) as Row | undefined;
    return r ? toPairing(r) : null;
  }

  activePairingWith(peerPk: Uint8Array): Pairing | null {
    const r = this.db.prepare(`SELECT * FROM pairings WHERE peer_pk = ? AND status = 'active'`).get(peerPk) as Row | undefined;
    return r ? toPairing(r) : null;
  }

  insertPairing(p: Omit<Pairing, 'status' | 'created' | 'updated'>, now: number): void {
    // Every active pairing of a role can concern one device, and a grant lists at most MAX_GRANT_PAIRINGS.
    if (this.activePairings(p.role).length >= MAX_GRANT_PAIRINGS) {
      throw new AdminError(`this primary has ${MAX_GRANT_PAIRINGS} active ${p.role} pairings, the most one grant can carry (docs/PROTOCOL.md 7.5): revoke one first`);
    }
    this.db
      .prepare(
        `INSERT INTO pairings (id, role, peer_pk, peer_url, pms, suite, data_aead, mode, t0, period, overlap,
                               client_prefixes, server_prefixes, status, created, updated)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)`,
      )
      .run(
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
      );
    this.audit(now, 'pair', p.id, { role: p.role, peer: Buffer.from(p.peerPk).toString('hex'), suite: p.suite });
  }

  setPairingPrefixes(id: string, kind: Role, prefixes: readonly string[], now: number): void {
    const col = kind === 'client' ? 'client_prefixes' : 'server_prefixes';
    this.db.prepare(`UPDATE pairings SET ${col} = ?, updated = ? WHERE id = ?`).run(JSON.stringify(prefixes), now, id);
    this.audit(now, 'pair-update', id, { [col]: prefixes });
  }

  revokePairing(id: string, now: number): boolean {
    const n = this.db.prepare(`UPDATE pairings SET status = 'revoked', updated = ? WHERE id = ? AND status = 'active'`).run(now, id).changes;
    if (n) {
      // The PMS is no longer needed by anyone: wipe it from the database.
      this.db.prepare('UPDATE pairings SET pms = zeroblob(32) WHERE id = ?').run(id);
      this.audit(now, 'unpair', id);
    }
    return n > 0;
  }

  addInvite(peerPk: Uint8Array, ttl: number, now: number): void {
    this.db.prepare('INSERT OR REPLACE INTO pair_invites (peer_pk, created, expires) VALUES (?, ?, ?)').run(peerPk, now, now + ttl);
    this.audit(now, 'pair-accept', Buffer.from(peerPk).toString('hex'), { expires: now + ttl });
  }

  inviteValid(peerPk: Uint8Array, now: number): boolean {
    const r = this.db.prepare('SELECT expires FROM pair_invites WHERE peer_pk = ?').get(peerPk) as Row | undefined;
    return r !== undefined && (r.expires as number) >= now;
  }

  dropInvite(peerPk: Uint8Array): void {
    this.db.prepare('DELETE FROM pair_invites WHERE peer_pk = ?').run(peerPk);
  }

  addSession(id: Uint8Array, peerPk: Uint8Array, offer: Uint8Array, choice: Uint8Array, expires: number): void {
    this.db.prepare('DELETE FROM pair_sessions WHERE expires < ?').run(expires - 3600);
    this.db.prepare('INSERT INTO pair_sessions (id, peer_pk, offer, choice, expires) VALUES (?, ?, ?, ?, ?)').run(id, peerPk, offer, choice, expires);
  }

  /** Removes and returns a session: each one is used at most once. */
  takeSession(id: Uint8Array, now: number): { peerPk: Uint8Array; offer: Uint8Array; choice: Uint8Array } | null {
    const r = this.db.prepare('SELECT * FROM pair_sessions WHERE id = ?').get(id) as Row | undefined;
    if (!r) return null;
    this.db.prepare('DELETE FROM pair_sessions WHERE id = ?').run(id);
    if ((r.expires as number) < now) return null;
    return { peerPk: u8(r.peer_pk), offer: u8(r.offer), choice: u8(r.choice) };
  }

  meta(key: string): string | null {
    const r = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as Row | undefined;
    return r ? (r.value as string) : null;
  }

  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(key, value);
  }
}

/** SHA-256 of a secret's hex form, for the issued-secrets record. */
export function secretDigest(hex: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(hex, 'ascii').digest());
}
