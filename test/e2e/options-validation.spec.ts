import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { resolveAuditAlertOptions } from '../../src/audit-alert.options.js';
import {
  AuditAlertConfigError,
  AuditAlertModule,
  AuditStorageMonitor,
  type AuditAlertModuleOptions,
  type AuditAlertOptionsFactory,
} from '../../src/index.js';

/** A directory no test creates. */
const MISSING = join(tmpdir(), `audit-alert-no-such-directory-${process.pid}`);

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
  ['a monitor named ..', { monitors: [{ name: 'primary' }, { name: '..' }] }, 'monitors[1].name', "received '..'"],
  ['a monitor named .', { monitors: [{ name: '.' }] }, 'monitors[0].name', 'starting with a letter or a digit'],
  ['a hidden monitor name', { monitors: [{ name: '.archive' }] }, 'monitors[0].name', 'starting with a letter'],
  ['a monitor name with a slash', { monitors: [{ name: 'a/b' }] }, 'monitors[0].name', 'letters, digits'],
  ['a monitor name with a backslash', { monitors: [{ name: 'a\\b' }] }, 'monitors[0].name', 'letters, digits'],
  ['a monitor name with a NUL', { monitors: [{ name: 'a\u0000' }] }, 'monitors[0].name', 'letters, digits'],
  [
    'a state file in a directory that does not exist',
    { state: { file: `${MISSING}/state.json` } },
    'state.file',
    `but its directory cannot be used: ${MISSING} does not exist`,
  ],
  [
    'a spool directory that does not exist',
    { spool: { directory: MISSING, replay: () => undefined } },
    'spool.directory',
    `but ${MISSING} does not exist`,
  ],
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

/*
 * A directory the process cannot write to. Tests run as root here, and root
 * passes every permission check: as root, the options are resolved by a child
 * process of user nobody (uid 65534), against the built package (dist/);
 * as any other user, in this process, against a directory made read-only.
 */
describe('paths the process cannot write to, refused at bootstrap', () => {
  const NOBODY = 65_534;
  const asRoot = process.getuid?.() === 0;
  const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../..');
  const resolver = join(repoRoot, 'dist/audit-alert.options.js');
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'audit-alert-unwritable-'));
    await chmod(root, 0o755);
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  /** A directory the process resolving the options cannot create files in. */
  async function readOnlyDirectory(name: string): Promise<string> {
    const path = join(root, name);
    await mkdir(path);
    await chmod(path, asRoot ? 0o755 : 0o555);
    return path;
  }

  /** `{ option, message }` of the error resolving `options` throws (a spool's `replay` is filled in), or `null`. */
  function resolveUnprivileged(options: Record<string, unknown>): { option: string; message: string } | null {
    if (!asRoot) {
      const withReplay = JSON.parse(JSON.stringify(options), (key, value: unknown) =>
        key === 'spool' ? { ...(value as object), replay: () => undefined } : value,
      ) as Record<string, unknown>;
      try {
        resolveAuditAlertOptions(withReplay);
        return null;
      } catch (error) {
        return { option: (error as AuditAlertConfigError).option, message: (error as Error).message };
      }
    }
    if (!existsSync(resolver)) throw new Error(`${resolver} is missing: build the package first (npm run build)`);
    const script = `
      const { resolveAuditAlertOptions } = await import(${JSON.stringify(resolver)});
      const options = JSON.parse(process.argv[1], (key, value) => key === 'spool' ? { ...value, replay: () => undefined } : value);
      try { resolveAuditAlertOptions(options); console.log('null'); }
      catch (error) { console.log(JSON.stringify({ option: error.option, message: error.message })); }`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(options)], {
      uid: NOBODY,
      gid: NOBODY,
      encoding: 'utf8',
      timeout: 20_000,
    });
    if (child.status !== 0) throw new Error(`the child process failed: ${child.stderr}`);
    return JSON.parse(child.stdout) as { option: string; message: string } | null;
  }

  it('refuses a spool directory the process cannot write to', async () => {
    const directory = await readOnlyDirectory('spool');
    expect(resolveUnprivileged({ spool: { directory } })).toEqual({
      option: 'spool.directory',
      message:
        `Invalid audit alert option "spool.directory": received '${directory}', but the process cannot list, create and rename files in ${directory} (EACCES); ` +
        'expected an existing directory the process can list and write to (each monitor spools in a subdirectory of it, created 0700).',
    });
  });

  it('refuses a state file in a directory the process cannot write to', async () => {
    const directory = await readOnlyDirectory('state');
    const file = join(directory, 'state.json');
    expect(resolveUnprivileged({ state: { file } })).toEqual({
      option: 'state.file',
      message:
        `Invalid audit alert option "state.file": received '${file}', but its directory cannot be used: the process cannot list, create and rename files in ${directory} (EACCES); ` +
        'expected an absolute path of a regular file, or of none yet, in an existing directory the process can write to.',
    });
  });

  (asRoot ? it : it.skip)(
    "refuses a monitor's spool subdirectory of another user, which the spool could not chmod",
    async () => {
      const directory = join(root, 'spool');
      await mkdir(join(directory, 'default'), { recursive: true });
      await chmod(directory, 0o777);
      await chmod(join(directory, 'default'), 0o777);
      expect(resolveUnprivileged({ spool: { directory } })).toEqual({
        option: 'spool.directory',
        message: expect.stringContaining(
          `but monitor "default" spools in ${join(directory, 'default')}, and ${join(directory, 'default')} belongs to another user (uid 0, the process runs as ${NOBODY})`,
        ),
      });
    },
  );

  it('accepts what the same process can write to', async () => {
    const directory = join(root, 'writable');
    await mkdir(directory);
    await chmod(directory, 0o777);
    expect(resolveUnprivileged({ spool: { directory }, state: { file: join(directory, 'state.json') } })).toBeNull();
  });
});
