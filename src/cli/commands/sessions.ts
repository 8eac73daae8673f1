import { existsSync, writeFileSync } from 'node:fs';
import { loadConfig } from '../../config/load.js';
import { openDb } from '../../store/db.js';
import { SessionStore, type SessionFilter } from '../../store/sessions.js';
import { DateInputError, parseDateRange, sessionRow, sessionsToCsv, sessionsToJson } from '../../store/export.js';
import { UsageError } from './args.js';
import { BillingLedger, sessionCostColumns } from '../../billing/ledger.js';
import { BillingRecords } from '../../store/billing/records.js';

export interface SessionsOptions {
  config: string;
  from?: string;
  to?: string;
  idTag?: string;
}

/** evsed sessions list: the latest sessions as a table (read-only; the daemon may be running). */
export async function sessionsList(o: SessionsOptions & { limit: number }): Promise<number> {
  return withStore(o, 0, (store, filter) => {
    const rows = store.list({ ...filter, order: 'desc', limit: o.limit }).reverse();
    printTable(rows.map((s) => sessionRow(s)));
    return 0;
  });
}

/** evsed sessions export: every session in the range as CSV (default) or JSON. */
export async function sessionsExport(o: SessionsOptions & { format: 'csv' | 'json'; out?: string }): Promise<number> {
  return withStore(o, EXIT_NO_INPUT, (store, filter, db) => {
    const sessions = store.list(filter);
    // Cost columns read the costs the daemon stored at each stop (nothing is recomputed here).
    const costs = sessionCostColumns(new BillingLedger(store, new BillingRecords(db), null));
    const text = o.format === 'json' ? sessionsToJson(sessions, costs) : sessionsToCsv(sessions, costs);
    if (o.out) writeFileSync(o.out, text);
    else process.stdout.write(text);
    return 0;
  });
}

/** sysexits EX_NOINPUT: no session store yet. */
const EXIT_NO_INPUT = 66;

/** Opens the store of the station configured by --config read-only, with the filter of the options. */
function withStore(o: SessionsOptions, noStore: number, fn: (store: SessionStore, filter: SessionFilter, db: ReturnType<typeof openDb>) => number): number {
  const filter: SessionFilter = { order: 'asc' };
  try {
    Object.assign(filter, parseDateRange(o.from, o.to, ['--from', '--to']));
  } catch (err) {
    if (err instanceof DateInputError) throw new UsageError(err.message);
    throw err;
  }
  if (o.idTag) filter.idTag = o.idTag;
  const { dbFile } = loadConfig(o.config);
  if (!existsSync(dbFile)) {
    console.error(`no session store at ${dbFile} yet (the daemon creates it on first start)`);
    return noStore;
  }
  const db = openDb(dbFile, [], { readonly: true });
  try {
    return fn(new SessionStore(db), filter, db);
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
