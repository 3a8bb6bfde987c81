import { describe, expect, it } from '@jest/globals';
import { EVIDENCE_CSV_COLUMNS, exportEvidence } from '../../src/ledger/evidence-export.js';
import type { LedgerLine } from '../../src/ledger/ledger-entry.interface.js';
import { chainLedger, type LedgerFixtureEntry } from '../support/ledger-files.js';
import { csvRows, parseRfc4180 } from '../support/rfc4180.js';
import { CAPACITY_ID, OUTAGE_ID, REJECTED_ID, sampleLedger } from './fixtures/sample-ledger.js';

const csv = (lines: Iterable<LedgerLine>, period: { from?: Date; to?: Date } = {}): Record<string, string>[] =>
  csvRows(exportEvidence(lines, { ...period, format: 'csv' }));

const event = (
  at: string,
  fields: { type: string; [field: string]: unknown },
  held = false,
  replica?: string,
): LedgerFixtureEntry => ({
  at,
  replica,
  record: { kind: 'event', event: { monitor: 'default', serviceName: 'billing-api', ...fields }, held },
});

const receipt = (
  at: string,
  recipient: string,
  of: { type: string; outageId: string; occurrence: number | null },
  result = 'delivered',
  attempts = 1,
): LedgerFixtureEntry => ({
  at,
  record: {
    kind: 'receipt',
    recipient,
    channel: null,
    monitor: 'default',
    ...of,
    result,
    attempts,
    reason: result === 'delivered' ? null : 'HTTP 500',
    startedAt: at,
    settledAt: at,
  },
});

const unreachable = (
  at: string,
  outageId: string,
  occurrence: number,
  lastError = 'connect ECONNREFUSED',
  held = false,
) =>
  event(
    at,
    {
      type: 'audit.storage.unreachable',
      outageId,
      occurrence,
      firstFailureAt: '2026-12-01T09:00:00.000Z',
      consecutiveFailures: 10,
      unreachableDurationMs: 30_000,
      lastError,
      probeFailures: 0,
    },
    held,
  );

const recovered = (at: string, outageId: string, fields: Record<string, unknown> = {}) =>
  event(at, {
    type: 'audit.storage.recovered',
    outageId,
    outageStartedAt: '2026-12-01T09:00:00.000Z',
    recoveredAt: at,
    outageDurationMs: Date.parse(at) - Date.parse('2026-12-01T09:00:00.000Z'),
    writesFailed: 40,
    recordsSpooled: null,
    recordsLost: null,
    eventsAffected: 40,
    ...fields,
  });

