import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import {
  AUDIT_ALERT_CLOCK,
  AUDIT_ALERT_REDIS,
  AUDIT_ALERT_RESOLVED_OPTIONS,
  AuditAlertEvents,
} from '../audit-alert.constants.js';
import { AuditAlertLogger } from '../audit-alert.logger.js';
import {
  capacityBadReading,
  capacityCheckFailed,
  capacityCheckStillHanging,
  capacityCheckTimedOut,
} from '../audit-alert.messages.js';
import type { ResolvedAuditAlertOptions, ResolvedMonitorOptions } from '../audit-alert.options.js';
import type { AuditAlertClock, AuditAlertTimer } from '../clock/audit-alert-clock.interface.js';
import { AuditAlertChannelRegistry } from '../channels/audit-alert-channel.registry.js';
import { EventClaimCoordinator } from '../cluster/event-claim.coordinator.js';
import type { RedisAlertCoordinator } from '../cluster/redis-alert.coordinator.js';
import { AuditAlertDispatcher } from '../dispatch/audit-alert.dispatcher.js';
import type { AuditStorageCapacityLevel, StorageCapacityEvent } from '../events/audit-alert-event.interface.js';
import { AuditAlertMetrics } from '../metrics/audit-alert.metrics.js';
import { withTimeout } from '../common/timeout.util.js';
import { errorText } from '../common/error-text.util.js';
import type { ResolvedCapacityOptions } from './capacity.options.js';
import { levelThreshold, nextCapacityLevel, readingRatio } from './capacity-level.util.js';

/** Raised inside a check that gave no usable reading; its message is the reason. */
class CapacityCheckError extends Error {}

/**
 * The capacity watch of one monitor: runs its check on a timer, never two at
 * once, and turns readings into `audit.storage.capacity` events.
 */
class CapacityWatch {
  /** The last valid reading's ratio, `null` before the first; read by the metrics gauge. */
  ratio: number | null = null;

  private level: AuditStorageCapacityLevel = 'normal';
  private episodeId: string | null = null;
  private occurrence = 0;
  private lastEventMono = 0;
  private timer: AuditAlertTimer | null = null;
  private closed = false;
  /**
   * A check abandoned after `timeoutMs` that has not settled yet. While it
   * hangs (a dead mount, say), no new check starts: each would hang the same
   * way and hold one more thread of the pool every I/O of the process needs.
   */
  private hanging: Promise<unknown> | null = null;

  /**
   * @param resolveLeftOpen Resolves the capacity incident a process before this
   * one may have left open; called once, when the first reading is clearly
   * normal. `null` when no channel can.
   */
  constructor(
    private readonly monitor: ResolvedMonitorOptions,
    private readonly options: ResolvedCapacityOptions,
    private readonly clock: AuditAlertClock,
    private readonly send: (event: StorageCapacityEvent) => void,
    private readonly logger: AuditAlertLogger,
    private resolveLeftOpen: (() => void) | null,
  ) {}

  start(): void {
    void this.check();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
  }

  private async check(): Promise<void> {
    if (this.hanging !== null) {
      this.logger.warn(capacityCheckFailed(this.monitor.name, capacityCheckStillHanging(this.options.timeoutMs)));
      this.arm();
      return;
    }
    const { timeoutMs } = this.options;
    const abandon = new AbortController();
    let running: Promise<unknown> = Promise.resolve();
    let timedOut = false;
    try {
      const reading: unknown = await withTimeout(
        () => (running = Promise.resolve(this.options.check({ signal: abandon.signal }))),
        timeoutMs,
        this.clock,
        () => {
          timedOut = true;
          return new CapacityCheckError(capacityCheckTimedOut(timeoutMs));
        },
      );
      const parsed = readingRatio(reading);
      if (parsed === null) throw new CapacityCheckError(capacityBadReading(reading));
      if (!this.closed) this.record(parsed.ratio, parsed.used, parsed.total);
    } catch (error) {
      const reason = error instanceof CapacityCheckError ? error.message : errorText(error);
      if (!this.closed) this.logger.warn(capacityCheckFailed(this.monitor.name, reason));
      if (timedOut) this.abandoned(running, abandon);
    } finally {
      this.arm();
    }
  }

