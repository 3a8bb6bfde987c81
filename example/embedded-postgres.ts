import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/**
 * A real Postgres (PGlite, in memory) served over TCP on 127.0.0.1 at a free
 * port, which the demo can take down and bring back while the data survives.
 */
export class EmbeddedPostgres {
  private constructor(
    private readonly db: PGlite,
    private readonly server: PGLiteSocketServer,
  ) {}

  /** Starts the database and its server. */
  static async start(): Promise<EmbeddedPostgres> {
    const db = await PGlite.create();
    // Several connections, so a client reconnecting before the old socket is gone is not turned away.
    const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 4 });
    await server.start();
    return new EmbeddedPostgres(db, server);
  }

  /** Connection string of the server; the port is fixed at the first start. */
  get url(): string {
    return `postgres://postgres@${this.server.getServerConn()}/postgres`;
  }

  /** Stops listening and drops every open connection: clients now get ECONNREFUSED. */
  async takeDown(): Promise<void> {
    await this.server.stop();
  }

  /** Listens again on the same port. */
  async bringBack(): Promise<void> {
    await this.server.start();
  }

  /** Stops the server, if running, and closes the database. */
  async close(): Promise<void> {
    await this.server.stop();
    await this.db.close();
  }
}
