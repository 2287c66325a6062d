// Owns the bench's throwaway PostgreSQL database: its name and URL, creating and dropping it,
// short-lived connections to it for seeding and checks, and the vacuuming autovacuum would do.
import pg from 'pg';
import { HarnessError } from './processes.ts';

/** The admin connection: the bench creates and drops its own database on this server. */
export const ADMIN_DATABASE_URL =
  process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
/**
 * A fixed name, so that a bench killed before its cleanup leaves nothing the next one keeps.
 * Every feature's fixture (the shop's users, the wallets) lives in it, seeded only when needed.
 */
export const BENCH_DATABASE = 'coinworks_bench';

const CONNECT_TIMEOUT_MS = 5_000;
/** Seeding 100,000 rows or summing every wallet operation takes seconds; a stuck one fails. */
const STATEMENT_TIMEOUT_MS = 120_000;

/** The same PostgreSQL server's URL for another database. */
function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.href;
}

/** Runs `work` on a connection of its own, closed afterwards whatever happens. */
export async function withClient<T>(
  url: string,
  work: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
  });
  try {
    await client.connect();
  } catch (err) {
    throw new HarnessError(`PostgreSQL at ${shownUrl(url)} is not reachable: ${String(err)}`);
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A URL as the bench may print it: without its password. */
export function shownUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.href;
}

/**
 * Drops and creates the bench database, empty; returns its URL for the service, which creates
 * the tables (migrates) at start-up, so seed only after a service has started on it.
 */
export async function createBenchDatabase(): Promise<string> {
  await withClient(ADMIN_DATABASE_URL, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS "${BENCH_DATABASE}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${BENCH_DATABASE}"`);
  });
  return databaseUrl(ADMIN_DATABASE_URL, BENCH_DATABASE);
}

export async function dropBenchDatabase(): Promise<void> {
  await withClient(ADMIN_DATABASE_URL, (client) =>
    client.query(`DROP DATABASE IF EXISTS "${BENCH_DATABASE}" WITH (FORCE)`),
  );
}

/** Whether the server's autovacuum is off (as on test machines): then the bench vacuums. */
export async function autovacuumIsOff(client: pg.Client): Promise<boolean> {
  const result = await client.query<{ autovacuum: string }>('SHOW autovacuum');
  return result.rows[0]?.autovacuum === 'off';
}

/**
 * Does what autovacuum would do, so that a load's figures do not measure how many dead rows and
 * how stale the statistics the loads before it left behind: each table past autovacuum's own
 * thresholds (read from the server) is vacuumed or analyzed, and no other. Analyzing every table
 * regardless would record the empty ones as empty, which autovacuum never does (its thresholds
 * start at 50 rows); the service's plans, made once per connection, would then scan those tables
 * whole as they fill during the load. Call before a load.
 */
export async function vacuumTables(url: string, tables: readonly string[]): Promise<void> {
  await withClient(url, async (client) => {
    // n_ins_since_vacuum and the insert thresholds exist from PostgreSQL 13 on.
    const { rows } = await client.query<{ relname: string; vacuum: boolean; analyze: boolean }>(
      `SELECT s.relname,
         s.n_dead_tup > current_setting('autovacuum_vacuum_threshold')::float8
             + current_setting('autovacuum_vacuum_scale_factor')::float8 * t.tuples
           OR s.n_ins_since_vacuum > current_setting('autovacuum_vacuum_insert_threshold')::float8
             + current_setting('autovacuum_vacuum_insert_scale_factor')::float8 * t.tuples
           AS vacuum,
         s.n_mod_since_analyze > current_setting('autovacuum_analyze_threshold')::float8
             + current_setting('autovacuum_analyze_scale_factor')::float8 * t.tuples
           AS analyze
       FROM pg_stat_user_tables s
       CROSS JOIN LATERAL (SELECT greatest(c.reltuples, 0)::float8 AS tuples
                           FROM pg_class c WHERE c.oid = s.relid) t
       WHERE s.relname = ANY($1::text[])`,
      [tables],
    );
    for (const { relname, vacuum, analyze } of rows) {
      const table = client.escapeIdentifier(relname);
      if (vacuum) await client.query(`VACUUM (ANALYZE ${analyze ? 'TRUE' : 'FALSE'}) ${table}`);
      else if (analyze) await client.query(`ANALYZE ${table}`);
    }
  });
}
