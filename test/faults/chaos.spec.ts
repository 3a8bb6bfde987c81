import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { INestApplication } from '@nestjs/common';
import {
  AUDIT_ALERT_CLOCK,
  AuditAlertHook,
  AuditAlertModule,
  AuditStorageMonitor,
  type AuditAlertEvent,
  type OnAuditAlert,
} from '../../src/index.js';
import { AUDIT_ALERT_RANDOM } from '../../src/channels/channel.constants.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { flush, ManualClock } from '../support/manual-clock.js';
import { monitorHarness } from '../support/monitor-harness.js';
import { RejectionWatch } from '../support/rejection-watch.js';
import { ChaosReceiver, type ChaosBehaviour } from './support/chaos-receiver.js';
import { exposeGc, settledHeapUsed } from './support/force-gc.js';

const OPERATIONS = 2_000;
/** CPU work, not waiting: about 30 s alone, several times that on a shared machine beside a CPU hog. */
const CHAOS_BUDGET_MS = 240_000;
const SEEDS = [0x5eed_0001, 0x5eed_0002];
const THRESHOLD_MS = 100;
const COOLDOWN_MS = 1_000;
const HOOK_TIMEOUT_MS = 1_000;
const SHUTDOWN_TIMEOUT_MS = 5_000;
/** A hook line quotes at most 1,024 characters of the error, plus the hook and event names. */
const MAX_LOG_LINE = 1_200;
const MAX_HEAP_GROWTH = 20 * 1024 * 1024;
/** Shared by every flood, so the test itself does not churn the heap by 1 MB per event. */
const FLOOD_MESSAGE = 'x'.repeat(1024 * 1024);

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

@AuditAlertHook()
class ThrowingHook implements OnAuditAlert {
  onAuditAlert(): void {
    throw new Error('hook broke synchronously');
  }
}

@AuditAlertHook()
class RejectingHook implements OnAuditAlert {
  async onAuditAlert(): Promise<void> {
    throw new Error('hook rejected');
  }
}

@AuditAlertHook()
class HangingHook implements OnAuditAlert {
  onAuditAlert(): Promise<void> {
    return new Promise(() => undefined);
  }
}

/** Runs 3 s of manual time, past `hookTimeoutMs`, on the clock the module runs on. */
@AuditAlertHook()
class SlowHook implements OnAuditAlert {
  constructor(private readonly clock: ManualClock) {}
  onAuditAlert(): Promise<void> {
    return new Promise((resolve) => void this.clock.setTimer(resolve, 3 * HOOK_TIMEOUT_MS));
  }
}

@AuditAlertHook()
class FloodingHook implements OnAuditAlert {
  onAuditAlert(): void {
    throw new Error(FLOOD_MESSAGE);
  }
}

@AuditAlertHook()
class FirstRecordingHook implements OnAuditAlert {
  readonly events: AuditAlertEvent[] = [];
  onAuditAlert(event: AuditAlertEvent): void {
    this.events.push(event);
  }
}

@AuditAlertHook()
class SecondRecordingHook implements OnAuditAlert {
  readonly events: AuditAlertEvent[] = [];
  async onAuditAlert(event: AuditAlertEvent): Promise<void> {
    this.events.push(event);
  }
}

@Injectable()
class AuditService {
  constructor(readonly monitor: AuditStorageMonitor) {}
}

const FAILING: readonly ChaosBehaviour[] = ['error', 'throttle', 'reset', 'hang'];

/** Events as plain JSON with each outage named by its rank of first appearance, to compare runs with other ids. */
function normalise(events: readonly unknown[], ids = new Map<string, number>()): unknown[] {
  return events.map((event) => {
    const plain = JSON.parse(JSON.stringify(event)) as { outageId: string };
    if (!ids.has(plain.outageId)) ids.set(plain.outageId, ids.size);
    return { ...plain, outageId: ids.get(plain.outageId) };
  });
}

function byOutage(events: readonly unknown[]): Map<string, unknown[]> {
  const outages = new Map<string, unknown[]>();
  for (const event of events) {
    const { outageId } = event as { outageId: string };
    outages.set(outageId, [...(outages.get(outageId) ?? []), JSON.parse(JSON.stringify(event)) as unknown]);
  }
  return outages;
}

interface ChaosRun {
  readonly expected: AuditAlertEvent[];
  readonly first: AuditAlertEvent[];
  readonly second: AuditAlertEvent[];
  readonly received: unknown[];
  readonly failingRequests: Record<string, number>;
  readonly longestLogLine: number;
  readonly logLines: number;
  readonly hookFailureLines: number;
  readonly heapGrowth: number;
  readonly rejections: unknown[];
  readonly closed: boolean;
}

