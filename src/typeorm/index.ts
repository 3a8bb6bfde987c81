export type { AuditWriteProbeOptions } from '../probes/write-probe.options.js';
export { type TypeOrmDataSourceLike, type TypeOrmQueryRunnerLike, typeOrmWriteProbe } from './typeorm-write.probe.js';
