import type { HookBinding } from '../hooks/hook-binding.interface.js';
import type { AuditTestAlertResult } from './audit-test-alert.interface.js';

/**
 * One test alert on its way: the recipients chosen for it, and their results
 * as they come in. {@link done} resolves once every recipient has one.
 */
export class TestAlertRun {
  /** Every result, in the order of {@link recipients}, once each has one. */
  readonly done: Promise<AuditTestAlertResult[]>;

  private readonly results = new Map<HookBinding, AuditTestAlertResult>();
  private finish!: (results: AuditTestAlertResult[]) => void;

  constructor(readonly recipients: ReadonlySet<HookBinding>) {
    this.done = new Promise((resolve) => {
      this.finish = resolve;
    });
    this.settleIfComplete();
  }

  /** Records how the test fared with `binding`; a second result for it is ignored. */
  report(binding: HookBinding, result: Omit<AuditTestAlertResult, 'recipient'>): void {
    if (!this.recipients.has(binding) || this.results.has(binding)) return;
    this.results.set(binding, { recipient: binding.name, ...result });
    this.settleIfComplete();
  }

  /** Ends the run: every recipient without a result is reported undelivered, for `reason`. */
  abandon(reason: string): void {
    for (const binding of this.recipients) this.report(binding, { delivered: false, attempts: 0, error: reason });
  }

  private settleIfComplete(): void {
    if (this.results.size < this.recipients.size) return;
    this.finish([...this.recipients].map((binding) => this.results.get(binding)!));
  }
}
