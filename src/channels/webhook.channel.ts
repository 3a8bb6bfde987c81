import { createHmac } from 'node:crypto';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import type { ResolvedWebhookChannel } from './channels.options.js';
import type { HttpDelivery } from './http-delivery.js';
import { type ChannelLinks, type ChannelRequest, HttpChannel } from './http.channel.js';

/** The header a signed webhook carries. */
const SIGNATURE_HEADER = 'X-Audit-Alert-Signature';

/** Whether JSON can encode `value` (no BigInt, no cycle, not `undefined` or a function). */
function encodable(value: unknown): value is unknown {
  try {
    return typeof JSON.stringify(value) === 'string';
  } catch {
    return false;
  }
}

/**
 * The value of {@link SIGNATURE_HEADER} for `body` sent at `unixSeconds`:
 * `t=<unixSeconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, one `v1` per secret.
 */
export function webhookSignature(body: string, unixSeconds: number, secrets: readonly string[]): string {
  const signed = `${unixSeconds}.${body}`;
  const signatures = secrets.map((secret) => `v1=${createHmac('sha256', secret).update(signed).digest('hex')}`);
  return [`t=${unixSeconds}`, ...signatures].join(',');
}

/** POSTs each event as it is (dates as ISO strings), or as the `body` option shapes it, to any HTTP endpoint. */
export class WebhookChannel extends HttpChannel<ResolvedWebhookChannel> {
  constructor(options: ResolvedWebhookChannel, delivery: HttpDelivery, links?: ChannelLinks) {
    super(options, delivery, 'Webhook', links);
  }

  /**
   * The event, with the monitor's `links` when it has some; or what the `body`
   * option makes of it (a promise of either when the function is async).
   */
  protected override bodyFor(event: AuditAlertEvent): unknown {
    if (this.options.body === null) return this.withLinks(event);
    return this.customAwaited('body', this.options.body, event, encodable).then((body) =>
      body === undefined ? this.withLinks(event) : body,
    );
  }

  /** The event, with the monitor's `links` when it has some. */
  private withLinks(event: AuditAlertEvent): unknown {
    const links = this.linksOf(event.monitor);
    return links.length === 0 ? event : { ...event, links };
  }

  protected override extraHeaders(): Readonly<Record<string, string>> {
    return this.options.headers;
  }

  /** Signed, when secrets are set, at each attempt: a retry minutes later carries a fresh timestamp. */
  protected override requestFor(body: unknown): ChannelRequest {
    const request = super.requestFor(body);
    const secrets = this.options.signingSecrets;
    if (secrets.length === 0) return request;
    return {
      ...request,
      headersAt: (raw, wallNowMs) => ({
        [SIGNATURE_HEADER]: webhookSignature(raw, Math.floor(wallNowMs / 1_000), secrets),
      }),
    };
  }
}
