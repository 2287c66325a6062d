// `npm start` reads .env from the directory it runs in, when there is one (Node's own
// --env-file-if-exists, as package.json's start script says), and a variable set in the
// environment wins over the file's. The script is read from package.json and run as npm runs it,
// in a temporary directory standing for the project's, so that no real .env is ever touched.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { npmStartArguments, npmScripts as scripts, startService } from '../support/processes.ts';

/** This file's loopback ports: the file's, then the environment's. */
const FILE_PORT = 18121;
const ENV_PORT = 18122;

const dir = mkdtempSync(join(tmpdir(), 'coinworks-env-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function served(env: Record<string, string>) {
  const service = startService(env, { args: npmStartArguments(), cwd: dir });
  const address = await service.listening();
  const health = await fetch(`${address}/healthz`);
  service.child.kill('SIGTERM');
  await service.exited;
  return { address, status: health.status };
}

test('the scripts that read the configuration load .env when it exists', () => {
  for (const name of ['start', 'db:migrate', 'interests:import']) {
    expect(scripts[name]).toMatch(/^node --env-file-if-exists=\.env src\//);
  }
});

test('without .env the service starts on the environment alone', async () => {
  const { address, status } = await served({ HOST: '127.0.0.1', PORT: String(ENV_PORT) });
  expect([address, status]).toEqual([`http://127.0.0.1:${ENV_PORT}`, 200]);
});

test('.env configures the service, and the environment wins over it', async () => {
  writeFileSync(
    join(dir, '.env'),
    `# as copied from .env.example\nHOST=127.0.0.1\nPORT=${FILE_PORT}\nLOG_LEVEL=info\n`,
  );
  const fromFile = await served({});
  expect([fromFile.address, fromFile.status]).toEqual([`http://127.0.0.1:${FILE_PORT}`, 200]);

  const overridden = await served({ PORT: String(ENV_PORT) });
  expect([overridden.address, overridden.status]).toEqual([`http://127.0.0.1:${ENV_PORT}`, 200]);
});
