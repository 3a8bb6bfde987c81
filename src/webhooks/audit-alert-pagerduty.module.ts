import { type DynamicModule, Module } from '@nestjs/common';
import type {
  AuditAlertPagerDutyModuleAsyncOptions,
  AuditAlertPagerDutyModuleOptions,
  AuditAlertPagerDutyWebhookOptions,
} from './pagerduty-webhook-options.interface.js';
import { resolvePagerDutyWebhookOptions, resolvePagerDutyWebhookPath } from './pagerduty-webhook.options.js';
import { pagerDutyWebhookController } from './pagerduty-webhook.controller.js';
import { AUDIT_ALERT_PAGERDUTY_WEBHOOK_OPTIONS, PagerDutyWebhookReceiver } from './pagerduty-webhook.receiver.js';

/**
 * An opt-in route that takes PagerDuty V3 webhooks (`incident.acknowledged`,
 * `incident.resolved`, `incident.annotated`, and `incident.triggered` to learn
 * the incidents' ids), verifies their `X-PagerDuty-Signature`, and
 * acknowledges or annotates the outage each incident is about. Import it
 * beside `AuditAlertModule` (global, as by default), and create the
 * application with `rawBody: true`:
 *
 * ```ts
 * AuditAlertPagerDutyModule.register({ secrets: [process.env.PAGERDUTY_WEBHOOK_SECRET!] })
 * ```
 */
@Module({})
export class AuditAlertPagerDutyModule {
  /**
   * The route at `options.path` (`audit-alert/pagerduty` by default).
   * @throws AuditAlertConfigError when an option is invalid (no secret…).
   */
  static register(options: AuditAlertPagerDutyModuleOptions): DynamicModule {
    const path = resolvePagerDutyWebhookPath((options as { path?: unknown } | null)?.path);
    const resolved = resolvePagerDutyWebhookOptions(options);
    return AuditAlertPagerDutyModule.build(path, [], {
      provide: AUDIT_ALERT_PAGERDUTY_WEBHOOK_OPTIONS,
      useValue: resolved,
    });
  }

  /** The same, with the secrets from a factory; the path is given here, as routes are fixed when declared. */
  static registerAsync(options: AuditAlertPagerDutyModuleAsyncOptions): DynamicModule {
    const path = resolvePagerDutyWebhookPath(options.path);
    return AuditAlertPagerDutyModule.build(path, options.imports ?? [], {
      provide: AUDIT_ALERT_PAGERDUTY_WEBHOOK_OPTIONS,
      useFactory: async (...args: never[]) =>
        resolvePagerDutyWebhookOptions((await options.useFactory(...args)) as AuditAlertPagerDutyWebhookOptions),
      inject: options.inject ?? [],
    });
  }

  private static build(
    path: string,
    imports: NonNullable<DynamicModule['imports']>,
    settings: NonNullable<DynamicModule['providers']>[number],
  ): DynamicModule {
    return {
      module: AuditAlertPagerDutyModule,
      imports,
      controllers: [pagerDutyWebhookController(path)],
      providers: [settings, PagerDutyWebhookReceiver],
    };
  }
}
