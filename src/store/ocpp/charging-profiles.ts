import type { Db } from '../db.js';

/**
 * The fields of an OCPP charging profile the store indexes (the store is below the OCPP layer and keeps
 * the rest as JSON; src/ocpp/v16/smart-charging/types.ts has the full ChargingProfile).
 */
export interface StoredProfileFields {
  chargingProfileId: number;
  stackLevel: number;
  chargingProfilePurpose: string;
  transactionId?: number;
}

/** One installed profile: the connector (0 = the station) and the profile as the CSMS sent it. */
export interface StoredChargingProfile<P extends StoredProfileFields = StoredProfileFields> {
  connectorId: number;
  profile: P;
}

interface Row {
  connector_id: number;
  profile: string;
}

/**
 * The installed charging profiles (table ocpp_charging_profiles), persisted across reboots (E16 §3.37).
 * The controller computes the new list with installProfile/clearProfiles and saves it whole.
 * Typed by the caller: `repo.all<ChargingProfile>()` gives InstalledProfile[] (only what replaceAll stored comes back).
 */
export class ChargingProfileRepository {
  private readonly st;
  private readonly replaceTx: (list: readonly StoredChargingProfile[]) => void;

  constructor(db: Db) {
    this.st = {
      all: db.prepare('SELECT connector_id, profile FROM ocpp_charging_profiles ORDER BY position'),
      clear: db.prepare('DELETE FROM ocpp_charging_profiles'),
      insert: db.prepare(
        `INSERT INTO ocpp_charging_profiles (position, profile_id, connector_id, purpose, stack_level, transaction_id, profile)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
    };
    this.replaceTx = db.transaction((list: readonly StoredChargingProfile[]) => {
      this.st.clear.run();
      list.forEach(({ connectorId, profile }, i) => {
        this.st.insert.run(
          i,
          profile.chargingProfileId,
          connectorId,
          profile.chargingProfilePurpose,
          profile.stackLevel,
          profile.transactionId ?? null,
          JSON.stringify(profile),
        );
      });
    });
  }

  /** Every installed profile, in the order of the list last saved. */
  all<P extends StoredProfileFields = StoredProfileFields>(): StoredChargingProfile<P>[] {
    return (this.st.all.all() as Row[]).map((r) => ({ connectorId: r.connector_id, profile: JSON.parse(r.profile) as P }));
  }

  /** Replace the stored list by `list` in one transaction (all or nothing). */
  replaceAll(list: readonly StoredChargingProfile[]): void {
    this.replaceTx(list);
  }
}
