import { inspect } from 'node:util';
import { MAX_ERROR_TEXT_LENGTH } from '../audit-alert.constants.js';

/**
 * Scrubbing a long text costs time for nothing: only what survives the final
 * cut matters, plus a margin so a secret straddling the cut is still matched.
 */
const SCRUB_WINDOW = MAX_ERROR_TEXT_LENGTH * 4;

const REDACTED = '[REDACTED]';

const SCRUBBERS: readonly [RegExp, string][] = [
  // user:password@ (or a lone token@) in any scheme://authority
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi, `$1${REDACTED}@`],
  // Authorization: Bearer <token>, Basic <token>, or a bare scheme-less value
  [/\b(bearer|basic|token)(\s+)[a-z0-9._~+/=-]+/gi, `$1$2${REDACTED}`],
  [/\b(authorization["']?\s*[:=]\s*["']?)(?!bearer\b|basic\b|token\b)[^\s"',;]+/gi, `$1${REDACTED}`],
  // password=..., "password": "...", api_key: ..., secret=..., token=...
  [
    /\b(pass(?:word|wd)?|pwd|secret|client[_-]?secret|api[_-]?key|access[_-]?token|auth[_-]?token|token)(["']?\s*[=:]\s*["']?)[^\s"'&;,]+/gi,
    `$1$2${REDACTED}`,
  ],
];

function messageOf(error: Error): string {
  const message = typeof error.message === 'string' ? error.message : String(error.message);
  if (message !== '') return `${error.name}: ${message}`;
  // Node's connection errors may come as an AggregateError with no message of its own.
  if (error instanceof AggregateError && error.errors.length > 0) {
    return `${error.name}: ${error.errors.map((inner) => rawText(inner)).join('; ')}`;
  }
  const code = (error as { code?: unknown }).code;
  return code === undefined ? error.name : `${error.name}: ${String(code)}`;
}

function rawText(error: unknown): string {
  if (typeof error === 'string') return error;
  if (error instanceof Error) return messageOf(error);
  if (error === null || typeof error !== 'object') return String(error);
  return inspect(error, { depth: 2, breakLength: Infinity, maxArrayLength: 10, maxStringLength: SCRUB_WINDOW });
}

function cut(text: string, length: number): string {
  if (text.length <= length) return text;
  let end = length - 1;
  // Never leave half of a surrogate pair behind.
  if (/[\uD800-\uDBFF]/.test(text.charAt(end - 1))) end -= 1;
  return `${text.slice(0, end)}…`;
}

/** Replaces credentials in `text` (URL user info, passwords, tokens) with a marker. */
export function scrubSecrets(text: string): string {
  let scrubbed = text;
  for (const [pattern, replacement] of SCRUBBERS) scrubbed = scrubbed.replace(pattern, replacement);
  return scrubbed;
}

/**
 * Turns anything recorded as a failure into a one-line text that is safe to
 * send: never throws, scrubs credentials, and keeps at most 1,024 characters.
 */
export function errorText(error: unknown): string {
  let text: string;
  try {
    text = rawText(error);
  } catch {
    text = `[unprintable ${typeof error}]`;
  }
  return cut(scrubSecrets(cut(text, SCRUB_WINDOW)).replace(/\s*\n\s*/g, ' '), MAX_ERROR_TEXT_LENGTH);
}