describe('exportEvidence() as CSV', () => {
  it('gives one row per episode of the sample ledger, every column as it happened', () => {
    const rows = csv(sampleLedger());
    expect(rows.map((row) => [row.outage_id, row.kind])).toEqual([
      [OUTAGE_ID, 'unreachable'],
      [CAPACITY_ID, 'capacity'],
      [REJECTED_ID, 'rejected'],
    ]);
    expect(rows[0]).toEqual({
      outage_id: OUTAGE_ID,
      service: 'billing-api',
      monitor: 'default',
      kind: 'unreachable',
      started_at: '2026-12-01T09:13:02.000Z',
      first_alert_at: '2026-12-01T09:13:32.410Z',
      ended_at: '2026-12-01T09:22:40.120Z',
      duration_ms: '578120',
      alerts_sent: '3',
      recipients:
        'OnCallHook;Webhook channel (https://alerts.example.com);PagerDuty channel (https://events.pagerduty.com)',
      deliveries_failed: '1',
      acknowledged_by: 'alice@example.com',
      acknowledged_at: '2026-12-01T09:16:05.000Z',
      writes_failed: '1184',
      records_spooled: '1171',
      records_lost: '13',
      cause: 'Primary PostgreSQL failed over; the replica was promoted after 9 minutes, and the spool volume filled',
      ticket: 'INC-4821',
      alerts_held: '0',
      spool_failed_at: '2026-12-01T09:20:12.290Z',
      records_replayed: '1171',
      replay_finished_at: '2026-12-01T09:24:05.100Z',
      records_quarantined: '',
    });
    expect(rows[1]).toMatchObject({
      started_at: '2026-12-01T14:00:00.000Z',
      first_alert_at: '2026-12-01T14:00:00.400Z',
      ended_at: '2026-12-01T18:10:00.000Z',
      duration_ms: String(4 * 3_600_000 + 10 * 60_000),
      alerts_sent: '2',
      recipients: 'Webhook channel (https://alerts.example.com);PagerDuty channel (https://events.pagerduty.com)',
      acknowledged_by: 'bob@example.com',
      writes_failed: '',
      cause: 'Audit partitions older than 400 days archived to cold storage',
      ticket: 'CHG-1093',
    });
    // A run of rejected records has no closing event; its alert was held by a silence, then sent when it ended.
    expect(rows[2]).toMatchObject({
      started_at: '2026-12-02T07:45:01.000Z',
      first_alert_at: '2026-12-02T08:10:00.020Z',
      ended_at: '',
      duration_ms: '',
      alerts_sent: '1',
      alerts_held: '0',
      writes_failed: '18',
      records_lost: '18',
      cause: 'value too long for type character varying(256)',
      ticket: '',
    });
  });

  it('writes the columns in their documented order, with an empty cell, never "undefined" or "null", for what is unknown', () => {
    const text = exportEvidence(
      chainLedger([
        event('2026-12-01T09:00:30.000Z', { type: 'audit.storage.degraded', outageId: 'o-1', occurrence: 1 }),
      ]),
      { format: 'csv' },
    );
    const [header, row] = parseRfc4180(text);
    expect(header).toEqual([...EVIDENCE_CSV_COLUMNS]);
    expect(header.slice(0, 18)).toEqual(
      'outage_id,service,monitor,kind,started_at,first_alert_at,ended_at,duration_ms,alerts_sent,recipients,deliveries_failed,acknowledged_by,acknowledged_at,writes_failed,records_spooled,records_lost,cause,ticket'.split(
        ',',
      ),
    );
    expect(row.slice(0, 4)).toEqual(['o-1', 'billing-api', 'default', 'degraded']);
    // No event gives the start (no firstFailureAt): left empty rather than guessed from the alert.
    expect(row[4]).toBe('');
    expect(row[5]).toBe('2026-12-01T09:00:30.000Z');
    expect(text).not.toMatch(/undefined|null|NaN/);
  });

  it('counts an alert once across replicas, and the final result of each delivery: a 503 twice, then delivered, is no failure', () => {
    const u1 = { type: 'audit.storage.unreachable', outageId: 'o-1', occurrence: 1 };
    const rows = csv(
      chainLedger([
        unreachable('2026-12-01T09:00:30.000Z', 'o-1', 1),
        // The same alert, as a second replica recorded it after resuming the outage.
        { ...unreachable('2026-12-01T09:00:30.500Z', 'o-1', 1), replica: 'api-2:38' },
        receipt('2026-12-01T09:00:31.000Z', 'Webhook channel (https://a.example)', u1, 'delivered', 3),
        receipt('2026-12-01T09:00:31.100Z', 'Slack channel (https://hooks.slack.com)', u1, 'failed', 4),
        // The replica that took over delivered what the first one had failed to.
        receipt('2026-12-01T09:00:40.000Z', 'Slack channel (https://hooks.slack.com)', u1, 'delivered', 1),
        receipt('2026-12-01T09:00:41.000Z', 'OnCallHook', u1, 'timed-out', 1),
        unreachable('2026-12-01T09:05:30.000Z', 'o-1', 2),
        receipt(
          '2026-12-01T09:05:31.000Z',
          'Webhook channel (https://a.example)',
          { ...u1, occurrence: 2 },
          'abandoned',
        ),
      ]),
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      alerts_sent: '2',
      recipients: 'Webhook channel (https://a.example);Slack channel (https://hooks.slack.com)',
      // The hook's timeout on the first alert, and the webhook's abandoned second alert.
      deliveries_failed: '2',
      first_alert_at: '2026-12-01T09:00:30.000Z',
    });
  });

  it('dates the first alert from the first one sent, and counts held alerts apart', () => {
    const rows = csv(
      chainLedger([
        event('2026-12-01T09:00:30.000Z', { type: 'audit.storage.degraded', outageId: 'o-1', occurrence: 1 }, true),
        unreachable('2026-12-01T09:01:00.000Z', 'o-1', 1),
        unreachable('2026-12-01T09:06:00.000Z', 'o-1', 2, 'connect ECONNREFUSED', true),
      ]),
    );
    expect(rows[0]).toMatchObject({
      kind: 'unreachable',
      first_alert_at: '2026-12-01T09:01:00.000Z',
      alerts_sent: '1',
      alerts_held: '2',
    });
  });

  it('takes the first acknowledgement, the last cause and ticket given, and the last error when no cause is', () => {
    const ack = (at: string, by: string): LedgerFixtureEntry => ({
      at,
      record: {
        kind: 'acknowledged',
        outageId: 'o-1',
        monitor: 'default',
        by,
        note: null,
        acknowledgedAt: at,
        source: 'registry',
      },
    });
    const annotate = (at: string, cause: string | null, ticket: string | null): LedgerFixtureEntry => ({
      at,
      record: {
        kind: 'annotated',
        outageId: 'o-1',
        monitor: 'default',
        by: 'alice',
        cause,
        ticket,
        source: 'registry',
      },
    });
    const alerted = [
      unreachable('2026-12-01T09:00:30.000Z', 'o-1', 1, 'first error'),
      unreachable('2026-12-01T09:05:30.000Z', 'o-1', 2, 'last error'),
    ];
    expect(csv(chainLedger(alerted))[0]).toMatchObject({ cause: 'last error', ticket: '', acknowledged_by: '' });
    const rows = csv(
      chainLedger([
        ...alerted,
        ack('2026-12-01T09:02:00.000Z', 'alice'),
        ack('2026-12-01T09:03:00.000Z', 'bob'),
        annotate('2026-12-01T10:00:00.000Z', 'disk full', 'INC-1'),
        annotate('2026-12-01T11:00:00.000Z', 'the volume of the WAL filled up', null),
        annotate('2026-12-01T12:00:00.000Z', null, 'INC-2'),
      ]),
    );
    expect(rows[0]).toMatchObject({
      acknowledged_by: 'alice',
      acknowledged_at: '2026-12-01T09:02:00.000Z',
      cause: 'the volume of the WAL filled up',
      ticket: 'INC-2',
    });
  });

  it('dates an acknowledgement by the time it carries, not by when its line was written; an older line by its own', () => {
    const alerted = unreachable('2026-12-01T09:00:30.000Z', 'o-1', 1, 'refused');
    const acknowledged = {
      kind: 'acknowledged',
      outageId: 'o-1',
      monitor: 'default',
      by: 'alice',
      note: null,
      acknowledgedAt: '2026-12-01T09:02:00.000Z',
      source: 'registry',
    } as const;
    const late = csv(chainLedger([alerted, { at: '2026-12-01T09:02:00.004Z', record: acknowledged }]));
    expect(late[0]).toMatchObject({ acknowledged_by: 'alice', acknowledged_at: '2026-12-01T09:02:00.000Z' });
    const { acknowledgedAt: _, ...older } = acknowledged;
    const old = csv(chainLedger([alerted, { at: '2026-12-01T09:02:00.004Z', record: older as never }]));
    expect(old[0]).toMatchObject({ acknowledged_by: 'alice', acknowledged_at: '2026-12-01T09:02:00.004Z' });
  });

  it('makes safe every cell a spreadsheet would run as a formula', () => {
    const starts = ['=HYPERLINK("http://x.example","y")', '+1+cmd|calc', '-2+3', '@SUM(A1)', '\tTAB', '\rCR'];
    const rows = csv(
      chainLedger(
        starts.map((start, index) => ({
          ...unreachable(`2026-12-01T0${index}:00:30.000Z`, `o-${index}`, 1, start),
        })),
      ),
    );
    expect(rows.map((row) => row.cause)).toEqual(starts.map((start) => `'${start}`));
    const names = csv(
      chainLedger([
        event('2026-12-01T09:00:30.000Z', {
          type: 'audit.storage.degraded',
          outageId: '=1+1',
          monitor: '@monitor',
          serviceName: '+service',
          occurrence: 1,
        }),
      ]),
    );
    expect(names[0]).toMatchObject({ outage_id: "'=1+1", monitor: "'@monitor", service: "'+service" });
  });

  it('quotes by RFC 4180: a multi-line error, commas and quotes parse back to the same text, each record ends in CRLF', () => {
    const lastError = 'insert into "audit_log" failed:\nERROR: disk full, "pg_wal"\r\n  at Connection.parseE';
    const text = exportEvidence(chainLedger([unreachable('2026-12-01T09:00:30.000Z', 'o-1', 1, lastError)]), {
      format: 'csv',
    });
    expect(text).toContain(
      '"insert into ""audit_log"" failed:\nERROR: disk full, ""pg_wal""\r\n  at Connection.parseE"',
    );
    expect(text.endsWith('\r\n')).toBe(true);
    expect(text.split('\r\n')[0]).toBe(EVIDENCE_CSV_COLUMNS.join(','));
    expect(csvRows(text)[0].cause).toBe(lastError);
  });

  it('attaches the spool to the outage of its monitor that it falls in, and the replay to the outage before it', () => {
    const spoolEvent = (at: string, monitor: string, fields: { type: string; [field: string]: unknown }) =>
      event(at, { monitor, outageId: `s-${at}`, ...fields });
    const rows = csv(
      chainLedger([
        unreachable('2026-12-01T09:00:30.000Z', 'o-1', 1),
        spoolEvent('2026-12-01T09:01:00.000Z', 'default', {
          type: 'audit.spool.unwritable',
          recordsLost: 1,
          failedAt: '2026-12-01T09:00:59.000Z',
        }),
        spoolEvent('2026-12-01T09:01:00.000Z', 'payments', {
          type: 'audit.spool.unwritable',
          recordsLost: 1,
          failedAt: '2026-12-01T09:01:00.000Z',
        }),
        recovered('2026-12-01T09:10:00.000Z', 'o-1', { recordsSpooled: 30, recordsLost: 10 }),
        spoolEvent('2026-12-01T09:11:00.000Z', 'default', {
          type: 'audit.spool.quarantined',
          recordsQuarantined: 2,
          recordsMissing: 0,
        }),
        spoolEvent('2026-12-01T09:12:00.000Z', 'default', {
          type: 'audit.spool.replayed',
          recordsReplayed: 28,
          replayedAt: '2026-12-01T09:11:59.000Z',
        }),
      ]),
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      spool_failed_at: '2026-12-01T09:00:59.000Z',
      records_spooled: '30',
      records_lost: '10',
      records_replayed: '28',
      replay_finished_at: '2026-12-01T09:11:59.000Z',
      records_quarantined: '2',
      writes_failed: '40',
      ended_at: '2026-12-01T09:10:00.000Z',
      duration_ms: String(10 * 60_000),
    });
  });

  it('keeps an outage that stayed degraded as degraded, and counts none of the test alerts', () => {
    const rows = csv(
      chainLedger([
        event('2026-12-01T08:00:00.000Z', {
          type: 'audit.alert.test',
          testId: 't-1',
          sentAt: '2026-12-01T08:00:00.000Z',
        }),
        event('2026-12-01T09:00:30.000Z', {
          type: 'audit.storage.degraded',
          outageId: 'o-1',
          occurrence: 1,
          firstFailureAt: '2026-12-01T09:00:00.000Z',
        }),
        recovered('2026-12-01T09:10:00.000Z', 'o-1', { degradedAlerts: 1, unreachableAlerts: 0 }),
      ]),
    );
    expect(rows.map((row) => [row.outage_id, row.kind, row.started_at])).toEqual([
      ['o-1', 'degraded', '2026-12-01T09:00:00.000Z'],
    ]);
  });

  it('gives the episodes that overlap the period', () => {
    const lines = sampleLedger();
    const ids = (from?: string, to?: string) =>
      csv(lines, {
        from: from === undefined ? undefined : new Date(from),
        to: to === undefined ? undefined : new Date(to),
      }).map((row) => row.outage_id);
    expect(ids('2026-12-01T09:20:00Z', '2026-12-01T09:21:00Z')).toEqual([OUTAGE_ID]);
    // Inclusive at both ends: the outage ended at 09:22:40.120, the capacity episode began at 14:00.
    expect(ids('2026-12-01T09:22:40.120Z', '2026-12-01T14:00:00Z')).toEqual([OUTAGE_ID, CAPACITY_ID]);
    expect(ids('2026-12-01T09:22:40.121Z', '2026-12-01T13:59:59.999Z')).toEqual([]);
    expect(ids('2026-12-02T00:00:00Z')).toEqual([REJECTED_ID]);
    expect(ids(undefined, '2026-12-01T09:13:01.999Z')).toEqual([]);
    // A run of rejected records spans its own events: nothing after its last one.
    expect(ids('2026-12-02T08:10:00.021Z')).toEqual([]);
    // An outage that has not ended is in every period after its start.
    const open = chainLedger([unreachable('2026-12-01T09:00:30.000Z', 'o-1', 1)]);
    expect(csv(open, { from: new Date('2027-06-01T00:00:00Z') }).map((row) => row.outage_id)).toEqual(['o-1']);
  });
});

