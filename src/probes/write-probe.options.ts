import { fail, readObject, readString, rejectUnknownKeys } from '../options/option-readers.util.js';

/** Where a write probe inserts the row it rolls back. */
export interface AuditWriteProbeOptions {
  /**
   * The table the probe inserts into, inside a transaction it always rolls
   * back: your audit table, so the probe meets what audit writes meet
   * (read-only replicas, revoked grants, a full disk, locks). `schema.table`
   * names a table of another schema.
   */
  table: string;
  /**
   * Column values of the probe row. Give every NOT NULL column without a
   * default; the row is never committed.
   * @default {} (`INSERT … DEFAULT VALUES`)
   */
  row?: Record<string, unknown>;
}

/** The options of a write probe, checked. */
interface ResolvedWriteProbeOptions {
  readonly table: string;
  readonly row: Readonly<Record<string, unknown>>;
}

const KEYS = ['table', 'row'];

/** Checks the options of a write probe; `path` names the call in errors. */
export function readWriteProbeOptions(options: unknown, path: string): ResolvedWriteProbeOptions {
  const source = readObject(options, path);
  rejectUnknownKeys(source, KEYS, `${path}.`);
  if (source.table === undefined) fail(`${path}.table`, undefined, 'the name of the table to insert into');
  const table = readString(source, 'table', '', `${path}.table`);
  const row = source.row === undefined ? {} : readObject(source.row, `${path}.row`);
  return { table, row: { ...row } };
}
