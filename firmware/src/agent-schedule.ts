/**
 * When the agent renews a grant: at the grant's renew_after plus a random
 * jitter that spreads the renewals of many devices. The jitter is bounded by
 * a quarter of the renew period (a revocation still arrives within about one
 * period), by the room left before the grant expires, and by 300 s. Pure, so
 * that the primary's fleet benchmark (test/bench/primary-fleet.ts) runs the
 * very schedule the routers run.
 */
import type { Grant } from '../../core/src/enroll/messages.js';

/** Local time of the next renewal; `clockOffset` = primary time − local time; `unit` uniform in [0, 1). */
export function renewalTime(grant: Pick<Grant, 'issued' | 'expires' | 'renew_after'>, clockOffset: number, unit: number): number {
  const room = Math.max(0, grant.expires - grant.renew_after);
  const period = Math.max(0, grant.renew_after - grant.issued);
  const jitter = unit * Math.min(300, period / 4, room / 4);
  return Math.round(grant.renew_after - clockOffset + jitter);
}
