// CSV as RFC 4180 has it (what spreadsheets and directory exports write): fields separated by
// commas, quoted with double quotes when they hold a comma, a quote or a line break, a quote in a
// quoted field doubled; lines end in CRLF or LF. Used for the audit export and the users' import
// and export.

/**
 * One cell for a file people open in a spreadsheet: a value that a spreadsheet would run as a
 * formula (starting with = + - @, a tab or a carriage return) gets a leading apostrophe (CSV
 * injection), then quotes where needed. null is the empty cell.
 */
export function csvCell(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\r\n']/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/**
 * A cell as csvCell wrote it, read back: the apostrophe csvCell put before a formula character is
 * taken off, so an export imported again gives the values it was made from.
 */
export function csvValue(cell: string): string {
  return /^'[=+\-@\t\r]/.test(cell) ? cell.slice(1) : cell;
}

export class CsvError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

export interface CsvRecord {
  /** The line the record starts on (1 is the first line of the file). */
  line: number;
  fields: string[];
}

/**
 * The records of a CSV text, in order; a UTF-8 byte order mark is ignored, empty lines are
 * skipped. A quote left open, or text right after a closing quote, is an error naming the line.
 */
export function parseCsv(text: string): CsvRecord[] {
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const out: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let start = 1;
  let quoted = false;
  /** The field being read was quoted (text may not follow its closing quote). */
  let wasQuoted = false;
  /** The record being read has a quoted field (so `""` alone is a record, not an empty line). */
  let wasQuotedRecord = false;
  const endField = () => {
    fields.push(field);
    field = '';
    wasQuoted = false;
  };
  const endRecord = () => {
    endField();
    if (!(fields.length === 1 && fields[0] === '' && !wasQuotedRecord)) out.push({ line: start, fields });
    fields = [];
    wasQuotedRecord = false;
  };
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quoted) {
      if (ch === '"') {
        if (s[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
          wasQuoted = true;
        }
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"') {
      if (field !== '' || wasQuoted) throw new CsvError(line, 'a quote inside an unquoted field (quote the whole field and double the quote)');
      quoted = true;
      wasQuotedRecord = true;
    } else if (ch === ',') {
      endField();
    } else if (ch === '\r' || ch === '\n') {
      if (ch === '\r' && s[i + 1] === '\n') i++;
      endRecord();
      line++;
      start = line;
    } else {
      if (wasQuoted) throw new CsvError(line, 'text after a closing quote');
      field += ch;
    }
  }
  if (quoted) throw new CsvError(start, 'a quoted field is not closed');
  if (field !== '' || fields.length > 0 || wasQuoted) endRecord();
  return out;
}
