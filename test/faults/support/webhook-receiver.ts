import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Longest real wait for deliveries a test expects; only reached when they never come. */
const DEFAULT_WAIT_MS = 5_000;

/**
 * A real HTTP server on 127.0.0.1 standing in for the endpoint of a webhook
 * channel: it answers 200 to every POST and keeps the JSON bodies in order of arrival.
 */
export class WebhookReceiver {
  /** The JSON bodies received so far, parsed. */
  readonly events: unknown[] = [];

  private waiters: { count: number; resolve: () => void }[] = [];

  private constructor(private readonly server: Server) {
    server.on('request', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.events.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
        response.writeHead(200).end();
        this.wakeWaiters();
      });
    });
  }

  /** Starts a receiver on a free port of 127.0.0.1. */
  static async start(): Promise<WebhookReceiver> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    return new WebhookReceiver(server);
  }

  /** URL to give the webhook channel. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/audit-alerts`;
  }

  /**
   * Resolves once `count` events have arrived in all; rejects, saying how many
   * came, if they have not after `timeoutMs` of real time.
   */
  waitForEvents(count: number, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    if (this.events.length >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter.resolve !== done);
        reject(
          new Error(`Webhook receiver got ${this.events.length} events within ${timeoutMs} ms; expected ${count}`),
        );
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push({ count, resolve: done });
    });
  }

  /** Stops listening and drops open connections. */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private wakeWaiters(): void {
    const ready = this.waiters.filter((waiter) => this.events.length >= waiter.count);
    this.waiters = this.waiters.filter((waiter) => this.events.length < waiter.count);
    for (const waiter of ready) waiter.resolve();
  }
}
