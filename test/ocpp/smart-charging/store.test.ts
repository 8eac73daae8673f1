import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openDb } from '../../../src/store/db.js';
import { coreMigrations } from '../../../src/store/core-migrations.js';
import { createOcppRepositories, ocppMigrations } from '../../../src/store/ocpp/index.js';
import type { ChargingProfile, InstalledProfile } from '../../../src/ocpp/v16/smart-charging/types.js';
import { installProfile } from '../../../src/ocpp/v16/smart-charging/install.js';
import { tempDir } from '../../support/station.js';
import { T0, profile } from './profiles.js';

function open(file: string) {
  const db = openDb(file, [coreMigrations, ocppMigrations]);
  return { db, repo: createOcppRepositories(db, { queueBounds: { maxMessages: 100, maxBytes: 1e6 } }).chargingProfiles };
}

describe('charging profile store (SQLite file)', () => {
  it('profiles survive a reopen, in order and whole', () => {
    const file = join(tempDir(), 'evsed.db');
    let list: InstalledProfile[] = [];
    list = installProfile(list, 0, profile({ id: 1, purpose: 'ChargePointMaxProfile', unit: 'W', periods: [[0, 11_000, 3]], validToMs: T0 + 86_400_000 }));
    list = installProfile(list, 1, profile({ id: 2, purpose: 'TxDefaultProfile', kind: 'Recurring', recurrencyKind: 'Daily', durationS: 3600, minChargingRate: 6, periods: [[0, 6], [60, 16]] }));
    list = installProfile(list, 1, profile({ id: 3, purpose: 'TxProfile', stackLevel: 2, periods: [[0, 10]] }), 41);

    const first = open(file);
    expect(first.repo.all()).toEqual([]);
    first.repo.replaceAll(list);
    first.db.close();

    const second = open(file);
    expect(second.repo.all<ChargingProfile>()).toEqual(list);
    const row = second.db.prepare('SELECT transaction_id, purpose, stack_level FROM ocpp_charging_profiles WHERE profile_id = 3').get();
    expect(row).toEqual({ transaction_id: 41, purpose: 'TxProfile', stack_level: 2 });
    second.repo.replaceAll(list.slice(0, 1));
    second.db.close();

    const third = open(file);
    expect(third.repo.all<ChargingProfile>().map((p) => p.profile.chargingProfileId)).toEqual([1]);
    third.db.close();
  });

  it('an existing station database (ocpp schema 3) gets the table on upgrade and keeps its data', () => {
    const file = join(tempDir(), 'evsed.db');
    const before = openDb(file, [coreMigrations, { ...ocppMigrations, migrations: ocppMigrations.migrations.filter((m) => m.version <= 3) }]);
    before.prepare("INSERT INTO ocpp_keys (key, value) VALUES ('HeartbeatInterval', '60')").run();
    expect(before.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'ocpp_charging_profiles'").pluck().get()).toBe(0);
    before.close();
    const { db, repo } = open(file);
    expect(repo.all()).toEqual([]);
    expect(db.prepare('SELECT value FROM ocpp_keys').pluck().all()).toEqual(['60']);
    expect(db.prepare("SELECT version FROM schema_migrations WHERE module = 'ocpp'").pluck().all()).toContain(4);
    db.close();
  });

  it('replaceAll is one transaction: a list it cannot store leaves the previous one', () => {
    const file = join(tempDir(), 'evsed.db');
    const { db, repo } = open(file);
    const a = { connectorId: 1, profile: profile({ id: 1, purpose: 'TxDefaultProfile', periods: [[0, 6]] }) };
    repo.replaceAll([a]);
    // the same chargingProfileId twice violates the table's UNIQUE: nothing of the new list is kept
    const b = { connectorId: 2, profile: profile({ id: 2, purpose: 'TxDefaultProfile', periods: [[0, 8]] }) };
    expect(() => repo.replaceAll([b, { ...a, connectorId: 2 }, a])).toThrow();
    expect(repo.all()).toEqual([a]);
    db.close();
  });
});
