import { httpStatusReason, networkErrorReason, redirectReason, timeoutReason } from '../audit-alert.messages.js';
import {
  type AttemptOutcome,
  ChannelDelivery,
  DELIVERED,
  MAX_RETRY_DELAY_MS,
  type RetryPolicy,
  STOPPED,
} from './channel-delivery.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../package-manifest.js';
import { poolFreeLookup } from './pool-free-lookup.js';

/** Where Node's built-in `fetch` (undici) keeps its dispatcher, once it has made one. */
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');

/**
 * A dispatcher for Node's built-in `fetch` that resolves host names with
 * {@link poolFreeLookup}: an `Agent` of the very undici `fetch` runs on, read
 * from the dispatcher `fetch` makes for itself. `undefined` where there is no
 * such thing (another runtime, a global dispatcher the application set that
 * is not a plain `Agent`, such as a proxy): `fetch` then resolves as usual.
 */
async function poolFreeDispatcher(signal: AbortSignal): Promise<unknown> {
  try {
    // A data: URL makes fetch create its global dispatcher without any network access.
    await (await fetch('data:,')).arrayBuffer();
    const current = (globalThis as Record<symbol, unknown>)[GLOBAL_DISPATCHER] as { constructor?: unknown } | undefined;
    const Agent = current?.constructor as (new (options: object) => { close(): Promise<void> }) | undefined;
    if (typeof Agent !== 'function' || Agent.name !== 'Agent') return undefined;
    const agent = new Agent({ connect: { lookup: poolFreeLookup } });
    signal.addEventListener('abort', () => void agent.close().catch(() => undefined), { once: true });
    return agent;
  } catch {
    return undefined;
  }
}

export { backoffDelay, MAX_RETRY_DELAY_MS, type RetryPolicy } from './channel-delivery.js';

/** `user-agent` of every request, such as `nestjs-audit-alert/0.1.0`. */
export const USER_AGENT = `${PACKAGE_NAME}/${PACKAGE_VERSION}`;

/** One request, ready to send. */
export interface HttpRequest {
  readonly url: string;
  /** @default 'POST' */
  readonly method?: string;
  readonly headers: Headers;
  /** Absent for a request without a body, such as a `GET`. */
  readonly body?: string;
  /**
   * Headers made for each attempt from its body and the wall-clock time of the
   * module's clock (milliseconds), such as a signature that must stay fresh
   * across retries. Set on top of `headers`.
   */
  readonly headersAt?: (body: string, wallNowMs: number) => Readonly<Record<string, string>>;
  /**
   * Reads how long to wait, in milliseconds, from the body of a 429 answer
   * (Discord's `retry_after`); `null` when it says nothing. Preferred to a
   * `Retry-After` header. Only the first {@link MAX_RETRY_AFTER_BODY} bytes
   * are read, and nothing of them is logged.
   */
  readonly retryAfterFromBody?: (body: string) => number | null;
}

/** Most of a 429 body read for {@link HttpRequest.retryAfterFromBody}. */
const MAX_RETRY_AFTER_BODY = 16_384;

/**
 * Reads a `Retry-After` header, in seconds or as an HTTP date, into a delay in
 * milliseconds capped at {@link MAX_RETRY_DELAY_MS}; `null` when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, wallNow: number): number | null {
  if (value === null) return null;
  const text = value.trim();
  let delayMs = Number.NaN;
  if (/^\d+$/.test(text)) delayMs = Number(text) * 1_000;
  // Date.parse reads almost anything; an HTTP date always has a day or month name.
  else if (/[a-z]/i.test(text)) delayMs = Date.parse(text) - wallNow;
  return Number.isNaN(delayMs) ? null : Math.min(MAX_RETRY_DELAY_MS, Math.max(0, delayMs));
}

/** Reads at most `max` bytes of `response`'s body as text, then drops the rest. */
async function readBodyStart(response: Response, max: number): Promise<string> {
  const reader = response.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}

