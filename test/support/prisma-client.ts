import { PrismaPg } from '@prisma/adapter-pg';
import { getPrismaClient } from '@prisma/client/runtime/client';

/** The schema the client below is built for: one model on the suites' `audit_log` table. */
const SCHEMA = `datasource db {
  provider = "postgresql"
}

model AuditLog {
  id     BigInt  @id @default(autoincrement())
  actor  String
  action String
  ref    String? @unique

  @@map("audit_log")
}
`;

// Untyped modules of @prisma/client, loaded as a generated client loads them.
const QUERY_COMPILER = '@prisma/client/runtime/query_compiler_fast_bg.postgresql.mjs';
const QUERY_COMPILER_WASM = '@prisma/client/runtime/query_compiler_fast_bg.postgresql.wasm-base64.mjs';

/** Node's WebAssembly global, which the `node` types of this repository's TypeScript setup leave out. */
declare const WebAssembly: { Module: new (bytes: Uint8Array) => object };

/** The part of the client a suite calls; a generated client would type it. */
export interface AuditPrismaClient {
  auditLog: {
    create(args: { data: { actor?: string; action?: string; ref?: string } }): Promise<unknown>;
  };
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
  $disconnect(): Promise<void>;
}

/**
 * A real Prisma Client (7.x: its runtime, its query compiler, shipped as
 * WebAssembly in @prisma/client) over the real `@prisma/adapter-pg`, built
 * without `prisma generate`: the CLI is not a dependency of this repository,
 * and what generate writes for the schema above (its `internal/class.ts`) is
 * this configuration. The parameterization graph is empty (three zero counts:
 * no input nodes, no output nodes, no roots), so queries are compiled without
 * plan caching; what they send and the errors they raise are unchanged.
 *
 * `pool` goes to `pg`'s Pool (`connectionString`, `options`, timeouts…).
 */
export function auditPrismaClient(pool: ConstructorParameters<typeof PrismaPg>[0]): AuditPrismaClient {
  const PrismaClient = getPrismaClient({
    previewFeatures: [],
    clientVersion: '7',
    engineVersion: '0000000000000000000000000000000000000000',
    activeProvider: 'postgresql',
    inlineSchema: SCHEMA,
    runtimeDataModel: {
      models: {
        AuditLog: {
          dbName: 'audit_log',
          schema: null,
          fields: [
            { name: 'id', kind: 'scalar', type: 'BigInt' },
            { name: 'actor', kind: 'scalar', type: 'String' },
            { name: 'action', kind: 'scalar', type: 'String' },
            { name: 'ref', kind: 'scalar', type: 'String' },
          ],
        },
      },
      enums: {},
      types: {},
    },
    parameterizationSchema: { strings: [], graph: 'AAAA' },
    compilerWasm: {
      importName: './query_compiler_fast_bg.js',
      getRuntime: () => import(QUERY_COMPILER),
      getQueryCompilerWasmModule: async () => {
        const { wasm } = (await import(QUERY_COMPILER_WASM)) as { wasm: string };
        return new WebAssembly.Module(Buffer.from(wasm, 'base64'));
      },
    },
  } as unknown as Parameters<typeof getPrismaClient>[0]);
  return new PrismaClient({ adapter: new PrismaPg(pool) } as never) as unknown as AuditPrismaClient;
}
