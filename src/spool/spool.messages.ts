/** What the audit spool logs; a leaf, like the module's own messages. */

export const spoolUnwritable = (monitor: string, error: string): string =>
  `The audit spool of monitor "${monitor}" cannot keep records (${error}); records whose write fails now are lost.`;

export const spoolWritable = (monitor: string): string =>
  `The audit spool of monitor "${monitor}" keeps records again.`;

export const spoolReplayStopped = (monitor: string, error: string, pending: number, retryMs: number): string =>
  `Replay of the audit spool of monitor "${monitor}" stopped (${error}); ${pending} records wait, tried again in ${retryMs} ms or at the next recovery.`;

export const spoolReplayTimedOut = (timeoutMs: number): string =>
  `a replayed record was not written within ${timeoutMs} ms`;

export const spoolRecordRefused = (monitor: string, id: string | number, seq: number, error: string): string =>
  `The audit storage of monitor "${monitor}" refused the spooled record ${id} (spool line ${seq}) while it took the records after it: ${error}; the record is set aside in the spool's quarantine file.`;

export const spoolEveryRecordRefused = (monitor: string, tried: number, error: string): string =>
  `The audit storage of monitor "${monitor}" refused ${tried} spooled records in a row (${error}): a refusal of every record is the storage's, not the records'; they stay in the spool.`;

export const spoolQuarantined = (
  monitor: string,
  count: number,
  missing: number,
  reason: string,
  file: string,
): string =>
  `The audit spool of monitor "${monitor}" set ${count} records aside in ${file}${missing > 0 ? ` and found ${missing} missing` : ''}: ${reason}.`;
