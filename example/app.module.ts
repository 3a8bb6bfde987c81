import { type DynamicModule, Module } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { AuditAlertModule } from 'nestjs-audit-alert';
import { AUDIT_DATABASE_URL, AuditService } from './audit.service.js';
import { AuditTraffic } from './audit-traffic.service.js';
import { GapTrail } from './gap-trail.js';
import { PagerHook } from './pager.hook.js';

/** How the demo application is wired. */
export interface AppOptions {
  /** Connection string of the Postgres the audit trail is written to. */
  readonly databaseUrl: string;
  /** Passed to `AuditAlertModule.forRoot()`; the module's default when absent. */
  readonly thresholdMs?: number;
  /** Passed to `AuditAlertModule.forRoot()`; the module's default when absent. */
  readonly cooldownMs?: number;
  /** Where the built-in webhook channel POSTs every event; no channel when absent. */
  readonly webhookUrl?: string;
}

/** The demo application: an audit service, its traffic, and a hook paging on audit storage outages. */
@Module({})
export class AppModule {
  /** Builds the module for one database and one set of alert timings. */
  static register({ databaseUrl, thresholdMs, cooldownMs, webhookUrl }: AppOptions): DynamicModule {
    const gaps = new GapTrail(databaseUrl);
    return {
      module: AppModule,
      imports: [
        EventEmitterModule.forRoot(),
        AuditAlertModule.forRoot({
          serviceName: 'audit-alert-demo',
          ...(thresholdMs === undefined ? {} : { thresholdMs }),
          ...(cooldownMs === undefined ? {} : { cooldownMs }),
          ...(webhookUrl === undefined ? {} : { channels: [{ type: 'webhook', url: webhookUrl }] }),
          // "Audit logging was interrupted from … to …", in the audit database, once per alerted outage.
          gapRecord: gaps.record,
        }),
      ],
      providers: [
        { provide: AUDIT_DATABASE_URL, useValue: databaseUrl },
        { provide: GapTrail, useValue: gaps },
        AuditService,
        AuditTraffic,
        PagerHook,
      ],
    };
  }
}
