// Owns the relational database: a pg Pool in service mode or file-backed PGlite in embedded mode,
// the one sequence of SQL migrations both run (drizzle-kit writes them, drizzle-orm's migrators
// apply them), named statements, and transactions retried on the aborts that PostgreSQL asks
// clients to retry (serialization failures, deadlocks). Behind a transaction pooler (PgBouncer's
// pool_mode = transaction) it keeps no session state: limits are set per transaction.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import { drizzle as drizzleLite } from 'drizzle-orm/pglite';
import { migrate as migrateLite } from 'drizzle-orm/pglite/migrator';
import type { FastifyBaseLogger as Logger } from 'fastify';
import pg from 'pg';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { DatabaseConfig } from './config.ts';
import { acquireDataDirLock } from './data-dir-lock.ts';
import { Slots, SlotTimeoutError } from './slots.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

/**
 * A query known by name: PostgreSQL parses and plans it once per connection (a named prepared
 * statement), which on short queries costs more than running them (0.4 ms of planning against
 * 0.09 ms of execution for /api/info, measured). With DATABASE_PREPARED_STATEMENTS=off (the
 * default behind a transaction pooler, which would hand a connection's names to other clients'
 * servers) it is sent unnamed and planned on every call.
 */
export interface Statement {
  readonly name: string;
  readonly text: string;
  /** Only reads: never waits for a write slot (see READ_CONNECTIONS_RESERVED_MAX). */
  readonly readOnly: boolean;
}

/**
 * How PostgreSQL plans the named statements on the service's connections: once, for any values.
 * Left to itself ("auto") it plans again on every call whenever a generic plan looks costlier
 * than the custom ones, which it always does for `= ANY($1)` over an array parameter (it assumes
 * ten elements); /api/info's shared reads then spent most of PostgreSQL's time planning. Every
 * statement here looks rows up by key, so the plan does not depend on the values. Sent as a
 * startup option, so it costs no round trip (in transaction mode, with BEGIN: see below).
 */
const PLAN_CACHE_MODE = 'force_generic_plan';

/**
 * What a transaction-pooled connection tells its server at the start of every transaction, in
 * the same message as BEGIN, so that it costs no round trip of its own: the limits that session
 * mode sends once as startup parameters, which a transaction pooler refuses (PgBouncer accepts
 * only client_encoding, DateStyle, TimeZone, standard_conforming_strings and application_name)
 * and which a plain SET would leave on a server connection that other clients get next.
 * SET LOCAL ends with the transaction.
 */
export function transactionSettings(statementTimeoutMs: number): string {
  // Written into SQL text: only an integer may get there.
  if (!Number.isSafeInteger(statementTimeoutMs) || statementTimeoutMs < 0) {
    throw new RangeError(`not a statement timeout: ${statementTimeoutMs}`);
  }
  return [
    `SET LOCAL statement_timeout = ${statementTimeoutMs}`,
    // A transaction left open by a stalled client must not hold its row locks for long.
    `SET LOCAL idle_in_transaction_session_timeout = ${statementTimeoutMs}`,
    `SET LOCAL plan_cache_mode = ${PLAN_CACHE_MODE}`,
  ].join('; ');
}

/**
 * Connections of the pool that writes leave to reads: single statements that may write, and
 * every transaction, hold at most the others (writeSlotsOf). A commit waits until its WAL is on
 * disk, and a disk whose flushes stall for 0.1–0.4 s (seen on the bench's virtual disk) filled
 * every connection with waiting commits, so /api/info, which only reads, queued behind them.
 */
const READ_CONNECTIONS_RESERVED_MAX = 4;

/** How many connections of a pool of `poolSize` writes may hold at once (all of one, 1). */
export function writeSlotsOf(poolSize: number): number {
  return poolSize - Math.min(READ_CONNECTIONS_RESERVED_MAX, Math.floor(poolSize / 2));
}

/**
 * How many of those one feature's writes may hold: all but one (of one, that one). Keyed shop
 * transfers that once deadlocked held every write slot for seconds, and 40 wallet deposits
 * meanwhile timed out waiting for one; with one always left to the others, a feature whose
 * writes are stuck slows only itself. Not a fixed split: an idle feature's share is not wasted.
 */
export function featureWriteSlotsOf(poolSize: number): number {
  return Math.max(1, writeSlotsOf(poolSize) - 1);
}

/** A statement that may write unless `readOnly` says it only reads. */
export function statement(
  name: string,
  text: string,
  options: { readonly readOnly?: boolean } = {},
): Statement {
  return Object.freeze({ name, text, readOnly: options.readOnly ?? false });
}

