import { describe, expect, it } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  AuditAlertConfigError,
  AuditAlertModule,
  AuditStorageMonitor,
  type AuditAlertModuleOptions,
  type AuditAlertOptionsFactory,
} from '../../src/index.js';

/** [what is wrong, options, option named in the error, text of what is allowed] */
const BAD_SHAPES: [string, Record<string, unknown>, string, string][] = [
  ['a negative threshold', { thresholdMs: -1 }, 'thresholdMs', 'from 0'],
  ['a NaN threshold', { thresholdMs: Number.NaN }, 'thresholdMs', 'finite number'],
  ['an infinite threshold', { thresholdMs: Number.POSITIVE_INFINITY }, 'thresholdMs', 'finite number'],
  ['a threshold past what a timer can wait', { thresholdMs: 2 ** 31 }, 'thresholdMs', '2147483647'],
  ['a threshold given as a string', { thresholdMs: '30s' }, 'thresholdMs', 'finite number'],
  ['a negative cooldown', { cooldownMs: -5 }, 'cooldownMs', 'from 1000'],
  ['a cooldown below the minimum', { cooldownMs: 0 }, 'cooldownMs', 'from 1000'],
  ['a cooldown given as a bigint', { cooldownMs: 10n }, 'cooldownMs', 'finite number'],
  ['a null cooldown', { cooldownMs: null }, 'cooldownMs', 'finite number'],
  ['a zero hook timeout', { hookTimeoutMs: 0 }, 'hookTimeoutMs', 'from 1'],
  ['a NaN shutdown timeout', { shutdownTimeoutMs: Number.NaN }, 'shutdownTimeoutMs', 'finite number'],
  ['enabled as a string', { enabled: 'yes' }, 'enabled', 'true or false'],
  ['notifyRecovery as a number', { notifyRecovery: 1 }, 'notifyRecovery', 'true or false'],
  ['an empty service name', { serviceName: '' }, 'serviceName', 'non-empty string'],
  ['a blank service name', { serviceName: '   ' }, 'serviceName', 'non-empty string'],
  ['a service name that is not a string', { serviceName: 42 }, 'serviceName', 'non-empty string'],
  ['an unknown key', { threshold: 1000 }, 'threshold', 'thresholdMs'],
  ['a misspelt key', { coolDownMs: 1000 }, 'coolDownMs', 'cooldownMs'],
];

@Injectable()
class Probe {
  constructor(readonly monitor: AuditStorageMonitor) {}
}

async function boot(imports: unknown[]) {
  const moduleRef = await Test.createTestingModule({ imports: imports as never[], providers: [Probe] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

async function bootError(imports: unknown[]): Promise<unknown> {
  try {
    const app = await boot(imports);
    await app.close();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('option validation at bootstrap', () => {
  describe.each([
    ['forRoot', (options: Record<string, unknown>) => AuditAlertModule.forRoot(options as AuditAlertModuleOptions)],
    [
      'forRootAsync',
      (options: Record<string, unknown>) =>
        AuditAlertModule.forRootAsync({ useFactory: async () => options as AuditAlertModuleOptions }),
    ],
  ])('%s', (_, register) => {
    it.each(BAD_SHAPES)('stops the bootstrap on %s', async (_what, options, option, allowed) => {
      const error = await bootError([register(options)]);
      expect(error).toBeInstanceOf(AuditAlertConfigError);
      const configError = error as AuditAlertConfigError;
      expect(configError.option).toBe(option);
      expect(configError.message).toContain(`"${option}"`);
      expect(configError.message).toContain(allowed);
    });
  });

  it('names the value received', async () => {
    const error = (await bootError([AuditAlertModule.forRoot({ thresholdMs: -250 })])) as Error;
    expect(error.message).toBe(
      'Invalid audit alert option "thresholdMs": received -250; expected a finite number of milliseconds from 0 to 2147483647.',
    );
  });

  it('rejects options that are not an object', () => {
    expect(() => AuditAlertModule.forRoot('fast' as never)).toThrow(AuditAlertConfigError);
    expect(() => AuditAlertModule.forRoot([] as never)).toThrow(/expected an object/);
  });

  it('rejects a factory that resolves to something other than an object', async () => {
    const error = await bootError([AuditAlertModule.forRootAsync({ useFactory: () => 42 as never })]);
    expect(error).toBeInstanceOf(AuditAlertConfigError);
  });

  it('rejects an isGlobal that is not a boolean', () => {
    expect(() => AuditAlertModule.forRoot({ isGlobal: 'yes' } as never)).toThrow(/"isGlobal"/);
  });

  it('boots with no options at all and applies the defaults', async () => {
    const app = await boot([AuditAlertModule.forRoot()]);
    expect(app.get(Probe).monitor.getStatus().state).toBe('healthy');
    await app.close();
  });

  it('takes the service name from OTEL_SERVICE_NAME by default', async () => {
    process.env.OTEL_SERVICE_NAME = 'from-env';
    try {
      const { resolveAuditAlertOptions } = await import('../../src/audit-alert.options.js');
      expect(resolveAuditAlertOptions({}).serviceName).toBe('from-env');
      expect(resolveAuditAlertOptions({ serviceName: 'explicit' }).serviceName).toBe('explicit');
    } finally {
      delete process.env.OTEL_SERVICE_NAME;
    }
  });

  it('accepts useClass and useExisting factories, resolved with injected providers', async () => {
    @Injectable()
    class Settings implements AuditAlertOptionsFactory {
      createAuditAlertOptions(): AuditAlertModuleOptions {
        return { serviceName: 'from-class', thresholdMs: 0 };
      }
    }
    @Module({ providers: [Settings], exports: [Settings] })
    class SettingsModule {}

    const viaClass = await boot([AuditAlertModule.forRootAsync({ useClass: Settings })]);
    viaClass.get(Probe).monitor.recordFailure('x');
    expect(viaClass.get(Probe).monitor.getStatus().state).toBe('alerting');
    await viaClass.close();

    const viaExisting = await boot([
      AuditAlertModule.forRootAsync({ imports: [SettingsModule], useExisting: Settings }),
    ]);
    viaExisting.get(Probe).monitor.recordFailure('x');
    expect(viaExisting.get(Probe).monitor.getStatus().state).toBe('alerting');
    await viaExisting.close();

    const viaInject = await boot([
      AuditAlertModule.forRootAsync({
        imports: [SettingsModule],
        inject: [Settings],
        useFactory: (settings: Settings) => settings.createAuditAlertOptions(),
      }),
    ]);
    expect(viaInject.get(Probe).monitor.getStatus().monitor).toBe('default');
    await viaInject.close();
  });

  it('keeps the monitor private to the importing module with isGlobal false', async () => {
    @Module({ providers: [Probe] })
    class ElsewhereModule {}
    const error = await bootError([AuditAlertModule.forRoot({ isGlobal: false }), ElsewhereModule]);
    expect(String(error)).toMatch(/AuditStorageMonitor/);
  });
});
