import { inspect } from 'node:util';
import { eventKeyNameOf, eventKeyOf, eventOccurrenceOf } from './events/audit-alert-event-kinds.js';
import type { AuditAlertEvent } from './events/audit-alert-event.interface.js';
import type { LeftOpenEpisodeKind } from './events/audit-episode.js';

/**
 * What a log line says of a silence (an `AuditAlertSilence`), declared here so
 * that the messages stay a leaf that imports no feature.
 */
interface SilenceShown {
  readonly id: string;
  readonly monitors: readonly string[] | null;
  readonly startsAt: Date;
  readonly endsAt: Date;
  readonly reason: string;
  readonly createdBy: string;
}

/** Renders a received value for an error message without ever throwing. */
export function describeReceived(value: unknown): string {
  try {
    return inspect(value, { depth: 1, breakLength: Infinity, maxStringLength: 80, maxArrayLength: 5 });
  } catch {
    return Object.prototype.toString.call(value);
  }
}

export const invalidOption = (path: string, value: unknown, allowed: string): string =>
  `Invalid audit alert option "${path}": received ${describeReceived(value)}; expected ${allowed}.`;

/** A path option the file system refuses: what was received, what is wrong with it on this machine, what is allowed. */
export const unusablePathOption = (path: string, value: string, problem: string, allowed: string): string =>
  `Invalid audit alert option "${path}": received ${describeReceived(value)}, but ${problem}; expected ${allowed}.`;

export const unknownOption = (path: string, known: readonly string[]): string =>
  `Unknown audit alert option "${path}"; the options are: ${known.join(', ')}.`;

export const hookWithoutMethod = (className: string): string =>
  `${className} is decorated with @AuditAlertHook() but has no onAuditAlert(event) method; implement OnAuditAlert.`;

export const hookFailed = (hook: string, type: string, error: string): string =>
  `Hook ${hook} failed on ${type}: ${error}`;

export const listenerThrew = (type: string, error: string): string => `A listener of ${type} threw: ${error}`;

export const lazyHooksFound = (hooks: readonly string[]): string =>
  `Found ${hooks.join(', ')} in a lazily loaded module; ${hooks.length === 1 ? 'it receives' : 'they receive'} the alerts from now on.`;

export const hookBlocked = (hook: string, type: string, blockedMs: number, timeoutMs: number): string =>
  `Hook ${hook} blocked the event loop for ${blockedMs} ms on ${type}, past its ${timeoutMs} ms deadline; every other hook and the application waited.`;

export const hookTimedOut = (hook: string, type: string, timeoutMs: number): string =>
  `Hook ${hook} did not finish ${type} within ${timeoutMs} ms; abandoned.`;

export const statusSubscriberFailed = (monitor: string, error: string): string =>
  `A subscriber of status$ of monitor "${monitor}" failed: ${error}`;

export const shutdownTimedOut = (pending: number, timeoutMs: number): string =>
  `${pending} alert deliveries still in flight after ${timeoutMs} ms; shutting down without them.`;

export const alertRaised = (type: string, monitor: string, outageId: string): string =>
  `${type} (monitor "${monitor}", outage ${outageId})`;

/** Names an event in a log line: its type, monitor, outage (or test) and, for an alert, its occurrence. */
export function describeEvent(event: AuditAlertEvent): string {
  const occurrence = eventOccurrenceOf(event);
  return (
    `${event.type} (monitor "${event.monitor}", ${eventKeyNameOf(event)} ${eventKeyOf(event)}` +
    `${occurrence === null ? '' : `, occurrence ${occurrence}`})`
  );
}

export const alertDelivered = (recipient: string, event: string, attempts: number): string =>
  `${recipient} delivered ${event} in ${attemptCount(attempts)}.`;

export const testAbandonedAtShutdown = (timeoutMs: number): string =>
  `no answer before the application shut down (it waited shutdownTimeoutMs, ${timeoutMs} ms)`;

export const customMessageFailed = (channel: string, option: string, type: string, reason: string): string =>
  `${channel}: its ${option} function failed on ${type} (${reason}); the built-in message was sent instead.`;

