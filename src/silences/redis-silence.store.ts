import { monitorKeyBase, silencesKey } from '../cluster/monitor-keys.util.js';
import type { RedisAlertLink } from '../cluster/redis-alert-link.interface.js';
import type { AuditAlertSilence } from './audit-alert-silence.interface.js';
import { decodeHeld, decodeSilence, encodeHeld, encodeSilence } from './silence-codec.util.js';
import type { HeldAlert, HeldAlertClaim, KeptSilence, SilenceStore, SilencesRead } from './silence-store.interface.js';

/** How long a silence, and an alert it held, are kept past its end at least, should no replica be left to read them. */
const HELD_TTL_MS = 24 * 60 * 60 * 1_000;

/**
 * KEYS[1] a hash; ARGV[1] field, ARGV[2] JSON, ARGV[3] how long the hash must
 * live at least (ms). The hash outlives what it keeps by a day, and no longer.
 */
const KEEP_SCRIPT = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1`;

/**
 * KEYS[1] the hash of silences; ARGV[1] now (ms). Returns `{ live, ended }`:
 * the silences that end later, and those that have ended, removed here, so
 * that the one replica that reads them first records their end.
 */
const READ_SCRIPT = `
local all = redis.call('HGETALL', KEYS[1])
local now = tonumber(ARGV[1])
local live, ended = {}, {}
for i = 1, #all, 2 do
  local ok, silence = pcall(cjson.decode, all[i + 1])
  if ok and type(silence) == 'table' and tonumber(silence.endsAt) and tonumber(silence.endsAt) > now then
    live[#live + 1] = all[i + 1]
  else
    redis.call('HDEL', KEYS[1], all[i])
    if ok then ended[#ended + 1] = all[i + 1] end
  end
end
return {live, ended}`;

/** KEYS[1] a monitor's held alerts. */
const HELD_SCRIPT = `return redis.call('HVALS', KEYS[1])`;

/** KEYS[1] the hash of silences; ARGV[1] id. Returns the silence removed, or false. */
const REMOVE_SCRIPT = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if raw then redis.call('HDEL', KEYS[1], ARGV[1]) end
return raw`;

/** KEYS[1] the hash of silences; ARGV[1] id. Counts one event held by the silence. */
const COUNT_SCRIPT = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local silence = cjson.decode(raw)
silence.held = (tonumber(silence.held) or 0) + 1
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(silence))
return silence.held`;

/**
 * KEYS[1] the monitor's held alerts, KEYS[2] its outage records (the
 * coordinator's `<base>:outages`); ARGV[1] key, ARGV[2] version, ARGV[3] now,
 * ARGV[4] lease ms, ARGV[5] replica id, ARGV[6] outage id ('' for an event of
 * no outage). Claims the alert for a lease: a claimer killed before it has
 * delivered costs a delay, never the alert. Drops it when the cluster's
 * record says its outage has ended.
 */
const TAKE_SCRIPT = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 'gone' end
local held = cjson.decode(raw)
local now = tonumber(ARGV[3])
if held.version ~= ARGV[2] or (tonumber(held.claimUntil) or 0) > now then return 'gone' end
if ARGV[6] ~= '' then
  local record = redis.call('HGET', KEYS[2], ARGV[6])
  if record and cjson.decode(record).recovered ~= nil then
    redis.call('HDEL', KEYS[1], ARGV[1])
    return 'drop'
  end
end
held.claimUntil = now + tonumber(ARGV[4])
held.claimedBy = ARGV[5]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(held))
return 'send'`;

/** KEYS[1] the monitor's held alerts; ARGV[1] key, ARGV[2] 'version' or 'episode', ARGV[3] its value. */
const FORGET_SCRIPT = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local held = cjson.decode(raw)
if held[ARGV[2]] ~= ARGV[3] then return 0 end
return redis.call('HDEL', KEYS[1], ARGV[1])`;

/**
 * The silences of every replica of the service, in one Redis hash
 * (`<keyPrefix>:<serviceName>:silences`), and the alerts they hold, in a hash
 * per monitor beside its outage records (`<keyPrefix>:{<service>:<monitor>}:held`),
 * through the connection the cluster already has. Each call is bounded by
 * `cluster.timeoutMs` and rejects when Redis does not answer.
 */
export class RedisSilenceStore implements SilenceStore {
  private readonly key: string;
  /** The keys of each monitor: its held alerts and its outage records. */
  private readonly monitorKeys = new Map<string, readonly [string, string]>();
  /** Whether held alerts were left when last read (or never read): then they are read again. */
  private heldLeft = true;

  constructor(
    private readonly redis: RedisAlertLink,
    serviceName: string,
    monitors: readonly string[],
  ) {
    this.key = silencesKey(redis.options.keyPrefix, serviceName);
    for (const monitor of monitors) {
      const base = monitorKeyBase(redis.options.keyPrefix, serviceName, monitor);
      this.monitorKeys.set(monitor, [`${base}:held`, `${base}:outages`]);
    }
  }

  async add(silence: AuditAlertSilence, now: number): Promise<void> {
    // Past its end by a margin, so that a replica reading it late still records its end.
    const lifetimeMs = Math.max(1, silence.endsAt.getTime() - now) + HELD_TTL_MS;
    const json = JSON.stringify(encodeSilence({ ...silence, held: 0 }));
    await this.redis.eval(KEEP_SCRIPT, [this.key], [silence.id, json, String(lifetimeMs)]);
  }

  async remove(id: string): Promise<KeptSilence | null> {
    const reply = await this.redis.eval(REMOVE_SCRIPT, [this.key], [id]);
    return typeof reply === 'string' ? decodeSilence(JSON.parse(reply)) : null;
  }

  async read(now: number): Promise<SilencesRead> {
    const reply = await this.redis.eval(READ_SCRIPT, [this.key], [String(now)]);
    if (!Array.isArray(reply) || !Array.isArray(reply[0]) || !Array.isArray(reply[1])) {
      throw new Error(`unexpected reply from Redis: ${typeof reply}`);
    }
    const silences = (texts: unknown[]): KeptSilence[] =>
      texts.flatMap((text) => decodeSilence(JSON.parse(String(text))) ?? []);
    const live = silences(reply[0]).sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime());
    const ended = silences(reply[1]);
    // Idle (no silence, none held when last read), a replica reads one key, as before held alerts were kept.
    let held: HeldAlert[] = [];
    if (live.length > 0 || ended.length > 0 || this.heldLeft) {
      const replies = await Promise.all(
        [...this.monitorKeys.values()].map(([heldKey]) => this.redis.eval(HELD_SCRIPT, [heldKey], [])),
      );
      held = replies
        .flatMap((texts) => (Array.isArray(texts) ? texts : []))
        .flatMap((text) => decodeHeld(JSON.parse(String(text))) ?? []);
    }
    this.heldLeft = held.length > 0;
    return { silences: live, ended, held };
  }

  async hold(held: HeldAlert, now: number, endsAt: number): Promise<void> {
    const [heldKey] = this.keysOf(held);
    const ttl = String(Math.max(1, endsAt - now) + HELD_TTL_MS);
    await this.redis.eval(KEEP_SCRIPT, [heldKey], [held.key, JSON.stringify(encodeHeld(held)), ttl]);
    await this.redis.eval(COUNT_SCRIPT, [this.key], [held.silenceId]);
  }

  async take(held: HeldAlert, now: number): Promise<HeldAlertClaim> {
    const { event } = held;
    const outageId = 'outageId' in event && typeof event.outageId === 'string' ? event.outageId : '';
    const reply = await this.redis.eval(
      TAKE_SCRIPT,
      [...this.keysOf(held)],
      [held.key, held.version, String(now), String(this.redis.leaseMs), this.redis.options.replicaId, outageId],
    );
    if (reply !== 'send' && reply !== 'drop' && reply !== 'gone')
      throw new Error(`unexpected reply from Redis: ${typeof reply}`);
    return reply;
  }

  async forget(key: string, match: { readonly version: string } | { readonly episode: string }): Promise<void> {
    const monitor = key.slice(0, key.indexOf('\u0000'));
    const [heldKey] = this.monitorKeys.get(monitor) ?? [];
    if (heldKey === undefined) return;
    const [field, value] = 'version' in match ? ['version', match.version] : ['episode', match.episode];
    await this.redis.eval(FORGET_SCRIPT, [heldKey], [key, field, value]);
  }

  private keysOf({ event }: HeldAlert): readonly [string, string] {
    const keys = this.monitorKeys.get(event.monitor);
    if (keys === undefined) throw new Error(`no monitor named ${JSON.stringify(event.monitor)}`);
    return keys;
  }
}
