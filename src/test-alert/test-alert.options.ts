import type { AuditAlertChannelType } from '../channels/channel-options.interface.js';
import { CHANNEL_TYPES } from '../channels/channels.options.js';
import { fail, readDuration, readObject, rejectUnknownKeys } from '../options/option-readers.util.js';
import type { AuditScheduledTestAlertOptions, AuditTestAlertOptions } from './audit-test-alert.interface.js';

/** The options of a test alert, checked. */
interface ResolvedTestAlertOptions {
  /** `null`: every recipient, the test carrying the default monitor's name. */
  readonly monitor: string | null;
  /** `null`: every channel and hook. */
  readonly channels: ReadonlySet<AuditAlertChannelType> | null;
}

const PATH = 'sendTestAlert(options)';

/**
 * Validates the options of `sendTestAlert()`.
 * @throws AuditAlertConfigError naming the first invalid field, such as `sendTestAlert(options).monitor`.
 */
export function resolveTestAlertOptions(raw: unknown, monitorNames: readonly string[]): ResolvedTestAlertOptions {
  const options = readObject(raw ?? {}, PATH) as AuditTestAlertOptions & Record<string, unknown>;
  rejectUnknownKeys(options, ['monitor', 'channels'], `${PATH}.`);
  const { monitor, channels } = options;
  if (monitor !== undefined && !monitorNames.includes(monitor)) {
    fail(`${PATH}.monitor`, monitor, `one of the monitors: ${monitorNames.join(', ')}`);
  }
  const validChannels =
    channels === undefined ||
    (Array.isArray(channels) && channels.every((type) => (CHANNEL_TYPES as readonly unknown[]).includes(type)));
  if (!validChannels) fail(`${PATH}.channels`, channels, `an array of channel types: ${CHANNEL_TYPES.join(', ')}`);
  return { monitor: monitor ?? null, channels: channels === undefined ? null : new Set(channels) };
}

/** The `testAlert` option, validated. */
export interface ResolvedScheduledTestAlert {
  readonly intervalMs: number;
}

/** Shortest `testAlert.intervalMs`: every round notifies every recipient (PagerDuty opens an incident each time). */
const MIN_TEST_ALERT_INTERVAL_MS = 60_000;

const INTERVAL_ALLOWED = `a finite number of milliseconds from ${MIN_TEST_ALERT_INTERVAL_MS} to 2147483647`;

/**
 * Validates the `testAlert` option; `null` (no scheduled test) when it is absent.
 * @throws AuditAlertConfigError naming the invalid field, such as `testAlert.intervalMs`.
 */
export function resolveScheduledTestAlert(raw: unknown): ResolvedScheduledTestAlert | null {
  if (raw === undefined) return null;
  const options = readObject(raw, 'testAlert');
  rejectUnknownKeys(options, ['intervalMs'] satisfies (keyof AuditScheduledTestAlertOptions)[], 'testAlert.');
  if (options.intervalMs === undefined) fail('testAlert.intervalMs', undefined, INTERVAL_ALLOWED);
  return {
    intervalMs: readDuration(options, 'intervalMs', 0, {
      min: MIN_TEST_ALERT_INTERVAL_MS,
      path: 'testAlert.intervalMs',
      allowed: INTERVAL_ALLOWED,
    }),
  };
}