async function runChaos(seed: number): Promise<ChaosRun> {
  const random = prng(seed);
  const clock = new ManualClock();
  const reference = monitorHarness({ thresholdMs: THRESHOLD_MS, cooldownMs: COOLDOWN_MS });
  const logger = new CaptureLogger();
  const watch = new RejectionWatch();
  const gc = exposeGc();
  const healthy = await ChaosReceiver.start('ok');
  const failing = await Promise.all(FAILING.map((behaviour) => ChaosReceiver.start(behaviour)));
  let longestLogLine = 0;
  let logLines = 0;
  let hookFailureLines = 0;
  // Checked then dropped as the run goes, so the kept lines do not count as heap growth.
  const drainLog = (): void => {
    for (const line of logger.lines) {
      longestLogLine = Math.max(longestLogLine, line.message.length);
      if (line.message.startsWith('Hook ')) hookFailureLines += 1;
    }
    logLines += logger.lines.length;
    logger.lines.length = 0;
  };

  @Module({
    imports: [
      AuditAlertModule.forRoot({
        thresholdMs: THRESHOLD_MS,
        cooldownMs: COOLDOWN_MS,
        hookTimeoutMs: HOOK_TIMEOUT_MS,
        shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS,
        channels: [
          { type: 'webhook', url: healthy.url, retries: 1, backoffMs: 10 },
          ...failing.map((receiver) => ({
            type: 'webhook' as const,
            url: receiver.url,
            retries: 1,
            backoffMs: 20,
            timeoutMs: receiver.behaviour === 'hang' ? 30 : 2_000,
          })),
        ],
      }),
    ],
    providers: [
      ThrowingHook,
      RejectingHook,
      HangingHook,
      SlowHook,
      { provide: ManualClock, useValue: clock },
      FloodingHook,
      FirstRecordingHook,
      SecondRecordingHook,
      AuditService,
    ],
  })
  class ChaosAppModule {}

  watch.install();
  let app: INestApplication | undefined;
  try {
    const moduleRef = await Test.createTestingModule({ imports: [ChaosAppModule] })
      .overrideProvider(AUDIT_ALERT_CLOCK)
      .useValue(clock)
      .overrideProvider(AUDIT_ALERT_RANDOM)
      .useValue(prng(seed ^ 0xbad5eed))
      .compile();
    app = moduleRef.createNestApplication({ logger });
    await app.init();
    const { monitor } = app.get(AuditService);
    const first = app.get(FirstRecordingHook);
    const second = app.get(SecondRecordingHook);

    let midHeap = 0;
    for (let i = 0; i < OPERATIONS; i += 1) {
      const roll = random();
      if (roll < 0.45) {
        const error = new Error(`connect ECONNREFUSED 127.0.0.1:5432 (write ${i})`);
        monitor.recordFailure(error);
        reference.monitor.recordFailure(error);
      } else if (roll < 0.7) {
        monitor.recordSuccess();
        reference.monitor.recordSuccess();
      } else {
        const ms = Math.floor(random() * 4 * COOLDOWN_MS);
        clock.advance(ms);
        reference.clock.advance(ms);
      }
      await flush(2);
      if (i % 100 === 99) {
        // Lets the HTTP exchanges of the last operations run, so backoff waits get armed on the clock.
        await realSleep(5);
        drainLog();
      }
      if (i === OPERATIONS / 2 - 1) midHeap = settledHeapUsed(gc);
    }
    // Ends any open outage, so the settling time below raises no further event.
    monitor.recordSuccess();
    reference.monitor.recordSuccess();
    const expected = reference.events;

    // Real time for the HTTP exchanges, manual time for the backoff and Retry-After waits.
    for (let round = 0; round < 400 && healthy.bodies.length < expected.length; round += 1) {
      clock.advance(1_000);
      await realSleep(10);
    }
    drainLog();
    const endHeap = settledHeapUsed(gc);

    // Hanging and slow calls still pending are waited for up to shutdownTimeoutMs of manual time.
    let closed = false;
    const closing = app.close().then(() => void (closed = true));
    for (let round = 0; round < 200 && !closed; round += 1) {
      clock.advance(250);
      await realSleep(5);
    }
    await closing;
    app = undefined;
    await flush();
    drainLog();

    return {
      expected,
      first: first.events,
      second: second.events,
      received: healthy.bodies,
      failingRequests: Object.fromEntries(failing.map((r) => [r.behaviour, r.requests])),
      longestLogLine,
      logLines,
      hookFailureLines,
      heapGrowth: endHeap - midHeap,
      rejections: watch.reasons,
      closed,
    };
  } finally {
    watch.uninstall();
    await app?.close().catch(() => undefined);
    await Promise.all([healthy, ...failing].map((receiver) => receiver.close()));
  }
}

describe.each(SEEDS)('chaos: hooks and channels failing together (seed %i)', (seed) => {
  let run: ChaosRun;

  beforeAll(async () => {
    run = await runChaos(seed);
  }, CHAOS_BUDGET_MS);

  afterAll(() => {
    run = undefined as unknown as ChaosRun;
  });

  it('raises a meaningful number of alerts and recoveries', () => {
    const types = new Set(run.expected.map((e) => e.type));
    expect(run.expected.length).toBeGreaterThan(50);
    expect(types).toContain('audit.storage.unreachable');
    expect(types).toContain('audit.storage.recovered');
  });

  it('gives every healthy hook every event, in order, as a plain monitor raises them', () => {
    const expected = normalise(run.expected);
    expect(normalise(run.first)).toEqual(expected);
    expect(normalise(run.second)).toEqual(expected);
  });

  it('delivers every event to the healthy receiver, in order within each outage', () => {
    expect(run.received).toHaveLength(run.first.length);
    expect(byOutage(run.received)).toEqual(byOutage(run.first));
  });

  it('keeps trying the failing receivers without harming the rest', () => {
    for (const behaviour of FAILING) expect(run.failingRequests[behaviour]).toBeGreaterThan(0);
  });

  it('logs every hook failure in a line of bounded length, however large the error', () => {
    // Throwing, rejecting and flooding hooks fail on every event; hanging and slow ones time out.
    expect(run.hookFailureLines).toBeGreaterThanOrEqual(3 * run.expected.length);
    expect(run.longestLogLine).toBeLessThanOrEqual(MAX_LOG_LINE);
  });

  it('neither leaks an unhandled rejection nor grows the heap, and closes', () => {
    expect(run.rejections).toEqual([]);
    expect(run.heapGrowth).toBeLessThan(MAX_HEAP_GROWTH);
    expect(run.closed).toBe(true);
  });
});
