import { alertmanagerResendFailed } from '../audit-alert.messages.js';
import type { AuditAlertTimer } from '../clock/audit-alert-clock.interface.js';
import { errorText } from '../common/error-text.util.js';
import { type AuditAlertEventRenderers, eventKeyOf, renderEvent } from '../events/audit-alert-event-kinds.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import type { ResolvedAlertmanagerChannel } from './channels.options.js';
import type { HttpDelivery } from './http-delivery.js';
import { type ChannelLinks, HttpChannel } from './http.channel.js';
import { humanDuration } from './human-duration.util.js';
import type { AuditAlertLink } from './channel-link-options.interface.js';
import { alertLabel, isHeadline, percent, plural, spoolFigures, truncate } from './message-text.util.js';

/** One alert of Alertmanager's API v2 (`postableAlert`). */
interface AlertmanagerAlert {
  readonly labels: Readonly<Record<string, string>>;
  /** `summary` and `description`; with links, `links` (one `text: url` per line), and `runbook_url` / `dashboard_url` by convention. */
  readonly annotations: { readonly summary: string; readonly description: string; readonly [name: string]: string };
  readonly startsAt: string;
  /** Set when the alert has ended; absent while it fires (Alertmanager then ends it after `resolve_timeout`). */
  readonly endsAt?: string;
  readonly generatorURL?: string;
}

/** Severity label of an alert. */
type AlertmanagerSeverity = 'critical' | 'warning' | 'info';

/** An alert before it is tied to its event's labels. */
interface AlertDraft {
  readonly alertname: string;
  readonly severity: AlertmanagerSeverity;
  readonly startsAt: Date;
  readonly summary: string;
  readonly description: string;
}

/**
 * What an event does in Alertmanager:
 * - `held`: raises an alert that is sent again while its episode is open, until the event that closes it;
 * - `single`: raises an alert sent once, which Alertmanager resolves after its `resolve_timeout`
 *   (an episode no event closes, a test, news);
 * - `resolves`: ends the alerts of its episode at `endsAt`; `alerts` are those it may close when the
 *   channel does not remember which fired (after a restart).
 */
type AlertmanagerRendering =
  | { readonly lifecycle: 'held' | 'single'; readonly alert: AlertDraft }
  | { readonly lifecycle: 'resolves'; readonly endsAt: Date; readonly alerts: readonly AlertDraft[] };

/** Longest summary and description, in characters: Alertmanager has no limit, its receivers do. */
const MAX_SUMMARY = 1_024;
const MAX_DESCRIPTION = 4_096;

/** Episodes whose alerts are being sent again; bounded, the oldest dropped. */
const MAX_OPEN_EPISODES = 1_000;

const unreachableDraft = (startsAt: Date, summary: string, description: string): AlertDraft => ({
  alertname: 'AuditStorageUnreachable',
  severity: 'critical',
  startsAt,
  summary,
  description,
});

const degradedDraft = (startsAt: Date, summary: string, description: string): AlertDraft => ({
  alertname: 'AuditStorageDegraded',
  severity: 'warning',
  startsAt,
  summary,
  description,
});

