import type { CurrentClaim } from './port.js';

/**
 * Decides the current offered to each connector from claims. A claim is an upper bound: either a
 * hard one that always applies (hardware rating, config maximum, a fault = 0, a grid limit) or a
 * preference with a priority (an OCPP charging profile, a user limit from the API or MQTT, a
 * schedule), of which only the highest-priority ones apply. The offer is the lowest bound that
 * applies, and the result names the claim that decided it. A claim on connector 0 applies to every
 * connector. Adding a new source of limits is adding a claim: nothing here changes.
 * (The state machine also refuses to offer current while a fault is active, whatever is decided here.)
 */
export interface Decision {
  amps: number;
  source: string;
}

export class CurrentArbiter {
  private readonly claims = new Map<string, CurrentClaim>();

  set(claim: CurrentClaim): void {
    if (!Number.isFinite(claim.maxA) || claim.maxA < 0) throw new RangeError(`claim ${claim.source}: maxA must be >= 0 (got ${claim.maxA})`);
    if (claim.priority !== undefined && !Number.isFinite(claim.priority)) throw new RangeError(`claim ${claim.source}: priority must be a finite number (got ${claim.priority})`);
    this.claims.set(key(claim.source, claim.connectorId), { ...claim });
  }

  clear(source: string, connectorId: number): boolean {
    return this.claims.delete(key(source, connectorId));
  }

  list(connectorId?: number): CurrentClaim[] {
    const all = [...this.claims.values()];
    return connectorId === undefined ? all : all.filter((c) => c.connectorId === connectorId || c.connectorId === 0);
  }

  decide(connectorId: number): Decision {
    return decide(this.list(connectorId));
  }
}

/**
 * The lowest bound among the hard claims and the highest-priority preferences; ties go to the claim
 * set first. No claims: 0 A from "none".
 */
export function decide(claims: readonly CurrentClaim[]): Decision {
  let top = -Infinity;
  for (const c of claims) if (c.priority !== undefined && c.priority > top) top = c.priority;
  let best: Decision | undefined;
  for (const c of claims) {
    if (c.priority !== undefined && c.priority < top) continue;
    if (!best || c.maxA < best.amps) best = { amps: c.maxA, source: c.source };
  }
  return best ?? { amps: 0, source: 'none' };
}

function key(source: string, connectorId: number): string {
  return `${connectorId}\u0000${source}`;
}
