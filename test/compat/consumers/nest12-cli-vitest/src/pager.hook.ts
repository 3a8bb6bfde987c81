import { AuditAlertHook, type AuditAlertEvent, type OnAuditAlert } from 'nestjs-audit-alert';

@AuditAlertHook()
export class PagerHook implements OnAuditAlert {
  readonly events: AuditAlertEvent[] = [];

  onAuditAlert(event: AuditAlertEvent): void {
    this.events.push(event);
  }
}
