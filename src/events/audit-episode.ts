/**
 * An episode: what the events sharing one `outageId` (or a test's `testId`)
 * are about, from the one that opens it to the one that closes it, if any.
 * The one name, in code, for what receivers call an incident, the silences a
 * family of held alerts and the tracker a run of rejected records:
 * - `outage`: the storage failing (`audit.storage.unreachable`, `.degraded`), until `audit.storage.recovered`,
 *   and who answered it (`audit.alert.acknowledged`);
 * - `capacity`: usage past `warnAt` (`audit.storage.capacity`), until back at the `normal` level;
 * - `rejected`: a run of records the storage refuses while it answers (`audit.records.rejected`);
 * - `spool`: the spool unable to keep records (`audit.spool.unwritable`);
 * - `replay`: one drain of the spool into the storage (`audit.spool.replayed`);
 * - `quarantine`: spooled records set aside, or found missing, by the replay (`audit.spool.quarantined`);
 * - `ledger`: a break found in the evidence ledger at start (`audit.ledger.broken`);
 * - `test`: one test alert (`audit.alert.test`).
 */
export type AuditEpisodeKind =
  'outage' | 'capacity' | 'rejected' | 'spool' | 'replay' | 'quarantine' | 'ledger' | 'test';

/**
 * What an event does to its episode:
 * - `opens`: opens it or, when it is open, repeats into it (or escalates it);
 * - `closes`: ends it;
 * - `once`: is the whole episode, opened and ended by itself (nothing stays open);
 * - `answers`: a response to the open episode (an acknowledgement): it neither opens, repeats nor ends it.
 */
export type AuditEpisodeStep = 'opens' | 'closes' | 'once' | 'answers';

/**
 * The kinds of episode whose incident a process can leave open in a receiver
 * and the next process resolve by monitor, without knowing the episode.
 */
export type LeftOpenEpisodeKind = Extract<AuditEpisodeKind, 'outage' | 'capacity'>;
