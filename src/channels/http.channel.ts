import { channelInClearText, channelLabel } from '../audit-alert.messages.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import { AlertChannel, type ChannelLinks, isThenable, NO_LINKS } from './alert-channel.js';
import { type ResolvedChannelOptions, sendsInClearText } from './channels.options.js';
import { AuditAlertChannelError } from '../errors/audit-alert-channel.error.js';
import { type HttpDelivery, type HttpRequest, type RetryPolicy, USER_AGENT } from './http-delivery.js';

export type { ChannelLinks } from './alert-channel.js';

/** The options of a channel that POSTs to a URL. */
type ResolvedHttpChannelOptions = Extract<ResolvedChannelOptions, { readonly url: string }>;

/** Where one of the bodies of an event goes, and what its request carries on top of the channel's headers. */
export interface ChannelRequest extends Pick<HttpRequest, 'headersAt' | 'retryAfterFromBody'> {
  readonly url: string;
  /** Sent as JSON. */
  readonly body: unknown;
}

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
   * @param linksOf The links of each monitor, shown with its alerts.
   */
  constructor(
    options: TOptions,
    protected override readonly delivery: HttpDelivery,
    kind: string,
    linksOf: ChannelLinks = NO_LINKS,
  ) {
    super(options, delivery, channelLabel(kind, new URL(options.url).origin), linksOf);
  }

  clearTextWarning(): string | null {
    return sendsInClearText(this.options.url) ? channelInClearText(this.label) : null;
  }

  protected override async send(event: AuditAlertEvent): Promise<number> {
    return this.post(event.type, await this.bodiesFor(event));
  }

  /** The body to POST for `event`, before JSON encoding (or a promise of it). */
  protected abstract bodyFor(event: AuditAlertEvent): unknown;

  /** Headers sent on top of `content-type` and `user-agent`, which they may override. */
  protected extraHeaders(): Readonly<Record<string, string>> {
    return {};
  }

  /** Where `body` (one of {@link bodiesFor}) is POSTed, and how: by default to the channel's URL, as it is. */
  protected requestFor(body: unknown): ChannelRequest {
    return { url: this.options.url, body };
  }

  /** The bodies to POST for `event`, in order; most events take one. */
  protected bodiesFor(event: AuditAlertEvent): unknown[] | Promise<unknown[]> {
    const body = this.bodyFor(event);
    return isThenable(body) ? Promise.resolve(body).then((b) => [b]) : [body];
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
      const { url, body: json, ...extras } = this.requestFor(body);
      const request: HttpRequest = { url, headers, body: JSON.stringify(json), ...extras };
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
