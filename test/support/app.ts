// Builds the app for tests exactly as production does, with a test configuration, a fixed clock
// when asked, and log lines captured so tests can read what the server wrote.
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll } from 'vitest';
import { type AppOverrides, buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { type FaultProxy, proxiedPostgres } from '../../tooling/fault-proxy.ts';
import { memoryDatabase } from './database.ts';

/** The JWT secret of test apps; tests sign their own forged and expired tokens with it. */
export const TEST_JWT_SECRET = 'test-secret-of-at-least-32-characters!';

export interface TestApp {
  readonly app: FastifyInstance;
  /** Every log line written so far, parsed. */
  readonly logs: Record<string, unknown>[];
}

/**
 * Builds an app from environment-style settings; it is closed after the test file. Without
 * DATABASE_URL it shares the file's in-memory PGlite.
 */
export async function buildTestApp(
  env: Record<string, string> = {},
  overrides: Omit<AppOverrides, 'logStream'> = {},
): Promise<TestApp> {
  const logs: Record<string, unknown>[] = [];
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line));
      done();
    },
  });
  const config = loadConfig({
    LOG_LEVEL: 'info',
    DATA_DIR: '/nonexistent-test-data',
    JWT_SECRET: TEST_JWT_SECRET,
    ...env,
  });
  const database =
    overrides.database ?? (config.database.url === null ? await memoryDatabase() : undefined);
  const app = await buildApp(config, { ...overrides, database, logStream });
  afterAll(() => app.close());
  return { app, logs };
}

/** The database limits of the outage tests: a dead server is given up on within a second. */
export const OUTAGE_LIMITS = {
  connectTimeoutMs: 300,
  statementTimeoutMs: 400,
  poolSize: 4,
} as const;
/** Slack for scheduling on a busy 2-core machine, on top of a limit a test asserts. */
export const OUTAGE_SLACK_MS = 400;

/**
 * A test app whose PostgreSQL (the database at `databaseUrl`) sits behind a fault proxy, with
 * OUTAGE_LIMITS; the proxy is closed after the file, once the app is.
 */
export async function buildTestAppBehindProxy(
  databaseUrl: string,
): Promise<TestApp & { readonly proxy: FaultProxy }> {
  const proxied = await proxiedPostgres(databaseUrl);
  afterAll(() => proxied.proxy.close());
  const t = await buildTestApp({
    DATABASE_CONNECT_TIMEOUT_MS: String(OUTAGE_LIMITS.connectTimeoutMs),
    DATABASE_STATEMENT_TIMEOUT_MS: String(OUTAGE_LIMITS.statementTimeoutMs),
    DATABASE_POOL_SIZE: String(OUTAGE_LIMITS.poolSize),
    DATABASE_URL: proxied.url,
  });
  return { ...t, proxy: proxied.proxy };
}
