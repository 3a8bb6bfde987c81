import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Post, type Type } from '@nestjs/common';
import {
  type AuditAlertModuleOptions,
  AuditMonitorRegistry,
  AuditStorageMonitor,
  RequireAuditStorage,
} from '../../src/index.js';
import { waitFor } from '../channels/support/http-receiver.js';
import { RecordingHook } from '../faults/support/recording-hook.js';
import { flush } from '../support/manual-clock.js';
import { type GuardedApp, startGuardedApp, startRpcHandler } from './support/guarded-app.js';

/*
 * The routes under test are the only writers of their audit storage: while they
 * refuse, no write can tell the monitor that the storage is back.
 */

const THRESHOLD_MS = 1_000;
const RETRY_AFTER_S = 5;
const RETRY_AFTER_MS = RETRY_AFTER_S * 1_000;

/** The audit storage the handlers write to, switched off and on by the test. */
@Injectable()
class AuditStore {
  up = true;
  writes = 0;
  /** Requests held before their write, until {@link release}. */
  private readonly held: (() => void)[] = [];

  async write(): Promise<void> {
    this.writes += 1;
    if (!this.up) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
  }

  hold(): Promise<void> {
    return new Promise((resolve) => this.held.push(resolve));
  }

  get holding(): number {
    return this.held.length;
  }

  release(): void {
    for (const resume of this.held.splice(0)) resume();
  }
}

@Controller('transfers')
@RequireAuditStorage({ retryAfterSeconds: RETRY_AFTER_S })
class TransfersController {
  constructor(
    private readonly monitor: AuditStorageMonitor,
    private readonly store: AuditStore,
  ) {}

  @Post()
  async create(): Promise<{ created: true }> {
    await this.monitor.track(() => this.store.write());
    return { created: true };
  }

  /** Waits for the test before it writes. */
  @Post('slow')
  async slow(): Promise<{ created: true }> {
    await this.store.hold();
    return this.create();
  }

  /** Fails before it writes. */
  @Post('broken')
  broken(): never {
    throw new Error('a bug before the write');
  }

  /** Writes nothing: only the probe can tell. */
  @Get()
  list(): string[] {
    return [];
  }
}

async function start(
  options: AuditAlertModuleOptions = {},
  controllers: Type<unknown>[] = [TransfersController],
): Promise<GuardedApp & { store: AuditStore; hook: RecordingHook }> {
  const running = await startGuardedApp({
    options: { thresholdMs: THRESHOLD_MS, degraded: false, ...options },
    controllers,
    providers: [AuditStore, RecordingHook],
  });
  return { ...running, store: running.app.get(AuditStore), hook: running.app.get(RecordingHook) };
}

/** Stops the storage and lets one failed write of the route run the outage up to its alert. */
async function alerting(running: GuardedApp & { store: AuditStore }, path = '/transfers'): Promise<void> {
  running.store.up = false;
  expect((await running.request('POST', path)).status).toBe(500);
  running.clock.advance(THRESHOLD_MS);
  expect(running.registry.get('default').getStatus().state).toBe('alerting');
}

async function eventTypes(hook: RecordingHook): Promise<string[]> {
  await flush();
  return hook.events.map((e) => e.type);
}

