import type { Provider } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import {
  AUDIT_ALERT_CLOCK,
  AUDIT_ALERT_GAP_RECORDERS,
  AUDIT_ALERT_GATE,
  AUDIT_ALERT_LEDGER,
  AUDIT_ALERT_RECIPIENTS,
  AUDIT_ALERT_REDIS,
  AUDIT_ALERT_RESOLVED_OPTIONS,
  AUDIT_ALERT_SINKS,
  AUDIT_ALERT_STATE_FILE,
  AUDIT_MONITOR_STATUS,
} from './audit-alert.constants.js';
import type { ResolvedAuditAlertOptions } from './audit-alert.options.js';
import { AuditAlertChannelRegistry } from './channels/audit-alert-channel.registry.js';
import type { AuditAlertClock } from './clock/audit-alert-clock.interface.js';
import { RedisAlertCoordinator } from './cluster/redis-alert.coordinator.js';
import { AuditAlertDispatcher } from './dispatch/audit-alert.dispatcher.js';
import type { RecipientSource } from './dispatch/recipient-binding.interface.js';
import { AuditAlertHookExplorer } from './hooks/audit-alert-hook.explorer.js';
import { AuditLedger } from './ledger/audit-ledger.writer.js';
import { ledgerBrokenEvent } from './ledger/ledger-records.util.js';
import { RedisLedgerStream } from './cluster/redis-ledger.stream.js';
import type { AuditLedgerWriter } from './ledger/ledger-entry.interface.js';
import { AuditAlertMetrics } from './metrics/audit-alert.metrics.js';
import type { AuditStorageStatus } from './tracker/audit-storage-status.interface.js';
import { AuditMonitorRegistry } from './monitor/audit-monitor.registry.js';
import { AuditAlertSilences } from './silences/audit-alert-silences.js';
import { RedisSilenceStore } from './silences/redis-silence.store.js';
import { InProcessSilenceStore } from './silences/in-process-silence.store.js';
import type { AlertSink, AlertSinkFactory } from './sink/alert-sink.interface.js';
import { LocalAlertSink } from './sink/local-alert.sink.js';
import { AuditAlertStateFile } from './state/audit-alert-state.file.js';
import { join } from 'node:path';
import { AuditGapRecorder, type GapRecorderFactory } from './gap/audit-gap.recorder.js';
import { FileGapRecordStore } from './gap/file-gap-record.store.js';
import { type GapRecordStore, InMemoryGapRecordStore } from './gap/gap-record-store.interface.js';
import { RedisGapRecordStore } from './gap/redis-gap-record.store.js';
import { StateFileGapRecordStore } from './gap/state-file-gap-record.store.js';

/*
 * Where the rooms are wired together: each provider builds one part from the
 * parts it needs, so that no part builds or wires another.
 */

/** The dispatcher's recipients: hooks first, then channels. */
const recipients: Provider = {
  provide: AUDIT_ALERT_RECIPIENTS,
  useFactory: (hooks: RecipientSource, channels: RecipientSource): RecipientSource[] => [hooks, channels],
  inject: [AuditAlertHookExplorer, AuditAlertChannelRegistry],
};

/** The Redis link of the `cluster` option. */
const redis: Provider = {
  provide: AUDIT_ALERT_REDIS,
  useFactory: (options: ResolvedAuditAlertOptions, clock: AuditAlertClock): RedisAlertCoordinator | null =>
    options.cluster && new RedisAlertCoordinator(options.cluster, clock),
  inject: [AUDIT_ALERT_RESOLVED_OPTIONS, AUDIT_ALERT_CLOCK],
};

/** Looks a monitor up when asked, not when built: the monitors send through the silences' gate. */
const monitorStatus: Provider = {
  provide: AUDIT_MONITOR_STATUS,
  useFactory:
    (moduleRef: ModuleRef) =>
    (monitor: string): AuditStorageStatus =>
      moduleRef.get(AuditMonitorRegistry).get(monitor).getStatus(),
  inject: [ModuleRef],
};

/**
 * The silences, kept in Redis with `cluster` so that every replica obeys them,
 * else in the process and, with `state`, in the state file, so that what they
 * hold outlives the process.
 */
const silences: Provider = {
  provide: AuditAlertSilences,
  useFactory: (
    options: ResolvedAuditAlertOptions,
    clock: AuditAlertClock,
    metrics: AuditAlertMetrics,
    link: RedisAlertCoordinator | null,
    statusOf: (monitor: string) => AuditStorageStatus,
    state: AuditAlertStateFile | null,
    ledger: AuditLedgerWriter | null,
  ): AuditAlertSilences => {
    const keeper = state && {
      saved: () => state.savedSilences(),
      keep: (section: unknown) => state.keepSilences(section),
    };
    const store = link
      ? new RedisSilenceStore(
          link,
          options.serviceName,
          options.monitors.map((monitor) => monitor.name),
        )
      : new InProcessSilenceStore(keeper);
    return new AuditAlertSilences(store, link !== null, clock, metrics, statusOf, ledger);
  },
  inject: [
    AUDIT_ALERT_RESOLVED_OPTIONS,
    AUDIT_ALERT_CLOCK,
    AuditAlertMetrics,
    AUDIT_ALERT_REDIS,
    AUDIT_MONITOR_STATUS,
    AUDIT_ALERT_STATE_FILE,
    AUDIT_ALERT_LEDGER,
  ],
};

