import { AuditAlertEvents } from '../audit-alert.constants.js';
import { customMessageFailed, describeKind } from '../audit-alert.messages.js';
import { eventKeyOf } from '../events/audit-alert-event-kinds.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import type { RecipientBinding } from '../dispatch/recipient-binding.interface.js';
import { errorText } from '../common/error-text.util.js';
import { withTimeout } from '../common/timeout.util.js';
import { systemClock } from '../clock/system.clock.js';
import type { ResolvedChannelOptions } from './channels.options.js';
import type { AuditAlertLink } from './channel-link-options.interface.js';
import type { ChannelDelivery } from './channel-delivery.js';

const ignore = (): void => undefined;

/** A custom message function that did not settle in time. */
class CustomTimeout extends Error {}

/** Whether `value` has a `then` method, as a promise does. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** The links of a monitor's alerts (runbook, dashboard), by the monitor's name. */
export type ChannelLinks = (monitor: string) => readonly AuditAlertLink[];

/** No monitor has links. */
export const NO_LINKS: ChannelLinks = () => [];

/**
 * Outages a channel with `fromOccurrence` above 1 remembers having alerted,
 * until their recovery. Bounded, because without `notifyRecovery` none ends.
 */
const MAX_ALERTED_OUTAGES = 1_000;

/**
 * A built-in channel, whatever its protocol: which events it accepts
 * (`fromOccurrence`), the order of the events of one outage, and how the hook
 * invoker calls it. Subclasses render and send ({@link send}).
 */
export abstract class AlertChannel<TOptions extends ResolvedChannelOptions = ResolvedChannelOptions> {
  /**
   * The tail of the deliveries of each outage (or test) in progress; an entry
   * leaves once its outage has nothing pending.
   */
  private readonly outages = new Map<string, Promise<unknown>>();
  /** Outages whose alert passed `fromOccurrence`, so that their recovery is sent too. */
  private readonly alerted = new Set<string>();

  /**
   * @param label Names the channel in logs: its kind and where it sends, never a path, a header, a key or a password.
   * @param linksOf The links of each monitor, shown with its alerts.
   */
  constructor(
    protected readonly options: TOptions,
    protected readonly delivery: ChannelDelivery,
    readonly label: string,
    protected readonly linksOf: ChannelLinks = NO_LINKS,
  ) {}

  /** Sends `event` now, in as many attempts as it takes. */
  protected abstract send(event: AuditAlertEvent): Promise<number>;

  /** What to warn of at bootstrap when this channel would send alerts in clear text across the network; else `null`. */
  abstract clearTextWarning(): string | null;

  /**
   * Resolves once the channel can send; rejects, failing the bootstrap, when it
   * never will (a package it needs is missing).
   */
  ready(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Whether this channel sends `event` at all: an alert from its
   * `fromOccurrence` on, an acknowledgement and a recovery only of an outage it was alerted of
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
    // An acknowledgement answers the page: only where a page went.
    if (event.type === AuditAlertEvents.Acknowledged) return this.alerted.has(event.outageId);
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
    return this.inOrder(this.orderKey(event), () => this.send(event));
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
}
