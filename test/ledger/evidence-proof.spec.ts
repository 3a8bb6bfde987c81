import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import type { LedgerLine, LedgerReceiptRecord } from '../../src/ledger/ledger-entry.interface.js';
import { readLedgerLines } from '../../src/ledger/ledger-reader.js';
import { verifyAuditLedger } from '../../src/index.js';
import { HttpReceiver } from '../channels/support/http-receiver.js';
import { type ChildApp, forkApp, killApp, until } from '../support/child-app.js';
import { PostgresServer } from '../support/postgres-server.js';
import { RedisServer } from '../support/redis-server.js';
import { parseRfc4180 } from '../support/rfc4180.js';

/*
 * Issue #21's proof, end to end: an application as a real process (the built
 * package, dist/) writing through track() to a real PostgreSQL 15, alerting a
 * webhook and a PagerDuty receiver on 127.0.0.1 that both answer 503 twice
 * before 200. The database stops, the alert goes out, the process is
 * SIGKILLed mid-outage and started again on the same ledger, state file and
 * spool; someone acknowledges and annotates the outage; the database comes
 * back. What the ledger tells (through the command line, on the directory)
 * must be what happened. Then the same outage on three replicas under
 * `cluster`: one row, whichever replica delivered.
 */

const fixture = fileURLToPath(new URL('./fixtures/evidence-app.mjs', import.meta.url));
const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const run = promisify(execFile);
const TIMEOUT_MS = 60_000;

const UNREACHABLE = 'audit.storage.unreachable';
const RECOVERED = 'audit.storage.recovered';
const ACKNOWLEDGED = 'audit.alert.acknowledged';
const REPLAYED = 'audit.spool.replayed';

interface ForwardedEvent {
  type: string;
  outageId: string;
  firstFailureAt?: string;
  detectedAt?: string;
  recoveredAt?: string;
  outageDurationMs?: number;
  writesFailed?: number;
  recordsSpooled?: number;
  recordsLost?: number;
  recordsReplayed?: number;
}

type AppMessage =
  | { kind: 'ready'; pid: number; state: string }
  | { kind: 'event'; event: ForwardedEvent }
  | { kind: 'answer'; cmd: string; value?: unknown; error?: string }
  | { kind: 'stopped' };

type App = ChildApp<AppMessage>;

