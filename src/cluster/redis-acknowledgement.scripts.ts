/*
 * The Lua scripts that share acknowledgements between the replicas, beside
 * those of redis-alert.scripts.ts. An acknowledgement has a key of its own,
 * `<base>:ack:<outage id>` (a JSON string: by, note, at), in the same hash
 * slot as the monitor's outage records (`<base>:outages`), and lives as long
 * as those records do.
 */

/**
 * Acknowledges an outage the cluster has open; the first acknowledgement stands.
 * KEYS[1] `<base>:outages`, KEYS[2] `<base>:ack:<id>`.
 * ARGV: [1] outage id, [2] the acknowledgement (JSON), [3] its TTL ms.
 * Returns `{ 'unknown' }` for an outage the cluster has no open record of, else
 * `{ 'acknowledged' | 'already', acknowledgement JSON, first failure (wall ms) }`.
 */
export const ACKNOWLEDGE_SCRIPT = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return { 'unknown' } end
local record = cjson.decode(raw)
if record.recovered ~= nil then return { 'unknown' } end
local first = math.floor(tonumber(record.first) or 0)
local existing = redis.call('GET', KEYS[2])
if existing then return { 'already', existing, first } end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return { 'acknowledged', ARGV[2], first }
`;

/**
 * Whether the cluster has a record of an outage, open or ended lately.
 * KEYS[1] `<base>:outages`. ARGV: [1] outage id. Returns 1 or 0.
 */
export const OUTAGE_KNOWN_SCRIPT = `return redis.call('HEXISTS', KEYS[1], ARGV[1])`;
