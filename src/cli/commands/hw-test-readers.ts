import type { ResolvedReader } from '../../config/readers.js';
import { createCardReader } from '../../hal/readers/factory.js';
import { IdTagError, normaliseCard } from '../../hal/readers/normalise.js';
import type { CardRead, CardReader } from '../../hal/readers/types.js';

export interface ReaderTestRow {
  connector: number;
  item: string;
  pin: string;
  action: string;
  result: string;
  ok: boolean;
}

export interface ReaderTestIo {
  out: (line: string) => void;
  /** The driver for a reader (tests); default: the configured one. */
  create?: (cfg: ResolvedReader) => CardReader;
}

/**
 * `evsed hw test` for one card reader: opens it, asks the technician to hold a card to it, and
 * prints the idTag the daemon would see (after the reader's format options), or why there is none.
 */
export async function testReader(cfg: ResolvedReader, timeoutMs: number, io: ReaderTestIo): Promise<ReaderTestRow> {
  const where = 'device' in cfg ? cfg.device : 'simulated';
  const row = (result: string, ok: boolean): ReaderTestRow => {
    io.out(`  [${ok ? ' ok ' : 'FAIL'}] reader ${cfg.id}: ${result}`);
    return { connector: cfg.connector, item: `reader ${cfg.id}`, pin: where, action: `wait ${fmtS(timeoutMs)} for a card`, result, ok };
  };
  const reader = (io.create ?? createCardReader)(cfg);
  const problems: string[] = [];
  let settle: (r: { idTag: string } | { gone: string } | { invalid: string } | null) => void = () => undefined;
  const result = new Promise<{ idTag: string } | { gone: string } | { invalid: string } | null>((r) => (settle = r));
  reader.on('card', (card: CardRead) => {
    try {
      settle({ idTag: normaliseCard(card, { format: cfg.format, reverse: cfg.reverse }) });
    } catch (err) {
      if (!(err instanceof IdTagError)) throw err;
      settle({ invalid: err.message });
    }
  });
  reader.on('error', (err: Error) => problems.push(err.message));
  reader.on('gone', (err: Error) => settle({ gone: err.message }));
  io.out(`reader ${cfg.id} (${cfg.driver}, ${where}) for connector ${cfg.connector}: opening`);
  try {
    await reader.open();
  } catch (err) {
    return row((err as Error).message, false);
  }
  io.out(`reader ${cfg.id}: hold a card to it now (waiting ${fmtS(timeoutMs)})`);
  const timer = setTimeout(() => settle(null), timeoutMs);
  try {
    const r = await result;
    if (r === null) return row(`no card within ${fmtS(timeoutMs)}${problems.length ? ` (last problem: ${problems.at(-1)})` : ''}`, false);
    if ('gone' in r) return row(`the reader went away: ${r.gone}`, false);
    if ('invalid' in r) return row(r.invalid, false);
    return row(`idTag ${r.idTag}`, true);
  } finally {
    clearTimeout(timer);
    await reader.close().catch(() => undefined);
  }
}

function fmtS(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
