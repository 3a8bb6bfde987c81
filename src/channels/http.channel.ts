import { AuditAlertEvents } from '../audit-alert.constants.js';
import { channelLabel, customMessageFailed, describeKind } from '../audit-alert.messages.js';
import { eventKeyOf } from '../events/audit-alert-event-kinds.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import type { RecipientBinding } from '../dispatch/recipient-binding.interface.js';
import { errorText } from '../common/error-text.util.js';
import { withTimeout } from '../common/timeout.util.js';
import { systemClock } from '../clock/system.clock.js';
import type { ResolvedChannelOptions } from './channels.options.js';
import { AuditAlertChannelError } from '../errors/audit-alert-channel.error.js';
import { type HttpDelivery, USER_AGENT } from './http-delivery.js';

const ignore = (): void => undefined;

/** A custom message function that did not settle in time. */
class CustomTimeout extends Error {}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Outages a channel with `fromOccurrence` above 1 remembers having alerted,
 * until their recovery. Bounded, because without `notifyRecovery` none ends.
 */
const MAX_ALERTED_OUTAGES = 1_000;

/**
 * A built-in channel: turns an event into a JSON body and POSTs it through
 * {@link HttpDelivery}. Called by the hook invoker like any hook, so it gets
 * the same isolation and logging.
 */
export abstract class HttpChannel<TOptions extends ResolvedChannelOptions = ResolvedChannelOptions> {
  /** Names the channel in logs: its kind and the origin of its URL, never the path, a header or a key. */
  readonly label: string;

  /**
   * The tail of the deliveries of each outage (or test) in progress; an entry
   * leaves once its outage has nothing pending.
   */
  private readonly outages = new Map<string, Promise<unknown>>();
  /** Outages whose alert passed `fromOccurrence`, so that their recovery is sent too. */
  private readonly alerted = new Set<string>();

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

  /** The body to POST for `event`, before JSON encoding (or a promise of it). */
  protected abstract bodyFor(event: AuditAlertEvent): unknown;

  /** Headers sent on top of `content-type` and `user-agent`, which they may override. */
  protected extraHeaders(): Readonly<Record<string, string>> {
    return {};
  }

  /**
   * Whether this channel sends `event` at all: an alert from its
   * `fromOccurrence` on, and a recovery only of an outage it was alerted of
   * (by this process, or, for an outage resumed after a restart, by the
   * process before it: the recovery counts the outage's alerts).
   */
  accepts(event: AuditAlertEvent): boolean {
    const from = this.options.fromOccurrence;
    if (from === 1) return true;
    if (event.type === AuditAlertEvents.StorageUnreachable || event.type === AuditAlertEvents.StorageDegraded) {
      if (event.occurrence < from) return false;
      if (this.alerted.size >= MAX_ALERTED_OUTAGES) this.alerted.delete(this.alerted.values().next().value!);
      this.alerted.add(event.outageId);
      return true;
    }
    if (event.type === AuditAlertEvents.StorageRecovered) {
      if (this.alerted.delete(event.outageId)) return true;
      // An outage this process resumed (the state file) was alerted on by a process before it: the
      // recovery says how far its alerts went, which is whether one of them reached this channel.
      return (event.unreachableAlerts ?? 0) >= from || (event.degradedAlerts ?? 0) >= from;
    }
    return true;
  }

  /**
   * Sends `event` once every earlier event of the same outage has been sent or
   * given up on, so a recovery never overtakes the alert it closes (a PagerDuty
   * resolve arriving before its trigger would leave the incident open).
   * Events of other outages, and other channels, do not wait.
   * @returns How many attempts it took.
   */
  deliver(event: AuditAlertEvent): Promise<number> {
    return this.inOrder(this.orderKey(event), async () => this.post(event.type, await this.bodiesFor(event)));
  }

  /** What orders `event` behind others: the events sharing it are sent one after the other. */
  protected orderKey(event: AuditAlertEvent): string {
    return eventKeyOf(event);
  }

