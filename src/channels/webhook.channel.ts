import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import type { ResolvedWebhookChannel } from './channels.options.js';
import type { HttpDelivery } from './http-delivery.js';
import { HttpChannel } from './http.channel.js';

/** Whether JSON can encode `value` (no BigInt, no cycle, not `undefined` or a function). */
function encodable(value: unknown): value is unknown {
  try {
    return typeof JSON.stringify(value) === 'string';
  } catch {
    return false;
  }
}

/** POSTs each event as it is (dates as ISO strings), or as the `body` option shapes it, to any HTTP endpoint. */
export class WebhookChannel extends HttpChannel<ResolvedWebhookChannel> {
  constructor(options: ResolvedWebhookChannel, delivery: HttpDelivery) {
    super(options, delivery, 'Webhook');
  }

  /** The event, or what the `body` function makes of it; a promise of either when the function is async. */
  protected override bodyFor(event: AuditAlertEvent): unknown {
    if (this.options.body === null) return event;
    return this.customAwaited('body', this.options.body, event, encodable).then((body) =>
      body === undefined ? event : body,
    );
  }

  protected override extraHeaders(): Readonly<Record<string, string>> {
    return this.options.headers;
  }
}