/** Describes a value by its kind alone, for options that may hold a secret (URLs, keys, header values). */
export function describeKind(value: unknown): string {
  if (typeof value === 'string') return value === '' ? 'an empty string' : `a string of ${value.length} characters`;
  if (value === null || value === undefined || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `an array of ${value.length} items`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

export const invalidSecretOption = (path: string, received: string, allowed: string): string =>
  `Invalid audit alert option "${path}": received ${received} (content not shown, it may be a secret); expected ${allowed}.`;

const attemptCount = (count: number): string => `${count} attempt${count === 1 ? '' : 's'}`;

export const channelLabel = (kind: string, origin: string): string => `${kind} channel (${origin})`;

export const channelInClearText = (channel: string): string =>
  `${channel} sends alerts over plain http:// to another machine; use https:// so they cannot be read or altered on the way.`;

export const channelRetrying = (
  channel: string,
  type: string,
  attempt: number,
  reason: string,
  delayMs: number,
): string => `${channel}: attempt ${attempt} to send ${type} failed (${reason}); retrying in ${delayMs} ms.`;

export const channelRejected = (reason: string): string => `the receiver answered ${reason}; not retried`;

export const channelGaveUp = (attempt: number, reason: string): string =>
  `gave up after ${attemptCount(attempt)}; the last failed with ${reason}`;

export const channelStopped = (attempt: number): string =>
  attempt === 0
    ? 'not sent: the application shut down first'
    : `stopped by the application shutdown after ${attemptCount(attempt)}`;

export const httpStatusReason = (status: number): string => `HTTP ${status}`;

export const redirectReason = (status: number): string => `HTTP ${status} (redirects are not followed)`;

export const timeoutReason = (timeoutMs: number): string => `no response within ${timeoutMs} ms`;

export const networkErrorReason = (code: string | null): string => (code ? `network error ${code}` : 'network error');

export const smtpReplyReason = (responseCode: number): string => `SMTP reply ${responseCode}`;

export const smtpErrorReason = (code: string | null): string => (code ? `SMTP error ${code}` : 'SMTP error');

export const emailNeedsNodemailer = (path: string, reason: string): string =>
  `Invalid audit alert option "${path}": SMTP settings need the nodemailer package, which could not be loaded (${reason}); install it (npm install nodemailer) or pass a transporter of your own.`;

export const emailInClearText = (channel: string): string =>
  `${channel} may send alerts, and its SMTP password, in clear text to another machine: set secure: true (port 465) or requireTLS: true.`;

export const alertmanagerResendFailed = (channel: string, count: number, reason: string): string =>
  `${channel}: could not send the ${count === 1 ? 'alert' : `${count} alerts`} of an open episode again (${reason}); the next try is in one re-send interval.`;

export const unknownMonitor = (name: string, known: readonly string[]): string =>
  `No audit monitor is named "${name}"; the monitors are: ${known.join(', ')}.`;

export const injectedUnknownMonitor = (className: string, name: string, known: readonly string[]): string =>
  `${className} injects the audit monitor "${name}", but the monitors are: ${known.join(', ')}.`;

export const clusterNeedsIoredis = (reason: string): string =>
  `Invalid audit alert option "cluster.redis": a URL or connection options need the ioredis package, which could not be loaded (${reason}); install it (npm install ioredis) or pass an ioredis client.`;

export const clusterUnreachable = (replica: string, reason: string): string =>
  `Replica "${replica}" cannot coordinate alerts through Redis (${reason}); until it can, it decides alone.`;

export const clusterReachable = (replica: string): string =>
  `Replica "${replica}" reaches Redis again; alerts are coordinated across replicas again.`;

export const clusterSentAlone = (replica: string, alert: string, reason: string): string =>
  `Replica "${replica}" sent ${alert} without cluster coordination (${reason}); other replicas may send it too.`;

export const clusterLeftToOthers = (replica: string, alert: string): string =>
  `Replica "${replica}" did not send ${alert}: another replica of the cluster has, or the cluster never alerted.`;

export const clusterLeaseLost = (replica: string, alert: string, leaseMs: number): string =>
  `Replica "${replica}" no longer holds its claim on ${alert}: it did not renew it within ${leaseMs} ms, and another replica has taken it over (or Redis lost it); its own delivery goes on, so the alert may arrive twice under the same outageId.`;

export const clusterTookOver = (replica: string, alert: string, leaseMs: number): string =>
  `Replica "${replica}" sent ${alert} in place of the replica that claimed it, which neither confirmed its delivery nor renewed its claim within ${leaseMs} ms.`;

export const clusterDecisionFailed = (replica: string, monitor: string, error: string): string =>
  `Replica "${replica}" could not settle an alert of monitor "${monitor}" with the cluster: ${error}`;

export const connectionStatusReason = (status: string): string => `connection ${status}`;

export const heartbeatLabel = (origin: string): string => `Heartbeat (${origin})`;

export const heartbeatUndelivered = (heartbeat: string, reason: string): string =>
  `${heartbeat}: a ping was not delivered (${reason}); the dead man's switch pages if this goes on. Not logged again until a ping gets through.`;

export const heartbeatDelivered = (heartbeat: string): string => `${heartbeat}: pings get through again.`;

export const writeTimedOut = (pending: number, timeoutMs: number): string =>
  `${pending} audit write${pending === 1 ? '' : 's'} did not complete within ${timeoutMs} ms (writeTimeoutMs); still pending, not cancelled.`;

export const capacityCheckFailed = (monitor: string, error: string): string =>
  `Capacity check of monitor "${monitor}" failed: ${error}; the capacity level is unchanged until a check answers.`;

export const capacityCheckTimedOut = (timeoutMs: number): string => `did not answer within ${timeoutMs} ms`;

export const capacityCheckStillHanging = (timeoutMs: number): string =>
  `the check abandoned after ${timeoutMs} ms has not settled yet; no new check starts until it has`;

export const capacityBadReading = (received: unknown): string =>
  `it answered ${describeReceived(received)}, not { used, total } (finite, used >= 0, total > 0) nor a ratio from 0 to 1`;

export const trackedNonMethod = (member: string): string =>
  `@TrackAuditWrite() decorates methods; ${member} is not one.`;

export const trackedGenerator = (member: string): string =>
  `@TrackAuditWrite() cannot track ${member}: it is a generator function (function*), whose body runs only as ` +
  'its caller iterates it, so no outcome can be seen when it returns. Return a promise, an Observable or ' +
  'an async generator (async function*), or call monitor.track() inside it.';

export const trackedAsyncIterableUntracked = (member: string): string =>
  `${member} (@TrackAuditWrite) returned an async iterable that is not an async generator (a stream, say): ` +
  'it was returned unchanged and its outcome is not tracked. Return a promise, an Observable or an async ' +
  'generator, or call monitor.track() where it writes.';

export const trackedUnknownMonitor = (member: string, name: string, known: readonly string[]): string =>
  `${member} is decorated with @TrackAuditWrite('${name}'), but no monitor has that name; the monitors are: ${known.join(', ')}.`;

export const trackedClassInTwoApps = (className: string): string =>
  `${className} has @TrackAuditWrite() methods and is request-scoped or transient in two running applications at once; ` +
  'its instances cannot tell which monitor to report to. Inject the monitor and call track() instead.';

export const trackedCallUnlinked = (member: string): string =>
  `${member} (@TrackAuditWrite) was called on an instance no running AuditAlertModule created or knows ` +
  '(made with new, a static method, or called before the module initialised); the write ran but was not tracked.';

/** Body of the 503 of a route that needs its audit storage: why, and nothing about the storage itself. */
export const auditStorageUnavailable = 'This action is refused while its audit trail cannot be written; retry later.';

export const guardedUnknownMonitor = (route: string, name: string, known: readonly string[]): string =>
  `${route} is marked @RequireAuditStorage({ monitor: "${name}" }), but the monitors are: ${known.join(', ')}.`;

export const guardFromOtherBuild = (route: string): string =>
  `${route} is guarded by an AuditStorageGuard of the other build of nestjs-audit-alert than the one AuditAlertModule ` +
  'was registered through (one is loaded with import, the other with require(): the dual-package hazard), so its ' +
  'dependencies (AuditMonitorRegistry, AuditStorageMonitor) are classes Nest does not know. Import ' +
  '@RequireAuditStorage() and AuditAlertModule from the same build; see "One class identity per process" in docs/packaging.md.';

export const healthCheckWithoutProbe = (monitors: readonly string[]): string =>
  `AuditStorageHealthIndicator: monitor${monitors.length === 1 ? '' : 's'} ${monitors.map((m) => `"${m}"`).join(', ')} ` +
  `${monitors.length === 1 ? 'has' : 'have'} no probe, so once alerting ${monitors.length === 1 ? 'it stays' : 'they stay'} down until a write succeeds. ` +
  'As a Kubernetes readiness check this deadlocks: no traffic reaches the pod, so no write ends the outage. ' +
  'Configure a probe (probe: { check }) or see docs/kubernetes.md of nestjs-audit-alert.';

const silenceScope = (silence: SilenceShown): string =>
  silence.monitors === null ? 'every monitor' : `monitors ${silence.monitors.map((m) => `"${m}"`).join(', ')}`;

export const silenceSet = (silence: SilenceShown, now: number): string =>
  `Silence ${silence.id} by ${JSON.stringify(silence.createdBy)} holds the alerts of ${silenceScope(silence)} ${silence.startsAt.getTime() > now ? `from ${silence.startsAt.toISOString()} ` : ''}until ${silence.endsAt.toISOString()}: ${JSON.stringify(silence.reason)}.`;

export const silenceEnded = (id: string): string => `Silence ${id} was lifted before its end.`;

export const silenceHeld = (event: string, silence: SilenceShown): string =>
  `${event} held by silence ${silence.id} until ${silence.endsAt.toISOString()} (${JSON.stringify(silence.reason)}); it is sent when the silence ends if the outage is still open.`;

export const silenceReleased = (event: string): string => `No silence holds it any more: sending ${event}.`;

export const silenceDropped = (closing: string, held: string): string =>
  `${closing} ended what was held by a silence; neither it nor the held ${held} is sent.`;

export const silenceRefreshFailed = (reason: string): string =>
  `Cannot read the silences shared through Redis (${reason}); the ones read last stay in force until it can.`;

export const silenceHeldUnshared = (event: string, reason: string): string =>
  `Cannot record in Redis what the silences hold of ${event} (${reason}): this replica goes on with what it knows, and sends what it holds when the silence ends.`;

export const silenceStoreFailed = (reason: string): string =>
  `The silence could not be shared through Redis (${reason}), so no replica would obey it; it was not set.`;

export const stateFileIgnored = (file: string, reason: string): string =>
  `The audit alert state file ${file} was ignored (${reason}); every monitor starts without an open outage.`;

export const stateEntryIgnored = (file: string, monitor: string, reason: string): string =>
  `The open outage of monitor "${monitor}" in ${file} was ignored (${reason}); the monitor starts without one.`;

export const stateFileUnwritable = (file: string, error: string): string =>
  `The audit alert state file ${file} cannot be written (${error}); an outage open now starts over after a restart. Not logged again until a write succeeds.`;

export const stateFileWritable = (file: string): string => `The audit alert state file ${file} is written again.`;

export const outageResumed = (monitor: string, outageId: string, state: string): string =>
  `Monitor "${monitor}" resumes outage ${outageId} (${state}), left open by an earlier process.`;

/** How a log line names the incident of each kind of episode a process can leave open. */
const LEFT_OPEN_INCIDENTS = {
  outage: 'outage',
  capacity: 'capacity warning',
} as const satisfies Record<LeftOpenEpisodeKind, string>;

export const leftOpenResolved = (
  channel: string,
  kind: LeftOpenEpisodeKind,
  monitor: string,
  attempts: number,
): string =>
  `${channel} resolved any ${LEFT_OPEN_INCIDENTS[kind]} incident of monitor "${monitor}" left open by an earlier process (${attemptCount(attempts)}).`;

export const leftOpenUnresolved = (
  channel: string,
  kind: LeftOpenEpisodeKind,
  monitor: string,
  error: string,
): string =>
  `${channel} could not resolve an ${LEFT_OPEN_INCIDENTS[kind]} incident of monitor "${monitor}" an earlier process may have left open: ${error}`;

export const unknownOutage = (outageId: string, open: readonly string[]): string =>
  `No monitor has an open outage ${outageId}: it never existed here or has ended` +
  (open.length === 0 ? '; no outage is open.' : `; the open outages are: ${open.join(', ')}.`);

export const unknownAnnotatedOutage = (outageId: string): string =>
  `No monitor knows outage ${outageId}: it is neither open nor among the outages that ended lately.`;

export const outageNotAlerted = (outageId: string, monitor: string): string =>
  `Outage ${outageId} of monitor "${monitor}" has not been alerted on yet: there is nothing to acknowledge.`;

export const acknowledgeStoreFailed = (reason: string): string =>
  `The acknowledgement could not be shared through Redis (${reason}), so the other replicas would keep repeating; it was not recorded.`;

export const outageAcknowledged = (monitor: string, outageId: string, by: string, source: string): string =>
  `Outage ${outageId} of monitor "${monitor}" acknowledged by ${by} (${source}): its repeats stop until it recovers.`;

export const pagerDutyWebhookNeedsRawBody = (): string =>
  'The PagerDuty webhook needs the raw body to verify signatures: create the application with ' +
  'NestFactory.create(AppModule, { rawBody: true }). The delivery was refused.';

export const pagerDutyWebhookRefused = (what: string): string =>
  `A PagerDuty webhook delivery came with ${what}: refused (401), nothing changed.`;

export const pagerDutyWebhookIgnored = (type: string, why: string): string =>
  `A PagerDuty webhook delivery (${type}) changed nothing: ${why}.`;

export const clusterAcknowledgedRepeat = (replica: string, alert: string): string =>
  `Replica "${replica}" did not send ${alert}: the outage is acknowledged, and repeats stop until it recovers.`;
export const gapRecordWritten = (
  monitor: string,
  outageId: string,
  from: string,
  to: string,
  attempts: number,
): string =>
  `Gap record of monitor "${monitor}" written (outage ${outageId}, audit logging interrupted from ${from} to ${to}; ${attempts} ${attempts === 1 ? 'attempt' : 'attempts'}).`;

export const gapRecordFailed = (
  monitor: string,
  outageId: string,
  attempt: number,
  error: string,
  retryMs: number,
): string =>
  `Gap record of monitor "${monitor}" (outage ${outageId}) failed on attempt ${attempt}: ${error}; tried again in ${retryMs} ms.`;

export const gapRecordTimedOut = (timeoutMs: number): string => `the gap record was not written within ${timeoutMs} ms`;

export const gapRecordsUnkept = (monitor: string, where: string, error: string): string =>
  `The gap records of monitor "${monitor}" cannot be kept in ${where} (${error}); they wait in memory, and a restart loses those not written yet. Not logged again until keeping them succeeds.`;

export const gapRecordsResumed = (monitor: string, count: number, where: string): string =>
  `${count} gap ${count === 1 ? 'record' : 'records'} of monitor "${monitor}" not written by a process before this one, found in ${where}; writing ${count === 1 ? 'it' : 'them'}.`;

export const testAlertRecipientFailed = (recipient: string, reason: string, attempts: number, testId: string): string =>
  `Scheduled test alert ${testId} did not reach ${recipient} after ${attempts} ${attempts === 1 ? 'attempt' : 'attempts'}: ${reason}. It would miss a real alert too; audit.alert.test.failed goes to the other recipients.`;
