import { existsSync, writeFileSync } from 'node:fs';
import { loadConfig } from '../../config/load.js';
import { openDb } from '../../store/db.js';
import { coreMigrations } from '../../store/core-migrations.js';
import { SessionStore } from '../../store/sessions.js';
import { billingMigrations } from '../../store/billing/migrations.js';
import { BillingRecords } from '../../store/billing/records.js';
import { TagNameRepository } from '../../store/billing/tag-names.js';
import { BillingLedger } from '../../billing/ledger.js';
import { buildMonthReport, renderCsv, renderHtml, ReportError } from '../../billing/report.js';
import { parseArgv } from '../define.js';

/**
 * Monthly report per tag for reimbursement. Opens the station's store beside a running daemon
 * (WAL); applies pending migrations, so a store from before billing gets its (empty) tables.
 */
export async function reportCommand(argv: string[]): Promise<number> {
  return report(parseArgv<ReportOptions>(['report'], argv));
}

export interface ReportOptions {
  month: string;
  idTag?: string;
  format: 'csv' | 'html';
  config: string;
  out?: string;
}

export async function report(values: ReportOptions): Promise<number> {
  const { config, dbFile } = loadConfig(values.config);
  if (!existsSync(dbFile)) {
    console.error(`no session store at ${dbFile} yet (the daemon creates it on first start)`);
    return 66;
  }
  const db = openDb(dbFile, [coreMigrations, billingMigrations]);
  try {
    const store = new SessionStore(db);
    const ledger = new BillingLedger(store, new BillingRecords(db), null);
    // Names stored through the API are the later word; config names fill in the rest (the report folds the tags' case).
    const names = new Map(config.auth.tags.flatMap((t) => (t.name ? [[t.idTag, t.name] as const] : [])));
    for (const [tag, name] of new TagNameRepository(db).all()) names.set(tag, name);
    const timeZone = config.tariff?.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
    let report;
    try {
      report = buildMonthReport(store, ledger, { month: values.month, timeZone, stationId: config.station.id, idTag: values.idTag ?? null, names });
    } catch (err) {
      if (!(err instanceof ReportError)) throw err;
      console.error(`evsed report: ${err.message}`);
      return 65;
    }
    const text = values.format === 'csv' ? renderCsv(report) : renderHtml(report, Date.now());
    if (values.out) writeFileSync(values.out, text);
    else process.stdout.write(text);
    return 0;
  } finally {
    db.close();
  }
}
