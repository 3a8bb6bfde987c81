export type { AuditWriteProbeOptions } from '../probes/write-probe.options.js';
export { type PgPoolClientLike, type PgPoolLike, pgPoolProbe } from './pg-pool.probe.js';
