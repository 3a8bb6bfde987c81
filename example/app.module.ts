import { type DynamicModule, Module } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { AuditAlertModule } from 'nestjs-audit-alert';
import { AUDIT_DATABASE_URL, AuditService } from './audit.service.js';
import { AuditTraffic } from './audit-traffic.service.js';
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
    return {
      module: AppModule,
      imports: [
        EventEmitterModule.forRoot(),
        AuditAlertModule.forRoot({
          serviceName: 'audit-alert-demo',
          ...(thresholdMs === undefined ? {} : { thresholdMs }),
          ...(cooldownMs === undefined ? {} : { cooldownMs }),
          ...(webhookUrl === undefined ? {} : { channels: [{ type: 'webhook', url: webhookUrl }] }),
        }),
      ],
      providers: [{ provide: AUDIT_DATABASE_URL, useValue: databaseUrl }, AuditService, AuditTraffic, PagerHook],
    };
  }
}
