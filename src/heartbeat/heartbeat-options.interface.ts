/** HTTP methods a heartbeat may use; dead man's switch services accept all three. */
export type AuditAlertHeartbeatMethod = 'GET' | 'HEAD' | 'POST';

/**
 * A dead man's switch for the monitor itself: while no monitor is alerting,
 * the module pings `url` every `intervalMs`; an external service (such as
 * healthchecks.io or an Uptime Kuma push monitor) pages when the pings stop,
 * which covers what no in-process channel can: the process dying or hanging,
 * and every channel being broken.
 *
 * ```ts
 * heartbeat: {
 *   url: `https://hc-ping.com/${process.env.HC_UUID}`,
 *   failUrl: `https://hc-ping.com/${process.env.HC_UUID}/fail`,
 * }
 * ```
 */
export interface AuditAlertHeartbeatOptions {
  /**
   * Absolute `https:` (or `http:`) URL pinged while no monitor is alerting.
   * Only its origin is ever logged.
   */
  url: string;
  /**
   * Time between two pings; the first is sent when the application starts.
   * Set the external service's period to this, and its grace time to at
   * least `timeoutMs` more.
   * @default 60_000
   */
  intervalMs?: number;
  /**
   * Pinged instead of `url` while any monitor is alerting (at once when one
   * starts alerting, then every `intervalMs`), so the external service shows
   * the outage. Without it, pings stop while alerting and the external
   * service pages when its grace time runs out.
   * @default undefined (stop pinging while alerting)
   */
  failUrl?: string;
  /**
   * HTTP method of every ping. `POST` sends a small JSON body: the service
   * name and the state of each monitor.
   * @default 'GET'
   */
  method?: AuditAlertHeartbeatMethod;
  /**
   * Extra request headers, such as `authorization`. Their values are never logged.
   * @default {}
   */
  headers?: Readonly<Record<string, string>>;
  /**
   * Longest wait for the answer to one ping. A ping is never retried: the
   * next one is `intervalMs` later, and a ping still running then is not
   * doubled.
   * @default 10_000
   */
  timeoutMs?: number;
}
