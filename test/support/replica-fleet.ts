import { createServer, type Server, type Socket, connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  AUDIT_ALERT_CLOCK,
  AuditAlertModule,
  AuditStorageMonitor,
  type AuditAlertClusterOptions,
  type AuditAlertModuleOptions,
} from '../../src/index.js';
import { HttpReceiver } from '../channels/support/http-receiver.js';
import { CaptureLogger } from './capture-logger.js';
import { ManualClock } from './manual-clock.js';

/**
 * A real storage for the replicas to write their audit records to: a TCP
 * server on 127.0.0.1 that answers `OK` to each record. Stopped, it refuses
 * connections (ECONNREFUSED), as a database that went down; started again, on
 * the same port, it accepts writes again.
 */
export class StorageStandIn {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private boundPort = 0;

  get port(): number {
    return this.boundPort;
  }

  /** Listens (again, on the same port after the first time). */
  async start(): Promise<void> {
    if (this.server !== null) return;
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      socket.on('data', () => socket.end('OK\n'));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.boundPort, '127.0.0.1', resolve);
    });
    this.boundPort = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Goes down: open connections are cut, new ones refused. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server === null) return;
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }

  /** Writes one record; rejects as the storage's driver would. */
  write(record: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = connect(this.boundPort, '127.0.0.1');
      socket.setTimeout(2_000, () => socket.destroy(new Error(`write ${record}: timed out`)));
      socket.once('error', reject);
      socket.once('connect', () => socket.write(`${record}\n`));
      socket.once('data', (reply) => {
        socket.destroy();
        if (reply.toString().startsWith('OK')) resolve();
        else reject(new Error(`write ${record}: ${reply.toString().trim()}`));
      });
    });
  }
}

/** An event as the webhook receiver got it. */
export interface ReceivedAlert {
  readonly type: string;
  readonly outageId: string;
  readonly occurrence?: number;
}

export interface FleetReplica {
  readonly id: string;
  readonly app: INestApplication;
  readonly clock: ManualClock;
  readonly monitor: AuditStorageMonitor;
}

export const UNREACHABLE = 'audit.storage.unreachable';
export const RECOVERED = 'audit.storage.recovered';

/**
 * Replicas of one service, each a Nest application with its own ManualClock
 * (advanced together, as real clocks run), writing to one {@link StorageStandIn}
 * through `track()` and alerting one real webhook receiver; how they reach
 * Redis is the case's `cluster` option.
 */
export class ReplicaFleet {
  // Nest's Logger is process-wide: every replica writes to this one.
  readonly logger = new CaptureLogger();
  replicas: FleetReplica[] = [];
  private written = 0;

  private constructor(
    readonly storage: StorageStandIn,
    readonly receiver: HttpReceiver,
    private readonly options: AuditAlertModuleOptions,
  ) {}

  /** The storage (up) and the receiver; `options` apply to every replica. */
  static async create(options: AuditAlertModuleOptions): Promise<ReplicaFleet> {
    const storage = new StorageStandIn();
    await storage.start();
    return new ReplicaFleet(storage, await HttpReceiver.start(), options);
  }

  /** Starts `count` replicas, replica `i` with the `cluster` option `cluster(i)` (awaited: a client may be made ready first). */
  async start(
    count: number,
    cluster: (index: number) => AuditAlertClusterOptions | Promise<AuditAlertClusterOptions>,
  ): Promise<FleetReplica[]> {
    const started = await Promise.all(
      Array.from({ length: count }, async (_, index) => {
        const id = `replica-${index}`;
        const clock = new ManualClock();
        const clusterOptions = await cluster(index);
        const moduleRef = await Test.createTestingModule({
          imports: [
            AuditAlertModule.forRoot({
              ...this.options,
              channels: [{ type: 'webhook', url: this.receiver.url('/alerts'), retries: 0 }],
              cluster: { replicaId: id, ...clusterOptions },
            }),
          ],
        })
          .overrideProvider(AUDIT_ALERT_CLOCK)
          .useValue(clock)
          .compile();
        const app = moduleRef.createNestApplication({ logger: this.logger });
        await app.init();
        return { id, app, clock, monitor: app.get(AuditStorageMonitor) };
      }),
    );
    this.replicas.push(...started);
    return started;
  }

  /** Every replica writes one audit record through `track()`; settles when all writes have. */
  async writeAll(): Promise<void> {
    await Promise.allSettled(
      this.replicas.map((replica) => replica.monitor.track(() => this.storage.write(`record-${++this.written}`))),
    );
  }

  advanceAll(ms: number): void {
    for (const replica of this.replicas) replica.clock.advance(ms);
  }

  /** The events of `type` the receiver got, in order. */
  received(type?: string): ReceivedAlert[] {
    const events = this.receiver.bodies() as ReceivedAlert[];
    return type === undefined ? events : events.filter((event) => event.type === type);
  }

  /** Decisions of the cluster on `type` so far: sent to the receiver, or left to another replica. */
  decisions(type: string): number {
    const left = this.logger.of('debug').filter((line) => line.includes(`did not send ${type}`));
    return this.received(type).length + left.length;
  }

  /** Whether replica `id` reaches Redis: it never said it could not, or said since that it can again. */
  reachesRedis(id: string): boolean {
    const lines = this.logger.lines.filter((l) => l.context === 'AuditAlert');
    let reaches = true;
    for (const line of lines) {
      if (line.message.startsWith(`Replica "${id}" cannot coordinate alerts through Redis`)) reaches = false;
      if (line.message.startsWith(`Replica "${id}" reaches Redis again`)) reaches = true;
    }
    return reaches;
  }

  /** Waits, in short real steps (Redis and the receiver answer in real time), until `condition` holds. */
  async until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}; log:\n${this.logger.text()}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Closes the replicas; the storage and the receiver stay for the next case. */
  async stopReplicas(): Promise<void> {
    await Promise.all(this.replicas.splice(0).map((replica) => replica.app.close()));
    this.receiver.requests.length = 0;
    this.logger.lines.length = 0;
    await this.storage.start();
  }

  async dispose(): Promise<void> {
    await this.stopReplicas();
    await this.storage.stop();
    await this.receiver.close();
  }
}
