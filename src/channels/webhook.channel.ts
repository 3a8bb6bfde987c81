import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import type { ResolvedWebhookChannel } from './channels.options.js';
import type { HttpDelivery } from './http-delivery.js';
import { HttpChannel } from './http.channel.js';

/** POSTs each event as it is (dates as ISO strings) to any HTTP endpoint. */
export class WebhookChannel extends HttpChannel<ResolvedWebhookChannel> {
  constructor(options: ResolvedWebhookChannel, delivery: HttpDelivery) {
    super(options, delivery, 'Webhook');
  }

  protected override bodyFor(event: AuditAlertEvent): AuditAlertEvent {
    return event;
  }

  protected override extraHeaders(): Readonly<Record<string, string>> {
    return this.options.headers;
  }
}
