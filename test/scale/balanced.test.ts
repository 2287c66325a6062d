// Two service processes behind a real HAProxy, in two topologies: on PostgreSQL and one Redis
// server directly, and through PgBouncer in transaction mode on a 3-master Redis Cluster. In each,
// a user, a token, a browser session, an idempotency key, a wallet, a cached score and interests
// work whichever process a request reaches, the invariants hold under a load spread over the
// processes, and a process killed with SIGKILL mid-load loses nothing it acknowledged, is taken
// out by HAProxy's health checks and rejoins once restarted.
import { type Cluster, Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { START_COINS } from '../../src/features/shop/shop.catalog.ts';
import { enginesMissing } from '../../tooling/engines.ts';
import { type Haproxy, startHaproxy } from '../../tooling/haproxy.ts';
import { startPgbouncer } from '../../tooling/pgbouncer.ts';
import { TEST_JWT_SECRET } from '../support/app.ts';
import { ownPostgresDatabase } from '../support/database.ts';
import { startService } from '../support/processes.ts';
import { startRedisCluster } from '../support/redis-cluster.ts';
import { documentedKey, interestsRequest, scoreRequest } from '../support/scoring.ts';
import { redisUrl, uniquePrefix } from '../support/servers.ts';
import { uniqueName } from '../support/shop.ts';
import { socketSender, walletClient } from '../support/wallets.ts';

/** Longest a state change of HAProxy's checks may take here: its checks, plus slack. */
const STATE_CHANGE_MS = 5_000;
/** Longest the engines of a topology may take to start (a cluster's nodes agreeing on slots). */
const ENGINES_START_MS = 60_000;

/** What the service processes of a topology are pointed at, and how to inspect and stop it. */
interface Engines {
  readonly env: Readonly<Record<string, string>>;
  /** A client of the topology's Redis for arranging and reading keys directly. */
  readonly redis: Redis | Cluster;
  stop(): Promise<void>;
}

interface Topology {
  readonly name: string;
  /** HAProxy's port, then one port per service process. */
  readonly balancerPort: number;
  readonly servicePorts: readonly [number, number];
  readonly engines: (databaseUrl: string) => Promise<Engines>;
}

const TOPOLOGIES: readonly Topology[] = [
  {
    name: 'on PostgreSQL and one Redis server, directly',
    balancerPort: 18800,
    servicePorts: [18801, 18802],
    engines: async (databaseUrl) => {
      const redis = new Redis(redisUrl ?? '', { maxRetriesPerRequest: 1 });
      return {
        env: { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl ?? '' },
        redis,
        stop: async () => redis.disconnect(),
      };
    },
  },
  {
    name: 'through PgBouncer in transaction mode, on a 3-master Redis Cluster',
    balancerPort: 18810,
    servicePorts: [18811, 18812],
    engines: async (databaseUrl) => {
      const pgbouncer = await startPgbouncer(18620, databaseUrl);
      const cluster = await startRedisCluster([
        { port: 18720, busPort: 18723 },
        { port: 18721, busPort: 18724 },
        { port: 18722, busPort: 18725 },
      ]);
      return {
        env: {
          DATABASE_URL: pgbouncer.url(new URL(databaseUrl).pathname.slice(1)),
          DATABASE_POOL_MODE: 'transaction',
          REDIS_CLUSTER_NODES: cluster.seeds,
        },
        redis: cluster.admin(),
        stop: async () => {
          await cluster.stop();
          await pgbouncer.stop();
        },
      };
    },
  },
];

const describeScale = describe.skipIf(
  redisUrl === null || enginesMissing('haproxy', 'pgbouncer', 'redis-server'),
);

describeScale.each(TOPOLOGIES)('two service processes behind HAProxy, $name', (topology) => {
  const { balancerPort, servicePorts: SERVICE_PORTS } = topology;
  const database = ownPostgresDatabase();
  const prefix = uniquePrefix();
  const processes: (ReturnType<typeof startService> | null)[] = [null, null];
  let engines: Engines;
  let balancer: Haproxy;
  let sql: pg.Pool;

  const start = async (index: number) => {
    const service = startService(
      {
        ...engines.env,
        SCORING_KEY_PREFIX: prefix,
        // HAProxy, on loopback, names each client in X-Forwarded-For.
        HTTP_TRUSTED_PROXIES: '127.0.0.1',
        JWT_SECRET: TEST_JWT_SECRET,
        HOST: '127.0.0.1',
        PORT: String(SERVICE_PORTS[index]),
        LOG_LEVEL: 'info',
        DATA_DIR: '/nonexistent-test-data',
      },
      { scope: 'file' },
    );
    processes[index] = service;
    await service.listening();
    return service;
  };

  beforeAll(async () => {
    sql = new pg.Pool({ connectionString: database.url, max: 2 });
    engines = await topology.engines(database.url);
    await Promise.all(SERVICE_PORTS.map((_, index) => start(index)));
    balancer = await startHaproxy(
      balancerPort,
      SERVICE_PORTS.map((port, index) => ({ name: `s${index}`, port })),
    );
    await untilStates({ s0: 'UP', s1: 'UP' });
  }, ENGINES_START_MS);

  afterAll(async () => {
    await balancer?.stop();
    for (const service of processes) service?.child.kill('SIGKILL');
    await sql?.end();
    if (engines) {
      const keys = await engines.redis.keys(`${prefix}*`).catch(() => []);
      // One key per call: on a cluster a DEL of keys in several slots is refused.
      await Promise.all(keys.map((key) => engines.redis.del(key)));
      await engines.stop();
    }
  });

  async function untilStates(expected: Record<string, string>) {
    const deadline = Date.now() + STATE_CHANGE_MS;
    let states: Record<string, string> = {};
    while (Date.now() < deadline) {
      states = await balancer.states();
      if (Object.entries(expected).every(([name, state]) => states[name] === state)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(states).toMatchObject(expected);
  }

  const through = (path: string, init: RequestInit = {}) => fetch(`${balancer.url}${path}`, init);
  const direct = (index: number, path: string, init: RequestInit = {}) =>
    fetch(`http://127.0.0.1:${SERVICE_PORTS[index]}${path}`, init);
  const json = { 'content-type': 'application/json' };

  test('scoring: a score one process cached is read by the other; interests of ids in every slot', async () => {
    const post = async (index: number, body: object) => {
      const response = await direct(index, '/method', {
        method: 'POST',
        headers: json,
        body: JSON.stringify(body),
      });
      return { status: response.status, json: (await response.json()) as { response?: unknown } };
    };
    const args = { phone: '79175002040', email: `lb@${topology.balancerPort}` };
    expect(await post(0, scoreRequest(args))).toEqual({
      status: 200,
      json: { code: 200, response: { score: 3 } },
    });
    const key = prefix + documentedKey(['', '', args.phone, '', args.email, '']);
    expect(await engines.redis.get(key)).toBe('3');
    // Seen as a hit by the other process, which counts it in its own metrics.
    expect((await post(1, scoreRequest(args))).json.response).toEqual({ score: 3 });
    const metrics = await (await direct(1, '/metrics')).text();
    expect(metrics).toMatch(
      /scoring_store_operations_total\{[^}]*op="get"[^}]*outcome="hit"[^}]*\} [1-9]/,
    );

    // 60 ids spread over every master of a cluster; a third missing.
    const ids = Array.from({ length: 60 }, (_, i) => 5_000 + i);
    const written = (id: number) => [`topic-${id}`];
    await Promise.all(
      ids
        .filter((id) => id % 3 !== 0)
        .map((id) => engines.redis.set(`${prefix}i:${id}`, JSON.stringify(written(id)))),
    );
    const expected = Object.fromEntries(
      ids.map((id) => [String(id), id % 3 !== 0 ? written(id) : []]),
    );
    for (const index of [0, 1]) {
      expect(await post(index, interestsRequest({ client_ids: ids }))).toEqual({
        status: 200,
        json: { code: 200, response: expected },
      });
    }
  });

  test('a token, a session cookie and a wallet made through one process work on the other', async () => {
    const username = uniqueName('lb');
    const signIn = await direct(0, '/api/auth', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ username, password: 'correct horse' }),
    });
    expect(signIn.status).toBe(200);
    const { token } = (await signIn.json()) as { token: string };
    const info = await direct(1, '/api/info', { headers: { authorization: `Bearer ${token}` } });
    expect(info.status).toBe(200);
    expect(((await info.json()) as { coins: number }).coins).toBe(1000);

    // The browser session: signed in on one process, used and ended on the other.
    const session = await direct(1, '/api/session', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ username, password: 'correct horse' }),
    });
    expect(session.status).toBe(200);
    const cookie = session.headers.get('set-cookie')?.split(';')[0] ?? '';
    const { csrf_token: csrfToken } = (await session.json()) as { csrf_token: string };
    const buy = await direct(0, '/api/buy/pen', {
      headers: { cookie, 'x-csrf-token': csrfToken },
    });
    expect(buy.status).toBe(200);
    const signOut = await direct(0, '/api/session', {
      method: 'DELETE',
      headers: { cookie, 'x-csrf-token': csrfToken },
    });
    expect(signOut.status).toBeLessThan(300);
    const after = await direct(1, '/api/info', { headers: { cookie } });
    expect(after.status).toBe(401);

    // One Idempotency-Key, sent to each process: applied once, replayed by the other.
    const keyed = (index: number) =>
      direct(index, '/api/buy/pen', {
        headers: { authorization: `Bearer ${token}`, 'idempotency-key': 'lb-buy-1' },
      });
    const [first, second] = [await keyed(0), await keyed(1)];
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const { rows } = await sql.query(
      `SELECT count(*)::int AS n FROM shop_purchases p JOIN shop_users u ON u.id = p.user_id
       WHERE u.username = $1`,
      [username],
    );
    expect(rows[0].n).toBe(2); // the session's pen and the keyed one, once

    const wallets = walletClient(socketSender(balancer.url));
    const walletId = await wallets.withBalance(100);
    const read = await direct(1, `/api/v1/wallets/${walletId}`);
    expect(read.status).toBe(200);
    expect(await wallets.balanceOf(walletId)).toBe(100n);
  });

  test('HAProxy spreads requests over both processes', async () => {
    for (let i = 0; i < 10; i += 1) expect((await through('/healthz')).status).toBe(200);
    for (const index of [0, 1]) {
      const metrics = await (await direct(index, '/metrics')).text();
      expect(metrics).toMatch(/route="\/healthz"/);
    }
  });
  test('a process killed with SIGKILL mid-load loses nothing it acknowledged; HAProxy takes it out, and it rejoins', async () => {
    const users = await Promise.all(
      Array.from({ length: LOAD_USERS }, async () => {
        const username = uniqueName('lbk');
        const response = await through('/api/auth', {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ username, password: 'correct horse' }),
        });
        expect(response.status).toBe(200);
        return { username, token: ((await response.json()) as { token: string }).token };
      }),
    );
    const wallets = walletClient(socketSender(balancer.url));
    const walletIds = await Promise.all(
      Array.from({ length: LOAD_WALLETS }, () => wallets.withBalance(LOAD_WALLET_START)),
    );

    const answers: LoadAnswer[] = [];
    let started = 0;
    let stop = false;
    const worker = async (w: number) => {
      for (let i = 0; i < LOAD_OPERATIONS_PER_WORKER_MAX && !stop; i += 1) {
        const op = operationOf(w, i, users, walletIds);
        started += 1;
        try {
          const response = await through(op.path, op.init);
          const body = await response.text();
          answers.push({ ...op.record, status: response.status, body });
        } catch (error) {
          answers.push({ ...op.record, status: 0, body: String(error) });
        }
      }
    };
    const load = Promise.all(Array.from({ length: LOAD_WORKERS }, (_, w) => worker(w)));

    await untilCount(() => answers.length, ANSWERS_BEFORE_KILL);
    processes[0]?.child.kill('SIGKILL');
    const inFlightAtKill = started - answers.length;
    const answeredAtKill = answers.length;
    await untilStates({ s0: 'DOWN' });
    const answeredAtDown = answers.length;
    await untilCount(() => answers.length, answeredAtDown + ANSWERS_WHILE_DOWN);
    await start(0);
    await untilStates({ s0: 'UP' });
    const answeredAtRejoin = answers.length;
    await untilCount(() => answers.length, answeredAtRejoin + ANSWERS_AFTER_REJOIN);
    stop = true;
    await load;

    // Only the requests in flight at the kill may fail; everything after is answered.
    const failed = answers.filter((a) => a.status === 0 || a.status >= 500);
    expect(failed.length).toBeLessThanOrEqual(inFlightAtKill);
    expect(answers.slice(answeredAtDown).filter((a) => a.status === 0 || a.status >= 500)).toEqual(
      [],
    );
    for (const a of answers) expect([0, 200, 400, 409, 502, 503]).toContain(a.status);
    // The restarted process serves again: HAProxy sends it its share.
    const served = await (await direct(0, '/metrics')).text();
    expect(served).toMatch(/route="\/api\/(info|buy|sendCoin)|route="\/api\/v1\/wallets/);

    // Wallets: every acknowledged operation is in the history, each balance is its history's sum.
    for (const walletId of walletIds) {
      const { rows } = await sql.query<{ id: string; type: string; amount: string }>(
        'SELECT id, type, amount::text FROM wallet_operations WHERE wallet_id = $1',
        [walletId],
      );
      const ids = new Set(rows.map((r) => r.id));
      for (const a of answers) {
        if (a.kind === 'wallet' && a.target === walletId && a.status === 200) {
          expect(ids.has(JSON.parse(a.body).operation_id)).toBe(true);
        }
      }
      const sum = rows.reduce(
        (total, r) => total + (r.type === 'DEPOSIT' ? BigInt(r.amount) : -BigInt(r.amount)),
        0n,
      );
      const [wallet] = (
        await sql.query<{ balance: string }>('SELECT balance::text FROM wallets WHERE id = $1', [
          walletId,
        ])
      ).rows;
      expect(BigInt(wallet?.balance ?? -1)).toBe(sum);
      expect(sum >= 0n).toBe(true);
    }

    // The shop: coins conserved, balances equal to the ledgers, every acknowledged change there.
    const names = users.map((u) => u.username);
    const { rows: balances } = await sql.query<{ username: string; balance: number }>(
      'SELECT username, balance::int AS balance FROM shop_users WHERE username = ANY($1)',
      [names],
    );
    const { rows: transfers } = await sql.query<{
      sender: string;
      receiver: string;
      n: number;
      total: number;
    }>(
      `SELECT f.username AS sender, t.username AS receiver, count(*)::int AS n, sum(amount)::int AS total
       FROM shop_transfers x JOIN shop_users f ON f.id = x.from_user_id
       JOIN shop_users t ON t.id = x.to_user_id
       WHERE f.username = ANY($1) GROUP BY 1, 2`,
      [names],
    );
    const { rows: purchases } = await sql.query<{ username: string; n: number; total: number }>(
      `SELECT u.username, count(*)::int AS n, sum(price)::int AS total FROM shop_purchases p
       JOIN shop_users u ON u.id = p.user_id WHERE u.username = ANY($1) GROUP BY 1`,
      [names],
    );
    const spent = purchases.reduce((total, p) => total + p.total, 0);
    const held = balances.reduce((total, b) => total + b.balance, 0);
    expect(held + spent).toBe(START_COINS * users.length);
    for (const { username, balance } of balances) {
      expect(balance).toBeGreaterThanOrEqual(0);
      const sent = transfers.filter((t) => t.sender === username).reduce((n, t) => n + t.total, 0);
      const received = transfers
        .filter((t) => t.receiver === username)
        .reduce((n, t) => n + t.total, 0);
      const bought = purchases.find((p) => p.username === username)?.total ?? 0;
      expect(balance).toBe(START_COINS - bought - sent + received);
      const acknowledged = (kind: LoadAnswer['kind'], target: string) =>
        answers.filter((a) => a.kind === kind && a.user === username && a.target === target);
      for (const other of names) {
        const attempts = acknowledged('transfer', other);
        const inLedger =
          transfers.find((t) => t.sender === username && t.receiver === other)?.n ?? 0;
        expect(inLedger).toBeGreaterThanOrEqual(attempts.filter((a) => a.status === 200).length);
        expect(inLedger).toBeLessThanOrEqual(
          attempts.filter((a) => a.status === 200 || a.status === 0 || a.status >= 500).length,
        );
      }
      const buys = acknowledged('buy', 'pen');
      const bought_n = purchases.find((p) => p.username === username)?.n ?? 0;
      expect(bought_n).toBeGreaterThanOrEqual(buys.filter((a) => a.status === 200).length);
    }
    process.stdout.write(
      `[scale] SIGKILL mid-load: ${answers.length} answers (${answeredAtKill} before the kill, ` +
        `${answeredAtDown - answeredAtKill} until HAProxy saw it down, ` +
        `${answeredAtRejoin - answeredAtDown} while it was down), ${inFlightAtKill} in flight at ` +
        `the kill, ${failed.length} failed\n`,
    );
  }, 60_000);
});

