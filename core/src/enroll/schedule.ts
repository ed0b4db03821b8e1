/**
 * Generations and the secrets a grant carries (docs/PROTOCOL.md
 * §7.6). A pairing fixes a schedule (t0, period, overlap); generation g is
 * current during [t0 + g·period, t0 + (g+1)·period). Everything a primary
 * hands out is a deterministic function of (PMS, generation, prefix), so a
 * restarted primary gives out exactly the same secrets again. Pure.
 */
import { parsePrefix } from '../wire/addr.js';
import { toHex, wipe } from '../util/bytes.js';
import { clientPrefixSecret, serverGroupSecret } from '../keys/schedule.js';
import type { GrantKey } from './messages.js';

export interface Schedule {
  /** Unix seconds at which generation 0 starts. */
  readonly t0: number;
  /** Seconds per generation. */
  readonly period: number;
  /** Seconds a key is given out before its generation starts and kept after it ends. */
  readonly overlap: number;
}

export const MIN_PERIOD = 60;
export const MAX_PERIOD = 30 * 86400;

export function checkSchedule(s: Schedule): string | null {
  if (!Number.isInteger(s.t0) || s.t0 < 0 || s.t0 > 0xffffffff) return 't0 must be a u32';
  if (!Number.isInteger(s.period) || s.period < MIN_PERIOD || s.period > MAX_PERIOD) return `period must be ${MIN_PERIOD}..${MAX_PERIOD} s`;
  if (!Number.isInteger(s.overlap) || s.overlap < 0 || s.overlap * 2 > s.period) return 'overlap must be 0..period/2';
  return null;
}

export function generationAt(s: Schedule, t: number): number {
  return t < s.t0 ? 0 : Math.floor((t - s.t0) / s.period);
}

export function generationStart(s: Schedule, g: number): number {
  return s.t0 + g * s.period;
}

export interface KeyWindow {
  readonly generation: number;
  readonly not_before: number;
  readonly not_after: number;
}

/** The generations a grant issued at `now` carries: the current one, and the next one once its start is within `overlap`. */
export function generationsToIssue(s: Schedule, now: number): KeyWindow[] {
  const g = generationAt(s, now);
  const out: KeyWindow[] = [window(s, g)];
  if (generationStart(s, g + 1) - now <= s.overlap) out.push(window(s, g + 1));
  return out;
}

function window(s: Schedule, g: number): KeyWindow {
  return { generation: g, not_before: generationStart(s, g), not_after: generationStart(s, g + 1) + s.overlap };
}

/** When a device holding `issued` should come back: before the next generation it lacks becomes due. */
export function nextRenewal(s: Schedule, issued: readonly KeyWindow[], now: number, renewInterval: number, minDelay = 10): number {
  const last = issued.reduce((m, k) => Math.max(m, k.generation), 0);
  const due = generationStart(s, last + 1) - Math.floor(s.overlap / 2);
  return Math.max(now + minDelay, Math.min(now + renewInterval, due));
}

/** Client role: CS(P) for each prefix, for one generation. */
export function clientKey(pms: Uint8Array, w: KeyWindow, prefixes: readonly string[]): GrantKey {
  const sgs = serverGroupSecret(pms, w.generation);
  try {
    return {
      ...w,
      secrets: prefixes.map((p) => {
        const cs = clientPrefixSecret(sgs, parsePrefix(p));
        const secret = toHex(cs);
        wipe(cs);
        return { prefix: p, secret };
      }),
    };
  } finally {
    wipe(sgs);
  }
}

/** Server role: the SGS of one generation. */
export function serverKey(pms: Uint8Array, w: KeyWindow): GrantKey {
  const sgs = serverGroupSecret(pms, w.generation);
  const hex = toHex(sgs);
  wipe(sgs);
  return { ...w, sgs: hex };
}
