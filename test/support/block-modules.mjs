/**
 * Preloaded with `node --import`: the packages named in BLOCKED_MODULES
 * (comma-separated) fail to resolve, exactly as when they are not installed.
 */
import { register } from 'node:module';

const blocked = (process.env.BLOCKED_MODULES ?? '').split(',').filter(Boolean);
register('./block-modules.hooks.mjs', import.meta.url, { data: { blocked } });
