/** The shortest time an open outage is remembered without a failure. */
const MIN_OPEN_TTL_MS = 60_000;

/**
 * How long an outage not alerted on yet is remembered without a failure, by
 * the other replicas (`cluster`) or by the next process (`state`): long enough
 * for its threshold and a cooldown to pass twice; past it, the failures it
 * counted say nothing about the storage any more.
 */
export function openOutageTtlMs(monitor: { readonly thresholdMs: number; readonly cooldownMs: number }): number {
  return Math.max(MIN_OPEN_TTL_MS, 2 * (monitor.thresholdMs + monitor.cooldownMs));
}
