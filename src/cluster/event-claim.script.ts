/*
 * The Lua script that lets one replica of the cluster send each event that is
 * not an outage's alert or recovery (those have their own scripts in
 * `redis-alert.scripts.ts`): a degraded warning, a capacity warning, records
 * rejected, the spool's events. One round trip decides and claims.
 *
 * Key, under `<base>` = `<keyPrefix>:{<service>:<monitor>}` (the hash tag of
 * the outage keys, so that one script may touch both):
 *   <base>:episodes  hash: event type -> JSON record of the cluster's episode of that type:
 *                    id (the cluster's id for it: the first claimer's), state (capacity's level),
 *                    last (when its last event was claimed, wall ms), occ (events claimed),
 *                    closed (its closing event was claimed)
 *
 * Times are the replicas' wall clocks, as in the outage scripts, never Redis'.
 */

/**
 * Claims an event for the cluster: granted when its episode has nothing
 * claimed yet, changes state (a capacity level), repeats a cooldown or more
 * after the last claim (either way: a clock far off holds the others back for
 * a window at most), or, for a closing event, closes an episode still open.
 * An event that is the whole of its episode (`once`: a replay, a quarantine)
 * is granted once per window, under the claimer's own id. An episode with
 * nothing claimed for two windows is over, as every episode whose events
 * repeat repeats at least once a window while it lasts; the next claim opens
 * another, under the claimer's id.
 *
 * A degraded warning's episode is an outage: it is over once that outage's
 * recovery is announced (the outage's record, KEYS[2], kept by the outage
 * scripts, says so), and the id returned is the one every replica gives the
 * outage from there on. The record is only read: marked alerted, it would let
 * the end of any replica's brief outage (a success between failures) announce
 * the recovery of the cluster's degraded one.
 *
 * KEYS[1] `<base>:episodes`, KEYS[2] `<base>:outages`.
 * ARGV: [1] event type, [2] the replica's own episode id, [3] state ('' when none),
 * [4] step ('opens' | 'closes' | 'once'), [5] wall-clock now ms, [6] window ms,
 * [7] record TTL ms, [8] '1' the episode is an outage.
 * Returns `{ granted, id, occurrence }`: granted 1 or 0; id and occurrence the
 * cluster's ('' and 0 when refused with no episode open).
 */
export const CLAIM_EVENT_SCRIPT = `
local now = tonumber(ARGV[5])
local window = tonumber(ARGV[6])
local outageEpisode = ARGV[8] == '1'
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local record = nil
if raw then record = cjson.decode(raw) end
if record ~= nil and outageEpisode then
  local outage = redis.call('HGET', KEYS[2], record.id)
  if not outage or cjson.decode(outage).recovered ~= nil then record = nil end
end
local step = ARGV[4]
local granted = 0
if step == 'closes' then
  if record ~= nil and not record.closed and record.state ~= ARGV[3] then granted = 1 end
elseif step == 'once' then
  if record == nil or math.abs(now - record.last) >= window then
    record = { id = ARGV[2], occ = 0 }
    granted = 1
  end
else
  if record ~= nil and (record.closed or math.abs(now - record.last) >= 2 * window) then
    record = nil
  end
  if record == nil then
    record = { id = ARGV[2], occ = 0 }
    granted = 1
  elseif record.state ~= ARGV[3] or math.abs(now - record.last) >= window then
    granted = 1
  end
end
if granted == 0 then
  if record == nil then return {0, '', 0} end
  return {0, record.id, record.occ}
end
record.occ = record.occ + 1
record.last = math.max(record.last or 0, now)
record.state = ARGV[3]
if step == 'closes' then record.closed = true end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(record))
redis.call('PEXPIRE', KEYS[1], ARGV[7])
return {1, record.id, record.occ}
`;