/** The load of the kill test: bounded in count per worker, and stopped once enough answered. */
const LOAD_WORKERS = 12;
const LOAD_USERS = 6;
const LOAD_WALLETS = 3;
const LOAD_WALLET_START = 1_000_000;
const LOAD_OPERATIONS_PER_WORKER_MAX = 2_000;
const ANSWERS_BEFORE_KILL = 300;
const ANSWERS_WHILE_DOWN = 200;
const ANSWERS_AFTER_REJOIN = 300;

interface LoadAnswer {
  readonly kind: 'wallet' | 'transfer' | 'buy';
  /** The shop user who sent it. */
  readonly user?: string;
  /** The wallet, the receiver, or the item. */
  readonly target: string;
  readonly status: number;
  readonly body: string;
}

/** The i-th request of worker w: a wallet operation, a transfer either way, or a buy. */
function operationOf(
  w: number,
  i: number,
  users: readonly { username: string; token: string }[],
  walletIds: readonly string[],
): { path: string; init: RequestInit; record: Omit<LoadAnswer, 'status' | 'body'> } {
  const json = { 'content-type': 'application/json' };
  const user = users[(w + i) % users.length] as { username: string; token: string };
  const auth = { authorization: `Bearer ${user.token}` };
  switch (i % 3) {
    case 0: {
      const walletId = walletIds[(w + i) % walletIds.length] as string;
      const type = (w + i) % 2 === 0 ? 'DEPOSIT' : 'WITHDRAW';
      return {
        path: `/api/v1/wallets/${walletId}/operation`,
        init: {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ operation_type: type, amount: 1 + (i % 5) }),
        },
        record: { kind: 'wallet', target: walletId },
      };
    }
    case 1: {
      const to = users[(w + i + 1 + (i % (users.length - 1))) % users.length] as {
        username: string;
      };
      const receiver =
        to.username === user.username
          ? (users[(w + i + 1) % users.length] as { username: string })
          : to;
      return {
        path: '/api/sendCoin',
        init: {
          method: 'POST',
          headers: { ...json, ...auth },
          body: JSON.stringify({ toUser: receiver.username, amount: 1 }),
        },
        record: { kind: 'transfer', user: user.username, target: receiver.username },
      };
    }
    default:
      return {
        path: '/api/buy/pen',
        init: { headers: auth },
        record: { kind: 'buy', user: user.username, target: 'pen' },
      };
  }
}

/** Waits until `count()` reaches `target`; bounded by STATE_CHANGE_MS times a few. */
async function untilCount(count: () => number, target: number) {
  const deadline = Date.now() + 4 * STATE_CHANGE_MS;
  while (count() < target) {
    if (Date.now() > deadline) throw new Error(`${count()} of ${target} answers in time`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
