/**
 * Where a monitor counts the outcomes it is told of. A monitor without one
 * (metrics off) pays a single null check per call.
 */
export interface AuditMonitorMetrics {
  /** One failed write (or probe) was recorded. */
  failure(): void;
  /** One successful write (or probe) was recorded. */
  success(): void;
  /** One write was rejected for its record (`classify` said `'record'`). */
  rejectedRecord(): void;
}