/** What each event type raises or ends. */
const ALERTMANAGER_ALERTS = {
  'audit.storage.unreachable': (event) => ({
    lifecycle: 'held',
    alert: unreachableDraft(
      event.firstFailureAt,
      `Audit storage of ${event.serviceName} unreachable (monitor ${event.monitor})`,
      `${event.serviceName} has been unable to write its audit trail for ${humanDuration(event.unreachableDurationMs)}: ` +
        `${plural(event.consecutiveFailures, 'failed write')} since the outage began (${alertLabel(event.occurrence)}). ` +
        `Last error: ${event.lastError}`,
    ),
  }),
  'audit.storage.degraded': (event) => ({
    lifecycle: 'held',
    alert: degradedDraft(
      event.firstFailureAt,
      `Audit storage of ${event.serviceName} degraded (monitor ${event.monitor})`,
      `${event.serviceName} is losing part of its audit trail: ${event.failures} of ${plural(event.writes, 'write')} ` +
        `(${percent(event.failureRatio)}) failed in the last ${humanDuration(event.windowMs)} ` +
        `(${alertLabel(event.occurrence, 'degraded')}). Last error: ${event.lastError}`,
    ),
  }),
  'audit.storage.recovered': (event) => {
    const summary = `Audit storage of ${event.serviceName} recovered (monitor ${event.monitor})`;
    const description =
      `${event.serviceName} is writing its audit trail again after ${humanDuration(event.outageDurationMs)}; ` +
      `${plural(event.writesFailed, 'audit write')} failed during the outage${spoolFigures(event)}.`;
    return {
      lifecycle: 'resolves',
      endsAt: event.recoveredAt,
      alerts: [
        unreachableDraft(event.outageStartedAt, summary, description),
        degradedDraft(event.outageStartedAt, summary, description),
      ],
    };
  },
  'audit.storage.capacity': (event) => {
    const usage = percent(event.usedRatio);
    const draft = (severity: 'warning' | 'critical'): AlertDraft => ({
      alertname: 'AuditStorageCapacity',
      severity,
      startsAt: event.checkedAt,
      summary: `Audit storage of ${event.serviceName} ${usage} full (monitor ${event.monitor}, level ${event.level})`,
      description:
        event.level === 'normal'
          ? `The audit storage of ${event.serviceName} is back at ${usage} used, under the warning level of ${percent(event.threshold)}.`
          : `The audit storage of ${event.serviceName} is ${usage} full, past the ${event.level} level of ${percent(event.threshold)}.`,
    });
    return event.level === 'normal'
      ? { lifecycle: 'resolves', endsAt: event.checkedAt, alerts: [draft('warning'), draft('critical')] }
      : { lifecycle: 'held', alert: draft(event.level) };
  },
  'audit.records.rejected': (event) => ({
    lifecycle: 'single',
    alert: {
      alertname: 'AuditRecordsRejected',
      severity: 'warning',
      startsAt: event.firstRejectedAt,
      summary: `${event.serviceName} is losing audit records (monitor ${event.monitor})`,
      description:
        `The audit storage of ${event.serviceName} answers, but has refused ${plural(event.rejectedRecords, 'record')} ` +
        `over ${humanDuration(event.rejectedDurationMs)}: these audit records are lost. Last error: ${event.lastError}`,
    },
  }),
  'audit.spool.unwritable': (event) => ({
    lifecycle: 'single',
    alert: {
      alertname: 'AuditSpoolUnwritable',
      severity: 'critical',
      startsAt: event.failedAt,
      summary: `Audit spool of ${event.serviceName} cannot keep records (monitor ${event.monitor})`,
      description:
        `${event.serviceName} cannot keep audit records in its spool: a write that fails now loses its record ` +
        `(${plural(event.recordsLost, 'record')} so far). Last error: ${event.lastError}`,
    },
  }),
  'audit.spool.quarantined': (event) => ({
    lifecycle: 'single',
    alert: {
      alertname: 'AuditSpoolQuarantined',
      severity: 'critical',
      startsAt: event.quarantinedAt,
      summary: `Audit records of ${event.serviceName} set aside from the spool (monitor ${event.monitor})`,
      description:
        `${plural(event.recordsQuarantined, 'spooled audit record')} set aside in ${event.file} instead of replayed; ` +
        `${plural(event.recordsMissing, 'record')} missing from the spool. Reason: ${event.reason}`,
    },
  }),
  'audit.ledger.broken': (event) => ({
    lifecycle: 'single',
    alert: {
      alertname: 'AuditLedgerBroken',
      severity: 'warning',
      startsAt: event.detectedAt,
      summary: `Evidence ledger of ${event.serviceName} broken at ${event.file} line ${event.line}`,
      description: `The evidence ledger in ${event.directory} failed verification at start: ${event.reason}. The break is recorded in the ledger.`,
    },
  }),
  'audit.spool.replayed': (event) => ({
    lifecycle: 'single',
    alert: {
      alertname: 'AuditSpoolReplayed',
      severity: 'info',
      startsAt: event.replayedAt,
      summary: `${plural(event.recordsReplayed, 'spooled audit record')} of ${event.serviceName} replayed (monitor ${event.monitor})`,
      description: `${plural(event.recordsReplayed, 'spooled audit record')} of ${event.serviceName} are in the audit storage again; the spool is empty.`,
    },
  }),
  'audit.alert.test': (event) => ({
    lifecycle: 'single',
    alert: {
      alertname: 'AuditAlertTest',
      severity: 'info',
      startsAt: event.sentAt,
      summary: `Test alert: audit storage alerts of ${event.serviceName} reach Alertmanager (monitor ${event.monitor})`,
      description:
        'Nothing is wrong: this alert was sent on request, and Alertmanager resolves it after its resolve_timeout.',
    },
  }),
  // Alertmanager has no acknowledgement: an info alert of its own says it, as a test does.
  'audit.alert.acknowledged': (event) => ({
    lifecycle: 'single',
    alert: {
      alertname: 'AuditOutageAcknowledged',
      severity: 'info',
      startsAt: event.acknowledgedAt,
      summary: `${event.by} acknowledged the audit storage outage of ${event.serviceName} (monitor ${event.monitor})`,
      description:
        `${event.by} is on the audit storage outage of ${event.serviceName}: its repeats stop until it recovers.` +
        (event.note === null ? '' : ` Note: ${event.note}`),
    },
  }),
  'audit.alert.test.failed': (event) => ({
    lifecycle: 'single',
    alert: {
      alertname: 'AuditAlertTestFailed',
      severity: 'warning',
      startsAt: event.sentAt,
      summary: `${event.recipient} failed the test alert of ${event.serviceName} (monitor ${event.monitor})`,
      description: `A scheduled test alert did not reach ${event.recipient}; it would miss a real alert too. Reason: ${event.reason}`,
    },
  }),
} satisfies AuditAlertEventRenderers<AlertmanagerRendering>;

