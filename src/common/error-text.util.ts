import { types } from 'node:util';
import { MAX_ERROR_TEXT_LENGTH } from '../audit-alert.constants.js';

/**
 * Scrubbing a long text costs time for nothing: only what survives the final
 * cut matters, plus a margin so a secret straddling the cut is still matched.
 */
const SCRUB_WINDOW = MAX_ERROR_TEXT_LENGTH * 4;

/** Inner errors of an `AggregateError` described; a connection attempt per address rarely makes more. */
const MAX_INNER_ERRORS = 5;

/** How deep nested values (inner errors, fields) are described. */
const MAX_DEPTH = 2;

/**
 * The fields an object that is not an `Error` is described by. Read one by one
 * as own properties: enumerating the keys of an object with a million of them
 * would cost the write path hundreds of milliseconds.
 */
const DESCRIBED_FIELDS = ['name', 'code', 'errno', 'syscall', 'message', 'detail', 'reason', 'status', 'statusCode'];

const REDACTED = '[REDACTED]';

/**
 * An identifier that names a secret by how it ends: `PGPASSWORD`, `db_password`,
 * `sslpassword`, `passphrase`, `privateKey`, `AWS_SECRET_ACCESS_KEY`,
 * `X-Amz-Signature`, `sig`, `key`… Matched from the start of the identifier, so
 * a name that only contains such a word (`password_hash`) is left alone.
 */
const SECRET_NAME = String.raw`(?<![\w.-])((?:[\w.-]*?(?:pass(?:word|wd|phrase)?|pwd|secret|token|credentials?|signature|sig|(?:[_.-]|api|access|private|secret|routing|signing|session|encryption|master|client)key))|key)`;

/** Authorization schemes whose next word is the credential; any other first word is taken for the credential itself. */
const AUTH_SCHEMES =
  /^(?:bearer|basic|digest|apikey|api-key|token|key|aws4-hmac-sha256|aws|negotiate|ntlm|sharedkey|dsn)$/i;

/** A credential in an authorization value, with the `, key=value` parameters of schemes such as AWS SigV4. */
const CREDENTIAL = String.raw`[^\s"',;]+(?:,\s*[\w-]+=[^\s"',]+)*`;

function redactAuthorization(_: string, prefix: string, first: string, space: string | undefined, rest = ''): string {
  if (AUTH_SCHEMES.test(first) && rest !== '') return `${prefix}${first}${space}${REDACTED}`;
  // An unknown first word may be the credential or a scheme: redact both rather than leak one.
  return `${prefix}${REDACTED}`;
}

function redactNamedValue(_: string, name: string, separator: string, value: string): string {
  const quote = value.charAt(0) === '"' || value.charAt(0) === "'" ? value.charAt(0) : '';
  const closed = quote !== '' && value.length > 1 && value.endsWith(quote);
  return `${name}${separator}${quote}${REDACTED}${closed ? quote : ''}`;
}

/**
 * Each pattern is linear in the length of the text (no nested quantifier can
 * backtrack over the same characters twice), so scrubbing stays cheap whatever
 * the text holds.
 */
