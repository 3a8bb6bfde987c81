export { AuditAlertConfigError } from './errors/audit-alert-config.error.js';
export { AUDIT_ALERT_CLOCK, AuditAlertEvents, type AuditAlertEventType } from './audit-alert.constants.js';
export { AuditAlertModule } from './audit-alert.module.js';
export { AuditAlertChannelError } from './errors/audit-alert-channel.error.js';
export type {
  AuditAlertChannelDeliveryOptions,
  AuditAlertChannelOptions,
  PagerDutyChannelOptions,
  AuditAlertChannelSummaryOptions,
  AuditAlertChannelType,
  PagerDutySeverity,
  SlackChannelOptions,
  TeamsChannelOptions,
  WebhookChannelOptions,
  EmailChannelOptions,
  AuditAlertEmailMessage,
  AuditAlertEmailTransporter,
  AuditAlertSmtpOptions,
  AlertmanagerChannelOptions,
  AlertmanagerAuth,
} from './channels/channel-options.interface.js';
export type {
  DiscordChannelOptions,
  GoogleChatChannelOptions,
  OpsgenieChannelOptions,
  OpsgeniePriority,
} from './channels/channel-options.interface.js';
export type { AuditAlertLink } from './channels/channel-link-options.interface.js';
export type {
  AuditAlertClusterOptions,
  AuditAlertRedisClient,
  AuditAlertRedisConnectionOptions,
  AuditAlertRedisSentinelAddress,
} from './cluster/cluster-options.interface.js';
export { filesystemCapacityCheck, postgresCapacityCheck, type PostgresQuery } from './capacity/capacity-checks.js';
export type {
  AuditStorageCapacityOptions,
  AuditStorageCapacityReading,
} from './capacity/capacity-options.interface.js';
export type { AuditAlertClock, AuditAlertTimer } from './clock/audit-alert-clock.interface.js';
export {
  isAlertAcknowledgedEvent,
  isAlertTestEvent,
  isLedgerBrokenEvent,
  isAlertTestFailedEvent,
  isRecordsRejectedEvent,
  isSpoolQuarantinedEvent,
  isSpoolReplayedEvent,
  isSpoolUnwritableEvent,
  isStorageCapacityEvent,
  isStorageDegradedEvent,
  isStorageRecoveredEvent,
  isStorageUnreachableEvent,
} from './events/audit-alert-event.guards.js';
export type {
  AlertAcknowledgedEvent,
  AlertTestEvent,
  AlertTestFailedEvent,
  AuditAlertEvent,
  AuditOutageEvent,
  AuditStorageCapacityLevel,
  LedgerBrokenEvent,
  RecordsRejectedEvent,
  SpoolQuarantinedEvent,
  SpoolReplayedEvent,
  SpoolUnwritableEvent,
  StorageCapacityEvent,
  StorageDegradedEvent,
  StorageRecoveredEvent,
  StorageUnreachableEvent,
} from './events/audit-alert-event.interface.js';
export type { AuditAlertHeartbeatMethod, AuditAlertHeartbeatOptions } from './heartbeat/heartbeat-options.interface.js';
export type { AuditAlertStateOptions } from './state/state-options.interface.js';
export { AuditAlertHook } from './hooks/audit-alert-hook.decorator.js';
export type { AuditAlertHookOptions } from './hooks/audit-alert-hook-options.interface.js';
export type { OnAuditAlert } from './hooks/on-audit-alert.interface.js';
export type {
  AuditAlertModuleOptions,
  AuditAlertOptionsFactory,
  AuditMonitorOptions,
  AuditMonitorSettings,
  AuditStorageProbeOptions,
  DegradedDetectionOptions,
} from './interfaces/audit-alert-module-options.interface.js';
export { AuditWriteTimeoutError } from './errors/audit-write-timeout.error.js';
export type {
  AuditSpoolOptions,
  AuditSpoolReplayContext,
  AuditTrackOptions,
  AuditWrite,
} from './spool/spool-options.interface.js';
export type { AuditGapRecord, AuditGapRecordWriter } from './gap/gap-record-options.interface.js';
export {
  type AuditSpoolLedgerHead,
  type AuditSpoolVerification,
  type AuditSpoolVerifyOptions,
  verifyAuditSpool,
} from './spool/spool-verifier.js';
export type { AuditLedgerOptions } from './ledger/ledger-options.interface.js';
export { type AuditLedgerVerification, verifyAuditLedger } from './ledger/ledger-verifier.js';
export type { LedgerLine, LedgerRecord } from './ledger/ledger-entry.interface.js';
export { AuditStorageGuard } from './guard/audit-storage.guard.js';
export { RequireAuditStorage } from './guard/require-audit-storage.decorator.js';
export type {
  AuditStorageBlockingState,
  RequireAuditStorageOptions,
} from './guard/require-audit-storage-options.interface.js';
export { AuditMonitorRegistry } from './monitor/audit-monitor.registry.js';
export { AuditAlertPagerDutyModule } from './webhooks/audit-alert-pagerduty.module.js';
export type {
  AuditAlertPagerDutyModuleAsyncOptions,
  AuditAlertPagerDutyModuleOptions,
  AuditAlertPagerDutyWebhookOptions,
} from './webhooks/pagerduty-webhook-options.interface.js';
export { pagerDutySignature } from './webhooks/pagerduty-signature.util.js';
export { AuditOutageResponseError } from './errors/audit-outage-response.error.js';
export type {
  AuditAcknowledgeOptions,
  AuditAnnotateOptions,
  AuditOutageAcknowledgement,
  AuditOutageAnnotation,
  AuditResponseSource,
} from './monitor/outage-response-options.interface.js';
export type { AuditStorageState, AuditStorageStatus } from './tracker/audit-storage-status.interface.js';
export type { AuditErrorClass, AuditErrorClassifier } from './tracker/error-class.util.js';
export { mysqlErrorClassifier, postgresErrorClassifier, prismaErrorClassifier } from './tracker/error-classifiers.js';
export { mongoErrorClassifier } from './tracker/mongo-error.classifier.js';
export { AuditStorageMonitor } from './monitor/audit-storage.monitor.js';
export { getAuditMonitorToken, InjectAuditMonitor } from './monitor/inject-audit-monitor.decorator.js';
export { TrackAuditWrite } from './monitor/track-audit-write.decorator.js';
export type {
  AuditScheduledTestAlertOptions,
  AuditTestAlertOptions,
  AuditTestAlertResult,
} from './test-alert/audit-test-alert.interface.js';
export type {
  AuditAlertSilence,
  AuditAlertSilenceListing,
  AuditAlertSilenceOptions,
} from './silences/audit-alert-silence.interface.js';
