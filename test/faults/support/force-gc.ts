import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Node's `gc()` even when the process was started without `--expose-gc`: the
 * flag, set at run time, exposes it to contexts created afterwards.
 */
export function exposeGc(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Bytes of heap in use once garbage has been collected. */
export function settledHeapUsed(gc: () => void): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
