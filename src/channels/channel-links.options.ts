import { describeKind, invalidSecretOption } from '../audit-alert.messages.js';
import { AuditAlertConfigError } from '../errors/audit-alert-config.error.js';
import { fail, ownProperties, readItems, rejectUnknownKeys } from '../options/option-readers.util.js';
import type { AuditAlertLink } from './channel-link-options.interface.js';
import { readUrl } from './channel-fields.options.js';

/** Most links of a monitor: the buttons of a message stay few enough to read. */
const MAX_LINKS = 5;
/** Longest link text: Slack's limit for the text of a button. */
const MAX_LINK_TEXT = 75;
/** Longest link URL: well within Slack's 3,000 for a button's, and what every receiver keeps whole. */
const MAX_LINK_URL = 2_000;

/** A list or a link may hold a URL whose query is a token: say what it is, never what it holds. */
function failByKind(path: string, value: unknown, allowed: string): never {
  throw new AuditAlertConfigError(invalidSecretOption(path, describeKind(value), allowed), path);
}

function readLink(raw: unknown, path: string): AuditAlertLink {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    failByKind(path, raw, 'a link object { text, url }');
  }
  const source = ownProperties(raw);
  rejectUnknownKeys(source, ['text', 'url'], `${path}.`);
  const { text } = source;
  if (typeof text !== 'string' || text.trim() === '' || text.length > MAX_LINK_TEXT || /[\r\n]/.test(text)) {
    fail(
      `${path}.text`,
      typeof text === 'string' ? text : describeKind(text),
      `a non-empty text of at most ${MAX_LINK_TEXT} characters, on one line`,
    );
  }
  const url = readUrl(source, path);
  if (url.length > MAX_LINK_URL) {
    failByKind(`${path}.url`, url, `an absolute http:// or https:// URL of at most ${MAX_LINK_URL} characters`);
  }
  return { text, url };
}

/**
 * Reads the `links` of a monitor (or of the top level, which monitors
 * inherit): at most {@link MAX_LINKS}, each URL absolute, `http:` or
 * `https:`, without user information.
 * @throws AuditAlertConfigError naming the field, such as `monitors[1].links[0].url`.
 */
export function readLinks(
  source: Record<string, unknown>,
  fallback: readonly AuditAlertLink[],
  path: string,
): readonly AuditAlertLink[] {
  const value = source.links;
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || value.length > MAX_LINKS) {
    failByKind(path, value, `an array of at most ${MAX_LINKS} links { text, url }`);
  }
  return readItems(value, (link, index) => readLink(link, `${path}[${index}]`));
}
