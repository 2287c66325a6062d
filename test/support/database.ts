// Gives tests their databases: a PostgreSQL database of their own per test file (cloned from the
// migrated template), or, for the in-process HTTP layer, one in-memory PGlite per file.
import { PGlite } from '@electric-sql/pglite';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, inject } from 'vitest';
import { type Database, wrapPglite } from '../../src/platform/database.ts';
import { cloneTemplate, createEmptyDatabase, databaseUrl, dropDatabase } from './postgres-admin.ts';

export const postgresUrl = inject('postgresUrl');
const templateDatabase = inject('templateDatabase');

/** `describe` for PostgreSQL-bound suites: skipped when global-setup.ts found no server. */
export const describeWithPostgres = describe.skipIf(postgresUrl === null);

/**
 * The URL of a database of this file's own, created before its tests and dropped after them:
 * a clone of the migrated template, or, with `empty`, one with no tables at all.
 */
export function ownPostgresDatabase({ empty = false } = {}): { readonly url: string } {
  let name: string | null = null;
  beforeAll(async () => {
    if (postgresUrl) {
      name = empty
        ? await createEmptyDatabase(postgresUrl)
        : await cloneTemplate(postgresUrl, templateDatabase);
    }
  });
  afterAll(async () => {
    if (postgresUrl && name) await dropDatabase(postgresUrl, name);
  });
  return {
    get url() {
      if (!postgresUrl || !name) throw new Error('no PostgreSQL database: is the suite skipped?');
      return databaseUrl(postgresUrl, name);
    },
  };
}

let memory: Promise<Database> | null = null;

/** One migrated in-memory PGlite for the whole test file (a new one takes a second or two). */
export function memoryDatabase(): Promise<Database> {
  memory ??= (async () => {
    const database = wrapPglite(new PGlite(), {
      transactionAttemptsMax: 3,
      registry: new Registry(),
      log: pino({ level: 'silent' }),
    });
    await database.migrate();
    afterAll(() => database.close());
    return database;
  })();
  return memory;
}
