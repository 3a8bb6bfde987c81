import { setMaxListeners } from 'node:events';
import type { LoggerService } from '@nestjs/common';
import { channelGaveUp, channelRejected, channelRetrying, channelStopped } from '../audit-alert.messages.js';
import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import { AuditAlertChannelError } from '../errors/audit-alert-channel.error.js';

/** Longest wait between two attempts, whatever the backoff or a `Retry-After` header asks for. */
export const MAX_RETRY_DELAY_MS = 300_000;

/** How long one attempt may take and how often to try again. */
export interface RetryPolicy {
  readonly timeoutMs: number;
  readonly retries: number;
  readonly backoffMs: number;
}

/** How one attempt ended: what decides whether another is made. */
export type AttemptOutcome =
  | { readonly kind: 'delivered' }
  | { readonly kind: 'retry'; readonly reason: string; readonly retryAfterMs: number | null }
  | { readonly kind: 'rejected'; readonly reason: string }
  | { readonly kind: 'stopped' };

export const DELIVERED: AttemptOutcome = { kind: 'delivered' };
export const STOPPED: AttemptOutcome = { kind: 'stopped' };

/**
 * Delay before retry number `retry` (1 for the first): `backoffMs` doubled for
 * each earlier retry, capped, then "equal jitter" (between half and all of it)
 * so that many instances alerting at once do not retry in step.
 * @param random Returns a number in [0, 1), like `Math.random`.
 */
export function backoffDelay(backoffMs: number, retry: number, random: () => number): number {
  const ceiling = Math.min(MAX_RETRY_DELAY_MS, backoffMs * 2 ** (retry - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * What every channel delivers with, whatever its protocol: the retry loop
 * (exponential backoff with jitter, waits on the module's clock) and the
 * application's shutdown, which stops both the attempt in progress and any
 * further one. A protocol gives it one attempt at a time ({@link retrying}).
 */
export class ChannelDelivery {
  constructor(
    /** The module's clock: waits between attempts, and any timer of a channel (the Alertmanager re-send). */
    readonly clock: AuditAlertClock,
    private readonly random: () => number,
    /** Aborted at application shutdown, once deliveries have drained. */
    readonly signal: AbortSignal,
    /** Where deliveries, and the channels using them, write what they have to say. */
    readonly logger: Pick<LoggerService, 'log' | 'warn'>,
  ) {
    // Every delivery in flight listens for shutdown; an outage on several monitors and channels makes many.
    setMaxListeners(0, signal);
  }

  /**
   * Makes `attempt` until one is delivered, as `policy` allows.
   * @param label Names the channel in logs.
   * @param eventType Names what is being sent in logs.
   * @returns How many attempts it took.
   * @throws AuditAlertChannelError when the receiver refused it, the retries ran out or the application shut down.
   */
  async retrying(
    label: string,
    eventType: string,
    policy: RetryPolicy,
    attempt: () => Promise<AttemptOutcome>,
  ): Promise<number> {
    let lastReason: string | null = null;
    const failure = (message: string, attempts: number): AuditAlertChannelError =>
      new AuditAlertChannelError(message, { channel: label, eventType, attempts, lastReason });
    for (let count = 1; ; count += 1) {
      if (this.signal.aborted) throw failure(channelStopped(count - 1), count - 1);
      const outcome = await attempt();
      switch (outcome.kind) {
        case 'delivered':
          return count;
        case 'rejected':
          lastReason = outcome.reason;
          throw failure(channelRejected(outcome.reason), count);
        case 'stopped':
          throw failure(channelStopped(count), count);
        case 'retry': {
          lastReason = outcome.reason;
          if (count > policy.retries) throw failure(channelGaveUp(count, outcome.reason), count);
          const delayMs = outcome.retryAfterMs ?? backoffDelay(policy.backoffMs, count, this.random);
          this.logger.warn(channelRetrying(label, eventType, count, outcome.reason, delayMs));
          if (!(await this.pause(delayMs))) throw failure(channelStopped(count), count);
        }
      }
    }
  }

  /** Waits `delayMs` on the module's clock; resolves `false` if the application shuts down first. */
  private pause(delayMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.signal.aborted) {
        resolve(false);
        return;
      }
      const stop = (): void => {
        this.clock.clearTimer(timer);
        resolve(false);
      };
      const timer = this.clock.setTimer(() => {
        this.signal.removeEventListener('abort', stop);
        resolve(true);
      }, delayMs);
      this.signal.addEventListener('abort', stop, { once: true });
    });
  }
}
