import { afterEach, describe, expect, it } from '@jest/globals';
import { resolveAuditAlertOptions } from '../../src/audit-alert.options.js';
import { opsgenieAlert } from '../../src/channels/opsgenie.channel.js';
import { AuditAlertConfigError, AuditMonitorRegistry } from '../../src/index.js';
import { expectNoUnhandledRejections } from '../support/rejection-watch.js';
import { ChannelApps, settle } from './support/channel-app.js';
import { channelContract, problemList } from './support/channel-contract.js';
import type { ReceivedRequest } from './support/http-receiver.js';
import { waitFor } from './support/http-receiver.js';
import { sampleEvents } from './support/sample-events.js';

expectNoUnhandledRejections();

const apps = new ChannelApps();
afterEach(() => apps.dispose());

const API_KEY = 'G3NIEKEY-0123-4567-89ab-cdef01234567';
const SECRETS = /G3NIEKEY|GenieKey/;
const CLOSE_PATH = /^\/v2\/alerts\/([^/?]+)\/close\?identifierType=alias$/;

const CREATE_KEYS = ['message', 'alias', 'description', 'priority', 'source', 'entity', 'tags', 'details'];

/** Checks a request against Opsgenie's alert API: create (`/v2/alerts`) or close by alias, and their documented limits. */
function opsgenieProblems(body: unknown, request: ReceivedRequest, base = ''): string[] {
  const { problems, check } = problemList();
  const fields = body as Record<string, unknown>;
  check('method', request.method === 'POST', request.method);
  check('authorization', request.headers.authorization === `GenieKey ${API_KEY}`, 'not the GenieKey');
  check('content-type', request.headers['content-type'] === 'application/json', 'not JSON');
  const path = request.path.slice(base.length);
  if (path === '/v2/alerts') {
    const { message, alias, description, priority, source, entity, tags, details } = fields as Record<string, never>;
    check('message', typeof message === 'string' && (message as string).length > 0, 'required');
    check('message', String(message).length <= 130, 'over 130 characters');
    check('alias', typeof alias === 'string' && (alias as string).length <= 512, 'a string of at most 512');
    check('description', typeof description === 'string' && (description as string).length <= 15_000, 'at most 15,000');
    check('priority', ['P1', 'P2', 'P3', 'P4', 'P5'].includes(priority), `invalid ${String(priority)}`);
    check('source', typeof source === 'string' && (source as string).length <= 100, 'at most 100');
    check('entity', typeof entity === 'string' && (entity as string).length <= 512, 'at most 512');
    check('tags', Array.isArray(tags) && (tags as string[]).length <= 20, 'at most 20');
    for (const tag of (tags as string[]) ?? []) check('tags[]', typeof tag === 'string' && tag.length <= 50, tag);
    const entries = Object.entries((details ?? {}) as Record<string, unknown>);
    check(
      'details',
      entries.every(([, value]) => typeof value === 'string'),
      'values must be strings',
    );
    const size = entries.reduce((sum, [key, value]) => sum + key.length + String(value).length, 0);
    check('details', size <= 8_000, `${size} characters, over 8,000`);
    const unknown = Object.keys(fields).filter((key) => !CREATE_KEYS.includes(key));
    check('body', unknown.length === 0, `unknown ${unknown.join(', ')}`);
  } else if (CLOSE_PATH.test(path)) {
    check('alias', decodeURIComponent(CLOSE_PATH.exec(path)![1]!).length <= 512, 'over 512');
    const unknown = Object.keys(fields).filter((key) => !['user', 'source', 'note'].includes(key));
    check('body', unknown.length === 0, `unknown ${unknown.join(', ')}`);
    check('source', typeof fields.source === 'string' && (fields.source as string).length <= 100, 'at most 100');
    check('note', typeof fields.note === 'string' && (fields.note as string).length <= 25_000, 'at most 25,000');
  } else {
    check('path', false, `unexpected ${request.path}`);
  }
  return problems;
}

const kindOf = (request: ReceivedRequest): 'alert' | 'recovery' | 'other' =>
  request.path.endsWith('/v2/alerts') ? 'alert' : CLOSE_PATH.test(request.path) ? 'recovery' : 'other';

