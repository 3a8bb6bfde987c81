import { Inject, Injectable } from '@nestjs/common';
import { AUDIT_ALERT_CLOCK, AUDIT_ALERT_RESOLVED_OPTIONS } from '../audit-alert.constants.js';
import { hookBlocked, hookTimedOut } from '../audit-alert.messages.js';
import type { ResolvedAuditAlertOptions } from '../audit-alert.options.js';
import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import { errorText } from '../common/error-text.util.js';
import { AuditAlertChannelError } from '../errors/audit-alert-channel.error.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import { frozenEvent } from '../events/frozen-event.util.js';
import { errorTypeOf, TIMEOUT_ERROR_TYPE } from '../metrics/audit-alert.metrics.js';
import type { AuditAlertDeliveryReceipt } from './delivery-receipt.interface.js';
import type { RecipientBinding, RecipientTimer } from './recipient-binding.interface.js';

/**
 * Calls one recipient (a hook or a channel) with one event, in isolation:
 * with an event of its own, bounded by its deadline, its failure caught; and
 * gives back a receipt. Nothing it calls can reach the audit write path or
 * another recipient.
 */
@Injectable()
export class AuditAlertInvoker {
  /** Time spent in the synchronous part of every call so far, on the module's monotonic clock. */
  private blockedMs = 0;

  constructor(
    @Inject(AUDIT_ALERT_RESOLVED_OPTIONS) private readonly options: ResolvedAuditAlertOptions,
    @Inject(AUDIT_ALERT_CLOCK) private readonly clock: AuditAlertClock,
  ) {}

  /**
   * Delivers `shared` to `binding`; resolves to its receipt once it is
   * delivered, failed or timed out, and never rejects. Time the event loop
   * spent blocked in other recipients' synchronous code while this one ran is
   * given back to it (its deadline moves on by as much), and its deadline is
   * checked a turn of the event loop after the timer fires, so an answer that
   * was already there is not missed: a recipient is never blamed for
   * another's blocking. The one that blocks is: a recipient whose synchronous
   * part alone outlasts its deadline counts as timed out.
   */
  async deliver(binding: RecipientBinding, shared: AuditAlertEvent): Promise<AuditAlertDeliveryReceipt> {
    const event = frozenEvent(shared);
    const startedAt = this.clock.wallNow();
    let blockedMs = 0;
    const timed: RecipientTimer = (run) => {
      const started = this.clock.monotonicNow();
      try {
        return run();
      } finally {
        const spent = this.clock.monotonicNow() - started;
        blockedMs += spent;
        this.blockedMs += spent;
      }
    };
    const receipt = (
      result: AuditAlertDeliveryReceipt['result'],
      attempts: number,
      reason: string | null,
      errorType: string | null,
    ): AuditAlertDeliveryReceipt => ({
      recipient: binding.name,
      channel: binding.channel ?? null,
      event,
      result,
      attempts,
      reason,
      startedAt: new Date(startedAt),
      settledAt: new Date(this.clock.wallNow()),
      errorType,
    });
    // Async, so that an invoke() throwing synchronously rejects instead.
    const call = (async () => binding.invoke(event, timed))();
    const timeoutMs = binding.timeoutMs === undefined ? this.options.hookTimeoutMs : binding.timeoutMs;
    let timer: unknown;
    const expired =
      timeoutMs === null
        ? null
        : new Promise<string>((resolve) => {
            const arm = (delayMs: number, blockedByOthers: number): void => {
              timer = this.clock.setTimer(() => {
                setImmediate(() => {
                  const byOthersNow = this.blockedMs - blockedMs;
                  const lost = byOthersNow - blockedByOthers;
                  if (lost >= 1) arm(lost, byOthersNow);
                  else resolve(hookTimedOut(binding.name, event.type, timeoutMs));
                });
              }, delayMs);
            };
            arm(timeoutMs, this.blockedMs - blockedMs);
          });
    try {
      const outcome = await (expired ? Promise.race([call, expired]) : call);
      if (typeof outcome === 'string') return receipt('timed-out', 1, outcome, TIMEOUT_ERROR_TYPE);
      if (timeoutMs !== null && blockedMs >= timeoutMs) {
        const blocked = hookBlocked(binding.name, event.type, Math.round(blockedMs), timeoutMs);
        return receipt('timed-out', outcome, blocked, TIMEOUT_ERROR_TYPE);
      }
      return receipt('delivered', outcome, null, null);
    } catch (error) {
      const attempts = error instanceof AuditAlertChannelError ? error.attempts : 1;
      return receipt('failed', attempts, errorText(error), errorTypeOf(error));
    } finally {
      if (expired) this.clock.clearTimer(timer);
    }
  }
}
