/*
 * The Lua scripts the replicas coordinate with. Each runs atomically in Redis,
 * so one round trip settles one transition whatever the other replicas do.
 *
 * Keys of one monitor of one service, under `<base>` = `<keyPrefix>:{<service>:<monitor>}`:
 *   <base>:outage    string: id of the cluster's open outage
 *   <base>:outages   hash: outage id -> JSON record of that outage:
 *                    first (first failure, wall ms), failures (most any replica reported),
 *                    occ (occurrence of the last alert claimed), last (when it was claimed),
 *                    by/until (who holds the claim, and until when its lease holds unless renewed),
 *                    confirmed (the occurrence whose delivery was confirmed), alerted (replica),
 *                    recovered (replica that announced the end), at (last write)
 *   <base>:pruned    string, set while the records need no pruning (see RECOVER_SCRIPT)
 *
 * The `{…}` hash tag puts every key of a monitor in one slot of a Redis
 * Cluster, and every key a script touches is passed in KEYS, so the scripts
 * run on a standalone Redis, behind Sentinel, or on a sharded Redis Cluster.
 *
 * Times are the replicas' wall clocks (the monitor's injectable clock, so that
 * the cluster's window agrees with each replica's own cooldown), never Redis'.
 */

/** Shared by every script: reading and writing one outage record. */
const RECORDS = `
local function load(id)
  local raw = redis.call('HGET', KEYS[2], id)
  if raw then return cjson.decode(raw) end
  return nil
end
local function save(id, record, now)
  record.at = now
  redis.call('HSET', KEYS[2], id, cjson.encode(record))
end
`;

/**
 * Finds the outage id this replica should use, and optionally claims the alert
 * of the current cooldown window for it.
 *
 * The claim is granted when the last alert of the outage is at least a
 * cooldown away, either way (so a clock far off holds the others back for a
 * window at most), or when the replica that claimed the current window has
 * not confirmed its delivery by the end of its lease: then this replica sends
 * the same alert (same occurrence) in its place. A claim is a lease, not a
 * verdict: a claimer killed before it delivers costs a delay, never the alert.
 *
 * The replica joins the cluster's open outage unless it has already sent an
 * alert under another id that is not over (its page stays the one it opened);
 * when none is open, its own id becomes the cluster's, or a spare one when its
 * own was announced as recovered by another replica.
 *
 * A claim for an outage acknowledged on any replica whose unreachable alert
 * the cluster has sent already is held, in the same step: an acknowledgement
 * that lands while a replica decides cannot let one more repeat through (an
 * escalation from degraded is still sent).
 *
 * KEYS[1] `<base>:outage`, KEYS[2] `<base>:outages`, KEYS[3] `<base>:ack:<adopted id>`.
 * ARGV: [1] adopted id, [2] spare id, [3] '1' may join, [4] open-outage TTL ms,
 * [5] '0' no claim, '1' claim, '2' claim only a lapsed unconfirmed claim, [6] cooldown ms, [7] replica id, [8] the replica's own occurrence count,
 * [9] record TTL ms, [10] wall-clock now ms, [11] the replica's first failure (wall ms),
 * [12] its failures so far, [13] lease ms.
 * Returns `{ id, occurrence, leaseUntil, held }`: occurrence 0 when nothing was claimed, and
 * then leaseUntil > 0 when another replica holds an unconfirmed claim until then;
 * held 1 when the claim was a repeat of an acknowledged outage (nothing else is done).
 */
