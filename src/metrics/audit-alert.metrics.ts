import type { OnModuleDestroy } from '@nestjs/common';
import type {
  Attributes,
  BatchObservableResult,
  Counter,
  Histogram,
  Meter,
  ObservableCounter,
  ObservableGauge,
} from '@opentelemetry/api';
import type { ResolvedAuditAlertOptions } from '../audit-alert.options.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import type { AuditStorageState } from '../tracker/audit-storage-status.interface.js';
import { scrubSecrets } from '../common/error-text.util.js';
import { PACKAGE_VERSION } from '../package-manifest.js';
import type { AuditMonitorMetrics } from './audit-monitor-metrics.interface.js';

/** Name of the OpenTelemetry meter every instrument of this module belongs to. */
const AUDIT_ALERT_METER_NAME = 'nestjs-audit-alert';

/** Names of the instruments, documented in the README ("Metrics"). */
const AuditAlertMetricNames = {
  StorageFailures: 'audit_alert.storage.failures',
  StorageSuccesses: 'audit_alert.storage.successes',
  RejectedRecords: 'audit_alert.records.rejected',
  SentAlerts: 'audit_alert.sent.alerts',
  SilencedAlerts: 'audit_alert.silenced.alerts',
  FailedDeliveries: 'audit_alert.failed.deliveries',
  MonitorState: 'audit_alert.monitor.state',
  StorageCapacityRatio: 'audit_alert.storage.capacity.ratio',
  TimeToAcknowledge: 'audit_alert.outage.time_to_acknowledge',
} as const;

/** Names of the attributes the instruments carry. */
const AuditAlertMetricAttributes = {
  Monitor: 'audit_alert.monitor.name',
  Service: 'audit_alert.service.name',
  EventType: 'audit_alert.event.type',
  Hook: 'audit_alert.hook.name',
  ErrorType: 'error.type',
} as const;

/** Value of `audit_alert.monitor.state` for each state. */
const MONITOR_STATE_VALUES: Readonly<Record<AuditStorageState, number>> = {
  healthy: 0,
  failing: 1,
  alerting: 2,
  degraded: 3,
  recovering: 4,
};

/** `error.type` of a hook call abandoned after `hookTimeoutMs`. */
export const TIMEOUT_ERROR_TYPE = 'timeout';

/** The semantic conventions' `error.type` for anything else. */
const OTHER_ERROR_TYPE = '_OTHER';

/** `error.type` values always reported as they are: JavaScript's, Node's and this module's own. */
const KNOWN_ERROR_TYPES: ReadonlySet<string> = new Set([
  TIMEOUT_ERROR_TYPE,
  OTHER_ERROR_TYPE,
  'Error',
  'AggregateError',
  'EvalError',
  'RangeError',
  'ReferenceError',
  'SyntaxError',
  'TypeError',
  'URIError',
  'AbortError',
  'TimeoutError',
  'SystemError',
  'DOMException',
  'AuditAlertChannelError',
]);

/** What a class name looks like; anything else (a URL, a sentence, 50 KB) is not one. */
const ERROR_TYPE_SHAPE = /^[A-Za-z_$][\w$]{0,63}$/;

/**
 * Distinct `error.type` values, beyond the known ones, reported before the
 * rest count as `_OTHER`: a hook inventing a name per failure must not make a
 * time series per failure.
 */
const MAX_OTHER_ERROR_TYPES = 20;

/**
 * `error.type` of what a hook threw: the error's name when it looks like a
 * class name and holds nothing the secret scrubber would redact, else `_OTHER`.
 */
export function errorTypeOf(error: unknown): string {
  try {
    const name = error instanceof Error ? error.name : undefined;
    return typeof name === 'string' && ERROR_TYPE_SHAPE.test(name) && scrubSecrets(name) === name
      ? name
      : OTHER_ERROR_TYPE;
  } catch {
    // A getter that throws tells nothing more than "something else".
    return OTHER_ERROR_TYPE;
  }
}

/**
 * Plain counters read when the metrics are collected: the write path pays an
 * increment, never an attribute lookup or an SDK call.
 */
class MonitorCounts implements AuditMonitorMetrics {
  failures = 0;
  successes = 0;
  rejected = 0;

  constructor(
    readonly attributes: Attributes,
    readonly state: () => AuditStorageState,
  ) {}

  failure(): void {
    this.failures += 1;
  }

  success(): void {
    this.successes += 1;
  }

  rejectedRecord(): void {
    this.rejected += 1;
  }
}

/** What the module needs of `@opentelemetry/api`; loaded only when present. */
type OpenTelemetryApi = typeof import('@opentelemetry/api');

