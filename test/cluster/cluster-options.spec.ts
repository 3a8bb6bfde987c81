import { describe, expect, it, jest } from '@jest/globals';
import { Test } from '@nestjs/testing';
import type { AuditAlertModuleOptions } from '../../src/index.js';

// ioredis is installed here; this stands for an application that has not installed it.
jest.unstable_mockModule('ioredis', () => {
  throw new Error("Cannot find package 'ioredis' imported from nestjs-audit-alert");
});
const { AuditAlertConfigError, AuditAlertModule, AuditStorageMonitor } = await import('../../src/index.js');
const { resolveClusterOptions } = await import('../../src/cluster/cluster.options.js');

/** A port nothing listens on: connections are refused at once. */
const CLOSED_URL = 'redis://127.0.0.1:1';

async function bootError(options: AuditAlertModuleOptions): Promise<unknown> {
  try {
    const moduleRef = await Test.createTestingModule({ imports: [AuditAlertModule.forRoot(options)] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    await app.close();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('the cluster option', () => {
  it.each<[string, unknown, string, string]>([
    ['a missing redis', {}, 'cluster.redis', 'redis:// or rediss:// URL'],
    ['a number', { redis: 6379 }, 'cluster.redis', 'ioredis connection options, or an ioredis client'],
    ['an http URL', { redis: 'http://127.0.0.1:6379' }, 'cluster.redis', 'redis:// or rediss:// URL'],
    ['a host without a scheme', { redis: '127.0.0.1:6379' }, 'cluster.redis', 'redis:// or rediss:// URL'],
    ['an array', { redis: ['redis://127.0.0.1:6379'] }, 'cluster.redis', 'redis:// or rediss:// URL'],
    ['a zero timeout', { redis: CLOSED_URL, timeoutMs: 0 }, 'cluster.timeoutMs', 'from 1'],
    ['a timeout as a string', { redis: CLOSED_URL, timeoutMs: '1s' }, 'cluster.timeoutMs', 'finite number'],
    ['an empty key prefix', { redis: CLOSED_URL, keyPrefix: '' }, 'cluster.keyPrefix', 'non-empty string'],
    ['a key prefix with a brace', { redis: CLOSED_URL, keyPrefix: 'a{b}' }, 'cluster.keyPrefix', 'without "{" or "}"'],
    ['a blank replica id', { redis: CLOSED_URL, replicaId: ' ' }, 'cluster.replicaId', 'non-empty string'],
    ['a lease under a second', { redis: CLOSED_URL, timeoutMs: 100, leaseMs: 999 }, 'cluster.leaseMs', 'from 1000'],
    [
      'a lease shorter than three Redis round trips',
      { redis: CLOSED_URL, timeoutMs: 1_000, leaseMs: 2_500 },
      'cluster.leaseMs',
      'from 3000 to 2147483647 (at least 1000, and at least 3 × cluster.timeoutMs of 1000)',
    ],
    ['a lease as a string', { redis: CLOSED_URL, leaseMs: '5s' }, 'cluster.leaseMs', 'finite number'],
    ['an unknown key', { redis: CLOSED_URL, url: CLOSED_URL }, 'cluster.url', 'redis, keyPrefix, replicaId, timeoutMs'],
    ['an http url in options', { redis: { url: 'http://127.0.0.1' } }, 'cluster.redis.url', 'redis:// or rediss://'],
    ['a port out of range', { redis: { host: 'redis', port: 70_000 } }, 'cluster.redis.port', 'from 1 to 65535'],
    ['a negative db', { redis: { host: 'redis', db: -1 } }, 'cluster.redis.db', 'an integer from 0'],
    ['tls: true', { redis: { url: 'rediss://redis', tls: true } }, 'cluster.redis.tls', "Node's TLS options"],
    ['sentinels as a string', { redis: { sentinels: 's:26379', name: 'm' } }, 'cluster.redis.sentinels', 'non-empty'],
    ['no sentinel', { redis: { sentinels: [], name: 'm' } }, 'cluster.redis.sentinels', 'array of { host, port }'],
    [
      'a sentinel without a host',
      { redis: { sentinels: [{ port: 26379 }], name: 'm' } },
      'cluster.redis.sentinels[0].host',
      'non-empty string',
    ],
    [
      'a sentinel port as a string',
      { redis: { sentinels: [{ host: 's', port: '26379' }], name: 'm' } },
      'cluster.redis.sentinels[0].port',
      'from 1 to 65535',
    ],
    [
      'sentinels without a name',
      { redis: { sentinels: [{ host: 's' }] } },
      'cluster.redis.name',
      'name of the master the Sentinels monitor',
    ],
    [
      'a name without sentinels',
      { redis: { host: 'redis', name: 'm' } },
      'cluster.redis.name',
      'nothing without cluster.redis.sentinels',
    ],
    [
      'a host beside sentinels',
      { redis: { sentinels: [{ host: 's' }], name: 'm', host: 'redis' } },
      'cluster.redis.host',
      'nothing with cluster.redis.sentinels',
    ],
    [
      'a replica role',
      { redis: { sentinels: [{ host: 's' }], name: 'm', role: 'slave' } },
      'cluster.redis.role',
      "'master'",
    ],
  ])('stops the bootstrap on %s', async (_, cluster, option, allowed) => {
    const error = await bootError({ cluster } as AuditAlertModuleOptions);
    expect(error).toBeInstanceOf(AuditAlertConfigError);
    expect((error as InstanceType<typeof AuditAlertConfigError>).option).toBe(option);
    expect((error as Error).message).toContain(allowed);
  });

  it('holds a claim 5 s unless told otherwise, or three round trips of a long timeoutMs', () => {
    expect(resolveClusterOptions({ redis: CLOSED_URL })?.leaseMs).toBe(5_000);
    expect(resolveClusterOptions({ redis: CLOSED_URL, leaseMs: 1_500 })?.leaseMs).toBe(1_500);
    expect(resolveClusterOptions({ redis: CLOSED_URL, timeoutMs: 2_000 })?.leaseMs).toBe(6_000);
  });

  it('stops the bootstrap when it is not an object', async () => {
    const error = await bootError({ cluster: 'redis://127.0.0.1:6379' } as unknown as AuditAlertModuleOptions);
    expect((error as InstanceType<typeof AuditAlertConfigError>).option).toBe('cluster');
  });

  it('never shows a URL in an error, since it may hold a password', async () => {
    const error = await bootError({ cluster: { redis: 'https://admin:s3cret@redis.internal:6379' } });
    expect((error as Error).message).toContain('a string of 40 characters (content not shown, it may be a secret)');
    expect((error as Error).message).not.toContain('s3cret');
  });

  it('never shows a password or a URL given with the other connection options', async () => {
    for (const redis of [
      { url: 'rediss://:s3cret@redis:6379', sentinels: [{ host: 's' }], name: 'm' } as Record<string, unknown>,
      { host: 'redis', password: 12_345_678 },
    ]) {
      const error = await bootError({ cluster: { redis } });
      expect(error).toBeInstanceOf(AuditAlertConfigError);
      expect((error as Error).message).toContain('content not shown');
      expect((error as Error).message).not.toMatch(/s3cret|12345678/);
    }
  });

  it('names the missing ioredis package when the module has to create the client', async () => {
    const error = await bootError({ cluster: { redis: 'redis://:s3cret@127.0.0.1:6379' } });
    expect(error).toBeInstanceOf(AuditAlertConfigError);
    expect((error as InstanceType<typeof AuditAlertConfigError>).option).toBe('cluster.redis');
    expect((error as Error).message).toMatch(/need the ioredis package.*npm install ioredis/);
    expect((error as Error).message).not.toContain('s3cret');
  });

  it('needs no ioredis for a client given by the application, and boots without Redis', async () => {
    const client = {
      status: 'ready',
      eval: async () => {
        throw new Error('connect ECONNREFUSED');
      },
    };
    const moduleRef = await Test.createTestingModule({
      imports: [AuditAlertModule.forRoot({ thresholdMs: 0, cluster: { redis: client } })],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    app.get(AuditStorageMonitor).recordFailure('down');
    await app.close();
  });
});
