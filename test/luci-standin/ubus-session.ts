// Stand-in for rpcd's session object and ACLs (docs/luci.md "What is stood
// in"): logins from a UCI file shaped like /etc/config/rpcd (`config login`
// with username, password, `list read` / `list write` ACL group patterns),
// ACL groups from acl.d JSON files as rpcd reads them (read patterns grant a
// group's read part, write patterns its write part), sessions kept as files
// because every request is a new CGI process.
//
// Access is what rpcd grants: a user's `read` patterns select ACL groups
// whose "read" part is granted, `write` patterns those whose "write" part is
// too. A part maps scopes to objects and functions: "ubus": {object:
// [method...]} grants (ubus, object, method); "uci": [config...] grants (uci,
// config, "read") from a read part and (uci, config, "write") from a write
// part; the group itself as (access-group, group, read|write), which LuCI's
// menu checks. Objects and functions may be shell patterns ('*').
import { parseUci } from '../../firmware/src/agent-uci.js';
import { mkdirs, readBytes, readText, removeFile, wallSeconds, writeAtomic } from '../../firmware/src/agent-sys.js';
import * as os from 'os';

/** rpcd's session id of the anonymous session, which may call session.login. */
export const ANONYMOUS_SID = '00000000000000000000000000000000';
export const SESSION_TIMEOUT_S = 300;

/** scope -> object -> functions */
export type Grants = Record<string, Record<string, string[]>>;

export interface Session {
  readonly sid: string;
  readonly username: string;
  readonly acls: Grants;
  expires: number;
  /** Staged UCI changes per config: [op, section, option?, value?] as `uci changes` shows them. */
  changes: Record<string, [string, string, string?, (string | string[])?][]>;
}

export interface StandinPaths {
  readonly aclDir: string;
  readonly users: string;
  readonly state: string;
}

/** Shell pattern match with '*' and '?' (fnmatch without brackets), as rpcd matches ACL entries. */
export function globMatch(pattern: string, s: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return re.test(s);
}

type AclPart = Record<string, unknown>;
type AclGroups = Record<string, { read?: AclPart; write?: AclPart }>;

function listDir(dir: string): string[] {
  const [names, err] = (os as { readdir(p: string): [string[], number] }).readdir(dir);
  return err === 0 ? names.filter((n) => n !== '.' && n !== '..').sort() : [];
}

/** Every ACL group of every *.json file in the directory (a file may define several). */
export function loadAclGroups(dir: string): AclGroups {
  const groups: AclGroups = {};
  for (const name of listDir(dir)) {
    if (!name.endsWith('.json')) continue;
    const text = readText(`${dir}/${name}`);
    if (text === null) continue;
    Object.assign(groups, JSON.parse(text) as AclGroups);
  }
  return groups;
}

function grant(into: Grants, part: AclPart | undefined, level: 'read' | 'write'): void {
  if (!part) return;
  for (const [scope, val] of Object.entries(part)) {
    const objs = (into[scope] ??= {});
    if (scope === 'uci' && Array.isArray(val)) {
      for (const config of val as string[]) (objs[config] ??= []).push(level);
    } else if (val && typeof val === 'object' && !Array.isArray(val)) {
      for (const [obj, fns] of Object.entries(val as Record<string, unknown>)) {
        if (Array.isArray(fns)) (objs[obj] ??= []).push(...(fns as string[]));
      }
    }
  }
}

/** The grants of a user with these read and write patterns. */
export function grantsFor(groups: AclGroups, read: readonly string[], write: readonly string[]): Grants {
  const g: Grants = {};
  const groupAccess = (name: string, level: string): void => {
    ((g['access-group'] ??= {})[name] ??= []).push(level);
  };
  for (const [name, group] of Object.entries(groups)) {
    if (read.some((p) => globMatch(p, name))) {
      grant(g, group.read, 'read');
      groupAccess(name, 'read');
    }
    if (write.some((p) => globMatch(p, name))) {
      grant(g, group.write, 'write');
      groupAccess(name, 'write');
    }
  }
  return g;
}

export function allowed(acls: Grants, scope: string, object: string, fn: string): boolean {
  const objs = acls[scope];
  if (!objs) return false;
  return Object.entries(objs).some(([o, fns]) => globMatch(o, object) && fns.some((f) => globMatch(f, fn)));
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class SessionStore {
  constructor(readonly paths: StandinPaths) {
    mkdirs(`${paths.state}/sessions`, 0o700);
  }

  private file(sid: string): string {
    return `${this.paths.state}/sessions/${sid}.json`;
  }

  /** The anonymous session: the groups named "unauthenticated", as rpcd sets it up. */
  anonymous(): Session {
    const groups = loadAclGroups(this.paths.aclDir);
    return { sid: ANONYMOUS_SID, username: '', acls: grantsFor(groups, ['unauthenticated'], []), expires: Infinity, changes: {} };
  }

  get(sid: unknown): Session | null {
    if (sid === ANONYMOUS_SID) return this.anonymous();
    if (typeof sid !== 'string' || !/^[0-9a-f]{32}$/.test(sid)) return null;
    const text = readText(this.file(sid));
    if (text === null) return null;
    const s = JSON.parse(text) as Session;
    if (s.expires <= wallSeconds()) {
      removeFile(this.file(sid));
      return null;
    }
    return s;
  }

  /** Saves the session and extends it by the session timeout, as every rpcd access does. */
  touch(s: Session): void {
    if (s.sid === ANONYMOUS_SID) return;
    s.expires = wallSeconds() + SESSION_TIMEOUT_S;
    writeAtomic(this.file(s.sid), JSON.stringify(s), 0o600);
  }

  /** A new session for a login from the users file, or null when the name or password is wrong. */
  login(username: unknown, password: unknown): Session | null {
    if (typeof username !== 'string' || typeof password !== 'string') return null;
    const text = readText(this.paths.users);
    if (text === null) return null;
    const user = parseUci(text, this.paths.users).find((s) => s.type === 'login' && s.options.username === username);
    if (!user || user.options.password === undefined || !constantTimeEqual(user.options.password, password)) return null;
    const groups = loadAclGroups(this.paths.aclDir);
    const acls = grantsFor(groups, user.lists.read ?? [], user.lists.write ?? []);
    const random = readBytes('/dev/urandom', 16);
    if (!random || random.length !== 16) throw new Error('no randomness for a session id');
    const s: Session = { sid: hex(random), username, acls, expires: 0, changes: {} };
    this.touch(s);
    return s;
  }

  destroy(s: Session): void {
    if (s.sid !== ANONYMOUS_SID) removeFile(this.file(s.sid));
  }
}

function constantTimeEqual(a: string, b: string): boolean {
  let d = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) d |= (a.charCodeAt(i % (a.length || 1)) ^ b.charCodeAt(i % (b.length || 1))) & 0xff;
  return d === 0;
}
