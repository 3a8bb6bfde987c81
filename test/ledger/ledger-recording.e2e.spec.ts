import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable } from '@nestjs/common';
import { appendFile, mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUDIT_ALERT_LEDGER } from '../../src/audit-alert.constants.js';
import type { AuditLedger } from '../../src/ledger/audit-ledger.writer.js';
import type { LedgerLine } from '../../src/ledger/ledger-entry.interface.js';
import { resolveAuditAlertOptions } from '../../src/audit-alert.options.js';
import {
  AuditAlertConfigError,
  AuditAlertHook,
  AuditMonitorRegistry,
  type OnAuditAlert,
  verifyAuditLedger,
  verifyAuditSpool,
} from '../../src/index.js';
import { PACKAGE_VERSION } from '../../src/package-manifest.js';
import { type BootedApp, ChannelApps, waitForTimers } from '../channels/support/channel-app.js';
import { waitFor } from '../channels/support/http-receiver.js';
import { expectNoUnhandledRejections } from '../support/rejection-watch.js';

expectNoUnhandledRejections();

const apps = new ChannelApps();
const dirs: string[] = [];
afterEach(async () => {
  await apps.dispose();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const ROUTING_KEY = 'R0UTINGKEY0123456789abcdef012345';
const SIGNING_SECRET = 'S1GN1NG-SECRET-0123456789abcdef';

async function ledgerDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'audit-ledger-e2e-'));
  dirs.push(dir);
  return join(dir, 'ledger');
}

/** Every line of the ledger, once what was appended is written. */
async function ledgerLines({ app }: BootedApp): Promise<LedgerLine[]> {
  const ledger = app.get<AuditLedger>(AUDIT_ALERT_LEDGER);
  await ledger.flushed();
  const text = await ledgerText(app.get(AuditMonitorRegistry));
  return text === ''
    ? []
    : text
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as LedgerLine);
}

