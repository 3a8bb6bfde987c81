import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
} from '@nestjs/common';
import {
  AUDIT_ALERT_CLOCK,
  AUDIT_ALERT_LEDGER,
  AUDIT_ALERT_GAP_RECORDERS,
  AUDIT_ALERT_REDIS,
  AUDIT_ALERT_RESOLVED_OPTIONS,
  AUDIT_ALERT_SINKS,
  AUDIT_ALERT_STATE_FILE,
  AuditAlertEvents,
} from '../audit-alert.constants.js';
import { AuditAlertLogger } from '../audit-alert.logger.js';
import {
  acknowledgeStoreFailed,
  outageAcknowledged,
  outageNotAlerted,
  outageResumed,
  silenceStoreFailed,
  unknownAnnotatedOutage,
  unknownMonitor,
  unknownOutage,
} from '../audit-alert.messages.js';
import { ledgerNotConfigured } from '../ledger/ledger.messages.js';
import type { ResolvedAuditAlertOptions } from '../audit-alert.options.js';
import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import type { RedisAlertCoordinator } from '../cluster/redis-alert.coordinator.js';
import { readClusterLedger } from '../cluster/redis-ledger.stream.js';
import { exportEvidence } from '../ledger/evidence-export.js';
import type { LedgerLine } from '../ledger/ledger-entry.interface.js';
import { readLedgerLines } from '../ledger/ledger-reader.js';
import { fail } from '../options/option-readers.util.js';
import { errorText } from '../common/error-text.util.js';
import { AuditAlertDispatcher } from '../dispatch/audit-alert.dispatcher.js';
import type { AuditAlertDeliveryReceipt } from '../dispatch/delivery-receipt.interface.js';
import { AuditAlertConfigError } from '../errors/audit-alert-config.error.js';
import { AuditOutageResponseError } from '../errors/audit-outage-response.error.js';
import type { AlertAcknowledgedEvent, AlertTestEvent } from '../events/audit-alert-event.interface.js';
import type { AuditLedgerWriter } from '../ledger/ledger-entry.interface.js';
import type { OutageAcknowledgeResult } from '../tracker/outage-acknowledgement.js';
import { AuditAlertMetrics } from '../metrics/audit-alert.metrics.js';
import type {
  AuditAlertSilence,
  AuditAlertSilenceListing,
  AuditAlertSilenceOptions,
} from '../silences/audit-alert-silence.interface.js';
import { AuditAlertSilences } from '../silences/audit-alert-silences.js';
import { resolveSilence } from '../silences/silence.options.js';
import type { AlertSinkFactory } from '../sink/alert-sink.interface.js';
import type { GapRecorderFactory } from '../gap/audit-gap.recorder.js';
import type { AuditAlertStateFile } from '../state/audit-alert-state.file.js';
import type { AuditAlertChannelType } from '../channels/channel-options.interface.js';
import type { AuditTestAlertOptions, AuditTestAlertResult } from '../test-alert/audit-test-alert.interface.js';
import { resolveTestAlertOptions } from '../test-alert/test-alert.options.js';
import { AuditStorageMonitor } from './audit-storage.monitor.js';
import type {
  AuditAcknowledgeOptions,
  AuditAnnotateOptions,
  AuditOutageAcknowledgement,
  AuditOutageAnnotation,
  AuditResponseSource,
} from './outage-response-options.interface.js';
import { resolveAcknowledgeOptions, resolveAnnotateOptions, resolveOutageId } from './outage-response.options.js';

