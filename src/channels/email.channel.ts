import { setTimeout as delay } from 'node:timers/promises';
import {
  channelLabel,
  emailInClearText,
  emailNeedsNodemailer,
  smtpErrorReason,
  smtpReplyReason,
  timeoutReason,
} from '../audit-alert.messages.js';
import { AuditAlertConfigError } from '../errors/audit-alert-config.error.js';
import { episodeStepOf, eventKeyOf } from '../events/audit-alert-event-kinds.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import { AlertChannel, type ChannelLinks } from './alert-channel.js';
import { type AttemptOutcome, type ChannelDelivery, DELIVERED, STOPPED } from './channel-delivery.js';
import type { AuditAlertEmailMessage, AuditAlertEmailTransporter } from './channel-options.interface.js';
import type { ResolvedEmailChannel } from './channels.options.js';
import type { ResolvedEmailTransport } from './email.options.js';
import { renderEmail } from './email-message.js';
import { isHeadline } from './message-text.util.js';

/** The right-hand side of every `Message-ID` the channel makes. */
const MESSAGE_ID_DOMAIN = 'nestjs-audit-alert';

/** Episodes whose first message the channel remembers, to thread the next ones under it. Bounded. */
const MAX_THREADS = 1_000;

/** What a `Message-ID`'s left-hand side may hold (RFC 5322 `dot-atom-text`). */
const atom = (text: string): string => text.replace(/[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]/g, '-');

/**
 * The thread of an episode (an outage, a capacity episode…): `<outageId@nestjs-audit-alert>`.
 * Every message of the episode names it in `References`, so mail clients
 * group them even when the first was never received (sent before a restart,
 * or held back by `fromOccurrence`). No message carries it as its own id.
 */
export function emailThreadId(event: AuditAlertEvent): string {
  return `<${atom(eventKeyOf(event))}@${MESSAGE_ID_DOMAIN}>`;
}

/**
 * The `Message-ID` of the message of `event`, derived from it alone and
 * distinct for each message of an episode:
 * `<outageId.storage-unreachable-1@nestjs-audit-alert>` for an outage's first
 * unreachable alert, `<outageId.storage-recovered@…>` for its recovery.
 */
export function emailMessageId(event: AuditAlertEvent): string {
  const parts = [event.type.replace(/^audit\./, '').replace(/\./g, '-')];
  if (event.type === 'audit.storage.capacity') parts.push(event.level);
  if ('occurrence' in event) parts.push(String(event.occurrence));
  return `<${atom(eventKeyOf(event))}.${atom(parts.join('-'))}@${MESSAGE_ID_DOMAIN}>`;
}

/** What the channel needs of nodemailer: the factory of transporters. */
interface Nodemailer {
  createTransport(options: Readonly<Record<string, unknown>>): AuditAlertEmailTransporter;
}

/** Loads nodemailer, an optional peer, only when SMTP settings ask for it. */
async function loadNodemailer(path: string): Promise<Nodemailer> {
  try {
    const loaded = (await import('nodemailer')) as unknown as Nodemailer & { default?: Nodemailer };
    return loaded.default ?? loaded;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    const reason = typeof code === 'string' ? code : error instanceof Error ? error.name : 'unknown error';
    throw new AuditAlertConfigError(emailNeedsNodemailer(path, reason), path);
  }
}

/** The transporter of `transport`: the application's own, or one nodemailer builds from the SMTP settings. */
async function transporterOf(
  transport: ResolvedEmailTransport,
  timeoutMs: number,
): Promise<AuditAlertEmailTransporter> {
  if (transport.kind === 'transporter') return transport.transporter;
  const nodemailer = await loadNodemailer(transport.path);
  return nodemailer.createTransport({
    ...transport.smtp,
    // Each stage of the SMTP dialogue is bounded by the attempt's timeout, so a socket never outlives it for long.
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    // Alerts are built here, never from files or URLs; nodemailer's own logs would show the dialogue.
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
    debug: false,
  });
}

