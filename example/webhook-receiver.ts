import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timeline } from './timeline.js';

/**
 * A local HTTP endpoint standing in for an alerting system: the module's
 * built-in webhook channel POSTs every event here, and each one is printed.
 */
export class WebhookReceiver {
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  /** Listens on a free port of 127.0.0.1. */
  static async start(): Promise<WebhookReceiver> {
    const server = createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        const event = JSON.parse(body) as { type: string; outageId: string; occurrence?: number };
        const which = event.occurrence === undefined ? '' : ` (occurrence ${event.occurrence})`;
        timeline.print('webhook', `POST received: ${event.type}${which}, outage ${event.outageId.slice(0, 8)}…`);
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return new WebhookReceiver(server, `http://127.0.0.1:${port}/audit-alerts`);
  }

  /** Stops listening. */
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
