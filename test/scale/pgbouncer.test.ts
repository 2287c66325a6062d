// The service through a real PgBouncer in transaction mode, configured as Debian ships it (no
// ignore_startup_parameters, no max_prepared_statements): it starts, migrates through the pooler
// and serves the shop and the wallets; first logins at once never meet another client's prepared
// statement; a statement still cannot outlast DATABASE_STATEMENT_TIMEOUT_MS, and nothing is left
// on PgBouncer's server connections; and PgBouncer killed mid-load and started again is recovered
// from without restarting the service, with no acknowledged operation lost.
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Database, sqlState, statement } from '../../src/platform/database.ts';
import { enginesMissing } from '../../tooling/engines.ts';
import { type Pgbouncer, startPgbouncer } from '../../tooling/pgbouncer.ts';
import { buildTestApp } from '../support/app.ts';
import { ownPostgresDatabase, postgresUrl } from '../support/database.ts';
import { startLoad, untilCount } from '../support/load.ts';
import { openPostgres } from '../support/postgres-admin.ts';
import { shopClient, uniqueName } from '../support/shop.ts';
import { type Answer, injectSender, walletClient } from '../support/wallets.ts';

const PGBOUNCER_PORT = 18610;
/** The statement timeout of the timeout tests: short, so that a sleep well past it is cheap. */
const TIMEOUT_MS = 400;
/** Scheduling slack on a busy 2-core machine, on top of a limit a test asserts. */
const SLACK_MS = 1_500;
/** First logins of distinct users sent at once. */
const FIRST_LOGINS = 50;
/** The restart test's load, bounded in clients, requests and time. */
const LOAD = { clients: 6, requestsPerClientMax: 3_000, durationMaxMs: 30_000 } as const;
const LOAD_USERS = 8;
const LOAD_WALLETS = 2;
/** Answers before PgBouncer is killed, and after it is back, before the load stops. */
const ANSWERS_BEFORE_KILL = 150;
const ANSWERS_AFTER_RESTART = 300;
/** How long PgBouncer stays down. */
const OUTAGE_MS = 500;
/**
 * The error budget of the restart: only requests that started before PgBouncer was back plus
 * this long may fail (in flight at the kill, or sent while it was down); every later one is
 * answered 200.
 */
const RECOVERY_MS = 2_000;
/** A client of the load waits this long after a 5xx before its next request, as clients back off. */
const BACKOFF_MS = 50;

const migrationsInJournal = (
  JSON.parse(readFileSync('migrations/meta/_journal.json', 'utf8')) as { entries: unknown[] }
).entries.length;
const databaseName = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const describeScale =
  postgresUrl === null ? describe.skip : describe.skipIf(enginesMissing('pgbouncer'));

