/**
 * A name the application gives (a service, a monitor) as it stands in a Redis
 * key: encoded so that a ':' or a brace in it cannot make two names share keys
 * or break a hash tag.
 */
function keyPart(name: string): string {
  return encodeURIComponent(name);
}

/**
 * The prefix of the Redis keys of one monitor of one service:
 * `<keyPrefix>:{<service>:<monitor>}`. The hash tag puts every key of a
 * monitor in one slot of a Redis Cluster.
 */
export function monitorKeyBase(keyPrefix: string, serviceName: string, monitor: string): string {
  return `${keyPrefix}:{${keyPart(serviceName)}:${keyPart(monitor)}}`;
}

/**
 * The prefix of the Redis keys the replicas of one service share, whatever the
 * monitor: `<keyPrefix>:{<service>}`, one slot of a Redis Cluster for the fleet.
 */
export function serviceKeyBase(keyPrefix: string, serviceName: string): string {
  return `${keyPrefix}:{${keyPart(serviceName)}}`;
}

/**
 * The hash of one monitor's gap records: `<keyPrefix>:<service>:gap-records:<monitor>`.
 * Not under {@link monitorKeyBase} and without a hash tag, as the hashes already
 * in users' Redis are named; each script of the store touches this key alone,
 * so it needs no slot shared with other keys.
 */
export function gapRecordsKey(keyPrefix: string, serviceName: string, monitor: string): string {
  return `${keyPrefix}:${keyPart(serviceName)}:gap-records:${keyPart(monitor)}`;
}

/**
 * The key of one service's silences: `<keyPrefix>:<service>:silences`, as the
 * silences already in users' Redis are named (no hash tag: its scripts touch it alone).
 */
export function silencesKey(keyPrefix: string, serviceName: string): string {
  return `${keyPrefix}:${keyPart(serviceName)}:silences`;
}
