import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GENESIS } from '../../src/common/hash-chain.util.js';
import { AuditLedger } from '../../src/ledger/audit-ledger.writer.js';
import { exportEvidence } from '../../src/ledger/evidence-export.js';
import { spoolLineHash } from '../../src/spool/spool-chain.js';
import { OUTAGE_ID, sampleLedger } from '../ledger/fixtures/sample-ledger.js';
import { writeLedgerDirectory } from '../support/ledger-files.js';
import { ManualClock } from '../support/manual-clock.js';
import { csvRows } from '../support/rfc4180.js';

/*
 * The command line as an operator runs it: the built bin (dist/cli/main.js,
 * what package.json's `bin` names) in its own Node process, against ledger and
 * spool directories on disk. Needs dist/: run `npm run build` first.
 */

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(repoRoot, 'dist/cli/main.js');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
    });
  });
}

let root: string;
let ledger: string;
let files: string[];

beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first.`);
  root = await mkdtemp(join(tmpdir(), 'audit-cli-'));
  ledger = join(root, 'ledger');
  files = await writeLedgerDirectory(ledger, sampleLedger());
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A copy of the sample ledger whose first file's lines `tamper` changes. */
async function tampered(name: string, tamper: (lines: string[]) => string): Promise<string> {
  const directory = join(root, name);
  await writeLedgerDirectory(directory, sampleLedger());
  const path = join(directory, files[0]);
  await writeFile(path, tamper((await readFile(path, 'utf8')).split('\n').slice(0, -1)));
  return directory;
}

describe('the bin of the published package', () => {
  it('is linked by npm on install and runs through its shebang, without the peer dependencies', async () => {
    const project = join(root, 'consumer');
    await mkdir(project);
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    const npm = (args: string[], cwd: string): Promise<string> =>
      new Promise((resolve, reject) => {
        execFile('npm', args, { cwd, timeout: 120_000 }, (error, stdout, stderr) =>
          error === null ? resolve(stdout) : reject(new Error(`npm ${args.join(' ')}: ${stderr}`)),
        );
      });
    const [packed] = JSON.parse(
      await npm(['pack', '--json', '--ignore-scripts', '--pack-destination', project], repoRoot),
    ) as { filename: string; files: { path: string; mode: number }[] }[];
    expect(packed.files.find((file) => file.path === 'dist/cli/main.js')?.mode).toBe(0o755);
    // Without its peers (--legacy-peer-deps), as the command line needs none of them, and with no registry.
    await npm(['install', '--offline', '--legacy-peer-deps', '--no-audit', '--no-fund', packed.filename], project);
    const run = await new Promise<Run>((resolve) => {
      execFile(
        join(project, 'node_modules/.bin/nestjs-audit-alert'),
        ['evidence', 'verify', '--dir', ledger],
        (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }),
      );
    });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain(`ok: ${sampleLedger().length} entries`);
  }, 180_000);
});

describe('nestjs-audit-alert --help', () => {
  it('lists the commands and the exit codes', async () => {
    const run = await cli(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: nestjs-audit-alert <command> \[flags\]/);
    for (const command of ['evidence export', 'evidence verify', 'spool verify'])
      expect(run.stdout).toContain(`  ${command}`);
    expect(run.stdout).toContain('2  the command line is wrong');
  });

  it.each([
    [
      ['evidence', 'export', '--help'],
      ['--dir <directory>', '--from <iso-date>', '--to <iso-date>', '--format csv|jsonl'],
    ],
    [
      ['evidence', 'verify', '-h'],
      ['--dir <directory>', '-h, --help'],
    ],
    [
      ['spool', 'verify', '--help'],
      ['--dir <directory>', '--key-env <variable>', '--ledger <directory>', '--monitor <name>'],
    ],
  ])('%p shows the flags', async (args, flags) => {
    const run = await cli(args);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Usage: nestjs-audit-alert ${args[0]} ${args[1]} --dir <directory>`);
    for (const flag of flags) expect(run.stdout).toContain(`  ${flag}`);
    expect(run.stdout).toContain('Exit codes:');
  });

  it('prints the version of the package with --version', async () => {
    const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    expect(await cli(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('shows the commands of a group, and the usage on stderr with exit code 2 when no command is given', async () => {
    expect(await cli(['evidence', '--help'])).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('evidence verify'),
    });
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Commands:');
  });
});