/** Anything a statement can run on: the database or an open transaction. */
export interface Queryable {
  query<T>(statement: Statement, values: readonly unknown[]): Promise<T[]>;
}

export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable';

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Applies the migrations not yet applied; safe to run from several processes at once. */
  migrate(): Promise<void>;
  /**
   * Runs `work` in one transaction, and again, up to the configured attempts, when PostgreSQL
   * aborts it with a serialization failure or a deadlock; `work` must therefore only touch the
   * database (no other side effects) before it returns.
   */
  transaction<T>(
    work: (tx: Queryable) => Promise<T>,
    options?: { readonly isolationLevel?: IsolationLevel },
  ): Promise<T>;
  /** One cheap round trip; false when the server cannot be reached in time. */
  ping(): Promise<boolean>;
  /**
   * The same database for one feature's work: its writes share the pool's write slots with the
   * other features' but hold at most featureWriteSlotsOf(poolSize) of them at once.
   */
  forFeature(name: string): Database;
  close(): Promise<void>;
}

/** A bigint column as a number; the service never stores one beyond 2^53 − 1 (asserted here). */
export function toSafeInteger(value: unknown): number {
  const number =
    typeof value === 'number'
      ? value
      : typeof value === 'string' || typeof value === 'bigint'
        ? Number(value)
        : Number.NaN;
  assert(Number.isSafeInteger(number), `not a safe integer: ${String(value)}`);
  return number;
}

/** Rows one sweep statement deletes at most, so that no sweep holds locks for long. */
export const SWEEP_BATCH_MAX = 10_000;
/** Sweep statements one sweep runs at most; what is left waits for the next sweep. */
const SWEEP_BATCHES_MAX = 100;

/**
 * Deletes expired rows a bounded batch at a time until a batch comes back short (or the batch
 * limit is reached); `deleteBatch` deletes at most SWEEP_BATCH_MAX rows and says how many.
 */
export async function sweepInBatches(deleteBatch: () => Promise<number>): Promise<number> {
  let total = 0;
  for (let batch = 0; batch < SWEEP_BATCHES_MAX; batch += 1) {
    const deleted = await deleteBatch();
    total += deleted;
    if (deleted < SWEEP_BATCH_MAX) break;
  }
  return total;
}

/** SQLSTATEs after which PostgreSQL's manual says the whole transaction may simply be retried. */
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);
/** Lock id for migrations, so that processes starting together apply them once. */
const MIGRATION_LOCK_ID = 7_245_019;
/** Where drizzle's migrators record the migrations applied (their defaults). */
const MIGRATIONS_SCHEMA = 'drizzle';
const MIGRATIONS_TABLE = `${MIGRATIONS_SCHEMA}.__drizzle_migrations`;
const RETRY_BACKOFF_MS = 10;

/** The SQLSTATE of a database error, also when a driver wrapped it (drizzle does). */
export function sqlState(error: unknown): string | null {
  for (let cause = error, depth = 0; cause && depth < 5; depth += 1) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    cause = (cause as { cause?: unknown }).cause;
  }
  return null;
}

const NEVER_SENT = Symbol('neverSent');

/** A socket write the kernel refused whole: the peer was gone before any of it left. */
function failedToWrite(error: unknown): boolean {
  const { syscall, code } = (error ?? {}) as { syscall?: unknown; code?: unknown };
  return syscall === 'write' && (code === 'ECONNRESET' || code === 'EPIPE');
}

function markNeverSent(error: unknown): unknown {
  if (error && typeof error === 'object') Object.defineProperty(error, NEVER_SENT, { value: true });
  return error;
}

/**
 * Whether a statement certainly never ran: no connection could be had for it, or the server
 * reported an error (a single statement that fails is rolled back). Otherwise (a client-side
 * timeout, a connection lost mid-statement) it may have committed without the client knowing.
 */
export function certainlyNotApplied(error: unknown): boolean {
  return (
    Boolean((error as { [NEVER_SENT]?: boolean } | null)?.[NEVER_SENT]) || serverReported(error)
  );
}

/**
 * An error after which the server closes the connection: FATAL or PANIC, as a backend ended by
 * pg_terminate_backend (57P01) says. Such a connection is destroyed, not given back: its socket's
 * end may not be read yet, and the next statement written to it would fail unretried.
 */
function endsConnection(error: unknown): boolean {
  const severity = (error as { severity?: unknown } | null)?.severity;
  return (
    severity === 'FATAL' || severity === 'PANIC' || sqlState(error)?.startsWith('57P') === true
  );
}

