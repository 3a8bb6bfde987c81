import { AuditStorageMonitor, type AuditAlertEvent, type AuditAlertModuleOptions } from '../../src/index.js';
import { resolveAuditAlertOptions } from '../../src/audit-alert.options.js';
import type { AuditAlertDispatcher } from '../../src/dispatch/audit-alert.dispatcher.js';
import { ManualClock } from './manual-clock.js';

/** A monitor outside Nest, with a manual clock, whose events land in `events`. */
export function monitorHarness(options: AuditAlertModuleOptions = {}) {
  const clock = new ManualClock();
  const events: AuditAlertEvent[] = [];
  const dispatcher = { dispatch: (event: AuditAlertEvent) => events.push(event) } as unknown as AuditAlertDispatcher;
  const monitor = new AuditStorageMonitor(resolveAuditAlertOptions(options).monitors[0]!, clock, dispatcher);
  return { clock, events, monitor };
}
