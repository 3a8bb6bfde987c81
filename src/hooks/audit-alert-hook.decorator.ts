import { SetMetadata } from '@nestjs/common';
import { AUDIT_ALERT_HOOK_METADATA } from '../audit-alert.constants.js';
import type { AuditAlertHookOptions } from './audit-alert-hook-options.interface.js';

/**
 * Marks a provider as an audit alert hook: its `onAuditAlert(event)` (see
 * `OnAuditAlert`) is called for every alert, in whichever module it is provided.
 * Combine with `@Injectable({ scope })` for a request-scoped or transient hook,
 * which then gets a fresh instance per alert.
 */
export const AuditAlertHook = (options: AuditAlertHookOptions = {}): ClassDecorator =>
  SetMetadata(AUDIT_ALERT_HOOK_METADATA, options);
