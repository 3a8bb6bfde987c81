import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditAlertConfigError, type AuditAlertModuleOptions } from '../../src/index.js';
import { resolveAuditAlertOptions } from '../../src/audit-alert.options.js';
import { type BootedApp, ChannelApps } from '../channels/support/channel-app.js';
import { type HttpReceiver, waitFor } from '../channels/support/http-receiver.js';
import { flush, ManualClock } from '../support/manual-clock.js';

/*
 * The `state` file of a single instance, with real Nest applications, a real
 * file in a temporary directory and real HTTP receivers. A restart here is a
 * graceful one (the application closed, another booted on the same file);
 * test/state/restart-proof.spec.ts kills a real process with SIGKILL.
 */

const SERVICE = 'ledger-api';
const ROUTING_KEY = 'R0UTINGKEY0000000000000000000000';

interface Outage {
  type: string;
  outageId: string;
  occurrence?: number;
  unreachableDurationMs?: number;
  firstFailureAt?: string;
  outageStartedAt?: string;
  eventsAffected?: number;
  writesFailed?: number;
  recordsSpooled?: number | null;
  recordsLost?: number | null;
}

interface Page {
  event_action: string;
  dedup_key: string;
  payload?: { custom_details: Outage };
}

const apps = new ChannelApps();
let dir: string;
let file: string;
let webhook: HttpReceiver;
let pagerduty: HttpReceiver;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'audit-alert-state-'));
  file = join(dir, 'state.json');
  webhook = await apps.receiver();
  pagerduty = await apps.receiver();
  pagerduty.fallback = { status: 202 };
});

afterEach(async () => {
  await apps.dispose();
  await rm(dir, { recursive: true, force: true });
});

function options(extra: AuditAlertModuleOptions = {}): AuditAlertModuleOptions {
  return {
    serviceName: SERVICE,
    thresholdMs: 5_000,
    cooldownMs: 60_000,
    state: { file },
    channels: [
      { type: 'webhook', url: webhook.url() },
      { type: 'pagerduty', routingKey: ROUTING_KEY, url: pagerduty.url('/v2/enqueue') },
    ],
    ...extra,
  };
}

type StateFile = { serviceName: string; monitors: Record<string, Record<string, unknown>> };