/** Every monitor of the application, by name. Injectable anywhere. */
@Injectable()
export class AuditMonitorRegistry implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  private readonly monitors = new Map<string, AuditStorageMonitor>();
  private readonly logger = new AuditAlertLogger();

  /** @internal */
  constructor(
    @Inject(AUDIT_ALERT_RESOLVED_OPTIONS) private readonly options: ResolvedAuditAlertOptions,
    @Inject(AUDIT_ALERT_CLOCK) private readonly clock: AuditAlertClock,
    private readonly dispatcher: AuditAlertDispatcher,
    private readonly metrics: AuditAlertMetrics,
    private readonly silences: AuditAlertSilences,
    @Inject(AUDIT_ALERT_SINKS) sinkFor: AlertSinkFactory,
    @Inject(AUDIT_ALERT_REDIS) private readonly redis: RedisAlertCoordinator | null,
    @Inject(AUDIT_ALERT_STATE_FILE) private readonly stateFile: AuditAlertStateFile | null,
    @Inject(AUDIT_ALERT_LEDGER) private readonly ledger: AuditLedgerWriter | null,
    @Inject(AUDIT_ALERT_GAP_RECORDERS) gapRecorderFor: GapRecorderFactory,
  ) {
    // Read here, before any provider can track a write: a resumed outage must come before the first new failure.
    const saved = stateFile?.load();
    for (const monitor of options.monitors) {
      const counts = metrics.forMonitor(monitor.name, () => this.get(monitor.name).getStatus().state);
      const created = new AuditStorageMonitor(
        monitor,
        clock,
        sinkFor(monitor),
        counts,
        gapRecorderFor(monitor),
        ledger,
      );
      this.monitors.set(monitor.name, created);
      const open = saved?.get(monitor.name);
      if (open && created.resume(open)) this.logger.log(outageResumed(monitor.name, open.outageId, open.state));
    }
  }

  /**
   * The monitor named `name`.
   * @throws AuditAlertConfigError when there is none.
   */
  get(name: string): AuditStorageMonitor {
    const monitor = this.monitors.get(name);
    if (!monitor) throw new AuditAlertConfigError(unknownMonitor(name, [...this.monitors.keys()]), 'monitors');
    return monitor;
  }

  /** @internal The service the monitors watch for, as its events name it. */
  get serviceName(): string {
    return this.options.serviceName;
  }

  /** Whether a monitor is named `name`. */
  has(name: string): boolean {
    return this.monitors.has(name);
  }

  /** Every monitor, in the order of the `monitors` option. */
  list(): AuditStorageMonitor[] {
    return [...this.monitors.values()];
  }

  /**
   * Sends a test alert (`audit.alert.test`) to every built-in channel and to
   * every hook that subscribes to it, to prove they work: at deploy time, or
   * as audit evidence that the failure alert fires. No outage is opened or
   * changed; PagerDuty gets an `info` incident of its own, resolved at once.
   * @returns One result per recipient, once each has delivered, failed or been abandoned.
   * @throws AuditAlertConfigError when `options` names an unknown monitor or channel type.
   */
  sendTestAlert(options?: AuditTestAlertOptions): Promise<AuditTestAlertResult[]> {
    return this.testRound(options).then(({ receipts }) =>
      receipts.map(({ recipient, result, attempts, reason }) =>
        result === 'delivered'
          ? { recipient, delivered: true, attempts }
          : { recipient, delivered: false, attempts, error: reason ?? result },
      ),
    );
  }

  /**
   * @internal Sends a test alert, as {@link sendTestAlert} does, and gives back
   * the event with the receipts: what the scheduled test needs to say who failed.
   */
  testRound(
    options?: AuditTestAlertOptions,
  ): Promise<{ readonly event: AlertTestEvent; readonly receipts: readonly AuditAlertDeliveryReceipt[] }> {
    const { monitor, channels } = resolveTestAlertOptions(options, [...this.monitors.keys()]);
    const name = monitor ?? this.options.defaultMonitor;
    const event: AlertTestEvent = {
      type: AuditAlertEvents.Test,
      testId: randomUUID(),
      monitor: name,
      serviceName: this.options.serviceName,
      sentAt: new Date(this.clock.wallNow()),
    };
    const recipients = this.dispatcher
      .recipients()
      .filter(
        (binding) =>
          binding.events.includes(AuditAlertEvents.Test) &&
          (monitor === null || binding.monitors === null || binding.monitors.has(name)) &&
          (channels === null || channels.has(binding.channel as AuditAlertChannelType)),
      );
    return this.dispatcher.sendTest(event, recipients).then((receipts) => ({ event, receipts }));
  }

  /**
   * Holds the alerts of `options.monitors` (every monitor by default) from
   * `startsAt` (now by default) until `durationMs` has passed or `until`, for
   * planned maintenance. Monitors keep tracking, their status, metrics and
   * health indicator are unchanged; only alerts wait. An alert held when the
   * silence ends is sent then if its outage is still open; a recovery of an
   * outage alerted before the silence is sent at once. With `cluster`, every
   * replica obeys the silence; with `state` or `cluster`, what it holds
   * outlives the process. Its creation and its end are recorded in the ledger.
   * @returns The silence, with its `id` for {@link unsilence}.
   * @throws AuditAlertConfigError when the options are invalid (no reason or createdBy, longer than `maxSilenceMs`…).
   * @throws Error when `cluster` is set and Redis cannot store it: the silence is then not set.
   */
  async silence(options: AuditAlertSilenceOptions): Promise<AuditAlertSilence> {
    const silence = resolveSilence(options, [...this.monitors.keys()], this.options.maxSilenceMs, this.clock.wallNow());
    try {
      await this.silences.add(silence);
    } catch (error) {
      throw new Error(silenceStoreFailed(errorText(error)), { cause: error });
    }
    return silence;
  }

  /**
   * Ends a silence before its time; the alerts it held are sent now (those of
   * outages still open).
   * @returns `false` when no silence has this id, or it has already ended.
   */
  unsilence(id: string): Promise<boolean> {
    return this.silences.remove(id);
  }

  /**
   * The silences that have not ended, active and scheduled, each with the
   * number of events it has held; shared by every replica when `cluster` is set.
   */
  listSilences(): Promise<AuditAlertSilenceListing[]> {
    return this.silences.list();
  }

  /**
   * The evidence for a period, from the ledger (`ledger` option): under
   * `cluster`, from the fleet's Redis Stream, so it covers every replica; else
   * from this process's ledger directory. Records still waiting to be written
   * are not in it.
   * @param options.from Lines at or after this time; `to`: before it.
   * @param options.format `jsonl`: the ledger's lines, with their sequence
   * numbers; `csv`: one row per outage episode.
   * @throws AuditAlertConfigError when there is no `ledger` option, or an option is invalid.
   * @throws Error when, under `cluster`, Redis cannot be read.
   */
  async exportEvidence(options: { from?: Date; to?: Date; format: 'csv' | 'jsonl' }): Promise<string> {
    const { ledger } = this.options;
    if (ledger === null) throw new AuditAlertConfigError(ledgerNotConfigured(), 'ledger');
    const { from, to, format } = options ?? {};
    if (format !== 'csv' && format !== 'jsonl') fail('format', format, "'csv' or 'jsonl'");
    for (const [name, value] of [
      ['from', from],
      ['to', to],
    ] as const) {
      if (value !== undefined && !(value instanceof Date && !Number.isNaN(value.getTime())))
        fail(name, value, 'a valid Date, or undefined');
    }
    let lines: LedgerLine[];
    if (this.redis) {
      lines = await readClusterLedger(this.redis, this.options.serviceName);
    } else {
      lines = [];
      for await (const { entry } of readLedgerLines(ledger.directory)) if (entry !== null) lines.push(entry);
    }
    return exportEvidence(lines, { from, to, format });
  }

  /**
   * Acknowledges an open outage, by the `outageId` its alerts carry: someone
   * is on it. Until it recovers, it raises no more repeats, on this replica
   * and, under `cluster`, on every replica (a sticky acknowledgement); a
   * channel with `fromOccurrence` above the alerts sent so far is never
   * called for it. An escalation from degraded to unreachable is still sent
   * once, and the recovery is sent. Sends `audit.alert.acknowledged` (never
   * held by a silence; PagerDuty acknowledges the incident), records it in
   * the ledger and in `audit_alert.outage.time_to_acknowledge`, and keeps it
   * in the `state` file. The first acknowledgement of an outage stands: a
   * later one changes nothing and answers with the first.
   * @throws AuditAlertConfigError when `options` are invalid (no `by`, too long…).
   * @throws AuditOutageResponseError when no monitor has this outage open (unknown, or ended), or none of its alerts has been sent yet.
   * @throws Error when `cluster` is set and Redis cannot store it: then it is not acknowledged.
   */
  acknowledge(outageId: string, options: AuditAcknowledgeOptions): Promise<AuditOutageAcknowledgement> {
    return this.acknowledgeFrom(outageId, options, 'registry');
  }

  /** @internal {@link acknowledge}, saying where the acknowledgement came from (a PagerDuty webhook). */
  async acknowledgeFrom(
    outageId: string,
    options: AuditAcknowledgeOptions,
    source: AuditResponseSource,
  ): Promise<AuditOutageAcknowledgement> {
    const id = resolveOutageId(outageId, 'acknowledge');
    const { by, note } = resolveAcknowledgeOptions(options);
    for (const monitor of this.monitors.values()) {
      let outcome: OutageAcknowledgeResult;
      try {
        outcome = await monitor.acknowledge(id, by, note);
      } catch (error) {
        throw new Error(acknowledgeStoreFailed(errorText(error)), { cause: error });
      }
      if (!('acknowledgement' in outcome)) {
        if (outcome.result === 'unknown') continue;
        throw new AuditOutageResponseError(outageNotAlerted(id, monitor.name), id, 'not-alerted');
      }
      const { acknowledgement, firstFailureAt } = outcome;
      const acknowledged: AuditOutageAcknowledgement = {
        outageId: id,
        monitor: monitor.name,
        by: acknowledgement.by,
        note: acknowledgement.note,
        acknowledgedAt: new Date(acknowledgement.at),
        alreadyAcknowledged: outcome.result === 'already',
      };
      if (outcome.result === 'acknowledged') this.announceAcknowledgement(acknowledged, firstFailureAt, source);
      return acknowledged;
    }
    const open = this.list().flatMap((monitor) => monitor.getStatus().outageId ?? []);
    throw new AuditOutageResponseError(unknownOutage(id, open), id, 'unknown-outage');
  }

  /**
   * Records the cause of an outage, its ticket, or both, in the ledger: what
   * an auditor asks after "who responded". The outage may be open or have
   * ended lately (one of the last 100 of its monitor in this process; under
   * `cluster`, one Redis still has a record of). Nothing is sent.
   * @throws AuditAlertConfigError when `options` are invalid (no `by`, neither `cause` nor `ticket`, too long…).
   * @throws AuditOutageResponseError when no monitor knows the outage.
   */
  annotate(outageId: string, options: AuditAnnotateOptions): Promise<AuditOutageAnnotation> {
    return this.annotateFrom(outageId, options, 'registry');
  }

  /** @internal {@link annotate}, saying where the annotation came from (a PagerDuty webhook). */
  async annotateFrom(
    outageId: string,
    options: AuditAnnotateOptions,
    source: AuditResponseSource,
  ): Promise<AuditOutageAnnotation> {
    const id = resolveOutageId(outageId, 'annotate');
    const { by, cause, ticket } = resolveAnnotateOptions(options);
    for (const monitor of this.monitors.values()) {
      if (!(await monitor.knowsOutage(id))) continue;
      this.ledger?.append({ kind: 'annotated', outageId: id, monitor: monitor.name, by, cause, ticket, source });
      return { outageId: id, monitor: monitor.name, by, cause, ticket, annotatedAt: new Date(this.clock.wallNow()) };
    }
    throw new AuditOutageResponseError(unknownAnnotatedOutage(id), id, 'unknown-outage');
  }

  /** Tells everyone of a new acknowledgement: the recipients, the ledger, the metrics, the log. */
  private announceAcknowledgement(
    acknowledged: AuditOutageAcknowledgement,
    firstFailureAt: number,
    source: AuditResponseSource,
  ): void {
    const { outageId, monitor, by, note, acknowledgedAt } = acknowledged;
    const event: AlertAcknowledgedEvent = {
      type: AuditAlertEvents.Acknowledged,
      outageId,
      monitor,
      serviceName: this.options.serviceName,
      by,
      note,
      acknowledgedAt,
      outageStartedAt: new Date(firstFailureAt),
    };
    void this.dispatcher.announce(event);
    this.ledger?.append({
      kind: 'acknowledged',
      outageId,
      monitor,
      by,
      note,
      acknowledgedAt: acknowledgedAt.toISOString(),
      source,
    });
    this.metrics.outageAcknowledged(monitor, acknowledgedAt.getTime() - firstFailureAt);
    this.logger.log(outageAcknowledged(monitor, outageId, by, source));
  }

  /** @internal Connects to the cluster's Redis, if any, and starts the monitors: probes while healthy, left-open resolves. */
  async onApplicationBootstrap(): Promise<void> {
    await this.redis?.start();
    await this.silences.start();
    for (const monitor of this.monitors.values()) monitor.start();
  }

  /** @internal Stops every timer and probe. */
  onModuleDestroy(): void {
    this.silences.close();
    for (const monitor of this.monitors.values()) monitor.close();
  }

  /** @internal Closes the Redis connection the module opened, once deliveries have drained; finishes writing the state file. */
  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.redis?.close(), this.stateFile?.close()]);
  }
}
