import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Injectable, Module, Post, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Readable } from 'node:stream';
import { defer, firstValueFrom, isObservable, NEVER, type Observable, Subject } from 'rxjs';
import {
  AUDIT_ALERT_CLOCK,
  AuditAlertConfigError,
  AuditAlertHook,
  AuditAlertModule,
  AuditStorageMonitor,
  TrackAuditWrite,
  type AuditAlertEvent,
  type OnAuditAlert,
} from '../../src/index.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { flush, ManualClock } from '../support/manual-clock.js';

/*
 * Issue #20, item 6: a method under @TrackAuditWrite() that returned an
 * Observable was recorded as a success when it returned, before anything had
 * subscribed and so before the write ran: 231 of 231 writes failed, no alert.
 */

/** A stand-in for a database table, written asynchronously. */
class Table {
  readonly rows: string[] = [];
  down = false;

  async insert(row: string): Promise<string> {
    await Promise.resolve();
    if (this.down) throw new Error(`insert ${row}: connection refused`);
    this.rows.push(row);
    return `id-${this.rows.length}`;
  }
}

@Injectable()
class ReactiveAuditService {
  readonly table = new Table();

  /** The write runs on subscription, as an HTTP client's or a driver's Observable does. */
  @TrackAuditWrite()
  write$(row: string): Observable<string> {
    return defer(() => this.table.insert(row));
  }

  /** Never answers: a hung write. */
  @TrackAuditWrite()
  hang$(): Observable<string> {
    return NEVER;
  }

  /** Emits on the subject's command. */
  @TrackAuditWrite()
  fromSubject$(subject: Subject<string>): Observable<string> {
    return subject.asObservable();
  }

  /** A thenable that is not a Promise, lazy like a query builder: the write runs when `then` is called. */
  @TrackAuditWrite()
  lazyQuery(row: string): PromiseLike<string> {
    return { then: (onValue, onError) => this.table.insert(row).then(onValue, onError) };
  }

  @TrackAuditWrite()
  async *writeEach(rows: string[]): AsyncGenerator<string> {
    for (const row of rows) yield await this.table.insert(row);
  }

  @TrackAuditWrite()
  stream(): Readable {
    return Readable.from(['a', 'b']);
  }

  @TrackAuditWrite()
  value(): number {
    return 7;
  }
}

@Controller('records')
class RecordsController {
  constructor(private readonly service: ReactiveAuditService) {}

  @Post()
  create(): Observable<string> {
    return this.service.write$('over-http');
  }
}

@Injectable()
@AuditAlertHook()
class RecordingHook implements OnAuditAlert {
  readonly events: AuditAlertEvent[] = [];
  onAuditAlert(event: AuditAlertEvent): void {
    this.events.push(event);
  }
}

const apps: INestApplication[] = [];

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function start() {
  const logger = new CaptureLogger();
  @Module({
    imports: [AuditAlertModule.forRoot({ thresholdMs: 1_000, writeTimeoutMs: 5_000, degraded: false })],
    providers: [ReactiveAuditService, RecordingHook],
    controllers: [RecordsController],
  })
  class AppModule {}
  const clock = new ManualClock();
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(AUDIT_ALERT_CLOCK)
    .useValue(clock)
    .compile();
  const app = moduleRef.createNestApplication({ logger });
  apps.push(app);
  await app.listen(0, '127.0.0.1');
  const base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return {
    app,
    clock,
    logger,
    base,
    service: app.get(ReactiveAuditService),
    monitor: app.get(AuditStorageMonitor),
    hook: app.get(RecordingHook),
  };
}

