import { AuditAlertConfigError } from '../errors/audit-alert-config.error.js';
import { TRACK_AUDIT_WRITE_METADATA } from '../audit-alert.constants.js';
import { AuditAlertLogger } from '../audit-alert.logger.js';
import { invalidOption, trackedCallUnlinked, trackedNonMethod } from '../audit-alert.messages.js';

/** What a decorated method reports to: the monitors of the application that created the instance. */
export interface TrackedWriteLink {
  /** The monitor named `name`, or the module's default monitor for `null`. */
  monitor(name: string | null): {
    recordFailure(error: unknown): void;
    recordSuccess(): void;
    track<T>(op: Promise<T>): Promise<T>;
  };
}

/**
 * Which application each decorated instance (or, for request-scoped and transient
 * providers, each class) belongs to; filled by the module at initialisation.
 * Kept on `globalThis` so the ESM and CommonJS builds of this package share it.
 */
export interface TrackedWriteLinks {
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

/**
 * Tracks every call of the decorated provider method with the audit storage
 * monitor, as `monitor.track()` does: a returned promise is awaited and its
 * outcome recorded (a pending write joins the hung-write watch); a returned
 * value counts as a success and a throw as a failure. The method's `this`,
 * arguments, return value (a value stays a value, a promise a promise) and
 * errors are unchanged, and metadata other decorators put on the method is kept.
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
    const tracked = function (this: unknown, ...args: unknown[]): unknown {
      const link = linkOf(this);
      if (link === undefined) {
        if (!warnedUnlinked.has(member)) {
          warnedUnlinked.add(member);
          logger.warn(trackedCallUnlinked(member));
        }
        return original.apply(this, args);
      }
      return trackCall(link.monitor(name), () => original.apply(this, args));
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

function trackCall(monitor: ReturnType<TrackedWriteLink['monitor']>, call: () => unknown): unknown {
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    monitor.recordFailure(error);
    throw error;
  }
  if (isThenable(result)) return monitor.track(result as Promise<unknown>);
  monitor.recordSuccess();
  return result;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
