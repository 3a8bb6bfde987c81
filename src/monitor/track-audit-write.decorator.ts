import { isObservable, Observable } from 'rxjs';
import { AuditAlertConfigError } from '../errors/audit-alert-config.error.js';
import { TRACK_AUDIT_WRITE_METADATA } from '../audit-alert.constants.js';
import { AuditAlertLogger } from '../audit-alert.logger.js';
import {
  invalidOption,
  trackedAsyncIterableUntracked,
  trackedCallUnlinked,
  trackedGenerator,
  trackedNonMethod,
} from '../audit-alert.messages.js';

/** What a decorated method reports to: the monitors of the application that created the instance. */
export interface TrackedWriteLink {
  /** The monitor named `name`, or the module's default monitor for `null`. */
  monitor(name: string | null): {
    recordFailure(error: unknown): void;
    recordSuccess(): void;
    track<T>(op: Promise<T>): Promise<T>;
    /** A write whose outcome comes later (an Observable's subscription); settle it once. */
    beginWrite(): { succeeded(): void; failed(error: unknown): void; abandoned(): void };
  };
}

/**
 * Which application each decorated instance (or, for request-scoped and transient
 * providers, each class) belongs to; filled by the module at initialisation.
 * Kept on `globalThis` so the ESM and CommonJS builds of this package share it.
 */
interface TrackedWriteLinks {
  readonly instances: WeakMap<object, TrackedWriteLink>;
  readonly classes: WeakMap<object, TrackedWriteLink>;
}

const LINKS = Symbol.for('nestjs-audit-alert:tracked-write-links');

export const trackedWriteLinks: TrackedWriteLinks = ((globalThis as Record<symbol, TrackedWriteLinks | undefined>)[
  LINKS
] ??= { instances: new WeakMap(), classes: new WeakMap() });

const logger = new AuditAlertLogger();
/** Members already warned about, so an unlinked method in a loop logs once. */
const warnedUnlinked = new Set<string>();
/** Members already warned about for returning an async iterable that is not an async generator. */
const warnedIterable = new Set<string>();

/** `function*` methods: their body runs only as the caller iterates, which no return value shows. */
const GeneratorFunction = Object.getPrototypeOf(function* () {}) as object;

/**
 * Tracks every call of the decorated provider method with the audit storage
 * monitor, as `monitor.track()` does: a returned promise (or thenable) is
 * awaited and its outcome recorded (a pending write joins the hung-write
 * watch); a returned Observable is tracked per subscription (its first value
 * or its completion is a success, its error a failure); an `async function*`
 * is tracked per iteration the same way; a returned value counts as a success
 * and a throw as a failure. The method's `this`, arguments, return value (a
 * value stays a value, a promise a promise, an Observable an Observable) and
 * errors are unchanged, and metadata other decorators put on the method is kept.
 * A `function*` method is refused as the class loads: its body runs only as
 * its caller iterates it.
 *
 * The monitor is that of the application whose `AuditAlertModule` created the
 * instance, so two applications in one process (two test modules, say) each
 * track their own writes.
 *
 * ```ts
 * @Injectable()
 * export class AuditService {
 *   @TrackAuditWrite()
 *   async write(record: AuditRecord): Promise<void> {
 *     await this.db.insert(record);
 *   }
 * }
 * ```
 *
 * @param monitor Name of the monitor to report to (see the `monitors` option).
 *   @default the module's default monitor
 * @throws AuditAlertConfigError at bootstrap when no monitor has that name.
 */