/** The instruments, created once an SDK is known to be registered. */
interface Instruments {
  readonly meter: Meter;
  readonly failures: ObservableCounter;
  readonly successes: ObservableCounter;
  readonly rejected: ObservableCounter;
  readonly state: ObservableGauge;
  readonly capacity: ObservableGauge;
  readonly sentAlerts: Counter;
  readonly silencedAlerts: Counter;
  readonly failedDeliveries: Counter;
  readonly timeToAcknowledge: Histogram;
}

const OPENTELEMETRY_API = '@opentelemetry/api';

/** Whether a failed `import()` means "not installed", as opposed to a broken installation. */
function isApiNotFound(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const notFound = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
  return notFound && typeof message === 'string' && message.includes(OPENTELEMETRY_API);
}

/**
 * Loads `@opentelemetry/api` on demand (the core never imports it statically),
 * or resolves to `null` when it is not installed.
 */
async function loadOpenTelemetry(): Promise<OpenTelemetryApi | null> {
  try {
    return await import('@opentelemetry/api');
  } catch (error) {
    if (isApiNotFound(error)) return null;
    throw error;
  }
}

/**
 * The module's OpenTelemetry metrics. Built at bootstrap by {@link create},
 * which turns them off (every method a no-op, every monitor without a
 * {@link AuditMonitorMetrics}) when the `metrics` option is `false`, when
 * `@opentelemetry/api` is not installed, or when no MeterProvider is
 * registered yet: the API's meters never start recording once handed out, so
 * an SDK registered later could not be honoured anyway.
 * @internal
 */
export class AuditAlertMetrics implements OnModuleDestroy {
  private readonly monitors: MonitorCounts[] = [];
  private readonly capacities: { readonly attributes: Attributes; readonly ratio: () => number | null }[] = [];
  private readonly otherErrorTypes = new Set<string>();
  private readonly observe = (result: BatchObservableResult): void => this.observeMonitors(result);

  private constructor(
    private readonly instruments: Instruments | null,
    private readonly serviceName: string,
  ) {
    instruments?.meter.addBatchObservableCallback(this.observe, observed(instruments));
  }

  /** Whether anything is recorded. */
  get enabled(): boolean {
    return this.instruments !== null;
  }

  /** Builds the metrics for `options`, loading `@opentelemetry/api` only when they are wanted. */
  static async create(options: Pick<ResolvedAuditAlertOptions, 'metrics' | 'serviceName'>): Promise<AuditAlertMetrics> {
    const api = options.metrics ? await loadOpenTelemetry() : null;
    return new AuditAlertMetrics(api && createInstruments(api), options.serviceName);
  }

  /**
   * What the monitor named `name` counts with, or `null` when metrics are off.
   * @param state Reads the monitor's state when the gauge is collected.
   */
  forMonitor(name: string, state: () => AuditStorageState): AuditMonitorMetrics | null {
    if (!this.instruments) return null;
    const counts = new MonitorCounts(this.attributesOf(name), state);
    this.monitors.push(counts);
    return counts;
  }

  /**
   * Reports the capacity ratio of the monitor named `name` as a gauge.
   * @param ratio The last reading, or `null` before the first (nothing is reported then).
   */
  observeCapacity(name: string, ratio: () => number | null): void {
    if (this.instruments) this.capacities.push({ attributes: this.attributesOf(name), ratio });
  }

  /** Counts an event handed to the listeners. */
  alertSent(event: AuditAlertEvent): void {
    this.instruments?.sentAlerts.add(1, {
      ...this.attributesOf(event.monitor),
      [AuditAlertMetricAttributes.EventType]: event.type,
    });
  }

  /** Counts an event a silence held back (or dropped, with the alert it closed). */
  alertSilenced(event: AuditAlertEvent): void {
    this.instruments?.silencedAlerts.add(1, {
      ...this.attributesOf(event.monitor),
      [AuditAlertMetricAttributes.EventType]: event.type,
    });
  }

  /**
   * Records how long an outage of the monitor named `monitor` waited for
   * someone to acknowledge it: from its first failure, in seconds.
   */
  outageAcknowledged(monitor: string, afterMs: number): void {
    this.instruments?.timeToAcknowledge.record(Math.max(0, afterMs) / 1_000, this.attributesOf(monitor));
  }

  /**
   * Counts a hook or channel call that failed or was abandoned.
   * @param errorType `timeout`, or {@link errorTypeOf} what the hook threw; past
   * {@link MAX_OTHER_ERROR_TYPES} distinct unknown names, `_OTHER`.
   */
  deliveryFailed(hook: string, event: AuditAlertEvent, errorType: string): void {
    this.instruments?.failedDeliveries.add(1, {
      ...this.attributesOf(event.monitor),
      [AuditAlertMetricAttributes.Hook]: hook,
      [AuditAlertMetricAttributes.EventType]: event.type,
      [AuditAlertMetricAttributes.ErrorType]: this.boundedErrorType(errorType),
    });
  }

