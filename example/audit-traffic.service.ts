import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { AuditService } from './audit.service.js';
import { timeline } from './timeline.js';

/** What the traffic has done so far. */
export interface AuditTrafficTally {
  readonly attempted: number;
  readonly stored: number;
  readonly failed: number;
}

/**
 * Stands in for the application's own activity: records one audit event at a
 * steady pace, one write at a time, and prints how each write went.
 */
@Injectable()
export class AuditTraffic implements OnModuleDestroy {
  private attempted = 0;
  private stored = 0;
  private failed = 0;
  private lastError: string | null = null;
  private readonly stopping = new AbortController();
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly audit: AuditService) {}

  /** Starts writing one record every `intervalMs`. */
  start(intervalMs: number): void {
    this.running = this.run(intervalMs);
  }

  /** Stops writing and waits for the write in flight, if any. */
  async stop(): Promise<AuditTrafficTally> {
    this.stopping.abort();
    await this.running;
    return { attempted: this.attempted, stored: this.stored, failed: this.failed };
  }

  /** Stops before the connections close when the application shuts down. */
  async onModuleDestroy(): Promise<void> {
    await this.stop();
  }

  private async run(intervalMs: number): Promise<void> {
    while (!this.stopping.signal.aborted) {
      const n = ++this.attempted;
      try {
        await this.audit.record({ actor: 'demo-user', action: `write #${n}` });
        this.stored += 1;
        this.lastError = null;
        timeline.print('write', `#${n} stored`);
      } catch (error) {
        this.failed += 1;
        const message = error instanceof Error ? error.message : String(error);
        timeline.print('write', `#${n} failed${message === this.lastError ? ' (same error)' : `: ${message}`}`);
        this.lastError = message;
      }
      await sleep(intervalMs, undefined, { signal: this.stopping.signal }).catch(() => undefined);
    }
  }
}
