import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { AUDIT_ALERT_LEDGER } from '../../src/audit-alert.constants.js';
import type { AuditLedger } from '../../src/ledger/audit-ledger.writer.js';
import type { LedgerLine } from '../../src/ledger/ledger-entry.interface.js';
import { readLedgerLines } from '../../src/ledger/ledger-reader.js';
import { AuditMonitorRegistry, verifyAuditLedger } from '../../src/index.js';
import { type BootedApp, ChannelApps } from '../channels/support/channel-app.js';
import { waitFor } from '../channels/support/http-receiver.js';
import { RedisServer } from '../support/redis-server.js';
import { expectNoUnhandledRejections } from '../support/rejection-watch.js';

expectNoUnhandledRejections();

const redis = new RedisServer();
const apps = new ChannelApps();
const dirs: string[] = [];
beforeAll(() => redis.start());
afterAll(() => redis.dispose());
afterEach(async () => {
  await apps.dispose();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const parse = (text: string): LedgerLine[] =>
  text === ''
    ? []
    : text
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as LedgerLine);

/** The fleet's ledger as `booted` exports it, once `ready` holds (polled for at most two seconds). */
async function exportedWhen(booted: BootedApp, ready: (lines: LedgerLine[]) => boolean): Promise<LedgerLine[]> {
  const deadline = Date.now() + 2_000;
  for (;;) {
    const lines = parse(await booted.app.get(AuditMonitorRegistry).exportEvidence({ format: 'jsonl' }));
    if (ready(lines) || Date.now() > deadline) return lines;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('the evidence ledger under cluster', () => {
  it('mirrors every replica to one Redis Stream: an export from either replica covers both', async () => {
    const replicas: BootedApp[] = [];
    const receivers = [await apps.receiver(), await apps.receiver()];
    const directories: string[] = [];
    for (const [index, replicaId] of ['replica-a', 'replica-b'].entries()) {
      const dir = await mkdtemp(join(tmpdir(), `audit-ledger-${replicaId}-`));
      dirs.push(dir);
      directories.push(dir);
      replicas.push(
        await apps.boot({
          serviceName: 'billing-api',
          ledger: { directory: dir },
          cluster: { redis: redis.url, replicaId },
          channels: [{ type: 'webhook', url: receivers[index]!.url() }],
        }),
      );
    }
    for (const replica of replicas) await replica.app.get(AuditMonitorRegistry).sendTestAlert();
    for (const replica of replicas) await replica.app.get<AuditLedger>(AUDIT_ALERT_LEDGER).flushed();

    const receiptsOf = (lines: LedgerLine[]) =>
      lines.filter((line) => line.kind === 'receipt').map((line) => (line as { recipient: string }).recipient);
    const fromA = await exportedWhen(replicas[0]!, (lines) => receiptsOf(lines).length === 2);
    const fromB = await exportedWhen(replicas[1]!, (lines) => receiptsOf(lines).length === 2);
    const webhooks = receivers.map((receiver) => `Webhook channel (http://127.0.0.1:${receiver.port})`);
    expect(receiptsOf(fromA).sort()).toEqual([...webhooks].sort());
    expect(fromB).toEqual(fromA);
    expect(fromA.filter((line) => line.kind === 'boot')).toHaveLength(2);
    // Each replica's own file holds its own lines only, intact.
    for (const [index, dir] of directories.entries()) {
      expect(await verifyAuditLedger(dir)).toEqual({ ok: true, entries: 3 });
      const own: LedgerLine[] = [];
      for await (const { entry } of readLedgerLines(dir)) own.push(entry!);
      expect(receiptsOf(own)).toEqual([webhooks[index]]);
    }

    // The stream, under the service's key prefix, with a retention trim.
    const client = new Redis(redis.url);
    try {
      expect(await client.xlen('audit-alert:{billing-api}:ledger')).toBe(6);
    } finally {
      client.disconnect();
    }
  });

  it('keeps the lines Redis did not take and sends them with the next ones, once Redis is back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'audit-ledger-redis-down-'));
    dirs.push(dir);
    const booted = await apps.boot({
      serviceName: 'ledger-api',
      ledger: { directory: dir },
      cluster: { redis: redis.url, replicaId: 'replica-a' },
    });
    const registry = booted.app.get(AuditMonitorRegistry);
    const ledger = booted.app.get<AuditLedger>(AUDIT_ALERT_LEDGER);
    await exportedWhen(booted, (lines) => lines.some((line) => line.service === 'ledger-api'));

    await redis.stop();
    await registry.sendTestAlert();
    await ledger.flushed();
    await waitFor(
      () =>
        booted.logger
          .of('warn')
          .some((line) => line.startsWith("The evidence ledger's Redis Stream could not be written")),
      'the mirror failure logged',
    );
    await redis.start(); // empty, as after a crash
    await waitFor(() => booted.logger.of('log').some((line) => line.includes('reaches Redis again')), 'Redis back');
    await registry.sendTestAlert();

    const lines = await exportedWhen(booted, (found) => found.filter((line) => line.kind === 'event').length === 2);
    // The boot line went with the stream Redis lost; both test events are there, in order.
    expect(lines.map((line) => [line.seq, line.kind])).toEqual([
      [2, 'event'],
      [3, 'event'],
    ]);
    expect(booted.logger.of('warn').filter((line) => line.includes('Redis Stream'))).toHaveLength(1);
    expect(booted.logger.of('log')).toContainEqual(
      expect.stringContaining("The evidence ledger's Redis Stream is written again (2 waiting lines sent)"),
    );
  });
});
