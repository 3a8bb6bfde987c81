/*
 * The Lua scripts the replicas coordinate with. Each runs atomically in Redis,
 * so one round trip settles one transition whatever the other replicas do.
 *
 * Keys of one monitor of one service, under `<base>` = `<keyPrefix>:<service>:<monitor>`:
 *   <base>:outage        string: id of the cluster's open outage
 *   <base>:outage:<id>   hash: lastAlertAt, occurrence, alerted (replica), recovered (replica)
 *
 * The cooldown window is measured on the replicas' wall clocks (the monitor's
 * injectable clock, so that it agrees with each replica's own cooldown), not
 * on Redis' clock: `lastAlertAt` is compared and set in one step.
 *
 * Outage records are read by id, so the scripts suit a standalone Redis (or
 * one behind Sentinel), not Redis Cluster.
 */

/**
 * Finds the outage id this replica should use, and optionally claims the alert
 * of the current cooldown window for it: granted when the last alert of the
 * outage is at least a cooldown away, either way, so that a clock far off can
 * hold the others back for a window at most.
 *
 * The replica joins the cluster's open outage unless it has already sent an
 * alert under another id that is not over (its page stays the one it opened);
 * when none is open, its own id becomes the cluster's, or a spare one when its
 * own was announced as recovered by another replica.
 *
 * KEYS[1] `<base>:outage`.
 * ARGV: [1] `<base>:outage:` prefix, [2] adopted id, [3] spare id, [4] '1' may join,
 * [5] open-outage TTL ms, [6] '1' claim, [7] cooldown ms, [8] replica id,
 * [9] the replica's own occurrence count, [10] record TTL ms, [11] wall-clock now ms.
 * Returns `{ id, occurrence }`, occurrence 0 when nothing was claimed.
 */
export const RESOLVE_AND_CLAIM_SCRIPT = `
local prefix = ARGV[1]
local function over(id) return redis.call('HEXISTS', prefix .. id, 'recovered') == 1 end
local adopted = ARGV[2]
local adoptedOver = over(adopted)
local mayJoin = ARGV[4] == '1' or adoptedOver
local current = redis.call('GET', KEYS[1])
if current and over(current) then current = false end
local id
if current and (mayJoin or current == adopted) then
  id = current
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
elseif current then
  id = adopted
else
  if adoptedOver then id = ARGV[3] else id = adopted end
  redis.call('SET', KEYS[1], id, 'PX', ARGV[5])
end
if ARGV[6] ~= '1' then return {id, 0} end
local record = prefix .. id
local last = tonumber(redis.call('HGET', record, 'lastAlertAt'))
if last and math.abs(tonumber(ARGV[11]) - last) < tonumber(ARGV[7]) then return {id, 0} end
local occurrence = math.max(tonumber(redis.call('HGET', record, 'occurrence') or '0') + 1, tonumber(ARGV[9]))
-- Never moves back: a claim that reaches Redis late (its replica has decided alone since) changes no window.
redis.call('HSET', record, 'lastAlertAt', math.max(last or 0, tonumber(ARGV[11])), 'occurrence', occurrence, 'alerted', ARGV[8])
redis.call('PEXPIRE', record, ARGV[10])
return {id, occurrence}
`;

/**
 * Claims the recovery announcement of an outage: granted once, and only when
 * the cluster alerted for it (or this replica did, on its own). Ends the
 * cluster's open outage when it is this one.
 *
 * KEYS[1] `<base>:outage`, KEYS[2] `<base>:outage:<id>`.
 * ARGV: [1] id, [2] '1' this replica sent an alert for it, [3] replica id, [4] record TTL ms.
 * Returns 1 when this replica announces the recovery, else 0.
 */
export const RECOVER_SCRIPT = `
if ARGV[2] ~= '1' and redis.call('HEXISTS', KEYS[2], 'alerted') == 0 then return 0 end
if redis.call('HSETNX', KEYS[2], 'recovered', ARGV[3]) == 0 then return 0 end
redis.call('PEXPIRE', KEYS[2], ARGV[4])
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`;
