import { afterEach, describe, expect, it } from '@jest/globals';
import { AuditAlertConfigError, AuditAlertPagerDutyModule, pagerDutySignature } from '../../src/index.js';
import { expectNoUnhandledRejections } from '../support/rejection-watch.js';
import { bootResponseApp, closeResponseApp, type ResponseApp } from './support/response-app.js';

expectNoUnhandledRejections();

const SECRET = 'whsec-current-0123456789abcdef';
const OLD_SECRET = 'whsec-previous-0123456789abcdef';
const ROUTE = '/audit-alert/pagerduty';

const apps: ResponseApp[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await closeResponseApp(app);
});

/** A V3 delivery as PagerDuty sends it (shape of its developer documentation), for the incident keyed `incidentKey`. */
function incidentDelivery(type: string, incidentKey: string, agent = 'Ana Oncall'): string {
  return JSON.stringify({
    event: {
      id: '5ac64822-4adc-4fda-ade0-410becf0de4f',
      event_type: type,
      resource_type: 'incident',
      occurred_at: '2026-01-01T12:00:20.000Z',
      agent: { id: 'PLH1HKV', summary: agent, type: 'user_reference' },
      client: { name: 'PagerDuty' },
      data: {
        id: 'PGR0VU2',
        type: 'incident',
        html_url: 'https://acme.pagerduty.com/incidents/PGR0VU2',
        number: 2,
        status: type === 'incident.resolved' ? 'resolved' : 'acknowledged',
        incident_key: incidentKey,
        title: 'Audit storage of billing-api unreachable',
      },
    },
  });
}

function noteDelivery(content: string): string {
  return JSON.stringify({
    event: {
      id: '01BRB6ZP4M6T8ZG4X6BP63ZB9O',
      event_type: 'incident.annotated',
      resource_type: 'incident',
      occurred_at: '2026-01-01T12:01:00.000Z',
      agent: { id: 'PLH1HKV', summary: 'Ana Oncall', type: 'user_reference' },
      data: {
        incident: { id: 'PGR0VU2', type: 'incident_reference' },
        id: 'P2LA89X',
        content,
        trimmed: false,
        type: 'incident_note',
      },
    },
  });
}

async function post(url: string, body: string, signature?: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${url}${ROUTE}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signature ? { 'x-pagerduty-signature': signature } : {}) },
    body,
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : (JSON.parse(text) as unknown) };
}