/** An error the server sent (it has a severity), not one of the socket's (EPIPE looks alike). */
function serverReported(error: unknown): boolean {
  for (let cause = error, depth = 0; cause && depth < 5; depth += 1) {
    if (typeof (cause as { severity?: unknown }).severity === 'string') return true;
    cause = (cause as { cause?: unknown }).cause;
  }
  return false;
}

export function isRetryableAbort(error: unknown): boolean {
  return RETRYABLE_SQLSTATES.has(sqlState(error) ?? '');
}

/** foreign_key_violation: a row refers to one that does not exist. */
export const SQLSTATE_FOREIGN_KEY_VIOLATION = '23503';

/**
 * The configuration; without a pool mode a session of its own per connection, and without a
 * word on prepared statements, named ones in session mode and none in transaction mode.
 */
export interface DatabaseOptions
  extends Omit<DatabaseConfig, 'poolMode' | 'preparedStatements'>,
    Partial<Pick<DatabaseConfig, 'poolMode' | 'preparedStatements'>> {
  readonly dataDir: string;
  readonly registry: Registry;
  readonly log: Logger;
}

export function createDatabase(options: DatabaseOptions): Database {
  return options.url === null ? createPglite(options) : createPostgres(options, options.url);
}

const begin = (level?: IsolationLevel) =>
  level ? `BEGIN ISOLATION LEVEL ${level.toUpperCase()}` : 'BEGIN';

/** A pooler's refusal of session mode's startup parameters, told with what to do about it. */
function explained(error: unknown): unknown {
  if (error instanceof Error && error.message.includes('unsupported startup parameter')) {
    error.message +=
      ' (behind a transaction pooler such as PgBouncer, set DATABASE_POOL_MODE=transaction)';
  }
  return error;
}

