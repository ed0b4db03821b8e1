/**
 * Export of analyzer keys: CS(P) of chosen prefixes, or the SGS of a whole
 * pairing, for a range of generations, sealed to the analyzer's public key
 * (docs/PROTOCOL.md §7.8).
 */
import { sealAnalyzerKeys, type AnalyzerKeys } from '../../core/src/enroll/export.js';
import type { GrantKey } from '../../core/src/enroll/messages.js';
import { clientKey, generationAt, generationStart, serverKey, type KeyWindow } from '../../core/src/enroll/schedule.js';
import type { Identity } from './enroll-service.js';
import { fastSuites, nodeRandom } from './fast-suite.js';
import { AdminError, prefixText, type Store } from './store.js';

export interface ExportOptions {
  readonly pairing: string;
  readonly analyzerPk: Uint8Array;
  /** CS(P) for these prefixes (each must be one of the pairing's client prefixes)… */
  readonly prefixes: readonly string[];
  /** …or the SGS (everything of the pairing). */
  readonly all: boolean;
  readonly fromGeneration?: number;
  readonly toGeneration?: number;
  readonly now: number;
}

export async function buildAnalyzerKeys(store: Store, o: ExportOptions): Promise<AnalyzerKeys> {
  const p = await store.pairing(o.pairing);
  if (!p || p.status !== 'active') throw new AdminError(`no active pairing ${o.pairing}`);
  if (o.all === (o.prefixes.length > 0)) throw new AdminError('give either --all (SGS) or one or more --prefix (CS)');
  const prefixes = o.prefixes.map(prefixText);
  for (const x of prefixes) {
    if (!p.clientPrefixes.includes(x)) {
      throw new AdminError(`${x} is not a client prefix of pairing ${p.id} (${p.clientPrefixes.join(', ') || 'none'})`);
    }
  }
  const current = generationAt(p, o.now);
  const from = o.fromGeneration ?? Math.max(0, current - 1);
  const to = o.toGeneration ?? current + 1;
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to < from || to - from >= 1024) {
    throw new AdminError('generation range must be 0 <= from <= to, at most 1024 generations');
  }
  const keys: GrantKey[] = [];
  for (let g = from; g <= to; g++) {
    const w: KeyWindow = { generation: g, not_before: generationStart(p, g), not_after: generationStart(p, g + 1) + p.overlap };
    keys.push(o.all ? serverKey(p.pms, w) : clientKey(p.pms, w, prefixes));
  }
  return {
    pairing: p.id,
    role: p.role,
    aead: p.dataAead,
    mode: p.mode,
    t0: p.t0,
    period: p.period,
    overlap: p.overlap,
    client_prefixes: p.clientPrefixes,
    server_prefixes: p.serverPrefixes,
    created: o.now,
    keys,
  };
}

export async function exportAnalyzerKeys(store: Store, id: Identity, o: ExportOptions): Promise<Uint8Array> {
  const keys = await buildAnalyzerKeys(store, o);
  await store.audit(o.now, 'export-keys', o.pairing, {
    analyzer: Buffer.from(o.analyzerPk).toString('hex'),
    what: o.all ? 'sgs' : o.prefixes,
    generations: [keys.keys[0]?.generation, keys.keys[keys.keys.length - 1]?.generation],
  });
  return sealAnalyzerKeys({ keys, primarySk: id.sk, primaryPk: id.pk, analyzerPk: o.analyzerPk, random: nodeRandom, suites: fastSuites });
}
