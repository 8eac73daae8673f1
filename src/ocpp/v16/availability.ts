import type { StationPort } from '../../evse/port.js';
import type { AvailabilityRepository } from '../../store/ocpp/availability.js';

/**
 * ChangeAvailability as persisted: connector 0 (the whole station) first, then each connector's
 * own later change on top of it; rows of connectors the station no longer has are skipped.
 */
export function restoreAvailability(station: Pick<StationPort, 'connectorIds' | 'setAvailability'>, repo: AvailabilityRepository): void {
  const known = new Set(station.connectorIds());
  for (const r of repo.all()) {
    if (r.connectorId !== 0 && !known.has(r.connectorId)) continue;
    station.setAvailability(r.connectorId, r.available);
  }
}
