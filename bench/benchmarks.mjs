/**
 * One small function per benchmark. Each boots what it needs, measures, shuts
 * down, and returns a section of the report: a title, what was measured, and
 * a table.
 */
import { execFile, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import CircuitBreaker from 'opossum';
import { circuitBreaker, ConsecutiveBreaker, handleAll } from 'cockatiel';
import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { createRequire } from 'node:module';
import { bootMonitor, FAR_AWAY_MS, hookClass } from './nest-app.mjs';
import {
  formatBytes,
  formatMs,
  formatNs,
  formatRatio,
  measure,
  median,
  nextTurn,
  percentile,
  sink,
} from './measure.mjs';

/**
 * The configuration the hot-path figures are taken with. Another one (more
 * monitors, more hooks…) is measured by passing it to the same functions.
 */
export const DEFAULT_SETUP = { label: 'forRoot defaults', options: {}, hooks: [] };

/** Metrics turned off by option: the monitors get no counters at all. */
export const METRICS_OFF_SETUP = { label: 'metrics: false', options: { metrics: false }, hooks: [] };

/** Metrics on, with an OpenTelemetry SDK MeterProvider registered before the application starts. */
export const METRICS_ON_SETUP = { label: 'metrics on, SDK MeterProvider', options: {}, hooks: [] };

const require = createRequire(import.meta.url);
/** The versions measured against, for the report. */
const OPOSSUM_VERSION = require('opossum/package.json').version;
const COCKATIEL_VERSION = require('cockatiel/package.json').version;

/** An error as a database driver reports a refused connection. */
const STORAGE_ERROR = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

/** Stands for "a method call that does nothing", the floor every hot-path figure is compared with. */
class Baseline {
  never = false;
  count = 0;
  noop() {}
  noopWith(_error) {}
}

/**
 * An empty method V8 keeps as a real call: it returns at once, but its body (a
 * branch never taken) is over V8's inlining limit, so the caller's loop holds a
 * call, as any caller of a method with a slow path it has taken does.
 */
Baseline.prototype.keptNoop = new Function(`if (this.never) { ${'this.count += 1; '.repeat(120)}}`);

const hotPathHeaders = ['setup', 'case', 'ns/call (median)', 'samples min–max', 'over baseline', 'ratio'];

function hotPathRows(label, [baseline, subject]) {
  return [
    [label, baseline.name, formatNs(baseline.nsPerCall), range(baseline), '', ''],
    [
      label,
      subject.name,
      formatNs(subject.nsPerCall),
      range(subject),
      formatNs(subject.nsPerCall - baseline.nsPerCall),
      formatRatio(subject.nsPerCall / baseline.nsPerCall),
    ],
  ];
}

function range({ min, max }) {
  return `${formatNs(min)} – ${formatNs(max)}`;
}

/** 1. `recordSuccess()` while healthy: the cost every successful audit write pays. */
export async function benchRecordSuccessHealthy(setup = DEFAULT_SETUP) {
  const { app, monitor } = await bootMonitor(setup);
  const baseline = new Baseline();
  const baselineCase = {
    name: 'baseline: empty method call',
    run(n) {
      let acc = 0;
      for (let i = 0; i < n; i += 1) {
        baseline.noop();
        acc += i;
      }
      return acc;
    },
  };
  const successCase = (name, target) => ({
    name,
    run(n) {
      let acc = 0;
      for (let i = 0; i < n; i += 1) {
        target.recordSuccess();
        acc += i;
      }
      return acc;
    },
  });
  // First in a process where no failure was ever recorded: V8 then treats the tracker's fields as
  // constants and folds the check away, which is what the figures before degraded detection showed.
  const pristine = await measure(
    [baselineCase, successCase('recordSuccess() while healthy, no failure ever (fields constant-folded)', monitor)],
    { iterations: 20_000_000 },
  );
  // Then after an outage elsewhere in the process: the fields are read on every call, as in a real application.
  const counting = await bootMonitor({
    ...setup,
    options: { ...setup.options, thresholdMs: 600_000, writeTimeoutMs: false },
  });
  counting.monitor.recordFailure(STORAGE_ERROR);
  counting.monitor.recordSuccess();
  await nextTurn();
  const keptCallCase = {
    name: 'baseline: empty method call that V8 keeps as a call (too large to inline)',
    run(n) {
      let acc = 0;
      for (let i = 0; i < n; i += 1) {
        baseline.keptNoop();
        acc += i;
      }
      return acc;
    },
  };
  const results = await measure(
    [
      baselineCase,
      successCase('recordSuccess() while healthy, after an outage (degraded detection on, window closed)', monitor),
      successCase('recordSuccess() while healthy, a failure in the window (counted in a bucket)', counting.monitor),
      keptCallCase,
    ],
    { iterations: 20_000_000 },
  );
  const countingState = counting.monitor.getStatus();
  const closedState = monitor.getStatus();
  await app.close();
  await counting.app.close();
  if (closedState.failureRatio !== null || countingState.failureRatio === null) {
    throw new Error('recordSuccess() was not measured with the window closed, then open, as labelled');
  }
  const [loop, closed, open, keptCall] = results;
  return {
    title: '1. recordSuccess() while healthy',
    description:
      '20,000,000 calls per sample, 7 samples after 2 warm-up rounds, baseline interleaved. Degraded detection ' +
      'is on (the default). While healthy with no failure in its window and no probe running, a success is a ' +
      'branch and a return (target ≤ 2× an empty call). The JIT inlines the calls, so the baseline is the bare ' +
      'loop. Before any failure in the process, V8 folds the check away entirely; after one, the branch reads a ' +
      'field per call. Once a failure is in the window, each success reads the clock and counts in a bucket ' +
      'until the window holds no failure. Once any success in the process has taken the slow path, V8 keeps ' +
      'a call to it in every caller (its feedback says it is reached), and a call in a tight loop makes the ' +
      'loop spill its own variables: the last two rows compare that case with an empty method V8 keeps as a call.',
    headers: hotPathHeaders,
    rows: [
      ...hotPathRows(setup.label, pristine),
      ...hotPathRows(setup.label, [loop, closed]),
      hotPathRows(setup.label, [loop, open])[1],
      ...hotPathRows(setup.label, [keptCall, closed]),
    ],
  };
}

/** 2. `recordFailure()` during an outage that is already alerting, its cooldown far away. */
export async function benchRecordFailureOutage(setup = DEFAULT_SETUP) {
  const { app, monitor } = await bootMonitor({
    ...setup,
    options: { ...setup.options, thresholdMs: 0, cooldownMs: FAR_AWAY_MS },
  });
  monitor.recordFailure(STORAGE_ERROR);
  await nextTurn();
  const baseline = new Baseline();
  const results = await measure(
    [
      {
        name: 'baseline: empty method call (1 argument)',
        run(n) {
          let acc = 0;
          for (let i = 0; i < n; i += 1) {
            baseline.noopWith(STORAGE_ERROR);
            acc += i;
          }
          return acc;
        },
      },
      {
        name: 'recordFailure(error) while alerting',
        run(n) {
          let acc = 0;
          for (let i = 0; i < n; i += 1) {
            monitor.recordFailure(STORAGE_ERROR);
            acc += i;
          }
          return acc;
        },
      },
    ],
    { iterations: 300_000 },
  );
  const state = monitor.getStatus().state;
  await app.close();
  if (state !== 'alerting') throw new Error(`recordFailure() was measured in state '${state}', not 'alerting'`);
  return {
    title: '2. recordFailure() during an outage',
    description:
      'Already alerting, cooldown 2^31−1 ms away; the same Error (`connect ECONNREFUSED …`) each call. ' +
      '300,000 calls per sample, 7 samples after 2 warm-up rounds, baseline interleaved.',
    headers: hotPathHeaders,
    rows: hotPathRows(setup.label, results),
  };
}

/** A case that awaits `call()` n times, summing what it resolves to. */
function awaitedCase(name, call) {
  return {
    name,
    async run(n) {
      let acc = 0;
      for (let i = 0; i < n; i += 1) acc += await call();
      return acc;
    },
  };
}

/** A promise of its own around `call()`'s, settled as it settles. */
function ownPromise(call) {
  return new Promise((resolve, reject) => {
    call().then(resolve, reject);
  });
}

/** 3. `track()` around an operation that has already resolved, beside two circuit breakers doing the same. */
export async function benchTrack(setup = DEFAULT_SETUP) {
  const { app, monitor } = await bootMonitor(setup);
  const plain = await bootMonitor({ ...setup, options: { ...setup.options, writeTimeoutMs: false } });
  const op = () => Promise.resolve(1);
  const identity = (value) => value;
  // The least a tracker that records anything does: one field written in the reaction.
  const counted = { successes: 0 };
  const countSuccess = (value) => {
    counted.successes += 1;
    return value;
  };
  const rethrow = (error) => {
    throw error;
  };
  const opossumDefaults = new CircuitBreaker(op);
  const opossumNoTimeout = new CircuitBreaker(op, { timeout: false });
  const cockatiel = circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) });
  const results = await measure(
    [
      awaitedCase('baseline: await op()', () => op()),
      awaitedCase('floor: await op().then(id, rethrow)', () => op().then(identity, rethrow)),
      awaitedCase('floor, counting: await op().then(v => { count += 1; return v }, rethrow)', () =>
        op().then(countSuccess, rethrow),
      ),
      awaitedCase('await monitor.track(op) (defaults: hung-write detection on)', () => monitor.track(op)),
      awaitedCase('await monitor.track(op) (writeTimeoutMs: false)', () => plain.monitor.track(op)),
      awaitedCase('await opossum breaker.fire() (defaults: 10 s timeout)', () => opossumDefaults.fire()),
      awaitedCase('await opossum breaker.fire() ({ timeout: false })', () => opossumNoTimeout.fire()),
      awaitedCase('await cockatiel breaker.execute(op)', () => cockatiel.execute(op)),
    ],
    { iterations: 100_000 },
  );
  opossumDefaults.shutdown();
  opossumNoTimeout.shutdown();
  await app.close();
  await plain.app.close();

  const [baseline, , , track] = results;
  const overhead = (r) => r.nsPerCall - baseline.nsPerCall;
  const rows = results.map((r) => [
    r.name,
    formatNs(r.nsPerCall),
    r === baseline ? '' : formatNs(overhead(r)),
    r === baseline ? '' : formatRatio(r.nsPerCall / baseline.nsPerCall),
    r === baseline || r === track ? '' : formatRatio(overhead(track) / overhead(r)),
  ]);
  return {
    title: '3. track() around an already-resolved operation',
    description:
      `\`op = () => Promise.resolve(1)\`; the floor is one bare \`.then(id, rethrow)\` step; opossum ${OPOSSUM_VERSION}; ` +
      `cockatiel ${COCKATIEL_VERSION}: \`circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) })\`. ` +
      '100,000 awaited calls per sample, 7 samples after 2 warm-up rounds, all cases interleaved. ' +
      'Targets, hung-write detection on: track() overhead ≤ 1.2× the floor’s, and ≤ 0.15× cockatiel’s. ' +
      'The counting floor is the least any tracker that records an outcome pays: its reaction writes one field.',
    headers: [
      'case',
      'ns/call (median)',
      'overhead over baseline',
      'ratio to baseline',
      'track() overhead ÷ this overhead',
    ],
    rows,
  };
}

