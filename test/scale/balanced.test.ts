// Several service processes behind a real HAProxy, on one PostgreSQL database: a user, a token, a
// browser session, an idempotency key and a wallet work whichever process a request reaches, the
// invariants hold under a load spread over the processes, and a process killed with SIGKILL
// mid-load loses nothing it acknowledged, is taken out by HAProxy's health checks and rejoins once
// restarted.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { START_COINS } from '../../src/features/shop/shop.catalog.ts';
import { TEST_JWT_SECRET } from '../support/app.ts';
import { ownPostgresDatabase } from '../support/database.ts';
import { enginesMissing } from '../support/engines.ts';
import { type Haproxy, startHaproxy } from '../support/haproxy.ts';
import { startService } from '../support/processes.ts';
import { uniqueName } from '../support/shop.ts';
import { socketSender, walletClient } from '../support/wallets.ts';

/** HAProxy's port, then one port per service process. */
const BALANCER_PORT = 18800;
const SERVICE_PORTS = [18801, 18802] as const;
/** Longest a state change of HAProxy's checks may take here: its checks, plus slack. */
const STATE_CHANGE_MS = 5_000;

const describeScale = describe.skipIf(enginesMissing('haproxy'));

describeScale('two service processes behind HAProxy', () => {
  const database = ownPostgresDatabase();
  const processes: (ReturnType<typeof startService> | null)[] = [null, null];
  let balancer: Haproxy;
  let sql: pg.Pool;

  const start = async (index: number) => {
    const service = startService(
      {
        DATABASE_URL: database.url,
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
    await Promise.all(SERVICE_PORTS.map((_, index) => start(index)));
    balancer = await startHaproxy(
      BALANCER_PORT,
      SERVICE_PORTS.map((port, index) => ({ name: `s${index}`, port })),
    );
    await untilStates({ s0: 'UP', s1: 'UP' });
  });

  afterAll(async () => {
    await balancer?.stop();
    for (const service of processes) service?.child.kill('SIGKILL');
    await sql?.end();
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
