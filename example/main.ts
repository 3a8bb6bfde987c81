import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitter2 } from '@nestjs/event-emitter';
import {
  type AuditAlertEvent,
  AuditAlertEvents,
  AuditStorageMonitor,
  type StorageRecoveredEvent,
  type StorageUnreachableEvent,
} from 'nestjs-audit-alert';
import { setTimeout as sleep } from 'node:timers/promises';
import { filter, firstValueFrom, fromEvent, throwError, timeout } from 'rxjs';
import { AppModule, type AppOptions } from './app.module.js';
import { AuditService } from './audit.service.js';
import { AuditTraffic } from './audit-traffic.service.js';
import { EmbeddedPostgres } from './embedded-postgres.js';
import { GapTrail } from './gap-trail.js';
import { seconds, timeline } from './timeline.js';
import { WebhookReceiver } from './webhook-receiver.js';

/** Short enough to watch a whole outage, alert, repeat and recovery, in a few seconds. */
const DEMO_THRESHOLD_MS = 1_500;
const DEMO_COOLDOWN_MS = 2_000;
const DEMO_WRITE_INTERVAL_MS = 200;
/** Against a database of your own, a calmer pace. */
const LIVE_WRITE_INTERVAL_MS = 1_000;
/** A scenario step that takes longer than this means the demo is broken: fail rather than hang. */
const STEP_TIMEOUT_MS = 15_000;

/** Starts the application quietly (Nest's own logs: warnings and errors only) and prints the monitor's state changes. */
async function createApp(options: AppOptions): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(AppModule.register(options), {
    logger: ['warn', 'error'],
  });
  const monitor = app.get(AuditStorageMonitor);
  let previous = monitor.getStatus().state;
  monitor.status$.subscribe(({ state }) => {
    timeline.print('monitor', `${previous} -> ${state}`);
    previous = state;
  });
  return app;
}

/** Resolves with the next event of `type` that `accept` takes. */
function nextEvent<T extends AuditAlertEvent>(
  app: INestApplicationContext,
  type: T['type'],
  accept: (event: T) => boolean = () => true,
): Promise<T> {
  return firstValueFrom(
    fromEvent(app.get(EventEmitter2), type, (event: T) => event).pipe(
      filter(accept),
      timeout({
        first: STEP_TIMEOUT_MS,
        with: () => throwError(() => new Error(`No matching ${type} event within ${STEP_TIMEOUT_MS} ms`)),
      }),
    ),
  );
}

/** The scripted outage against an embedded Postgres; returns when it is over. */
async function runEmbeddedDemo(): Promise<void> {
  timeline.print('demo', 'starting an embedded Postgres (PGlite) on 127.0.0.1');
  const database = await EmbeddedPostgres.start();
  timeline.print('db', `listening at ${database.url}`);
  const receiver = await WebhookReceiver.start();
  timeline.print('webhook', `receiver listening at ${receiver.url}`);
  const app = await createApp({
    databaseUrl: database.url,
    thresholdMs: DEMO_THRESHOLD_MS,
    cooldownMs: DEMO_COOLDOWN_MS,
    webhookUrl: receiver.url,
  });
  try {
    timeline.print('demo', 'application started', {
      threshold: seconds(DEMO_THRESHOLD_MS),
      cooldown: seconds(DEMO_COOLDOWN_MS),
      writes: `one every ${DEMO_WRITE_INTERVAL_MS} ms`,
    });
    const traffic = app.get(AuditTraffic);
    traffic.start(DEMO_WRITE_INTERVAL_MS);
    await sleep(1_000);

    const repeated = nextEvent<StorageUnreachableEvent>(
      app,
      AuditAlertEvents.StorageUnreachable,
      (event) => event.occurrence >= 2,
    );
    await database.takeDown();
    timeline.print('db', 'DOWN: server stopped, connections dropped and refused');
    await repeated;
    // A few more failures after the repeat, so the timeline shows the cooldown at work.
    await sleep(400);

    const recovered = nextEvent<StorageRecoveredEvent>(app, AuditAlertEvents.StorageRecovered);
    await database.bringBack();
    timeline.print('db', 'UP: server listening again on the same port');
    await recovered;
    await sleep(600);

    const gaps = app.get(GapTrail);
    for (let waited = 0; (await gaps.rows()).length === 0; waited += 100) {
      if (waited > STEP_TIMEOUT_MS) throw new Error(`No gap record within ${STEP_TIMEOUT_MS} ms`);
      await sleep(100);
    }
    const tally = await traffic.stop();
    const rows = await app.get(AuditService).count();
    timeline.print('demo', 'done', {
      writesAttempted: tally.attempted,
      writesStored: tally.stored,
      writesFailed: tally.failed,
      rowsInDemoTable: rows,
      gapRowsInDemoTable: (await gaps.rows()).length,
    });
  } finally {
    await app.close();
    await receiver.close();
    await database.close();
  }
}

/** An optional duration from the environment; `undefined` leaves the module's default. */
function durationFromEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value)) {
    throw new Error(`${name} must be a number of milliseconds, received ${JSON.stringify(raw)}`);
  }
  return value;
}

/** Where `url` points, without its credentials. */
function describeServer(url: string): string {
  try {
    const { host, pathname } = new URL(url);
    return `${host}${pathname}`;
  } catch {
    return 'the server in DATABASE_URL';
  }
}

/** Writes to your own Postgres until SIGINT or SIGTERM: stop the server to see the alerts. */
async function runAgainst(databaseUrl: string): Promise<void> {
  const thresholdMs = durationFromEnv('AUDIT_THRESHOLD_MS');
  const cooldownMs = durationFromEnv('AUDIT_COOLDOWN_MS');
  const app = await createApp({ databaseUrl, thresholdMs, cooldownMs });
  // On a signal Nest closes the application: the traffic stops, then the pool ends.
  app.enableShutdownHooks();
  timeline.print('demo', `audit trail in ${describeServer(databaseUrl)}; stop the server to see the alerts`, {
    threshold: thresholdMs === undefined ? 'module default' : seconds(thresholdMs),
    cooldown: cooldownMs === undefined ? 'module default' : seconds(cooldownMs),
    writes: `one every ${LIVE_WRITE_INTERVAL_MS} ms`,
    quit: 'Ctrl+C',
  });
  app.get(AuditTraffic).start(LIVE_WRITE_INTERVAL_MS);
}

const databaseUrl = process.env.DATABASE_URL;
try {
  await (databaseUrl ? runAgainst(databaseUrl) : runEmbeddedDemo());
} catch (error) {
  console.error(error);
  process.exit(1);
}