export const RESOLVE_AND_CLAIM_SCRIPT = `${RECORDS}
local now = tonumber(ARGV[10])
local adopted = ARGV[1]
local adoptedRecord = load(adopted)
if ARGV[5] ~= '0' and adoptedRecord ~= nil and (tonumber(adoptedRecord.occ) or 0) > 0
  and redis.call('EXISTS', KEYS[3]) == 1 then
  return {adopted, 0, 0, 1}
end
local adoptedOver = adoptedRecord ~= nil and adoptedRecord.recovered ~= nil
local mayJoin = ARGV[3] == '1' or adoptedOver
local current = redis.call('GET', KEYS[1])
if current then
  local record = load(current)
  if record ~= nil and record.recovered ~= nil then current = false end
end
local id
if current and (mayJoin or current == adopted) then
  id = current
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
elseif current then
  id = adopted
else
  if adoptedOver then id = ARGV[2] else id = adopted end
  redis.call('SET', KEYS[1], id, 'PX', ARGV[4])
end
local record = load(id) or { first = tonumber(ARGV[11]), failures = 0, occ = 0 }
record.first = math.min(record.first or tonumber(ARGV[11]), tonumber(ARGV[11]))
record.failures = math.max(record.failures or 0, tonumber(ARGV[12]))
local occurrence, leaseUntil = 0, 0
if ARGV[5] ~= '0' then
  local last = record.last
  local unconfirmed = (record.occ or 0) > 0 and record.confirmed ~= record.occ
  if ARGV[5] == '1' and (last == nil or math.abs(now - last) >= tonumber(ARGV[6])) then
    occurrence = math.max((record.occ or 0) + 1, tonumber(ARGV[8]))
    -- Never moves back: a claim that reaches Redis late (its replica has decided alone since) changes no window.
    record.last = math.max(last or 0, now)
  elseif unconfirmed and (record['until'] or 0) <= now then
    occurrence = record.occ
  elseif unconfirmed then
    leaseUntil = record['until']
  end
  if occurrence > 0 then
    record.occ = occurrence
    record.alerted = ARGV[7]
    record.by = ARGV[7]
    record['until'] = now + tonumber(ARGV[13])
  end
end
save(id, record, now)
redis.call('PEXPIRE', KEYS[2], ARGV[9])
return {id, occurrence, leaseUntil, 0}
`;

/**
 * Confirms that the alert of an occurrence was delivered (or given up on), so
 * no other replica sends it again once the claim's lease runs out. Only the
 * replica that holds the claim confirms it: a claimer that hung past its
 * lease and was taken over leaves the confirmation to the replica that sends
 * in its place, whose delivery a recovery must still wait for.
 *
 * KEYS[1] `<base>:outage`, KEYS[2] `<base>:outages`.
 * ARGV: [1] id, [2] occurrence, [3] wall-clock now ms, [4] replica id.
 * Returns 1 when confirmed, 0 when the record is gone, has moved to a later occurrence or another replica holds the claim.
 */
export const CONFIRM_SCRIPT = `${RECORDS}
local record = load(ARGV[1])
if record == nil or record.occ ~= tonumber(ARGV[2]) or record.by ~= ARGV[4] then return 0 end
record.confirmed = record.occ
save(ARGV[1], record, tonumber(ARGV[3]))
return 1
`;

/**
 * Renews the lease of a claim while its delivery runs: the claim then holds
 * `leaseMs` from now. Granted only to the replica that holds the claim of that
 * occurrence and has not confirmed it; a lapsed lease that no other replica
 * has taken over yet is renewed too (its claimer was only slow).
 *
 * KEYS[1] `<base>:outage`, KEYS[2] `<base>:outages`.
 * ARGV: [1] id, [2] occurrence, [3] wall-clock now ms, [4] replica id, [5] lease ms.
 * Returns 1 when renewed, 0 when the claim is no longer this replica's (taken over, confirmed, or gone).
 */
export const RENEW_SCRIPT = `${RECORDS}
local record = load(ARGV[1])
if record == nil or record.occ ~= tonumber(ARGV[2]) or record.by ~= ARGV[4] or record.confirmed == record.occ then
  return 0
end
record['until'] = tonumber(ARGV[3]) + tonumber(ARGV[5])
save(ARGV[1], record, tonumber(ARGV[3]))
return 1
`;

