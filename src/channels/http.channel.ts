import { channelInClearText, channelLabel } from '../audit-alert.messages.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import { AlertChannel } from './alert-channel.js';
import { type ResolvedChannelOptions, sendsInClearText } from './channels.options.js';
import { AuditAlertChannelError } from '../errors/audit-alert-channel.error.js';
import { type HttpDelivery, type RetryPolicy, USER_AGENT } from './http-delivery.js';

/** The options of a channel that POSTs to a URL. */
export type ResolvedHttpChannelOptions = Extract<ResolvedChannelOptions, { readonly url: string }>;

/**
 * A built-in channel: turns an event into a JSON body and POSTs it through
 * {@link HttpDelivery}. Called by the hook invoker like any hook, so it gets
 * the same isolation and logging.
 */
export abstract class HttpChannel<
  TOptions extends ResolvedHttpChannelOptions = ResolvedHttpChannelOptions,
> extends AlertChannel<TOptions> {
  /**
   * @param kind How logs name the channel type, such as `Slack`; the label adds the origin of its URL.
   */
  constructor(
    options: TOptions,
    protected override readonly delivery: HttpDelivery,
    kind: string,
  ) {
    super(options, delivery, channelLabel(kind, new URL(options.url).origin));
  }

  clearTextWarning(): string | null {
    return sendsInClearText(this.options.url) ? channelInClearText(this.label) : null;
  }

  protected override send(event: AuditAlertEvent): Promise<number> {
    return this.post(event.type, this.bodiesFor(event));
  }

  /** The body to POST for `event`, before JSON encoding. */
  protected abstract bodyFor(event: AuditAlertEvent): unknown;

  /** Headers sent on top of `content-type` and `user-agent`, which they may override. */
  protected extraHeaders(): Readonly<Record<string, string>> {
    return {};
  }

  /** The bodies to POST for `event`, in order; most events take one. */
  protected bodiesFor(event: AuditAlertEvent): unknown[] {
    return [this.bodyFor(event)];
  }

  /**
   * POSTs `bodies` one after the other, as the delivery of one event of type `eventType`.
   * @param policy How long each attempt may take and how often to retry: the channel's own, unless told otherwise.
   */
  protected async post(
    eventType: string,
    bodies: readonly unknown[],
    policy: RetryPolicy = this.options,
  ): Promise<number> {
    const headers = new Headers({ 'content-type': 'application/json', 'user-agent': USER_AGENT });
    for (const [name, value] of Object.entries(this.extraHeaders())) headers.set(name, value);
    let attempts = 0;
    for (const body of bodies) {
      const request = { url: this.options.url, headers, body: JSON.stringify(body) };
      try {
        attempts += await this.delivery.send(this.label, eventType, request, policy);
      } catch (error) {
        // Counted over every request of the event, as its delivery is one.
        if (error instanceof AuditAlertChannelError && attempts > 0) {
          const { channel, eventType, lastReason } = error;
          throw new AuditAlertChannelError(error.message, {
            channel,
            eventType,
            attempts: attempts + error.attempts,
            lastReason,
          });
        }
        throw error;
      }
    }
    return attempts;
  }
}