  /** Tells the check it was abandoned, and holds the next one back until it settles. */
  private abandoned(running: Promise<unknown>, abandon: AbortController): void {
    abandon.abort();
    const hanging = running.then(
      () => undefined,
      () => undefined,
    );
    this.hanging = hanging;
    void hanging.then(() => {
      if (this.hanging === hanging) this.hanging = null;
    });
  }

  private arm(): void {
    if (!this.closed) this.timer = this.clock.setTimer(() => void this.check(), this.options.intervalMs);
  }

  private record(ratio: number, used: number | null, total: number | null): void {
    // Below a warning's own way out, as a warning that was open before the start would have ended.
    if (this.ratio === null && nextCapacityLevel('warning', ratio, this.options) === 'normal') this.resolveLeftOpen?.();
    this.resolveLeftOpen = null;
    this.ratio = ratio;
    const previous = this.level;
    const level = nextCapacityLevel(previous, ratio, this.options);
    this.level = level;
    const mono = this.clock.monotonicNow();
    const changed = level !== previous;
    const repeat = level !== 'normal' && mono - this.lastEventMono >= this.monitor.cooldownMs;
    if (!changed && !repeat) return;
    if (previous === 'normal') {
      this.episodeId = randomUUID();
      this.occurrence = 0;
    }
    this.occurrence += 1;
    this.lastEventMono = mono;
    const event: StorageCapacityEvent = {
      type: AuditAlertEvents.StorageCapacity,
      outageId: this.episodeId as string,
      monitor: this.monitor.name,
      serviceName: this.monitor.serviceName,
      level,
      previousLevel: previous,
      usedRatio: ratio,
      used,
      total,
      threshold: levelThreshold(level, this.options),
      occurrence: this.occurrence,
      checkedAt: new Date(this.clock.wallNow()),
    };
    if (level === 'normal') this.episodeId = null;
    if (this.monitor.enabled) this.send(event);
  }
}

/**
 * Runs the capacity checks of the monitors that have a `capacity` option,
 * from application bootstrap until shutdown (AU-5(1)).
 */
@Injectable()
export class AuditCapacityWatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly watches: CapacityWatch[] = [];

  /** @internal */
  constructor(
    @Inject(AUDIT_ALERT_RESOLVED_OPTIONS) options: ResolvedAuditAlertOptions,
    @Inject(AUDIT_ALERT_CLOCK) clock: AuditAlertClock,
    dispatcher: AuditAlertDispatcher,
    metrics: AuditAlertMetrics,
    channels: AuditAlertChannelRegistry,
    @Inject(AUDIT_ALERT_REDIS) redis: RedisAlertCoordinator | null,
  ) {
    const logger = new AuditAlertLogger();
    for (const monitor of options.monitors) {
      if (!monitor.capacity) continue;
      // Every replica reads the same storage: under `cluster`, one of them sends each warning.
      const claims = redis && new EventClaimCoordinator(monitor, redis, dispatcher, clock);
      const send = (event: StorageCapacityEvent): void =>
        void (claims ? claims.send(event) : dispatcher.dispatch(event));
      // Capacity is kept nowhere across a restart: a warning's incident is found again by monitor, in every mode.
      const resolve = (): void => dispatcher.track(channels.resolveLeftOpen(monitor.name, 'capacity'));
      const watch = new CapacityWatch(monitor, monitor.capacity, clock, send, logger, monitor.enabled ? resolve : null);
      metrics.observeCapacity(monitor.name, () => watch.ratio);
      this.watches.push(watch);
    }
  }

  /** @internal Runs the first checks; each arms the next. */
  onApplicationBootstrap(): void {
    for (const watch of this.watches) watch.start();
  }

  /** @internal */
  onModuleDestroy(): void {
    for (const watch of this.watches) watch.close();
  }
}
