import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { config, map } from 'rxjs';
import { CaptureLogger } from '../support/capture-logger.js';
import { flush } from '../support/manual-clock.js';
import { monitorHarness } from '../support/monitor-harness.js';

/*
 * RxJS hands an error no subscriber handles to config.onUnhandledError, or else
 * rethrows it from a timer, which ends the process: catching it here shows
 * whether the monitor let one escape.
 */
describe('status$ subscribers', () => {
  let escaped: unknown[];
  let logger: CaptureLogger;

  beforeEach(() => {
    escaped = [];
    config.onUnhandledError = (error) => escaped.push(error);
    logger = new CaptureLogger();
    Logger.overrideLogger(logger);
  });

  afterEach(() => {
    config.onUnhandledError = null;
    Logger.overrideLogger(new Logger());
  });

  it('never run on the stack of the write that changed the state', () => {
    const { monitor } = monitorHarness({ thresholdMs: 0 });
    const seen: string[] = [];
    monitor.status$.subscribe((status) => seen.push(status.state));
    monitor.recordFailure(new Error('down'));
    expect(seen).toEqual([]);
  });

  it('a subscriber that throws is logged, and harms neither the write path nor the other subscribers', async () => {
    const { monitor } = monitorHarness({ thresholdMs: 0 });
    const seen: string[] = [];
    monitor.status$.subscribe(() => {
      throw new Error('subscriber bug\r\nforged line');
    });
    monitor.status$.pipe(map(() => JSON.parse('{'))).subscribe(() => undefined);
    monitor.status$.subscribe((status) => seen.push(status.state));
    expect(() => monitor.recordFailure(new Error('down'))).not.toThrow();
    expect(() => monitor.recordSuccess()).not.toThrow();
    await flush();
    expect(escaped).toEqual([]);
    expect(seen).toEqual(['alerting', 'healthy']);
    const errors = logger.of('error');
    expect(errors).toHaveLength(3); // the pipeline that failed ends with its error
    expect(errors[0]).toBe('A subscriber of status$ of monitor "default" failed: Error: subscriber bug forged line');
    expect(errors[1]).toMatch(/^A subscriber of status\$ of monitor "default" failed: SyntaxError: /);
  });

  it('an error handler that throws is logged too', async () => {
    const { monitor } = monitorHarness({ thresholdMs: 0 });
    monitor.status$.pipe(map(() => JSON.parse('{'))).subscribe({
      error: () => {
        throw new Error('handler bug');
      },
    });
    monitor.recordFailure(new Error('down'));
    await flush();
    expect(escaped).toEqual([]);
    expect(logger.of('error')).toEqual(['A subscriber of status$ of monitor "default" failed: Error: handler bug']);
  });

  it('derive the error text when they read it, not on the write path', async () => {
    const { clock, monitor } = monitorHarness({ thresholdMs: 1_000 });
    let reads = 0;
    const error = {
      get message(): string {
        reads += 1;
        return 'down';
      },
    };
    const seen: (string | null)[] = [];
    monitor.status$.subscribe((status) => seen.push(status.lastError));
    monitor.recordFailure(error);
    expect(reads).toBe(0);
    await flush();
    expect(seen).toEqual(["{ message: 'down' }"]);
    expect(reads).toBe(1);
    clock.advance(1_000); // the alert carries the text derived already
    await flush();
    monitor.recordSuccess();
    await flush();
    expect(seen).toEqual(["{ message: 'down' }", "{ message: 'down' }", null]);
    expect(reads).toBe(1);
  });
});
