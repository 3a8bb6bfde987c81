import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { postgresErrorClassifier, prismaErrorClassifier } from '../../src/index.js';
import { flush } from '../support/manual-clock.js';
import { monitorHarness } from '../support/monitor-harness.js';
import { PostgresServer } from '../support/postgres-server.js';
import { type AuditPrismaClient, auditPrismaClient } from '../support/prisma-client.js';

/*
 * prismaErrorClassifier on the errors a real Prisma Client 7 raises through
 * the real @prisma/adapter-pg from a real PostgreSQL 15: each failure below is
 * provoked, not built, and postgresErrorClassifier must answer as
 * prismaErrorClassifier does (it used to call Prisma's P2002 an outage).
 */

const TIMEOUT_MS = 60_000;

describe('prismaErrorClassifier against Prisma Client over @prisma/adapter-pg and a real PostgreSQL', () => {
  let server: PostgresServer;
  const clients: AuditPrismaClient[] = [];

  /** A client as `role`, with `options` passed to the server at connection (`-c name=value`). */
  function client(role = 'postgres', options?: string): AuditPrismaClient {
    const url = new URL(server.connectionString);
    url.username = role;
    const prisma = auditPrismaClient({ connectionString: url.href, connectionTimeoutMillis: 2_000, options });
    clients.push(prisma);
    return prisma;
  }

  /** The error `write` rejects with, as both classifiers see it. */
  async function failure(write: Promise<unknown>): Promise<{ error: unknown; prisma: string; postgres: string }> {
    const error = await write.then(
      () => {
        throw new Error('the write succeeded');
      },
      (rejection: unknown) => rejection,
    );
    return { error, prisma: prismaErrorClassifier(error), postgres: postgresErrorClassifier(error) };
  }

  beforeAll(async () => {
    server = new PostgresServer();
    await server.start();
    const admin = new pg.Client({ connectionString: server.connectionString });
    await admin.connect();
    await admin.query(`
      CREATE TABLE audit_log (id bigserial PRIMARY KEY, actor text NOT NULL, action text NOT NULL, ref text UNIQUE);
      CREATE ROLE reader LOGIN;
      GRANT SELECT ON audit_log TO reader;
    `);
    await admin.end();
  }, TIMEOUT_MS);

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((prisma) => prisma.$disconnect().catch(() => undefined)));
    await server.start();
  }, TIMEOUT_MS);

  afterAll(async () => {
    await server?.dispose();
  }, TIMEOUT_MS);

  it('calls a unique violation of a model write (P2002) the record’s', async () => {
    const prisma = client();
    await prisma.auditLog.create({ data: { actor: 'alice', action: 'login', ref: 'dup' } });
    const seen = await failure(prisma.auditLog.create({ data: { actor: 'bob', action: 'login', ref: 'dup' } }));
    expect(seen.error).toMatchObject({
      name: 'PrismaClientKnownRequestError',
      code: 'P2002',
      meta: { driverAdapterError: { cause: { kind: 'UniqueConstraintViolation', originalCode: '23505' } } },
    });
    expect(seen).toMatchObject({ prisma: 'record', postgres: 'record' });
  });

  it('calls a NOT NULL violation of a raw insert (P2010, the adapter’s kind underneath) the record’s', async () => {
    const seen = await failure(
      client().$executeRawUnsafe('INSERT INTO audit_log (actor, action) VALUES ($1, $2)', null, 'login'),
    );
    expect(seen.error).toMatchObject({
      code: 'P2010',
      meta: { driverAdapterError: { cause: { kind: 'NullConstraintViolation', originalCode: '23502' } } },
    });
    expect(seen).toMatchObject({ prisma: 'record', postgres: 'record' });
  });

  it('calls a revoked INSERT grant (P2039 over SQLSTATE 42501) the storage’s, as postgresErrorClassifier does: it refuses every record', async () => {
    const seen = await failure(client('reader').auditLog.create({ data: { actor: 'alice', action: 'login' } }));
    expect(seen.error).toMatchObject({
      code: 'P2039',
      meta: { driverAdapterError: { cause: { kind: 'postgres', code: '42501' } } },
    });
    expect(seen).toMatchObject({ prisma: 'storage', postgres: 'storage' });
  });

  it('calls a read-only server (P2039 over SQLSTATE 25006) the storage’s, model write or raw', async () => {
    const prisma = client('postgres', '-c default_transaction_read_only=on');
    for (const write of [
      prisma.auditLog.create({ data: { actor: 'alice', action: 'login' } }),
      prisma.$executeRawUnsafe('INSERT INTO audit_log (actor, action) VALUES ($1, $2)', 'alice', 'login'),
    ]) {
      const seen = await failure(write);
      expect(seen.error).toMatchObject({
        meta: { driverAdapterError: { cause: { kind: 'postgres', code: '25006' } } },
      });
      expect(seen).toMatchObject({ prisma: 'storage', postgres: 'storage' });
    }
  });

  it('calls a query that does not fit the schema (PrismaClientValidationError) the record’s', async () => {
    const seen = await failure(client().auditLog.create({ data: { actor: 'alice' } }));
    expect(seen.error).toMatchObject({ name: 'PrismaClientValidationError' });
    expect(seen).toMatchObject({ prisma: 'record', postgres: 'record' });
  });

  it('calls a missing database (P1003) the storage’s', async () => {
    const url = new URL(server.connectionString);
    url.pathname = '/nowhere';
    const prisma = auditPrismaClient({ connectionString: url.href, connectionTimeoutMillis: 2_000 });
    clients.push(prisma);
    const seen = await failure(prisma.auditLog.create({ data: { actor: 'alice', action: 'login' } }));
    expect(seen.error).toMatchObject({ code: 'P1003' });
    expect(seen).toMatchObject({ prisma: 'storage', postgres: 'storage' });
  });

  it(
    'calls a stopped server the storage’s, whatever Prisma raises on the way down and while it is down',
    async () => {
      const prisma = client();
      await prisma.auditLog.create({ data: { actor: 'alice', action: 'login' } });
      await server.stop();
      const codes: unknown[] = [];
      for (let i = 0; i < 3; i += 1) {
        const seen = await failure(prisma.auditLog.create({ data: { actor: 'alice', action: 'login' } }));
        codes.push((seen.error as { code?: unknown }).code);
        expect(seen).toMatchObject({ prisma: 'storage', postgres: 'storage' });
      }
      // The pooled connection hears the shutdown (P2039 over 57P01), new ones are refused (P1001).
      expect(codes).toContain('P1001');
    },
    TIMEOUT_MS,
  );

  it(
    'counts Prisma’s P2002 as a lost record in the monitor, and a stopped server as an outage',
    async () => {
      const { monitor, events } = monitorHarness({ thresholdMs: 0, classify: prismaErrorClassifier });
      const prisma = client();
      const write = (ref: string) =>
        monitor.track(() => prisma.auditLog.create({ data: { actor: 'a', action: 'b', ref } }));
      await write('once');
      await expect(write('once')).rejects.toMatchObject({ code: 'P2002' });
      await flush();
      expect(monitor.getStatus()).toMatchObject({ state: 'healthy', rejectedRecords: 1 });
      expect(events.map((event) => event.type)).toEqual(['audit.records.rejected']);

      await server.stop();
      await expect(write('twice')).rejects.toThrow();
      await flush();
      expect(monitor.getStatus()).toMatchObject({ state: 'alerting', rejectedRecords: 1 });
      expect(events.map((event) => event.type)).toEqual(['audit.records.rejected', 'audit.storage.unreachable']);
      monitor.close();
    },
    TIMEOUT_MS,
  );
});
