import { afterEach, describe, expect, it } from '@jest/globals';
import { teamsMessage } from '../../src/channels/teams.channel.js';
import { escapeTeams } from '../../src/channels/teams-markdown.util.js';
import type { AuditAlertModuleOptions } from '../../src/index.js';
import { expectNoUnhandledRejections } from '../support/rejection-watch.js';
import { adaptiveCardProblems } from './support/adaptive-card.js';
import { type BootedApp, ChannelApps, settle, waitForTimers } from './support/channel-app.js';
import { waitFor } from './support/http-receiver.js';

expectNoUnhandledRejections();

const apps = new ChannelApps();
afterEach(() => apps.dispose());
const boot = (options: AuditAlertModuleOptions): Promise<BootedApp> => apps.boot(options);

/** Where a Workflows webhook keeps its secret: the path and the `sig` query parameter. */
const WORKFLOW_PATH = '/workflows/0a1b2c3d/triggers/manual/paths/invoke?api-version=2016-06-01&sig=S1GSECRETs1gsecret';

/** The envelope Teams Workflows expects around one Adaptive Card. */
function card(body: unknown[]): unknown {
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
          msteams: { width: 'Full' },
        },
      },
    ],
  };
}

describe('the Teams channel', () => {
  it('posts an exact, valid Adaptive Card for an alert and a recovered card for its end', async () => {
    const teams = await apps.receiver();
    const { monitor, clock, logger } = await boot({
      serviceName: 'billing-api',
      thresholdMs: 125_000,
      channels: [{ type: 'teams', url: teams.url(WORKFLOW_PATH) }],
    });
    monitor.recordFailure(new Error('connect ECONNREFUSED 10.0.0.5:5432'));
    clock.advance(400);
    monitor.recordFailure(new Error('connect ETIMEDOUT 10.0.0.5:5432'));
    clock.advance(124_600);
    const outageId = monitor.getStatus().outageId!;
    await teams.waitForRequests(1);
    clock.advance(3_598_000);
    monitor.recordSuccess();
    await teams.waitForRequests(2);

    const [alert, recovered] = teams.bodies();
    expect(alert).toEqual(
      card([
        {
          type: 'TextBlock',
          text: '🚨 Audit storage unreachable',
          size: 'Large',
          weight: 'Bolder',
          color: 'Attention',
          wrap: true,
        },
        {
          type: 'TextBlock',
          text: '**billing-api** has been unable to write its audit trail for **2m 5s**: 2 failed writes since the outage began.',
          wrap: true,
        },
        {
          type: 'FactSet',
          facts: [
            { title: 'Service', value: 'billing-api' },
            { title: 'Monitor', value: 'default' },
            { title: 'Failing since', value: '{{DATE(2026-01-01T12:00:00Z, SHORT)}} {{TIME(2026-01-01T12:00:00Z)}}' },
            { title: 'Alert', value: '1st alert' },
            { title: 'Outage', value: outageId },
          ],
        },
        { type: 'TextBlock', text: 'Last error', weight: 'Bolder', wrap: true },
        { type: 'TextBlock', text: 'Error: connect ETIMEDOUT 10.0.0.5:5432', fontType: 'Monospace', wrap: true },
      ]),
    );
    expect(recovered).toEqual(
      card([
        {
          type: 'TextBlock',
          text: '✅ Audit storage recovered',
          size: 'Large',
          weight: 'Bolder',
          color: 'Good',
          wrap: true,
        },
        {
          type: 'TextBlock',
          text: '**billing-api** is writing its audit trail again. The outage lasted **1h 2m**; **2 audit writes** failed during it.',
          wrap: true,
        },
        {
          type: 'FactSet',
          facts: [
            { title: 'Service', value: 'billing-api' },
            { title: 'Monitor', value: 'default' },
            { title: 'Outage started', value: '{{DATE(2026-01-01T12:00:00Z, SHORT)}} {{TIME(2026-01-01T12:00:00Z)}}' },
            { title: 'Recovered', value: '{{DATE(2026-01-01T13:02:03Z, SHORT)}} {{TIME(2026-01-01T13:02:03Z)}}' },
            { title: 'Outage', value: outageId },
          ],
        },
      ]),
    );
    for (const body of teams.bodies()) expect(adaptiveCardProblems(body)).toEqual([]);
    for (const request of teams.requests) {
      expect(request.path).toBe(WORKFLOW_PATH);
      expect(request.headers['content-type']).toBe('application/json');
    }
    await waitFor(() => logger.of('log').length === 2, 'both deliveries logged');
    expect(logger.of('log')).toEqual([
      `Teams channel (http://127.0.0.1:${teams.port}) delivered audit.storage.unreachable (monitor "default", outage ${outageId}, occurrence 1) in 1 attempt.`,
      `Teams channel (http://127.0.0.1:${teams.port}) delivered audit.storage.recovered (monitor "default", outage ${outageId}) in 1 attempt.`,
    ]);
  });

  it("escapes what Teams' markdown would read, in the event's text and in a custom summary", async () => {
    const teams = await apps.receiver();
    const { monitor } = await boot({
      serviceName: '**urgent** [click](https://evil.example) {{DATE(2020-01-01T00:00:00Z)}}',
      thresholdMs: 0,
      channels: [{ type: 'teams', url: teams.url(WORKFLOW_PATH), summary: (event) => `_${event.type}_ <at>all</at>` }],
    });
    monitor.recordFailure('- not a list `code` ~~struck~~ back\\slash');
    await teams.waitForRequests(1);

    const body = teams.bodies()[0] as { attachments: [{ content: { body: { text?: string; facts?: unknown }[] } }] };
    const elements = body.attachments[0].content.body;
    expect(adaptiveCardProblems(body)).toEqual([]);
    expect(elements[0]!.text).toBe('\\_audit.storage.unreachable\\_ \\<at\\>all\\</at\\>');
    expect(elements[1]!.text).toBe(
      '**\\*\\*urgent\\*\\* \\[click\\](https://evil.example) {\u200b{DATE(2020-01-01T00:00:00Z)}}** has been unable to write its audit trail for **0 ms**: 1 failed write since the outage began.',
    );
    expect(elements[4]!.text).toBe('\\- not a list \\`code\\` \\~\\~struck\\~\\~ back\\\\slash');
  });

  it('breaks every run of braces, however long, so that no text of the event is read as a {{…}} function', () => {
    for (const run of ['{{', '{{{', '{{{{', '{{{{{']) {
      const escaped = escapeTeams(`${run}DATE(2020-01-01T00:00:00Z)}}`, 100);
      expect(escaped).not.toContain('{{');
      expect(escaped.replace(/\u200b/g, '')).toBe(`${run}DATE(2020-01-01T00:00:00Z)}}`);
    }
    expect(escapeTeams('{{{DATE(2020-01-01T00:00:00Z)}}', 100)).toBe('{\u200b{\u200b{DATE(2020-01-01T00:00:00Z)}}');
    // Cut anywhere, the text still holds no `{{`.
    for (let max = 1; max <= 12; max++) expect(escapeTeams('{{{{{{{{', max)).not.toContain('{{');
    // In a card, the only functions left are the card's own dates.
    const card = JSON.stringify(
      teamsMessage({
        type: 'audit.alert.test',
        testId: '{{{TIME(2020-01-01T00:00:00Z)}}',
        monitor: '{{{{DATE(2020-01-01T00:00:00Z)}}',
        serviceName: 'billing {{{DATE(2020-01-01T00:00:00Z)}}',
        sentAt: new Date('2026-01-01T12:00:00Z'),
      }),
    );
    expect(card.match(/\{\{[A-Z]+\([^)]*\)\}\}/g)).toEqual([
      '{{DATE(2026-01-01T12:00:00Z, SHORT)}}',
      '{{TIME(2026-01-01T12:00:00Z)}}',
    ]);
  });

  it('escapes headings, lists and quotes only where they start a line', () => {
    expect(escapeTeams('a - b\n- c\n  # d\n12. e\n+ f > g', 100)).toBe('a - b\n\\- c\n  \\# d\n12\\. e\n\\+ f \\> g');
  });

  it('cuts escaped text without ever splitting an escape from its character', () => {
    expect(escapeTeams('ab*cd', 4)).toBe('ab…');
    expect(escapeTeams('ab*cd', 5)).toBe('ab\\*…');
    expect(escapeTeams('😀😀😀', 5)).toBe('😀😀…');
  });

  it('retries, keeps a recovery behind its alert, and never logs the URL beyond its origin', async () => {
    const teams = await apps.receiver();
    teams.reply({ status: 503 });
    const { monitor, clock, logger } = await boot({
      thresholdMs: 0,
      channels: [{ type: 'teams', url: teams.url(WORKFLOW_PATH) }],
    });
    monitor.recordFailure('down');
    await waitForTimers(clock);
    monitor.recordSuccess();
    await settle();
    expect(teams.requests).toHaveLength(1);
    clock.advance(500);
    await teams.waitForRequests(3);
    const colors = (teams.bodies() as { attachments: [{ content: { body: [{ color: string }] } }] }[]).map(
      (body) => body.attachments[0].content.body[0].color,
    );
    expect(colors).toEqual(['Attention', 'Attention', 'Good']);
    await waitFor(() => logger.of('log').length === 2, 'both deliveries logged');
    expect(logger.of('warn')).toEqual([
      `Teams channel (http://127.0.0.1:${teams.port}): attempt 1 to send audit.storage.unreachable failed (HTTP 503); retrying in 500 ms.`,
    ]);
    expect(logger.text()).not.toMatch(/S1GSECRET|s1gsecret|workflows|triggers|sig=/);
  });
});
