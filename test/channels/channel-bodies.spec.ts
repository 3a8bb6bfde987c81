import { describe, expect, it } from '@jest/globals';
import { humanDuration } from '../../src/channels/human-duration.util.js';
import { pagerDutyDedupKey, pagerDutyEvent, type PagerDutyTrigger } from '../../src/channels/pagerduty.channel.js';
import { slackMessage } from '../../src/channels/slack.channel.js';
import { teamsMessage } from '../../src/channels/teams.channel.js';
import { storageRecoveredEvent, type SpoolCounts } from '../../src/events/storage-recovered-event.js';
import { adaptiveCardProblems } from './support/adaptive-card.js';
import { SAMPLE_EVENTS } from './support/sample-events.js';
import type {
  LedgerBrokenEvent,
  RecordsRejectedEvent,
  SpoolQuarantinedEvent,
  SpoolReplayedEvent,
  SpoolUnwritableEvent,
  StorageCapacityEvent,
  StorageRecoveredEvent,
  StorageUnreachableEvent,
} from '../../src/index.js';

const OUTAGE_ID = '6f1c2a1e-8a3b-4c55-9d7e-2b7f0c1d9e42';

function unreachable(overrides: Partial<StorageUnreachableEvent> = {}): StorageUnreachableEvent {
  return {
    type: 'audit.storage.unreachable',
    outageId: OUTAGE_ID,
    monitor: 'default',
    serviceName: 'billing-api',
    firstFailureAt: new Date('2026-01-01T12:00:00.000Z'),
    consecutiveFailures: 1,
    unreachableDurationMs: 30_000,
    lastError: 'Error: connect ECONNREFUSED',
    occurrence: 1,
    probeFailures: 0,
    ...overrides,
  };
}

/** A recovery of 45 s as the module builds it: without a spool unless `spool` gives its counts. */
function recovered(writesFailed = 1, spool: SpoolCounts | null = null): StorageRecoveredEvent {
  return storageRecoveredEvent(
    {
      outageId: OUTAGE_ID,
      monitor: 'default',
      serviceName: 'billing-api',
      startedAt: Date.parse('2026-01-01T12:00:00.000Z'),
      recoveredAt: Date.parse('2026-01-01T12:00:45.000Z'),
      durationMs: 45_000,
      writesFailed,
    },
    spool,
  );
}

function capacity(overrides: Partial<StorageCapacityEvent> = {}): StorageCapacityEvent {
  return {
    type: 'audit.storage.capacity',
    outageId: OUTAGE_ID,
    monitor: 'default',
    serviceName: 'billing-api',
    level: 'warning',
    previousLevel: 'normal',
    usedRatio: 0.8125,
    used: 13,
    total: 16,
    threshold: 0.75,
    occurrence: 1,
    checkedAt: new Date('2026-01-01T12:00:00.000Z'),
    ...overrides,
  };
}