const VALID_CODE = /^[A-Z0-9_]+$/;

/**
 * How a failed `sendMail` ends an attempt: an SMTP reply of 4xx (the server's
 * "try again later") is retried, one of 5xx is not; an error without a reply
 * (the connection failed, timed out, or TLS did) is retried, unless it is
 * about the login or the addresses, which another try would not change. Only
 * the reply code and nodemailer's error code are kept: the server's text may
 * quote an address or a credential.
 */
export function smtpOutcome(error: unknown): AttemptOutcome {
  const { responseCode, code } = (error ?? {}) as { responseCode?: unknown; code?: unknown };
  if (typeof responseCode === 'number' && responseCode >= 400 && responseCode < 600) {
    const reason = smtpReplyReason(responseCode);
    return responseCode < 500 ? { kind: 'retry', reason, retryAfterMs: null } : { kind: 'rejected', reason };
  }
  const name = typeof code === 'string' && VALID_CODE.test(code) ? code : null;
  const reason = smtpErrorReason(name);
  if (name === 'EAUTH' || name === 'EENVELOPE' || name === 'EMESSAGE') return { kind: 'rejected', reason };
  return { kind: 'retry', reason, retryAfterMs: null };
}

/**
 * What a `sendMail` that resolved says of the recipients the server refused
 * (nodemailer's `rejected` and `rejectedErrors`): `null` when it took them all.
 * A 4xx for some is retried for those alone; a 5xx is not.
 */
function smtpPartialOutcome(
  info: unknown,
  total: number,
): { readonly outcome: AttemptOutcome; readonly retryTo: readonly string[] } | null {
  const { rejected, rejectedErrors } = (info ?? {}) as { rejected?: unknown; rejectedErrors?: unknown };
  if (!Array.isArray(rejected) || rejected.length === 0) return null;
  const errors: unknown[] = Array.isArray(rejectedErrors) ? rejectedErrors : [];
  const codes = errors.map((error) => smtpOutcome(error));
  const retryTo = rejected.filter(
    (address, index): address is string => typeof address === 'string' && codes[index]?.kind !== 'rejected',
  );
  const first = codes.find((code) => code.kind === (retryTo.length > 0 ? 'retry' : 'rejected'));
  const reason = `${first && 'reason' in first ? first.reason : smtpErrorReason(null)} for ${rejected.length} of ${total} recipients`;
  return retryTo.length > 0
    ? { outcome: { kind: 'retry', reason, retryAfterMs: null }, retryTo }
    : { outcome: { kind: 'rejected', reason }, retryTo: [] };
}

const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '::1' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);

/**
 * Emails each event: a subject with the state, the service and the monitor; a
 * plain-text part and an HTML part. The messages of one outage form a thread:
 * each names the outage's thread in `References`, and the repeats and the
 * recovery answer (`In-Reply-To`) the first alert this channel sent of it.
 */
export class EmailChannel extends AlertChannel<ResolvedEmailChannel> {
  private readonly transporter: Promise<AuditAlertEmailTransporter>;
  /** The `Message-ID` of the first message sent of each open episode. */
  private readonly threads = new Map<string, string>();

  /** @param links The links of each monitor, listed under each message. */
  constructor(options: ResolvedEmailChannel, delivery: ChannelDelivery, links?: ChannelLinks) {
    const { transport } = options;
    super(
      options,
      delivery,
      channelLabel(
        'Email',
        transport.kind === 'smtp' ? `${transport.smtp.host}:${transport.smtp.port}` : 'application transporter',
      ),
      links,
    );
    this.transporter = transporterOf(transport, options.timeoutMs);
    // Reported by ready() at bootstrap; a delivery awaiting it sees the rejection too.
    this.transporter.catch(() => undefined);
  }

  override async ready(): Promise<void> {
    await this.transporter;
  }