describe.each(['express', 'fastify'] as const)('the PagerDuty webhook under %s', (platform) => {
  async function boot(): Promise<ResponseApp & { url: string; outageId: string; incidentKey: string }> {
    const booted = await bootResponseApp(
      { serviceName: 'billing-api', thresholdMs: 0 },
      { platform, secrets: [SECRET, OLD_SECRET] },
    );
    apps.push(booted);
    booted.monitor.recordFailure(new Error('connect ECONNREFUSED'));
    const outageId = booted.monitor.getStatus().outageId!;
    // The PagerDuty channel's key of that outage (per outage where a store remembers it; here, per monitor).
    return { ...booted, url: booted.url!, outageId, incidentKey: `audit-storage:billing-api:default:${outageId}` };
  }

  it('records an acknowledgement signed with a known secret, and the note added to the incident', async () => {
    const { url, ledger, outageId, incidentKey, registry, clock } = await boot();
    const body = incidentDelivery('incident.acknowledged', incidentKey);
    // During a rotation PagerDuty signs with both secrets.
    const signature = `${pagerDutySignature(body, 'some-other-secret')},${pagerDutySignature(body, SECRET)}`;
    expect(await post(url, body, signature)).toEqual({ status: 202, body: { result: 'acknowledged', outageId } });
    expect(ledger.of('acknowledged')).toEqual([
      {
        kind: 'acknowledged',
        outageId,
        monitor: 'default',
        by: 'Ana Oncall',
        note: null,
        acknowledgedAt: new Date(clock.wallNow()).toISOString(),
        source: 'pagerduty',
      },
    ]);
    const again = await registry.acknowledge(outageId, { by: 'bob' });
    expect(again).toMatchObject({ by: 'Ana Oncall', alreadyAcknowledged: true });

    const note = noteDelivery('Root cause: the disk of db-1 filled up');
    expect(await post(url, note, pagerDutySignature(note, OLD_SECRET))).toEqual({
      status: 202,
      body: { result: 'annotated', outageId },
    });
    expect(ledger.of('annotated')).toEqual([
      {
        kind: 'annotated',
        outageId,
        monitor: 'default',
        by: 'Ana Oncall',
        cause: 'Root cause: the disk of db-1 filled up',
        ticket: null,
        source: 'pagerduty',
      },
    ]);
  });

  it('refuses a tampered body, a wrong secret and a missing signature with 401, and changes nothing', async () => {
    const { url, ledger, incidentKey, logger } = await boot();
    const body = incidentDelivery('incident.acknowledged', incidentKey);
    const tampered = body.replace('Ana Oncall', 'Mallory');
    expect((await post(url, tampered, pagerDutySignature(body, SECRET))).status).toBe(401);
    expect((await post(url, body, pagerDutySignature(body, 'not-the-secret-at-all'))).status).toBe(401);
    expect((await post(url, body)).status).toBe(401);
    expect((await post(url, body, 'v1=zz,v2=abc')).status).toBe(401);
    expect(ledger.records.filter((record) => record.kind === 'acknowledged' || record.kind === 'annotated')).toEqual(
      [],
    );
    // No secret reaches the log.
    expect(logger.lines.map((line) => line.message).join('\n')).not.toContain(SECRET);
  });

  it("maps an incident keyed by monitor (no store remembers outages) to that monitor's open outage", async () => {
    const { url, ledger, outageId, clock } = await boot();
    const body = incidentDelivery('incident.resolved', 'audit-storage:billing-api:default');
    expect(await post(url, body, pagerDutySignature(body, SECRET))).toEqual({
      status: 202,
      body: { result: 'acknowledged', outageId },
    });
    expect(ledger.of('acknowledged')).toEqual([
      {
        kind: 'acknowledged',
        outageId,
        monitor: 'default',
        by: 'Ana Oncall',
        note: 'resolved in PagerDuty',
        acknowledgedAt: new Date(clock.wallNow()).toISOString(),
        source: 'pagerduty',
      },
    ]);
  });

  it('ignores, with 202, an incident that is no outage of this application', async () => {
    const { url, ledger } = await boot();
    const body = incidentDelivery('incident.acknowledged', 'some-other-tool:web-1');
    expect(await post(url, body, pagerDutySignature(body, SECRET))).toEqual({
      status: 202,
      body: { result: 'ignored' },
    });
    expect(ledger.records.filter((record) => record.kind === 'acknowledged' || record.kind === 'annotated')).toEqual(
      [],
    );
  });
});

describe('the PagerDuty webhook without rawBody', () => {
  it('refuses deliveries and says how to fix it', async () => {
    const booted = await bootResponseApp(
      { thresholdMs: 0 },
      { platform: 'express', secrets: [SECRET], rawBody: false },
    );
    apps.push(booted);
    const body = incidentDelivery('incident.acknowledged', 'audit-storage:x');
    expect((await post(booted.url!, body, pagerDutySignature(body, SECRET))).status).toBe(500);
    expect(booted.logger.of('error').join('\n')).toContain('rawBody: true');
  });
});

describe('AuditAlertPagerDutyModule options', () => {
  it('refuses missing, empty and short secrets and a bad path, naming the option and never showing a secret', () => {
    const refusal = (options: unknown): string => {
      try {
        AuditAlertPagerDutyModule.register(options as never);
      } catch (error) {
        expect(error).toBeInstanceOf(AuditAlertConfigError);
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refusal({})).toContain('"pagerDutyWebhook.secrets"');
    expect(refusal({ secrets: [] })).toContain('an array of 1 to 10 signing secrets');
    const short = refusal({ secrets: [SECRET, 'short1'] });
    expect(short).toContain('"pagerDutyWebhook.secrets[1]"');
    expect(short).not.toContain('short1');
    expect(refusal({ secrets: [SECRET], path: '' })).toContain('"pagerDutyWebhook.path"');
    expect(refusal({ secrets: [SECRET], secret: SECRET })).toContain('secret');
    expect(AuditAlertPagerDutyModule.register({ secrets: [SECRET], path: 'hooks/pd' }).controllers).toHaveLength(1);
  });
});