describe('exportEvidence() as JSON Lines', () => {
  it('gives the lines of the period as written, with their seq, prev and hash, one per line', () => {
    const lines = sampleLedger();
    const text = exportEvidence(lines, {
      from: new Date('2026-12-01T09:13:32.410Z'),
      to: new Date('2026-12-01T09:22:41.010Z'),
      format: 'jsonl',
    });
    expect(text.endsWith('\n')).toBe(true);
    const exported = text.trimEnd().split('\n');
    const expected = lines.filter(
      (line) => line.at >= '2026-12-01T09:13:32.410Z' && line.at <= '2026-12-01T09:22:41.010Z',
    );
    expect(expected.length).toBeGreaterThan(10);
    expect(exported).toEqual(expected.map((line) => JSON.stringify(line)));
    const seqs = exported.map((line) => (JSON.parse(line) as LedgerLine).seq);
    expect(seqs).toEqual(seqs.map((_, index) => seqs[0] + index));
    expect(JSON.parse(exported[1])).toMatchObject({ prev: (JSON.parse(exported[0]) as LedgerLine).hash });
  });

  it('gives every line without a period, and nothing for a period with no line', () => {
    const lines = sampleLedger();
    expect(exportEvidence(lines, { format: 'jsonl' }).trimEnd().split('\n')).toHaveLength(lines.length);
    expect(exportEvidence(lines, { from: new Date('2030-01-01T00:00:00Z'), format: 'jsonl' })).toBe('');
  });
});

