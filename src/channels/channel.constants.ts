/**
 * Injection token of the random source the channels draw their retry jitter
 * from (`Math.random` unless overridden), so tests can pin it.
 */
export const AUDIT_ALERT_RANDOM = Symbol.for('nestjs-audit-alert:random');
