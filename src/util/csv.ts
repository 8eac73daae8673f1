/**
 * RFC 4180 CSV, both ways: a field is quoted when it holds a comma, a quote or a line break, and
 * a quote inside is doubled. The reader takes CRLF or LF line ends, a UTF-8 byte order mark (a
 * spreadsheet's "CSV UTF-8" export) and a last line with or without its line end.
 *
 * A spreadsheet would run a cell that starts with = + - @ (or a tab or CR) as a formula: such a
 * cell is written with a leading apostrophe, and the reader takes exactly one apostrophe off again
 * (a text that already starts with apostrophes before such a character gets one more), so every
 * text round-trips.
 */

const FORMULA = /^'*[=+\-@\t\r]/;

export function csvField(value: string): string {
  const safe = FORMULA.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function toCsv(rows: readonly (readonly string[])[]): string {
  return rows.map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

export class CsvError extends Error {}

/** The rows of `text`; a blank line is skipped. */
export function parseCsv(text: string): string[][] {
  const s = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let wasQuoted = false;
  let line = 1;
  const endField = () => {
    row.push(unescapeFormula(field));
    field = '';
    wasQuoted = false;
  };
  const endRow = () => {
    endField();
    if (!(row.length === 1 && row[0] === '')) rows.push(row);
    row = [];
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted) {
      if (c === '"') {
        if (s[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '"') {
      if (field !== '') throw new CsvError(`line ${line}: a quote inside an unquoted field (quote the whole field and double the quote)`);
      quoted = true;
      wasQuoted = true;
    } else if (c === ',') endField();
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && s[i + 1] === '\n') i++;
      endRow();
      line++;
    } else {
      if (wasQuoted) throw new CsvError(`line ${line}: text after a closing quote`);
      field += c;
    }
  }
  if (quoted) throw new CsvError(`line ${line}: a quoted field is not closed`);
  if (field !== '' || row.length) endRow();
  return rows;
}

function unescapeFormula(f: string): string {
  return f.startsWith("'") && FORMULA.test(f) ? f.slice(1) : f;
}
