// The process entry as `npm start` runs it: a bad setting stops it with a message and exit code 2;
// a good start serves, and SIGTERM ends it cleanly.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';

/** How long the process may take to start or to stop before the test gives up. */
const PROCESS_WAIT_MS = 15_000;

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ['src/main.ts'], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
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
  return { child, exited, output };
}

async function until<T>(probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + PROCESS_WAIT_MS;
  while (Date.now() < deadline) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`not seen within ${PROCESS_WAIT_MS} ms`);
}

test('a bad setting stops the start with exit code 2 and names the variable', async () => {
  const { exited, output } = start({ PORT: 'eighty' });
  expect(await exited).toBe(2);
  expect(output().stderr).toContain('PORT must be an integer (got "eighty")');
});

test('embedded mode starts with no configuration, serves, and exits 0 on SIGTERM', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'main-'));
  const { child, exited, output } = start({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir });
  const address = await until(
    () => /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output().stdout)?.[1],
  );
  expect(output().stdout).toContain('running embedded');

  const health = await fetch(`${address}/healthz`);
  expect(await health.json()).toEqual({ status: 'ok' });

  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(output().stdout).toContain('shutting down: finishing in-flight requests');
});
