// The agent's state, split by how often it changes (flash wears out):
//   state_dir/device.key  (flash, 0600) made once; the only file a backup keeps
//   state_dir/grant.json  (flash, 0600) the grant with its secrets; written only
//                         when the grant's content changes (a renewal that
//                         hands out the same keys rewrites nothing)
//   run_dir/state.json    (tmpfs, 0600) everything an attempt changes: status,
//                         times, errors, clock offset, what the kernel holds;
//                         never a secret; gone after a reboot
// Every file is written atomically.
import { fromHex, toHex } from '../../core/src/util/bytes.js';
import { fingerprint } from '../../core/src/enroll/codec.js';
import { FieldError, isObj } from '../../core/src/enroll/json.js';
import { parseGrant, type Grant } from '../../core/src/enroll/messages.js';
import type { KernelPlan } from './agent-kmod.js';
import { createExclusive, mkdirs, readText, removeFile, stat, writeAtomic } from './agent-sys.js';
import { randomBytes } from './qjs-runtime.js';
import { agentKem as kem } from './agent-kem.js';

export interface DeviceKey {
  readonly sk: Uint8Array;
  readonly pk: Uint8Array;
  readonly fingerprint: string;
  readonly created: boolean;
  /** Set when the key file is readable by group/others. */
  readonly warning?: string;
}

export class StateError extends Error {}

/** Loads state_dir/device.key, creating it (0600) on first start. */
export function loadDeviceKey(stateDir: string): DeviceKey {
  mkdirs(stateDir, 0o700);
  const path = `${stateDir}/device.key`;
  let created = false;
  if (stat(path) === null) {
    const kp = kem.generateKeyPair(randomBytes);
    created = createExclusive(path, `${toHex(kp.privateKey)}\n`, 0o600);
  }
  const text = (readText(path) ?? '').trim();
  if (!/^[0-9a-f]{64}$/.test(text)) throw new StateError(`${path} does not hold a device key (64 hex digits); move it away to make a new one`);
  const sk = fromHex(text);
  const pk = kem.publicKeyOf(sk);
  const st = stat(path);
  const warning = st && (st.mode & 0o077) !== 0 ? `${path} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it` : undefined;
  return { sk, pk, fingerprint: fingerprint(pk), created, ...(warning ? { warning } : {}) };
}

export type EnrollStatus = 'new' | 'pending' | 'granted' | 'revoked' | 'rejected' | 'disabled';

export interface AgentState {
  status: EnrollStatus;
  /** The primary key the state belongs to (hex); a different configured key discards the grant. */
  primary_key: string;
  grant: Grant | null;
  /** Primary time − local time, seconds, learned from authenticated answers. */
  clock_offset: number;
  /** Where clock_offset comes from: an authenticated answer of the primary in this boot, or nothing yet. */
  clock_source: 'primary' | null;
  /** What the kernel was last told (for removals). Never includes secrets: keys by id only. */
  installed: { mode: string; keys: { pairing: string; generation: number }[]; peers: { pairing: string; prefix: string }[] };
  last_attempt: number | null;
  last_success: number | null;
  last_error: { code: string; message: string; at: number } | null;
  /** Local time of the next planned enrollment attempt. */
  next_attempt: number | null;
  failures: number;
  fingerprint: string;
  /** Other nft tables whose rules change the agent's mark bit, as found when the table was last loaded. */
  mark_conflicts: string[];
}