/** 3b. `track(op, { record })` with a spool configured, when the write succeeds: the spool must cost nothing here. */
export async function benchTrackWithRecord() {
  const directory = await mkdtemp(join(tmpdir(), 'audit-alert-bench-spool-'));
  const { app, monitor } = await bootMonitor({
    label: 'spool',
    options: { spool: { directory, replay: () => undefined } },
    hooks: [],
  });
  const op = () => Promise.resolve(1);
  const record = { actor: 'user-42', action: 'transfer.create', amount: 1_250 };
  const options = { record, id: 'a5f0c2e4-7d4e-4c8f-9a61-2f3b9d1e0c77' };
  try {
    const results = await measure(
      [
        awaitedCase('baseline: await op()', () => op()),
        awaitedCase('await monitor.track(op)', () => monitor.track(op)),
        awaitedCase('await monitor.track(op, { record, id })', () => monitor.track(op, options)),
        awaitedCase('floor of the design: await a promise of its own around monitor.track(op)', () =>
          ownPromise(() => monitor.track(op)),
        ),
      ],
      { iterations: 100_000 },
    );
    const [baseline, track] = results;
    return {
      title: '3b. track() with a record and a spool, when the write succeeds',
      description:
        '`spool: { directory, replay }` configured, `writeTimeoutMs` at its default; `op = () => Promise.resolve(1)`. ' +
        '100,000 awaited calls per sample, 7 samples after 2 warm-up rounds, all cases interleaved. ' +
        'The spool is off the success path: no disk access, no clock read, no timer per write. A hung ' +
        'write’s record is kept and `track()` answers while the write still hangs, so `track()` hands back a ' +
        'promise of its own: the last row is that promise around `track(op)`, the floor of the design.',
      headers: ['case', 'ns/call (median)', 'overhead over baseline', 'ratio to track(op)'],
      rows: results.map((r) => [
        r.name,
        formatNs(r.nsPerCall),
        r === baseline ? '' : formatNs(r.nsPerCall - baseline.nsPerCall),
        r === baseline ? '' : formatRatio(r.nsPerCall / track.nsPerCall),
      ]),
    };
  } finally {
    await app.close();
    await rm(directory, { recursive: true, force: true });
  }
}

