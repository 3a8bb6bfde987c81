import { Observable, type Observer, Subject, Subscriber, type Subscription } from 'rxjs';
import { AuditAlertLogger } from '../audit-alert.logger.js';
import { statusSubscriberFailed } from '../audit-alert.messages.js';
import type { AuditStorageStatus } from '../tracker/audit-storage-status.interface.js';
import { errorText } from '../common/error-text.util.js';

type Fault = (error: unknown) => void;

/**
 * An observable whose subscribers cannot hurt anyone: whatever a subscriber's
 * callback throws, and any error a pipeline of it ends in without an error
 * handler, is reported to `fault` instead of RxJS's default, which rethrows it
 * from a timer and so ends the process. Operators keep the isolation: `lift`
 * builds observables of this class too.
 */
class IsolatedObservable<T> extends Observable<T> {
  constructor(
    private readonly fault: Fault,
    subscribe?: (subscriber: Subscriber<T>) => void,
  ) {
    super(subscribe);
  }

  override lift<R>(operator: NonNullable<Observable<R>['operator']>): Observable<R> {
    const observable = new IsolatedObservable<R>(this.fault);
    observable.source = this;
    observable.operator = operator;
    return observable;
  }

  override subscribe(observerOrNext?: Partial<Observer<T>> | ((value: T) => void) | null): Subscription {
    // Operators subscribe to their source with a Subscriber of their own, which already routes errors downstream.
    if (observerOrNext instanceof Subscriber) return super.subscribe(observerOrNext);
    const observer = typeof observerOrNext === 'function' ? { next: observerOrNext } : (observerOrNext ?? {});
    const guard =
      <A extends unknown[]>(callback: ((...args: A) => void) | undefined) =>
      (...args: A): void => {
        try {
          callback?.apply(observer, args);
        } catch (error) {
          this.fault(error);
        }
      };
    return super.subscribe({
      next: guard(observer.next),
      error: observer.error ? guard(observer.error) : this.fault,
      complete: guard(observer.complete),
    });
  }
}

/**
 * Publishes a monitor's status changes on `status$`. A change is delivered on a
 * later turn of the event loop, never on the stack of the `recordFailure()` or
 * `recordSuccess()` that caused it, and a subscriber that throws is logged like
 * a faulty hook and harms neither the write path nor the other subscribers.
 */
export class AuditStatusPublisher {
  /** Emits each status handed to {@link publish}, in order. */
  readonly status$: Observable<AuditStorageStatus>;

  private readonly logger = new AuditAlertLogger();
  private readonly changes = new Subject<AuditStorageStatus>();

  constructor(monitor: string) {
    const fault: Fault = (error) => {
      try {
        this.logger.error(statusSubscriberFailed(monitor, errorText(error)));
      } catch {
        // A logger that throws must not bring back the crash this class prevents.
      }
    };
    this.status$ = new IsolatedObservable<AuditStorageStatus>(fault, (subscriber) =>
      this.changes.subscribe(subscriber),
    );
  }

  /**
   * Takes a snapshot now, when anyone subscribes, and delivers it on a later turn.
   * @param snapshot Called at once; what it derives lazily (the error text) is derived by the subscribers.
   */
  publish(snapshot: () => AuditStorageStatus): void {
    if (!this.changes.observed) return;
    const status = snapshot();
    setImmediate(() => this.changes.next(status));
  }

  /** Completes `status$` once the changes already published are delivered. */
  complete(): void {
    setImmediate(() => this.changes.complete());
  }
}
