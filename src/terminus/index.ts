export {
  type AuditStorageHealthCheckOptions,
  type AuditStorageHealthDetails,
  AuditStorageHealthIndicator,
} from './audit-storage.health-indicator.js';
