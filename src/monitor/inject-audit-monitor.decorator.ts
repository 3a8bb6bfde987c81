import { Inject } from '@nestjs/common';

const REQUESTED_MONITOR_NAMES = Symbol.for('nestjs-audit-alert:requested-monitor-names');

/**
 * Names asked for by `@InjectAuditMonitor()`; the module provides a token for each.
 * Kept on `globalThis` so that a name asked for through one build (ESM or CommonJS)
 * is provided by a module registered through the other.
 */
export const requestedMonitorNames: Set<string> = ((globalThis as Record<symbol, Set<string> | undefined>)[
  REQUESTED_MONITOR_NAMES
] ??= new Set<string>());

const TOKEN_PREFIX = 'nestjs-audit-alert:monitor:';

/** Injection token of the monitor named `name`. */
export const getAuditMonitorToken = (name: string): string => TOKEN_PREFIX + name;

/** The monitor name of a token made by {@link getAuditMonitorToken}, else `null`. */
export const monitorNameOfToken = (token: unknown): string | null =>
  typeof token === 'string' && token.startsWith(TOKEN_PREFIX) ? token.slice(TOKEN_PREFIX.length) : null;

/**
 * Injects the monitor named `name` (see the `monitors` option). The module must
 * be registered after the class using it is loaded, as Nest modules usually are;
 * otherwise, inject `AuditMonitorRegistry` and call `get(name)`.
 */
export const InjectAuditMonitor = (name: string): PropertyDecorator & ParameterDecorator => {
  requestedMonitorNames.add(name);
  return Inject(getAuditMonitorToken(name));
};