describe('the Opsgenie channel', () => {
  channelContract(apps, {
    options: (url) => ({ type: 'opsgenie', apiKey: API_KEY, url: url.replace(/\/$/, '') }),
    path: '',
    secrets: SECRETS,
    accepted: 202,
    problems: (body, request) => opsgenieProblems(body, request),
    kindOf,
    testRequests: 2,
  });

  it('creates an alert aliased by its outage, P1, and closes it by alias on recovery', async () => {
    const opsgenie = await apps.receiver();
    opsgenie.fallback = { status: 202 };
    const { monitor, clock, logger } = await apps.boot({
      serviceName: 'billing-api',
      thresholdMs: 125_000,
      channels: [{ type: 'opsgenie', apiKey: API_KEY, url: opsgenie.url() }],
    });
    monitor.recordFailure(new Error('connect ECONNREFUSED 10.0.0.5:5432'));
    clock.advance(400);
    monitor.recordFailure(new Error('connect ETIMEDOUT 10.0.0.5:5432'));
    clock.advance(124_600);
    const outageId = monitor.getStatus().outageId!;
    await opsgenie.waitForRequests(1);
    clock.advance(42_000);
    monitor.recordSuccess();
    await opsgenie.waitForRequests(2);

    // Nothing keeps the outage across a restart (no state, no cluster): the alias is the monitor's, as PagerDuty's key.
    const alias = 'audit-storage:billing-api:default';
    const [create, close] = opsgenie.bodies() as Record<string, unknown>[];
    expect(opsgenie.requests[0]!.path).toBe('/v2/alerts');
    expect(create).toEqual({
      message: 'Audit storage of billing-api unreachable for 2m 5s (monitor default)',
      alias,
      description: [
        'billing-api has been unable to write its audit trail for 2m 5s: 2 failed writes since the outage began.',
        '',
        'Last error:',
        'Error: connect ETIMEDOUT 10.0.0.5:5432',
        '',
        'Service: billing-api',
        'Monitor: default',
        'Failing since: 2026-01-01 12:00:00 UTC',
        'Alert: 1st alert',
        `Outage: ${outageId}`,
      ].join('\n'),
      priority: 'P1',
      source: 'billing-api',
      entity: 'billing-api/default',
      tags: ['audit-storage', 'audit.storage.unreachable', 'monitor:default'],
      details: {
        type: 'audit.storage.unreachable',
        outageId,
        monitor: 'default',
        serviceName: 'billing-api',
        firstFailureAt: '2026-01-01T12:00:00.000Z',
        consecutiveFailures: '2',
        unreachableDurationMs: '125000',
        lastError: 'Error: connect ETIMEDOUT 10.0.0.5:5432',
        occurrence: '1',
        probeFailures: '0',
      },
    });
    expect(opsgenie.requests[1]!.path).toBe(`/v2/alerts/${encodeURIComponent(alias)}/close?identifierType=alias`);
    expect(close).toEqual({
      source: 'billing-api',
      note: 'billing-api is writing its audit trail again. The outage lasted 2m 47s; 2 audit writes failed during it.',
    });
    for (const request of opsgenie.requests) expect(opsgenieProblems(JSON.parse(request.body), request)).toEqual([]);
    await waitFor(() => logger.of('log').length === 2, 'both deliveries logged');
    expect(logger.of('log')[0]).toBe(
      `Opsgenie channel (http://127.0.0.1:${opsgenie.port}) delivered audit.storage.unreachable (monitor "default", outage ${outageId}, occurrence 1) in 1 attempt.`,
    );
    expect(logger.text()).not.toMatch(SECRETS);
  });

  it('posts to Jira Service Management under its base URL, with the alias of the outage when a state file keeps it', async () => {
    const jsm = await apps.receiver();
    jsm.fallback = { status: 202 };
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { monitor } = await apps.boot({
      serviceName: 'billing-api',
      thresholdMs: 0,
      state: { file: join(mkdtempSync(join(tmpdir(), 'opsgenie-')), 'state.json') },
      channels: [{ type: 'opsgenie', apiKey: API_KEY, url: jsm.url('/jsm/ops/integration/') }],
    });
    monitor.recordFailure('down');
    const outageId = monitor.getStatus().outageId!;
    await jsm.waitForRequests(1);
    monitor.recordSuccess();
    await jsm.waitForRequests(2);
    const alias = `audit-storage:billing-api:default:${outageId}`;
    expect(jsm.requests.map((request) => request.path)).toEqual([
      '/jsm/ops/integration/v2/alerts',
      `/jsm/ops/integration/v2/alerts/${encodeURIComponent(alias)}/close?identifierType=alias`,
    ]);
    expect((jsm.bodies()[0] as { alias: string }).alias).toBe(alias);
    for (const request of jsm.requests) {
      expect(opsgenieProblems(JSON.parse(request.body), request, '/jsm/ops/integration')).toEqual([]);
    }
  });

  it('maps each event to a priority, and a test alert creates a P5 alert of its own that it closes at once', async () => {
    const alias = 'a';
    const at = new Date('2026-01-01T12:00:00Z');
    const base = { outageId: 'o', monitor: 'default', serviceName: 'billing-api' };
    const priorities = { priority: 'P2', degradedPriority: 'P4' } as const;
    const degraded = opsgenieAlert(
      {
        ...base,
        type: 'audit.storage.degraded',
        failureRatio: 0.5,
        writes: 20,
        failures: 10,
        windowMs: 30_000,
        lastError: 'e',
        firstFailureAt: at,
        occurrence: 1,
      },
      alias,
      priorities,
    );
    expect(degraded?.priority).toBe('P4');
    const capacity = (level: 'warning' | 'critical' | 'normal') =>
      opsgenieAlert(
        {
          ...base,
          type: 'audit.storage.capacity',
          level,
          previousLevel: 'normal',
          usedRatio: 0.9,
          used: null,
          total: null,
          threshold: 0.75,
          occurrence: 1,
          checkedAt: at,
        },
        alias,
        priorities,
      )?.priority ?? null;
    expect([capacity('warning'), capacity('critical'), capacity('normal')]).toEqual(['P3', 'P1', null]);
    const spool = opsgenieAlert(
      { ...base, type: 'audit.spool.unwritable', lastError: 'EROFS', recordsLost: 3, failedAt: at },
      alias,
      priorities,
    );
    expect(spool?.priority).toBe('P1');

    const opsgenie = await apps.receiver();
    opsgenie.fallback = { status: 202 };
    const { app } = await apps.boot({
      serviceName: 'billing-api',
      channels: [{ type: 'opsgenie', apiKey: API_KEY, url: opsgenie.url() }],
    });
    const [result] = await app.get(AuditMonitorRegistry).sendTestAlert();
    expect(result).toMatchObject({ delivered: true, attempts: 2 });
    const create = opsgenie.bodies()[0] as { alias: string; priority: string; message: string };
    expect(create.priority).toBe('P5');
    expect(create.alias).toMatch(/^audit-alert-test:billing-api:default:[0-9a-f-]{36}$/);
    expect(create.message).toContain('Test alert');
    expect(opsgenie.requests[1]!.path).toBe(
      `/v2/alerts/${encodeURIComponent(create.alias)}/close?identifierType=alias`,
    );
  });

  it('closes at once the alert of an episode no event ends: records rejected, as PagerDuty resolves it', async () => {
    const opsgenie = await apps.receiver();
    opsgenie.fallback = { status: 202 };
    const refused = Object.assign(new Error('null value in column "actor" violates not-null constraint'), {
      code: '23502',
    });
    const { monitor, clock } = await apps.boot({
      serviceName: 'billing-api',
      thresholdMs: 1_000,
      classify: (error: unknown) => ((error as { code?: string }).code === '23502' ? 'record' : 'storage'),
      channels: [{ type: 'opsgenie', apiKey: API_KEY, url: opsgenie.url() }],
    });
    monitor.recordFailure(refused);
    clock.advance(1_000);
    monitor.recordFailure(refused);
    await opsgenie.waitForRequests(2);
    await settle();
    const create = opsgenie.bodies()[0] as { alias: string; message: string };
    expect(create.message).toContain('losing audit records');
    expect(opsgenie.requests.map((request) => request.path)).toEqual([
      '/v2/alerts',
      `/v2/alerts/${encodeURIComponent(create.alias)}/close?identifierType=alias`,
    ]);
  });

  it('closes by monitor the alert a process before it may have left open, at the first success after a start', async () => {
    const opsgenie = await apps.receiver();
    opsgenie.fallback = { status: 202 };
    const { monitor, logger } = await apps.boot({
      serviceName: 'billing-api',
      channels: [{ type: 'opsgenie', apiKey: API_KEY, url: opsgenie.url() }],
    });
    monitor.recordSuccess();
    await opsgenie.waitForRequests(1);
    await settle();
    expect(opsgenie.requests.map((request) => request.path)).toEqual([
      `/v2/alerts/${encodeURIComponent('audit-storage:billing-api:default')}/close?identifierType=alias`,
    ]);
    await waitFor(() => logger.of('log').length === 1, 'the close logged');
    expect(logger.text()).not.toMatch(SECRETS);
  });

  it('renders links in the description and the details, and a custom summary as the message', async () => {
    const opsgenie = await apps.receiver();
    opsgenie.fallback = { status: 202 };
    const { monitor } = await apps.boot({
      thresholdMs: 0,
      links: [{ text: 'Runbook', url: 'https://wiki.example.com/runbooks/audit' }],
      channels: [
        {
          type: 'opsgenie',
          apiKey: API_KEY,
          url: opsgenie.url(),
          summary: (event) => `[AU-5] ${event.type} ${'x'.repeat(200)}`,
        },
      ],
    });
    monitor.recordFailure('down');
    await opsgenie.waitForRequests(1);
    const create = opsgenie.bodies()[0] as { message: string; description: string; details: Record<string, string> };
    expect(create.message).toHaveLength(130);
    expect(create.message.startsWith('[AU-5] audit.storage.unreachable')).toBe(true);
    expect(create.description.endsWith('\n\nRunbook: https://wiki.example.com/runbooks/audit')).toBe(true);
    expect(create.details['link: Runbook']).toBe('https://wiki.example.com/runbooks/audit');
    expect(opsgenieProblems(create, opsgenie.requests[0]!)).toEqual([]);
  });

  it('renders every event type within the alert API schema, or as a close or an acknowledge', () => {
    const request = {
      method: 'POST',
      path: '/v2/alerts',
      body: '',
      headers: { authorization: `GenieKey ${API_KEY}`, 'content-type': 'application/json' },
    };
    const closes: string[] = [];
    for (const event of sampleEvents()) {
      const create = opsgenieAlert(event, 'alias', { priority: 'P1', degradedPriority: 'P3' }, undefined, [
        { text: 'Runbook', url: 'https://wiki.example.com/runbooks/audit' },
        { text: 'Dashboard', url: 'https://grafana.example.com/d/audit' },
      ]);
      if (create === null) closes.push(event.type);
      else expect([event.type, opsgenieProblems(create, request)]).toEqual([event.type, []]);
    }
    expect(closes).toEqual(['audit.storage.recovered', 'audit.alert.acknowledged']);
  });

  it('is checked at boot, never showing the key', () => {
    const rejection = (channel: Record<string, unknown>): string => {
      try {
        resolveAuditAlertOptions({ channels: [{ type: 'opsgenie', ...channel }] });
      } catch (error) {
        expect(error).toBeInstanceOf(AuditAlertConfigError);
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    expect(rejection({})).toContain('"channels[0].apiKey"');
    expect(rejection({ apiKey: '  ' })).toContain('"channels[0].apiKey"');
    const lineBreak = rejection({ apiKey: `${API_KEY}\n` });
    expect(lineBreak).toContain('a key fetch cannot send in a header');
    expect(lineBreak).not.toContain('G3NIEKEY');
    expect(rejection({ apiKey: API_KEY, priority: 'P6' })).toContain("one of 'P1', 'P2', 'P3', 'P4', 'P5'");
    expect(rejection({ apiKey: API_KEY, url: 'https://user:pass@api.opsgenie.com' })).toContain('"channels[0].url"');
    expect(rejection({ apiKey: API_KEY, routingKey: 'x' })).toContain('channels[0].routingKey');
    const [resolved] = resolveAuditAlertOptions({ channels: [{ type: 'opsgenie', apiKey: API_KEY }] }).channels;
    expect(resolved).toMatchObject({ url: 'https://api.opsgenie.com', priority: 'P1', degradedPriority: 'P3' });
    const [eu] = resolveAuditAlertOptions({
      channels: [{ type: 'opsgenie', apiKey: API_KEY, url: 'https://api.eu.opsgenie.com/' }],
    }).channels;
    expect(eu).toMatchObject({ url: 'https://api.eu.opsgenie.com' });
  });
});
