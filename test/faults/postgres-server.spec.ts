import { describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresServer } from '../support/postgres-server.js';

describe('PostgresServer', () => {
  it('names the install command when the server binaries are missing', async () => {
    const emptyBinDir = await mkdtemp(join(tmpdir(), 'audit-alert-no-pg-'));
    try {
      expect(() => new PostgresServer({ binDir: emptyBinDir })).toThrow('apt-get install -y postgresql');
    } finally {
      await rm(emptyBinDir, { recursive: true, force: true });
    }
  });
});