/** The ledger's lines once `ready` holds of them (polled for at most two seconds). */
async function linesWhen(booted: BootedApp, ready: (lines: LedgerLine[]) => boolean): Promise<LedgerLine[]> {
  const deadline = Date.now() + 2_000;
  for (;;) {
    const lines = await ledgerLines(booted);
    if (ready(lines) || Date.now() > deadline) return lines;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const ledgerText = (registry: AuditMonitorRegistry): Promise<string> => registry.exportEvidence({ format: 'jsonl' });

async function rawFiles(directory: string): Promise<string> {
  const names = (await readdir(directory)).filter((name) => name.endsWith('.jsonl')).sort();
  return (await Promise.all(names.map((name) => readFile(join(directory, name), 'utf8')))).join('');
}

const ofKind = <K extends LedgerLine['kind']>(lines: LedgerLine[], kind: K) =>
  lines.filter((line): line is Extract<LedgerLine, { kind: K }> => line.kind === kind);

/** Moves the application's clock on until `done` holds: deliveries waiting on their backoff go on. */
async function advanceUntil(booted: BootedApp, done: () => boolean): Promise<void> {
  for (let turn = 0; turn < 200 && !done(); turn += 1) {
    booted.clock.advance(1_000);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

@AuditAlertHook({ events: ['audit.ledger.broken'] })
@Injectable()
class LedgerHook implements OnAuditAlert {
  readonly events: unknown[] = [];
  onAuditAlert(event: unknown): void {
    this.events.push(event);
  }
}

describe('the evidence ledger of a running application', () => {
  it('records the configuration at boot: thresholds, cooldowns and recipients, never a secret', async () => {
    const directory = await ledgerDir();
    const receiver = await apps.receiver();
    const booted = await apps.boot({
      serviceName: 'billing-api',
      thresholdMs: 20_000,
      cooldownMs: 120_000,
      ledger: { directory },
      channels: [
        {
          type: 'webhook',
          url: receiver.url('/hook'),
          signingSecret: SIGNING_SECRET,
          events: ['audit.storage.unreachable'],
        },
        { type: 'pagerduty', routingKey: ROUTING_KEY, url: receiver.url('/v2/enqueue') },
      ],
    });

    const [boot, ...rest] = await ledgerLines(booted);
    expect(rest).toEqual([]);
    const origin = `http://127.0.0.1:${receiver.port}`;
    expect(boot).toMatchObject({
      seq: 1,
      kind: 'boot',
      service: 'billing-api',
      version: PACKAGE_VERSION,
      monitors: [
        {
          name: 'default',
          thresholdMs: 20_000,
          cooldownMs: 120_000,
          enabled: true,
          notifyRecovery: true,
          writeTimeoutMs: 10_000,
          probe: null,
          spool: null,
        },
      ],
      recipients: [
        {
          recipient: `Webhook channel (${origin})`,
          channel: 'webhook',
          // A channel always takes the test alert.
          events: ['audit.storage.unreachable', 'audit.alert.test'],
          monitors: null,
        },
        { recipient: `PagerDuty channel (${origin})`, channel: 'pagerduty', monitors: null },
      ],
    });
    const onDisk = await rawFiles(directory);
    expect(onDisk).toContain('"kind":"boot"');
    expect(onDisk).not.toContain(SIGNING_SECRET);
    expect(onDisk).not.toContain(ROUTING_KEY);
  });

  it('records each event sent and one receipt per recipient, with its attempts and last reason (HTTP 503)', async () => {
    const directory = await ledgerDir();
    const [flaky, down] = [await apps.receiver(), await apps.receiver()];
    flaky.reply({ status: 503 }, { status: 503 });
    down.fallback = { status: 503 };
    const booted = await apps.boot({
      thresholdMs: 0,
      ledger: { directory },
      channels: [
        { type: 'webhook', url: flaky.url('/a'), retries: 2, backoffMs: 1_000 },
        { type: 'webhook', url: down.url('/b'), retries: 1, backoffMs: 1_000 },
      ],
    });
    booted.monitor.recordFailure(new Error('connect ECONNREFUSED 10.0.0.5:5432'));
    await waitForTimers(booted.clock);
    await advanceUntil(booted, () => flaky.requests.length === 3 && down.requests.length === 2);
    const lines = await linesWhen(booted, (found) => ofKind(found, 'receipt').length === 2);
    const [event] = ofKind(lines, 'event');
    expect(event).toMatchObject({
      held: false,
      event: {
        type: 'audit.storage.unreachable',
        monitor: 'default',
        outageId: expect.any(String),
        occurrence: 1,
        firstFailureAt: '2026-01-01T12:00:00.000Z',
        lastError: expect.stringContaining('ECONNREFUSED'),
      },
    });
    const receipts = ofKind(lines, 'receipt').sort((a, b) => a.attempts - b.attempts);
    expect(receipts).toEqual([
      expect.objectContaining({
        recipient: `Webhook channel (http://127.0.0.1:${down.port})`,
        channel: 'webhook',
        type: 'audit.storage.unreachable',
        outageId: event!.event.outageId,
        occurrence: 1,
        result: 'failed',
        attempts: 2,
        reason: expect.stringContaining('HTTP 503'),
      }),
      expect.objectContaining({
        recipient: `Webhook channel (http://127.0.0.1:${flaky.port})`,
        result: 'delivered',
        attempts: 3,
        reason: null,
        startedAt: '2026-01-01T12:00:00.000Z',
      }),
    ]);
    expect(Date.parse(receipts[1]!.settledAt)).toBeGreaterThan(Date.parse(receipts[1]!.startedAt));
    expect(await verifyAuditLedger(directory)).toEqual({ ok: true, entries: lines.length });
  });

  it("records the spool's head once its records are on disk, so that verifyAuditSpool() can check against it", async () => {
    const directory = await ledgerDir();
    const spoolDir = join(directory, '..', 'spool');
    await mkdir(spoolDir);
    const booted = await apps.boot({
      serviceName: 'billing-api',
      thresholdMs: 20_000,
      ledger: { directory },
      spool: { directory: spoolDir, replay: () => undefined },
    });
    const monitor = booted.app.get(AuditMonitorRegistry).get('default');
    await monitor.track(() => Promise.resolve(), { record: { n: 0 }, id: 'r-0' });
    expect(ofKind(await ledgerLines(booted), 'spool-head')).toEqual([]);

    const down = (): Promise<never> => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    await Promise.all([1, 2, 3].map((n) => monitor.track(down, { record: { n }, id: `r-${n}` })));
    const heads = ofKind(await linesWhen(booted, (lines) => ofKind(lines, 'spool-head').length > 0), 'spool-head');
    expect(heads.at(-1)).toMatchObject({ kind: 'spool-head', monitor: 'default', headSeq: 3, replayedSeq: 0 });
    expect(await verifyAuditSpool(join(spoolDir, 'default'), { ledger: directory })).toMatchObject({
      ok: true,
      records: 3,
      ledgerHead: { seq: 3, hash: heads.at(-1)!.headHash },
    });
  });

  it('records a test alert and its receipts', async () => {
    const directory = await ledgerDir();
    const receiver = await apps.receiver();
    const booted = await apps.boot({ ledger: { directory }, channels: [{ type: 'webhook', url: receiver.url() }] });
    await booted.app.get(AuditMonitorRegistry).sendTestAlert();
    const lines = await ledgerLines(booted);
    expect(lines.map((line) => line.kind)).toEqual(['boot', 'event', 'receipt']);
    expect(ofKind(lines, 'receipt')[0]).toMatchObject({
      type: 'audit.alert.test',
      result: 'delivered',
      attempts: 1,
      outageId: null,
    });
  });

  it('records an event a silence holds, then the same event when it is let go', async () => {
    const directory = await ledgerDir();
    const receiver = await apps.receiver();
    const booted = await apps.boot({
      thresholdMs: 0,
      ledger: { directory },
      channels: [{ type: 'webhook', url: receiver.url() }],
    });
    const registry = booted.app.get(AuditMonitorRegistry);
    const silence = await registry.silence({
      durationMs: 3_600_000,
      reason: 'CHG-1234 database upgrade',
      createdBy: 'ops@example.com',
    });
    booted.monitor.recordFailure(new Error('down'));
    let lines = await linesWhen(booted, (found) => ofKind(found, 'event').length > 0);
    expect(ofKind(lines, 'event').map((line) => [line.event.type, line.held])).toEqual([
      ['audit.storage.unreachable', true],
    ]);
    expect(receiver.requests).toEqual([]);

    await registry.unsilence(silence.id);
    lines = await linesWhen(booted, (found) => ofKind(found, 'receipt').length > 0);
    expect(ofKind(lines, 'receipt')).toEqual([expect.objectContaining({ result: 'delivered' })]);
    expect(ofKind(lines, 'event').map((line) => [line.event.type, line.held])).toEqual([
      ['audit.storage.unreachable', true],
      ['audit.storage.unreachable', false],
    ]);
  });

  it('finds a break at boot: records it, sends audit.ledger.broken, and goes on from the last line', async () => {
    const directory = await ledgerDir();
    const first = await apps.boot({ serviceName: 'billing-api', ledger: { directory } });
    await first.app.get(AuditMonitorRegistry).sendTestAlert();
    await ledgerLines(first);
    await first.app.close();
    apps.release(first);
    const [file] = (await readdir(directory)).filter((name) => name.endsWith('.jsonl'));
    const text = await readFile(join(directory, file!), 'utf8');
    await rm(join(directory, file!));
    await appendFile(join(directory, file!), text.replace('"kind":"boot"', '"kind":"boot","edited":true'));

    const second = await apps.boot(
      { serviceName: 'billing-api', ledger: { directory } },
      { providers: [LedgerHook] },
      first.clock,
    );
    const hook = second.app.get(LedgerHook);
    await waitFor(() => hook.events.length === 1, 'audit.ledger.broken');
    expect(hook.events).toEqual([
      {
        type: 'audit.ledger.broken',
        outageId: expect.any(String),
        monitor: 'default',
        serviceName: 'billing-api',
        directory,
        file,
        line: 1,
        reason: 'its content does not match its hash: it was edited',
        detectedAt: new Date(first.clock.wallNow()),
      },
    ]);
    expect(second.logger.of('error')).toEqual([
      expect.stringContaining(`is broken at ${file} line 1: its content does not match its hash`),
    ]);
    const lines = await ledgerLines(second);
    expect(lines.slice(2).map((line) => [line.seq, line.kind])).toEqual([
      [3, 'ledger-break'],
      [4, 'boot'],
      [5, 'event'],
      [6, 'receipt'],
    ]);
    expect(lines[2]).toMatchObject({ file, line: 1, reason: 'its content does not match its hash: it was edited' });
  });

  it('refuses a second application on the same directory, naming ledger.directory', async () => {
    const directory = await ledgerDir();
    await apps.boot({ ledger: { directory } });
    await expect(apps.boot({ ledger: { directory } })).rejects.toThrow(/^ledger\.directory: .* is in use by process /);
  });

  it('exports the period asked for; without a ledger, or with a bad format, says what is wrong', async () => {
    const directory = await ledgerDir();
    const booted = await apps.boot({ ledger: { directory }, channels: [] });
    const registry = booted.app.get(AuditMonitorRegistry);
    booted.clock.advance(60_000);
    await registry.sendTestAlert();
    await ledgerLines(booted);
    const later = await registry.exportEvidence({ format: 'jsonl', from: new Date(Date.UTC(2026, 0, 1, 12, 0, 30)) });
    expect(
      later
        .trimEnd()
        .split('\n')
        .map((line) => (JSON.parse(line) as LedgerLine).kind),
    ).toEqual(['event']);
    await expect(registry.exportEvidence({ format: 'xml' as 'csv' })).rejects.toThrow(AuditAlertConfigError);
    await expect(registry.exportEvidence({ format: 'jsonl', to: new Date('nope') })).rejects.toThrow(
      /option "to": received Invalid Date/,
    );

    const bare = await apps.boot({});
    await expect(bare.app.get(AuditMonitorRegistry).exportEvidence({ format: 'jsonl' })).rejects.toThrow(
      /ledger: \{ directory \}/,
    );
  });
});

describe('the ledger option', () => {
  const fails = (ledger: unknown): string => {
    try {
      resolveAuditAlertOptions({ ledger });
    } catch (error) {
      expect(error).toBeInstanceOf(AuditAlertConfigError);
      return `${(error as AuditAlertConfigError).option}: ${(error as Error).message}`;
    }
    throw new Error('accepted');
  };

  it('is checked at boot, each field named', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'audit-ledger-opt-'));
    dirs.push(parent);
    expect(fails('x')).toMatch(/^ledger: /);
    expect(fails({})).toMatch(/^ledger\.directory: .*an absolute directory path/);
    expect(fails({ directory: 'relative/dir' })).toMatch(/^ledger\.directory: /);
    expect(fails({ directory: join(parent, 'a', 'b') })).toMatch(/^ledger\.directory: .*does not exist/);
    expect(fails({ directory: parent, retentionDays: 0 })).toMatch(
      /^ledger\.retentionDays: .*a whole number of days from 1/,
    );
    expect(fails({ directory: parent, retentionDays: 1.5 })).toMatch(/^ledger\.retentionDays: /);
    expect(fails({ directory: parent, keep: true })).toMatch(/ledger\.keep/);
    expect(resolveAuditAlertOptions({ ledger: { directory: join(parent, 'new') } }).ledger).toEqual({
      directory: join(parent, 'new'),
      retentionDays: 400,
    });
    expect(resolveAuditAlertOptions({}).ledger).toBeNull();
  });
});