describe('the capacity event on each channel', () => {
  it('reads as a warning, then as the all-clear, in Slack', () => {
    const warning = slackMessage(capacity());
    expect(warning.text).toBe(
      ':warning: Audit storage filling up: billing-api at 81.3 % (monitor default, level warning)',
    );
    expect(JSON.stringify(warning.blocks)).toContain('past the warning level of 75 %');
    expect(JSON.stringify(warning.blocks)).toContain('13 of 16');
    const cleared = slackMessage(
      capacity({ level: 'normal', previousLevel: 'warning', usedRatio: 0.6, used: null, total: null }),
    );
    expect(cleared.text).toContain('back under its capacity warning');
    expect(JSON.stringify(cleared.blocks)).toContain('back at *60 %* used');
  });

  it('reads as a valid Adaptive Card colored by its level in Teams', () => {
    const warning = teamsMessage(capacity());
    expect(adaptiveCardProblems(warning)).toEqual([]);
    expect(warning.attachments[0].content.body).toEqual([
      {
        type: 'TextBlock',
        text: '⚠️ Audit storage filling up',
        size: 'Large',
        weight: 'Bolder',
        color: 'Warning',
        wrap: true,
      },
      {
        type: 'TextBlock',
        text: "**billing-api**'s audit storage is **81.3 %** full, past the warning level of 75 %.",
        wrap: true,
      },
      {
        type: 'FactSet',
        facts: [
          { title: 'Service', value: 'billing-api' },
          { title: 'Monitor', value: 'default' },
          { title: 'Used', value: '13 of 16' },
          { title: 'Checked', value: '{{DATE(2026-01-01T12:00:00Z, SHORT)}} {{TIME(2026-01-01T12:00:00Z)}}' },
          { title: 'Capacity episode', value: OUTAGE_ID },
        ],
      },
    ]);
    const critical = teamsMessage(capacity({ level: 'critical', threshold: 0.9 }));
    const cleared = teamsMessage(capacity({ level: 'normal', usedRatio: 0.6, used: null, total: null }));
    for (const message of [critical, cleared]) expect(adaptiveCardProblems(message)).toEqual([]);
    expect(critical.attachments[0].content.body[0]).toMatchObject({ color: 'Attention' });
    expect(cleared.attachments[0].content.body[0]).toMatchObject({ color: 'Good' });
    expect(cleared.attachments[0].content.body[1]).toMatchObject({
      text: "**billing-api**'s audit storage is back at **60 %** used, under the warning level of 75 %.",
    });
  });

  it('triggers a PagerDuty incident at the severity of its level, and resolves it on the same key', () => {
    const trigger = pagerDutyEvent(capacity({ level: 'critical', threshold: 0.9 }), 'key', 'error') as PagerDutyTrigger;
    expect(trigger.event_action).toBe('trigger');
    expect(trigger.payload).toMatchObject({
      severity: 'critical',
      summary: 'Audit storage of billing-api 81.3 % full (monitor default, critical level 0.9)',
      timestamp: '2026-01-01T12:00:00.000Z',
      class: 'audit.storage.capacity',
    });
    expect(pagerDutyEvent(capacity(), 'key', 'error')).toMatchObject({ payload: { severity: 'warning' } });
    expect(pagerDutyEvent(capacity({ level: 'normal' }), 'key', 'error')).toEqual({
      routing_key: 'key',
      event_action: 'resolve',
      dedup_key: trigger.dedup_key,
    });
    // One incident per monitor, whatever the episode: every replica and every restart finds it again.
    expect(trigger.dedup_key).toBe('audit-capacity:billing-api:default');
  });
});

function rejected(overrides: Partial<RecordsRejectedEvent> = {}): RecordsRejectedEvent {
  return {
    type: 'audit.records.rejected',
    outageId: OUTAGE_ID,
    monitor: 'default',
    serviceName: 'billing-api',
    firstRejectedAt: new Date('2026-01-01T12:00:00.000Z'),
    rejectedRecords: 12,
    rejectedDurationMs: 30_000,
    lastError: 'error: null value in column "actor" violates not-null constraint',
    occurrence: 1,
    ...overrides,
  };
}

describe('the rejected-records event on each channel', () => {
  it('says in Slack that records are lost while the storage answers', () => {
    const message = slackMessage(rejected());
    expect(message.text).toBe(
      ':warning: billing-api is losing audit records: 12 records rejected in 30s (monitor default): ' +
        'error: null value in column "actor" violates not-null constraint',
    );
    expect(message.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: ':warning: Audit records rejected', emoji: true },
    });
    expect(JSON.stringify(message.blocks)).toContain('The storage is not down; the records are refused.');
    expect(JSON.stringify(message.blocks)).not.toContain('unreachable');
  });

  it('reads as a valid Adaptive Card in Teams, in the warning color', () => {
    const message = teamsMessage(rejected({ occurrence: 2 }));
    expect(adaptiveCardProblems(message)).toEqual([]);
    const [headline, paragraph, facts] = message.attachments[0].content.body;
    expect(headline).toMatchObject({ text: '⚠️ Audit records rejected', color: 'Warning' });
    expect(paragraph).toMatchObject({
      text:
        'The audit storage of **billing-api** answers, but has refused **12 records** over 30s: ' +
        'these audit records are lost. The storage is not down; the records are refused.',
    });
    expect(facts).toMatchObject({ facts: expect.arrayContaining([{ title: 'Rejections', value: OUTAGE_ID }]) });
  });

  it('triggers a PagerDuty incident at the degraded severity, never as an unreachable storage', () => {
    const trigger = pagerDutyEvent(rejected(), 'key', 'critical') as PagerDutyTrigger;
    expect(trigger.event_action).toBe('trigger');
    expect(trigger.payload).toMatchObject({
      severity: 'warning',
      summary:
        'billing-api is losing audit records: 12 rejected in 30s, storage answering (monitor default): ' +
        'error: null value in column "actor" violates not-null constraint',
      timestamp: '2026-01-01T12:00:30.000Z',
      class: 'audit.records.rejected',
    });
  });
});

