import { AuditStorageMonitor, type AuditAlertEvent, type AuditAlertModuleOptions } from '../../src/index.js';
import { resolveAuditAlertOptions } from '../../src/audit-alert.options.js';
import type { AuditAlertDispatcher } from '../../src/dispatch/audit-alert.dispatcher.js';
import type { OutageSnapshot } from '../../src/tracker/outage-snapshot.js';
import { LocalAlertSink } from '../../src/sink/local-alert.sink.js';
import { ManualClock } from './manual-clock.js';

/**
 * A monitor outside Nest, with a manual clock, whose events land in `events`.
 * `restart(downMs)` stands for a process killed and started again `downMs`
 * later with a state store: the open outage goes through JSON to a new monitor.
 */
export function monitorHarness(options: AuditAlertModuleOptions = {}) {
  const clock = new ManualClock();
  const events: AuditAlertEvent[] = [];
  const dispatcher = {
    dispatch: (event: AuditAlertEvent) => {
      events.push(event);
      return Promise.resolve([]);
    },
  } as unknown as AuditAlertDispatcher;
  const resolved = resolveAuditAlertOptions(options).monitors[0]!;
  const harness = {
    clock,
    events,
    monitor: new AuditStorageMonitor(resolved, clock, new LocalAlertSink(resolved.name, dispatcher, null, null)),
    restart(downMs: number): AuditStorageMonitor {
      const tracker = (harness.monitor as unknown as { tracker: { snapshot(): OutageSnapshot | null } }).tracker;
      const saved = JSON.stringify(tracker.snapshot());
      harness.monitor.close();
      // No process runs meanwhile: nothing fires.
      clock.stall(downMs);
      harness.monitor = new AuditStorageMonitor(
        resolved,
        clock,
        new LocalAlertSink(resolved.name, dispatcher, null, null),
      );
      const snapshot = JSON.parse(saved) as OutageSnapshot | null;
      if (snapshot !== null) harness.monitor.resume(snapshot);
      return harness.monitor;
    },
  };
  return harness;
}
