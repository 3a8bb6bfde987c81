import type { AuditAlertChannelType } from '../channels/channel-options.interface.js';
import { CHANNEL_TYPES } from '../channels/channels.options.js';
import { fail, readObject, rejectUnknownKeys } from '../options/option-readers.util.js';
import type { AuditTestAlertOptions } from './audit-test-alert.interface.js';

/** The options of a test alert, checked. */
export interface ResolvedTestAlertOptions {
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
