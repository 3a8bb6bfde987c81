/**
 * Options of `AuditAlertModule.forRoot()` and of the factory given to
 * `forRootAsync()`. Every option is validated when the application starts.
 */
export interface AuditAlertModuleOptions {
  /**
   * Name of the service, carried in every event.
   * @default process.env.OTEL_SERVICE_NAME, else 'unknown_service:node'
   */
  serviceName?: string;
  /**
   * `false` keeps the monitor answering (`track()`, `getStatus()`) but never
   * sends an alert.
   * @default true
   */
  enabled?: boolean;
  /**
   * How long the storage must keep failing, with no success since the first
   * failure, before the first alert. `0` alerts on the first failure.
   * @default 30_000
   */
  thresholdMs?: number;
  /**
   * Least time between two alerts of the same outage.
   * @default 300_000
   */
  cooldownMs?: number;
  /**
   * Send `audit.storage.recovered` when an outage that was alerted on ends.
   * @default true
   */
  notifyRecovery?: boolean;
  /**
   * A hook call still running after this long is abandoned and logged.
   * @default 10_000
   */
  hookTimeoutMs?: number;
  /**
   * How long application shutdown waits for alert deliveries in flight.
   * @default 5_000
   */
  shutdownTimeoutMs?: number;
}

/**
 * Extra options of `forRoot()`/`forRootAsync()` that shape the module itself.
 */
export interface AuditAlertModuleExtras {
  /**
   * Register the module globally, so `AuditStorageMonitor` can be injected anywhere.
   * @default true
   */
  isGlobal?: boolean;
}

/**
 * Implemented by a class given to `forRootAsync({ useClass })` or
 * `forRootAsync({ useExisting })`.
 */
export interface AuditAlertOptionsFactory {
  /** Returns the module options, or a promise of them. */
  createAuditAlertOptions(): AuditAlertModuleOptions | Promise<AuditAlertModuleOptions>;
}
