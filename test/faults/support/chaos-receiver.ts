import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * How a {@link ChaosReceiver} answers each POST: `ok` (200), `error` (500),
 * `throttle` (429 with `Retry-After: 1`), `reset` (destroys the socket) or
 * `hang` (never answers).
 */
export type ChaosBehaviour = 'ok' | 'error' | 'throttle' | 'reset' | 'hang';

/**
 * A real HTTP server on 127.0.0.1 that misbehaves in one fixed way, counting
 * the requests it gets and keeping the JSON bodies of those it accepts.
 */
export class ChaosReceiver {
  /** Bodies of the requests answered 200, parsed, in order of arrival. */
  readonly bodies: unknown[] = [];
  /** Every request received, answered or not. */
  requests = 0;

  private constructor(
    private readonly server: Server,
    readonly behaviour: ChaosBehaviour,
  ) {
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.requests += 1;
        this.answer(Buffer.concat(chunks).toString('utf8'), request, response);
      });
    });
  }

  /** Starts a receiver behaving as `behaviour` on a free port of 127.0.0.1. */
  static async start(behaviour: ChaosBehaviour): Promise<ChaosReceiver> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    return new ChaosReceiver(server, behaviour);
  }

  /** URL to give the webhook channel. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/audit-alerts`;
  }

  /** Stops listening and drops open connections, hung ones included. */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private answer(body: string, request: IncomingMessage, response: ServerResponse): void {
    switch (this.behaviour) {
      case 'ok':
        this.bodies.push(JSON.parse(body) as unknown);
        response.writeHead(200).end();
        return;
      case 'error':
        response.writeHead(500).end();
        return;
      case 'throttle':
        response.writeHead(429, { 'retry-after': '1' }).end();
        return;
      case 'reset':
        request.socket.destroy();
        return;
      case 'hang':
        // Left unanswered: the client's timeout closes the connection.
        return;
    }
  }
}