describe('@RequireAuditStorage() on routes that are the only writers (real HTTP on 127.0.0.1)', () => {
  let running: (GuardedApp & { store: AuditStore; hook: RecordingHook }) | undefined;

  afterEach(async () => {
    running?.store.release();
    await running?.app.close();
    running = undefined;
  });

  it('lets one request through once Retry-After has passed; its write ends the outage and reopens the route', async () => {
    running = await start();
    const { clock, store, hook } = running;
    await alerting(running);
    expect(await running.request('POST', '/transfers')).toMatchObject({ status: 503, retryAfter: '5' });

    store.up = true;
    clock.advance(RETRY_AFTER_MS - 1);
    expect((await running.request('POST', '/transfers')).status).toBe(503);
    clock.advance(1);
    expect(await running.request('POST', '/transfers')).toMatchObject({ status: 201, body: { created: true } });
    expect(running.registry.get('default').getStatus().state).toBe('healthy');
    expect(await eventTypes(hook)).toEqual(['audit.storage.unreachable', 'audit.storage.recovered']);
    expect((await running.request('POST', '/transfers')).status).toBe(201);
  });

  it('lets one trial through at a time, and the next only a Retry-After after a failed one', async () => {
    running = await start();
    const { clock, store } = running;
    await alerting(running);
    expect((await running.request('POST', '/transfers')).status).toBe(503);
    clock.advance(RETRY_AFTER_MS);

    const trial = running.request('POST', '/transfers/slow');
    await waitFor(() => store.holding === 1, 'the trial to reach its handler');
    expect(await running.request('POST', '/transfers')).toMatchObject({ status: 503, retryAfter: '5' });
    clock.advance(RETRY_AFTER_MS);
    expect((await running.request('POST', '/transfers')).status).toBe(503);
    store.release(); // writes to the storage, still down
    expect((await trial).status).toBe(500);

    const writes = store.writes;
    expect((await running.request('POST', '/transfers')).status).toBe(503);
    clock.advance(RETRY_AFTER_MS - 1);
    expect((await running.request('POST', '/transfers')).status).toBe(503);
    expect(store.writes).toBe(writes);
    clock.advance(1);
    expect((await running.request('POST', '/transfers')).status).toBe(500); // the next trial, still down
    expect(store.writes).toBe(writes + 1);
    expect(running.registry.get('default').getStatus().state).toBe('alerting');
  });

  it('ends a trial whose handler throws before writing when its request ends', async () => {
    running = await start();
    await alerting(running);
    expect((await running.request('POST', '/transfers')).status).toBe(503);
    running.clock.advance(RETRY_AFTER_MS);
    expect((await running.request('POST', '/transfers/broken')).status).toBe(500);
    expect((await running.request('POST', '/transfers')).status).toBe(503);

    // A Retry-After after it ended, not trialTimeoutMs (10 s) after it began.
    running.store.up = true;
    running.clock.advance(RETRY_AFTER_MS);
    expect((await running.request('POST', '/transfers')).status).toBe(201);
  });

  it('stops counting a trial that hangs once trialTimeoutMs has passed', async () => {
    @Controller('ledger')
    @RequireAuditStorage({ retryAfterSeconds: 1, trialTimeoutMs: 3_000 })
    class LedgerController extends TransfersController {}
    running = await start({}, [LedgerController]);
    const { clock, store } = running;
    await alerting(running, '/ledger');
    expect((await running.request('POST', '/ledger')).status).toBe(503);
    clock.advance(1_000);

    const hung = running.request('POST', '/ledger/slow');
    await waitFor(() => store.holding === 1, 'the trial to reach its handler');
    store.up = true;
    clock.advance(2_999);
    expect((await running.request('POST', '/ledger')).status).toBe(503);
    clock.advance(1);
    // It ended at its timeout: the next one is due a Retry-After later.
    expect((await running.request('POST', '/ledger')).status).toBe(503);
    clock.advance(1_000);
    expect((await running.request('POST', '/ledger')).status).toBe(201);
    expect(running.registry.get('default').getStatus().state).toBe('healthy');
    store.release();
    expect((await hung).status).toBe(201);
  });

  it('with blockWhen recovering, keeps refusing through recoveryHoldMs and reopens when the hold ends', async () => {
    @Controller('ledger')
    @RequireAuditStorage({ blockWhen: ['alerting', 'recovering'], retryAfterSeconds: 1 })
    class LedgerController extends TransfersController {}
    running = await start({ recoveryHoldMs: 10_000 }, [LedgerController]);
    const { clock, store, hook } = running;
    const monitor = running.registry.get('default');
    await alerting(running, '/ledger'); // the last failure: the hold counts from it
    expect((await running.request('POST', '/ledger')).status).toBe(503);

    store.up = true;
    clock.advance(1_000);
    expect((await running.request('POST', '/ledger')).status).toBe(201);
    expect(monitor.getStatus().state).toBe('recovering');
    expect((await running.request('POST', '/ledger')).status).toBe(503);
    // The trials go on during the hold: a success changes nothing, a failure would return to alerting.
    for (let second = 3; second < 10; second += 1) {
      clock.advance(1_000);
      expect((await running.request('POST', '/ledger')).status).toBe(201);
      expect(monitor.getStatus().state).toBe('recovering');
    }
    clock.advance(1_000); // 10 s after the last failure: the hold ends on time alone
    expect(monitor.getStatus().state).toBe('healthy');
    expect(await eventTypes(hook)).toEqual(['audit.storage.unreachable', 'audit.storage.recovered']);
    expect((await running.request('POST', '/ledger')).status).toBe(201);
  });

  it('with blockWhen degraded, a trial starts the window below the ratio that ends the outage', async () => {
    @Controller('ledger')
    @RequireAuditStorage({ blockWhen: ['degraded'], retryAfterSeconds: 1 })
    class LedgerController extends TransfersController {}
    running = await start({ thresholdMs: 60_000, degraded: { ratio: 0.5, windowMs: 1_000, minWrites: 2 } }, [
      LedgerController,
    ]);
    const { clock, hook } = running;
    const monitor = running.registry.get('default');
    // Partly failing writes of elsewhere, ending on a success: no run of failures left for the threshold.
    monitor.recordFailure(new Error('timeout'));
    monitor.recordSuccess();
    clock.advance(900);
    monitor.recordFailure(new Error('timeout'));
    clock.advance(200);
    monitor.recordFailure(new Error('timeout'));
    monitor.recordSuccess();
    expect(monitor.getStatus().state).toBe('degraded');
    expect((await running.request('POST', '/ledger')).status).toBe(503);
    // Nothing but a write or a probe weighs the window again: time alone changes nothing.
    clock.advance(600_000);
    expect(monitor.getStatus().state).toBe('degraded');

    expect((await running.request('POST', '/ledger')).status).toBe(201);
    expect(monitor.getStatus().state).toBe('degraded');
    expect((await running.request('POST', '/ledger')).status).toBe(503);
    clock.advance(1_000);
    expect(monitor.getStatus().state).toBe('healthy');
    expect(await eventTypes(hook)).toEqual(['audit.storage.degraded', 'audit.storage.recovered']);
    expect((await running.request('POST', '/ledger')).status).toBe(201);
  });

  it('with a probe, runs it on the refused request once Retry-After has passed, and still lets it through when it fails', async () => {
    let probeUp = false;
    let probes = 0;
    // The timed probe is due a minute after the outage began: any probe seen here ran on demand.
    const probe = {
      intervalMs: 60_000,
      check: async () => {
        probes += 1;
        if (!probeUp) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      },
    };
    running = await start({ probe });
    const { clock, store, hook } = running;
    const monitor = running.registry.get('default');
    await alerting(running);
    expect((await running.request('GET', '/transfers')).status).toBe(503);
    expect(probes).toBe(0);

    clock.advance(RETRY_AFTER_MS);
    // The probe fails and so does the trial's write: the storage is down.
    expect((await running.request('POST', '/transfers')).status).toBe(500);
    expect(probes).toBe(1);
    expect((await running.request('GET', '/transfers')).status).toBe(503);
    expect(probes).toBe(1);

    // Back, and requests that write nothing: the probe alone reopens the route. Writes outrank probes:
    // the trial's write failed since the last check, so the next passing check cannot end the outage
    // (its request goes through as a trial); the one after it, with no write failed since, does.
    store.up = true;
    probeUp = true;
    clock.advance(RETRY_AFTER_MS);
    const writes = store.writes;
    expect((await running.request('GET', '/transfers')).status).toBe(200);
    expect(probes).toBe(2);
    expect(monitor.getStatus().state).toBe('alerting');
    expect((await running.request('GET', '/transfers')).status).toBe(503);
    clock.advance(RETRY_AFTER_MS);
    expect((await running.request('GET', '/transfers')).status).toBe(200);
    expect(probes).toBe(3);
    expect(store.writes).toBe(writes);
    expect(monitor.getStatus().state).toBe('healthy');
    expect(await eventTypes(hook)).toEqual(['audit.storage.unreachable', 'audit.storage.recovered']);
  });

  it('with a probe that fails where the writes succeed, the trial still ends the outage', async () => {
    // Say the probe inserts into a table whose grant was revoked: writes outrank probes.
    running = await start({
      probe: {
        intervalMs: 60_000,
        check: () => Promise.reject(new Error('permission denied for table audit_probe')),
      },
    });
    await alerting(running);
    expect((await running.request('POST', '/transfers')).status).toBe(503);
    running.store.up = true;
    running.clock.advance(RETRY_AFTER_MS);
    expect((await running.request('POST', '/transfers')).status).toBe(201);
    expect(running.registry.get('default').getStatus().state).toBe('healthy');
  });

  it('lets the trial through both guards when the guard is also registered globally', async () => {
    const started = await startGuardedApp({
      options: { thresholdMs: THRESHOLD_MS, degraded: false },
      controllers: [TransfersController],
      providers: [AuditStore, RecordingHook],
      globalGuard: true,
    });
    running = { ...started, store: started.app.get(AuditStore), hook: started.app.get(RecordingHook) };
    await alerting(running);
    expect((await running.request('POST', '/transfers')).status).toBe(503);
    running.store.up = true;
    running.clock.advance(RETRY_AFTER_MS);
    expect((await running.request('POST', '/transfers')).status).toBe(201);
    expect(running.registry.get('default').getStatus().state).toBe('healthy');
  });
});

describe('trials of @RequireAuditStorage() in a non-HTTP execution context', () => {
  it('ends an RPC trial when its handler finishes, as Nest runs microservice and WebSocket handlers', async () => {
    @Injectable()
    class LedgerHandlers {
      failNext = true;

      @RequireAuditStorage({ retryAfterSeconds: 1 })
      transfer(): string {
        if (this.failNext) throw new Error('a bug before the write');
        return 'done';
      }
    }
    const { app, clock, handlers, transfer } = await startRpcHandler(LedgerHandlers);
    try {
      app.get(AuditMonitorRegistry).get('default').recordFailure(new Error('down'));
      await expect(transfer()).rejects.toMatchObject({ status: 503 });
      clock.advance(1_000);
      await expect(transfer()).rejects.toThrow('a bug before the write'); // the trial
      await expect(transfer()).rejects.toMatchObject({ status: 503 });
      // Ended with its handler: the next is due a Retry-After later, not trialTimeoutMs.
      handlers.failNext = false;
      clock.advance(1_000);
      await expect(transfer()).resolves.toBe('done');
    } finally {
      await app.close();
    }
  });
});