describe('the spool events on each channel', () => {
  const unwritable: SpoolUnwritableEvent = {
    type: 'audit.spool.unwritable',
    outageId: OUTAGE_ID,
    monitor: 'default',
    serviceName: 'billing-api',
    lastError: 'SpoolWriteError: the spool is full (maxBytes 268435456)',
    recordsLost: 1,
    failedAt: new Date('2026-01-01T12:00:00.000Z'),
  };
  const replayed: SpoolReplayedEvent = {
    type: 'audit.spool.replayed',
    outageId: OUTAGE_ID,
    monitor: 'default',
    serviceName: 'billing-api',
    recordsReplayed: 57,
    replayedAt: new Date('2026-01-01T12:10:00.000Z'),
  };

  it('reads in Slack', () => {
    expect(slackMessage(unwritable).text).toBe(
      ':rotating_light: The audit spool of billing-api cannot keep records (monitor default): SpoolWriteError: the spool is full (maxBytes 268435456)',
    );
    expect(JSON.stringify(slackMessage(unwritable).blocks)).toContain('(1 record so far)');
    expect(slackMessage(replayed).text).toBe(
      ':inbox_tray: 57 spooled audit records of billing-api replayed into the audit storage (monitor default); the spool is empty.',
    );
    // Changed on purpose: the spool's figures read "N writes failed; M records spooled; K lost".
    expect(slackMessage(recovered(57, { recordsSpooled: 57, recordsLost: 0 })).text).toContain(
      '57 audit writes failed during the outage; 57 records spooled; 0 lost.',
    );
  });

  it('reads in Teams, as valid Adaptive Cards', () => {
    const cards = [teamsMessage(unwritable), teamsMessage(replayed)];
    for (const card of cards) expect(adaptiveCardProblems(card)).toEqual([]);
    const texts = cards.map((card) => JSON.stringify(card.attachments[0].content.body));
    expect(texts[0]).toContain('🚨 Audit spool unwritable');
    expect(texts[0]).toContain('(1 record so far)');
    expect(texts[1]).toContain('**57 spooled audit records** of **billing-api** are in the audit storage again');
    expect(JSON.stringify(teamsMessage(recovered(3, { recordsSpooled: 3, recordsLost: 0 })))).toContain(
      '**3 audit writes** failed during it; **3 records** spooled; **0** lost.',
    );
  });

  it('pages at critical in PagerDuty when records are being lost, and notes the replay at info', () => {
    expect(pagerDutyEvent(unwritable, 'key', 'error')).toMatchObject({
      event_action: 'trigger',
      payload: {
        severity: 'critical',
        summary: expect.stringContaining('Audit spool of billing-api cannot keep records'),
        timestamp: '2026-01-01T12:00:00.000Z',
      },
    });
    expect(pagerDutyEvent(replayed, 'key', 'error')).toMatchObject({
      event_action: 'trigger',
      payload: { severity: 'info', summary: '57 spooled audit records of billing-api replayed (monitor default)' },
    });
  });
});