  /** Runs `send` once everything queued under `key` before it has settled. */
  protected inOrder(key: string, send: () => Promise<number>): Promise<number> {
    const sent = (this.outages.get(key) ?? Promise.resolve()).then(send);
    const settled = sent.then(ignore, ignore);
    this.outages.set(key, settled);
    void settled.then(() => {
      if (this.outages.get(key) === settled) this.outages.delete(key);
    });
    return sent;
  }

  /**
   * How the hook invoker subscribes this channel: never abandoned by
   * `hookTimeoutMs`, as it bounds itself, and always sent test alerts.
   */
  binding(): RecipientBinding {
    return {
      name: this.label,
      channel: this.options.type,
      // A test alert proves the channel works, whatever events it sends.
      events: [...new Set([...this.options.events, AuditAlertEvents.Test])],
      monitors: this.options.monitors,
      timeoutMs: null,
      accepts: (event) => this.accepts(event),
      invoke: (event) => this.deliver(event),
    };
  }

  /**
   * Runs a function of the application's (`body`, `summary`) on `event`; when
   * it throws or returns what `valid` refuses, logs why and returns
   * `undefined`, so the built-in message is sent instead.
   */
  protected custom<T>(
    option: string,
    render: ((event: AuditAlertEvent) => unknown) | null,
    event: AuditAlertEvent,
    valid: (value: unknown) => value is T,
  ): T | undefined {
    if (render === null) return undefined;
    let reason: string;
    try {
      const value = render(event);
      if (valid(value)) return value;
      reason = `it returned ${describeKind(value)}`;
    } catch (error) {
      reason = `it threw ${errorText(error)}`;
    }
    this.delivery.logger.warn(customMessageFailed(this.label, option, event.type, reason));
    return undefined;
  }

  /**
   * {@link custom} for a function that may answer with a promise (the
   * webhook's `body`): it is awaited, at most the channel's `timeoutMs` (a real
   * timer, as it bounds the application's own I/O), then checked by `valid`.
   */
  protected async customAwaited<T>(
    option: string,
    render: ((event: AuditAlertEvent) => unknown) | null,
    event: AuditAlertEvent,
    valid: (value: unknown) => value is T,
  ): Promise<T | undefined> {
    if (render === null) return undefined;
    let value: unknown;
    try {
      value = render(event);
    } catch (error) {
      this.delivery.logger.warn(customMessageFailed(this.label, option, event.type, `it threw ${errorText(error)}`));
      return undefined;
    }
    if (!isThenable(value)) return this.custom(option, () => value, event, valid);
    let reason: string;
    const timeoutMs = this.options.timeoutMs;
    try {
      const settled = await withTimeout(
        Promise.resolve(value),
        timeoutMs,
        systemClock,
        () => new CustomTimeout(`it did not settle within ${timeoutMs} ms`),
      );
      if (valid(settled)) return settled;
      reason = `it resolved to ${describeKind(settled)}`;
    } catch (error) {
      reason = error instanceof CustomTimeout ? error.message : `it rejected with ${errorText(error)}`;
    }
    this.delivery.logger.warn(customMessageFailed(this.label, option, event.type, reason));
    return undefined;
  }

  /** The bodies to POST for `event`, in order; most events take one. */
  protected bodiesFor(event: AuditAlertEvent): unknown[] | Promise<unknown[]> {
    const body = this.bodyFor(event);
    return isThenable(body) ? Promise.resolve(body).then((b) => [b]) : [body];
  }

  /** POSTs `bodies` one after the other, as the delivery of one event of type `eventType`. */
  protected async post(eventType: string, bodies: readonly unknown[]): Promise<number> {
    const headers = new Headers({ 'content-type': 'application/json', 'user-agent': USER_AGENT });
    for (const [name, value] of Object.entries(this.extraHeaders())) headers.set(name, value);
    let attempts = 0;
    for (const body of bodies) {
      const request = { url: this.options.url, headers, body: JSON.stringify(body) };
      try {
        attempts += await this.delivery.send(this.label, eventType, request, this.options);
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