describe('exportEvidence() options', () => {
  const lines = sampleLedger();
  it.each([
    [{ format: 'xml' }, /invalid "format": received 'xml'; expected one of csv, jsonl/],
    [{}, /invalid "format": received undefined/],
    [{ format: 'csv', from: '2026-12-01' }, /invalid "from": received '2026-12-01'; expected a valid Date/],
    [{ format: 'csv', to: new Date('nope') }, /invalid "to": received Invalid Date; expected a valid Date/],
    [
      { format: 'csv', from: new Date('2026-12-02T00:00:00Z'), to: new Date('2026-12-01T00:00:00Z') },
      /invalid "to": .*expected a date at or after "from" \(2026-12-02T00:00:00.000Z\)/,
    ],
    [{ format: 'csv', form: new Date() }, /unknown option "form"; the options are: from, to, format/],
    [null, /invalid "options": received null/],
  ])('rejects %p with an error naming the field', (options, message) => {
    expect(() => exportEvidence(lines, options as never)).toThrow(message);
    expect(() => exportEvidence(lines, options as never)).toThrow(TypeError);
  });

  it('rejects lines that are not iterable', () => {
    expect(() => exportEvidence(undefined as never, { format: 'csv' })).toThrow(/invalid "lines": received undefined/);
  });

  it('leaves out what is not a ledger line', () => {
    const mixed = [null, ...sampleLedger(), { seq: 1 } as unknown as LedgerLine];
    expect(exportEvidence(mixed, { format: 'jsonl' })).toBe(exportEvidence(sampleLedger(), { format: 'jsonl' }));
    expect(exportEvidence(mixed, { format: 'csv' })).toBe(exportEvidence(sampleLedger(), { format: 'csv' }));
  });
});
