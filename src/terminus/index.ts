import './terminus-peer.check.js';

export {
  type AuditStorageHealthCheckOptions,
  type AuditStorageHealthDetails,
  AuditStorageHealthIndicator,
} from './audit-storage.health-indicator.js';
