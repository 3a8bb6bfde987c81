/** What the evidence ledger logs and throws; a leaf, like the module's own messages. */

export const ledgerDirectoryInUse = (directory: string, holder: string, lockFile: string): string =>
  `ledger.directory: ${directory} is in use by ${holder} (lock file ${lockFile}). ` +
  'Processes must not share a ledger directory: give each its own ledger.directory ' +
  '(with PM2 or node:cluster, add the worker id to it; with cluster, the Redis Stream joins them). ' +
  'If no such process runs, remove the lock file.';

export const ledgerUnwritable = (directory: string, error: string, queued: number): string =>
  `The evidence ledger in ${directory} cannot be written (${error}); ${queued} records wait in memory and the write is tried again.`;

export const ledgerWritable = (directory: string, written: number): string =>
  `The evidence ledger in ${directory} is written again (${written} waiting records written).`;

export const ledgerQueueFull = (directory: string, max: number): string =>
  `The evidence ledger in ${directory} has ${max} records waiting to be written: further records are dropped, counted, and the count recorded once it writes again.`;

export const ledgerRecordUnwritable = (kind: string, error: string): string =>
  `A ledger record of kind "${kind}" cannot be written as JSON (${error}); it is left out.`;

export const ledgerBroken = (directory: string, file: string, line: number, reason: string): string =>
  `The evidence ledger in ${directory} is broken at ${file} line ${line}: ${reason}. The break is recorded; the chain continues from the last line.`;

export const ledgerNotFlushed = (directory: string, queued: number): string =>
  `The evidence ledger in ${directory} was closed with ${queued} records not written.`;

export const ledgerPruneFailed = (directory: string, error: string): string =>
  `Old files of the evidence ledger in ${directory} could not be deleted (${error}); tried again at the next day.`;

export const ledgerMirrorFailed = (error: string, pending: number): string =>
  `The evidence ledger's Redis Stream could not be written (${error}); ${pending} lines wait and are sent with the next.`;

export const ledgerMirrorWritable = (sent: number): string =>
  `The evidence ledger's Redis Stream is written again (${sent} waiting lines sent).`;

export const ledgerNotConfigured = (): string =>
  'exportEvidence() reads the evidence ledger, and the module has no ledger option: set ledger: { directory }.';