/**
 * Ends an outage: claims its recovery announcement (granted once, and only
 * when the cluster alerted for it, or this replica did on its own) and closes
 * the cluster's open outage when it is this one. A success proves the storage
 * works again, so an alerted open outage under another id (one this replica
 * never joined, or one left behind by a replica that died) ends too, and its
 * announcement is claimed in the same step.
 *
 * Records outlive their outage by the record TTL, whatever traffic keeps the
 * hash alive: the stale ones are pruned, at most once per prune interval
 * (KEYS[3] marks the interval), so that a recovery costs the same however
 * many outages the hash remembers.
 *
 * KEYS[1] `<base>:outage`, KEYS[2] `<base>:outages`, KEYS[3] `<base>:pruned`.
 * ARGV: [1] id ('' for none of this replica's own), [2] '1' this replica sent an alert for it,
 * [3] replica id, [4] record TTL ms, [5] wall-clock now ms, [6] prune interval ms.
 * Returns `{ announce, first, failures, otherId, otherFirst, otherFailures, until, otherUntil }`:
 * announce 1 when this replica announces the recovery of its outage; otherId '' unless it also
 * announces that one; until (otherUntil) > 0 when that outage's last alert is claimed by another
 * replica and not yet confirmed, until when the claim holds: its recovery must not overtake it downstream.
 */
export const RECOVER_SCRIPT = `${RECORDS}
local now = tonumber(ARGV[5])
local function finish(id, sent)
  local record = load(id)
  local known = record ~= nil
  record = record or {}
  local announce = 0
  if (sent or record.alerted ~= nil) and record.recovered == nil then
    record.recovered = ARGV[3]
    announce = 1
  end
  if redis.call('GET', KEYS[1]) == id then redis.call('DEL', KEYS[1]) end
  if known or announce == 1 then save(id, record, now) end
  local pending = 0
  -- A replica's own alert needs no wait: its channels send one outage's events in order.
  if (record.occ or 0) > 0 and record.confirmed ~= record.occ and (record['until'] or 0) > now and record.by ~= ARGV[3] then
    pending = record['until']
  end
  return announce, record.first or 0, record.failures or 0, pending
end
local announce, first, failures, pending = 0, 0, 0, 0
if ARGV[1] ~= '' then announce, first, failures, pending = finish(ARGV[1], ARGV[2] == '1') end
local otherId, otherFirst, otherFailures, otherPending = '', 0, 0, 0
local current = redis.call('GET', KEYS[1])
if current then
  local other
  other, otherFirst, otherFailures, otherPending = finish(current, false)
  if other == 1 then otherId = current end
end
if redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[6]) then
  local all = redis.call('HGETALL', KEYS[2])
  for i = 1, #all, 2 do
    local at = cjson.decode(all[i + 1]).at or 0
    if now - at > tonumber(ARGV[4]) then redis.call('HDEL', KEYS[2], all[i]) end
  end
end
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
return {announce, first, failures, otherId, otherFirst, otherFailures, pending, otherPending}
`;

/**
 * Whether the last alert of an outage is settled: confirmed by its claimer,
 * or its claim's lease has run out (the claimer died, or gave up).
 *
 * KEYS[1] `<base>:outage`, KEYS[2] `<base>:outages`.
 * ARGV: [1] id, [2] wall-clock now ms.
 * Returns 0 when settled (or the record is gone), else when the claim's lease ends.
 */
export const ALERT_SETTLED_SCRIPT = `${RECORDS}
local record = load(ARGV[1])
if record == nil or (record.occ or 0) == 0 or record.confirmed == record.occ then return 0 end
local leaseEnd = record['until'] or 0
if leaseEnd <= tonumber(ARGV[2]) then return 0 end
return leaseEnd
`;

/**
 * Reads the cluster's open outage when it was alerted and its end not yet
 * announced: what a replica that starts, or reaches Redis again, must resolve
 * on its first success.
 *
 * KEYS[1] `<base>:outage`, KEYS[2] `<base>:outages`.
 * Returns `{ id, first, failures }`, or an empty array when there is none.
 */
export const OPEN_OUTAGE_SCRIPT = `${RECORDS}
local id = redis.call('GET', KEYS[1])
if not id then return {} end
local record = load(id)
if record == nil or record.alerted == nil or record.recovered ~= nil then return {} end
return {id, record.first or 0, record.failures or 0}
`;
