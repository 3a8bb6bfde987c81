import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A request as the receiver saw it. */
export interface ReceivedRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** When the request had fully arrived (`Date.now()`); always set by the receiver. */
  readonly receivedAt?: number;
}

/** How the receiver answers one request: a status (and headers, and a body), or never. */
export type Reply =
  { readonly status: number; readonly headers?: Readonly<Record<string, string>>; readonly body?: string } | 'hang';

/**
 * A real HTTP server on 127.0.0.1 that records every request and answers with
 * the replies queued by the test, then with `fallback`.
 */
export class HttpReceiver {
  readonly requests: ReceivedRequest[] = [];
  fallback: Reply = { status: 200 };

  private readonly replies: Reply[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly hanging = new Set<ServerResponse>();

  private constructor(private readonly server: Server) {
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('request', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.requests.push({
          method: request.method ?? '',
          path: request.url ?? '',
          headers: request.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          receivedAt: Date.now(),
        });
        const reply = this.replies.shift() ?? this.fallback;
        if (reply === 'hang') {
          this.hanging.add(response);
          return;
        }
        response.writeHead(reply.status, reply.headers).end(reply.body ?? 'ok');
      });
    });
  }

  /** Starts a receiver on 127.0.0.1, on `port` or on a free one. */
  static async start(port = 0): Promise<HttpReceiver> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    return new HttpReceiver(server);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** `http://127.0.0.1:<port>` followed by `path`. */
  url(path = '/'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Queues the answers to the next requests, in order. */
  reply(...replies: Reply[]): this {
    this.replies.push(...replies);
    return this;
  }

  /** The JSON bodies received so far. */
  bodies(): unknown[] {
    return this.requests.map((request) => JSON.parse(request.body) as unknown);
  }

  /** Waits (for real, briefly) until `count` requests have arrived. */
  async waitForRequests(count: number): Promise<void> {
    await waitFor(() => this.requests.length >= count, `${count} requests (got ${this.requests.length})`);
  }

  async close(): Promise<void> {
    for (const response of this.hanging) response.destroy();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const receiver = await HttpReceiver.start();
  const { port } = receiver;
  await receiver.close();
  return port;
}

/** Polls `condition` every few milliseconds, for at most two seconds. */
export async function waitFor(condition: () => boolean, what = 'condition'): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
