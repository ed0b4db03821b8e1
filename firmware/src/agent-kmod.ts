// What the agent tells the kernel module, and the nftables ruleset that
// selects the flows. The control-file commands for secrets are defined by
// the agent (docs/agent.md "Kernel control"); this is the one place that
// writes them, so adapting to the module's final syntax is a local change.
// Planning is pure; applying uses agent-sys.
import type { DataMode, Grant, Role } from '../../core/src/enroll/messages.js';

export type KernelMode = 'off' | DataMode;

/**
 * A secret for the module: CS(P) of one client prefix (client role), or the
 * SGS with the pairing's client prefixes, from which the module derives
 * CS(P) itself (server role; the SGS is not kept there).
 */
export type KernelKey =
  | {
      readonly kind: 'cs';
      readonly pairing: string;
      readonly generation: number;
      readonly aead: number;
      /** Client prefix P the key is CS(P) for. */
      readonly prefix: string;
      /** CS(P), 64 hex digits. */
      readonly secret: string;
    }
  | {
      readonly kind: 'sgs';
      readonly pairing: string;
      readonly generation: number;
      readonly aead: number;
      /** The pairing's client prefixes. */
      readonly prefixes: readonly string[];
      /** SGS, 64 hex digits. */
      readonly secret: string;
    };

export interface KernelPlan {
  readonly mode: KernelMode;
  readonly keys: readonly KernelKey[];
  readonly active: readonly { readonly pairing: string; readonly generation: number }[];
  readonly peers: readonly { readonly pairing: string; readonly prefix: string }[];
}

/** What was last installed: ids only, as kept in state.json (no secrets). */
export interface InstalledPlan {
  readonly mode: string;
  readonly keys: readonly { readonly pairing: string; readonly generation: number }[];
  readonly peers: readonly { readonly pairing: string; readonly prefix: string }[];
}

export const OFF_PLAN: KernelPlan = { mode: 'off', keys: [], active: [], peers: [] };

/** Largest single write the module accepts (PDMV2_CONTROL_MAX in kmod/pdmv2_proc.c). */
export const CONTROL_MAX = 1024;

/**
 * The kernel state for `grant` at primary time `now`. A local mode of clear
 * or v1 needs no secrets; encrypted uses every key not yet expired, with
 * the newest generation already started as the active one. Server role: the
 * agent derives CS(P) for each client prefix from the SGS (PROTOCOL.md §5),
 * so the module holds one kind of key whatever the role.
 */
export function planFromGrant(grant: Grant | null, localMode: DataMode, now: number): KernelPlan {
  if (!grant || grant.expires <= now) return OFF_PLAN;
  const mode: DataMode = localMode === 'encrypted' ? grant.mode : localMode;
  // Clear and v1 need nothing but the mode: the flows are chosen by nftables.
  if (mode !== 'encrypted') return { mode, keys: [], active: [], peers: [] };
  const peers = grant.pairings
    .filter((p) => p.keys.some((k) => k.secrets))
    .flatMap((p) => p.peer_prefixes.map((prefix) => ({ pairing: p.id, prefix })));
  const keys: KernelKey[] = [];
  const active: { pairing: string; generation: number }[] = [];
  for (const p of grant.pairings) {
    let best = -1;
    for (const k of p.keys) {
      if (k.not_after <= now) continue;
      if (k.not_before <= now && k.generation > best) best = k.generation;
      if (k.secrets) {
        for (const s of k.secrets) keys.push({ kind: 'cs', pairing: p.id, generation: k.generation, aead: p.aead, prefix: s.prefix, secret: s.secret });
      } else if (k.sgs) {
        keys.push({ kind: 'sgs', pairing: p.id, generation: k.generation, aead: p.aead, prefixes: p.peer_prefixes, secret: k.sgs });
      }
    }
    if (best >= 0) active.push({ pairing: p.id, generation: best });
  }
  // Encrypted emission without a usable key would only produce skips: keep the module off.
  if (active.length === 0) return { mode: 'off', keys, active, peers };
  return { mode, keys, active, peers };
}

/** The earliest future time at which the plan changes by itself (a generation starts or a key expires). */
export function nextPlanChange(grant: Grant | null, now: number): number | null {
  if (!grant) return null;
  let t = grant.expires > now ? grant.expires : Infinity;
  for (const p of grant.pairings) {
    for (const k of p.keys) {
      if (k.not_before > now) t = Math.min(t, k.not_before);
      if (k.not_after > now) t = Math.min(t, k.not_after);
    }
  }
  return Number.isFinite(t) ? t : null;
}