function createPostgres(options: DatabaseOptions, url: string): Database {
  const pooled = options.poolMode === 'transaction';
  const named = options.preparedStatements ?? !pooled;
  const settings = pooled ? transactionSettings(options.statementTimeoutMs) : null;
  /** BEGIN, and in transaction mode the transaction's settings in the same message. */
  const beginOn = (level?: IsolationLevel) =>
    settings ? `${begin(level)}; ${settings}` : begin(level);
  const pool = new pg.Pool({
    connectionString: url,
    application_name: 'coinworks',
    max: options.poolSize,
    connectionTimeoutMillis: options.connectTimeoutMs,
    idleTimeoutMillis: options.idleTimeoutMs,
    // The server's statement_timeout cannot fire when the server is unreachable; this can.
    query_timeout: options.statementTimeoutMs + options.connectTimeoutMs,
    keepAlive: true,
    ...(pooled
      ? // Statements written without waiting for the previous answers (see `alone` below).
        { pipeline: true }
      : {
          statement_timeout: options.statementTimeoutMs,
          // A transaction left open by a stalled client must not hold its row locks for long.
          idle_in_transaction_session_timeout: options.statementTimeoutMs,
          options: `-c plan_cache_mode=${PLAN_CACHE_MODE}`,
        }),
  });
  if (pooled) {
    options.log.info(
      { preparedStatements: named },
      'database: transaction pooling (no session state; limits set per transaction)',
    );
  }
  // An idle client whose server went away emits here; the pool has already dropped it.
  pool.on('error', (err) => options.log.warn({ err }, 'idle database connection lost'));
  new Gauge({
    name: 'database_pool_connections',
    help: 'Connections of the database pool, by state',
    labelNames: ['state'] as const,
    registers: [options.registry],
    collect() {
      this.set({ state: 'total' }, pool.totalCount);
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'waiting' }, pool.waitingCount);
    },
  });
  /** A statement as pg sends it: by name only when prepared statements are on. */
  const queryOf = (s: Statement, values: readonly unknown[]): pg.QueryConfig =>
    named
      ? { name: s.name, text: s.text, values: [...values] }
      : { text: s.text, values: [...values] };
  const on = (client: pg.PoolClient): Queryable => ({
    async query<T>(s: Statement, values: readonly unknown[]) {
      const result = await client.query(queryOf(s, values));
      return result.rows as T[];
    },
  });
  /**
   * A single statement on a transaction-pooled connection, in a transaction of its own so that
   * its server-side timeout holds: BEGIN with the settings, the statement and COMMIT are written
   * at once (pg's pipeline mode), one round trip where waiting for each answer takes three
   * (through PgBouncer, medians of 5 × 2,000 in a row on the 2-core machine: 0.55 ms a statement
   * pipelined, 0.70 ms waiting for each answer, 0.35 ms for the bare statement with no timeout
   * of its own). A statement that fails leaves the transaction aborted, and the COMMIT
   * behind it then only rolls it back; all three answers are awaited, so the connection goes
   * back to the pool with no transaction open.
   */
  const alone = async <T>(client: pg.PoolClient, s: Statement, values: readonly unknown[]) => {
    const [opened, ran, committed] = await Promise.allSettled([
      client.query(beginOn()),
      client.query(queryOf(s, values)),
      client.query('COMMIT'),
    ]);
    // The first failure is the one to report: a BEGIN that could not be written means that
    // nothing reached a server (withClient then tries another connection).
    if (opened.status === 'rejected') throw opened.reason;
    if (ran.status === 'rejected') throw ran.reason;
    if (committed.status === 'rejected') throw committed.reason;
    return ran.value.rows as T[];
  };
  /**
   * A pooled connection for one piece of work, as pool.query takes one: a failure to get it is
   * marked (the work never left), an error the socket raises meanwhile is kept rather than thrown
   * as an uncaught event, and a connection that failed other than by a server's error (or the
   * work's own verdict, `keep`) is destroyed, not given back. An idle connection whose server
   * went away unnoticed fails its first write, before anything reached a server: the work then
   * runs again on another connection, as many times as the pool may hold stale ones.
   */
  async function withClient<T>(
    work: (client: pg.PoolClient) => Promise<T>,
    keep: (error: unknown) => boolean,
    /** Whether the failure was the attempt's first write, so nothing of it reached a server. */
    firstWriteFailed: (error: unknown) => boolean,
  ): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        throw markNeverSent(explained(error));
      }
      let broken: Error | undefined;
      const onError = (error: Error) => {
        broken = error;
      };
      client.on('error', onError);
      try {
        return await work(client);
      } catch (error) {
        if (!keep(error) || endsConnection(error)) broken ??= error as Error;
        if (!firstWriteFailed(error)) throw error;
        markNeverSent(error);
        if (attempt >= options.poolSize) throw error;
        options.log.info({ err: error }, 'a pooled connection was dead; trying another');
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    }
  }
  const writeSlots = new Slots(
    writeSlotsOf(options.poolSize),
    options.connectTimeoutMs,
    'a write slot of the database pool',
    featureWriteSlotsOf(options.poolSize),
  );
  new Gauge({
    name: 'database_write_slots',
    help: 'Pool connections writes may hold: held, and writes waiting for one',
    labelNames: ['state'] as const,
    registers: [options.registry],
    collect() {
      this.set({ state: 'held' }, writeSlots.held);
      this.set({ state: 'waiting' }, writeSlots.waiting);
    },
  });
  /** Runs work that may write once a write slot is free; a wait that timed out sent nothing. */
  const asWrite = async <T>(work: () => Promise<T>, feature?: string): Promise<T> => {
    try {
      return await writeSlots.run(work, feature);
    } catch (error) {
      throw error instanceof SlotTimeoutError ? markNeverSent(error) : error;
    }
  };
  const direct = (feature?: string): Queryable => ({
    query<T>(s: Statement, values: readonly unknown[]) {
      // A single statement is one write (Parse, Bind, Execute and Sync together; in transaction
      // mode, the BEGIN written first).
      const run = () =>
        withClient(
          (client) => (pooled ? alone<T>(client, s, values) : on(client).query<T>(s, values)),
          serverReported,
          failedToWrite,
        );
      return s.readOnly ? run() : asWrite(run, feature);
    },
  });
  /** Runs `work` on one connection between BEGIN and COMMIT (ROLLBACK when it throws). */
  const inTransaction = <T>(
    work: (client: pg.PoolClient) => Promise<T>,
    level?: IsolationLevel,
  ): Promise<T> => {
    let begun = false;
    let rolledBack = true;
    return withClient(
      async (client) => {
        begun = false;
        rolledBack = true;
        await client.query(beginOn(level));
        begun = true;
        try {
          const result = await work(client);
          await client.query('COMMIT');
          return result;
        } catch (error) {
          // A connection that cannot even roll back is not given back to the pool.
          await client.query('ROLLBACK').catch(() => {
            rolledBack = false;
          });
          throw error;
        }
      },
      () => rolledBack,
      // Only a BEGIN that never left is tried again here: once statements have run, the
      // transaction's fate is the retry policy's (retrying() below), not a dead socket's.
      (error) => !begun && failedToWrite(error),
    );
  };
  const once: Database['transaction'] = (work, config) =>
    inTransaction((client) => work(on(client)), config?.isolationLevel);
  const retries = retriesCounter(options.registry);
  /** The database for one feature's work, or (feature undefined) for any work, unbudgeted. */
  const forFeature = (feature?: string): Database => ({
    kind: 'postgres',
    ...direct(feature),
    // Each attempt takes its own slot: none is held while a retry backs off.
    transaction: retrying(
      (work, config) => asWrite(() => once(work, config), feature),
      options,
      retries,
    ),
    migrate: pooled ? migrateInOneTransaction : migrate,
    ping,
    forFeature,
    close: () => pool.end(),
  });
  async function migrate() {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw explained(error);
    }
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
      try {
        await migratePg(drizzlePg({ client }), { migrationsFolder: MIGRATIONS_DIR });
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);
      }
    } finally {
      client.release();
    }
  }
  /**
   * Migrations through a transaction pooler. A session's advisory lock would stay on whichever
   * server connection took it (one another client may get next), and its unlock could reach
   * another; so the lock is the transaction's own (pg_advisory_xact_lock, released by COMMIT or
   * ROLLBACK) and everything runs in that one transaction: drizzle's bookkeeping table, read and
   * written exactly as drizzle's migrator does (so either path can follow the other), and the
   * pending migrations, applied all or none.
   */
  async function migrateInOneTransaction() {
    const migrations = readMigrationFiles({ migrationsFolder: MIGRATIONS_DIR });
    await inTransaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_ID]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${MIGRATIONS_SCHEMA}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
           id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`,
      );
      const { rows } = await client.query<{ created_at: string }>(
        `SELECT created_at FROM ${MIGRATIONS_TABLE} ORDER BY created_at DESC LIMIT 1`,
      );
      const last = rows[0] === undefined ? null : Number(rows[0].created_at);
      for (const migration of migrations) {
        if (last !== null && migration.folderMillis <= last) continue;
        // Without parameters: the simple protocol, which also takes several statements at once.
        for (const text of migration.sql) await client.query(text);
        await client.query(`INSERT INTO ${MIGRATIONS_TABLE} (hash, created_at) VALUES ($1, $2)`, [
          migration.hash,
          migration.folderMillis,
        ]);
      }
    });
  }
  async function ping() {
    try {
      await pool.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }
  return forFeature(undefined);
}

function createPglite(options: DatabaseOptions): Database {
  const dir = join(options.dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  // PGlite has one writer per directory: a second process's writes would be lost. Throws
  // DataDirLockedError, before PGlite opens anything, when another process holds it.
  const lock = acquireDataDirLock(options.dataDir);
  try {
    const database = wrapPglite(new PGlite(dir), options);
    return { ...database, close: () => database.close().finally(lock.release) };
  } catch (error) {
    lock.release();
    throw error;
  }
}

/** A Database over a PGlite instance (an embedded one, or an in-memory one in tests). */
export function wrapPglite(
  client: PGlite,
  options: Pick<DatabaseOptions, 'transactionAttemptsMax' | 'registry' | 'log'>,
): Database {
  // PGlite is one connection in this process: statements need no names, and its transactions
  // run one at a time, so every isolation level behaves as serializable.
  const on = (target: Pick<PGlite, 'query'>): Queryable => ({
    async query<T>(s: Statement, values: readonly unknown[]) {
      return (await target.query<T>(s.text, [...values])).rows;
    },
  });
  const database: Database = {
    kind: 'pglite',
    ...on(client),
    transaction: retrying(
      (work) => client.transaction((tx) => work(on(tx))),
      options,
      retriesCounter(options.registry),
    ),
    // One process owns a PGlite directory, so there is nobody to race.
    migrate: () =>
      migrateLite(drizzleLite({ client }), { migrationsFolder: MIGRATIONS_DIR }) as Promise<void>,
    async ping() {
      try {
        await client.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    // One connection runs one statement at a time: no feature can hold another's slots.
    forFeature: () => database,
    close: () => client.close(),
  };
  return database;
}

function retriesCounter(registry: Registry): Counter {
  return new Counter({
    name: 'database_transaction_retries_total',
    help: 'Transactions run again after a serialization failure or deadlock',
    registers: [registry],
  });
}

function retrying(
  once: Database['transaction'],
  options: Pick<DatabaseOptions, 'transactionAttemptsMax' | 'log'>,
  retries: Counter,
): Database['transaction'] {
  return async (work, config) => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await once(work, config);
      } catch (error) {
        if (!isRetryableAbort(error) || attempt >= options.transactionAttemptsMax) throw error;
        retries.inc();
        options.log.info({ attempt, err: error }, 'transaction aborted by the database; retrying');
        // A little jitter, so that the transactions that collided do not collide again.
        await sleep(RETRY_BACKOFF_MS * attempt * (0.5 + Math.random()));
      }
    }
  };
}
