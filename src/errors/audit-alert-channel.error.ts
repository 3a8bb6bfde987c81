/** What an {@link AuditAlertChannelError} says about the delivery that failed. */
interface AuditAlertChannelErrorDetails {
  /** The channel, as the logs name it: its kind and the receiver's origin, such as `webhook channel (https://hooks.example.com)`. */
  readonly channel: string;
  /** Type of the event that was not delivered, such as `audit.storage.unreachable`. */
  readonly eventType: string;
  /** Attempts made before giving up; 0 when the application shut down before the first. */
  readonly attempts: number;
  /** Why the last attempt failed (`HTTP 503`, `network error ECONNREFUSED`, `no response within 10000 ms`); `null` when none was made. */
  readonly lastReason: string | null;
}

/**
 * Why a built-in channel (webhook, Slack, PagerDuty, Teams) did not deliver an
 * event: the receiver refused it, the retries ran out, or the application shut
 * down first. The module logs it and never throws it to the application; it is
 * exported so that a logger, a hook of yours or a test can read its fields.
 * Its message never holds a URL path, a header or a key.
 */
export class AuditAlertChannelError extends Error implements AuditAlertChannelErrorDetails {
  override readonly name = 'AuditAlertChannelError';
  readonly channel: string;
  readonly eventType: string;
  readonly attempts: number;
  readonly lastReason: string | null;

  /** @internal Made by the channels. */
  constructor(message: string, details: AuditAlertChannelErrorDetails) {
    super(message);
    this.channel = details.channel;
    this.eventType = details.eventType;
    this.attempts = details.attempts;
    this.lastReason = details.lastReason;
  }
}
