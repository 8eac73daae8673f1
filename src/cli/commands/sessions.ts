import { existsSync, writeFileSync } from 'node:fs';
import { loadConfig } from '../../config/load.js';
import { openDb } from '../../store/db.js';
import { SessionStore, type SessionFilter } from '../../store/sessions.js';
import { DateInputError, parseDateRange, sessionRow, sessionsToCsv, sessionsToJson } from '../../store/export.js';
import { DEFAULT_CONFIG, parse, UsageError } from './args.js';
import { BillingLedger, sessionCostColumns } from '../../billing/ledger.js';
import { BillingRecords } from '../../store/billing/records.js';

const USAGE = `usage: evsed sessions list [--config FILE] [--limit N] [--from DATE] [--to DATE]
       evsed sessions export --format csv|json [--from DATE] [--to DATE] [--id-tag TAG] [--config FILE] [--out FILE]`;

/** Reads the local store of the station configured by --config (read-only; the daemon may be running). */
export async function sessionsCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values } = parse(rest, {
    config: { type: 'string', default: DEFAULT_CONFIG },
    format: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    'id-tag': { type: 'string' },
    limit: { type: 'string' },
    out: { type: 'string' },
  }, USAGE);
  if (sub !== 'list' && sub !== 'export') throw new UsageError(USAGE);
  const { dbFile } = loadConfig(values.config!);
  if (!existsSync(dbFile)) {
    console.error(`no session store at ${dbFile} yet (the daemon creates it on first start)`);
    return sub === 'list' ? 0 : 66;
  }
  const db = openDb(dbFile, [], { readonly: true });
  try {
    const store = new SessionStore(db);
    const filter: SessionFilter = { order: 'asc' };
    try {
      Object.assign(filter, parseDateRange(values.from, values.to, ['--from', '--to']));
    } catch (err) {
      if (err instanceof DateInputError) throw new UsageError(`${err.message}\n${USAGE}`);
      throw err;
    }
    if (values['id-tag']) filter.idTag = values['id-tag'];
    if (sub === 'list') {
      const limit = values.limit ? Number(values.limit) : 50;
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a positive whole number\n${USAGE}`);
      const rows = store.list({ ...filter, order: 'desc', limit }).reverse();
      printTable(rows.map((s) => sessionRow(s)));
      return 0;
    }
    if (values.format !== 'csv' && values.format !== 'json') throw new UsageError(`--format must be csv or json\n${USAGE}`);
    const sessions = store.list(filter);
    // Cost columns read the costs the daemon stored at each stop (nothing is recomputed here).
    const costs = sessionCostColumns(new BillingLedger(store, new BillingRecords(db), null));
    const text = values.format === 'csv' ? sessionsToCsv(sessions, costs) : sessionsToJson(sessions, costs);
    if (values.out) writeFileSync(values.out, text);
    else process.stdout.write(text);
    return 0;
  } finally {
    db.close();
  }
}

function printTable(rows: ReturnType<typeof sessionRow>[]): void {
  if (!rows.length) {
    console.log('no sessions');
    return;
  }
  const cols = ['id', 'connectorId', 'idTag', 'status', 'startTime', 'durationS', 'chargingS', 'idleS', 'energyWh', 'stopReason'] as const;
  const table = rows.map((r) => cols.map((c) => (r[c] === null || r[c] === undefined ? '-' : String(r[c]))));
  const widths = cols.map((c, i) => Math.max(c.length, ...table.map((t) => t[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(line(cols));
  for (const t of table) console.log(line(t));
}
