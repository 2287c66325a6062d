// Runs the service as `npm start` does, as a child process of the test, and waits for what it
// prints; children still running after a test are killed (after the file, for those started for
// all of its tests).
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach } from 'vitest';
import { PROCESS_WAIT_MS } from '../../tooling/engines.ts';

/** The repository's root. */
export const REPOSITORY = fileURLToPath(new URL('../..', import.meta.url));

/** package.json's scripts, as npm runs them. */
export const npmScripts = JSON.parse(readFileSync(join(REPOSITORY, 'package.json'), 'utf8'))
  .scripts as Record<string, string>;

/**
 * package.json's start script as Node's arguments, its entry made absolute, so that it runs as
 * `npm start` runs it from another directory (one standing for the project's, with its own .env).
 */
export function npmStartArguments(): string[] {
  const [node, ...args] = (npmScripts.start ?? '').split(' ');
  if (node !== 'node') throw new Error(`the start script no longer runs node: ${npmScripts.start}`);
  return args.map((arg) => (arg.endsWith('.ts') ? join(REPOSITORY, arg) : arg));
}

const children: ChildProcess[] = [];
const fileChildren: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});
afterAll(() => {
  for (const child of fileChildren.splice(0)) child.kill('SIGKILL');
});

/**
 * Starts src/main.ts with only these settings (and PATH); `scope: 'file'` keeps it across the
 * file's tests (started in a beforeAll). `args` replaces Node's arguments (`src/main.ts`), and
 * `cwd` the directory it runs in (the repository's).
 */
export function startService(
  env: Record<string, string>,
  {
    scope = 'test',
    args = ['src/main.ts'],
    cwd,
  }: { scope?: 'test' | 'file'; args?: readonly string[]; cwd?: string } = {},
) {
  const child = spawn(process.execPath, [...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(cwd === undefined ? {} : { cwd }),
  });
  (scope === 'file' ? fileChildren : children).push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const output = () => ({ stdout, stderr });
  /** The address it listens on, once it says so. */
  const listening = () =>
    until(() => /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1]);
  return { child, exited, output, listening };
}

/** Polls until `probe` returns a value, or fails after PROCESS_WAIT_MS. */
export async function until<T>(probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + PROCESS_WAIT_MS;
  while (Date.now() < deadline) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`not seen within ${PROCESS_WAIT_MS} ms`);
}
