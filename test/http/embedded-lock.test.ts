// One process per embedded data directory, as `npm start`, `npm run db:migrate` and
// `npm run interests:import` run: a second service, a migration or an import on a directory in
// use refuses to start, naming the directory and the process that holds it, while the first keeps
// serving; a lock left by kill -9 does not stop the next start, which serves what it committed.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, expect, test } from 'vitest';
import { EMBEDDED_INTERESTS_FILE } from '../../src/features/scoring/scoring.interests.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { DATA_DIR_LOCK_FILE, DataDirLockedError } from '../../src/platform/data-dir-lock.ts';
import { createDatabase } from '../../src/platform/database.ts';
import { startService } from '../support/processes.ts';

const run = promisify(execFile);

/** This file's loopback ports: the first service, the refused one, the one after kill -9. */
const FIRST_PORT = 18101;
const SECOND_PORT = 18102;
const NEXT_PORT = 18103;

/**
 * Longest one start may take to listen. Opening PGlite and migrating took 14 s on this 2-core
 * machine while other test runs loaded it, past the shared PROCESS_WAIT_MS.
 */
const START_WAIT_MS = 60_000;

const dataDir = mkdtempSync(join(tmpdir(), 'coinworks-embedded-lock-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function service(port: number) {
  const started = startService({
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
  });
  /** Its address once it says it listens; rejects if it exits first or takes too long. */
  const listening = async (): Promise<string> => {
    let exited = false;
    void started.exited.then(() => {
      exited = true;
    });
    const deadline = Date.now() + START_WAIT_MS;
    while (Date.now() < deadline && !exited) {
      const address = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(
        started.output().stdout,
      )?.[1];
      if (address !== undefined) return address;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`not listening within ${START_WAIT_MS} ms: ${started.output().stderr}`);
  };
  return { ...started, listening };
}

async function deposit(address: string, wallet: string, amount: number): Promise<number> {
  const response = await fetch(`${address}/api/v1/wallets/${wallet}/operation`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ operation_type: 'DEPOSIT', amount }),
  });
  return response.status;
}

test(
  'a second process on a data directory in use refuses; after kill -9 the next one starts',
  async () => {
    const first = service(FIRST_PORT);
    const address = await first.listening();
    const created = await fetch(`${address}/api/v1/wallets/`, { method: 'POST' });
    expect(created.status).toBe(201);
    const wallet = ((await created.json()) as { wallet_id: string }).wallet_id;
    expect(await deposit(address, wallet, 700)).toBe(200);

    // Before the lock it listened, answered writes, and lost them once both had stopped.
    const second = service(SECOND_PORT);
    const outcome = await Promise.race([
      second.exited,
      second.listening().then(
        () => 'listening' as const,
        () => 'neither' as const,
      ),
    ]);
    expect(outcome).toBe(1);
    const refusal = second.output().stderr;
    expect(refusal).toContain(`data directory ${dataDir} is in use by pid ${first.child.pid}`);
    expect(refusal).toContain('src/main.ts');
    expect(refusal).toContain('one process per data directory');

    const migrated = await run(process.execPath, ['src/cli/migrate.ts'], {
      env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, LOG_LEVEL: 'info' },
      timeout: START_WAIT_MS,
    }).catch((err: { code: number; stderr: string; stdout: string }) => err);
    expect(migrated).toMatchObject({ code: 1 });
    expect((migrated as { stderr: string }).stderr).toContain(
      `db:migrate: data directory ${dataDir} is in use by pid ${first.child.pid}`,
    );
    expect((migrated as { stdout: string }).stdout).not.toContain('migrations applied');

    // The embedded import writes into the same directory: refused too, and nothing written.
    const interests = join(dataDir, '..', `${dataDir.split('/').pop()}-interests.json`);
    writeFileSync(interests, JSON.stringify({ '7': ['books'] }));
    const imported = await run(process.execPath, ['src/cli/import-interests.ts', interests], {
      env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir },
      timeout: START_WAIT_MS,
    }).catch((err: { code: number; stderr: string }) => err);
    rmSync(interests);
    expect(imported).toMatchObject({ code: 1 });
    expect((imported as { stderr: string }).stderr).toContain(
      `interests:import: data directory ${dataDir} is in use by pid ${first.child.pid}`,
    );
    expect(existsSync(join(dataDir, EMBEDDED_INTERESTS_FILE))).toBe(false);

    // The first is untouched: it answers, and writes.
    expect((await fetch(`${address}/healthz`)).status).toBe(200);
    expect((await fetch(`${address}/readyz`)).status).toBe(200);
    expect(await deposit(address, wallet, 42)).toBe(200);
    expect(JSON.parse(readFileSync(join(dataDir, DATA_DIR_LOCK_FILE), 'utf8')).pid).toBe(
      first.child.pid,
    );

    first.child.kill('SIGKILL');
    await first.exited;
    // kill -9 left its lock behind; the next start finds its process gone and takes it over.
    expect(existsSync(join(dataDir, DATA_DIR_LOCK_FILE))).toBe(true);
    const next = service(NEXT_PORT);
    const nextAddress = await next.listening();
    const balance = await fetch(`${nextAddress}/api/v1/wallets/${wallet}`);
    expect(await balance.json()).toEqual({ wallet_id: wallet, balance: 742 });
    expect(JSON.parse(readFileSync(join(dataDir, DATA_DIR_LOCK_FILE), 'utf8')).pid).toBe(
      next.child.pid,
    );

    // A clean stop releases the lock.
    next.child.kill('SIGTERM');
    expect(await next.exited).toBe(0);
    expect(existsSync(join(dataDir, DATA_DIR_LOCK_FILE))).toBe(false);
  },
  3 * START_WAIT_MS,
);

test(
  'the embedded database holds the lock from opening to closing, in one process too',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coinworks-embedded-lock-close-'));
    try {
      const config = loadConfig({ DATA_DIR: dir });
      const open = () =>
        createDatabase({
          ...config.database,
          dataDir: dir,
          registry: new Registry(),
          log: pino({ level: 'silent' }),
        });
      const first = open();
      expect(existsSync(join(dir, DATA_DIR_LOCK_FILE))).toBe(true);
      expect(open).toThrow(DataDirLockedError);
      expect(await first.ping()).toBe(true);
      await first.close();
      // Released by close, not only at exit: this process may open it again.
      expect(existsSync(join(dir, DATA_DIR_LOCK_FILE))).toBe(false);
      const again = open();
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  2 * START_WAIT_MS,
);
