// The command lines of the process entries, run as npm runs them: `--help` prints the usage and
// exits 0, an option or argument the command does not take exits 2 with the usage on stderr, and
// neither starts anything (no data directory is created, no migration runs, no port is bound).
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';
import { cases } from '../support/cases.ts';

const run = promisify(execFile);
const root = mkdtempSync(join(tmpdir(), 'coinworks-command-lines-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Longest one command may take to start and exit on a busy 2-core machine. */
const COMMAND_TIMEOUT_MS = 30_000;

/** Each entry, and how its usage starts. */
const USAGES = {
  'src/main.ts': 'usage: npm start\n',
  'src/cli/migrate.ts': 'usage: npm run db:migrate\n',
  'src/cli/import-interests.ts': 'usage: npm run interests:import -- FILE.json\n',
} as const;
type Script = keyof typeof USAGES;
const SCRIPTS = Object.keys(USAGES) as Script[];

async function runCommand(script: string, args: readonly string[]) {
  const dataDir = join(root, `${script.replaceAll('/', '_')}-${args.join('_') || 'none'}`);
  const result = await run(process.execPath, [script, ...args], {
    env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, PORT: '1' },
    timeout: COMMAND_TIMEOUT_MS,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => err,
  );
  return { ...result, touchedDataDir: existsSync(dataDir) };
}

describe('command lines', { timeout: COMMAND_TIMEOUT_MS }, () => {
  cases(
    '--help and -h print the usage and exit 0, doing nothing',
    SCRIPTS.flatMap((script) => ['--help', '-h'].map((flag) => [script, flag] as const)),
    async ([script, flag]) => {
      const result = await runCommand(script, [flag]);
      expect(result).toMatchObject({ code: 0, stderr: '', touchedDataDir: false });
      expect(result.stdout.startsWith(USAGES[script])).toBe(true);
      expect(result.stdout).toContain('the README lists it');
    },
  );

  cases(
    'an option or an argument the command does not take exits 2 with the usage, doing nothing',
    [
      ['src/main.ts', ['--port', '9000']],
      ['src/main.ts', ['extra']],
      ['src/cli/migrate.ts', ['--dry-run']],
      ['src/cli/migrate.ts', ['now']],
      ['src/cli/import-interests.ts', []],
      ['src/cli/import-interests.ts', ['a.json', 'b.json']],
      ['src/cli/import-interests.ts', ['--force', 'a.json']],
    ] as const,
    async ([script, args]) => {
      const result = await runCommand(script, args);
      expect(result).toMatchObject({ code: 2, stdout: '', touchedDataDir: false });
      expect(result.stderr).toContain(USAGES[script]);
    },
  );
});

describe('the Node version check', { timeout: COMMAND_TIMEOUT_MS }, () => {
  const scripts = JSON.parse(readFileSync('package.json', 'utf8')).scripts as Record<
    string,
    string
  >;

  test('runs before every command that runs TypeScript, with the same Node', () => {
    for (const name of ['start', 'db:migrate', 'interests:import']) {
      expect(scripts[`pre${name}`]).toBe('node scripts/check-node.cjs');
    }
  });

  test("passes on this Node, and refuses one older than package.json's engines, saying why", async () => {
    expect(await run(process.execPath, ['scripts/check-node.cjs'])).toEqual({
      stdout: '',
      stderr: '',
    });
    // A copy whose package.json asks for a Node that does not exist yet.
    const project = join(root, 'future-node');
    mkdirSync(join(project, 'scripts'), { recursive: true });
    copyFileSync('scripts/check-node.cjs', join(project, 'scripts', 'check-node.cjs'));
    writeFileSync(join(project, 'package.json'), JSON.stringify({ engines: { node: '>=999' } }));
    const refused = await run(process.execPath, [join(project, 'scripts', 'check-node.cjs')]).catch(
      (err: { code: number; stderr: string }) => err,
    );
    expect(refused).toMatchObject({ code: 1 });
    expect((refused as { stderr: string }).stderr).toContain(
      `coinworks needs Node.js 999 or later; this is ${process.version}`,
    );
  });
});
