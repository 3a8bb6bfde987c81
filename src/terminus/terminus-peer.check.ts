import { assertRequirablePeer } from '../common/commonjs-peer.check.js';

// Imported first by the entry point, so that in the CommonJS build it runs before `@nestjs/terminus` is required.
assertRequirablePeer('@nestjs/terminus', '@nestjs/terminus@^11');