const SCRUBBERS: readonly [RegExp, string | ((match: string, ...groups: string[]) => string)][] = [
  // PEM private keys, whole blocks (or up to the end, when the text is cut inside one).
  [/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g, `${REDACTED}`],
  // user:password@ in any scheme://authority; the password may hold a raw "@", "/" or "#": up to the last "@".
  [/\b([a-z][a-z0-9+.-]{0,30}:\/\/)[^\s/?#@:]*:\S*@/gi, `$1${REDACTED}@`],
  // A lone token@ in any scheme://authority.
  [/\b([a-z][a-z0-9+.-]{0,30}:\/\/)[^\s/?#@]+@/gi, `$1${REDACTED}@`],
  // Authorization: <scheme> <credential>, or a bare credential.
  [
    new RegExp(String.raw`\b((?:proxy-)?authorization["']?\s*[=:]\s*["']?)([^\s"',;]+)(?:(\s+)(${CREDENTIAL}))?`, 'gi'),
    redactAuthorization,
  ],
  // Bearer <token> and the like, wherever they appear.
  [/\b(bearer|basic|token|apikey)(\s+)(?!\[REDACTED\])[a-z0-9._~+/=-]+/gi, `$1$2${REDACTED}`],
  // name=value, name: value, "name": "value" where the name ends like a secret's; quoted values whole.
  [
    new RegExp(String.raw`${SECRET_NAME}(["']?\s*[=:]\s*)("(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|[^\s"'&;,]+)`, 'gi'),
    redactNamedValue,
  ],
  // Credentials recognisable by their shape alone.
  [/\beyJ[\w-]+\.[\w-]+\.[\w-]*/g, REDACTED], // JWT
  [/\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)[A-Z0-9]{16}\b/g, REDACTED], // AWS key id
  [/\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,}|glpat-[\w-]{20,}|xox[abposr]-[\w-]{10,})/g, REDACTED],
  [/\b[sr]k_(?:live|test)_[A-Za-z0-9]{10,}/g, REDACTED], // Stripe
];

/** Escape sequences a terminal acts on: CSI (colours, cursor moves), OSC (titles, links), and single-character ones. */
const TERMINAL_ESCAPES =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /\u001b\[[0-?]*[ -/]*[@-~]?|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[@-_]?|\u009b[0-?]*[ -/]*[@-~]?/g;

/**
 * White space and characters that are not printable on one line: controls
 * (C0, DEL, C1 with NEL), line and paragraph separators, and the bidirectional
 * overrides that make a terminal show text other than what it holds.
 */
const NON_PRINTABLE_RUN = /[\s\p{Cc}\p{Zl}\p{Zp}\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]+/gu;
const PRINTABLE_SPACES = /^[ \u00A0\u1680\u2000-\u200A\u202F\u205F\u3000]+$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Makes `text` one line of printable text: terminal escape sequences removed,
 * any run of white space holding a control character, a line break or a
 * separator turned into one space, and broken surrogates replaced. What
 * every log line and every `lastError` of this module goes through.
 */
export function printableLine(text: string): string {
  return text
    .replace(TERMINAL_ESCAPES, '')
    .replace(NON_PRINTABLE_RUN, (run) => (PRINTABLE_SPACES.test(run) ? run : ' '))
    .replace(LONE_SURROGATE, '\uFFFD');
}

function cut(text: string, length: number): string {
  if (text.length <= length) return text;
  let end = length - 1;
  // Never leave half of a surrogate pair behind.
  if (/[\uD800-\uDBFF]/.test(text.charAt(end - 1))) end -= 1;
  return `${text.slice(0, end)}…`;
}

function ownField(value: object, key: string): unknown {
  return Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
}

function messageOf(error: Error, depth: number): string {
  const message = cut(typeof error.message === 'string' ? error.message : String(error.message), SCRUB_WINDOW);
  if (message !== '') return `${error.name}: ${message}`;
  // Node's connection errors may come as an AggregateError with no message of its own.
  const inner = error instanceof AggregateError && Array.isArray(error.errors) ? error.errors : [];
  if (inner.length > 0 && depth < MAX_DEPTH) {
    const described = inner.slice(0, MAX_INNER_ERRORS).map((e: unknown) => rawText(e, depth + 1));
    const more = inner.length > MAX_INNER_ERRORS ? `; and ${inner.length - MAX_INNER_ERRORS} more` : '';
    return cut(`${error.name}: ${described.join('; ')}${more}`, SCRUB_WINDOW);
  }
  const code = ownField(error, 'code');
  return code === undefined ? error.name : `${error.name}: ${cut(String(code), SCRUB_WINDOW)}`;
}

function describeObject(value: object, depth: number): string {
  if (Array.isArray(value)) return `[an array of ${value.length} items]`;
  const kind = Object.prototype.toString.call(value);
  if (depth >= MAX_DEPTH) return kind;
  const fields: string[] = [];
  for (const key of DESCRIBED_FIELDS) {
    const field = ownField(value, key);
    if (field === undefined) continue;
    fields.push(`${key}: ${typeof field === 'string' ? `'${cut(field, SCRUB_WINDOW)}'` : rawText(field, depth + 1)}`);
  }
  return fields.length === 0 ? kind : cut(`{ ${fields.join(', ')} }`, SCRUB_WINDOW);
}

function rawText(value: unknown, depth = 0): string {
  if (typeof value === 'string') return cut(value, SCRUB_WINDOW);
  // `instanceof` alone misses an error made in another realm (a `vm` context, a test runner's sandbox).
  if (value instanceof Error || types.isNativeError(value)) return messageOf(value, depth);
  if (typeof value === 'function') return `[function ${cut(value.name, 100)}]`;
  if (value === null || typeof value !== 'object') return cut(String(value), SCRUB_WINDOW);
  return describeObject(value, depth);
}

/** Replaces credentials in `text` (URL user info, passwords, keys, tokens, signatures) with a marker. */
export function scrubSecrets(text: string): string {
  let scrubbed = text;
  for (const [pattern, replacement] of SCRUBBERS) {
    scrubbed = scrubbed.replace(pattern, replacement as (match: string, ...groups: string[]) => string);
  }
  return scrubbed;
}

/**
 * Turns anything recorded as a failure into one line of printable text that is
 * safe to send: never throws, scrubs credentials, keeps at most 1,024
 * characters, and does a bounded amount of work whatever it is given (a
 * million-key object or an `AggregateError` of thousands of errors included).
 */
export function errorText(error: unknown): string {
  let text: string;
  try {
    text = rawText(error);
  } catch {
    text = `[unprintable ${typeof error}]`;
  }
  return cut(printableLine(scrubSecrets(text)), MAX_ERROR_TEXT_LENGTH);
}