/** 3c. Heap and timers with 100,000 tracked writes that never settle. */
export async function benchPendingWritesHeap(setup = DEFAULT_SETUP) {
  const writes = 100_000;
  const rows = [];
  for (const writeTimeoutMs of [false, 1_000]) {
    const { app, monitor } = await bootMonitor({
      ...setup,
      options: { ...setup.options, thresholdMs: 1_000, writeTimeoutMs },
    });
    // Each write waits on a promise of its own that the "driver" keeps and never settles.
    const held = [];
    const tracked = [];
    const armed = countTimersArmed();
    const before = settledHeap();
    for (let i = 0; i < writes; i += 1) {
      tracked.push(monitor.track(new Promise((resolve) => held.push(resolve))).catch(() => undefined));
    }
    const timersWhilePending = armed.stop();
    const after = settledHeap();
    // Let the sweep find them stuck (between 1 and 1.25 × writeTimeoutMs), then measure again.
    await new Promise((resolve) => setTimeout(resolve, 1_400));
    const found = settledHeap();
    const { pendingWrites, state, eventsAffected } = monitor.getStatus();
    sink.value += held.length + tracked.length;
    await app.close();
    rows.push([
      writeTimeoutMs === false ? 'writeTimeoutMs: false' : `writeTimeoutMs: ${writeTimeoutMs}`,
      writes.toLocaleString('en-US'),
      formatBytes(after - before),
      `${Math.round((after - before) / writes)} B`,
      String(timersWhilePending),
      formatBytes(found - before),
      `${state}, ${eventsAffected.toLocaleString('en-US')} counted, ${pendingWrites.toLocaleString('en-US')} pending`,
    ]);
  }
  return {
    title: '3c. 100,000 writes pending forever',
    description:
      `${writes.toLocaleString('en-US')} \`track()\` calls on a promise that never settles, in one go; heapUsed read after ` +
      'global.gc(). The promise chain of each write costs the same with detection on or off; detection adds ' +
      'one generation per sweep in which writes started, and one sweep timer per monitor (the timers armed while the writes start are counted). Measured again 1.4 s later, once the sweep has found them stuck.',
    headers: [
      'setup',
      'writes',
      'heap growth',
      'per write',
      'timers armed',
      'heap growth once found stuck',
      'status then',
    ],
    rows,
  };
}

/** Counts the timers armed (through `setTimeout`, as the module's clock arms them) until `stop()`. */
function countTimersArmed() {
  const original = globalThis.setTimeout;
  let count = 0;
  globalThis.setTimeout = (...args) => {
    count += 1;
    return original(...args);
  };
  return {
    stop() {
      globalThis.setTimeout = original;
      return count;
    },
  };
}

