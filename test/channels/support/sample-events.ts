import type { AuditAlertEvent, AuditAlertEventType } from '../../../src/index.js';

const at = new Date('2026-01-01T12:00:00.000Z');
const base = { outageId: '6f1c2a1e-8a3b-4c55-9d7e-2b7f0c1d9e42', monitor: 'default', serviceName: 'billing-api' };
const error = 'Error: connect ECONNREFUSED 10.0.0.5:5432 <users/all> @everyone **x**';

/** One event of each type, for proofs that a channel renders every one within its receiver's schema. */
export const SAMPLE_EVENTS = {
  'audit.storage.unreachable': {
    ...base,
    type: 'audit.storage.unreachable',
    firstFailureAt: at,
    consecutiveFailures: 14,
    unreachableDurationMs: 125_000,
    lastError: error,
    occurrence: 2,
    probeFailures: 0,
  },
  'audit.storage.degraded': {
    ...base,
    type: 'audit.storage.degraded',
    failureRatio: 0.95,
    writes: 400,
    failures: 380,
    windowMs: 30_000,
    lastError: error,
    firstFailureAt: at,
    occurrence: 1,
  },
  'audit.storage.recovered': {
    ...base,
    type: 'audit.storage.recovered',
    outageStartedAt: at,
    recoveredAt: new Date(at.getTime() + 462_000),
    outageDurationMs: 462_000,
    writesFailed: 57,
    recordsSpooled: 50,
    recordsLost: 7,
    eventsAffected: 57,
    eventsSpooled: 50,
    eventsLost: 7,
  },
  'audit.storage.capacity': {
    ...base,
    type: 'audit.storage.capacity',
    level: 'critical',
    previousLevel: 'warning',
    usedRatio: 0.93,
    used: 15,
    total: 16,
    threshold: 0.9,
    occurrence: 1,
    checkedAt: at,
  },
  'audit.records.rejected': {
    ...base,
    type: 'audit.records.rejected',
    firstRejectedAt: at,
    rejectedRecords: 12,
    rejectedDurationMs: 60_000,
    lastError: error,
    occurrence: 1,
  },
  'audit.spool.unwritable': {
    ...base,
    type: 'audit.spool.unwritable',
    lastError: 'Error: EROFS: read-only file system',
    recordsLost: 3,
    failedAt: at,
  },
  'audit.spool.quarantined': {
    ...base,
    type: 'audit.spool.quarantined',
    recordsQuarantined: 4,
    recordsMissing: 1,
    reason: 'the chain breaks at segment-0000000000000001.jsonl line 2 <users/all> @everyone **x**',
    file: 'quarantine.jsonl',
    quarantinedAt: at,
  },
  'audit.spool.replayed': { ...base, type: 'audit.spool.replayed', recordsReplayed: 57, replayedAt: at },
  'audit.ledger.broken': {
    ...base,
    type: 'audit.ledger.broken',
    directory: '/var/lib/billing-api/audit-ledger',
    file: 'ledger-2026-01-01.jsonl',
    line: 7,
    reason: 'its content does not match its hash: it was edited <users/all> @everyone **x**',
    detectedAt: at,
  },
  'audit.alert.test': {
    type: 'audit.alert.test',
    testId: '0b7e2f6c-1111-4222-8333-944455556666',
    monitor: 'default',
    serviceName: 'billing-api',
    sentAt: at,
  },
  'audit.alert.acknowledged': {
    ...base,
    type: 'audit.alert.acknowledged',
    by: 'ana@example.com <users/all>',
    note: 'on it: the disk of db-1 is full **x**',
    acknowledgedAt: at,
    outageStartedAt: at,
  },
  'audit.alert.test.failed': {
    type: 'audit.alert.test.failed',
    testId: '0b7e2f6c-1111-4222-8333-944455556666',
    monitor: 'default',
    serviceName: 'billing-api',
    recipient: 'Webhook channel (http://127.0.0.1:9) <users/all> @everyone',
    reason: 'AuditAlertChannelError: the receiver answered HTTP 500 **x**',
    attempts: 3,
    sentAt: at,
  },
} as const satisfies { readonly [T in AuditAlertEventType]: Extract<AuditAlertEvent, { type: T }> };

/** Every sample event, each as the union. */
export const sampleEvents = (): AuditAlertEvent[] => Object.values(SAMPLE_EVENTS) as AuditAlertEvent[];
