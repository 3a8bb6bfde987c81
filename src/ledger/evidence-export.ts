import { AuditAlertConfigError } from '../errors/audit-alert-config.error.js';
import type { LedgerLine } from './ledger-entry.interface.js';

export function exportEvidence(
  lines: Iterable<LedgerLine>,
  options: { from?: Date; to?: Date; format: 'csv' | 'jsonl' },
): string {
  if (options.format === 'csv') throw new AuditAlertConfigError('format: csv export not built', 'format');
  const from = options.from?.getTime() ?? -Infinity;
  const to = options.to?.getTime() ?? Infinity;
  let text = '';
  for (const line of lines) {
    const at = Date.parse(line.at);
    if (at >= from && at < to) text += `${JSON.stringify(line)}\n`;
  }
  return text;
}
