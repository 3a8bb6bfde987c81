import { fail, readObject, rejectUnknownKeys } from '../options/option-readers.util.js';
import type { AuditAlertPagerDutyWebhookOptions } from './pagerduty-webhook-options.interface.js';

/** Where the route listens when no `path` is given. */
const DEFAULT_PAGERDUTY_WEBHOOK_PATH = 'audit-alert/pagerduty';

/** Most secrets taken: a rotation needs two. */
const MAX_SECRETS = 10;

/** The validated options of the PagerDuty webhook. */
export interface ResolvedPagerDutyWebhookOptions {
  readonly secrets: readonly string[];
}

/**
 * Checks the route's path.
 * @throws AuditAlertConfigError naming `pagerDutyWebhook.path`.
 */
export function resolvePagerDutyWebhookPath(path: unknown): string {
  if (path === undefined) return DEFAULT_PAGERDUTY_WEBHOOK_PATH;
  if (typeof path !== 'string' || path.trim() === '' || path.length > 200) {
    fail('pagerDutyWebhook.path', path, 'a non-empty route path of at most 200 characters');
  }
  return path;
}

/**
 * Validates the webhook's options. A secret is never shown in the error: only where it is.
 * @throws AuditAlertConfigError naming the first invalid field, such as `pagerDutyWebhook.secrets`.
 */
export function resolvePagerDutyWebhookOptions(raw: unknown): ResolvedPagerDutyWebhookOptions {
  const options = readObject(raw, 'pagerDutyWebhook') as Partial<AuditAlertPagerDutyWebhookOptions> &
    Record<string, unknown>;
  rejectUnknownKeys(options, ['secrets', 'path'], 'pagerDutyWebhook.');
  const { secrets } = options;
  if (!Array.isArray(secrets) || secrets.length === 0 || secrets.length > MAX_SECRETS) {
    fail('pagerDutyWebhook.secrets', secrets, `an array of 1 to ${MAX_SECRETS} signing secrets`);
  }
  const bad = secrets.findIndex((secret) => typeof secret !== 'string' || secret.length < 8);
  if (bad >= 0) {
    fail(`pagerDutyWebhook.secrets[${bad}]`, '(hidden)', 'a signing secret of at least 8 characters');
  }
  return { secrets: [...secrets] };
}