describe('bad command lines', () => {
  it.each([
    [
      ['evidence', 'explode'],
      /unknown command "evidence explode"; the commands are: evidence export, evidence verify, spool verify\./,
    ],
    [['audit'], /unknown command "audit"/],
    [['evidence', 'export', '--format', 'csv'], /evidence export: --dir <directory> is required\./],
    [['evidence', 'export', '--dir', '.'], /evidence export: --format csv\|jsonl is required\./],
    [
      ['evidence', 'export', '--dir', '.', '--format', 'xml'],
      /--format "xml" is not allowed; use one of: csv, jsonl\./,
    ],
    [['evidence', 'export', '--dir', '--format', 'csv'], /--dir needs a value: --dir <directory>\./],
    [
      ['evidence', 'export', '--dir', '.', '--format', 'csv', '--form', '2026-12-01'],
      /unknown flag --form; the flags are: --dir, --from, --to, --format, --help\./,
    ],
    [
      ['evidence', 'export', '--dir', '.', '--format', 'csv', '--from', '2026-02-30'],
      /--from "2026-02-30" is not an ISO 8601 date; use a UTC day such as 2026-12-01/,
    ],
    [
      ['evidence', 'export', '--dir', '.', '--format', 'csv', '--from', '2026-12-01T08:00'],
      /--from "2026-12-01T08:00" is not an ISO 8601 date.*with its offset/,
    ],
    [
      ['evidence', 'export', '--dir', '.', '--format', 'csv', '--from', '2026-12-02', '--to', '2026-12-01'],
      /--to 2026-12-01 is before --from 2026-12-02/,
    ],
    [
      ['evidence', 'verify', '--dir', '/nonexistent/ledger'],
      /evidence verify: --dir "\/nonexistent\/ledger": no such directory\./,
    ],
    [['evidence', 'verify', '--dir', '.', '--dir', '.'], /--dir is given twice/],
    [
      ['evidence', 'verify', '--dir', '.', 'extra'],
      /evidence verify: unexpected argument "extra"; the flags are: --dir, --help\./,
    ],
    [
      ['spool', 'verify', '--dir', '.', '--key-env', 'AUDIT_CLI_TEST_UNSET'],
      /--key-env AUDIT_CLI_TEST_UNSET: the environment variable AUDIT_CLI_TEST_UNSET is not set\./,
    ],
  ])('%p exits 2 naming the flag and what is allowed', async (args, message) => {
    const run = await cli(args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toContain('--help` for the usage');
  });

  it('exits 3 when --dir holds no ledger', async () => {
    const empty = join(root, 'empty');
    await mkdir(empty);
    for (const command of ['export', 'verify']) {
      const run = await cli([
        'evidence',
        command,
        '--dir',
        empty,
        ...(command === 'export' ? ['--format', 'csv'] : []),
      ]);
      expect(run.code).toBe(3);
      expect(run.stderr).toContain(`no ledger line in "${empty}"`);
    }
  });
});

describe('evidence export', () => {
  it('writes the CSV of the ledger to stdout, as exportEvidence() makes it from the lines', async () => {
    const run = await cli(['evidence', 'export', '--dir', ledger, '--format', 'csv']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toBe(exportEvidence(sampleLedger(), { format: 'csv' }));
    expect(csvRows(run.stdout)).toHaveLength(3);
  });

  it('writes the lines of a period as JSON Lines, exactly as the files hold them', async () => {
    const run = await cli([
      'evidence',
      'export',
      '--dir',
      ledger,
      '--format=jsonl',
      '--from',
      '2026-12-01',
      '--to',
      '2026-12-01',
    ]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    // A day alone is the whole UTC day: --to 2026-12-01 ends at its last millisecond.
    expect(run.stdout).toBe(await readFile(join(ledger, 'ledger-2026-12-01.jsonl'), 'utf8'));
  });

  it('takes a period with times and offsets', async () => {
    const run = await cli([
      'evidence',
      'export',
      '--dir',
      ledger,
      '--format',
      'csv',
      '--from',
      '2026-12-01T10:20:00+01:00',
      '--to',
      '2026-12-01T09:21:00Z',
    ]);
    expect(run.code).toBe(0);
    expect(csvRows(run.stdout).map((row) => row.outage_id)).toEqual([OUTAGE_ID]);
  });

  it('leaves out a line that is not a ledger line, and says which on stderr', async () => {
    const directory = await tampered(
      'garbled',
      (lines) => [...lines.slice(0, 4), '{"seq": 5, garbled', ...lines.slice(5)].join('\n') + '\n',
    );
    const run = await cli(['evidence', 'export', '--dir', directory, '--format', 'jsonl']);
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')).toHaveLength(sampleLedger().length);
    expect(run.stderr).toContain(`left out 1 line(s) that are not ledger lines: ${files[0]} line 5.`);
  });
});

describe('evidence verify', () => {
  it('exits 0 on an intact ledger, and says how many entries it checked', async () => {
    const run = await cli(['evidence', 'verify', '--dir', ledger]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain(`ok: ${sampleLedger().length} entries`);
  });

  const FIRST_FILE = 'ledger-2026-12-01.jsonl';
  it.each([
    [
      'an edited line',
      (lines: string[]) =>
        lines.map((line, i) => (i === 14 ? line.replace('alice@example.com', 'mallory@example.com') : line)),
      15,
    ],
    ['a deleted line', (lines: string[]) => lines.filter((_, i) => i !== 14), 15],
    ['two lines swapped', (lines: string[]) => [...lines.slice(0, 14), lines[15], lines[14], ...lines.slice(16)], 15],
    ['a line cut short', (lines: string[]) => lines.map((line, i) => (i === 14 ? line.slice(0, 40) : line)), 15],
  ])('exits 1 on %s, naming the file and the line', async (name, tamper, line) => {
    expect(files[0]).toBe(FIRST_FILE);
    const directory = await tampered(name.replaceAll(' ', '-'), (lines) => `${tamper(lines).join('\n')}\n`);
    const run = await cli(['evidence', 'verify', '--dir', directory]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(new RegExp(`^break: ${FIRST_FILE.replaceAll('.', '\\.')} line ${line}: .+\\n$`));
  });

  it('exits 1 on a ledger whose last line was cut off mid-write', async () => {
    const directory = await tampered('truncated-tail', (lines) => `${lines.join('\n')}\n${lines[0].slice(0, 30)}`);
    const run = await cli(['evidence', 'verify', '--dir', directory]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^break: ${FIRST_FILE.replaceAll('.', '\\.')} line \\d+: .+`));
  });
});

describe('spool verify', () => {
  /** A monitor's spool as the spool writes it: a segment of chained lines, and head.json naming the last. */
  async function spool(name: string, key: string | null = null): Promise<{ directory: string; segment: string }> {
    const directory = join(root, name, 'default');
    await mkdir(directory, { recursive: true });
    let prev = GENESIS;
    const lines = [1, 2, 3].map((seq) => {
      const entry = {
        seq,
        id: `r-${seq}`,
        at: `2026-12-01T09:1${seq}:00.000Z`,
        record: { actor: 'u-7', action: 'refund' },
      };
      const hash = spoolLineHash(entry, prev, key === null ? null : Buffer.from(key));
      const line = JSON.stringify({ ...entry, prev, hash });
      prev = hash;
      return line;
    });
    const segment = join(directory, 'segment-0000000000000001.jsonl');
    await writeFile(segment, `${lines.join('\n')}\n`);
    await writeFile(
      join(directory, 'head.json'),
      JSON.stringify({ seq: 3, hash: prev, ...(key === null ? {} : { keyed: true }) }),
    );
    return { directory, segment };
  }

  it('exits 0 on an intact spool, and 1 with the problem on an edited one', async () => {
    const { directory, segment } = await spool('spool-ok');
    const ok = await cli(['spool', 'verify', '--dir', directory]);
    expect(ok).toMatchObject({ code: 0, stdout: 'ok: 3 records, intact and chained, up to sequence 3.\n' });
    await writeFile(segment, (await readFile(segment, 'utf8')).replace('"refund"', '"view"'));
    const broken = await cli(['spool', 'verify', '--dir', directory]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toBe('break: segment-0000000000000001.jsonl line 1: its content does not match its hash.\n');
  });

  it('checks a keyed spool with the key from the variable --key-env names', async () => {
    const key = 'k'.repeat(32);
    const { directory } = await spool('spool-keyed', key);
    expect((await cli(['spool', 'verify', '--dir', directory])).code).toBe(1);
    const run = await cli(['spool', 'verify', '--dir', directory, '--key-env', 'AUDIT_CLI_TEST_KEY'], {
      AUDIT_CLI_TEST_KEY: key,
    });
    expect(run).toMatchObject({ code: 0, stderr: '' });
  });

  describe('--ledger', () => {
    /** A spool of three records, and a ledger (the real writer's) that recorded its head at record 3. */
    async function anchored(name: string): Promise<{ directory: string; segment: string; ledgerDir: string }> {
      const { directory, segment } = await spool(name);
      const ledgerDir = join(root, name, 'ledger');
      const [, , third] = (await readFile(segment, 'utf8')).split('\n');
      const writer = new AuditLedger({ directory: ledgerDir, retentionDays: 400 }, 'billing-api', new ManualClock(), 0);
      await writer.open();
      const headHash = (JSON.parse(third!) as { hash: string }).hash;
      writer.append({ kind: 'spool-head', monitor: 'default', headSeq: 3, headHash, replayedSeq: 0 });
      await writer.close(1_000);
      return { directory, segment, ledgerDir };
    }

    it("exits 0 on a genuine spool, and 1 on records cut off with head.json rewritten, which head.json can't show", async () => {
      const { directory, segment, ledgerDir } = await anchored('spool-anchored');
      expect(await cli(['spool', 'verify', '--dir', directory, '--ledger', ledgerDir])).toEqual({
        code: 0,
        stdout:
          'ok: 3 records, intact and chained, up to sequence 3.\n' +
          'Consistent with the ledger (ledger-2026-01-01.jsonl line 1): head at record 3, replay at most to record 0.\n',
        stderr: '',
      });

      const lines = (await readFile(segment, 'utf8')).split('\n');
      await writeFile(segment, `${lines.slice(0, 2).join('\n')}\n`);
      const { hash } = JSON.parse(lines[1]!) as { hash: string };
      await writeFile(join(directory, 'head.json'), JSON.stringify({ seq: 2, hash }));
      expect((await cli(['spool', 'verify', '--dir', directory])).code).toBe(0);
      expect(await cli(['spool', 'verify', '--dir', directory, '--ledger', ledgerDir])).toEqual({
        code: 1,
        stdout: '',
        stderr:
          "break: the ledger (ledger-2026-01-01.jsonl line 1) records the spool's head at record 3, " +
          'but the spool ends at record 2: record 3 was removed.\n',
      });
    });

    it('says when the ledger holds no record of the monitor, and takes its name from --monitor', async () => {
      const { directory, ledgerDir } = await anchored('spool-other');
      const run = await cli(['spool', 'verify', '--dir', directory, '--ledger', ledgerDir, '--monitor', 'payments']);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout).toContain(`The ledger holds no record of monitor "payments"'s spool`);
    });

    it('exits 2 on a --ledger that is no directory, or --monitor without --ledger; 3 on a directory with no ledger', async () => {
      const { directory } = await spool('spool-flags');
      const missing = await cli(['spool', 'verify', '--dir', directory, '--ledger', join(root, 'nowhere')]);
      expect(missing).toMatchObject({ code: 2, stderr: expect.stringContaining('--ledger "') });
      expect(missing.stderr).toContain('no such directory');
      const alone = await cli(['spool', 'verify', '--dir', directory, '--monitor', 'default']);
      expect(alone).toMatchObject({ code: 2, stderr: expect.stringContaining('--monitor') });
      const empty = await cli(['spool', 'verify', '--dir', directory, '--ledger', directory]);
      expect(empty.code).toBe(3);
      expect(empty.stderr).toContain('no evidence ledger in');
    });
  });

  it("exits 3 on a directory that holds no spool, pointing at a monitor's", async () => {
    const { directory } = await spool('spool-parent');
    const parent = join(directory, '..');
    const run = await cli(['spool', 'verify', '--dir', parent]);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain(`pass a monitor's directory, such as ${join(parent, 'default')}`);
  });
});
