import { sameIdTag } from '../domain/tags.js';
import type { Reservation, ReserveResult } from './port.js';

/**
 * The reservation rules (OCPP 1.6 §5.13, the station's own terms), pure: who may use a connector
 * while reservations are in force, and whether a new one can be taken. A reservation of connector 0
 * reserves the station: its tag may use any connector, and one free connector must remain for it.
 */

/** What the rules need to know of a connector now. */
export interface Occupancy {
  id: number;
  available: boolean;
  faulted: boolean;
  /** A session runs or starts, or a tag is authorised and waits for the plug. */
  busy: boolean;
  /** An EV is plugged in. */
  plugged: boolean;
}

/** Nobody is on it: available, no fault, no session or authorisation, nothing plugged in. */
export function isFree(c: Occupancy): boolean {
  return c.available && !c.faulted && !c.busy && !c.plugged;
}

/**
 * The reservations a tag must match to use connector `id` now, or null when anyone may: the
 * connector's own reservation; else the station's (connector 0) when letting another tag use this
 * connector would leave fewer free connectors than there are station reservations.
 */
export function requiredOn(id: number, reservations: readonly Reservation[], connectors: readonly Occupancy[]): Reservation[] | null {
  const own = reservations.filter((r) => r.connectorId === id);
  if (own.length) return own;
  const station = reservations.filter((r) => r.connectorId === 0);
  if (!station.length) return null;
  return freeUnreserved(connectors, reservations, id).length < station.length ? station : null;
}

/** The reservations a session of this tag on connector `id` may use (and so end): its own, and the station's. */
export function usableOn(id: number, reservations: readonly Reservation[]): Reservation[] {
  return reservations.filter((r) => r.connectorId === id || r.connectorId === 0);
}

/** The tag, or the parent of the tag (as the authoriser knows it), is the reservation's tag or parent. */
export function matches(r: Reservation, idTag: string, parentIdTag?: string): boolean {
  const theirs = [r.idTag, r.parentIdTag].filter((t): t is string => !!t);
  const mine = [idTag, parentIdTag].filter((t): t is string => !!t);
  return mine.some((m) => theirs.some((t) => sameIdTag(m, t)));
}

/** Whether asking the authoriser for the tag's parent could make it match (a reservation with a parentIdTag). */
export function parentMayMatch(candidates: readonly Reservation[]): boolean {
  return candidates.some((r) => !!r.parentIdTag);
}

/** A connector shows Reserved while it refuses other tags and nobody is on it yet. */
export function showsReserved(c: Occupancy, reservations: readonly Reservation[], connectors: readonly Occupancy[]): boolean {
  return c.available && !c.faulted && !c.busy && requiredOn(c.id, reservations, connectors) !== null;
}

/**
 * The answer to a new reservation (the same reservationId replaces the old one, judged without it):
 * Rejected for an unknown connector; Unavailable / Faulted; Occupied when someone is on the
 * connector, it is reserved already, or it is the connector a station reservation still needs;
 * connector 0: Occupied when the station is reserved already or no connector is free.
 */
export function reserveResult(r: Pick<Reservation, 'reservationId' | 'connectorId'>, existing: readonly Reservation[], connectors: readonly Occupancy[]): ReserveResult {
  const others = existing.filter((x) => x.reservationId !== r.reservationId);
  if (r.connectorId === 0) {
    if (!connectors.length) return 'Rejected';
    if (connectors.every((c) => !c.available)) return 'Unavailable';
    if (connectors.every((c) => !c.available || c.faulted)) return 'Faulted';
    if (others.some((x) => x.connectorId === 0)) return 'Occupied';
    return freeUnreserved(connectors, others).length > 0 ? 'Accepted' : 'Occupied';
  }
  const c = connectors.find((x) => x.id === r.connectorId);
  if (!c) return 'Rejected';
  if (!c.available) return 'Unavailable';
  if (c.faulted) return 'Faulted';
  if (!isFree(c) || others.some((x) => x.connectorId === c.id)) return 'Occupied';
  const station = others.filter((x) => x.connectorId === 0).length;
  if (station > 0 && freeUnreserved(connectors, others, c.id).length < station) return 'Occupied';
  return 'Accepted';
}

/** Free connectors without a reservation of their own, `except` one. */
function freeUnreserved(connectors: readonly Occupancy[], reservations: readonly Reservation[], except?: number): Occupancy[] {
  return connectors.filter((c) => c.id !== except && isFree(c) && !reservations.some((r) => r.connectorId === c.id));
}