export function emptyState(fp: string, primaryKey: string): AgentState {
  return {
    status: 'new',
    primary_key: primaryKey,
    grant: null,
    clock_offset: 0,
    clock_source: null,
    installed: { mode: 'off', keys: [], peers: [] },
    last_attempt: null,
    last_success: null,
    last_error: null,
    next_attempt: null,
    failures: 0,
    fingerprint: fp,
    mark_conflicts: [],
  };
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const STATUSES: readonly EnrollStatus[] = ['new', 'pending', 'granted', 'revoked', 'rejected', 'disabled'];

export const grantPath = (stateDir: string): string => `${stateDir}/grant.json`;
export const runStatePath = (runDir: string): string => `${runDir}/state.json`;
/** state.json in state_dir as versions before the split wrote it (read once, then removed). */
const legacyPath = (stateDir: string): string => `${stateDir}/state.json`;

/** The kernel's boot id: run_dir's state belongs to this boot only (run_dir is tmpfs on a router, not in a test). */
export function bootId(): string {
  return (readText('/proc/sys/kernel/random/boot_id', 64) ?? '').trim();
}

/**
 * What of a grant is worth a flash write: everything but the times that move
 * at each renewal (`issued`, `renew_after`). A renewal handing out the same
 * keys has the same content; `expires` follows the key windows, so it moves
 * only with a new generation.
 */
export function grantContent(g: Grant | null): string {
  if (!g) return 'null';
  const { issued: _i, renew_after: _r, ...rest } = g;
  return JSON.stringify(rest);
}

export interface LoadedState {
  state: AgentState;
  /** Content of the grant on flash as loaded (grantContent), to tell when it must be written. */
  flashGrant: string;
  /** No run-time state of this boot was found: the agent starts after a reboot (or for the first time). */
  fresh: boolean;
  /** The grant came from the single state file of earlier versions, removed by the first save. */
  legacy: boolean;
  warning?: string;
}

function parseRun(o: Record<string, unknown>, s: AgentState): void {
  if (typeof o.status === 'string' && (STATUSES as string[]).includes(o.status)) s.status = o.status as EnrollStatus;
  s.clock_offset = num(o.clock_offset) ?? 0;
  s.clock_source = o.clock_source === 'primary' ? 'primary' : null;
  s.last_attempt = num(o.last_attempt);
  s.last_success = num(o.last_success);
  s.next_attempt = num(o.next_attempt);
  s.failures = num(o.failures) ?? 0;
  if (Array.isArray(o.mark_conflicts)) s.mark_conflicts = o.mark_conflicts.filter((x): x is string => typeof x === 'string');
  if (isObj(o.last_error) && typeof o.last_error.code === 'string' && typeof o.last_error.message === 'string') {
    s.last_error = { code: o.last_error.code, message: o.last_error.message, at: num(o.last_error.at) ?? 0 };
  }
  if (isObj(o.installed)) {
    const inst = o.installed;
    s.installed = {
      mode: typeof inst.mode === 'string' ? inst.mode : 'off',
      keys: Array.isArray(inst.keys) ? (inst.keys as { pairing: string; generation: number }[]).filter((k) => isObj(k)) : [],
      peers: Array.isArray(inst.peers) ? (inst.peers as { pairing: string; prefix: string }[]).filter((k) => isObj(k)) : [],
    };
  }
}

function readJsonObject(path: string): Record<string, unknown> | null {
  const text = readText(path);
  if (text === null) return null;
  const o: unknown = JSON.parse(text);
  if (!isObj(o) || o.v !== 1) throw new FieldError('v', 'unknown state version');
  return o;
}

/**
 * Loads the grant from flash and this boot's run-time state; missing or
 * unreadable files give a fresh state (and a warning). A grant for another
 * device key or primary key is not used. The state file of versions before
 * the split (state_dir/state.json) is taken over once.
 */
export function loadState(stateDir: string, runDir: string, fp: string, primaryKey: string): LoadedState {
  const s = emptyState(fp, primaryKey);
  const warnings: string[] = [];
  let flash: Record<string, unknown> | null = null;
  let run: Record<string, unknown> | null = null;
  let legacy = false;
  try {
    flash = readJsonObject(grantPath(stateDir));
    if (!flash) {
      flash = readJsonObject(legacyPath(stateDir));
      legacy = flash !== null;
    }
  } catch (e) {
    warnings.push(`${grantPath(stateDir)} unreadable (${(e as Error).message}); starting without a grant`);
  }
  try {
    run = readJsonObject(runStatePath(runDir));
    if (run && run.boot_id !== bootId()) run = null;
  } catch (e) {
    warnings.push(`${runStatePath(runDir)} unreadable (${(e as Error).message})`);
  }
  // A file on flash that is not used (another primary or device key) is replaced or removed at the next save.
  let flashGrant = flash ? 'unused' : 'null';
  if (flash && flash.primary_key === primaryKey && flash.fingerprint === fp && isObj(flash.grant)) {
    try {
      s.grant = parseGrant(flash.grant);
      flashGrant = legacy ? '' : grantContent(s.grant);
    } catch (e) {
      warnings.push(`the saved grant is unusable (${(e as Error).message}); enrolling afresh`);
    }
  }
  if (run && run.primary_key === primaryKey && run.fingerprint === fp) parseRun(run, s);
  else if (flash && legacy) {
    // The old single file: its run-time part is of no use after the update but the status.
    parseRun(flash, s);
    s.clock_offset = 0;
    s.clock_source = null;
    if (flash.primary_key !== primaryKey && s.status !== 'disabled') s.status = 'new';
  } else if (s.grant) s.status = 'granted';
  return { state: s, flashGrant, fresh: run === null, legacy, ...(warnings.length ? { warning: warnings.join('; ') } : {}) };
}

/**
 * The local clock is known to be behind: no answer of the primary in this
 * boot, and it reads earlier than the moment the saved grant was issued (a
 * router without RTC after a reboot). The grant's times cannot be judged
 * then, so nothing of it may be installed.
 */
export function clockBehind(s: AgentState, wallNow: number): boolean {
  return s.grant !== null && s.clock_source !== 'primary' && wallNow + s.clock_offset < s.grant.issued;
}

/** Removes the single state file of earlier versions (its grant is in grant.json by now). */
export function removeLegacyState(stateDir: string): void {
  removeFile(legacyPath(stateDir));
}

/** The run-time state (tmpfs): every save. No secret in it. */
export function saveRunState(runDir: string, s: AgentState): void {
  const { grant: _g, ...rest } = s;
  mkdirs(runDir, 0o755);
  writeAtomic(runStatePath(runDir), `${JSON.stringify({ v: 1, boot_id: bootId(), ...rest })}\n`, 0o600);
}

/**
 * The grant on flash, when its content differs from `written` (grantContent
 * of what flash holds). Returns the content flash holds afterwards. No grant:
 * the file is removed (a revoked or wiped grant keeps no secret on flash).
 */
export function saveGrant(stateDir: string, s: AgentState, written: string): string {
  const content = grantContent(s.grant);
  if (content === written) return written;
  if (s.grant) {
    writeAtomic(grantPath(stateDir), `${JSON.stringify({ v: 1, primary_key: s.primary_key, fingerprint: s.fingerprint, grant: s.grant })}\n`, 0o600);
  } else {
    removeFile(grantPath(stateDir));
  }
  return content;
}

/** The installed-plan record from a kernel plan (ids only, no secrets). */
export function installedRecord(p: KernelPlan): AgentState['installed'] {
  return {
    mode: p.mode,
    keys: dedupe(p.keys.map((k) => ({ pairing: k.pairing, generation: k.generation }))),
    peers: p.peers.map((x) => ({ pairing: x.pairing, prefix: x.prefix })),
  };
}

function dedupe(keys: { pairing: string; generation: number }[]): { pairing: string; generation: number }[] {
  const seen = new Set<string>();
  return keys.filter((k) => {
    const id = `${k.pairing} ${k.generation}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
