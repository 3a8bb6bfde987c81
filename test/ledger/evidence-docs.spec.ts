import { describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { exportEvidence } from '../../src/ledger/evidence-export.js';
import { sampleLedger } from './fixtures/sample-ledger.js';

describe('docs/evidence.md', () => {
  it('shows the CSV that exportEvidence() makes from the sample ledger, not a hand-typed one', async () => {
    const page = await readFile(new URL('../../docs/evidence.md', import.meta.url), 'utf8');
    const sample = /```csv\n([\s\S]*?)```/.exec(page)?.[1];
    expect(sample).toBe(exportEvidence(sampleLedger(), { format: 'csv' }).replaceAll('\r\n', '\n'));
  });
});
