import { applyDecorators, SetMetadata, UseGuards, UseInterceptors } from '@nestjs/common';
import { fail, readBoolean, readDuration, readObject, rejectUnknownKeys } from '../options/option-readers.util.js';
import { AUDIT_STORAGE_REQUIREMENT } from '../audit-alert.constants.js';
import { AuditStorageGuard } from './audit-storage.guard.js';
import { AuditStorageTrialInterceptor } from './audit-storage-trial.interceptor.js';
import type {
  AuditStorageBlockingState,
  AuditStorageRequirement,
  RequireAuditStorageOptions,
} from './require-audit-storage-options.interface.js';

const BLOCKING_STATES: readonly AuditStorageBlockingState[] = ['failing', 'degraded', 'alerting', 'recovering'];

function resolveRequirement(raw: unknown): AuditStorageRequirement {
  const path = '@RequireAuditStorage()';
  const options = readObject(raw ?? {}, path);
  rejectUnknownKeys(
    options,
    ['monitor', 'blockWhen', 'retryAfterSeconds', 'trialTimeoutMs', 'allowWhileSpooling'],
    `${path}.`,
  );
  const { monitor, blockWhen = ['alerting'], retryAfterSeconds = 30 } = options;
  if (monitor !== undefined && (typeof monitor !== 'string' || monitor === '')) {
    fail(`${path}.monitor`, monitor, 'the name of a monitor');
  }
  const states = Array.isArray(blockWhen) ? blockWhen : [];
  if (states.length === 0 || !states.every((s) => BLOCKING_STATES.includes(s as AuditStorageBlockingState))) {
    fail(`${path}.blockWhen`, blockWhen, `a non-empty array of ${BLOCKING_STATES.map((s) => `'${s}'`).join(', ')}`);
  }
  if (typeof retryAfterSeconds !== 'number' || !Number.isInteger(retryAfterSeconds) || retryAfterSeconds < 0) {
    fail(`${path}.retryAfterSeconds`, retryAfterSeconds, 'a whole number of seconds from 0');
  }
  return {
    monitor: (monitor as string | undefined) ?? null,
    blockWhen: new Set(states as AuditStorageBlockingState[]),
    retryAfterSeconds,
    trialTimeoutMs: readDuration(options, 'trialTimeoutMs', 10_000, { min: 1, path: `${path}.trialTimeoutMs` }),
    allowWhileSpooling: readBoolean(options, 'allowWhileSpooling', true, `${path}.allowWhileSpooling`),
  };
}

/**
 * Fails a controller or a handler closed while its audit storage is down
 * (NIST SP 800-53 AU-5(4)): the request is refused with `503 Service
 * Unavailable` and `Retry-After` instead of running without an audit trail;
 * once `Retry-After` has passed, one request at a time is let through to find
 * out whether the storage is back. Applies {@link AuditStorageGuard} and the
 * interceptor that sees its trials end itself; nothing else to register.
 *
 * ```ts
 * @Post('transfers')
 * @RequireAuditStorage({ blockWhen: ['failing', 'alerting'] })
 * transfer(@Body() body: TransferDto) { … }
 * ```
 * @throws AuditAlertConfigError when an option is invalid, as the class loads.
 */
export function RequireAuditStorage(options: RequireAuditStorageOptions = {}): ClassDecorator & MethodDecorator {
  return applyDecorators(
    SetMetadata(AUDIT_STORAGE_REQUIREMENT, resolveRequirement(options)),
    UseGuards(AuditStorageGuard),
    UseInterceptors(AuditStorageTrialInterceptor),
  );
}