describe('the spool quarantine event on each channel', () => {
  const quarantined: SpoolQuarantinedEvent = {
    type: 'audit.spool.quarantined',
    outageId: OUTAGE_ID,
    monitor: 'default',
    serviceName: 'billing-api',
    recordsQuarantined: 4,
    recordsMissing: 1,
    reason: 'the chain breaks at segment-0000000000000001.jsonl line 2: sequence 3 where 2 was due',
    file: 'quarantine.jsonl',
    quarantinedAt: new Date('2026-01-01T12:20:00.000Z'),
  };

  it('reads in Slack, Teams (a valid Adaptive Card) and PagerDuty, naming the file, the counts and the reason', () => {
    expect(slackMessage(quarantined).text).toBe(
      ':warning: 4 spooled audit records of billing-api set aside in quarantine.jsonl instead of replayed, 1 record missing (monitor default): ' +
        'the chain breaks at segment-0000000000000001.jsonl line 2: sequence 3 where 2 was due',
    );
    const card = teamsMessage(quarantined);
    expect(adaptiveCardProblems(card)).toEqual([]);
    expect(JSON.stringify(card.attachments[0].content.body)).toContain(
      '**4 spooled audit records** of **billing-api**',
    );
    expect(pagerDutyEvent(quarantined, 'key', 'error')).toMatchObject({
      event_action: 'trigger',
      payload: {
        severity: 'error',
        summary: expect.stringContaining(
          '4 spooled audit records of billing-api set aside in quarantine.jsonl, 1 missing',
        ),
        timestamp: '2026-01-01T12:20:00.000Z',
      },
    });
  });
});

describe('audit.ledger.broken', () => {
  const broken: LedgerBrokenEvent = {
    type: 'audit.ledger.broken',
    outageId: OUTAGE_ID,
    monitor: 'default',
    serviceName: 'billing-api',
    directory: '/var/lib/billing-api/audit-ledger',
    file: 'ledger-2026-01-01.jsonl',
    line: 42,
    reason: 'its content does not match its hash: it was edited',
    detectedAt: new Date('2026-01-02T08:00:00.000Z'),
  };

  it('reads in Slack, Teams (a valid Adaptive Card) and PagerDuty as a warning, naming the file, the line and the reason', () => {
    expect(slackMessage(broken).text).toBe(
      ':warning: The evidence ledger of billing-api is broken at ledger-2026-01-01.jsonl line 42: ' +
        'its content does not match its hash: it was edited',
    );
    const card = teamsMessage(broken);
    expect(adaptiveCardProblems(card)).toEqual([]);
    expect(JSON.stringify(card.attachments[0].content.body)).toContain('ledger-2026-01-01.jsonl line 42');
    expect(pagerDutyEvent(broken, 'key', 'error')).toMatchObject({
      event_action: 'trigger',
      payload: {
        severity: 'warning',
        summary:
          'Evidence ledger of billing-api broken at ledger-2026-01-01.jsonl line 42: its content does not match its hash: it was edited',
        timestamp: '2026-01-02T08:00:00.000Z',
      },
    });
  });
});

describe('humanDuration', () => {
  it.each([
    [0, '0 ms'],
    [850, '850 ms'],
    [1_000, '1s'],
    [45_999, '45s'],
    [60_000, '1m'],
    [125_000, '2m 5s'],
    [3_600_000, '1h'],
    [3_723_000, '1h 2m'],
    [86_400_000, '1d'],
    [187_200_000, '2d 4h'],
  ])('renders %i ms as %p', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });
});

