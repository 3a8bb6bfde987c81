import { inspect } from 'node:util';

/** Renders a received value for an error message without ever throwing. */
export function describeReceived(value: unknown): string {
  try {
    return inspect(value, { depth: 1, breakLength: Infinity, maxStringLength: 80, maxArrayLength: 5 });
  } catch {
    return Object.prototype.toString.call(value);
  }
}

export const invalidOption = (path: string, value: unknown, allowed: string): string =>
  `Invalid audit alert option "${path}": received ${describeReceived(value)}; expected ${allowed}.`;

export const unknownOption = (path: string, known: readonly string[]): string =>
  `Unknown audit alert option "${path}"; the options are: ${known.join(', ')}.`;

export const hookWithoutMethod = (className: string): string =>
  `${className} is decorated with @AuditAlertHook() but has no onAuditAlert(event) method; implement OnAuditAlert.`;

export const hookFailed = (hook: string, type: string, error: string): string =>
  `Hook ${hook} failed on ${type}: ${error}`;

export const hookTimedOut = (hook: string, type: string, timeoutMs: number): string =>
  `Hook ${hook} did not finish ${type} within ${timeoutMs} ms; abandoned.`;

export const shutdownTimedOut = (pending: number, timeoutMs: number): string =>
  `${pending} alert deliveries still in flight after ${timeoutMs} ms; shutting down without them.`;

export const alertRaised = (type: string, monitor: string, outageId: string): string =>
  `${type} (monitor "${monitor}", outage ${outageId})`;
