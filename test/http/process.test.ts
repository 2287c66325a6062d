// The process entry as `npm start` runs it: a bad setting stops it with a message and exit code 2;
// a good start serves, and SIGTERM ends it cleanly.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { startService as start } from '../support/processes.ts';

test('a bad setting stops the start with exit code 2 and names the variable', async () => {
  const { exited, output } = start({ PORT: 'eighty' });
  expect(await exited).toBe(2);
  expect(output().stderr).toContain('PORT must be an integer (got "eighty")');
});

test('embedded mode starts with no configuration, serves, and exits 0 on SIGTERM', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'main-'));
  const { child, exited, output, listening } = start({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
  });
  const address = await listening();
  expect(output().stdout).toContain('running embedded');

  const health = await fetch(`${address}/healthz`);
  expect(await health.json()).toEqual({ status: 'ok' });

  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(output().stdout).toContain('shutting down: finishing in-flight requests');
});
