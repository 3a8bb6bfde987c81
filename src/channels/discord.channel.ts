import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import type { AuditAlertLink } from './channel-link-options.interface.js';
import type { ResolvedDiscordChannel } from './channels.options.js';
import type { HttpDelivery } from './http-delivery.js';
import { type ChannelLinks, type ChannelRequest, HttpChannel } from './http.channel.js';
import { isHeadline, truncate, truncateUnits } from './message-text.util.js';
import { plainMessage, type PlainTone } from './plain-message.js';

/** A field of an embed. */
interface DiscordField {
  readonly name: string;
  readonly value: string;
  readonly inline: boolean;
}

/** An embed (https://discord.com/developers/docs/resources/message#embed-object). */
interface DiscordEmbed {
  readonly title: string;
  readonly description: string;
  readonly color: number;
  readonly fields: readonly DiscordField[];
  readonly footer: { readonly text: string };
  readonly timestamp: string;
}

/** The body of an execute-webhook request: one embed, and no mention of anyone, whatever the text. */
interface DiscordMessage {
  readonly embeds: readonly [DiscordEmbed];
  readonly allowed_mentions: { readonly parse: readonly [] };
}

/** Discord's limits, in characters. */
const MAX_TITLE = 256;
const MAX_DESCRIPTION = 4_096;
const MAX_FIELD_VALUE = 1_024;
const MAX_FOOTER = 2_048;
/** What a name (service, monitor) may take of a field. */
const MAX_NAME = 256;

/** Colors by tone: red, amber, green, blue. */
const DISCORD_COLORS: Readonly<Record<PlainTone, number>> = {
  alert: 0xd93025,
  warning: 0xf9ab00,
  good: 0x1e8e3e,
  info: 0x1a73e8,
};

/**
 * Escapes, with a backslash, what Discord's markdown reads: emphasis, code,
 * spoilers, links and `<` (mentions, channels, timestamps) anywhere;
 * headings, quotes and lists at the start of a line. Cut to `max` characters, an escape never split from its character.
 */
export function escapeDiscord(text: string, max: number): string {
  const escaped = text
    .replace(/[\\*_~`|[\]()<]/g, '\\$&')
    .replace(/^([ \t]*)([#>+-])/gm, '$1\\$2')
    .replace(/^([ \t]*)(\d+)\./gm, '$1$2\\.');
  return truncateUnits(escaped.match(/\\[\s\S]|[\s\S]/gu) ?? [], max);
}

/** The last error in a code block it cannot close early. */
function codeBlock(text: string): string {
  return `\`\`\`\n${truncate(text.replace(/```/g, '`\u200b`\u200b`'), MAX_FIELD_VALUE - 8)}\n\`\`\``;
}

/** A date in each reader's own time zone. */
const discordDate = (date: Date): string => `<t:${Math.floor(date.getTime() / 1_000)}:f>`;

/** A masked link whose URL cannot end it early. */
const maskedLink = (link: AuditAlertLink): string =>
  `[${escapeDiscord(link.text, 150)}](${link.url.replace(/\(/g, '%28').replace(/\)/g, '%29')})`;

/**
 * Renders `event` as a Discord message: one embed colored by severity, saying
 * what failed, for how long, the last error, the service and the monitor,
 * with the monitor's links; `allowed_mentions` empty, so no text pings anyone.
 * @param summary A headline of the application's, in place of the built-in title.
 */
export function discordMessage(
  event: AuditAlertEvent,
  summary?: string,
  links: readonly AuditAlertLink[] = [],
): DiscordMessage {
  const plain = plainMessage(event);
  const dates = plain.facts.filter((pair): pair is readonly [string, Date] => pair[1] instanceof Date);
  const fields: DiscordField[] = plain.facts.map(([name, value]) => ({
    name,
    value: value instanceof Date ? discordDate(value) : escapeDiscord(value, MAX_NAME),
    inline: true,
  }));
  if (plain.error !== null) fields.push({ name: 'Last error', value: codeBlock(plain.error), inline: false });
  if (links.length > 0) {
    const value = truncateUnits(
      links.map((link, index) => `${index === 0 ? '' : ' · '}${maskedLink(link)}`),
      MAX_FIELD_VALUE,
    );
    fields.push({ name: 'Links', value, inline: false });
  }
  return {
    embeds: [
      {
        // A title shows its markdown as it is: only a limit to keep.
        title: truncate(summary ?? plain.title, MAX_TITLE),
        description: escapeDiscord(plain.text, MAX_DESCRIPTION),
        color: DISCORD_COLORS[plain.tone],
        fields,
        footer: { text: truncate(`${plain.key[0]} ${plain.key[1]}`, MAX_FOOTER) },
        // When it happened: the latest time the event states.
        timestamp: (dates.at(-1)?.[1] ?? new Date(0)).toISOString(),
      },
    ],
    allowed_mentions: { parse: [] },
  };
}

/**
 * Reads Discord's 429 body, `{ "retry_after": 1.5, … }` (seconds, with a
 * fraction), into milliseconds; `null` when it holds no such number.
 */
export function discordRetryAfter(body: string): number | null {
  try {
    const retryAfter = (JSON.parse(body) as { retry_after?: unknown } | null)?.retry_after;
    return typeof retryAfter === 'number' && Number.isFinite(retryAfter) && retryAfter >= 0
      ? Math.ceil(retryAfter * 1_000)
      : null;
  } catch {
    return null;
  }
}

/** Posts an embed to a Discord channel through an incoming webhook. */
export class DiscordChannel extends HttpChannel<ResolvedDiscordChannel> {
  constructor(options: ResolvedDiscordChannel, delivery: HttpDelivery, links?: ChannelLinks) {
    super(options, delivery, 'Discord', links);
  }

  protected override bodyFor(event: AuditAlertEvent): DiscordMessage {
    const summary = this.custom('summary', this.options.summary, event, isHeadline);
    return discordMessage(event, summary, this.linksOf(event.monitor));
  }

  /** A 429 says how long to wait in its body, to the millisecond: read before `Retry-After`, in whole seconds. */
  protected override requestFor(body: unknown): ChannelRequest {
    return { ...super.requestFor(body), retryAfterFromBody: discordRetryAfter };
  }
}