describe('@TrackAuditWrite() on what a method can return', () => {
  it('tracks an Observable per subscription: nothing on return, the failure when the write fails, then the alert', async () => {
    const { service, monitor, clock, hook } = await start();
    service.table.down = true;
    const write$ = service.write$('row-1');
    expect(isObservable(write$)).toBe(true);
    // Returned, not subscribed: no write ran, nothing is recorded.
    expect(monitor.getStatus()).toMatchObject({ state: 'healthy', pendingWrites: 0 });

    await expect(firstValueFrom(write$)).rejects.toThrow('insert row-1: connection refused');
    expect(monitor.getStatus()).toMatchObject({ state: 'failing', consecutiveFailures: 1 });
    // Each subscription is one write.
    for (let i = 0; i < 3; i += 1) await expect(firstValueFrom(write$)).rejects.toThrow();
    expect(monitor.getStatus().consecutiveFailures).toBe(4);

    clock.advance(1_000);
    await flush();
    expect(monitor.getStatus().state).toBe('alerting');
    expect(hook.events.map((e) => e.type)).toEqual(['audit.storage.unreachable']);

    service.table.down = false;
    await expect(firstValueFrom(write$)).resolves.toBe('id-1');
    await flush();
    expect(monitor.getStatus().state).toBe('healthy');
    expect(hook.events.map((e) => e.type)).toEqual(['audit.storage.unreachable', 'audit.storage.recovered']);
  });

  it('tracks an Observable a controller returns, which Nest subscribes to, over real HTTP', async () => {
    const { service, monitor, base } = await start();
    service.table.down = true;
    for (let i = 0; i < 3; i += 1) expect((await fetch(`${base}/records`, { method: 'POST' })).status).toBe(500);
    expect(monitor.getStatus()).toMatchObject({ state: 'failing', consecutiveFailures: 3 });
    service.table.down = false;
    const response = await fetch(`${base}/records`, { method: 'POST' });
    expect(response.status).toBe(201);
    expect(await response.text()).toBe('id-1');
    expect(monitor.getStatus().state).toBe('healthy');
  });

  it('counts an Observable that never answers as a hung write, and one unsubscribed first as nothing', async () => {
    const { service, monitor, clock } = await start();
    const subject = new Subject<string>();
    const cancelled = service.fromSubject$(subject).subscribe();
    expect(monitor.getStatus().pendingWrites).toBe(1);
    cancelled.unsubscribe();
    expect(monitor.getStatus()).toMatchObject({ state: 'healthy', pendingWrites: 0 });

    // The first value is the success; the rest of the stream is no new write.
    const values: string[] = [];
    const live = service.fromSubject$(subject).subscribe((value) => values.push(value));
    monitor.recordFailure(new Error('earlier'));
    subject.next('a');
    expect(monitor.getStatus().state).toBe('healthy');
    subject.next('b');
    live.unsubscribe();
    expect(values).toEqual(['a', 'b']);

    const hung = service.hang$().subscribe();
    clock.advance(5_000);
    clock.advance(5_000);
    // Hung since it was subscribed, past the threshold too.
    expect(monitor.getStatus()).toMatchObject({ state: 'alerting', lastError: expect.stringContaining('5000 ms') });
    // Given up on: it leaves the watch, and its failure stands.
    hung.unsubscribe();
    expect(monitor.getStatus()).toMatchObject({ state: 'alerting', pendingWrites: 0 });
  });

  it('tracks a thenable that is not a Promise, running it once', async () => {
    const { service, monitor } = await start();
    service.table.down = true;
    const pending = service.lazyQuery('row-1');
    await expect(pending).rejects.toThrow('connection refused');
    expect(monitor.getStatus().consecutiveFailures).toBe(1);
    service.table.down = false;
    await expect(service.lazyQuery('row-2')).resolves.toBe('id-1');
    expect(service.table.rows).toEqual(['row-2']);
    expect(monitor.getStatus().state).toBe('healthy');
  });

  it('tracks an async generator per iteration: its first result, or its throw', async () => {
    const { service, monitor } = await start();
    service.table.down = true;
    const rows = service.writeEach(['r1', 'r2']);
    expect(monitor.getStatus()).toMatchObject({ state: 'healthy', pendingWrites: 0 });
    await expect(
      (async () => {
        for await (const _ of rows) void _;
      })(),
    ).rejects.toThrow('insert r1: connection refused');
    expect(monitor.getStatus()).toMatchObject({ state: 'failing', consecutiveFailures: 1, pendingWrites: 0 });

    service.table.down = false;
    const ids: string[] = [];
    for await (const id of service.writeEach(['r3', 'r4'])) ids.push(id);
    expect(ids).toEqual(['id-1', 'id-2']);
    expect(monitor.getStatus()).toMatchObject({ state: 'healthy', pendingWrites: 0 });

    // Left after its first value: no write is left pending.
    const partial = service.writeEach(['r5', 'r6']);
    expect(await partial.next()).toEqual({ value: 'id-3', done: false });
    await partial.return(undefined);
    expect(service.table.rows).toEqual(['r3', 'r4', 'r5']);
    expect(monitor.getStatus().pendingWrites).toBe(0);
  });

  it('returns another async iterable (a stream) unchanged, untracked, with one warning; a value is a success', async () => {
    const { service, monitor, logger } = await start();
    const stream = service.stream();
    expect(stream).toBeInstanceOf(Readable);
    service.stream();
    expect(logger.of('warn')).toEqual([
      expect.stringMatching(/^ReactiveAuditService\.stream \(@TrackAuditWrite\) returned an async iterable/),
    ]);
    monitor.recordFailure(new Error('earlier'));
    expect(service.value()).toBe(7);
    expect(monitor.getStatus().state).toBe('healthy');
  });

  it('refuses a generator function as the class loads', () => {
    const decorate = TrackAuditWrite();
    class Writer {
      *rows(): Generator<number> {
        yield 1;
      }
    }
    const descriptor = Object.getOwnPropertyDescriptor(Writer.prototype, 'rows')!;
    expect(() => decorate(Writer.prototype, 'rows', descriptor)).toThrow(AuditAlertConfigError);
    expect(() => decorate(Writer.prototype, 'rows', descriptor)).toThrow(
      /cannot track Writer\.rows: it is a generator function/,
    );
  });
});