/** What the file holds once `expected` holds of it: writes are on real disks, which take their time. */
async function saved(expected: (content: StateFile) => boolean = () => true): Promise<StateFile> {
  const deadline = Date.now() + 2_000;
  for (;;) {
    let content: StateFile | null;
    try {
      content = JSON.parse(await readFile(file, 'utf8')) as StateFile;
    } catch {
      content = null;
    }
    if (content !== null && expected(content)) return content;
    if (Date.now() > deadline)
      throw new Error(`Timed out waiting for the state file to match (${JSON.stringify(content)})`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const openOutage = (outageId: string | null, state: string) => (content: StateFile) =>
  content.monitors.default?.outageId === outageId && content.monitors.default?.state === state;

/** Closes `booted` and boots the same options on a clock `downMs` past its own, as a restarted process would. */
async function restart(booted: BootedApp, downMs: number, extra?: AuditAlertModuleOptions): Promise<BootedApp> {
  apps.release(booted);
  await booted.app.close();
  const clock = new ManualClock();
  clock.stall(booted.clock.wallNow() - clock.wallNow() + downMs);
  return apps.boot(options(extra), {}, clock);
}

const events = (): Outage[] => webhook.bodies() as Outage[];

describe('the state file', () => {
  it('never writes through a planted symbolic link: not the old fixed <file>.tmp, not the file itself', async () => {
    // Issue #20, item 15: the fixed temporary name followed a link planted there and overwrote its target.
    const elsewhere = await mkdtemp(join(tmpdir(), 'audit-alert-victim-'));
    try {
      const victim = join(elsewhere, 'victim.txt');
      await writeFile(victim, 'precious\n');
      await symlink(victim, `${file}.tmp`);
      const booted = await apps.boot(options());
      booted.monitor.recordFailure(new Error('down'));
      booted.clock.advance(5_000);
      await webhook.waitForRequests(1);
      const outageId = events()[0]!.outageId;
      await saved(openOutage(outageId, 'alerting'));
      expect(await readFile(victim, 'utf8')).toBe('precious\n');
      expect((await lstat(file)).isFile()).toBe(true);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      // The write left no temporary file behind; the planted link is left alone.
      expect((await readdir(dir)).sort()).toEqual(['state.json', 'state.json.tmp']);

      // The file itself replaced by a link while the application runs: the write is refused, and logged.
      await rm(file);
      await symlink(victim, file);
      booted.monitor.recordSuccess();
      await webhook.waitForRequests(2);
      await waitFor(() => booted.logger.of('error').length + booted.logger.of('warn').length > 0, 'the refusal');
      await flush();
      expect(await readFile(victim, 'utf8')).toBe('precious\n');
      expect((await lstat(file)).isSymbolicLink()).toBe(true);
      expect([...booted.logger.of('error'), ...booted.logger.of('warn')].join('\n')).toContain('symbolic link');
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  it('carries an alerted outage across a restart: same outageId, repeats a cooldown after the last alert, one incident resolved', async () => {
    const first = await apps.boot(options());
    first.monitor.recordFailure(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    first.clock.advance(5_000);
    await webhook.waitForRequests(1);
    const outageId = events()[0]!.outageId;
    expect((await saved(openOutage(outageId, 'alerting'))).monitors.default).toMatchObject({
      unreachableOccurrence: 1,
    });

    const second = await restart(first, 10_000);
    expect(second.monitor.getStatus()).toMatchObject({ state: 'alerting', outageId, eventsAffected: 1 });
    expect(second.logger.of('log')).toContain(
      `Monitor "default" resumes outage ${outageId} (alerting), left open by an earlier process.`,
    );

    // 10 s after the alert: within the cooldown, so nothing; no fresh threshold either.
    second.monitor.recordFailure(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    second.clock.advance(50_000);
    await flush();
    expect(webhook.requests).toHaveLength(1);
    // 60 s after the alert: the repeat, in the same outage.
    second.monitor.recordFailure(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    await webhook.waitForRequests(2);
    second.clock.advance(1_000);
    second.monitor.recordSuccess();
    await webhook.waitForRequests(3);
    await pagerduty.waitForRequests(3);

    expect(events()).toEqual([
      expect.objectContaining({ type: 'audit.storage.unreachable', outageId, occurrence: 1 }),
      expect.objectContaining({
        type: 'audit.storage.unreachable',
        outageId,
        occurrence: 2,
        consecutiveFailures: 3,
        unreachableDurationMs: 65_000,
      }),
      expect.objectContaining({
        type: 'audit.storage.recovered',
        outageId,
        // The first process's failed write, continued from the file, and the second's two.
        writesFailed: 3,
        recordsSpooled: null,
        recordsLost: null,
        eventsAffected: 3,
        outageDurationMs: 66_000,
        outageStartedAt: events()[0]!.firstFailureAt,
      }),
    ]);
    const pages = pagerduty.bodies() as Page[];
    expect(pages.map((p) => p.event_action)).toEqual(['trigger', 'trigger', 'resolve']);
    // With a store the incident is the outage's, and the same across both processes.
    expect(new Set(pages.map((p) => p.dedup_key))).toEqual(new Set([`audit-storage:${SERVICE}:default:${outageId}`]));
    await saved((content) => Object.keys(content.monitors).length === 0);
  });

  it("keeps the outage's counts of failed writes and spooled records across a restart, for its recovery", async () => {
    const spool = { directory: join(dir, 'spool'), replay: () => undefined };
    await mkdir(spool.directory);
    const down = (): Promise<never> => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    const first = await apps.boot(options({ spool }));
    await expect(first.monitor.track(down, { record: { n: 1 }, id: 'r-1' })).resolves.toBeUndefined();
    first.monitor.recordFailure(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    first.clock.advance(5_000);
    await webhook.waitForRequests(1);
    const outageId = events()[0]!.outageId;
    expect((await saved(openOutage(outageId, 'alerting'))).monitors.default).toMatchObject({
      eventsAffected: 2,
      recordsSpooled: 1,
      recordsLost: 0,
    });

    const second = await restart(first, 10_000, { spool });
    await expect(second.monitor.track(down, { record: { n: 2 }, id: 'r-2' })).resolves.toBeUndefined();
    second.clock.advance(1_000);
    second.monitor.recordSuccess();
    await webhook.waitForRequests(2);
    expect(events()[1]).toMatchObject({
      type: 'audit.storage.recovered',
      outageId,
      writesFailed: 3,
      recordsSpooled: 2,
      recordsLost: 0,
    });
  });

  it('resumes the threshold of an outage not alerted yet from its recorded start, and sends at once one that passed while down', async () => {
    const first = await apps.boot(options());
    first.monitor.recordFailure(new Error('refused'));
    first.clock.advance(2_000);
    const outageId = first.monitor.getStatus().outageId;
    await saved(openOutage(outageId, 'failing'));

    const second = await restart(first, 2_000);
    second.monitor.recordFailure(new Error('refused'));
    second.clock.advance(999);
    await flush();
    expect(webhook.requests).toHaveLength(0);
    second.clock.advance(1);
    await webhook.waitForRequests(1);
    expect(events()[0]).toMatchObject({ outageId, unreachableDurationMs: 5_000, consecutiveFailures: 2 });

    // Another outage, not alerted, and a process that comes back after its threshold has passed.
    second.clock.advance(1_000);
    second.monitor.recordSuccess();
    await webhook.waitForRequests(2);
    second.monitor.recordFailure(new Error('refused again'));
    const nextId = second.monitor.getStatus().outageId;
    await saved(openOutage(nextId, 'failing'));
    const third = await restart(second, 8_000);
    third.clock.advance(0);
    await webhook.waitForRequests(3);
    expect(events()[2]).toMatchObject({ outageId: nextId, unreachableDurationMs: 8_000, consecutiveFailures: 1 });
  });

  it('records an alert only once it is delivered: a process killed before then has the next one send it again', async () => {
    webhook.reply('hang');
    const first = await apps.boot(options());
    first.monitor.recordFailure(new Error('refused'));
    const outageId = first.monitor.getStatus().outageId;
    // The alert comes before the file is written for the failure: that write must not carry it.
    first.clock.advance(5_000);
    await pagerduty.waitForRequests(1);
    await webhook.waitForRequests(1);
    // The webhook has not answered: the file still says the outage was never alerted on.
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect((await saved()).monitors.default).toMatchObject({ outageId, state: 'failing', unreachableOccurrence: 0 });

    // The process dies there; the next one sends the alert again, under the same id and occurrence.
    const clock = new ManualClock();
    clock.stall(first.clock.wallNow() - clock.wallNow() + 1_000);
    const second = await apps.boot(options(), {}, clock);
    second.clock.advance(0);
    await pagerduty.waitForRequests(2);
    const pages = pagerduty.bodies() as Page[];
    expect(pages.map((p) => [p.event_action, p.dedup_key, p.payload?.custom_details.occurrence])).toEqual([
      ['trigger', `audit-storage:${SERVICE}:default:${outageId}`, 1],
      ['trigger', `audit-storage:${SERVICE}:default:${outageId}`, 1],
    ]);
  });

  it('forgets an outage never alerted on whose last failure is older than the open-outage TTL', async () => {
    const first = await apps.boot(options());
    first.monitor.recordFailure(new Error('refused'));
    const outageId = first.monitor.getStatus().outageId;
    // TTL: max(60 s, 2 × (5 s + 60 s)) = 130 s.
    const second = await restart(first, 130_001);
    expect(second.monitor.getStatus()).toMatchObject({ state: 'healthy', outageId: null });
    second.monitor.recordFailure(new Error('refused'));
    expect(second.monitor.getStatus().outageId).not.toBe(outageId);
  });

  it('resumes an alerted outage however old, so that its incident is resolved', async () => {
    const first = await apps.boot(options());
    first.monitor.recordFailure(new Error('refused'));
    first.clock.advance(5_000);
    await pagerduty.waitForRequests(1);
    const second = await restart(first, 3 * 24 * 60 * 60 * 1_000);
    second.monitor.recordSuccess();
    await pagerduty.waitForRequests(2);
    const [trigger, resolve] = pagerduty.bodies() as Page[];
    expect(resolve).toEqual({ routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: trigger!.dedup_key });
  });

  it('writes on transitions only, never on a failure that changes nothing, to a file only its owner can read', async () => {
    const first = await apps.boot(options());
    first.monitor.recordFailure(new Error('refused'));
    first.clock.advance(5_000);
    await webhook.waitForRequests(1);
    const before = await saved(openOutage(first.monitor.getStatus().outageId, 'alerting'));
    const { mtimeMs } = await stat(file);
    for (let i = 0; i < 100; i += 1) first.monitor.recordFailure(new Error('refused'));
    // A write would have started on this turn: a few milliseconds are plenty for it to show.
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(await saved()).toEqual(before);
    expect((await stat(file)).mtimeMs).toBe(mtimeMs);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(before).toMatchObject({ format: 'nestjs-audit-alert/state', version: 1, serviceName: SERVICE });
  });

  it.each([
    ['not JSON', '{"format": "nestjs-audit-alert/state", "vers', 'not JSON'],
    ['a file of something else', '{"name": "my-app", "version": "1.0.0"}', 'not a state file of nestjs-audit-alert'],
    [
      "another service's",
      JSON.stringify({ format: 'nestjs-audit-alert/state', version: 1, serviceName: 'billing-api', monitors: {} }),
      'written by service "billing-api"',
    ],
    [
      'a later format',
      JSON.stringify({ format: 'nestjs-audit-alert/state', version: 2, serviceName: SERVICE, monitors: {} }),
      'format version 2, not 1',
    ],
  ])('starts clean, with a warning, from %s', async (_, content, reason) => {
    await writeFile(file, content);
    const booted = await apps.boot(options());
    expect(booted.logger.of('warn')).toEqual([
      `The audit alert state file ${file} was ignored (${reason}); every monitor starts without an open outage.`,
    ]);
    expect(booted.monitor.getStatus().state).toBe('healthy');
    booted.monitor.recordFailure(new Error('refused'));
    await saved((content) => content.serviceName === SERVICE);
  });

  it('ignores an invalid entry and resumes the valid ones', async () => {
    const first = await apps.boot(options({ monitors: [{ name: 'default' }, { name: 'archive' }] }));
    first.monitor.recordFailure(new Error('refused'));
    const outageId = first.monitor.getStatus().outageId;
    const content = await saved(openOutage(outageId, 'failing'));
    apps.release(first);
    await first.app.close();
    content.monitors.archive = { ...content.monitors.default, eventsAffected: -1 };
    await writeFile(file, JSON.stringify(content));
    const second = await apps.boot(options({ monitors: [{ name: 'default' }, { name: 'archive' }] }));
    expect(second.logger.of('warn')).toEqual([
      `The open outage of monitor "archive" in ${file} was ignored (field eventsAffected is invalid); the monitor starts without one.`,
    ]);
    expect(second.monitor.getStatus()).toMatchObject({ state: 'failing', outageId });
  });

  it('logs once when the file cannot be written, keeps alerting, and says when it can again', async () => {
    // The directory is there at bootstrap (it is checked then), and goes away after.
    await mkdir(join(dir, 'missing'));
    file = join(dir, 'missing', 'state.json');
    const booted = await apps.boot(options());
    await rm(join(dir, 'missing'), { recursive: true });
    booted.monitor.recordFailure(new Error('refused'));
    booted.clock.advance(5_000);
    await webhook.waitForRequests(1);
    // The file is written once the alert's deliveries have settled, with real I/O after that: wait for its failure.
    await waitFor(() => booted.logger.of('warn').length > 0, 'the warning that the file cannot be written');
    await flush();
    expect(booted.logger.of('warn')).toEqual([
      expect.stringMatching(
        new RegExp(
          `^The audit alert state file ${file} cannot be written \\(.*ENOENT.*\\); an outage open now starts over after a restart\\.`,
        ),
      ),
    ]);
    await mkdir(join(dir, 'missing'));
    booted.monitor.recordSuccess();
    await webhook.waitForRequests(2);
    await saved((content) => Object.keys(content.monitors).length === 0);
    // Logged once the write is durable: after the rename the directory is fsync'd still.
    await waitFor(
      () => booted.logger.of('log').includes(`The audit alert state file ${file} is written again.`),
      'the line saying the file is written again',
    );
  });

  it.each([
    [{ file: 'state.json' }, false, 'state.file', "received 'state.json'; expected an absolute file path"],
    [{ file: 42 }, false, 'state.file', 'received 42; expected an absolute file path'],
    [{ file: '/x', path: '/y' }, false, 'state.path', 'the options are: file'],
    [{ file: '/x' }, true, 'state', 'expected undefined when cluster is set'],
  ])('refuses %p (cluster: %p), naming %s', (state, cluster, option, text) => {
    let thrown: unknown;
    try {
      resolveAuditAlertOptions({
        state,
        ...(cluster ? { cluster: { redis: 'redis://127.0.0.1:6379' } } : {}),
      } as never);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AuditAlertConfigError);
    expect((thrown as AuditAlertConfigError).option).toBe(option);
    expect((thrown as Error).message).toContain(text);
  });

  describe('the path, checked at bootstrap', () => {
    const ALLOWED =
      'expected an absolute path of a regular file, or of none yet, in an existing directory the process can write to.';
    let server: Server | null = null;
    afterEach(async () => {
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
      server = null;
    });

    function refusal(path: string): string {
      try {
        resolveAuditAlertOptions({ state: { file: path } });
      } catch (error) {
        expect(error).toBeInstanceOf(AuditAlertConfigError);
        expect((error as AuditAlertConfigError).option).toBe('state.file');
        return (error as Error).message;
      }
      throw new Error(`${path} was accepted`);
    }

    it('refuses a file in a directory that does not exist, and stops the bootstrap', async () => {
      const missing = join(dir, 'volume-not-mounted', 'state.json');
      expect(refusal(missing)).toBe(
        `Invalid audit alert option "state.file": received '${missing}', but its directory cannot be used: ${join(dir, 'volume-not-mounted')} does not exist; ${ALLOWED}`,
      );
      file = missing;
      await expect(apps.boot(options())).rejects.toThrow(AuditAlertConfigError);
    });

    it('refuses a file whose directory is a file', async () => {
      await writeFile(join(dir, 'plain'), '');
      const path = join(dir, 'plain', 'state.json');
      expect(refusal(path)).toBe(
        `Invalid audit alert option "state.file": received '${path}', but its directory cannot be used: ${join(dir, 'plain')} is not a directory; ${ALLOWED}`,
      );
    });

    it('refuses a directory', () => {
      expect(refusal(dir)).toBe(
        `Invalid audit alert option "state.file": received '${dir}', but it is a directory; ${ALLOWED}`,
      );
    });

    it('refuses a symbolic link, which the first write would replace with a file, and leaves it alone', async () => {
      const target = join(dir, 'target.json');
      await writeFile(target, '{}');
      const link = join(dir, 'link.json');
      await symlink(target, link);
      expect(refusal(link)).toBe(
        `Invalid audit alert option "state.file": received '${link}', but it is a symbolic link, and each write renames a new file over the path: ` +
          `the link would be replaced, not the file it points to; ${ALLOWED}`,
      );
      expect((await lstat(link)).isSymbolicLink()).toBe(true);
      const dangling = join(dir, 'dangling.json');
      await symlink(join(dir, 'nowhere.json'), dangling);
      expect(refusal(dangling)).toContain('it is a symbolic link');
    });

    it('refuses a socket, which is not a file to read at start', async () => {
      const socket = join(dir, 'state.sock');
      server = createServer();
      await new Promise<void>((resolve) => server!.listen(socket, resolve));
      expect(refusal(socket)).toBe(
        `Invalid audit alert option "state.file": received '${socket}', but it is not a regular file (a FIFO, a socket or a device); ${ALLOWED}`,
      );
    });

    it('accepts a file not there yet, and a regular file', async () => {
      expect(resolveAuditAlertOptions({ state: { file } }).state).toEqual({ file });
      await writeFile(file, '{}');
      expect(resolveAuditAlertOptions({ state: { file } }).state).toEqual({ file });
    });
  });
});
