/**
 * The prefix of the Redis keys of one monitor of one service:
 * `<keyPrefix>:{<service>:<monitor>}`. Encoded so that a ':' or a brace in a
 * name cannot make two monitors share keys or break the hash tag, which puts
 * every key of a monitor in one slot of a Redis Cluster.
 */
export function monitorKeyBase(keyPrefix: string, serviceName: string, monitor: string): string {
  return `${keyPrefix}:{${encodeURIComponent(serviceName)}:${encodeURIComponent(monitor)}}`;
}