export function TrackAuditWrite(monitor?: string): MethodDecorator {
  if (monitor !== undefined && (typeof monitor !== 'string' || monitor === '')) {
    throw new AuditAlertConfigError(
      invalidOption('@TrackAuditWrite(monitor)', monitor, 'a monitor name, or nothing for the default monitor'),
      '@TrackAuditWrite',
    );
  }
  const name = monitor ?? null;
  return (target, key, descriptor) => {
    const original: unknown = descriptor.value;
    const member = `${typeof target === 'function' ? target.name : target.constructor.name}.${String(key)}`;
    if (typeof original !== 'function') throw new AuditAlertConfigError(trackedNonMethod(member), '@TrackAuditWrite');
    if (Object.getPrototypeOf(original) === GeneratorFunction) {
      throw new AuditAlertConfigError(trackedGenerator(member), '@TrackAuditWrite');
    }
    const tracked = function (this: unknown, ...args: unknown[]): unknown {
      const link = linkOf(this);
      if (link === undefined) {
        if (!warnedUnlinked.has(member)) {
          warnedUnlinked.add(member);
          logger.warn(trackedCallUnlinked(member));
        }
        return original.apply(this, args);
      }
      return trackCall(link.monitor(name), () => original.apply(this, args), member);
    };
    Object.defineProperty(tracked, 'name', { value: original.name });
    Object.defineProperty(tracked, 'length', { value: original.length });
    // Decorators applied before this one (written below it) keep their metadata on the method.
    for (const metadataKey of Reflect.getOwnMetadataKeys(original)) {
      Reflect.defineMetadata(metadataKey, Reflect.getOwnMetadata(metadataKey, original), tracked);
    }
    Reflect.defineMetadata(TRACK_AUDIT_WRITE_METADATA, name, tracked);
    descriptor.value = tracked as typeof descriptor.value;
    return descriptor;
  };
}

function linkOf(self: unknown): TrackedWriteLink | undefined {
  if (self === null || (typeof self !== 'object' && typeof self !== 'function')) return undefined;
  return trackedWriteLinks.instances.get(self) ?? trackedWriteLinks.classes.get(self.constructor);
}

type LinkedMonitor = ReturnType<TrackedWriteLink['monitor']>;

function trackCall(monitor: LinkedMonitor, call: () => unknown, member: string): unknown {
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    monitor.recordFailure(error);
    throw error;
  }
  // An Observable first: some are thenables too, and subscribing is what runs the write.
  if (isObservable(result)) return trackObservable(monitor, result);
  if (isThenable(result)) return monitor.track(result as Promise<unknown>);
  if (isAsyncGenerator(result)) return trackIteration(monitor, result);
  if (isAsyncIterable(result)) {
    // A stream or a custom iterable: its type is kept, and its outcome cannot be seen from here.
    if (!warnedIterable.has(member)) {
      warnedIterable.add(member);
      logger.warn(trackedAsyncIterableUntracked(member));
    }
    return result;
  }
  monitor.recordSuccess();
  return result;
}

/**
 * The same Observable to its subscriber, each subscription one write: its
 * first value or its completion is a success, its error a failure, and an
 * unsubscription before either leaves the hang watch with nothing recorded.
 */
function trackObservable(monitor: LinkedMonitor, source: Observable<unknown>): Observable<unknown> {
  return new Observable<unknown>((subscriber) => {
    const write = monitor.beginWrite();
    let open = true;
    const settle = (outcome: () => void): void => {
      if (!open) return;
      open = false;
      outcome();
    };
    try {
      const subscription = source.subscribe({
        next: (value) => {
          settle(write.succeeded);
          subscriber.next(value);
        },
        error: (error: unknown) => {
          settle(() => write.failed(error));
          subscriber.error(error);
        },
        complete: () => {
          settle(write.succeeded);
          subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        settle(write.abandoned);
      };
    } catch (error) {
      settle(() => write.failed(error));
      throw error;
    }
  });
}

/**
 * An async generator of the same values, each iteration one write, as for an
 * Observable: the first result (a value, or the end) is a success, a throw
 * before it a failure, a `return()` before it records nothing.
 */
async function* trackIteration(monitor: LinkedMonitor, source: AsyncGenerator<unknown, unknown, unknown>) {
  const write = monitor.beginWrite();
  let open = true;
  let done = false;
  try {
    let sent: unknown;
    for (;;) {
      const result = await source.next(sent);
      if (open) {
        open = false;
        write.succeeded();
      }
      if (result.done === true) {
        done = true;
        return result.value;
      }
      sent = yield result.value;
    }
  } catch (error) {
    if (open) {
      open = false;
      write.failed(error);
    }
    done = true;
    throw error;
  } finally {
    if (open) write.abandoned();
    if (!done) await source.return(undefined);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  );
}

function isAsyncGenerator(value: unknown): value is AsyncGenerator<unknown, unknown, unknown> {
  return Object.prototype.toString.call(value) === '[object AsyncGenerator]';
}