/** 4. Heap retained across ten million failures of one outage. */
export async function benchOutageHeap(setup = DEFAULT_SETUP) {
  const calls = 10_000_000;
  const checkpoints = 10;
  const { app, monitor } = await bootMonitor({
    ...setup,
    options: { ...setup.options, thresholdMs: 0, cooldownMs: FAR_AWAY_MS },
  });
  monitor.recordFailure(STORAGE_ERROR);
  await nextTurn();
  const before = settledHeap();
  let peakGrowth = 0;
  const started = performance.now();
  for (let c = 0; c < checkpoints; c += 1) {
    for (let i = 0; i < calls / checkpoints; i += 1) monitor.recordFailure(STORAGE_ERROR);
    peakGrowth = Math.max(peakGrowth, settledHeap() - before);
  }
  const seconds = (performance.now() - started) / 1_000;
  const after = settledHeap();
  const { consecutiveFailures } = monitor.getStatus();
  await app.close();
  sink.value += consecutiveFailures;
  return {
    title: '4. Heap over one long outage',
    description:
      `${calls.toLocaleString('en-US')} recordFailure() calls of one alerting outage; heapUsed read after global.gc(), ` +
      `also at ${checkpoints} checkpoints along the way (${seconds.toFixed(1)} s of calls in all).`,
    headers: [
      'calls',
      'heapUsed before',
      'heapUsed after',
      'growth',
      'largest growth at a checkpoint',
      'failures counted',
    ],
    rows: [
      [
        calls.toLocaleString('en-US'),
        formatBytes(before),
        formatBytes(after),
        formatBytes(after - before),
        formatBytes(peakGrowth),
        consecutiveFailures.toLocaleString('en-US'),
      ],
    ],
  };
}

function settledHeap() {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
}

/**
 * Hooks that stamp `performance.now()` on their first line, and a way to wait
 * until `expected` of them have run for the current outage.
 */
function stampingHooks(count) {
  const recorder = {
    stamps: [],
    expected: count,
    done: null,
    release: null,
    reset(expected = count) {
      this.stamps = [];
      this.expected = expected;
      this.done = new Promise((resolve) => {
        this.release = resolve;
      });
    },
  };
  const stamp = () => {
    recorder.stamps.push(performance.now());
    if (recorder.stamps.length === recorder.expected) recorder.release();
  };
  const hooks = Array.from({ length: count }, (_, i) => hookClass(`StampingHook${i + 1}`, stamp));
  return { recorder, hooks };
}

/** 5. From the alert being raised to each hook's first line, with 1, 10 and 100 hooks. */
export async function benchHookLatency({ hookCounts = [1, 10, 100], outages = 1_000, warmup = 50 } = {}) {
  const rows = [];
  for (const count of hookCounts) {
    const { recorder, hooks } = stampingHooks(count);
    const { app, monitor } = await bootMonitor({ options: { thresholdMs: 0, notifyRecovery: false }, hooks });
    const all = [];
    const first = [];
    const last = [];
    for (let o = 0; o < warmup + outages; o += 1) {
      recorder.reset();
      // thresholdMs 0: the alert is raised inside this very call.
      const raised = performance.now();
      monitor.recordFailure(STORAGE_ERROR);
      await recorder.done;
      monitor.recordSuccess();
      if (o < warmup) continue;
      const latencies = recorder.stamps.map((t) => t - raised);
      all.push(...latencies);
      first.push(Math.min(...latencies));
      last.push(Math.max(...latencies));
    }
    await app.close();
    rows.push([
      String(count),
      formatMs(median(all)),
      formatMs(percentile(all, 99)),
      formatMs(median(first)),
      formatMs(median(last)),
      formatMs(percentile(last, 99)),
    ]);
  }
  return {
    title: "5. From the alert to a hook's first line",
    description:
      `Real Nest application context, \`forRoot({ thresholdMs: 0, notifyRecovery: false })\`, private emitter; ` +
      `${outages} outages after ${warmup} warm-up ones. Time from just before the recordFailure() that raises the ` +
      'alert to `performance.now()` on the first line of each `onAuditAlert`.',
    headers: [
      'hooks',
      'any hook: median',
      'any hook: p99',
      'first hook: median',
      'last hook: median',
      'last hook: p99',
    ],
    rows,
  };
}

/**
 * 5b. What giving each recipient an event of its own costs: the deep frozen copy
 * (read-only dates included) the invoker makes per hook and channel, beside a
 * plain shallow spread of the same event.
 */
export async function benchEventCopy() {
  const { frozenEvent } = await import(new URL('../dist/events/frozen-event.util.js', import.meta.url).href);
  const event = {
    type: 'audit.storage.unreachable',
    outageId: '5f0c6a6e-3c1b-4d8e-9a57-2f8d7c1e0b9a',
    monitor: 'default',
    serviceName: 'billing-api',
    firstFailureAt: new Date(),
    consecutiveFailures: 42,
    unreachableDurationMs: 30_000,
    lastError: STORAGE_ERROR.message,
    occurrence: 1,
  };
  const results = await measure(
    [
      {
        name: 'baseline: { ...event }',
        run(n) {
          let acc = 0;
          for (let i = 0; i < n; i += 1) acc += { ...event }.occurrence;
          return acc;
        },
      },
      {
        name: 'frozen copy of the event',
        run(n) {
          let acc = 0;
          for (let i = 0; i < n; i += 1) acc += frozenEvent(event).occurrence;
          return acc;
        },
      },
    ],
    { iterations: 200_000 },
  );
  return {
    title: '5b. An event of its own for each recipient',
    description:
      '200,000 copies per sample, 7 samples after 2 warm-up rounds, baseline interleaved. Paid once per hook or ' +
      'channel per alert (and once for the `@OnEvent` listeners), never on the write path.',
    headers: hotPathHeaders,
    rows: hotPathRows('audit.storage.unreachable', results),
  };
}

