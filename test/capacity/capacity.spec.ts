import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { type INestApplicationContext, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { mkdtemp, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  AUDIT_ALERT_CLOCK,
  AuditAlertConfigError,
  AuditAlertHook,
  AuditAlertModule,
  type AuditAlertEvent,
  type AuditAlertModuleOptions,
  type AuditStorageCapacityOptions,
  filesystemCapacityCheck,
  isStorageCapacityEvent,
  type OnAuditAlert,
  postgresCapacityCheck,
  type StorageCapacityEvent,
} from '../../src/index.js';
import { resolveAuditAlertOptions } from '../../src/audit-alert.options.js';
import { HttpReceiver, waitFor } from '../channels/support/http-receiver.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { flush, ManualClock } from '../support/manual-clock.js';
import { PostgresServer } from '../support/postgres-server.js';

const INTERVAL_MS = 60_000;
const COOLDOWN_MS = 300_000;

@AuditAlertHook()
class EveryEventHook implements OnAuditAlert {
  readonly events: AuditAlertEvent[] = [];
  onAuditAlert(event: AuditAlertEvent): void {
    this.events.push(event);
  }
}

@AuditAlertHook({ events: ['audit.storage.capacity'] })
class CapacityOnlyHook implements OnAuditAlert {
  readonly events: AuditAlertEvent[] = [];
  onAuditAlert(event: AuditAlertEvent): void {
    this.events.push(event);
  }
}

@AuditAlertHook({ events: ['audit.storage.unreachable'] })
class UnreachableOnlyHook implements OnAuditAlert {
  readonly events: AuditAlertEvent[] = [];
  onAuditAlert(event: AuditAlertEvent): void {
    this.events.push(event);
  }
}

interface App {
  readonly app: INestApplicationContext;
  readonly clock: ManualClock;
  readonly logger: CaptureLogger;
  readonly events: StorageCapacityEvent[];
  /** One interval of simulated time, then the check it starts and the events it sends. */
  tick(): Promise<void>;
}

async function boot(capacity: AuditStorageCapacityOptions, options: AuditAlertModuleOptions = {}): Promise<App> {
  @Module({
    imports: [AuditAlertModule.forRoot({ serviceName: 'ledger-api', cooldownMs: COOLDOWN_MS, capacity, ...options })],
    providers: [EveryEventHook, CapacityOnlyHook, UnreachableOnlyHook],
  })
  class CapacityAppModule {}
  const clock = new ManualClock();
  const logger = new CaptureLogger();
  const moduleRef = await Test.createTestingModule({ imports: [CapacityAppModule] })
    .overrideProvider(AUDIT_ALERT_CLOCK)
    .useValue(clock)
    .compile();
  const app = moduleRef.createNestApplication({ logger });
  await app.init();
  await flush(10);
  const hook = app.get(EveryEventHook);
  return {
    app,
    clock,
    logger,
    get events() {
      return hook.events.filter(isStorageCapacityEvent);
    },
    async tick() {
      clock.advance(INTERVAL_MS);
      await flush(10);
    },
  };
}

/** A storage whose usage the test sets by hand, read through the real timer and validation path. */
function dial(initial: unknown) {
  const state = { value: initial, calls: 0 };
  const check = (() => {
    state.calls += 1;
    return state.value;
  }) as AuditStorageCapacityOptions['check'];
  return { state, check };
}

describe('capacity warnings (AU-5(1))', () => {
  let running: App | undefined;

  afterEach(async () => {
    await running?.app.close();
    running = undefined;
  });

  it('warns on crossing up, repeats per cooldown, escalates, and announces each fall back under a level minus the margin', async () => {
    const storage = dial(0.5);
    running = await boot({ check: storage.check, warnAt: 0.75, criticalAt: 0.9, intervalMs: INTERVAL_MS });
    const levels = () => running!.events.map((e) => [e.level, e.usedRatio, e.occurrence]);
    expect(running.events).toEqual([]);

    const steps: [number, unknown[]][] = [
      [0.8, [['warning', 0.8, 1]]],
      [0.8, []], // within the cooldown
      [0.74, []], // under warnAt, not under warnAt - 0.05
      [0.95, [['critical', 0.95, 2]]], // an escalation does not wait for the cooldown
      [0.86, []], // above criticalAt - 0.05
      [0.84, [['warning', 0.84, 3]]],
      [0.71, []],
      [0.69, [['normal', 0.69, 4]]],
      [0.5, []],
    ];
    let expected: unknown[] = [];
    for (const [usage, sent] of steps) {
      storage.state.value = usage;
      await running.tick();
      expected = [...expected, ...sent];
      expect(levels()).toEqual(expected);
    }
    const [first, , , last] = running.events;
    expect(new Set(running.events.map((e) => e.outageId)).size).toBe(1);
    expect(first).toEqual({
      type: 'audit.storage.capacity',
      outageId: expect.any(String),
      monitor: 'default',
      serviceName: 'ledger-api',
      level: 'warning',
      previousLevel: 'normal',
      usedRatio: 0.8,
      used: null,
      total: null,
      threshold: 0.75,
      occurrence: 1,
      checkedAt: new Date(running.clock.wallNow() - 8 * INTERVAL_MS),
    });
    expect(last).toMatchObject({ level: 'normal', previousLevel: 'warning', threshold: 0.75 });

    // A new crossing is a new episode; staying there repeats once the cooldown has passed.
    storage.state.value = { used: 80, total: 100 };
    await running.tick();
    const episode = running.events[4]!;
    expect(episode).toMatchObject({ level: 'warning', used: 80, total: 100, usedRatio: 0.8, occurrence: 1 });
    expect(episode.outageId).not.toBe(first!.outageId);
    for (let i = 0; i < COOLDOWN_MS / INTERVAL_MS - 1; i += 1) await running.tick();
    expect(running.events).toHaveLength(5);
    await running.tick();
    expect(running.events[5]).toMatchObject({ level: 'warning', previousLevel: 'warning', occurrence: 2 });
    expect(running.events[5]!.outageId).toBe(episode.outageId);
  });

  it('lets hooks filter on the event type', async () => {
    const storage = dial(0.9);
    running = await boot({ check: storage.check, intervalMs: INTERVAL_MS });
    expect(running.app.get(CapacityOnlyHook).events).toHaveLength(1);
    expect(running.app.get(UnreachableOnlyHook).events).toEqual([]);
  });

  it('logs a check that throws, answers nonsense or hangs, and never runs two checks at once, nor one while an abandoned one hangs', async () => {
    const storage = dial(75); // a percentage, not a ratio
    running = await boot({ check: storage.check, intervalMs: INTERVAL_MS, timeoutMs: 5_000 });
    const warnings = () => running!.logger.lines.filter((l) => l.level === 'warn').map((l) => l.message);
    expect(warnings()).toEqual([expect.stringContaining('answered 75, not { used, total }')]);

    for (const bad of [{ used: -1, total: 10 }, { used: 1, total: 0 }, Number.NaN, 'full', null]) {
      storage.state.value = bad;
      await running.tick();
    }
    storage.state.value = Promise.reject(new Error('permission denied for password=hunter2'));
    await running.tick();
    expect(warnings()).toHaveLength(7);
    expect(warnings()[6]).toContain('permission denied');
    expect(warnings().join('\n')).not.toContain('hunter2');

    // A check that does not answer is abandoned after timeoutMs; while it still hangs, no new check starts.
    let settleHung: (value: number) => void = () => undefined;
    storage.state.value = new Promise<number>((resolve) => (settleHung = resolve));
    const calls = storage.state.calls;
    await running.tick();
    running.clock.advance(4_999);
    await flush();
    expect(storage.state.calls).toBe(calls + 1);
    running.clock.advance(1);
    await flush();
    expect(warnings()[7]).toContain('did not answer within 5000 ms');
    storage.state.value = 0.8;
    running.clock.advance(INTERVAL_MS);
    await flush();
    // Issue #20, item 5: it would hold one more thread of the pool each time.
    expect(storage.state.calls).toBe(calls + 1);
    expect(warnings()[8]).toContain('has not settled yet; no new check starts until it has');
    // Once it settles (its answer is not used), the next check starts an interval later.
    settleHung(0.99);
    await flush();
    running.clock.advance(INTERVAL_MS);
    await flush(10);
    expect(storage.state.calls).toBe(calls + 2);
    expect(running.events.map((e) => e.level)).toEqual(['warning']);
  });

  it('sends nothing for a monitor with enabled: false', async () => {
    running = await boot({ check: () => 0.99, intervalMs: INTERVAL_MS }, { enabled: false });
    expect(running.events).toEqual([]);
  });

  it('is rendered by the webhook channel, posted to a real receiver', async () => {
    const receiver = await HttpReceiver.start();
    try {
      running = await boot(
        { check: () => ({ used: 9, total: 10 }), intervalMs: INTERVAL_MS },
        { channels: [{ type: 'webhook', url: receiver.url('/hook'), retries: 0 }] },
      );
      await receiver.waitForRequests(1);
      expect(receiver.bodies()).toEqual([JSON.parse(JSON.stringify(running.events[0]))]);
    } finally {
      await running?.app.close();
      running = undefined;
      await receiver.close();
    }
  });

  it('keeps one PagerDuty incident per monitor, which a restarted process resolves when its first reading is clearly normal', async () => {
    const pagerduty = await HttpReceiver.start();
    pagerduty.fallback = { status: 202 };
    const key = 'audit-capacity:ledger-api:default';
    const channels: AuditAlertModuleOptions['channels'] = [
      { type: 'pagerduty', routingKey: 'R0UTINGKEY0000000000000000000000', url: pagerduty.url('/v2/enqueue') },
    ];
    const usage = dial(0.8);
    try {
      // A warning, then the process goes away with the incident open.
      const first = await boot({ check: usage.check, intervalMs: INTERVAL_MS }, { channels });
      await pagerduty.waitForRequests(1);
      await first.app.close();
      // Started again within the margin of the warning: nothing is clearly over, nothing is resolved.
      usage.state.value = 0.72;
      const second = await boot({ check: usage.check, intervalMs: INTERVAL_MS }, { channels });
      await second.app.close();
      // Started again well under it: the incident left open is resolved, once.
      usage.state.value = 0.5;
      running = await boot({ check: usage.check, intervalMs: INTERVAL_MS }, { channels });
      await pagerduty.waitForRequests(2);
      await running.tick();
      await flush(10);
      const pages = pagerduty.bodies() as { event_action: string; dedup_key: string }[];
      expect(pages.map((p) => [p.event_action, p.dedup_key])).toEqual([
        ['trigger', key],
        ['resolve', key],
      ]);
      expect(running.events).toEqual([]);
      expect(running.logger.of('log')).toContainEqual(
        expect.stringContaining('resolved any capacity warning incident of monitor "default" left open'),
      );
    } finally {
      await running?.app.close();
      running = undefined;
      await pagerduty.close();
    }
  });

  it.each<[string, unknown, string]>([
    ['capacity', 0.75, 'capacity": received 0.75; expected an object'],
    ['capacity.check', undefined, 'capacity.check": received undefined; expected a function'],
    ['capacity.warnAt', 75, 'capacity.warnAt": received 75; expected a number above 0 and at most 1'],
    ['capacity.criticalAt', 0.5, 'capacity.criticalAt": received 0.5; expected a number above 0.75'],
    ['capacity.hysteresis', 0.8, 'capacity.hysteresis": received 0.8; expected a number from 0 to 0.75'],
    ['capacity.intervalMs', 0, 'capacity.intervalMs": received 0; expected a finite number of milliseconds from 1'],
    ['capacity.every', 1, 'capacity.every"; the options are: check, warnAt'],
  ])('rejects a bad %s at bootstrap', (path, value, message) => {
    const field = path.split('.')[1];
    const capacity = field ? { check: () => 0, [field]: value } : value;
    const resolve = () => resolveAuditAlertOptions({ monitors: [{ name: 'orders', capacity }] });
    expect(resolve).toThrow(AuditAlertConfigError);
    expect(resolve).toThrow(message.replace(/^capacity/, 'monitors[0].capacity'));
  });
});

describe('filesystemCapacityCheck on a real directory', () => {
  let dir: string;
  let running: App | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'audit-capacity-'));
  });

  afterAll(async () => {
    await running?.app.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the filesystem as df does, and warns when its usage is past warnAt', async () => {
    const reading = await filesystemCapacityCheck(dir)();
    const fs = await statfs(dir);
    expect(reading.total).toBe((fs.blocks - fs.bfree + fs.bavail) * fs.bsize);
    expect(reading.used).toBeGreaterThan(0);
    expect(reading.used).toBeLessThanOrEqual(reading.total);

    const ratio = reading.used / reading.total;
    const statfsCheck = filesystemCapacityCheck(dir);
    let readings = 0;
    const check = async () => {
      const answer = await statfsCheck();
      readings += 1;
      return answer;
    };
    running = await boot(
      { check },
      {
        monitors: [
          { name: 'tight', capacity: { check, warnAt: ratio / 2, hysteresis: 0, intervalMs: INTERVAL_MS } },
          { name: 'roomy', capacity: { check, warnAt: (1 + ratio) / 2, intervalMs: INTERVAL_MS } },
        ],
      },
    );
    await waitFor(() => readings === 2, 'both first readings');
    await flush(10);
    expect(running.events.map((e) => [e.monitor, e.level])).toEqual([['tight', 'warning']]);
    expect(running.events[0]!.usedRatio).toBeCloseTo(ratio, 2);
    expect(() => filesystemCapacityCheck('')).toThrow(AuditAlertConfigError);
  });

  it('refuses, when it is made, a path that does not exist, which every check would fail on', () => {
    const missing = join(dir, 'not-mounted');
    let thrown: unknown;
    try {
      filesystemCapacityCheck(missing);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AuditAlertConfigError);
    expect((thrown as Error).message).toBe(
      `Invalid audit alert option "filesystemCapacityCheck(path)": received '${missing}', but the file system cannot be read there (ENOENT); expected an existing path on the file system to watch.`,
    );
  });
});

