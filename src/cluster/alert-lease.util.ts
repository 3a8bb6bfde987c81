import type { ResolvedAuditAlertOptions } from '../audit-alert.options.js';
import { MAX_RETRY_DELAY_MS } from '../channels/http-delivery.js';

/**
 * How long a replica's claim of an alert holds before its delivery is
 * confirmed; past it, another replica of the cluster sends the alert.
 *
 * The longest a delivery takes when nothing hangs for good: every hook is
 * abandoned after `hookTimeoutMs`; a channel makes `retries + 1` attempts of
 * at most `timeoutMs` each, with backoff waits of at most `backoffMs`,
 * `2 × backoffMs`, … (each capped at five minutes). Hooks and channels run side
 * by side, so the bound is the longest of them, plus `cluster.timeoutMs` for
 * the confirmation to reach Redis. A receiver's `Retry-After` longer than the
 * backoff can stretch a delivery past it: the alert may then be sent twice,
 * under the same `outageId`, never not at all.
 */
export function alertLeaseMs(
  options: Pick<ResolvedAuditAlertOptions, 'hookTimeoutMs' | 'channels'>,
  redisTimeoutMs: number,
): number {
  let longest = options.hookTimeoutMs;
  for (const channel of options.channels) {
    let bound = (channel.retries + 1) * channel.timeoutMs;
    for (let retry = 1; retry <= channel.retries; retry += 1) {
      bound += Math.min(MAX_RETRY_DELAY_MS, channel.backoffMs * 2 ** (retry - 1));
    }
    longest = Math.max(longest, bound);
  }
  return longest + redisTimeoutMs;
}
