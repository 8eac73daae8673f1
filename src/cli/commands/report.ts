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
import { DEFAULT_CONFIG, parse, UsageError } from './args.js';

const USAGE = 'usage: evsed report --month YYYY-MM [--id-tag TAG] --format csv|html [--config FILE] [--out FILE]';

/**
 * Monthly report per tag for reimbursement. Opens the station's store beside a running daemon
 * (WAL); applies pending migrations, so a store from before billing gets its (empty) tables.
 */
export async function reportCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    month: { type: 'string' },
    'id-tag': { type: 'string' },
    format: { type: 'string', default: 'csv' },
    config: { type: 'string', default: DEFAULT_CONFIG },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  }, USAGE);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.month) throw new UsageError(`--month is required, e.g. --month 2026-11\n${USAGE}`);
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(values.month)) throw new UsageError(`--month must be YYYY-MM, e.g. 2026-11 (got "${values.month}")\n${USAGE}`);
  if (values.format !== 'csv' && values.format !== 'html') throw new UsageError(`--format must be csv or html\n${USAGE}`);

  const { config, dbFile } = loadConfig(values.config!);
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
      report = buildMonthReport(store, ledger, { month: values.month, timeZone, stationId: config.station.id, idTag: values['id-tag'] ?? null, names });
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
