import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AUDIT_ALERT_RANDOM } from '../../../src/channels/channel.constants.js';
import { AUDIT_ALERT_LEDGER } from '../../../src/audit-alert.constants.js';
import type { AuditLedgerWriter } from '../../../src/ledger/ledger-entry.interface.js';
import {
  AUDIT_ALERT_CLOCK,
  AuditAlertModule,
  type AuditAlertModuleOptions,
  AuditStorageMonitor,
} from '../../../src/index.js';
import { CaptureLogger } from '../../support/capture-logger.js';
import { flush, ManualClock } from '../../support/manual-clock.js';
import { HttpReceiver, waitFor } from './http-receiver.js';

/** A Nest application booted for a channel test, with its hand-driven clock and captured logs. */
export interface BootedApp {
  readonly app: INestApplication;
  readonly clock: ManualClock;
  readonly logger: CaptureLogger;
  readonly monitor: AuditStorageMonitor;
}

/**
 * Boots real Nest applications with a clock driven by hand and retry jitter
 * pinned to its lowest value, and starts real HTTP receivers; {@link dispose}
 * (in `afterEach`) closes them all.
 */
export class ChannelApps {
  private readonly apps: BootedApp[] = [];
  private readonly receivers: HttpReceiver[] = [];

  /**
   * Boots an application importing `AuditAlertModule.forRoot(options)` and `extra`.
   * @param extra Providers of the application, and the ledger writer the module records through.
   * @param clock The application's clock: a restarted one continues where the first one's time is.
   */
  async boot(
    options: AuditAlertModuleOptions,
    extra: Pick<ModuleMetadata, 'providers'> & { ledger?: AuditLedgerWriter } = {},
    clock = new ManualClock(),
  ): Promise<BootedApp> {
    const logger = new CaptureLogger();
    const builder = Test.createTestingModule({
      imports: [AuditAlertModule.forRoot(options)],
      providers: extra.providers ?? [],
    });
    // A test's own writer replaces the one the `ledger` option builds; without one, the option decides.
    if (extra.ledger) builder.overrideProvider(AUDIT_ALERT_LEDGER).useValue(extra.ledger);
    const moduleRef = await builder
      .overrideProvider(AUDIT_ALERT_CLOCK)
      .useValue(clock)
      .overrideProvider(AUDIT_ALERT_RANDOM)
      .useValue(() => 0)
      // The module logs from its constructors too, before the application's logger is set.
      .setLogger(logger)
      .compile();
    const app = moduleRef.createNestApplication({ logger });
    await app.init();
    const booted = { app, clock, logger, monitor: app.get(AuditStorageMonitor) };
    this.apps.push(booted);
    return booted;
  }

  /** A receiver on 127.0.0.1, closed by {@link dispose}. */
  async receiver(): Promise<HttpReceiver> {
    const started = await HttpReceiver.start();
    this.receivers.push(started);
    return started;
  }

  /** Leaves `booted` for the test to close itself. */
  release(booted: BootedApp): void {
    this.apps.splice(this.apps.indexOf(booted), 1);
  }

  async dispose(): Promise<void> {
    for (const booted of this.apps.splice(0)) await closeApp(booted);
    for (const receiver of this.receivers.splice(0)) await receiver.close();
  }
}

/** Closes an application whose shutdown may wait on its clock (deliveries still retrying), moving time on. */
export async function closeApp({ app, clock }: BootedApp): Promise<void> {
  let closed = false;
  const closing = app.close().then(() => {
    closed = true;
  });
  while (!closed) {
    clock.advance(60_000);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await closing;
}

/** Waits until something other than the monitor has armed a timer on the clock: a backoff, or the shutdown drain. */
export const waitForTimers = (clock: ManualClock, count = 1): Promise<void> =>
  waitFor(() => clock.pendingTimers >= count, `${count} pending timers`);

/** Gives deferred work a few real milliseconds, to show that something does not happen. */
export async function settle(): Promise<void> {
  await flush();
  await new Promise((resolve) => setTimeout(resolve, 20));
  await flush();
}
