import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { AuditAlertLogger } from '../../src/audit-alert.logger.js';
import { CaptureLogger } from '../support/capture-logger.js';

const PRINTABLE_LINE = /^[^\p{Cc}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069]*$/u;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

describe('AuditAlertLogger', () => {
  afterEach(() => Logger.overrideLogger(new Logger()));

  it('writes every line as one line of printable text, at every level', () => {
    const capture = new CaptureLogger();
    Logger.overrideLogger(capture);
    const logger = new AuditAlertLogger();
    const hostile =
      'Hook X failed: bad\r\n[Nest] 1  - 01/01/2026, 12:00:00 AM     LOG \u001b[32mforged\u001b[0m\u2028\u0085';
    for (const level of ['log', 'warn', 'error', 'debug', 'verbose', 'fatal'] as const) logger[level](hostile);
    expect(capture.lines).toHaveLength(6);
    for (const line of capture.lines) {
      expect(line.context).toBe('AuditAlert');
      expect(line.message).toBe('Hook X failed: bad [Nest] 1  - 01/01/2026, 12:00:00 AM     LOG forged ');
      expect(line.message).toMatch(PRINTABLE_LINE);
    }
  });

  it('is the only way this module writes logs', () => {
    const root = join(process.cwd(), 'src');
    const direct = sources(root).filter(
      (file) =>
        !file.endsWith('audit-alert.logger.ts') &&
        /new Logger\(|Logger\.(log|warn|error)\(/.test(readFileSync(file, 'utf8')),
    );
    // Write `new AuditAlertLogger()` in these files instead of a Nest Logger.
    expect(direct).toEqual([]);
  });
});