/** 6. What the caller of an alerting `recordFailure()` waits, when hooks are many and one is slow. */
export async function benchAlertingCallLatency({ outages = 1_000, warmup = 50 } = {}) {
  // The first two rows are references for the third, the case asked about.
  const configs = [
    { label: '1 hook', fast: 1, slow: 0 },
    { label: '100 hooks', fast: 100, slow: 0 },
    { label: '100 hooks, one awaiting 200 ms', fast: 99, slow: 1 },
  ];
  const rows = [];
  for (const { label, fast, slow } of configs) {
    const { recorder, hooks } = stampingHooks(fast);
    for (let i = 0; i < slow; i += 1) {
      hooks.push(hookClass(`SlowHook${i + 1}`, () => new Promise((resolve) => setTimeout(resolve, 200))));
    }
    const { app, monitor } = await bootMonitor({ options: { thresholdMs: 0, notifyRecovery: false }, hooks });
    const calls = [];
    for (let o = 0; o < warmup + outages; o += 1) {
      recorder.reset();
      const start = process.hrtime.bigint();
      monitor.recordFailure(STORAGE_ERROR);
      const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
      if (o >= warmup) calls.push(elapsed);
      // Let the fast hooks run before the outage ends; the slow ones pile up in flight, as they would.
      await recorder.done;
      monitor.recordSuccess();
    }
    await app.close();
    rows.push([label, formatMs(median(calls)), formatMs(percentile(calls, 99)), formatMs(Math.max(...calls))]);
  }
  return {
    title: '6. recordFailure() that raises an alert: time to the caller',
    description: `The synchronous call alone (process.hrtime.bigint() around it), \`thresholdMs: 0\`; ${outages} outages after ${warmup} warm-up ones.`,
    headers: ['hooks', 'median', 'p99', 'max'],
    rows,
  };
}

/** Collects only when asked, as a Prometheus scrape would; the benchmarks never ask. */
class IdleMetricReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

/**
 * Runs `measure` with an SDK MeterProvider registered globally, after checking
 * that the module really records with it.
 */
async function withMeterProvider(measure) {
  const reader = new IdleMetricReader();
  const provider = new MeterProvider({ readers: [reader] });
  metrics.setGlobalMeterProvider(provider);
  try {
    const { app, monitor } = await bootMonitor(METRICS_ON_SETUP);
    monitor.recordSuccess();
    const { resourceMetrics } = await reader.collect();
    await app.close();
    const successes = resourceMetrics.scopeMetrics
      .find((scope) => scope.scope.name === 'nestjs-audit-alert')
      ?.metrics.find((metric) => metric.descriptor.name === 'audit_alert.storage.successes');
    if (successes?.dataPoints[0]?.value !== 1) throw new Error('The MeterProvider setup records no metrics');
    return await measure();
  } finally {
    metrics.disable();
    await provider.shutdown();
  }
}

/**
 * Sections 1 and 2 under one metrics setup, `'off'` or `'on'`; run by
 * bench/metrics-setup.mjs in a process of its own.
 */
export async function measureMetricsSetup(which) {
  const setup = which === 'on' ? METRICS_ON_SETUP : METRICS_OFF_SETUP;
  const run = which === 'on' ? withMeterProvider : (measure) => measure();
  return {
    success: (await run(() => benchRecordSuccessHealthy(setup))).rows,
    failure: (await run(() => benchRecordFailureOutage(setup))).rows,
  };
}

/** 7. The hot path with metrics off and on: what counting costs a write. */
export async function benchMetricsOverhead() {
  const child = fileURLToPath(new URL('./metrics-setup.mjs', import.meta.url));
  const measured = {};
  for (const which of ['off', 'on']) {
    const { stdout } = await promisify(execFile)(process.execPath, [child, which], { maxBuffer: 1024 * 1024 });
    measured[which] = JSON.parse(stdout);
  }
  return {
    title: '7. Metrics off and on',
    description:
      'Sections 1 and 2 again, with `metrics: false`, then with an OpenTelemetry SDK `MeterProvider` ' +
      '(@opentelemetry/sdk-metrics, one reader, never collected during the run) registered before boot; ' +
      'each setup in a fresh process, so the JIT sees only one. Off, a monitor has no counters and pays one ' +
      'null check; on, a write adds one to a plain number, read only when the metrics are collected.',
    headers: hotPathHeaders,
    rows: [...measured.off.success, ...measured.on.success, ...measured.off.failure, ...measured.on.failure],
  };
}

/** Where a missing redis-server comes from, for the note printed instead of the cluster figures. */
const REDIS_INSTALL_HINT = 'apt-get install -y redis-server';