const postgres = new PostgresServer();
const redis = new RedisServer();
let webhook: HttpReceiver;
let pagerduty: HttpReceiver;
let apps: App[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: build the package first (npm run build)`);
  await Promise.all([postgres.start(), redis.start()]);
  const client = new pg.Client({ connectionString: postgres.connectionString });
  await client.connect();
  await client.query('CREATE TABLE audit_trail (id uuid PRIMARY KEY, n int NOT NULL)');
  await client.end();
}, TIMEOUT_MS);

afterEach(async () => {
  await Promise.all(apps.map(killApp));
  apps = [];
  await Promise.all([webhook?.close(), pagerduty?.close()]);
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  if (!postgres.running) await postgres.start();
}, TIMEOUT_MS);

afterAll(async () => {
  await Promise.all([postgres.dispose(), redis.dispose()]);
}, TIMEOUT_MS);

async function tempDir(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `audit-evidence-${name}-`));
  dirs.push(dir);
  return dir;
}

/** Both receivers answer 503 twice, then 200 (202 for PagerDuty) to everything. */
async function startReceivers(): Promise<void> {
  webhook = await HttpReceiver.start();
  pagerduty = await HttpReceiver.start();
  webhook.reply({ status: 503 }, { status: 503 });
  pagerduty.reply({ status: 503 }, { status: 503 });
  pagerduty.fallback = { status: 202, body: '{"status":"success"}' };
}

async function startApp(env: Record<string, string>): Promise<App> {
  const app = await forkApp<AppMessage>(fixture, {
    DATABASE_URL: postgres.connectionString,
    WEBHOOK_URL: webhook.url('/audit'),
    PAGERDUTY_URL: pagerduty.url('/v2/enqueue'),
    ...env,
  });
  apps.push(app);
  return app;
}

/** Sends a command and waits for its answer; a command the app refused fails the test with its error. */
async function ask<T>(app: App, cmd: string, params: Record<string, unknown> = {}): Promise<T> {
  const before = app.messages.length;
  app.child.send({ cmd, ...params });
  let answer: Extract<AppMessage, { kind: 'answer' }> | undefined;
  await until(`the answer to ${cmd} (${app.output})`, () => {
    answer = app.messages
      .slice(before)
      .find((m): m is Extract<AppMessage, { kind: 'answer' }> => m.kind === 'answer' && m.cmd === cmd);
    return answer !== undefined;
  });
  if (answer!.error !== undefined) throw new Error(`${cmd}: ${answer!.error}`);
  return answer!.value as T;
}

async function stopApp(app: App): Promise<void> {
  app.child.send({ cmd: 'stop' });
  await until('the app to stop', () => app.messages.some((m) => m.kind === 'stopped'));
  await new Promise((resolve) => (app.child.exitCode === null ? app.child.once('exit', resolve) : resolve(null)));
}

const eventsOf = (app: App, type?: string): ForwardedEvent[] =>
  app.messages.flatMap((m) => (m.kind === 'event' && (type === undefined || m.event.type === type) ? [m.event] : []));

async function ownLines(dir: string): Promise<LedgerLine[]> {
  const lines: LedgerLine[] = [];
  for await (const { entry } of readLedgerLines(dir)) if (entry !== null) lines.push(entry);
  return lines;
}

const parseJsonl = (text: string): LedgerLine[] =>
  text
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as LedgerLine);

/** The CSV as objects by column, after checking it is RFC 4180. */
function csvRows(text: string): Record<string, string>[] {
  const [header, ...rows] = parseRfc4180(text);
  return rows.map((row) => Object.fromEntries(header!.map((column, index) => [column, row[index]!])));
}

const receiptsOf = (lines: readonly LedgerLine[]): (LedgerReceiptRecord & LedgerLine)[] =>
  lines.filter((line): line is LedgerReceiptRecord & LedgerLine => line.kind === 'receipt');

const WEBHOOK = (): string => `Webhook channel (http://127.0.0.1:${webhook.port})`;
const PAGERDUTY = (): string => `PagerDuty channel (http://127.0.0.1:${pagerduty.port})`;

describe('the evidence of one outage, through a SIGKILL and a restart, against a real PostgreSQL', () => {
  it(
    'one CSV row as it happened, receipts from both processes, one unbroken chain',
    async () => {
      await startReceivers();
      const ledgerDir = await tempDir('ledger');
      const spoolDir = await tempDir('spool');
      const stateFile = join(await tempDir('state'), 'state.json');
      const env = { LEDGER_DIR: ledgerDir, SPOOL_DIR: spoolDir, STATE_FILE: stateFile };

      const first = await startApp(env);
      expect(await ask<number>(first, 'write', { count: 2 })).toBe(0);
      await postgres.stop({ mode: 'immediate' });
      const failedBefore = await ask<number>(first, 'write', { count: 3 });
      expect(failedBefore).toBe(3);
      await until('the alert', () => eventsOf(first, UNREACHABLE).length === 1);
      const alert = eventsOf(first, UNREACHABLE)[0]!;
      // Killed once the alert's three receipts (the hook's, the webhook's, PagerDuty's) are on disk and the state file holds the outage.
      await until(
        'the receipts of the alert in the ledger',
        async () => receiptsOf(await ownLines(ledgerDir)).length === 3,
      );
      await until('the state file to hold the outage', async () => {
        const saved = JSON.parse(await readFile(stateFile, 'utf8').catch(() => '{}')) as {
          monitors?: { default?: { state?: string } };
        };
        return saved.monitors?.default?.state === 'alerting';
      });
      await killApp(first);

      const second = await startApp(env);
      expect(second.messages[0]).toMatchObject({ kind: 'ready', state: 'alerting' });
      const failedAfter = await ask<number>(second, 'write', { count: 4 });
      expect(failedAfter).toBe(4);
      const acknowledged = await ask<{ acknowledgedAt: string; by: string }>(second, 'acknowledge', {
        outageId: alert.outageId,
        by: 'ana@example.com',
        note: 'on it',
      });
      await ask(second, 'annotate', {
        outageId: alert.outageId,
        by: 'ana@example.com',
        cause: 'PostgreSQL stopped (immediate shutdown)',
        ticket: 'INC-4711',
      });
      await postgres.start();
      expect(await ask<number>(second, 'write', { count: 1 })).toBe(0);
      await until('the recovery', () => eventsOf(second, RECOVERED).length === 1);
      await until('the replay', () => eventsOf(second, REPLAYED).length === 1);
      // Every recipient has settled the recovery and the replay's report (its receipts are written).
      await until('the receipts of the recovery and the replay', async () => {
        const receipts = receiptsOf(await ownLines(ledgerDir));
        return [RECOVERED, REPLAYED].every((type) => receipts.filter((r) => r.type === type).length === 3);
      });
      const recovered = eventsOf(second, RECOVERED)[0]!;
      const replayed = eventsOf(second, REPLAYED)[0]!;
      const fromRegistry = await ask<string>(second, 'export', { format: 'csv' });
      await stopApp(second);

      // The command line on the directory: the same evidence the registry gives.
      const { stdout: csv } = await run(process.execPath, [
        cli,
        'evidence',
        'export',
        '--dir',
        ledgerDir,
        '--format',
        'csv',
      ]);
      expect(csv).toBe(fromRegistry);
      const rows = csvRows(csv);
      expect(rows).toHaveLength(1);
      const row = rows[0]!;
      expect(recovered.outageId).toBe(alert.outageId);
      const { stdout: jsonl } = await run(process.execPath, [
        cli,
        'evidence',
        'export',
        '--dir',
        ledgerDir,
        '--format',
        'jsonl',
      ]);
      const lines = parseJsonl(jsonl);
      const alertLine = lines.find((line) => line.kind === 'event' && line.event.type === UNREACHABLE)!;
      const acknowledgedLine = lines.find((line) => line.kind === 'acknowledged')!;
      const spooled = failedBefore + failedAfter;
      expect(row).toEqual({
        outage_id: alert.outageId,
        service: 'ledger-api',
        monitor: 'default',
        kind: 'unreachable',
        started_at: alert.firstFailureAt,
        first_alert_at: alertLine.at,
        ended_at: recovered.recoveredAt,
        duration_ms: String(recovered.outageDurationMs),
        alerts_sent: '1',
        recipients: expect.any(String),
        // The webhook's two attempts at the alert both met a 503.
        deliveries_failed: '1',
        acknowledged_by: 'ana@example.com',
        acknowledged_at: acknowledged.acknowledgedAt,
        writes_failed: String(spooled),
        records_spooled: String(spooled),
        records_lost: '0',
        cause: 'PostgreSQL stopped (immediate shutdown)',
        ticket: 'INC-4711',
        alerts_held: '0',
        spool_failed_at: '',
        records_replayed: String(spooled),
        replay_finished_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        records_quarantined: '',
      });
      expect(row.recipients!.split(';').sort()).toEqual(['ForwardingHook', PAGERDUTY(), WEBHOOK()].sort());
      // What the events said, so the columns above are the outage's own figures and not a copy of one another.
      expect(recovered).toMatchObject({ writesFailed: spooled, recordsSpooled: spooled, recordsLost: 0 });
      expect(replayed.recordsReplayed).toBe(spooled);
      const time = (iso: string): number => new Date(iso).getTime();
      expect(time(row.started_at!)).toBeLessThanOrEqual(time(row.first_alert_at!));
      expect(time(row.first_alert_at!)).toBeLessThanOrEqual(time(row.acknowledged_at!));
      expect(time(row.acknowledged_at!)).toBeLessThanOrEqual(time(row.ended_at!));
      // The duration is measured on the monotonic clock (a wall clock stepping cannot stretch it), the two times on
      // the wall clock, each rounded to the millisecond: they agree to within that rounding.
      expect(Math.abs(time(row.ended_at!) - time(row.started_at!) - Number(row.duration_ms))).toBeLessThanOrEqual(1);
      expect(time(row.replay_finished_at!)).toBeGreaterThanOrEqual(time(row.ended_at!));
      expect(time(acknowledgedLine.at)).toBeGreaterThanOrEqual(time(row.first_alert_at!));

      // The JSONL: one chain across both processes, with no gap, and the same facts.
      expect(lines.map((line) => line.seq)).toEqual(lines.map((_, index) => index + 1));
      const pids = [...new Set(lines.map((line) => line.replica))];
      expect(pids).toEqual([
        expect.stringMatching(`:${first.child.pid}$`),
        expect.stringMatching(`:${second.child.pid}$`),
      ]);
      expect(lines.filter((line) => line.kind === 'boot')).toHaveLength(2);
      expect(lines.filter((line) => line.kind === 'ledger-break')).toEqual([]);
      const receipts = receiptsOf(lines).filter((receipt) => receipt.outageId === alert.outageId);
      expect(
        receipts.map(({ recipient, type, result, attempts, reason, replica }) => ({
          recipient,
          type,
          result,
          attempts,
          reason,
          process: replica === pids[0] ? 'first' : 'second',
        })),
      ).toEqual(
        expect.arrayContaining([
          {
            recipient: WEBHOOK(),
            type: UNREACHABLE,
            result: 'failed',
            attempts: 2,
            reason: expect.stringContaining('HTTP 503'),
            process: 'first',
          },
          {
            recipient: PAGERDUTY(),
            type: UNREACHABLE,
            result: 'delivered',
            attempts: 3,
            reason: null,
            process: 'first',
          },
          {
            recipient: WEBHOOK(),
            type: ACKNOWLEDGED,
            result: 'delivered',
            attempts: 1,
            reason: null,
            process: 'second',
          },
          {
            recipient: PAGERDUTY(),
            type: ACKNOWLEDGED,
            result: 'delivered',
            attempts: 1,
            reason: null,
            process: 'second',
          },
          { recipient: WEBHOOK(), type: RECOVERED, result: 'delivered', attempts: 1, reason: null, process: 'second' },
          {
            recipient: PAGERDUTY(),
            type: RECOVERED,
            result: 'delivered',
            attempts: 1,
            reason: null,
            process: 'second',
          },
        ]),
      );
      // The application's own hook got the alert, the acknowledgement and the recovery too.
      expect(receipts).toHaveLength(9);
      expect(acknowledgedLine).toMatchObject({ outageId: alert.outageId, by: 'ana@example.com', note: 'on it' });
      expect(lines.filter((line) => line.kind === 'annotated')).toEqual([
        expect.objectContaining({
          outageId: alert.outageId,
          cause: 'PostgreSQL stopped (immediate shutdown)',
          ticket: 'INC-4711',
        }),
      ]);
      // What the receivers got matches the receipts: two attempts and three at the alert, then one each.
      expect(webhook.bodies().map((body) => (body as { type: string }).type)).toEqual([
        UNREACHABLE,
        UNREACHABLE,
        ACKNOWLEDGED,
        RECOVERED,
        REPLAYED,
      ]);
      const incident = `audit-storage:ledger-api:default:${alert.outageId}`;
      const pages = pagerduty.bodies() as { event_action: string; dedup_key: string }[];
      expect(pages.filter((page) => page.dedup_key === incident).map((page) => page.event_action)).toEqual([
        'trigger',
        'trigger',
        'trigger',
        'acknowledge',
        'resolve',
      ]);

      // The real file verifies, through the API and the command line.
      expect(await verifyAuditLedger(ledgerDir)).toEqual({ ok: true, entries: lines.length });
      const verified = await run(process.execPath, [cli, 'evidence', 'verify', '--dir', ledgerDir]);
      expect(verified.stdout).toContain('ok');
    },
    TIMEOUT_MS,
  );
});

describe('the evidence of one outage on three replicas under cluster', () => {
  it(
    'one CSV row from any replica, with the receipts of whichever replica delivered',
    async () => {
      await redis.cli('FLUSHALL');
      await startReceivers();
      const ledgerDirs = await Promise.all(['a', 'b', 'c'].map((name) => tempDir(`replica-${name}`)));
      const replicas = await Promise.all(
        ledgerDirs.map((dir, index) =>
          startApp({ LEDGER_DIR: dir, REDIS_URL: redis.url, REPLICA_ID: `replica-${'abc'[index]}` }),
        ),
      );
      for (const replica of replicas) expect(await ask<number>(replica, 'write', { count: 1 })).toBe(0);
      await postgres.stop({ mode: 'immediate' });
      for (const replica of replicas) expect(await ask<number>(replica, 'write', { count: 2 })).toBe(2);

      const fleetLines = async (): Promise<LedgerLine[]> =>
        parseJsonl(await ask<string>(replicas[0]!, 'export', { format: 'jsonl' }));
      const settledReceipts = async (type: string): Promise<boolean> =>
        receiptsOf(await fleetLines()).filter((receipt) => receipt.type === type).length === 3;
      await until('the receipts of the alert in the stream', () => settledReceipts(UNREACHABLE));
      await postgres.start();
      for (const replica of replicas) expect(await ask<number>(replica, 'write', { count: 1 })).toBe(0);
      await until('the receipts of the recovery in the stream', () => settledReceipts(RECOVERED));

      // The alert and the recovery went out once for the fleet, each from one replica.
      const alerts = replicas.flatMap((replica) => eventsOf(replica, UNREACHABLE));
      const recoveries = replicas.flatMap((replica) => eventsOf(replica, RECOVERED));
      expect(alerts).toHaveLength(1);
      expect(recoveries).toHaveLength(1);
      const [alert] = alerts;
      expect(recoveries[0]!.outageId).toBe(alert!.outageId);
      const pidOf = (type: string): number =>
        replicas.find((replica) => eventsOf(replica, type).length > 0)!.child.pid!;

      // An export from any replica reads the stream: the same text, one row.
      const csvs = await Promise.all(replicas.map((replica) => ask<string>(replica, 'export', { format: 'csv' })));
      expect(new Set(csvs).size).toBe(1);
      const rows = csvRows(csvs[0]!);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        outage_id: alert!.outageId,
        service: 'ledger-api',
        kind: 'unreachable',
        started_at: alert!.firstFailureAt,
        ended_at: recoveries[0]!.recoveredAt,
        duration_ms: String(recoveries[0]!.outageDurationMs),
        alerts_sent: '1',
        deliveries_failed: '1',
        writes_failed: String(recoveries[0]!.writesFailed),
        acknowledged_by: '',
      });
      expect(rows[0]!.recipients!.split(';').sort()).toEqual(['ForwardingHook', PAGERDUTY(), WEBHOOK()].sort());

      // The receipts are the delivering replica's, as its own ledger file has them.
      const lines = await fleetLines();
      const receipts = receiptsOf(lines).filter((receipt) => receipt.outageId === alert!.outageId);
      expect(
        receipts.map(({ recipient, type, result, attempts, reason }) => ({
          recipient,
          type,
          result,
          attempts,
          reason,
        })),
      ).toEqual(
        expect.arrayContaining([
          {
            recipient: WEBHOOK(),
            type: UNREACHABLE,
            result: 'failed',
            attempts: 2,
            reason: expect.stringContaining('HTTP 503'),
          },
          { recipient: PAGERDUTY(), type: UNREACHABLE, result: 'delivered', attempts: 3, reason: null },
          { recipient: WEBHOOK(), type: RECOVERED, result: 'delivered', attempts: 1, reason: null },
          { recipient: PAGERDUTY(), type: RECOVERED, result: 'delivered', attempts: 1, reason: null },
        ]),
      );
      expect(receipts).toHaveLength(6);
      for (const receipt of receipts) {
        expect(receipt.replica).toMatch(new RegExp(`:${pidOf(receipt.type)}$`));
        const index = replicas.findIndex((replica) => replica.child.pid === pidOf(receipt.type));
        expect((await ownLines(ledgerDirs[index]!)).map((line) => line.hash)).toContain(receipt.hash);
      }
      // Each replica's lines in the stream: its own chain, numbered from 1 with no gap; each file verifies.
      for (const [index, replica] of replicas.entries()) {
        const own = lines.filter((line) => line.replica.endsWith(`:${replica.child.pid}`));
        expect(own.map((line) => line.seq)).toEqual(own.map((_, n) => n + 1));
        expect(await verifyAuditLedger(ledgerDirs[index]!)).toEqual({ ok: true, entries: expect.any(Number) });
      }
    },
    TIMEOUT_MS,
  );
});