  clearTextWarning(): string | null {
    const { transport } = this.options;
    if (transport.kind !== 'smtp') return null;
    const { secure, requireTLS, host } = transport.smtp;
    return secure || requireTLS || isLoopback(host) ? null : emailInClearText(this.label);
  }

  /** The message of `event`, threaded under the first message sent of its episode. */
  message(event: AuditAlertEvent): AuditAlertEmailMessage {
    const summary = this.custom('summary', this.options.summary, event, isHeadline);
    const { subject, text, html } = renderEmail(event, summary, this.linksOf(event.monitor));
    const { from, to, cc } = this.options;
    const messageId = emailMessageId(event);
    const message: AuditAlertEmailMessage = {
      from,
      to,
      ...(cc.length > 0 ? { cc } : {}),
      subject,
      text,
      html,
      messageId,
    };
    const step = episodeStepOf(event);
    if (step === 'once') return message;
    const thread = emailThreadId(event);
    const first = this.threads.get(eventKeyOf(event));
    const opener = step === 'opens' && first === undefined && (!('occurrence' in event) || event.occurrence === 1);
    if (opener) return { ...message, references: [thread] };
    const parent = first ?? thread;
    return { ...message, inReplyTo: parent, references: parent === thread ? [thread] : [thread, parent] };
  }

  protected override async send(event: AuditAlertEvent): Promise<number> {
    const message = this.message(event);
    const transporter = await this.transporter;
    const total = message.to.length + (message.cc?.length ?? 0);
    // After some recipients were refused with a 4xx, the next attempt goes to them alone.
    let retryTo: readonly string[] | null = null;
    const attempts = await this.delivery.retrying(this.label, event.type, this.options, async () => {
      const sent = retryTo === null ? message : { ...message, envelope: { from: message.from, to: retryTo } };
      const { outcome, info } = await this.attempt(transporter, sent);
      const partial = outcome.kind === 'delivered' ? smtpPartialOutcome(info, retryTo?.length ?? total) : null;
      if (partial === null) return outcome;
      retryTo = partial.retryTo;
      return partial.outcome;
    });
    this.remember(event, message.messageId);
    return attempts;
  }

  private remember(event: AuditAlertEvent, messageId: string): void {
    const key = eventKeyOf(event);
    const step = episodeStepOf(event);
    if (step === 'closes') this.threads.delete(key);
    if (step !== 'opens' || this.threads.has(key)) return;
    if (this.threads.size >= MAX_THREADS) this.threads.delete(this.threads.keys().next().value!);
    this.threads.set(key, messageId);
  }

  /**
   * One `sendMail`, bounded by `timeoutMs` and by the application's shutdown:
   * past either, the attempt is over (a transporter of the application's may
   * still finish it; one built here closes its socket at the same timeout).
   */
  private async attempt(
    transporter: AuditAlertEmailTransporter,
    message: AuditAlertEmailMessage,
  ): Promise<{ readonly outcome: AttemptOutcome; readonly info?: unknown }> {
    const { signal } = this.delivery;
    const { timeoutMs } = this.options;
    const stopped = new AbortController();
    const abort = (): void => stopped.abort();
    signal.addEventListener('abort', abort, { once: true });
    try {
      type Ended = { readonly outcome: AttemptOutcome; readonly info?: unknown };
      const ending = Promise.race<Ended>([
        Promise.resolve()
          .then(() => transporter.sendMail(message))
          .then(
            (info): Ended => ({ outcome: DELIVERED, info }),
            (error: unknown): Ended => ({ outcome: smtpOutcome(error) }),
          ),
        // A real timer on purpose: it bounds real network I/O, which a test clock does not drive.
        delay(timeoutMs, undefined, { signal: stopped.signal, ref: false }).then(
          (): Ended => ({ outcome: { kind: 'retry', reason: timeoutReason(timeoutMs), retryAfterMs: null } }),
          (): Ended => ({ outcome: STOPPED }),
        ),
      ]);
      return await ending;
    } finally {
      stopped.abort();
      signal.removeEventListener('abort', abort);
    }
  }
}
