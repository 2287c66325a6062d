// Finds the real servers the integration and fault tests need, once per run, and migrates the
// template database that each PostgreSQL-bound test file clones. Missing servers skip those tests
// with a visible reason, except under CI=true, where they fail the run instead.
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createMigratedTemplate, dropDatabase, templateDatabaseOf } from './postgres-admin.ts';
import { answersPing } from './redis-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The reachable Redis for tests, or null when there is none. */
    redisUrl: string | null;
    /** A reachable PostgreSQL server's admin URL (its template is migrated), or null. */
    postgresUrl: string | null;
    /** This run's migrated template database on that server, which test files clone. */
    templateDatabase: string;
  }
}

const PROBE_TIMEOUT_MS = 1_000;

async function reachablePostgres(url: string): Promise<boolean> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: PROBE_TIMEOUT_MS,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** True when the server is there; otherwise fails under CI, or says loudly what is skipped. */
function found(up: boolean, server: string, url: string, variable: string): boolean {
  if (!up && process.env.CI === 'true') {
    throw new Error(
      `CI=true and ${server} is not reachable at ${url}: server-bound tests cannot run`,
    );
  }
  if (!up) {
    process.stderr.write(
      `\n[tests] ${server} is not reachable at ${url} (set ${variable}): ${server}-bound tests are SKIPPED\n\n`,
    );
  }
  return up;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redisUrl = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';
  const redisUp = found(
    await answersPing(redisUrl, PROBE_TIMEOUT_MS),
    'Redis',
    redisUrl,
    'TEST_REDIS_URL',
  );
  project.provide('redisUrl', redisUp ? redisUrl : null);

  const postgresUrl = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
  const postgresUp = found(
    await reachablePostgres(postgresUrl),
    'PostgreSQL',
    postgresUrl,
    'TEST_DATABASE_URL',
  );
  const template = templateDatabaseOf(process.pid);
  if (postgresUp) await createMigratedTemplate(postgresUrl, template);
  project.provide('postgresUrl', postgresUp ? postgresUrl : null);
  project.provide('templateDatabase', template);
  return async () => {
    if (postgresUp) await dropDatabase(postgresUrl, template);
  };
}
