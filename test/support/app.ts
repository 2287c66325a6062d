// Builds the app for tests exactly as production does, with a test configuration, a fixed clock
// when asked, and log lines captured so tests can read what the server wrote.
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll } from 'vitest';
import { type AppOverrides, buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/platform/config.ts';

export interface TestApp {
  readonly app: FastifyInstance;
  /** Every log line written so far, parsed. */
  readonly logs: Record<string, unknown>[];
}

/** Builds an app from environment-style settings; it is closed after the test file. */
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
  const config = loadConfig({ LOG_LEVEL: 'info', DATA_DIR: '/nonexistent-test-data', ...env });
  const app = await buildApp(config, { ...overrides, logStream });
  afterAll(() => app.close());
  return { app, logs };
}