/** The state file of the `state` option. */
const stateFile: Provider = {
  provide: AUDIT_ALERT_STATE_FILE,
  useFactory: (options: ResolvedAuditAlertOptions): AuditAlertStateFile | null =>
    options.state && new AuditAlertStateFile(options.state, options.serviceName),
  inject: [AUDIT_ALERT_RESOLVED_OPTIONS],
};

/**
 * The evidence ledger of the `ledger` option, mirrored to a Redis Stream with
 * `cluster`. A break it finds at start goes out through the dispatcher, looked
 * up then: the dispatcher records in the ledger, so is built after it.
 */
const ledger: Provider = {
  provide: AUDIT_ALERT_LEDGER,
  useFactory: (
    options: ResolvedAuditAlertOptions,
    clock: AuditAlertClock,
    link: RedisAlertCoordinator | null,
    moduleRef: ModuleRef,
  ): AuditLedger | null => {
    if (options.ledger === null) return null;
    const mirror = link && new RedisLedgerStream(link, options.serviceName, options.ledger.retentionDays, clock);
    return new AuditLedger(options.ledger, options.serviceName, clock, options.shutdownTimeoutMs, mirror, (found) => {
      const event = ledgerBrokenEvent(options, found, new Date(clock.wallNow()));
      void moduleRef.get(AuditAlertDispatcher).dispatch(event);
    });
  },
  inject: [AUDIT_ALERT_RESOLVED_OPTIONS, AUDIT_ALERT_CLOCK, AUDIT_ALERT_REDIS, ModuleRef],
};

/** Each monitor's sink: coordinated by Redis with `cluster`, else local. */
const sinks: Provider = {
  provide: AUDIT_ALERT_SINKS,
  useFactory:
    (
      dispatcher: AuditAlertDispatcher,
      link: RedisAlertCoordinator | null,
      state: AuditAlertStateFile | null,
      channels: AuditAlertChannelRegistry,
    ): AlertSinkFactory =>
    (monitor): AlertSink => {
      const coordinated = link?.forMonitor(monitor, dispatcher);
      if (coordinated) return coordinated;
      // Only where no store remembers outages do channels key incidents by monitor, and so resolve what was left open.
      const leftOpen = monitor.notifyRecovery
        ? {
            resolves: () => channels.resolvesLeftOpen(monitor.name, 'outage'),
            resolve: () => channels.resolveLeftOpen(monitor.name, 'outage'),
          }
        : null;
      return new LocalAlertSink(monitor.name, dispatcher, state, leftOpen);
    },
  inject: [AuditAlertDispatcher, AUDIT_ALERT_REDIS, AUDIT_ALERT_STATE_FILE, AuditAlertChannelRegistry],
};

/**
 * Each monitor's gap recorder, keeping its pending gap records where the
 * open outages are kept (the state file, Redis), else in its spool's
 * directory, else in memory only.
 */
const gapRecorders: Provider = {
  provide: AUDIT_ALERT_GAP_RECORDERS,
  useFactory:
    (
      options: ResolvedAuditAlertOptions,
      clock: AuditAlertClock,
      ledger: AuditLedgerWriter | null,
      link: RedisAlertCoordinator | null,
      state: AuditAlertStateFile | null,
    ): GapRecorderFactory =>
    (monitor) => {
      if (monitor.gapRecord === null) return null;
      let store: GapRecordStore;
      if (state !== null && options.state !== null) {
        store = new StateFileGapRecordStore(state, options.state.file, monitor.name);
      } else if (link !== null) {
        store = new RedisGapRecordStore(link, options.serviceName, monitor.name);
      } else if (monitor.spool !== null) {
        store = new FileGapRecordStore(join(monitor.spool.directory, monitor.name));
      } else {
        store = new InMemoryGapRecordStore();
      }
      const settings = {
        monitor: monitor.name,
        write: monitor.gapRecord,
        timeoutMs: options.hookTimeoutMs,
        shared: store instanceof RedisGapRecordStore,
      };
      return new AuditGapRecorder(settings, store, clock, ledger);
    },
  inject: [
    AUDIT_ALERT_RESOLVED_OPTIONS,
    AUDIT_ALERT_CLOCK,
    AUDIT_ALERT_LEDGER,
    AUDIT_ALERT_REDIS,
    AUDIT_ALERT_STATE_FILE,
  ],
};

/** Every provider that wires the path from a write's outcome to its recipients. */
export const AUDIT_ALERT_PATH_PROVIDERS: Provider[] = [
  recipients,
  redis,
  monitorStatus,
  silences,
  { provide: AUDIT_ALERT_GATE, useExisting: AuditAlertSilences },
  stateFile,
  ledger,
  sinks,
  gapRecorders,
];
