import { setMaxListeners } from 'node:events';
import type { LoggerService } from '@nestjs/common';
import {
  channelGaveUp,
  channelRejected,
  channelRetrying,
  channelStopped,
  httpStatusReason,
  networkErrorReason,
  redirectReason,
  timeoutReason,
} from '../audit-alert.messages.js';
import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import { AuditAlertChannelError } from '../errors/audit-alert-channel.error.js';
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

/** `user-agent` of every request, such as `nestjs-audit-alert/0.1.0`. */
export const USER_AGENT = `${PACKAGE_NAME}/${PACKAGE_VERSION}`;

/** Longest wait between two attempts, whatever the backoff or a `Retry-After` header asks for. */
export const MAX_RETRY_DELAY_MS = 300_000;

/** One request, ready to send. */
export interface HttpRequest {
  readonly url: string;
  /** @default 'POST' */
  readonly method?: string;
  readonly headers: Headers;
  /** Absent for a request without a body, such as a `GET`. */
  readonly body?: string;
}

/** How long one attempt may take and how often to try again. */
export interface RetryPolicy {
  readonly timeoutMs: number;
  readonly retries: number;
  readonly backoffMs: number;
}

type AttemptOutcome =
  | { readonly kind: 'delivered' }
  | { readonly kind: 'retry'; readonly reason: string; readonly retryAfterMs: number | null }
  | { readonly kind: 'rejected'; readonly reason: string }
  | { readonly kind: 'stopped' };

const DELIVERED: AttemptOutcome = { kind: 'delivered' };
const STOPPED: AttemptOutcome = { kind: 'stopped' };

/**
 * Delay before retry number `retry` (1 for the first): `backoffMs` doubled for
 * each earlier retry, capped, then "equal jitter" (between half and all of it)
 * so that many instances alerting at once do not retry in step.
 * @param random Returns a number in [0, 1), like `Math.random`.
 */
export function backoffDelay(backoffMs: number, retry: number, random: () => number): number {
  const ceiling = Math.min(MAX_RETRY_DELAY_MS, backoffMs * 2 ** (retry - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

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
export class HttpDelivery {
  /** The dispatcher of every attempt, made at the first ({@link poolFreeDispatcher}). */
  private dispatcher: Promise<unknown> | null = null;

  constructor(
    private readonly clock: AuditAlertClock,
    private readonly random: () => number,
    private readonly signal: AbortSignal,
    /** Where deliveries, and the channels using them, write what they have to say. */
    readonly logger: Pick<LoggerService, 'log' | 'warn'>,
  ) {
    // Every delivery in flight listens for shutdown; an outage on several monitors and channels makes many.
    setMaxListeners(0, signal);
  }

  /**
   * Delivers `request`, retrying as `policy` allows.
   * @param label Names the channel in logs.
   * @param eventType Names what is being sent in logs.
   * @returns How many attempts it took.
   * @throws AuditAlertChannelError when the receiver refused it, the retries ran out or the application shut down.
   */
  async send(label: string, eventType: string, request: HttpRequest, policy: RetryPolicy): Promise<number> {
    let lastReason: string | null = null;
    const failure = (message: string, attempts: number): AuditAlertChannelError =>
      new AuditAlertChannelError(message, { channel: label, eventType, attempts, lastReason });
    for (let attempt = 1; ; attempt += 1) {
      if (this.signal.aborted) throw failure(channelStopped(attempt - 1), attempt - 1);
      const outcome = await this.attempt(request, policy.timeoutMs);
      switch (outcome.kind) {
        case 'delivered':
          return attempt;
        case 'rejected':
          lastReason = outcome.reason;
          throw failure(channelRejected(outcome.reason), attempt);
        case 'stopped':
          throw failure(channelStopped(attempt), attempt);
        case 'retry': {
          lastReason = outcome.reason;
          if (attempt > policy.retries) throw failure(channelGaveUp(attempt, outcome.reason), attempt);
          const delayMs = outcome.retryAfterMs ?? backoffDelay(policy.backoffMs, attempt, this.random);
          this.logger.warn(channelRetrying(label, eventType, attempt, outcome.reason, delayMs));
          if (!(await this.pause(delayMs))) throw failure(channelStopped(attempt), attempt);
        }
      }
    }
  }

  private async attempt(request: HttpRequest, timeoutMs: number): Promise<AttemptOutcome> {
    const controller = new AbortController();
    const stop = (): void => controller.abort();
    // A real timer on purpose: it bounds real network I/O, which a test clock does not drive.
    const timer = setTimeout(stop, timeoutMs).unref();
    this.signal.addEventListener('abort', stop, { once: true });
    try {
      const dispatcher = await (this.dispatcher ??= poolFreeDispatcher(this.signal));
      const response = await fetch(request.url, {
        // Node's fetch takes undici's `dispatcher`; DOM's RequestInit does not name it.
        ...(dispatcher === undefined ? {} : ({ dispatcher } as object)),
        method: request.method ?? 'POST',
        headers: request.headers,
        body: request.body,
        // Following a redirect would re-send the alert (and its headers) somewhere not configured.
        redirect: 'manual',
        signal: controller.signal,
      });
      // Only the status matters; the body is dropped unread (it could echo what was sent).
      await response.body?.cancel().catch(() => undefined);
      if (response.ok) return DELIVERED;
      const { status } = response;
      if (status === 429 || status >= 500) {
        const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), this.clock.wallNow());
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

  /** Waits `delayMs` on the module's clock; resolves `false` if the application shuts down first. */
  private pause(delayMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.signal.aborted) {
        resolve(false);
        return;
      }
      const stop = (): void => {
        this.clock.clearTimer(timer);
        resolve(false);
      };
      const timer = this.clock.setTimer(() => {
        this.signal.removeEventListener('abort', stop);
        resolve(true);
      }, delayMs);
      this.signal.addEventListener('abort', stop, { once: true });
    });
  }
}
