import type { Db } from '../db.js';
import { TxQueue, type QueueBounds } from './queue.js';
import { AlignedReadingRepository, TransactionRepository } from './transactions.js';
import { KeyRepository } from './keys.js';
import { AuthRepository } from './auth.js';
import { ClockOffsetRepository } from './clock-offsets.js';
import { AvailabilityRepository } from './availability.js';
import { ChargingProfileRepository } from './charging-profiles.js';
import { SecurityLogRepository } from './security-log.js';
import { FirmwareJobRepository } from './firmware.js';

export { ocppMigrations } from './migrations.js';
export type { StoredChargingProfile, StoredProfileFields } from './charging-profiles.js';
export type { SecurityLogEntry, SecurityLogRepository } from './security-log.js';

/**
 * Everything the OCPP layer keeps in the station database, as repositories. Protocol-neutral at
 * the level OCPP 2.0.1 needs too: one durable queue (with thinning and bounds), the session ↔
 * transaction map, the auth cache and local list, clock offsets, availability and key values.
 */
export interface OcppRepositories {
  queue: TxQueue;
  transactions: TransactionRepository;
  alignedReadings: AlignedReadingRepository;
  keys: KeyRepository;
  auth: AuthRepository;
  clockOffsets: ClockOffsetRepository;
  availability: AvailabilityRepository;
  chargingProfiles: ChargingProfileRepository;
  securityLog: SecurityLogRepository;
  firmwareJob: FirmwareJobRepository;
}

export function createOcppRepositories(db: Db, o: { queueBounds: QueueBounds }): OcppRepositories {
  const queue = new TxQueue(db, o.queueBounds);
  return {
    queue,
    transactions: new TransactionRepository(db, queue),
    alignedReadings: new AlignedReadingRepository(db),
    keys: new KeyRepository(db),
    auth: new AuthRepository(db),
    clockOffsets: new ClockOffsetRepository(db),
    availability: new AvailabilityRepository(db),
    chargingProfiles: new ChargingProfileRepository(db),
    securityLog: new SecurityLogRepository(db),
    firmwareJob: new FirmwareJobRepository(db),
  };
}