function findRedisServer() {
  for (const directory of [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin', '/usr/sbin']) {
    const candidate = join(directory, 'redis-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return null;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Starts a throwaway redis-server on 127.0.0.1 (no persistence, its own
 * directory) and returns its URL and a way to stop it, or `null` with a
 * printed note when redis-server is not installed.
 */
async function startBenchRedis() {
  const binary = findRedisServer();
  if (binary === null) {
    console.log(`redis-server not found: the cluster benchmarks are skipped (install it with: ${REDIS_INSTALL_HINT}).`);
    return null;
  }
  const dir = await mkdtemp(join(tmpdir(), 'audit-alert-bench-redis-'));
  const port = await freePort();
  const child = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const stopOnExit = () => child.kill('SIGKILL');
  process.once('exit', stopOnExit);
  await new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 10_000);
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}):\n${output}`)));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      process.removeListener('exit', stopOnExit);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function skippedSection(title) {
  return {
    title,
    description: `Skipped: redis-server is not installed (${REDIS_INSTALL_HINT}).`,
    headers: ['case', 'figure'],
    rows: [['—', 'skipped']],
  };
}

async function commandsProcessed(client) {
  const info = await client.info('stats');
  return Number(/total_commands_processed:(\d+)/.exec(info)[1]);
}

/**
 * Times whole outages, `thresholdMs: 0`: from just before the recordFailure()
 * that raises the alert to the hook's first line, and likewise for the
 * recovery, whatever stands between (with `cluster`, one script each way).
 */
async function outageLatencies(options, { outages, warmup }) {
  const recorder = { resolve: null };
  const hook = hookClass('ClusterStampingHook', () => recorder.resolve(performance.now()));
  const { app, monitor } = await bootMonitor({ options: { thresholdMs: 0, ...options }, hooks: [hook] });
  const delivered = () => new Promise((resolve) => (recorder.resolve = resolve));
  const alerts = [];
  const recoveries = [];
  for (let o = 0; o < warmup + outages; o += 1) {
    let next = delivered();
    const raised = performance.now();
    monitor.recordFailure(STORAGE_ERROR);
    const alerted = await next;
    next = delivered();
    const ended = performance.now();
    monitor.recordSuccess();
    const recovered = await next;
    if (o < warmup) continue;
    alerts.push(alerted - raised);
    recoveries.push(recovered - ended);
  }
  await app.close();
  return { alerts, recoveries };
}

/** 8. What a coordinated transition costs: Redis round trips, and only on transitions. */
export async function benchClusterTransition({
  outages = 1_000,
  warmup = 50,
  pings = 2_000,
  hotCalls = 1_000_000,
} = {}) {
  const title = '8. Cluster coordination: the cost of a transition';
  const server = await startBenchRedis();
  if (server === null) return skippedSection(title);
  const client = new Redis(server.url);
  try {
    const roundTrips = [];
    for (let i = 0; i < warmup + pings; i += 1) {
      const start = performance.now();
      await client.ping();
      if (i >= warmup) roundTrips.push(performance.now() - start);
    }
    const alone = await outageLatencies({}, { outages, warmup });
    const cluster = { cluster: { redis: server.url } };
    const coordinated = await outageLatencies(cluster, { outages, warmup });

    // Redis is asked on transitions only: count the commands it processes around a burst of hot-path calls.
    const { app, monitor } = await bootMonitor({ options: { ...cluster, thresholdMs: 0, cooldownMs: FAR_AWAY_MS } });
    const healthyBefore = await commandsProcessed(client);
    for (let i = 0; i < hotCalls; i += 1) monitor.recordSuccess();
    const healthyCommands = (await commandsProcessed(client)) - healthyBefore - 1;
    monitor.recordFailure(STORAGE_ERROR);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const alertingBefore = await commandsProcessed(client);
    for (let i = 0; i < hotCalls; i += 1) monitor.recordFailure(STORAGE_ERROR);
    const alertingCommands = (await commandsProcessed(client)) - alertingBefore - 1;
    await app.close();

    const calls = hotCalls.toLocaleString('en-US');
    const roundTrip = median(roundTrips);
    const row = (name, values) => [
      name,
      formatMs(median(values)),
      formatMs(percentile(values, 99)),
      `${(median(values) / roundTrip).toFixed(1)} round trips`,
    ];
    return {
      title,
      description:
        `A redis-server 7 on 127.0.0.1 started by the bench; \`forRoot({ thresholdMs: 0 })\` with and without ` +
        `\`cluster: { redis: url }\`, one replica, ${outages} outages after ${warmup} warm-up ones. An alert costs one ` +
        'Lua script (join or open the outage and claim the window in one round trip), a recovery another (end the ' +
        'outage and claim its announcement), each a few Redis calls whatever the number of outage records; the ' +
        `floor is an ioredis PING (${pings} of them), and the last column divides each median by its median. The last ` +
        `rows count the commands Redis processed during ${calls} hot-path calls (the bench's own INFO excluded).`,
      headers: ['case', 'median', 'p99', 'median in Redis round trips'],
      rows: [
        row('Redis round trip (ioredis PING)', roundTrips),
        row('alert → hook, alone', alone.alerts),
        row('alert → hook, coordinated', coordinated.alerts),
        row('recovery → hook, alone', alone.recoveries),
        row('recovery → hook, coordinated', coordinated.recoveries),
        [`Redis commands during ${calls} recordSuccess() while healthy`, String(healthyCommands), '', ''],
        [`Redis commands during ${calls} recordFailure() while alerting`, String(alertingCommands), '', ''],
      ],
    };
  } finally {
    client.disconnect();
    await server.stop();
  }
}

/** Sections 1 and 2 with `cluster` on `url`; run in a process of its own by benchmark 9. */
export async function measureClusterSetup(url) {
  const setup = url
    ? { label: 'cluster: { redis }', options: { cluster: { redis: url } }, hooks: [] }
    : { label: 'no cluster', options: {}, hooks: [] };
  return {
    success: (await benchRecordSuccessHealthy(setup)).rows,
    failure: (await benchRecordFailureOutage(setup)).rows,
  };
}

