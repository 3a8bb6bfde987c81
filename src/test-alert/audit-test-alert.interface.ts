import type { AuditAlertChannelType } from '../channels/channel-options.interface.js';

/** What `AuditMonitorRegistry.sendTestAlert()` sends, and to whom. */
export interface AuditTestAlertOptions {
  /**
   * The monitor the test is sent for: only the hooks and channels routed to it
   * (by their `monitors`) receive it. Without it, the test carries the default
   * monitor's name and goes to every recipient, whatever its routing.
   * @default undefined (every recipient)
   */
  monitor?: string;
  /**
   * Only the built-in channels of these types, and no hook.
   * @default undefined (every channel, and every hook that subscribes to `audit.alert.test`)
   */
  channels?: readonly AuditAlertChannelType[];
}

/** How the test alert fared with one recipient. */
export interface AuditTestAlertResult {
  /** The hook's class name, or the channel's type and the origin of its URL: `Slack channel (https://hooks.slack.com)`. */
  readonly recipient: string;
  /** Whether the recipient took it: a `2xx` answer for a channel, a return without throwing for a hook. */
  readonly delivered: boolean;
  /**
   * Attempts made (a PagerDuty test is two requests: the trigger and its
   * resolve); `0` when the application shut down before the recipient answered.
   */
  readonly attempts: number;
  /** Why it was not delivered: credentials scrubbed, never a URL path, a header or a key. */
  readonly error?: string;
}

/** The `testAlert` option: test alerts sent on a schedule, as `sendTestAlert()` sends one on request. */
export interface AuditScheduledTestAlertOptions {
  /**
   * Time between two test alerts, from the start of the application: at
   * least 60_000 (a minute), at most 2_147_483_647. Every recipient that
   * subscribes to `audit.alert.test` gets each; one that fails raises
   * `audit.alert.test.failed` to the others.
   */
  intervalMs: number;
}
