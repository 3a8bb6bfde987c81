export {
  type AuditMongoWriteProbeOptions,
  type MongoClientLike,
  type MongoSessionLike,
  mongoWriteProbe,
} from './mongo-write.probe.js';