/** 9. The hot path with clustering off and on: unchanged, since Redis is only asked on transitions. */
export async function benchClusterHotPath() {
  const title = '9. Hot path with clustering off and on';
  const server = await startBenchRedis();
  if (server === null) return skippedSection(title);
  const measured = {};
  try {
    const entry = new URL('./benchmarks.mjs', import.meta.url).href;
    for (const [which, url] of [
      ['off', ''],
      ['on', server.url],
    ]) {
      // No file of its own: the child imports this module and prints the rows.
      const script = `import { measureClusterSetup } from ${JSON.stringify(entry)};
        process.stdout.write(JSON.stringify(await measureClusterSetup(${JSON.stringify(url)})));`;
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
        maxBuffer: 1024 * 1024,
      });
      measured[which] = JSON.parse(stdout);
    }
  } finally {
    await server.stop();
  }
  return {
    title,
    description:
      'Sections 1 and 2 again, without and with `cluster: { redis }` (a local redis-server), each setup in a ' +
      'fresh process so the JIT sees only one. With a cluster, a call that changes nothing reaches no more code ' +
      'than without: the monitor consults the coordinator only when the state changes or an alert is due.',
    headers: hotPathHeaders,
    rows: [...measured.off.success, ...measured.on.success, ...measured.off.failure, ...measured.on.failure],
  };
}

