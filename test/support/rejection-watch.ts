import { afterAll, beforeAll, expect } from '@jest/globals';
import { runInThisContext } from 'node:vm';

/**
 * Collects unhandled rejections while installed. Jest gives each test file a
 * copy of `process` that Node never emits on, so the listener goes on the real one.
 */
export class RejectionWatch {
  readonly reasons: unknown[] = [];
  private readonly process = runInThisContext('process') as NodeJS.Process;
  private readonly listener = (reason: unknown): void => void this.reasons.push(reason);

  install(): void {
    this.process.on('unhandledRejection', this.listener);
  }

  uninstall(): void {
    this.process.off('unhandledRejection', this.listener);
  }
}

/** Fails the test file if anything it ran left an unhandled rejection behind. */
export function expectNoUnhandledRejections(): void {
  const watch = new RejectionWatch();
  beforeAll(() => watch.install());
  afterAll(() => {
    watch.uninstall();
    expect(watch.reasons).toEqual([]);
  });
}