describe('postgresCapacityCheck on a real PostgreSQL database against a small quota', () => {
  let server: PostgresServer;
  let pool: pg.Pool;
  let running: App | undefined;

  beforeAll(async () => {
    server = new PostgresServer();
    await server.start();
    pool = new pg.Pool({ connectionString: server.connectionString, max: 2 });
    await pool.query('CREATE TABLE audit_trail (id bigserial PRIMARY KEY, payload text NOT NULL)');
  }, 60_000);

  afterAll(async () => {
    await running?.app.close();
    await pool?.end();
    await server?.dispose();
  }, 60_000);

  it('warns as the audit table grows past the quota share, and announces the fall once it is emptied', async () => {
    const query = (sql: string, params: readonly unknown[]) => pool.query(sql, [...params]);
    const empty = (await postgresCapacityCheck({ query, quotaBytes: 1 })()).used;
    const quotaBytes = empty + 16 * 2 ** 20;
    running = await boot({
      check: postgresCapacityCheck({ query, quotaBytes, database: 'postgres' }),
      warnAt: (empty + 2 * 2 ** 20) / quotaBytes,
      intervalMs: INTERVAL_MS,
    });
    expect(running.events).toEqual([]);

    // Some 4 MiB of rows once compressed: past warnAt, under the quota.
    await pool.query(
      `INSERT INTO audit_trail (payload)
       SELECT string_agg(md5(random()::text || g::text || s::text), '')
       FROM generate_series(1, 3000) g, generate_series(1, 32) s GROUP BY g`,
    );
    await running.tick();
    await waitFor(() => running!.events.length > 0, 'the capacity warning');
    expect(running.events.map((e) => e.level)).toEqual(['warning']);
    expect(running.events[0]).toMatchObject({ total: quotaBytes, previousLevel: 'normal' });
    expect(running.events[0]!.used).toBeGreaterThan(empty + 2 * 2 ** 20);

    await pool.query('TRUNCATE audit_trail');
    await running.tick();
    await waitFor(() => running!.events.length > 1, 'the fall back under warnAt');
    expect(running.events.map((e) => e.level)).toEqual(['warning', 'normal']);
    expect(() => postgresCapacityCheck({ query, quotaBytes: 0 })).toThrow(AuditAlertConfigError);
  }, 60_000);
});
