import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import type { OutageAcknowledgement, OutageAcknowledgeResult } from '../tracker/outage-acknowledgement.js';
import { ACKNOWLEDGE_SCRIPT, OUTAGE_KNOWN_SCRIPT } from './redis-acknowledgement.scripts.js';
import type { RedisAlertLink } from './redis-alert-link.interface.js';

/**
 * The acknowledgements of one monitor's outages, shared by the replicas
 * through Redis: each beside the outage's record, under its own key.
 */
export class ClusterOutageAcknowledgements {
  /**
   * @param base What the keys of the monitor begin with (`<keyPrefix>:{<service>:<monitor>}`).
   * @param recordTtlMs How long an acknowledgement is kept: as long as the outage records.
   */
  constructor(
    private readonly redis: RedisAlertLink,
    private readonly base: string,
    private readonly recordTtlMs: string,
    private readonly clock: Pick<AuditAlertClock, 'wallNow'>,
  ) {}

  /**
   * Acknowledges the cluster's open outage `outageId`; the first acknowledgement stands.
   * @throws whatever kept Redis from answering: then nothing is acknowledged.
   */
  async acknowledge(outageId: string, by: string, note: string | null): Promise<OutageAcknowledgeResult> {
    const acknowledgement: OutageAcknowledgement = { by, note, at: this.clock.wallNow() };
    const reply = await this.redis.eval(
      ACKNOWLEDGE_SCRIPT,
      [this.outagesKey, this.keyOf(outageId)],
      [outageId, JSON.stringify(acknowledgement), this.recordTtlMs],
    );
    const [result, stored, first] = Array.isArray(reply) ? reply : [];
    if ((result !== 'acknowledged' && result !== 'already') || typeof stored !== 'string') return { result: 'unknown' };
    return {
      result,
      acknowledgement: JSON.parse(stored) as OutageAcknowledgement,
      firstFailureAt: typeof first === 'number' ? first : 0,
    };
  }

  /** Whether the cluster has a record of `outageId`, open or ended lately; `false` when Redis does not answer. */
  async knows(outageId: string): Promise<boolean> {
    try {
      return (await this.redis.eval(OUTAGE_KNOWN_SCRIPT, [this.outagesKey], [outageId])) === 1;
    } catch {
      // Logged by the coordinator: what this replica saw itself is all it knows then.
      return false;
    }
  }

  private get outagesKey(): string {
    return `${this.base}:outages`;
  }

  /** The key of the acknowledgement of `outageId`, which the alert claims read (RESOLVE_AND_CLAIM_SCRIPT). */
  keyOf(outageId: string): string {
    return `${this.base}:ack:${outageId}`;
  }
}