describe('the recovery on each channel: writes failed, records spooled, records lost', () => {
  const withoutSpool = recovered(67);
  const withSpool = recovered(66, { recordsSpooled: 58, recordsLost: 8 });

  it('is built with the new fields and their deprecated aliases', () => {
    expect(withoutSpool).toMatchObject({
      writesFailed: 67,
      recordsSpooled: null,
      recordsLost: null,
      eventsAffected: 67,
    });
    expect(withoutSpool).not.toHaveProperty('eventsSpooled');
    expect(withoutSpool).not.toHaveProperty('eventsLost');
    expect(withSpool).toMatchObject({
      writesFailed: 66,
      recordsSpooled: 58,
      recordsLost: 8,
      eventsAffected: 66,
      eventsSpooled: 58,
      eventsLost: 8,
    });
  });

  it('reads in Slack, never calling a failed write lost without a spool', () => {
    const plain = slackMessage(withoutSpool);
    expect(plain.text).toBe(
      ':white_check_mark: Audit storage of billing-api recovered after 45s (monitor default); 67 audit writes failed during the outage.',
    );
    expect(plain.blocks[1]).toEqual({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: '*billing-api* is writing its audit trail again. The outage lasted *45s*; *67 audit writes* failed during it.',
      },
    });
    expect(JSON.stringify(plain)).not.toMatch(/lost/i);
    const spooled = slackMessage(withSpool);
    expect(spooled.text).toBe(
      ':white_check_mark: Audit storage of billing-api recovered after 45s (monitor default); 66 audit writes failed during the outage; 58 records spooled; 8 lost.',
    );
    expect(spooled.blocks[1]).toEqual({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: '*billing-api* is writing its audit trail again. The outage lasted *45s*; *66 audit writes* failed during it; *58 records* spooled; *8* lost.',
      },
    });
  });

  it('reads in Teams, as valid Adaptive Cards, never calling a failed write lost without a spool', () => {
    const paragraphOf = (event: StorageRecoveredEvent): unknown => {
      const card = teamsMessage(event);
      expect(adaptiveCardProblems(card)).toEqual([]);
      return card.attachments[0].content.body[1];
    };
    expect(paragraphOf(withoutSpool)).toEqual({
      type: 'TextBlock',
      text: '**billing-api** is writing its audit trail again. The outage lasted **45s**; **67 audit writes** failed during it.',
      wrap: true,
    });
    expect(JSON.stringify(teamsMessage(withoutSpool))).not.toMatch(/lost/i);
    expect(paragraphOf(withSpool)).toEqual({
      type: 'TextBlock',
      text: '**billing-api** is writing its audit trail again. The outage lasted **45s**; **66 audit writes** failed during it; **58 records** spooled; **8** lost.',
      wrap: true,
    });
  });

  it('carries its duration in whole milliseconds, never negative', () => {
    const figures = {
      outageId: 'o',
      monitor: 'default',
      serviceName: 's',
      startedAt: 1_000.2,
      recoveredAt: 2_500.9,
      durationMs: 1_500.7,
      writesFailed: 3,
    };
    expect(storageRecoveredEvent(figures, null).outageDurationMs).toBe(1_501);
    // A wall clock set back between two replicas.
    expect(storageRecoveredEvent({ ...figures, durationMs: -12.5 }, null).outageDurationMs).toBe(0);
  });
  it('resolves the PagerDuty incident: a resolve carries no details (Events API v2)', () => {
    expect(pagerDutyEvent(withSpool, 'key', 'error')).toEqual({
      routing_key: 'key',
      event_action: 'resolve',
      dedup_key: `audit-storage:billing-api:default:${OUTAGE_ID}`,
    });
  });
});

