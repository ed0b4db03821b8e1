// The agent's configuration: UCI /etc/config/pdmv2, section 'main' (or the
// first section of type 'pdmv2'). See docs/agent.md for every option. Pure.
import { fromHex } from '../../core/src/util/bytes.js';
import { normalizeToken } from '../../core/src/enroll/codec.js';
import { canonicalPrefix, MODES, ROLES, type DataMode, type Role } from '../../core/src/enroll/messages.js';
import { parseUci, type UciSection } from './agent-uci.js';

export const DEFAULT_CONFIG_PATH = '/etc/config/pdmv2';

/**
 * Bit 24: outside what the common OpenWrt packages use (sqm-scripts
 * IPT_MASK 0xff, mwan3 mmx_mask 0x3F00, pbr fw_mask 0x00ff0000; fw4 sets
 * none unless a rule says so). docs/agent.md "Packet mark".
 */
export const DEFAULT_MARK = 0x01000000;

export type HttpClient = 'auto' | 'uclient-fetch' | 'curl' | 'wget';

export interface AgentConfig {
  readonly path: string;
  readonly section: string;
  readonly enabled: boolean;
  readonly primaryUrl: string;
  /** null when not configured (the agent then cannot enroll). */
  readonly primaryKey: Uint8Array | null;
  readonly role: Role;
  readonly prefixes: readonly string[];
  readonly interfaces: readonly string[];
  readonly mode: DataMode;
  readonly token: string | null;
  readonly stateDir: string;
  readonly runDir: string;
  readonly control: string;
  readonly nftFile: string;
  /** nft binary; '' = write the ruleset file only. */
  readonly nft: string;
  /** Packet-mark bit(s) the nft table sets and the module's mark_mask. */
  readonly mark: number;
  /** Seconds between checks that the kernel and the loaded nft table are what they should be. */
  readonly checkInterval: number;
  readonly httpClient: HttpClient;
  readonly httpTimeout: number;
  readonly maxResponse: number;
  readonly pollMax: number;
  readonly retryMin: number;
  readonly retryMax: number;
  /** Problems that stop enrollment (shown by status). */
  readonly errors: readonly string[];
}

function bool(v: string | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  return ['1', 'yes', 'on', 'true', 'enabled'].includes(v.toLowerCase());
}

function int(v: string | undefined, dflt: number, min: number, max: number, name: string, errors: string[]): number {
  if (v === undefined || v === '') return dflt;
  const n = /^0x[0-9a-f]+$/i.test(v) ? parseInt(v, 16) : /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    errors.push(`option ${name} '${v}' must be an integer ${min}..${max}`);
    return dflt;
  }
  return n;
}

export function findSection(sections: UciSection[]): UciSection | null {
  return sections.find((s) => s.name === 'main') ?? sections.find((s) => s.type === 'pdmv2') ?? null;
}

export function configFromText(text: string, path: string): AgentConfig {
  const errors: string[] = [];
  const sec = findSection(parseUci(text, path));
  const o = sec?.options ?? {};
  const l = sec?.lists ?? {};
  if (!sec) errors.push(`${path} has no 'config pdmv2 main' section`);

  const primaryUrl = o.primary_url ?? '';
  if (!/^https?:\/\/[^\s/]+(\/[^\s]*)?$/.test(primaryUrl)) errors.push(`option primary_url '${primaryUrl}' is not an http(s) URL`);
  let primaryKey: Uint8Array | null = null;
  const pk = (o.primary_key ?? '').trim().toLowerCase();
  if (/^[0-9a-f]{64}$/.test(pk)) primaryKey = fromHex(pk);
  else errors.push('option primary_key must be the primary public key (64 hex digits)');

  const role = (o.role ?? 'client') as Role;
  if (!(ROLES as readonly string[]).includes(role)) errors.push(`option role '${role}' must be client or server`);
  const mode = (o.mode ?? 'encrypted') as DataMode;
  if (!(MODES as readonly string[]).includes(mode)) errors.push(`option mode '${mode}' must be one of ${MODES.join(', ')}`);

  const prefixes: string[] = [];
  for (const p of [...(l.prefix ?? []), ...(o.prefix ? [o.prefix] : [])]) {
    try {
      const c = canonicalPrefix(p, 'prefix');
      if (!prefixes.includes(c)) prefixes.push(c);
    } catch (e) {
      errors.push(`prefix '${p}': ${(e as Error).message}`);
    }
  }
  const interfaces = [...(l.interface ?? []), ...(o.interface ? [o.interface] : [])];
  for (const i of interfaces) if (!/^[A-Za-z0-9_.-]+$/.test(i)) errors.push(`interface '${i}' is not a valid name`);

  let token: string | null = null;
  if (o.token) {
    token = normalizeToken(o.token);
    if (token === null) errors.push('option token is not an enrollment token (pdt-xxxx-…)');
  }

  const runDir = o.run_dir || '/var/run/pdmv2';
  const httpClient = (o.http_client || 'auto') as HttpClient;
  if (!['auto', 'uclient-fetch', 'curl', 'wget'].includes(httpClient)) errors.push(`option http_client '${httpClient}' is unknown`);
  const path_ = (name: string, v: string | undefined, dflt: string): string => {
    const r = v || dflt;
    if (!r.startsWith('/')) errors.push(`option ${name} must be an absolute path`);
    return r;
  };
  return {
    path,
    section: sec?.name ?? 'main',
    enabled: bool(o.enabled, false),
    primaryUrl: primaryUrl.replace(/\/+$/, ''),
    primaryKey,
    role,
    prefixes,
    interfaces,
    mode,
    token,
    stateDir: path_('state_dir', o.state_dir, '/etc/pdmv2'),
    runDir: path_('run_dir', runDir, runDir),
    control: path_('control', o.control, '/proc/net/pdmv2/control'),
    nftFile: path_('nft_file', o.nft_file, `${runDir}/pdmv2.nft`),
    nft: o.nft === undefined ? 'nft' : o.nft === '-' ? '' : o.nft,
    mark: int(o.mark, DEFAULT_MARK, 1, 0xffffffff, 'mark', errors),
    checkInterval: int(o.check_interval, 30, 5, 3600, 'check_interval', errors),
    httpClient,
    httpTimeout: int(o.http_timeout, 15, 1, 300, 'http_timeout', errors),
    maxResponse: int(o.max_response, 65536, 1024, 1 << 20, 'max_response', errors),
    pollMax: int(o.poll_max, 600, 1, 86400, 'poll_max', errors),
    retryMin: int(o.retry_min, 10, 1, 3600, 'retry_min', errors),
    retryMax: int(o.retry_max, 900, 1, 86400, 'retry_max', errors),
    errors,
  };
}
