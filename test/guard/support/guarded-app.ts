import { type INestApplication, Module, type Provider, type Type } from '@nestjs/common';
import { APP_GUARD, ExternalContextCreator } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import {
  AUDIT_ALERT_CLOCK,
  AuditAlertModule,
  type AuditAlertModuleOptions,
  AuditMonitorRegistry,
  AuditStorageGuard,
} from '../../../src/index.js';
import { ManualClock } from '../../support/manual-clock.js';

/** What a test sees of one answer of the application. */
export interface Answer {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly body: unknown;
}

/** An application listening on 127.0.0.1, on a manual clock. */
export interface GuardedApp {
  readonly app: INestApplication;
  readonly clock: ManualClock;
  readonly registry: AuditMonitorRegistry;
  request(method: 'GET' | 'POST', path: string): Promise<Answer>;
}

/** Starts `controllers` over real HTTP (Express) with the module's `options`, on a manual clock. */
export async function startGuardedApp({
  options,
  controllers,
  providers = [],
  imports = [],
  globalGuard = false,
}: {
  options: AuditAlertModuleOptions;
  controllers: Type<unknown>[];
  providers?: Provider[];
  imports?: Type<unknown>[];
  /** Also registers the guard as `APP_GUARD`. */
  globalGuard?: boolean;
}): Promise<GuardedApp> {
  @Module({
    imports: [AuditAlertModule.forRoot(options), ...imports],
    controllers,
    providers: globalGuard ? [...providers, { provide: APP_GUARD, useClass: AuditStorageGuard }] : providers,
  })
  class GuardedAppModule {}
  const clock = new ManualClock();
  const moduleRef = await Test.createTestingModule({ imports: [GuardedAppModule] })
    .overrideProvider(AUDIT_ALERT_CLOCK)
    .useValue(clock)
    .compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  const base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return {
    app,
    clock,
    registry: app.get(AuditMonitorRegistry),
    async request(method, path) {
      const response = await fetch(`${base}${path}`, { method });
      const text = await response.text();
      return {
        status: response.status,
        retryAfter: response.headers.get('retry-after'),
        body: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text,
      };
    },
  };
}

/**
 * Starts an application context of `handlers` alone, on a manual clock, and
 * wraps `handlers.transfer` the way Nest runs microservice and WebSocket
 * handlers (`ExternalContextCreator`, context type `rpc`), guards included.
 */
export async function startRpcHandler<T extends { transfer(): unknown }>(
  handlers: Type<T>,
): Promise<{ app: INestApplication; clock: ManualClock; handlers: T; transfer: () => Promise<unknown> }> {
  const clock = new ManualClock();
  const moduleRef = await Test.createTestingModule({
    imports: [AuditAlertModule.forRoot({ thresholdMs: 0 })],
    providers: [handlers],
  })
    .overrideProvider(AUDIT_ALERT_CLOCK)
    .useValue(clock)
    .compile();
  const app = await moduleRef.createNestApplication({ logger: false }).init();
  const instance = app.get(handlers);
  const transfer = app
    .get(ExternalContextCreator)
    .create(
      instance,
      instance.transfer,
      'transfer',
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      'rpc',
    ) as () => Promise<unknown>;
  return { app, clock, handlers: instance, transfer };
}
