// The agent's persistent state: the device key (state_dir/device.key, 0600)
// and state.json (0600, the only place besides the kernel where secrets are
// kept). Both are written atomically.
import { fromHex, toHex } from '../../core/src/util/bytes.js';
import { fingerprint } from '../../core/src/enroll/codec.js';
import { FieldError, isObj } from '../../core/src/enroll/json.js';
import { parseGrant, type Grant } from '../../core/src/enroll/messages.js';
import type { KernelPlan } from './agent-kmod.js';
import { createExclusive, mkdirs, readText, stat, writeAtomic } from './agent-sys.js';
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
  /** What the kernel was last told (for removals). Never includes secrets: keys by id only. */
  installed: { mode: string; keys: { pairing: string; generation: number }[]; peers: { pairing: string; prefix: string }[] };
  last_attempt: number | null;
  last_success: number | null;
  last_error: { code: string; message: string; at: number } | null;
  /** Local time of the next planned enrollment attempt. */
  next_attempt: number | null;
  failures: number;
  fingerprint: string;
}

export function emptyState(fp: string, primaryKey: string): AgentState {
  return {
    status: 'new',
    primary_key: primaryKey,
    grant: null,
    clock_offset: 0,
    installed: { mode: 'off', keys: [], peers: [] },
    last_attempt: null,
    last_success: null,
    last_error: null,
    next_attempt: null,
    failures: 0,
    fingerprint: fp,
  };
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Loads state.json; a missing or unreadable file gives a fresh state (and a warning). */
export function loadState(stateDir: string, fp: string, primaryKey: string): { state: AgentState; warning?: string } {
  const path = `${stateDir}/state.json`;
  const text = readText(path);
  if (text === null) return { state: emptyState(fp, primaryKey) };
  try {
    const o: unknown = JSON.parse(text);
    if (!isObj(o) || o.v !== 1) throw new FieldError('v', 'unknown state version');
    const s = emptyState(fp, primaryKey);
    const statuses: EnrollStatus[] = ['new', 'pending', 'granted', 'revoked', 'rejected', 'disabled'];
    if (typeof o.status === 'string' && (statuses as string[]).includes(o.status)) s.status = o.status as EnrollStatus;
    s.clock_offset = num(o.clock_offset) ?? 0;
    s.last_attempt = num(o.last_attempt);
    s.last_success = num(o.last_success);
    s.next_attempt = num(o.next_attempt);
    s.failures = num(o.failures) ?? 0;
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
    if (o.primary_key === primaryKey && o.fingerprint === fp && o.grant !== null && o.grant !== undefined) {
      s.grant = parseGrant(o.grant);
    } else if (o.primary_key !== primaryKey) {
      if (s.status !== 'disabled') s.status = 'new';
    }
    return { state: s };
  } catch (e) {
    return { state: emptyState(fp, primaryKey), warning: `${path} unreadable (${(e as Error).message}); starting afresh` };
  }
}

export function saveState(stateDir: string, s: AgentState): void {
  writeAtomic(`${stateDir}/state.json`, `${JSON.stringify({ v: 1, ...s })}\n`, 0o600);
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