describe('the Slack message', () => {
  const blockTexts = (message: ReturnType<typeof slackMessage>): string => JSON.stringify(message.blocks);

  it('counts the alerts of an outage in words', () => {
    const fieldOf = (occurrence: number): unknown =>
      (slackMessage(unreachable({ occurrence })).blocks[2] as { fields: { text: string }[] }).fields[3]!.text;
    expect(fieldOf(1)).toBe('*Alert*\n1st alert');
    expect(fieldOf(2)).toBe('*Alert*\n2nd alert, still failing');
    expect(fieldOf(3)).toBe('*Alert*\n3rd alert, still failing');
    expect(fieldOf(11)).toBe('*Alert*\n11th alert, still failing');
    expect(fieldOf(22)).toBe('*Alert*\n22nd alert, still failing');
  });

  it('speaks of one write in the singular', () => {
    expect(slackMessage(recovered()).text).toContain('1 audit write failed during the outage');
    expect(blockTexts(slackMessage(unreachable()))).toContain('1 failed write since the outage began');
  });

  it('escapes what mrkdwn would read as markup, and keeps the error inside its code block', () => {
    const message = slackMessage(
      unreachable({ serviceName: 'a<b>&c', lastError: 'Error: <!channel> ``` closed & reopened' }),
    );
    expect(message.text).toContain('Audit storage of a&lt;b&gt;&amp;c unreachable');
    expect(message.text).not.toContain('<!channel>');
    const lastError = (message.blocks[3] as { text: { text: string } }).text.text;
    expect(lastError).toBe('*Last error*\n```Error: &lt;!channel&gt; `\u200b`\u200b` closed &amp; reopened```');
  });

  it('stays within the limits of Slack, whatever the error', () => {
    const message = slackMessage(unreachable({ lastError: '&'.repeat(1_024) }));
    const lastError = (message.blocks[3] as { text: { text: string } }).text.text;
    expect(lastError.length).toBeLessThanOrEqual(3_000);
    expect(lastError).toMatch(/^\*Last error\*\n```(&amp;)+…```$/);
    expect(message.text.length).toBeLessThan(500);
  });
});

describe('the PagerDuty event', () => {
  it('derives one dedup key per outage, shared by trigger and resolve', () => {
    const trigger = pagerDutyEvent(unreachable({ occurrence: 3 }), 'key', 'error');
    const resolve = pagerDutyEvent(recovered(), 'key', 'error');
    expect(trigger.dedup_key).toBe(`audit-storage:billing-api:default:${OUTAGE_ID}`);
    expect(resolve).toEqual({ routing_key: 'key', event_action: 'resolve', dedup_key: trigger.dedup_key });
    expect((trigger as PagerDutyTrigger).payload.severity).toBe('error');
  });

  it('keeps the dedup key within 255 characters, the outage id whole', () => {
    const key = pagerDutyDedupKey(unreachable({ serviceName: 's'.repeat(400) }));
    expect(key).toHaveLength(255);
    expect(key.endsWith(OUTAGE_ID)).toBe(true);
    expect(key.startsWith('audit-storage:sss')).toBe(true);
  });

  it('keeps the summary within 1,024 characters', () => {
    const trigger = pagerDutyEvent(
      unreachable({ lastError: 'x'.repeat(1_024) }),
      'key',
      'critical',
    ) as PagerDutyTrigger;
    expect(trigger.payload.summary).toHaveLength(1_024);
    expect(
      trigger.payload.summary.startsWith('Audit storage of billing-api unreachable for 30s (monitor default): xxx'),
    ).toBe(true);
    expect(trigger.payload.summary.endsWith('x…')).toBe(true);
  });

  it('never cuts a character in two', () => {
    // With and without one more character before them, so the cut falls on each half of a pair.
    for (const lastError of ['😀'.repeat(600), `x${'😀'.repeat(600)}`]) {
      const trigger = pagerDutyEvent(unreachable({ lastError }), 'key', 'critical') as PagerDutyTrigger;
      expect(trigger.payload.summary.length).toBeLessThanOrEqual(1_024);
      expect(trigger.payload.summary).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    }
  });

  it('stamps the trigger with the time the alert was raised', () => {
    const trigger = pagerDutyEvent(unreachable({ unreachableDurationMs: 90_500 }), 'key', 'info') as PagerDutyTrigger;
    expect(trigger.payload.timestamp).toBe('2026-01-01T12:01:30.500Z');
  });
});

describe('a failed test alert', () => {
  it('says in Slack and Teams how many attempts the recipient was given, as the other channels do', () => {
    const failed = SAMPLE_EVENTS['audit.alert.test.failed'];
    const slackRows = JSON.stringify(slackMessage(failed).blocks);
    expect(slackRows).toContain('*Attempts*\\n3');
    expect(JSON.stringify(teamsMessage(failed))).toContain('"title":"Attempts","value":"3"');
  });
});
