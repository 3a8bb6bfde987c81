/**
 * One small function per benchmark. Each boots what it needs, measures, shuts
 * down, and returns a section of the report: a title, what was measured, and
 * a table.
 */
import { performance } from 'node:perf_hooks';
import CircuitBreaker from 'opossum';
import { circuitBreaker, ConsecutiveBreaker, handleAll } from 'cockatiel';
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

/** An error as a database driver reports a refused connection. */
const STORAGE_ERROR = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

/** Stands for "a method call that does nothing", the floor every hot-path figure is compared with. */
class Baseline {
  noop() {}
  noopWith(_error) {}
}

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
  const results = await measure(
    [
      {
        name: 'baseline: empty method call',
        run(n) {
          let acc = 0;
          for (let i = 0; i < n; i += 1) {
            baseline.noop();
            acc += i;
          }
          return acc;
        },
      },
      {
        name: 'recordSuccess() while healthy',
        run(n) {
          let acc = 0;
          for (let i = 0; i < n; i += 1) {
            monitor.recordSuccess();
            acc += i;
          }
          return acc;
        },
      },
    ],
    { iterations: 20_000_000 },
  );
  await app.close();
  return {
    title: '1. recordSuccess() while healthy',
    description:
      '20,000,000 calls per sample, 7 samples after 2 warm-up rounds, baseline interleaved. ' +
      'The JIT inlines both calls, so the baseline is the bare loop: a ratio near 1 means ' +
      'recordSuccess() adds nothing measurable to it.',
    headers: hotPathHeaders,
    rows: hotPathRows(setup.label, results),
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

/** 3. `track()` around an operation that has already resolved, beside two circuit breakers doing the same. */
export async function benchTrack(setup = DEFAULT_SETUP) {
  const { app, monitor } = await bootMonitor(setup);
  const op = () => Promise.resolve(1);
  const opossumDefaults = new CircuitBreaker(op);
  const opossumNoTimeout = new CircuitBreaker(op, { timeout: false });
  const cockatiel = circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) });
  const results = await measure(
    [
      {
        name: 'baseline: await op()',
        async run(n) {
          let acc = 0;
          for (let i = 0; i < n; i += 1) acc += await op();
          return acc;
        },
      },
      {
        name: 'await monitor.track(op)',
        async run(n) {
          let acc = 0;
          for (let i = 0; i < n; i += 1) acc += await monitor.track(op);
          return acc;
        },
      },
      {
        name: 'await opossum breaker.fire() (defaults: 10 s timeout)',
        async run(n) {
          let acc = 0;
          for (let i = 0; i < n; i += 1) acc += await opossumDefaults.fire();
          return acc;
        },
      },
      {
        name: 'await opossum breaker.fire() ({ timeout: false })',
        async run(n) {
          let acc = 0;
          for (let i = 0; i < n; i += 1) acc += await opossumNoTimeout.fire();
          return acc;
        },
      },
      {
        name: 'await cockatiel breaker.execute(op)',
        async run(n) {
          let acc = 0;
          for (let i = 0; i < n; i += 1) acc += await cockatiel.execute(op);
          return acc;
        },
      },
    ],
    { iterations: 100_000 },
  );
  opossumDefaults.shutdown();
  opossumNoTimeout.shutdown();
  await app.close();

  const [baseline, track, ...breakers] = results;
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
      '`op = () => Promise.resolve(1)`; cockatiel: `circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) })`. ' +
      '100,000 awaited calls per sample, 7 samples after 2 warm-up rounds, all cases interleaved. ' +
      'Target: track() overhead ≤ 0.10× a breaker overhead.',
    headers: ['case', 'ns/call (median)', 'overhead over baseline', 'ratio to baseline', 'track() overhead ÷ this overhead'],
    rows,
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
    headers: ['calls', 'heapUsed before', 'heapUsed after', 'growth', 'largest growth at a checkpoint', 'failures counted'],
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
    description:
      `The synchronous call alone (process.hrtime.bigint() around it), \`thresholdMs: 0\`; ${outages} outages after ${warmup} warm-up ones.`,
    headers: ['hooks', 'median', 'p99', 'max'],
    rows,
  };
}