/** Commands Redis has processed so far, by name, leaving out the bench's own INFO. */
async function commandCounts(client) {
  const counts = {};
  for (const [, name, calls] of (await client.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (name !== 'info') counts[name] = Number(calls);
  }
  return counts;
}

function commandDelta(before, after) {
  const delta = {};
  for (const [name, calls] of Object.entries(after)) {
    const added = calls - (before[name] ?? 0);
    if (added > 0) delta[name] = added;
  }
  return delta;
}

/** Waits until Redis has processed no command for `quietMs`: every replica has decided. */
async function settledRedis(client, quietMs = 300) {
  let last = -1;
  for (;;) {
    const total = Object.values(await commandCounts(client)).reduce((sum, calls) => sum + calls, 0);
    if (total === last) return;
    last = total;
    await new Promise((resolve) => setTimeout(resolve, quietMs));
  }
}

/** 10. The load on Redis of many replicas through one outage and the other kinds of event, counted from INFO commandstats. */
export async function benchClusterLoad({
  replicas = 50,
  windows = 3,
  cooldownMs = 1_000,
  degradedWindowMs = 200,
} = {}) {
  const title = '10. Cluster coordination: the load on Redis';
  const server = await startBenchRedis();
  if (server === null) return skippedSection(title);
  const client = new Redis(server.url);
  const apps = [];
  const alerts = [];
  try {
    const hook = hookClass('LoadCountingHook', (event) => void alerts.push(event.type));
    const phases = [];
    const measurePhase = async (name, run) => {
      const before = await commandCounts(client);
      await run();
      await settledRedis(client);
      phases.push({ name, delta: commandDelta(before, await commandCounts(client)) });
    };
    const monitors = [];
    await measurePhase('start (connect, open outages, silences)', async () => {
      for (let i = 0; i < replicas; i += 1) {
        const { app, monitor } = await bootMonitor({
          options: { thresholdMs: 0, cooldownMs, cluster: { redis: server.url, replicaId: `replica-${i}` } },
          hooks: [hook],
        });
        apps.push(app);
        monitors.push(monitor);
      }
    });
    await measurePhase(`one outage: ${windows} cooldown windows of failures, then the recovery`, async () => {
      for (let window = 0; window < windows; window += 1) {
        if (window > 0) await new Promise((resolve) => setTimeout(resolve, cooldownMs + 50));
        for (const monitor of monitors) monitor.recordFailure(STORAGE_ERROR);
        await settledRedis(client);
      }
      for (const monitor of monitors) monitor.recordSuccess();
    });
    await measurePhase('100 successes per replica while healthy', async () => {
      for (let n = 0; n < 100; n += 1) for (const monitor of monitors) monitor.recordSuccess();
    });
    const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    // The other kinds of event, on a fleet of its own whose writes fail for less than the threshold.
    for (const app of apps.splice(0)) await app.close();
    monitors.length = 0;
    let usedShare = 0;
    for (let i = 0; i < replicas; i += 1) {
      const { app, monitor } = await bootMonitor({
        options: {
          thresholdMs: 1_000,
          cooldownMs: 60_000,
          degraded: { ratio: 0.5, windowMs: degradedWindowMs, minWrites: 10 },
          capacity: { check: () => usedShare, warnAt: 0.8, intervalMs: 20 },
          classify: (error) => (error.message.includes('constraint') ? 'record' : 'storage'),
          cluster: { redis: server.url, replicaId: `kinds-${i}` },
        },
        hooks: [hook],
      });
      apps.push(app);
      monitors.push(monitor);
    }
    await settledRedis(client);
    await measurePhase(
      `a partial outage (60 % of writes failing for a degraded window): one warning, then its end`,
      async () => {
        // Ten writes per replica every 20 ms, six failing: the tracker's brief outages (a success between failures) included.
        const until = performance.now() + degradedWindowMs + 60;
        while (performance.now() < until) {
          for (const monitor of monitors) {
            for (let n = 0; n < 10; n += 1) {
              if (n % 5 < 3) monitor.recordFailure(STORAGE_ERROR);
              else monitor.recordSuccess();
            }
          }
          await pause(20);
        }
        await settledRedis(client);
        for (let n = 0; n < 3; n += 1) {
          await pause(degradedWindowMs + 20);
          for (const monitor of monitors) monitor.recordSuccess();
        }
      },
    );
    await measurePhase('a capacity warning, then its end', async () => {
      usedShare = 0.9;
      await settledRedis(client);
      usedShare = 0.1;
    });
    const refused = new Error('null value in column "actor" violates not-null constraint');
    await measurePhase('records rejected for the threshold: one alert due per replica', async () => {
      for (const monitor of monitors) monitor.recordFailure(refused);
      await pause(1_050);
      for (const monitor of monitors) monitor.recordFailure(refused);
    });
    const sent = (type) => alerts.filter((t) => t === type).length;
    const describe = (delta) =>
      Object.entries(delta)
        .sort(([, a], [, b]) => b - a)
        .map(([name, calls]) => `${name} ${calls}`)
        .join(', ') || '—';
    const total = (delta) => Object.values(delta).reduce((sum, calls) => sum + calls, 0);
    return {
      title,
      description:
        `${replicas} replicas (Nest application contexts in one process, each with its own module, ioredis ` +
        `connection and \`replicaId\`) on one redis-server 7 started by the bench; \`thresholdMs: 0\`, ` +
        `\`cooldownMs: ${cooldownMs}\`. Every replica fails in each of ${windows} cooldown windows, then succeeds. ` +
        `Then ${replicas} other replicas (\`thresholdMs\` 1 s, \`cooldownMs\` 60 s, a degraded window of ` +
        `${degradedWindowMs} ms) go through a partial outage (ten writes every 20 ms, six failing), a capacity ` +
        `warning and its end, and a rejected record. Sent in all: ` +
        `${sent('audit.storage.unreachable')} unreachable, ${sent('audit.storage.degraded')} degraded, ` +
        `${sent('audit.storage.recovered')} recovered, ${sent('audit.storage.capacity')} capacity, ` +
        `${sent('audit.records.rejected')} rejected. Commands are counted from INFO commandstats (the bench's own ` +
        'INFO left out): each `eval` is one round trip of a replica, and the commands after it are the ones those ' +
        'scripts ran inside Redis.',
      headers: ['phase', 'commands', 'per replica', 'round trips (eval) per replica', 'by command'],
      rows: phases.map(({ name, delta }) => [
        name,
        String(total(delta)),
        (total(delta) / replicas).toFixed(1),
        ((delta.eval ?? 0) / replicas).toFixed(1),
        describe(delta),
      ]),
    };
  } finally {
    for (const app of apps) await app.close();
    client.disconnect();
    await server.stop();
  }
}

/** The token the ledger's writer is provided under (a registered symbol, so it needs no import). */
const LEDGER_TOKEN = Symbol.for('nestjs-audit-alert:ledger');

/**
 * 11. The evidence ledger: what it costs a healthy application (nothing is
 * written while no event is sent), and what one record costs the caller and
 * the disk.
 */
export async function benchLedger() {
  const dir = await mkdtemp(join(tmpdir(), 'audit-bench-ledger-'));
  const off = await bootMonitor({ options: {} });
  const on = await bootMonitor({ options: { ledger: { directory: join(dir, 'ledger') } } });
  const successCase = (name, target) => ({
    name,
    run(n) {
      let acc = 0;
      for (let i = 0; i < n; i += 1) {
        target.recordSuccess();
        acc += i;
      }
      return acc;
    },
  });
  const [offResult, onResult] = await measure(
    [
      successCase('recordSuccess() while healthy, ledger off', off.monitor),
      successCase('recordSuccess() while healthy, ledger on', on.monitor),
    ],
    { iterations: 20_000_000 },
  );
  const ledger = on.app.get(LEDGER_TOKEN);
  await ledger.flushed();
  const record = {
    kind: 'receipt',
    recipient: 'Webhook channel (http://127.0.0.1:9)',
    channel: 'webhook',
    type: 'audit.storage.unreachable',
    monitor: 'default',
    outageId: '6f1c2a1e-8a3b-4c55-9d7e-2b7f0c1d9e42',
    occurrence: 1,
    result: 'delivered',
    attempts: 1,
    reason: null,
    startedAt: '2026-01-01T12:00:00.000Z',
    settledAt: '2026-01-01T12:00:00.120Z',
  };
  const appendNs = [];
  const writtenUs = [];
  const singleMs = [];
  const BURST = 5_000;
  for (let round = 0; round < 9; round += 1) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < BURST; i += 1) ledger.append(record);
    const appended = process.hrtime.bigint();
    await ledger.flushed();
    const written = process.hrtime.bigint();
    const one = process.hrtime.bigint();
    ledger.append(record);
    await ledger.flushed();
    const oneWritten = process.hrtime.bigint();
    if (round < 2) continue;
    appendNs.push(Number(appended - start) / BURST);
    writtenUs.push(Number(written - start) / BURST / 1_000);
    singleMs.push(Number(oneWritten - one) / 1e6);
  }
  await off.app.close();
  await on.app.close();
  await rm(dir, { recursive: true, force: true });
  return {
    title: '11. The evidence ledger',
    description:
      '`ledger` on against off. A healthy application sends no event, so the ledger writes nothing: recordSuccess() ' +
      'is the same call either way (20,000,000 calls per sample, 7 samples, interleaved; target ratio ≈ 1.0×). ' +
      `Then the cost of a record: append() alone (it queues and returns; median of 7 bursts of ${BURST.toLocaleString('en-US')}), ` +
      "the whole cost per record of a burst written and fsync'd in batches, and one record on its own " +
      "(frame, hash, write, fsync: the latency of a single transition's record reaching the disk).",
    headers: ['case', 'figure', 'ratio'],
    rows: [
      [offResult.name, `${formatNs(offResult.nsPerCall)}/call`, ''],
      [onResult.name, `${formatNs(onResult.nsPerCall)}/call`, formatRatio(onResult.nsPerCall / offResult.nsPerCall)],
      ["append() of one receipt (the caller's cost)", `${formatNs(median(appendNs))}/call`, ''],
      [
        `a burst of ${BURST.toLocaleString('en-US')} receipts, written and fsync'd`,
        `${median(writtenUs).toFixed(2)} µs/record`,
        '',
      ],
      ["one receipt alone, appended to fsync'd", formatMs(median(singleMs)), ''],
    ],
  };
}
