import { AuditAlertHook, type AuditOutageEvent, type OnAuditAlert } from '../../../src/index.js';

/** A hook that keeps every outage event it receives, in order. */
@AuditAlertHook()
export class RecordingHook implements OnAuditAlert {
  readonly events: AuditOutageEvent[] = [];

  onAuditAlert(event: AuditOutageEvent): void {
    this.events.push(event);
  }
}
