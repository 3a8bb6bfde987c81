import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { finalize, type Observable } from 'rxjs';
import type { EndAuditStorageTrial } from './audit-storage-trial.gate.js';

/** The requests let through as trials, until the interceptor takes them. */
const trials = new WeakMap<object, EndAuditStorageTrial>();

/**
 * What identifies one request to both its guards and its interceptors: over
 * HTTP each gets an array of its own around the same request object; in the
 * other contexts (RPC, WebSockets, GraphQL) Nest hands both the same array.
 */
function requestOf(context: ExecutionContext): object {
  return context.getType() === 'http' ? context.switchToHttp().getRequest<object>() : context.getArgs();
}

/** @internal Marks the request of `context` as a trial, ended by {@link AuditStorageTrialInterceptor} once it finishes. */
export function letThroughAsTrial(context: ExecutionContext, end: EndAuditStorageTrial): void {
  trials.set(requestOf(context), end);
}

/** @internal Whether the request of `context` is a trial already (the guard runs twice when also registered globally). */
export function isTrial(context: ExecutionContext): boolean {
  return trials.has(requestOf(context));
}

/**
 * Ends a trial (see {@link AuditStorageTrialGate}) when its request finishes,
 * whether the handler returned, threw or its stream ended; applied by
 * `@RequireAuditStorage()` beside the guard. A guard has no way to see the
 * request end; a trial that never gets here is ended by `trialTimeoutMs`.
 * @internal
 */
@Injectable()
export class AuditStorageTrialInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = requestOf(context);
    const end = trials.get(request);
    if (end === undefined) return next.handle();
    trials.delete(request);
    return next.handle().pipe(finalize(end));
  }
}