/** The labels of the alert `draft` of `event`: what Alertmanager tells alerts apart by. */
function labelsOf(event: AuditAlertEvent, draft: AlertDraft): Record<string, string> {
  return {
    alertname: draft.alertname,
    service: event.serviceName,
    monitor: event.monitor,
    severity: draft.severity,
    [event.type === 'audit.alert.test' ? 'test_id' : 'outage_id']: eventKeyOf(event),
  };
}

/**
 * Renders the alert `draft` of `event`.
 * @param endsAt When it ended; absent while it fires.
 * @param summary The application's own summary, in place of the built-in one.
 * @param links The monitor's links: annotations, as Alertmanager's templates and UIs read them.
 */
function alertmanagerAlert(
  event: AuditAlertEvent,
  draft: AlertDraft,
  {
    endsAt,
    summary,
    generatorUrl,
    links = [],
  }: { endsAt?: Date; summary?: string; generatorUrl?: string | null; links?: readonly AuditAlertLink[] } = {},
): AlertmanagerAlert {
  return {
    labels: labelsOf(event, draft),
    annotations: {
      summary: truncate(summary ?? draft.summary, MAX_SUMMARY),
      description: truncate(draft.description, MAX_DESCRIPTION),
      ...linkAnnotations(links),
    },
    startsAt: draft.startsAt.toISOString(),
    ...(endsAt === undefined ? {} : { endsAt: endsAt.toISOString() }),
    ...(generatorUrl ? { generatorURL: generatorUrl } : {}),
  };
}

/**
 * The links as annotations: every one in `links`, and the first runbook and
 * dashboard under the names Prometheus rules and Grafana use for them.
 */
function linkAnnotations(links: readonly AuditAlertLink[]): Record<string, string> {
  if (links.length === 0) return {};
  const annotations: Record<string, string> = { links: links.map(({ text, url }) => `${text}: ${url}`).join('\n') };
  const runbook = links.find(({ text }) => /runbook/i.test(text));
  const dashboard = links.find(({ text }) => /dashboard/i.test(text));
  if (runbook) annotations['runbook_url'] = runbook.url;
  if (dashboard) annotations['dashboard_url'] = dashboard.url;
  return annotations;
}

/** An episode whose alert fires: what is sent again, and the timer that sends it. */
interface OpenEpisode {
  /** The event that raised it, to name it in logs. */
  readonly eventType: string;
  readonly alert: AlertmanagerAlert;
  timer: AuditAlertTimer | null;
}

const sameLabels = (a: AlertmanagerAlert, b: AlertmanagerAlert): boolean =>
  JSON.stringify(a.labels) === JSON.stringify(b.labels);

/**
 * Raises alerts in Prometheus Alertmanager (`POST /api/v2/alerts`). An open
 * outage's alert is sent again every `resendIntervalMs` on the module's clock,
 * so Alertmanager does not resolve it on its own after `resolve_timeout`; the
 * recovery sends it with `endsAt`. The re-send stops at the recovery and at
 * the application's shutdown.
 */
export class AlertmanagerChannel extends HttpChannel<ResolvedAlertmanagerChannel> {
  private readonly open = new Map<string, OpenEpisode>();

  constructor(options: ResolvedAlertmanagerChannel, delivery: HttpDelivery, links?: ChannelLinks) {
    super(options, delivery, 'Alertmanager', links);
    delivery.signal.addEventListener('abort', () => this.closeAll(), { once: true });
  }