  private boundedErrorType(errorType: string): string {
    if (KNOWN_ERROR_TYPES.has(errorType) || this.otherErrorTypes.has(errorType)) return errorType;
    if (this.otherErrorTypes.size >= MAX_OTHER_ERROR_TYPES || !ERROR_TYPE_SHAPE.test(errorType)) {
      return OTHER_ERROR_TYPE;
    }
    this.otherErrorTypes.add(errorType);
    return errorType;
  }

  /** Stops reporting: a MeterProvider outliving the application must not keep reading its monitors. */
  onModuleDestroy(): void {
    if (!this.instruments) return;
    this.instruments.meter.removeBatchObservableCallback(this.observe, observed(this.instruments));
  }

  private attributesOf(monitor: string): Attributes {
    return {
      [AuditAlertMetricAttributes.Monitor]: monitor,
      [AuditAlertMetricAttributes.Service]: this.serviceName,
    };
  }

  private observeMonitors(result: BatchObservableResult): void {
    const { failures, successes, rejected, state } = this.instruments!;
    for (const counts of this.monitors) {
      result.observe(failures, counts.failures, counts.attributes);
      result.observe(successes, counts.successes, counts.attributes);
      result.observe(rejected, counts.rejected, counts.attributes);
      result.observe(state, MONITOR_STATE_VALUES[counts.state()], counts.attributes);
    }
    for (const { attributes, ratio } of this.capacities) {
      const value = ratio();
      if (value !== null) result.observe(this.instruments!.capacity, value, attributes);
    }
  }
}

/** The instruments read by the batch callback. */
function observed({ failures, successes, rejected, state, capacity }: Instruments) {
  return [failures, successes, rejected, state, capacity];
}

/** The instruments, or `null` when no MeterProvider is registered. */
function createInstruments(api: OpenTelemetryApi): Instruments | null {
  const meter = api.metrics.getMeter(AUDIT_ALERT_METER_NAME, PACKAGE_VERSION);
  if (meter === api.createNoopMeter()) return null;
  const { INT } = api.ValueType;
  return {
    meter,
    failures: meter.createObservableCounter(AuditAlertMetricNames.StorageFailures, {
      description: 'Failed writes (and probes) of the audit storage recorded by the monitor.',
      unit: '{failure}',
      valueType: INT,
    }),
    successes: meter.createObservableCounter(AuditAlertMetricNames.StorageSuccesses, {
      description: 'Successful writes (and probes) of the audit storage recorded by the monitor.',
      unit: '{success}',
      valueType: INT,
    }),
    rejected: meter.createObservableCounter(AuditAlertMetricNames.RejectedRecords, {
      description:
        "Writes the audit storage answered but refused for their record (classify said 'record'): audit records lost.",
      unit: '{record}',
      valueType: INT,
    }),
    state: meter.createObservableGauge(AuditAlertMetricNames.MonitorState, {
      description:
        'State of the monitor: 0 healthy, 1 failing (below the threshold), 2 alerting, 3 degraded, 4 recovering (hold before the recovery).',
      unit: '{state}',
      valueType: INT,
    }),
    capacity: meter.createObservableGauge(AuditAlertMetricNames.StorageCapacityRatio, {
      description: 'Share of the audit storage in use at the last capacity check (1 = full or at quota).',
      unit: '1',
    }),
    sentAlerts: meter.createCounter(AuditAlertMetricNames.SentAlerts, {
      description:
        'Events (audit.storage.unreachable, audit.storage.recovered, audit.alert.test…) handed to hooks, channels and listeners.',
      unit: '{alert}',
      valueType: INT,
    }),
    silencedAlerts: meter.createCounter(AuditAlertMetricNames.SilencedAlerts, {
      description: 'Events a silence held back, or dropped with the held alert they closed.',
      unit: '{alert}',
      valueType: INT,
    }),
    failedDeliveries: meter.createCounter(AuditAlertMetricNames.FailedDeliveries, {
      description: 'Calls of a hook or channel that failed, or were abandoned after hookTimeoutMs.',
      unit: '{delivery}',
      valueType: INT,
    }),
    timeToAcknowledge: meter.createHistogram(AuditAlertMetricNames.TimeToAcknowledge, {
      description: 'Time from the first failure of an outage to its acknowledgement (registry or PagerDuty).',
      unit: 's',
      advice: { explicitBucketBoundaries: [30, 60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 14_400] },
    }),
  };
}