const keyId = (k: { pairing: string; generation: number }): string => `${k.pairing} ${k.generation}`;

/**
 * Control-file writes (each one applied by the module all-or-nothing) that
 * take the module from `prev` to `next`: keys and peers first, then the
 * active generations, then removals, and the mode last when switching on
 * (first when switching off), so that emission never starts without its key.
 */
export function kernelWrites(prev: InstalledPlan, next: KernelPlan): string[] {
  if (next.mode === 'off' && next.keys.length === 0 && next.peers.length === 0) {
    // Nothing to keep: one write that stops emission and wipes everything.
    return prev.mode !== 'off' || prev.keys.length > 0 || prev.peers.length > 0 ? [...WIPE_WRITES] : [];
  }
  const lines: string[] = [];
  if (next.mode === 'off' && prev.mode !== 'off') lines.push('mode off');
  for (const k of next.keys) lines.push(...keyLines(k));
  const peerSet = new Set(next.peers.map((p) => `${p.pairing} ${p.prefix}`));
  for (const p of next.peers) lines.push(`peer ${p.pairing} ${p.prefix}`);
  for (const a of next.active) lines.push(`active ${a.pairing} ${a.generation}`);
  const keep = new Set(next.keys.map(keyId));
  const gone = new Set(prev.keys.map(keyId).filter((id) => !keep.has(id)));
  for (const id of gone) lines.push(`unkey ${id}`);
  for (const p of prev.peers) if (!peerSet.has(`${p.pairing} ${p.prefix}`)) lines.push(`unpeer ${p.pairing} ${p.prefix}`);
  if (next.mode !== 'off') lines.push(`mode ${next.mode}`);
  return batch(lines);
}

/** SGS lines carry prefixes: several lines when they would not fit one write. */
const SGS_PREFIXES_PER_LINE = 16;

function keyLines(k: KernelKey): string[] {
  if (k.kind === 'cs') return [`key ${k.pairing} ${k.generation} ${k.aead} ${k.prefix} ${k.secret}`];
  const out: string[] = [];
  for (let i = 0; i < k.prefixes.length; i += SGS_PREFIXES_PER_LINE) {
    out.push(`sgs ${k.pairing} ${k.generation} ${k.aead} ${k.secret} ${k.prefixes.slice(i, i + SGS_PREFIXES_PER_LINE).join(' ')}`);
  }
  return out;
}

/** Everything off and every key and peer wiped (memzero in the module), in one write. */
export const WIPE_WRITES: readonly string[] = ['mode off\nkeyflush\n'];

export function batch(lines: readonly string[], max = CONTROL_MAX): string[] {
  const out: string[] = [];
  let cur = '';
  for (const l of lines) {
    const add = `${l}\n`;
    if (cur.length + add.length > max && cur) {
      out.push(cur);
      cur = '';
    }
    cur += add;
  }
  if (cur) out.push(cur);
  return out;
}

// ---------------------------------------------------------------------------------------------
// nftables

/** FNV-1a, 32 bits, hex: names a ruleset text (not a secret, not a security check). */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

export const hexMark = (mark: number): string => `0x${(mark >>> 0).toString(16).padStart(8, '0')}`;

/**
 * The agent's table (replaces itself atomically under `nft -f`). It sets
 * `mark` on the flows between the device's own prefixes and the peer
 * prefixes of its pairings; the module acts on marked packets only. The
 * table's comment names its content ("pdmv2d HASH"), so that what is loaded
 * can be checked against what should be (`nft -t list table inet pdmv2`).
 */
