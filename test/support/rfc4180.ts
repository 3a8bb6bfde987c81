/**
 * Parses CSV text by RFC 4180: records end with CRLF, a field in double quotes
 * may hold commas, CRLF and quotes (doubled). Throws on anything else (a bare
 * LF or CR outside quotes, a quote inside an unquoted field, text after a
 * closing quote), so a test that parses an export back also checks its form.
 */
export function parseRfc4180(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(
      `not RFC 4180 at character ${i}: ${what} in ${JSON.stringify(text.slice(Math.max(0, i - 20), i + 20))}`,
    );
  };
  while (i < text.length) {
    let field = '';
    if (text[i] === '"') {
      i += 1;
      for (;;) {
        if (i >= text.length) fail('an unclosed quote');
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i += 1;
          break;
        }
        field += text[i];
        i += 1;
      }
    } else {
      while (i < text.length && text[i] !== ',' && text[i] !== '\r') {
        if (text[i] === '"' || text[i] === '\n') fail('a quote or a line feed in an unquoted field');
        field += text[i];
        i += 1;
      }
    }
    record.push(field);
    if (text[i] === ',') {
      i += 1;
    } else if (text.startsWith('\r\n', i)) {
      i += 2;
      records.push(record);
      record = [];
    } else {
      fail('no comma or CRLF after a field');
    }
  }
  if (record.length > 0) fail('a last record without CRLF');
  return records;
}

/** The rows of a CSV export as objects keyed by the header's columns. */
export function csvRows(text: string): Record<string, string>[] {
  const [header, ...rows] = parseRfc4180(text);
  return rows.map((row) => {
    if (row.length !== header.length) throw new Error(`a row of ${row.length} cells under ${header.length} columns`);
    return Object.fromEntries(header.map((column, index) => [column, row[index]]));
  });
}