/** The `code` of a fetch failure's cause (`ECONNREFUSED`…), never its message, which may quote the address. */
function networkErrorCode(error: unknown): string | null {
  const code = ((error as { cause?: { code?: unknown } } | null)?.cause ?? {}).code;
  return typeof code === 'string' && /^[A-Z0-9_]+$/.test(code) ? code : null;
}

/**
 * Sends requests (POSTs, unless told otherwise) with Node's `fetch`, each attempt bounded by a timeout, and
 * retries network errors, timeouts, 429 and 5xx responses with exponential
 * backoff and jitter, honouring `Retry-After`. Waits between attempts run on
 * the module's clock; `signal` (aborted at application shutdown) stops both
 * the attempt in progress and any further one.
 */
export class HttpDelivery extends ChannelDelivery {
  /** The dispatcher of every attempt, made at the first ({@link poolFreeDispatcher}). */
  private dispatcher: Promise<unknown> | null = null;

  /**
   * Delivers `request`, retrying as `policy` allows.
   * @param label Names the channel in logs.
   * @param eventType Names what is being sent in logs.
   * @returns How many attempts it took.
   * @throws AuditAlertChannelError when the receiver refused it, the retries ran out or the application shut down.
   */
  send(label: string, eventType: string, request: HttpRequest, policy: RetryPolicy): Promise<number> {
    return this.retrying(label, eventType, policy, () => this.attempt(request, policy.timeoutMs));
  }

  private async attempt(request: HttpRequest, timeoutMs: number): Promise<AttemptOutcome> {
    const controller = new AbortController();
    const stop = (): void => controller.abort();
    // A real timer on purpose: it bounds real network I/O, which a test clock does not drive.
    const timer = setTimeout(stop, timeoutMs).unref();
    this.signal.addEventListener('abort', stop, { once: true });
    try {
      let { headers } = request;
      if (request.headersAt !== undefined && request.body !== undefined) {
        headers = new Headers(headers);
        for (const [name, value] of Object.entries(request.headersAt(request.body, this.clock.wallNow()))) {
          headers.set(name, value);
        }
      }
      const dispatcher = await (this.dispatcher ??= poolFreeDispatcher(this.signal));
      const response = await fetch(request.url, {
        // Node's fetch takes undici's `dispatcher`; DOM's RequestInit does not name it.
        ...(dispatcher === undefined ? {} : ({ dispatcher } as object)),
        method: request.method ?? 'POST',
        headers,
        body: request.body,
        // Following a redirect would re-send the alert (and its headers) somewhere not configured.
        redirect: 'manual',
        signal: controller.signal,
      });
      const { status } = response;
      // A receiver that says how long to wait in its 429 body: only that number is read from it.
      const fromBody =
        status === 429 && request.retryAfterFromBody !== undefined
          ? request.retryAfterFromBody(await readBodyStart(response, MAX_RETRY_AFTER_BODY))
          : null;
      // Otherwise only the status matters; the body is dropped unread (it could echo what was sent).
      await response.body?.cancel().catch(() => undefined);
      if (response.ok) return DELIVERED;
      if (status === 429 || status >= 500) {
        const retryAfterMs =
          fromBody !== null && Number.isFinite(fromBody)
            ? Math.min(MAX_RETRY_DELAY_MS, Math.max(0, Math.ceil(fromBody)))
            : parseRetryAfter(response.headers.get('retry-after'), this.clock.wallNow());
        return { kind: 'retry', reason: httpStatusReason(status), retryAfterMs };
      }
      return {
        kind: 'rejected',
        reason: status >= 300 && status < 400 ? redirectReason(status) : httpStatusReason(status),
      };
    } catch (error) {
      if (this.signal.aborted) return STOPPED;
      const reason = controller.signal.aborted ? timeoutReason(timeoutMs) : networkErrorReason(networkErrorCode(error));
      return { kind: 'retry', reason, retryAfterMs: null };
    } finally {
      clearTimeout(timer);
      this.signal.removeEventListener('abort', stop);
    }
  }
}
