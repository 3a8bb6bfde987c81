import { gapRecordsKey } from '../cluster/monitor-keys.util.js';
import type { RedisAlertCoordinator } from '../cluster/redis-alert.coordinator.js';
import { type GapRecordStore, isPendingGapRecord, type PendingGapRecord } from './gap-record-store.interface.js';

/** KEYS[1] the hash. */
const LOAD_SCRIPT = `return redis.call('HVALS', KEYS[1])`;
/** KEYS[1] the hash; ARGV[1] the outage id, ARGV[2] the gap as JSON. */
const PUT_SCRIPT = `return redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])`;
/** KEYS[1] the hash; ARGV[1] the outage id. */
const REMOVE_SCRIPT = `return redis.call('HDEL', KEYS[1], ARGV[1])`;

/**
 * The gap records of one monitor under `cluster`, in one small Redis hash of
 * the fleet (`<keyPrefix>:<serviceName>:gap-records:<monitor>`, a field per
 * outage), through the connection the cluster already has. Each call is
 * bounded by `cluster.timeoutMs` and rejects when Redis does not answer.
 */
export class RedisGapRecordStore implements GapRecordStore {
  readonly where: string;

  constructor(
    private readonly redis: RedisAlertCoordinator,
    serviceName: string,
    monitor: string,
  ) {
    this.where = gapRecordsKey(redis.options.keyPrefix, serviceName, monitor);
  }

  async load(): Promise<PendingGapRecord[]> {
    const values = (await this.redis.eval(LOAD_SCRIPT, [this.where], [])) as unknown[];
    return values.flatMap((value) => {
      try {
        const gap: unknown = JSON.parse(String(value));
        return isPendingGapRecord(gap) ? [gap] : [];
      } catch {
        return [];
      }
    });
  }

  async put(gap: PendingGapRecord): Promise<void> {
    await this.redis.eval(PUT_SCRIPT, [this.where], [gap.outageId, JSON.stringify(gap)]);
  }

  async remove(outageId: string): Promise<void> {
    await this.redis.eval(REMOVE_SCRIPT, [this.where], [outageId]);
  }
}
