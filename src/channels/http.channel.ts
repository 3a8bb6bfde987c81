import { channelLabel } from '../audit-alert.messages.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import type { HookBinding } from '../hooks/hook-binding.interface.js';
import type { OnAuditAlert } from '../hooks/on-audit-alert.interface.js';
import type { ResolvedChannelOptions } from './channels.options.js';
import { type HttpDelivery, USER_AGENT } from './http-delivery.js';

const ignore = (): void => undefined;

/**
 * A built-in channel: turns an event into a JSON body and POSTs it through
 * {@link HttpDelivery}. Called by the hook invoker like any hook, so it gets
 * the same isolation and logging.
 */
export abstract class HttpChannel<
  TOptions extends ResolvedChannelOptions = ResolvedChannelOptions,
> implements OnAuditAlert {
  /** Names the channel in logs: its kind and the origin of its URL, never the path, a header or a key. */
  readonly label: string;

  /** The tail of the deliveries of each outage in progress; an entry leaves once its outage has nothing pending. */
  private readonly outages = new Map<string, Promise<void>>();

  /**
   * @param kind How logs name the channel type, such as `Slack`.
   */
  constructor(
    protected readonly options: TOptions,
    private readonly delivery: HttpDelivery,
    kind: string,
  ) {
    this.label = channelLabel(kind, new URL(options.url).origin);
  }

  /** The body to POST for `event`, before JSON encoding. */
  protected abstract bodyFor(event: AuditAlertEvent): unknown;

  /** Headers sent on top of `content-type` and `user-agent`, which they may override. */
  protected extraHeaders(): Readonly<Record<string, string>> {
    return {};
  }

  /**
   * Sends `event` once every earlier event of the same outage has been sent or
   * given up on, so a recovery never overtakes the alert it closes (a PagerDuty
   * resolve arriving before its trigger would leave the incident open).
   * Events of other outages, and other channels, do not wait.
   */
  onAuditAlert(event: AuditAlertEvent): Promise<void> {
    const { outageId } = event;
    const sent = (this.outages.get(outageId) ?? Promise.resolve()).then(() => this.send(event));
    const settled = sent.then(ignore, ignore);
    this.outages.set(outageId, settled);
    void settled.then(() => {
      if (this.outages.get(outageId) === settled) this.outages.delete(outageId);
    });
    return sent;
  }

  /** How the hook invoker subscribes this channel: never abandoned by `hookTimeoutMs`, as it bounds itself. */
  binding(): HookBinding {
    return { name: this.label, events: this.options.events, monitors: null, timeoutMs: null, instanceFor: () => this };
  }

  private send(event: AuditAlertEvent): Promise<void> {
    const headers = new Headers({ 'content-type': 'application/json', 'user-agent': USER_AGENT });
    for (const [name, value] of Object.entries(this.extraHeaders())) headers.set(name, value);
    const body = JSON.stringify(this.bodyFor(event));
    return this.delivery.send(this.label, event.type, { url: this.options.url, headers, body }, this.options);
  }
}
