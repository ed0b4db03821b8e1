// Stand-in for rpcd's `uci` ubus object, the subset LuCI's uci.js and the
// pdmv2 views use (docs/luci.md): get, set, delete, changes, revert, apply,
// confirm, rollback. As in rpcd: set and delete stage changes in the caller's
// session, get shows the session's view (committed file + staged changes),
// apply commits them (the file is rewritten from its sections, comments are
// not kept, as libuci's commit does) and triggers the reload of what changed;
// apply with rollback must be confirmed within the timeout or the old files
// come back. Access: uci read or write of the config, from the session's ACL.
//
// The reload trigger (procd's reload_config -> the service's reload): runs
// `/etc/init.d/CONFIG reload` when that init script exists (the lab's
// /etc/rc.common is the stand-in rc.common next to this file).
import { parseUci, quoteUci, UciError, type UciSection } from '../../firmware/src/agent-uci.js';
import { isFile, readText, removeFile, spawn, wallSeconds, writeAtomic } from '../../firmware/src/agent-sys.js';
import { allowed, type Session } from './ubus-session.js';

// ubus status codes (libubus ubusmsg.h)
export const UBUS = {
  OK: 0,
  INVALID_COMMAND: 1,
  INVALID_ARGUMENT: 2,
  METHOD_NOT_FOUND: 3,
  NOT_FOUND: 4,
  NO_DATA: 5,
  PERMISSION_DENIED: 6,
  TIMEOUT: 7,
  NOT_SUPPORTED: 8,
  UNKNOWN_ERROR: 9,
} as const;

export type UbusReply = [number] | [number, Record<string, unknown>];
type Change = Session['changes'][string][number];

const NAME_RE = /^[A-Za-z0-9_]+$/;

export interface UciContext {
  readonly confDir: string;
  readonly state: string;
  readonly initDir: string;
  /** When set, init scripts run as `sh RC_COMMON SCRIPT reload` (their #! names /etc/rc.common). */
  readonly rcCommon?: string;
}

interface Loaded {
  sections: UciSection[];
}

function load(ctx: UciContext, config: string): Loaded | number {
  if (!NAME_RE.test(config)) return UBUS.INVALID_ARGUMENT;
  const text = readText(`${ctx.confDir}/${config}`);
  if (text === null) return UBUS.NOT_FOUND;
  try {
    return { sections: parseUci(text, `${ctx.confDir}/${config}`) };
  } catch (e) {
    if (e instanceof UciError) return UBUS.UNKNOWN_ERROR; // libuci: UCI_ERR_PARSE
    throw e;
  }
}

function applyChanges(sections: UciSection[], changes: readonly Change[]): void {
  for (const [op, section, option, value] of changes) {
    const s = sections.find((x) => x.name === section);
    if (!s) continue;
    if (op === 'set' && option !== undefined) {
      delete s.options[option];
      delete s.lists[option];
      if (Array.isArray(value)) s.lists[option] = [...value];
      else if (value !== undefined) s.options[option] = value;
    } else if (op === 'remove' && option !== undefined) {
      delete s.options[option];
      delete s.lists[option];
    }
  }
}

function serialize(sections: readonly UciSection[]): string {
  const out: string[] = [];
  for (const s of sections) {
    out.push(s.anonymous ? `config ${s.type}` : `config ${s.type} ${quoteUci(s.name)}`);
    for (const [k, v] of Object.entries(s.options)) out.push(`\toption ${k} ${quoteUci(v)}`);
    for (const [k, vs] of Object.entries(s.lists)) for (const v of vs) out.push(`\tlist ${k} ${quoteUci(v)}`);
    out.push('');
  }
  return out.join('\n');
}

function sectionValues(s: UciSection, index: number): Record<string, unknown> {
  return { '.anonymous': s.anonymous, '.type': s.type, '.name': s.name, '.index': index, ...s.options, ...s.lists };
}

function str(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0;
}

interface Rollback {
  deadline: number;
  files: Record<string, string>;
}

export class UciObject {
  constructor(readonly ctx: UciContext) {}

  private get rollbackFile(): string {
    return `${this.ctx.state}/uci-rollback.json`;
  }

  /** An unconfirmed apply whose time is up is undone before anything else happens (rpcd does it on a timer). */
  async expireRollback(): Promise<void> {
    const text = readText(this.rollbackFile);
    if (text === null) return;
    const r = JSON.parse(text) as Rollback;
    if (r.deadline > wallSeconds()) return;
    for (const [config, content] of Object.entries(r.files)) writeAtomic(`${this.ctx.confDir}/${config}`, content, 0o644);
    removeFile(this.rollbackFile);
    for (const config of Object.keys(r.files)) await this.reload(config, 'rollback');
  }

  private async reload(config: string, cause: string): Promise<void> {
    const script = `${this.ctx.initDir}/${config}`;
    if (!isFile(script)) return;
    const argv = this.ctx.rcCommon ? ['/bin/sh', this.ctx.rcCommon, script, 'reload'] : [script, 'reload'];
    const t0 = Date.now();
    let how: string;
    try {
      // 140 ms in a quiet lab; generous for a guest starved by a loaded host (killed, the change would be half applied)
      const r = await spawn(argv, { timeoutMs: 120000, maxStdout: 65536 });
      how = r.killed ? `killed (${r.killed})` : `exit ${r.code}`;
    } catch (e) {
      how = `failed: ${(e as Error).message}`;
    }
    // what ran when: the lab's artifacts keep it (qemu/scenarios/luci.sh)
    const log = `${this.ctx.state}/reloads.log`;
    writeAtomic(log, `${readText(log) ?? ''}${new Date().toISOString()} ${config} reload (${cause}): ${how} after ${Date.now() - t0} ms\n`, 0o644);
  }

