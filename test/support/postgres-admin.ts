// Creates and drops the databases tests run on: one template migrated once per run, and a clone
// of it per test file (CREATE DATABASE … TEMPLATE copies files, far faster than migrating).
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { DatabaseConfig } from '../../src/platform/config.ts';
import { createDatabase, type Database } from '../../src/platform/database.ts';

/**
 * The template of one test run: its name carries the run's process id, so two runs on one server
 * (two terminals, or CI beside a developer) never drop or rebuild each other's template.
 */
export function templateDatabaseOf(runId: number): string {
  return `coinworks_test_template_${runId}`;
}
const CREATE_ATTEMPTS_MAX = 5;
const CREATE_RETRY_MS = 200;

/** The same server's URL for another database. */
export function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.href;
}

async function admin<T>(serverUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  await admin(serverUrl, (client) =>
    client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  );
}

/** A Database on `url` with test limits (and no metrics or logs to speak of); the caller closes it. */
export function openPostgres(url: string, overrides: Partial<DatabaseConfig> = {}): Database {
  return createDatabase({
    url,
    dataDir: '/nonexistent',
    poolSize: 1,
    connectTimeoutMs: 5_000,
    statementTimeoutMs: 30_000,
    idleTimeoutMs: 1_000,
    transactionAttemptsMax: 1,
    ...overrides,
    registry: new Registry(),
    log: pino({ level: 'silent' }),
  });
}

/** Recreates the template from the migrations, so that a changed migration is always seen. */
export async function createMigratedTemplate(serverUrl: string, template: string): Promise<void> {
  await dropDatabase(serverUrl, template);
  await admin(serverUrl, (client) => client.query(`CREATE DATABASE "${template}"`));
  const database = openPostgres(databaseUrl(serverUrl, template));
  try {
    await database.migrate();
  } finally {
    await database.close();
  }
}

/** A fresh clone of the template; returns its name. */
export async function cloneTemplate(serverUrl: string, template: string): Promise<string> {
  const name = `coinworks_test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  for (let attempt = 1; ; attempt += 1) {
    try {
      await admin(serverUrl, (client) =>
        client.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`),
      );
      return name;
    } catch (err) {
      // Another clone still holding the template's lock for a moment: try again shortly.
      if (attempt >= CREATE_ATTEMPTS_MAX) throw err;
      await new Promise((resolve) => setTimeout(resolve, CREATE_RETRY_MS * attempt));
    }
  }
}

/** A new database with no tables at all (for migration tests); returns its name. */
export async function createEmptyDatabase(serverUrl: string): Promise<string> {
  const name = `coinworks_test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  await admin(serverUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
  return name;
}
