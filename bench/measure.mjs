/**
 * The one measuring helper every throughput benchmark shares, plus the
 * statistics and formatting the tables use.
 */

/**
 * Everything a measured loop computes ends up here, so the JIT cannot prove
 * the work useless and drop it.
 */
export const sink = { value: 0 };

/**
 * Times several cases against each other in the same run and returns the
 * median ns per call of each.
 *
 * Samples are interleaved (one sample of every case per round, the order
 * rotating each round) so that drift of the machine — other processes, GC,
 * frequency scaling — falls on every case alike instead of on whichever case
 * ran last.
 *
 * @param {{ name: string, run: (n: number) => number | Promise<number> }[]} cases
 *   `run(n)` performs n calls in its own loop and returns a number to sink.
 *   Each case writes its own loop so that every call site stays monomorphic.
 * @param {{ iterations: number, samples?: number, warmup?: number }} plan
 * @returns {Promise<{ name: string, nsPerCall: number, min: number, max: number }[]>}
 */
export async function measure(cases, { iterations, samples = 7, warmup = 2 }) {
  const perCase = cases.map(() => []);
  for (let round = 0; round < warmup + samples; round += 1) {
    for (let k = 0; k < cases.length; k += 1) {
      const index = (k + round) % cases.length;
      const start = process.hrtime.bigint();
      let result = cases[index].run(iterations);
      // Only asynchronous cases pay for an await; a synchronous loop is timed bare.
      if (result instanceof Promise) result = await result;
      const elapsed = Number(process.hrtime.bigint() - start);
      sink.value += result;
      if (round >= warmup) perCase[index].push(elapsed / iterations);
    }
  }
  return cases.map((c, i) => ({
    name: c.name,
    nsPerCall: median(perCase[i]),
    min: Math.min(...perCase[i]),
    max: Math.max(...perCase[i]),
  }));
}

/** Median of `values` (not modified). */
export function median(values) {
  return percentile(values, 50);
}

/** Nearest-rank percentile of `values` (not modified), `p` in 0–100. */
export function percentile(values, p) {
  const sorted = Float64Array.from(values).sort();
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

/** Waits for a turn of the event loop, so deferred work (setImmediate, promise chains) runs. */
export function nextTurn() {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Nanoseconds, with as many decimals as the magnitude deserves. */
export function formatNs(ns) {
  if (ns < 10) return `${ns.toFixed(2)} ns`;
  if (ns < 1_000) return `${ns.toFixed(1)} ns`;
  return `${Math.round(ns).toLocaleString('en-US')} ns`;
}

/** A duration given in milliseconds, shown in µs below a millisecond. */
export function formatMs(ms) {
  if (ms < 1) return `${(ms * 1_000).toFixed(1)} µs`;
  return `${ms.toFixed(2)} ms`;
}

/** A ratio such as 1.23×. */
export function formatRatio(ratio) {
  return `${ratio.toFixed(ratio < 10 ? 2 : 1)}×`;
}

/** Bytes as KiB or MiB, keeping the sign. */
export function formatBytes(bytes) {
  const sign = bytes < 0 ? '−' : '';
  const abs = Math.abs(bytes);
  if (abs < 1024 * 1024) return `${sign}${(abs / 1024).toFixed(1)} KiB`;
  return `${sign}${(abs / 1024 / 1024).toFixed(2)} MiB`;
}