  /** Episodes whose alert is being sent again: for tests and shutdown checks. */
  get openEpisodes(): number {
    return this.open.size;
  }

  protected override extraHeaders(): Readonly<Record<string, string>> {
    const { auth } = this.options;
    if (auth === null) return {};
    if ('bearer' in auth) return { authorization: `Bearer ${auth.bearer}` };
    return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
  }

  protected override bodyFor(event: AuditAlertEvent): AlertmanagerAlert[] {
    const rendering = renderEvent<AlertmanagerRendering, []>(ALERTMANAGER_ALERTS, event);
    const summary = this.custom('summary', this.options.summary, event, isHeadline);
    const { generatorUrl } = this.options;
    const links = this.linksOf(event.monitor);
    const key = eventKeyOf(event);
    const episode = this.open.get(key);
    if (rendering.lifecycle === 'resolves') {
      const { endsAt } = rendering;
      // The alert this channel raised, or, not knowing it (a restart), every one the episode may have raised.
      if (episode !== undefined) return [{ ...episode.alert, endsAt: endsAt.toISOString() }];
      return rendering.alerts.map((draft) => alertmanagerAlert(event, draft, { endsAt, summary, generatorUrl, links }));
    }
    const alert = alertmanagerAlert(event, rendering.alert, { summary, generatorUrl, links });
    // An escalation (degraded to unreachable, warning to critical) ends the alert it replaces.
    if (episode === undefined || sameLabels(episode.alert, alert)) return [alert];
    return [alert, { ...episode.alert, endsAt: new Date(this.delivery.clock.wallNow()).toISOString() }];
  }

  protected override bodiesFor(event: AuditAlertEvent): unknown[] {
    // Alertmanager takes an array of alerts: one request per event.
    return [this.bodyFor(event)];
  }

  protected override send(event: AuditAlertEvent): Promise<number> {
    const rendering = renderEvent<AlertmanagerRendering, []>(ALERTMANAGER_ALERTS, event);
    const body = this.bodyFor(event);
    const key = eventKeyOf(event);
    if (rendering.lifecycle === 'resolves') this.close(key);
    else if (rendering.lifecycle === 'held' && !this.delivery.signal.aborted) this.hold(key, event.type, body[0]!);
    // The interval counts from this send: a delivery still retrying delays no re-send, which waits behind it.
    this.arm(key);
    return this.post(event.type, [body]);
  }

  /** Keeps `alert` as the one sent again for `key`, until the episode closes. */
  private hold(key: string, eventType: string, alert: AlertmanagerAlert): void {
    const previous = this.open.get(key);
    if (previous?.timer != null) this.delivery.clock.clearTimer(previous.timer);
    this.open.delete(key);
    if (this.open.size >= MAX_OPEN_EPISODES) this.close(this.open.keys().next().value!);
    this.open.set(key, { eventType, alert, timer: null });
  }

  /** Arms the next re-send of `key`'s alert, if its episode is still open. */
  private arm(key: string): void {
    const episode = this.open.get(key);
    if (episode === undefined || this.delivery.signal.aborted) return;
    if (episode.timer !== null) this.delivery.clock.clearTimer(episode.timer);
    episode.timer = this.delivery.clock.setTimer(() => {
      episode.timer = null;
      if (this.open.get(key) !== episode) return;
      // Behind any event of the episode still being sent, so a re-send never overtakes the recovery.
      void this.inOrder(key, () => this.resend(key, episode));
    }, this.options.resendIntervalMs);
  }

  /** Sends `episode`'s alert again, once; a failure is logged, and the next interval tries again. */
  private async resend(key: string, episode: OpenEpisode): Promise<number> {
    if (this.open.get(key) !== episode) return 0;
    this.arm(key);
    try {
      // One attempt: another comes at the next interval anyway.
      return await this.post(episode.eventType, [[episode.alert]], { ...this.options, retries: 0 });
    } catch (error) {
      const reason = (error as { lastReason?: unknown }).lastReason;
      this.delivery.logger.warn(
        alertmanagerResendFailed(this.label, 1, typeof reason === 'string' ? reason : errorText(error)),
      );
      return 0;
    }
  }

  /** Stops sending `key`'s alert again. */
  private close(key: string): void {
    const episode = this.open.get(key);
    if (episode?.timer != null) this.delivery.clock.clearTimer(episode.timer);
    this.open.delete(key);
  }

  /** At shutdown: no alert is sent again. */
  private closeAll(): void {
    for (const key of [...this.open.keys()]) this.close(key);
  }
}