describeScale('the service through PgBouncer in transaction mode', () => {
  const database = ownPostgresDatabase({ empty: true });
  const other = ownPostgresDatabase({ empty: true });
  let bouncer: Pgbouncer;
  let app: FastifyInstance;
  let sql: pg.Pool;
  const opened: Database[] = [];
  const open = (url: string, overrides: Parameters<typeof openPostgres>[1] = {}) => {
    const db = openPostgres(url, { poolMode: 'transaction', poolSize: 2, ...overrides });
    opened.push(db);
    return db;
  };

  beforeAll(async () => {
    bouncer = await startPgbouncer(PGBOUNCER_PORT, postgresUrl as string);
    sql = new pg.Pool({ connectionString: database.url, max: 2 });
    ({ app } = await buildTestApp({
      DATABASE_URL: bouncer.url(databaseName(database.url)),
      DATABASE_POOL_MODE: 'transaction',
      // The first logins below all wait for their password hash at once.
      PASSWORD_HASH_QUEUE_MAX: String(FIRST_LOGINS),
    }));
    // Start-up runs the migrations (through PgBouncer, as the database is empty).
    await app.ready();
  });

  afterAll(async () => {
    await Promise.all(opened.map((db) => db.close().catch(() => {})));
    await sql?.end();
    await bouncer?.stop();
  });

  test('started on an empty database, the service applied every migration once', async () => {
    const count = async () =>
      (
        await sql.query<{ n: number; hashes: number }>(
          'SELECT count(*)::int AS n, count(DISTINCT hash)::int AS hashes FROM drizzle.__drizzle_migrations',
        )
      ).rows[0];
    expect(await count()).toEqual({ n: migrationsInJournal, hashes: migrationsInJournal });
    // drizzle's own migrator, in session mode on a direct connection, finds nothing left to do.
    const direct = openPostgres(database.url);
    opened.push(direct);
    await direct.migrate();
    expect(await count()).toEqual({ n: migrationsInJournal, hashes: migrationsInJournal });
  });

  test('three processes migrating at once through PgBouncer apply each migration once', async () => {
    const url = bouncer.url(databaseName(other.url));
    await Promise.all([open(url).migrate(), open(url).migrate(), open(url).migrate()]);
    const check = new pg.Client({ connectionString: other.url });
    await check.connect();
    try {
      const { rows } = await check.query(
        'SELECT count(*)::int AS n, count(DISTINCT created_at)::int AS distinct FROM drizzle.__drizzle_migrations',
      );
      expect(rows[0]).toEqual({ n: migrationsInJournal, distinct: migrationsInJournal });
      // The lock was the transactions' own: none is left held on any server connection.
      const locks = await check.query(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
      expect(locks.rows[0].n).toBe(0);
    } finally {
      await check.end();
    }
  });

  test('in session mode, the refused startup parameter is named with the setting to change', async () => {
    const sessionMode = openPostgres(bouncer.url(databaseName(database.url)));
    opened.push(sessionMode);
    await expect(sessionMode.migrate()).rejects.toThrow(
      /unsupported startup parameter.*DATABASE_POOL_MODE=transaction/,
    );
  });

  test('serves the shop: register, buy, send and info', async () => {
    const shop = shopClient(app);
    const alice = await shop.login(uniqueName('alice'));
    const bob = await shop.login(uniqueName('bob'));
    expect((await shop.buy(alice.token, 'cup')).statusCode).toBe(200);
    expect((await shop.send(alice.token, { toUser: bob.username, amount: 30 })).statusCode).toBe(
      200,
    );
    expect(await shop.infoOf(alice)).toEqual({
      coins: 950,
      inventory: [{ type: 'cup', quantity: 1 }],
      coinHistory: { received: [], sent: [{ toUser: bob.username, amount: 30 }] },
    });
    expect((await shop.infoOf(bob)).coinHistory.received).toEqual([
      { fromUser: alice.username, amount: 30 },
    ]);
  });

  test('serves the wallets: create, deposit, withdraw and history', async () => {
    const wallets = walletClient(injectSender(app));
    const walletId = await wallets.create();
    for (const [type, amount] of [
      ['DEPOSIT', 100],
      ['DEPOSIT', 50],
      ['WITHDRAW', 30],
    ] as const) {
      const response = await wallets.operate(walletId, type, amount);
      expect(response.status, response.text).toBe(200);
    }
    expect(await wallets.balanceOf(walletId)).toBe(120n);
    const history = await wallets.historyOf(walletId);
    expect(
      history.map((h) => [h.operation_type, BigInt(h.amount), BigInt(h.balance_after)]),
    ).toEqual([
      ['WITHDRAW', 30n, 120n],
      ['DEPOSIT', 50n, 150n],
      ['DEPOSIT', 100n, 100n],
    ]);
  });

  test(`${FIRST_LOGINS} first logins of distinct users at once all answer 200`, async () => {
    const answers = await Promise.all(
      Array.from({ length: FIRST_LOGINS }, (_, i) =>
        app.inject({
          method: 'POST',
          url: '/api/auth',
          // Each from an address of its own: registrations count against their address.
          remoteAddress: `10.0.${i}.1`,
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify({ username: uniqueName('first'), password: 'correct horse' }),
        }),
      ),
    );
    const failures = answers.filter((a) => a.statusCode !== 200).map((a) => a.body);
    expect(failures).toEqual([]);
  }, 120_000);

  test('a statement fails at DATABASE_STATEMENT_TIMEOUT_MS, alone or in a transaction', async () => {
    const db = open(bouncer.url(databaseName(database.url)), { statementTimeoutMs: TIMEOUT_MS });
    // Far longer than the timeout, and than the client's own (the timeout plus the connect timeout).
    const sleepLong = statement('test_sleep', 'SELECT pg_sleep(30)', { readOnly: true });
    const sleepWriting = statement('test_sleep_writing', 'SELECT pg_sleep(30)');
    const timed = async (work: () => Promise<unknown>) => {
      const started = performance.now();
      const error = await work().then(
        () => null,
        (e: unknown) => e,
      );
      return { code: sqlState(error), ms: performance.now() - started };
    };
    for (const work of [
      () => db.query(sleepLong, []),
      () => db.query(sleepWriting, []),
      () => db.transaction((tx) => tx.query(sleepLong, [])),
    ]) {
      const { code, ms } = await timed(work);
      // 57014, query_canceled: the server's statement_timeout, not the client giving up.
      expect(code).toBe('57014');
      expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      expect(ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    }
  }, 30_000);

  test('a transaction left idle is ended by the server after the timeout', async () => {
    const db = open(bouncer.url(databaseName(database.url)), { statementTimeoutMs: TIMEOUT_MS });
    const one = statement('test_one', 'SELECT 1 AS one', { readOnly: true });
    const outcome = await db
      .transaction(async (tx) => {
        await tx.query(one, []);
        await sleep(TIMEOUT_MS * 3);
        return tx.query(one, []);
      })
      .then(
        () => 'committed',
        (error: unknown) => String(error),
      );
    expect(outcome).not.toBe('committed');
    // And the database is still there for the next statement, on another server connection.
    expect(await db.query(one, [])).toEqual([{ one: 1 }]);
  }, 30_000);

  test("no setting outlives its transaction on PgBouncer's server connections", async () => {
    // Every server connection of PgBouncer's pool for this database at once: each client holds a
    // transaction open until all have read their settings, so no two share a server connection.
    const db = open(bouncer.url(databaseName(database.url)), { statementTimeoutMs: TIMEOUT_MS });
    await Promise.all(
      Array.from({ length: 10 }, () =>
        db.query(statement('test_touch', 'SELECT 1 AS one', { readOnly: true }), []),
      ),
    );
    const read = async (url: string, clients: number) => {
      const pool = new pg.Pool({ connectionString: url, max: clients });
      try {
        const held = await Promise.all(Array.from({ length: clients }, () => pool.connect()));
        try {
          await Promise.all(held.map((client) => client.query('BEGIN')));
          return await Promise.all(
            held.map(
              async (client) =>
                (
                  await client.query(
                    `SELECT current_setting('statement_timeout') AS statement,
                            current_setting('idle_in_transaction_session_timeout') AS idle,
                            current_setting('plan_cache_mode') AS plan`,
                  )
                ).rows[0],
            ),
          );
        } finally {
          await Promise.all(held.map((client) => client.query('COMMIT')));
          for (const client of held) client.release();
        }
      } finally {
        await pool.end();
      }
    };
    const [server] = await read(database.url, 1);
    const seen = await read(bouncer.url(databaseName(database.url)), POOLER_SERVER_CONNECTIONS);
    expect(seen).toEqual(Array.from({ length: POOLER_SERVER_CONNECTIONS }, () => server));
  }, 30_000);

  test('PgBouncer killed mid-load and started again: the service recovers, nothing acknowledged is lost', async () => {
    const shop = shopClient(app);
    const users = await Promise.all(
      Array.from({ length: LOAD_USERS }, (_, i) => shop.login(uniqueName(`load${i}`))),
    );
    const wallets = walletClient(injectSender(app));
    const walletIds = await Promise.all(
      Array.from({ length: LOAD_WALLETS }, () => wallets.create()),
    );
    const send = injectSender(app);

    type Request =
      | { readonly kind: 'buy'; readonly user: number }
      | { readonly kind: 'deposit'; readonly wallet: number; readonly amount: number }
      | { readonly kind: 'info'; readonly user: number };
    const next = (c: number, i: number): Request => {
      const user = (c + i) % LOAD_USERS;
      if (i % 3 === 0) return { kind: 'buy', user };
      if (i % 3 === 1)
        return { kind: 'deposit', wallet: (c + i) % LOAD_WALLETS, amount: 1 + (i % 7) };
      return { kind: 'info', user };
    };
    const bearer = (user: number) => ({ authorization: `Bearer ${users[user]?.token}` });
    const load = startLoad(LOAD, next, async (request): Promise<Answer> => {
      const answer =
        request.kind === 'buy'
          ? await send({ method: 'GET', url: '/api/buy/pen', headers: bearer(request.user) })
          : request.kind === 'info'
            ? await send({ method: 'GET', url: '/api/info', headers: bearer(request.user) })
            : await send({
                method: 'POST',
                url: `/api/v1/wallets/${walletIds[request.wallet]}/operation`,
                body: JSON.stringify({ operation_type: 'DEPOSIT', amount: request.amount }),
              });
      if (answer.status >= 500) await sleep(BACKOFF_MS);
      return answer;
    });
    const answered = () => load.sent.filter((s) => s.endedAt !== null).length;

    expect(await untilCount(answered, ANSWERS_BEFORE_KILL, LOAD.durationMaxMs)).toBe(true);
    const killedAt = performance.now();
    const inFlightAtKill = load.inFlight().length;
    await bouncer.kill();
    await sleep(OUTAGE_MS);
    await bouncer.restart();
    const backAt = performance.now();
    const answeredAtRestart = answered();
    const recovered = await untilCount(
      answered,
      answeredAtRestart + ANSWERS_AFTER_RESTART,
      LOAD.durationMaxMs,
    );
    load.stop();
    await load.done;
    expect(recovered).toBe(true);

    const { sent } = load;
    const status = (s: (typeof sent)[number]) => s.answer?.status ?? 0;
    const failed = sent.filter((s) => status(s) !== 200);
    // Only "not enough coins" may be a 4xx; everything else is 200 or a failure of the outage.
    for (const s of failed) {
      if (status(s) < 500)
        expect({ kind: s.request.kind, status: status(s) }).toEqual({ kind: 'buy', status: 400 });
    }
    const outageFailures = failed.filter((s) => status(s) >= 500 || s.failure !== null);
    expect(
      sent.filter((s) => s.startedAt >= killedAt && s.startedAt < backAt).length,
    ).toBeGreaterThan(0);
    for (const s of outageFailures) {
      expect(s.endedAt ?? 0).toBeGreaterThanOrEqual(killedAt);
      expect(s.startedAt).toBeLessThan(backAt + RECOVERY_MS);
    }

    // Wallets: every acknowledged deposit is in the history, each balance is its history's sum.
    for (const [index, walletId] of walletIds.entries()) {
      const { rows } = await sql.query<{ id: string; amount: string }>(
        "SELECT id, amount::text FROM wallet_operations WHERE wallet_id = $1 AND type = 'DEPOSIT'",
        [walletId],
      );
      const ids = new Set(rows.map((r) => r.id));
      const deposits = sent.filter(
        (s) => s.request.kind === 'deposit' && s.request.wallet === index,
      );
      const acknowledged = deposits.filter((s) => status(s) === 200);
      for (const s of acknowledged) expect(ids.has(s.answer?.json().operation_id)).toBe(true);
      expect(rows.length).toBeLessThanOrEqual(
        deposits.filter((s) => status(s) === 200 || status(s) >= 500 || s.failure).length,
      );
      const sum = rows.reduce((total, r) => total + BigInt(r.amount), 0n);
      expect(await wallets.balanceOf(walletId)).toBe(sum);
    }
    // The shop: each user's purchases include every acknowledged one, and the coins agree.
    for (const [index, user] of users.entries()) {
      const { rows } = await sql.query<{ n: number; balance: number }>(
        `SELECT (SELECT count(*)::int FROM shop_purchases p WHERE p.user_id = u.id) AS n,
                u.balance::int AS balance
         FROM shop_users u WHERE u.username = $1`,
        [user.username],
      );
      const buys = sent.filter((s) => s.request.kind === 'buy' && s.request.user === index);
      const [row] = rows;
      expect(row?.n).toBeGreaterThanOrEqual(buys.filter((s) => status(s) === 200).length);
      expect(row?.n).toBeLessThanOrEqual(
        buys.filter((s) => status(s) === 200 || status(s) >= 500 || s.failure).length,
      );
      expect(row?.balance).toBe(1000 - 10 * (row?.n ?? 0));
    }
    const lastFailure = Math.max(...outageFailures.map((s) => s.startedAt - backAt), -Infinity);
    process.stdout.write(
      `[scale] PgBouncer killed mid-load: ${sent.length} requests, ${inFlightAtKill} in flight at ` +
        `the kill, down ${Math.round(backAt - killedAt)} ms, ${outageFailures.length} failed, the ` +
        `last started ${Math.round(lastFailure)} ms after it was back (budget: none later than ` +
        `${RECOVERY_MS} ms), ${sent.length - answeredAtRestart} answered after it was back\n`,
    );
  }, 90_000);
});

/** PgBouncer's default_pool_size (the stock configuration leaves it at 20). */
const POOLER_SERVER_CONNECTIONS = 20;
