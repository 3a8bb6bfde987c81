import type { RedisAlertCoordinator } from '../cluster/redis-alert.coordinator.js';
import type { AuditAlertSilence } from './audit-alert-silence.interface.js';
import type { SilenceStore } from './silence-store.interface.js';

/**
 * KEYS[1] the hash of silences; ARGV[1] id, ARGV[2] the silence as JSON,
 * ARGV[3] how long the hash must live at least (ms). The hash outlives its
 * longest silence, and no longer.
 */
const ADD_SCRIPT = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1`;

/** KEYS[1] the hash; ARGV[1] now (ms). Drops the silences that have ended and returns the others. */
const LIST_SCRIPT = `
local all = redis.call('HGETALL', KEYS[1])
local now = tonumber(ARGV[1])
local live = {}
for i = 1, #all, 2 do
  local ok, silence = pcall(cjson.decode, all[i + 1])
  if ok and type(silence) == 'table' and tonumber(silence.endsAt) and tonumber(silence.endsAt) > now then
    live[#live + 1] = all[i + 1]
  else
    redis.call('HDEL', KEYS[1], all[i])
  end
end
return live`;

/** KEYS[1] the hash; ARGV[1] id. */
const REMOVE_SCRIPT = `return redis.call('HDEL', KEYS[1], ARGV[1])`;

/** A silence as Redis keeps it: dates as milliseconds. */
interface StoredSilence {
  readonly id: string;
  readonly monitors: readonly string[] | null;
  readonly startsAt: number;
  readonly endsAt: number;
  readonly reason: string;
}

/**
 * The silences of every replica of the service, in one Redis hash
 * (`<keyPrefix>:<serviceName>:silences`), through the connection the cluster
 * already has. Each call is bounded by `cluster.timeoutMs` and rejects when
 * Redis does not answer.
 */
export class RedisSilenceStore implements SilenceStore {
  private readonly key: string;

  constructor(
    private readonly redis: RedisAlertCoordinator,
    serviceName: string,
  ) {
    this.key = `${redis.options.keyPrefix}:${encodeURIComponent(serviceName)}:silences`;
  }

  async add(silence: AuditAlertSilence): Promise<void> {
    const stored: StoredSilence = {
      ...silence,
      startsAt: silence.startsAt.getTime(),
      endsAt: silence.endsAt.getTime(),
    };
    const lifetimeMs = Math.max(1, stored.endsAt - stored.startsAt);
    await this.redis.eval(ADD_SCRIPT, [this.key], [silence.id, JSON.stringify(stored), String(lifetimeMs)]);
  }

  async remove(id: string): Promise<boolean> {
    return (await this.redis.eval(REMOVE_SCRIPT, [this.key], [id])) === 1;
  }

  async list(now: number): Promise<AuditAlertSilence[]> {
    const reply = await this.redis.eval(LIST_SCRIPT, [this.key], [String(now)]);
    if (!Array.isArray(reply)) throw new Error(`unexpected reply from Redis: ${typeof reply}`);
    return reply
      .map((text) => JSON.parse(String(text)) as StoredSilence)
      .map((stored) => ({ ...stored, startsAt: new Date(stored.startsAt), endsAt: new Date(stored.endsAt) }))
      .sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime());
  }
}