  async call(session: Session, method: string, args: Record<string, unknown>): Promise<UbusReply> {
    const config = args.config;
    const needs = (level: 'read' | 'write'): boolean => str(config) && allowed(session.acls, 'uci', config, level);
    switch (method) {
      case 'get': {
        if (!str(config)) return [UBUS.INVALID_ARGUMENT];
        if (!needs('read')) return [UBUS.PERMISSION_DENIED];
        const l = load(this.ctx, config);
        if (typeof l === 'number') return [l];
        applyChanges(l.sections, session.changes[config] ?? []);
        if (str(args.section)) {
          const i = l.sections.findIndex((s) => s.name === args.section);
          if (i < 0) return [UBUS.NOT_FOUND];
          const v = sectionValues(l.sections[i]!, i);
          if (str(args.option)) return args.option in v ? [UBUS.OK, { value: v[args.option] }] : [UBUS.NOT_FOUND];
          return [UBUS.OK, { values: v }];
        }
        const values: Record<string, unknown> = {};
        l.sections.forEach((s, i) => (values[s.name] = sectionValues(s, i)));
        return [UBUS.OK, { values }];
      }
      case 'set':
      case 'delete': {
        if (!str(config) || !str(args.section)) return [UBUS.INVALID_ARGUMENT];
        if (!needs('write')) return [UBUS.PERMISSION_DENIED];
        const l = load(this.ctx, config);
        if (typeof l === 'number') return [l];
        if (!l.sections.some((s) => s.name === args.section)) return [UBUS.NOT_FOUND];
        const staged = (session.changes[config] ??= []);
        if (method === 'set') {
          const values = args.values;
          if (!values || typeof values !== 'object') return [UBUS.INVALID_ARGUMENT];
          for (const [k, v] of Object.entries(values as Record<string, unknown>)) {
            if (!NAME_RE.test(k)) return [UBUS.INVALID_ARGUMENT];
            if (typeof v === 'string') staged.push(['set', args.section, k, v]);
            else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) staged.push(['set', args.section, k, v as string[]]);
            else return [UBUS.INVALID_ARGUMENT];
          }
        } else {
          const opts = str(args.option) ? [args.option] : Array.isArray(args.options) ? (args.options as unknown[]) : null;
          if (!opts || !opts.every(str)) return [UBUS.NOT_SUPPORTED]; // deleting whole sections: not needed by the views
          for (const o of opts) staged.push(['remove', args.section, o]);
        }
        return [UBUS.OK];
      }
      case 'changes': {
        const out: Record<string, unknown> = {};
        for (const [c, ch] of Object.entries(session.changes)) if (ch.length && allowed(session.acls, 'uci', c, 'read')) out[c] = ch;
        return [UBUS.OK, { changes: out }];
      }
      case 'revert': {
        if (!str(config)) return [UBUS.INVALID_ARGUMENT];
        if (!needs('write')) return [UBUS.PERMISSION_DENIED];
        delete session.changes[config];
        return [UBUS.OK];
      }
      case 'apply': {
        if (isFile(this.rollbackFile)) return [UBUS.UNKNOWN_ERROR]; // rpcd: an apply awaits confirmation
        const configs = Object.keys(session.changes).filter((c) => session.changes[c]!.length);
        if (configs.some((c) => !allowed(session.acls, 'uci', c, 'write'))) return [UBUS.PERMISSION_DENIED];
        if (configs.length === 0) return [UBUS.NO_DATA];
        const before: Record<string, string> = {};
        const applied: Record<string, string> = {};
        for (const c of configs) {
          const l = load(this.ctx, c);
          if (typeof l === 'number') return [l];
          before[c] = readText(`${this.ctx.confDir}/${c}`) ?? '';
          // which options changed, never their values (the token and keys live here)
          applied[c] = [...new Set(session.changes[c]!.map(([op, section, option]) => `${op} ${section}${option ? `.${option}` : ''}`))].join(', ');
          applyChanges(l.sections, session.changes[c]!);
          writeAtomic(`${this.ctx.confDir}/${c}`, serialize(l.sections), 0o644);
        }
        session.changes = {};
        const timeout = typeof args.timeout === 'number' ? args.timeout : 30;
        const armRollback = (): void => {
          if (args.rollback === true) writeAtomic(this.rollbackFile, JSON.stringify({ deadline: wallSeconds() + timeout, files: before } satisfies Rollback), 0o600);
        };
        // A rollback file first: a crash during the reloads still rolls back.
        armRollback();
        for (const c of configs) await this.reload(c, `apply: ${applied[c]}`);
        // rpcd answers apply at once and procd reloads afterwards, so the client's
        // time to confirm starts with the answer; here the answer waits for the
        // reloads, and on a starved guest LuCI's switch-on was rolled back.
        armRollback();
        return [UBUS.OK];
      }
      case 'confirm':
        if (!isFile(this.rollbackFile)) return [UBUS.NO_DATA];
        removeFile(this.rollbackFile);
        return [UBUS.OK];
      default:
        return [UBUS.METHOD_NOT_FOUND];
    }
  }
}
