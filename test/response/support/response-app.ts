import type { INestApplication, Provider } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { AUDIT_ALERT_LEDGER } from '../../../src/audit-alert.constants.js';
import { AUDIT_ALERT_RANDOM } from '../../../src/channels/channel.constants.js';
import type { AuditLedgerWriter, LedgerRecord } from '../../../src/ledger/ledger-entry.interface.js';
import {
  AUDIT_ALERT_CLOCK,
  AuditAlertModule,
  type AuditAlertModuleOptions,
  AuditAlertPagerDutyModule,
  AuditMonitorRegistry,
  AuditStorageMonitor,
} from '../../../src/index.js';
import { CaptureLogger } from '../../support/capture-logger.js';
import { ManualClock } from '../../support/manual-clock.js';

/** The ledger's writer as a list: what the module recorded, in order. */
export class MemoryLedger implements AuditLedgerWriter {
  readonly records: LedgerRecord[] = [];
  append(record: LedgerRecord): void {
    this.records.push(record);
  }
  appendSynced(record: LedgerRecord): Promise<boolean> {
    this.append(record);
    return Promise.resolve(true);
  }
  of<K extends LedgerRecord['kind']>(kind: K): Extract<LedgerRecord, { kind: K }>[] {
    return this.records.filter((record): record is Extract<LedgerRecord, { kind: K }> => record.kind === kind);
  }
}

/** An application booted for a response test: its clock, its ledger, its logs, and its URL when it listens. */
export interface ResponseApp {
  readonly app: INestApplication;
  readonly clock: ManualClock;
  readonly ledger: MemoryLedger;
  readonly logger: CaptureLogger;
  readonly registry: AuditMonitorRegistry;
  readonly monitor: AuditStorageMonitor;
  /** `http://127.0.0.1:<port>` when the application listens; else `null`. */
  readonly url: string | null;
}

/**
 * Boots `AuditAlertModule.forRoot(options)` with a hand-driven clock, pinned
 * retry jitter and an in-memory ledger; with `webhook`, also the PagerDuty
 * route, on Express or Fastify, created with `rawBody: true` and listening on
 * 127.0.0.1.
 */
export async function bootResponseApp(
  options: AuditAlertModuleOptions,
  webhook?: { platform: 'express' | 'fastify'; secrets: string[]; rawBody?: boolean },
  providers: Provider[] = [],
): Promise<ResponseApp> {
  const clock = new ManualClock();
  const ledger = new MemoryLedger();
  const logger = new CaptureLogger();
  const moduleRef = await Test.createTestingModule({
    imports: [
      AuditAlertModule.forRoot(options),
      ...(webhook ? [AuditAlertPagerDutyModule.register({ secrets: webhook.secrets })] : []),
    ],
    providers,
  })
    .overrideProvider(AUDIT_ALERT_CLOCK)
    .useValue(clock)
    .overrideProvider(AUDIT_ALERT_RANDOM)
    .useValue(() => 0)
    .overrideProvider(AUDIT_ALERT_LEDGER)
    .useValue(ledger)
    .setLogger(logger)
    .compile();
  const settings = { logger, rawBody: webhook?.rawBody ?? true };
  const app =
    webhook?.platform === 'fastify'
      ? moduleRef.createNestApplication(new FastifyAdapter(), settings)
      : moduleRef.createNestApplication(settings);
  let url: string | null = null;
  if (webhook) {
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1');
  } else {
    await app.init();
  }
  return {
    app,
    clock,
    ledger,
    logger,
    registry: app.get(AuditMonitorRegistry),
    monitor: app.get(AuditStorageMonitor),
    url,
  };
}

/** Closes `booted`, moving its clock on while shutdown waits for deliveries still retrying. */
export async function closeResponseApp({ app, clock }: ResponseApp): Promise<void> {
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
