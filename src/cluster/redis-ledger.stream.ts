import { AuditAlertLogger } from '../audit-alert.logger.js';
import { ledgerMirrorFailed, ledgerMirrorWritable } from '../ledger/ledger.messages.js';
import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import { errorText } from '../common/error-text.util.js';
import type { LedgerMirror } from '../ledger/audit-ledger.writer.js';
import type { LedgerLine } from '../ledger/ledger-entry.interface.js';
import { parseLedgerLine } from '../ledger/ledger-line.js';
import { serviceKeyBase } from './monitor-keys.util.js';
import type { RedisAlertLink } from './redis-alert-link.interface.js';

/** Lines sent in one script. */
const BATCH = 500;
/** Lines waiting for Redis past which the newest are no longer mirrored (the files keep them). */
const MAX_PENDING = 10_000;
const DAY_MS = 86_400_000;

/**
 * Appends each line (`ARGV[2..]`) as a `line` field, trimming the entries older
 * than `ARGV[1]` (a stream id: ms since the epoch). `~`: trimmed by whole
 * nodes, cheaply, so a few older entries may stay.
 */
const APPEND = `
for i = 2, #ARGV do
  redis.call('XADD', KEYS[1], 'MINID', '~', ARGV[1], '*', 'line', ARGV[i])
end
return #ARGV - 1`;

/** Up to `ARGV[2]` entries after the id `ARGV[1]` (exclusive; `-` for the first). */
const RANGE = `return redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', ARGV[2])`;

/** The stream of a service's ledger: one for the fleet, in the `{service}` slot. */
function ledgerStreamKey(link: RedisAlertLink, serviceName: string): string {
  return `${serviceKeyBase(link.options.keyPrefix, serviceName)}:ledger`;
}

/**
 * Mirrors the ledger's lines to a Redis Stream, so the replicas of a service
 * share one ledger and an export from any of them covers all. The files stay
 * the truth: lines Redis does not take wait (up to {@link MAX_PENDING}) and go
 * with the next ones; past that they stay in the files only, which is logged.
 */
export class RedisLedgerStream implements LedgerMirror {
  private readonly logger = new AuditAlertLogger();
  private readonly key: string;
  private pending: string[] = [];
  private sending = false;
  private failing = false;

  constructor(
    private readonly link: RedisAlertLink,
    serviceName: string,
    private readonly retentionDays: number,
    private readonly clock: AuditAlertClock,
  ) {
    this.key = ledgerStreamKey(link, serviceName);
  }

  mirror(lines: readonly string[]): void {
    this.pending.push(...lines.slice(0, Math.max(0, MAX_PENDING - this.pending.length)));
    if (!this.sending) void this.send();
  }

  private async send(): Promise<void> {
    this.sending = true;
    let sent = 0;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.slice(0, BATCH);
        const minId = `${Math.max(0, this.clock.wallNow() - this.retentionDays * DAY_MS)}-0`;
        try {
          await this.link.eval(APPEND, [this.key], [minId, ...batch]);
        } catch (error) {
          if (!this.failing) this.logger.warn(ledgerMirrorFailed(errorText(error), this.pending.length));
          this.failing = true;
          return;
        }
        this.pending.splice(0, batch.length);
        sent += batch.length;
      }
      if (this.failing) this.logger.log(ledgerMirrorWritable(sent));
      this.failing = false;
    } finally {
      this.sending = false;
    }
  }
}

/**
 * The lines of a service's ledger in its Redis Stream, from every replica, in
 * the order Redis took them (each replica's own lines in their sequence).
 * @throws whatever kept Redis from answering.
 */
export async function readClusterLedger(link: RedisAlertLink, serviceName: string): Promise<LedgerLine[]> {
  const key = ledgerStreamKey(link, serviceName);
  const lines: LedgerLine[] = [];
  let after = '-';
  for (;;) {
    const entries = (await link.eval(RANGE, [key], [after, String(BATCH)])) as [string, string[]][];
    for (const [, fields] of entries) {
      const at = fields.indexOf('line');
      const line = at >= 0 ? parseLedgerLine(fields[at + 1] ?? '') : null;
      if (line !== null) lines.push(line);
    }
    if (entries.length < BATCH) return lines;
    after = `(${entries.at(-1)![0]}`;
  }
}