export function nftRuleset(role: Role, local: readonly string[], peer: readonly string[], mark: number): string {
  const m = hexMark(mark);
  const set = (name: string, elems: readonly string[]) =>
    `\tset ${name} {\n\t\ttype ipv6_addr; flags interval;\n${elems.length ? `\t\telements = { ${elems.join(', ')} }\n` : ''}\t}\n`;
  const rules =
    role === 'client'
      ? {
          pre: ['ip6 saddr @local6 ip6 daddr @peer6', 'ip6 saddr @peer6 ip6 daddr @local6'],
          out: ['ip6 daddr @peer6', 'ip6 daddr @local6 ip6 saddr @peer6'],
        }
      : { pre: ['ip6 saddr @peer6'], out: ['ip6 daddr @peer6'] };
  const chain = (name: string, hook: string, type: string, rs: string[]) =>
    `\tchain ${name} {\n\t\ttype ${type} hook ${hook} priority mangle; policy accept;\n${rs
      .map((r) => `\t\t${r} meta mark set meta mark or ${m}\n`)
      .join('')}\t}\n`;
  const body = set('local6', local) + set('peer6', peer) + chain('pre', 'prerouting', 'filter', rules.pre) + chain('out', 'output', 'route', rules.out);
  return (
    '# generated by pdmv2d: do not edit (rewritten on every grant)\n' +
    'table inet pdmv2\ndelete table inet pdmv2\n' +
    'table inet pdmv2 {\n' +
    `\tcomment "pdmv2d ${fnv1a(body)}"\n` +
    body +
    '}\n'
  );
}

export const NFT_REMOVE = '# generated by pdmv2d: table removed\ntable inet pdmv2\ndelete table inet pdmv2\n';

/**
 * What the module's counters (/proc/net/pdmv2/stats) say the operator must fix, one line
 * each, for `status`: flows a flowtable took past the module (fw4's flow_offloading: they
 * lose their options), flows refused by the module-wide limit, the IPv6 GSO offload held
 * by another module (the GSO wrapper refused, docs/kmod.md "GSO").
 */
export function kernelWarnings(stats: Readonly<Record<string, number>>): string[] {
  const w: string[] = [];
  const offloaded = stats.flows_offloaded ?? 0;
  if (offloaded > 0) {
    w.push(
      `${offloaded} measured flow(s) taken past pdmv2 by a flowtable: their packets lose the option; ` +
        'turn flow offloading off (firewall.@defaults[0].flow_offloading=0) or keep marked packets out of `flow add`',
    );
  }
  const full = stats.table_full_module ?? 0;
  if (full > 0) w.push(`${full} packet(s) without the option: the module-wide flow limit (max_flows_total) was reached`);
  const refused = stats.gso_wrapper_refused ?? 0;
  if (refused > 0 && !stats.gso_wrapper_installed) {
    w.push(
      'another kernel module holds the IPv6 GSO offload: pdmv2 left it alone and segments GSO packets in its hook ' +
        '(more CPU per packet; `dmesg | grep "IPv6 offload not replaced"`)',
    );
  }
  return w;
}

/** The content name in a ruleset text or an `nft list table` output; '' for a table without one, null for no table. */
export function nftTableId(text: string): string | null {
  if (!/^table inet pdmv2 \{/m.test(text)) return null;
  return /^\s*comment "pdmv2d ([0-9a-f]{8})"/m.exec(text)?.[1] ?? '';
}

/**
 * The packet-mark bits each other table's `meta mark set` statements may
 * change, from `nft list ruleset`: `meta mark & A | B` (and `^ X`) change
 * ~A | B | X; any other value (a constant, `ct mark & M`) replaces the
 * whole mark. A rule that sets or clears the agent's bit makes measurement
 * depend on the order of the hooks (docs/agent.md "Packet mark").
 */
export function markWriters(listing: string): { table: string; bits: number }[] {
  const out = new Map<string, number>();
  let table = '';
  for (const line of listing.split('\n')) {
    const t = /^table (\S+ \S+) \{/.exec(line);
    if (t) {
      table = t[1]!;
      continue;
    }
    if (table === 'inet pdmv2') continue;
    const m = /meta mark set (.*?)(?: comment ".*")?$/.exec(line.trim());
    if (!m) continue;
    const e = /^meta mark(?: & (0x[0-9a-f]+))?(?: \| (0x[0-9a-f]+))?(?: \^ (0x[0-9a-f]+))?$/.exec(m[1]!);
    const bits = e ? (~parseInt(e[1] ?? '0xffffffff', 16) | parseInt(e[2] ?? '0', 16) | parseInt(e[3] ?? '0', 16)) >>> 0 : 0xffffffff;
    out.set(table, ((out.get(table) ?? 0) | bits) >>> 0);
  }
  return [...out].map(([t, bits]) => ({ table: t, bits }));
}
