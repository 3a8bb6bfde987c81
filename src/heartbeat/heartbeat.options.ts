import { readHeaders, readUrl } from '../channels/channel-fields.options.js';
import { fail, readDuration, readObject, rejectUnknownKeys } from '../options/option-readers.util.js';
import type { AuditAlertHeartbeatMethod, AuditAlertHeartbeatOptions } from './heartbeat-options.interface.js';

/** The `heartbeat` option with its defaults filled in. */
export interface ResolvedHeartbeatOptions {
  readonly url: string;
  readonly failUrl: string | null;
  readonly intervalMs: number;
  readonly method: AuditAlertHeartbeatMethod;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

const HEARTBEAT_KEYS = [
  'url',
  'intervalMs',
  'failUrl',
  'method',
  'headers',
  'timeoutMs',
] as const satisfies readonly (keyof AuditAlertHeartbeatOptions)[];

const METHODS = ['GET', 'HEAD', 'POST'] as const satisfies readonly AuditAlertHeartbeatMethod[];

/**
 * Validates the `heartbeat` option; `null` when it is absent.
 * @throws AuditAlertConfigError naming the first invalid field.
 */
export function resolveHeartbeatOptions(raw: unknown): ResolvedHeartbeatOptions | null {
  if (raw === undefined) return null;
  const path = 'heartbeat';
  const heartbeat = readObject(raw, path);
  rejectUnknownKeys(heartbeat, HEARTBEAT_KEYS, `${path}.`);
  const method = heartbeat.method ?? 'GET';
  if (!METHODS.includes(method as AuditAlertHeartbeatMethod)) {
    fail(`${path}.method`, method, `one of ${METHODS.map((m) => `'${m}'`).join(', ')}`);
  }
  return {
    url: readUrl(heartbeat, path),
    failUrl: heartbeat.failUrl === undefined ? null : readUrl(heartbeat, path, undefined, 'failUrl'),
    intervalMs: readDuration(heartbeat, 'intervalMs', 60_000, { min: 1, path: `${path}.intervalMs` }),
    method: method as AuditAlertHeartbeatMethod,
    headers: readHeaders(heartbeat, path),
    timeoutMs: readDuration(heartbeat, 'timeoutMs', 10_000, { min: 1, path: `${path}.timeoutMs` }),
  };
}
