import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { AUDIT_ALERT_CLOCK, AUDIT_ALERT_RESOLVED_OPTIONS, AuditAlertEvents } from '../audit-alert.constants.js';
import { AuditAlertLogger } from '../audit-alert.logger.js';
import { testAlertRecipientFailed } from '../audit-alert.messages.js';
import type { ResolvedAuditAlertOptions } from '../audit-alert.options.js';
import type { AuditAlertClock, AuditAlertTimer } from '../clock/audit-alert-clock.interface.js';
import { AuditAlertDispatcher } from '../dispatch/audit-alert.dispatcher.js';
import type { AlertTestFailedEvent } from '../events/audit-alert-event.interface.js';
import { AuditMonitorRegistry } from './audit-monitor.registry.js';

/**
 * The `testAlert` option: sends the test alert every `intervalMs` (the first
 * one `intervalMs` after the start), on the injected clock, whose timers never
 * keep the process alive; stops at shutdown. A recipient that fails (or times
 * out) is named in an error log line and raises `audit.alert.test.failed` to
 * the recipients that did not fail in the same round: a failure is never sent
 * to a recipient that has just failed, and the failure events raise nothing
 * further, so no round can feed itself.
 */
@Injectable()
export class AuditTestAlertScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new AuditAlertLogger();
  private timer: AuditAlertTimer | null = null;
  private closed = false;

  constructor(
    @Inject(AUDIT_ALERT_RESOLVED_OPTIONS) private readonly options: ResolvedAuditAlertOptions,
    @Inject(AUDIT_ALERT_CLOCK) private readonly clock: AuditAlertClock,
    private readonly registry: AuditMonitorRegistry,
    private readonly dispatcher: AuditAlertDispatcher,
  ) {}

  /** @internal Arms the first round. */
  onApplicationBootstrap(): void {
    this.arm();
  }

  /** @internal Stops the schedule; a round under way ends with the dispatcher's drain. */
  onModuleDestroy(): void {
    this.closed = true;
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
  }

  private arm(): void {
    const schedule = this.options.testAlert;
    if (schedule === null || this.closed) return;
    this.timer = this.clock.setTimer(() => {
      this.timer = null;
      // The next round is armed once this one has settled: rounds never overlap.
      void this.round().finally(() => this.arm());
    }, schedule.intervalMs);
  }

  private async round(): Promise<void> {
    const { event, receipts } = await this.registry.testRound();
    // Abandoned at shutdown is no recipient's fault.
    const failed = receipts.filter(({ result }) => result === 'failed' || result === 'timed-out');
    if (failed.length === 0 || this.closed) return;
    const failing = new Set(failed.map(({ recipient }) => recipient));
    const others = this.dispatcher
      .recipients()
      .filter(
        (binding) =>
          binding.events.includes(AuditAlertEvents.TestFailed) &&
          !failing.has(binding.name) &&
          (binding.monitors === null || binding.monitors.has(event.monitor)),
      );
    await Promise.all(
      failed.map(({ recipient, reason, result, attempts }) => {
        const why = reason ?? result;
        this.logger.error(testAlertRecipientFailed(recipient, why, attempts, event.testId));
        const failure: AlertTestFailedEvent = {
          type: AuditAlertEvents.TestFailed,
          testId: event.testId,
          monitor: event.monitor,
          serviceName: event.serviceName,
          recipient,
          reason: why,
          attempts,
          sentAt: event.sentAt,
        };
        return this.dispatcher.sendTest(failure, others);
      }),
    );
  }
}
