// Crashes under load lose nothing that was answered. The service, as a process on a PostgreSQL
// database of its own, takes a bounded concurrent load of wallet operations, shop purchases and
// transfers both ways while it is killed with SIGKILL and started again on the same database and
// port, or while every PostgreSQL backend of its database is terminated. Afterwards the database
// (direct SQL) and the API must agree: every operation answered 200 is recorded as answered,
// balances equal their histories and ledgers, coins are conserved, nothing is negative, and what
// was cut off at the crash was applied whole or not at all.
import pg from 'pg';
import { expect, onTestFinished, test } from 'vitest';
import { ITEMS, START_COINS } from '../../src/features/shop/shop.catalog.ts';
import { PROCESS_WAIT_MS } from '../../tooling/engines.ts';
import { TEST_JWT_SECRET } from '../support/app.ts';
import { describeWithPostgres, ownPostgresDatabase } from '../support/database.ts';
import { type Load, type Sent, startLoad, timedSocketSender, untilCount } from '../support/load.ts';
import { startService } from '../support/processes.ts';
import { uniqueName } from '../support/shop.ts';
import {
  type Answer,
  type OperationType,
  type Send,
  type WalletClient,
  walletClient,
} from '../support/wallets.ts';

/** The loopback ports of the two services this file starts (one per test). */
const KILL_PORT = 18_400;
const TERMINATE_PORT = 18_401;
/** 16 clients, each sending one request at a time, bounded in count and in time. */
const LOAD_LIMITS = { clients: 16, requestsPerClientMax: 500, durationMaxMs: 25_000 } as const;
/** Longest one request may go unanswered: far above any answer of a healthy service. */
const REQUEST_TIMEOUT_MS = 10_000;
/** Longest the test waits for the load to reach a count of answers. */
const LOAD_WAIT_MS = 15_000;
/** Longest a whole test may take; the file stays well under 90 s. */
const TEST_TIMEOUT_MS = 40_000;

const WALLETS = 4;
const SHOP_USERS = 6;
/** Wallet operations move 1 to this many minor units. */
const WALLET_AMOUNT_MAX = 100;
/** Transfers move 1 to this many coins, so that the users' coins last through the load. */
const SEND_AMOUNT_MAX = 5;
/** The cheap merch: purchases drain the users' coins slowly. */
const ITEMS_BOUGHT = ['pen', 'socks', 'cup'] as const;
/** Of every 100 requests: this many wallet operations, then transfers; the rest are purchases. */
const WALLET_SHARE = 50;
const SEND_SHARE = 35;

/** SIGKILL after this many 200s, and stop after this many more from the restarted process. */
const KILL_AFTER_ACKNOWLEDGED = 600;
const AFTER_RESTART_ACKNOWLEDGED = 600;

/** Terminations of every backend, one after each this many 200s, then this many more 200s. */
const TERMINATIONS = 3;
const TERMINATE_EVERY_ACKNOWLEDGED = 400;
const AFTER_LAST_TERMINATION_ACKNOWLEDGED = 400;
/** Longest wait for the terminated backends to be gone, and how often to look. */
const TERMINATE_WAIT_MS = 5_000;
const TERMINATE_POLL_MS = 2;
/** Longest after a termination until both features answer 200 again. */
const RECOVERY_MAX_MS = 3_000;

/** How much of the stack of an error the service logged a failure shows. */
const LOGGED_STACK_FRAMES = 4;

const killDatabase = ownPostgresDatabase();
const terminateDatabase = ownPostgresDatabase();

type LoadRequest =
  | { kind: 'wallet'; walletId: string; type: OperationType; amount: number }
  | { kind: 'buy'; user: number; item: string }
  | { kind: 'send'; from: number; to: number; amount: number };

interface ShopUser {
  readonly username: string;
  readonly token: string;
}

/** The fixture of one test: the wallets and users it made, and the requests of its load. */
interface Fixture {
  readonly walletIds: readonly string[];
  readonly users: readonly ShopUser[];
  readonly send: Send;
  readonly wallets: WalletClient;
}

/** mulberry32: a small seeded generator, so each client's sequence of requests is reproducible. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

async function arrange(baseUrl: string): Promise<Fixture> {
  const send = timedSocketSender(baseUrl, REQUEST_TIMEOUT_MS);
  const wallets = walletClient(send);
  const walletIds: string[] = [];
  for (let i = 0; i < WALLETS; i += 1) walletIds.push(await wallets.create());
  const users: ShopUser[] = [];
  for (let i = 0; i < SHOP_USERS; i += 1) {
    const username = uniqueName('crash');
    const answer = await send({
      method: 'POST',
      url: '/api/auth',
      body: JSON.stringify({ username, password: 'correct horse' }),
    });
    expect(answer.status, answer.text).toBe(200);
    users.push({ username, token: answer.json().token });
  }
  return { walletIds, users, send, wallets };
}

/** Starts the mixed load: deposits and withdrawals on the wallets, buys and sends between users. */
function mixedLoad(fixture: Fixture): Load<LoadRequest> {
  const { walletIds, users, send, wallets } = fixture;
  const random = Array.from({ length: LOAD_LIMITS.clients }, (_, c) => seeded(c + 1));
  const pick = (next: () => number, n: number) => Math.floor(next() * n);
  const next = (client: number): LoadRequest => {
    const r = random[client] as () => number;
    const share = pick(r, 100);
    if (share < WALLET_SHARE) {
      return {
        kind: 'wallet',
        walletId: walletIds[pick(r, walletIds.length)] as string,
        type: pick(r, 2) === 0 ? 'DEPOSIT' : 'WITHDRAW',
        amount: 1 + pick(r, WALLET_AMOUNT_MAX),
      };
    }
    const from = pick(r, users.length);
    if (share < WALLET_SHARE + SEND_SHARE) {
      const to = (from + 1 + pick(r, users.length - 1)) % users.length;
      return { kind: 'send', from, to, amount: 1 + pick(r, SEND_AMOUNT_MAX) };
    }
    return { kind: 'buy', user: from, item: ITEMS_BOUGHT[pick(r, ITEMS_BOUGHT.length)] as string };
  };
  const user = (i: number) => users[i] as ShopUser;
  const bearer = (i: number) => ({ authorization: `Bearer ${user(i).token}` });
  const load = startLoad(LOAD_LIMITS, next, (request): Promise<Answer> => {
    switch (request.kind) {
      case 'wallet':
        return wallets.operate(request.walletId, request.type, request.amount);
      case 'buy':
        return send({
          method: 'GET',
          url: `/api/buy/${request.item}`,
          headers: bearer(request.user),
        });
      case 'send':
        return send({
          method: 'POST',
          url: '/api/sendCoin',
          body: JSON.stringify({ toUser: user(request.to).username, amount: request.amount }),
          headers: bearer(request.from),
        });
    }
  });
  // A failed assertion must not leave the load running into the next test.
  onTestFinished(async () => {
    load.stop();
    await load.done;
  });
  return load;
}

const status = (s: Sent<LoadRequest>) => s.answer?.status ?? null;
const acknowledged =
  (sent: readonly Sent<LoadRequest>[], since = 0) =>
  () =>
    sent.filter((s) => s.startedAt >= since && status(s) === 200).length;
/** Whether a request may have been applied without the client learning it was. */
const mayHaveApplied = (s: Sent<LoadRequest>) =>
  s.failure === 'reset' || s.failure === 'timeout' || (status(s) ?? 0) >= 500;
const describeSent = (s: Sent<LoadRequest>) =>
  `${JSON.stringify(s.request)} at ${s.startedAt.toFixed(0)}–${s.endedAt?.toFixed(0)} ms: ${
    s.answer ? `${s.answer.status} ${s.answer.text}` : `${s.failure} (${s.cause})`
  }`;

/**
 * Every answer is one the contract allows under this load: 200, a refusal for want of money in
 * the API's own body, and (only where `serverErrors`) a 500 in the API's own body.
 */
function expectAnswersAllowed(sent: readonly Sent<LoadRequest>[], serverErrors: boolean) {
  for (const s of sent) {
    if (!s.answer || s.answer.status === 200) continue;
    const body = s.answer.json();
    if (serverErrors && s.answer.status === 500) {
      if (s.request.kind === 'wallet') expect(typeof body.detail, describeSent(s)).toBe('string');
      else expect(typeof body.errors, describeSent(s)).toBe('string');
    } else if (s.request.kind === 'wallet') {
      expect([s.answer.status, body], describeSent(s)).toEqual([
        409,
        { detail: 'Insufficient funds' },
      ]);
    } else {
      expect([s.answer.status, body], describeSent(s)).toEqual([
        400,
        { errors: 'not enough coins' },
      ]);
    }
  }
}

/** A multiset of keys, for matching rows to the requests that may have made them. */
function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

/**
 * The wallets, from their tables and through the API: each history is a chain from 0 (seq 1, 2,
 * …, each balance_after following from the one before, never negative) ending at the balance;
 * every 200 is its own row with the type, amount and new balance it reported; and every other
 * row is an operation whose request failed without a definite answer. Returns how many rows
 * were applied without their request learning it.
 */
async function expectWalletsExact(
  sql: pg.Client,
  fixture: Fixture,
  sent: readonly Sent<LoadRequest>[],
): Promise<number> {
  let unanswered = 0;
  for (const walletId of fixture.walletIds) {
    const mine = sent.filter((s) => s.request.kind === 'wallet' && s.request.walletId === walletId);
    const { rows } = await sql.query<{
      id: string;
      seq: string;
      type: OperationType;
      amount: string;
      balance_after: string;
    }>(
      // Ordered by the number, not by the text it is read as.
      `SELECT o.id, o.seq::text, o.type, o.amount::text, o.balance_after::text
       FROM wallet_operations o WHERE o.wallet_id = $1 ORDER BY o.seq`,
      [walletId],
    );
    const {
      rows: [wallet],
    } = await sql.query<{ balance: string; operations_count: string }>(
      'SELECT balance::text, operations_count::text FROM wallets WHERE id = $1',
      [walletId],
    );
    let running = 0n;
    for (const [i, row] of rows.entries()) {
      expect(BigInt(row.seq), `seq of ${row.id}`).toBe(BigInt(i + 1));
      running += row.type === 'DEPOSIT' ? BigInt(row.amount) : -BigInt(row.amount);
      expect(BigInt(row.balance_after), `balance after ${row.id}`).toBe(running);
      expect(running).toBeGreaterThanOrEqual(0n);
    }
    expect(BigInt(wallet?.balance ?? -1), 'the balance is the sum of the history').toBe(running);
    expect(BigInt(wallet?.operations_count ?? -1)).toBe(BigInt(rows.length));

    const unclaimed = new Map(rows.map((row) => [row.id, row]));
    for (const s of mine.filter((o) => status(o) === 200)) {
      const body = s.answer?.json();
      const row = unclaimed.get(body.operation_id);
      expect(
        row,
        `an operation answered 200 is in the history, once: ${describeSent(s)}`,
      ).toBeDefined();
      const op = s.request as Extract<LoadRequest, { kind: 'wallet' }>;
      expect(row).toMatchObject({
        type: op.type,
        amount: String(op.amount),
        balance_after: String(body.new_balance),
      });
      expect(body.wallet_id).toBe(walletId);
      unclaimed.delete(body.operation_id);
    }
    const opKey = (type: string, amount: string | number) => `${type} ${amount}`;
    const candidates = countBy(
      mine.filter(mayHaveApplied).map((s) => s.request as Extract<LoadRequest, { kind: 'wallet' }>),
      (op) => opKey(op.type, op.amount),
    );
    for (const row of unclaimed.values()) {
      const key = opKey(row.type, row.amount);
      const left = candidates.get(key) ?? 0;
      expect(
        left,
        `row ${row.id} (${key}) was made by a request that failed unanswered`,
      ).toBeGreaterThan(0);
      candidates.set(key, left - 1);
      unanswered += 1;
    }

    expect(await fixture.wallets.balanceOf(walletId)).toBe(running);
    const history = await fixture.wallets.historyOf(walletId);
    expect(history.map((h) => [h.operation_id, String(h.balance_after)])).toEqual(
      rows.map((row) => [row.id, row.balance_after]).reverse(),
    );
  }
  return unanswered;
}

/**
 * The shop, from its tables and through the API: coins are conserved (START_COINS per user minus
 * every purchase), each balance is its user's ledger and never negative, inventories count the
 * purchases, per-pair totals sum the transfers, and the purchases and transfers of each kind
 * number at least the 200s and at most those plus the requests that failed unanswered. Returns
 * how many were applied without their request learning it.
 */
async function expectShopExact(
  sql: pg.Client,
  fixture: Fixture,
  sent: readonly Sent<LoadRequest>[],
): Promise<number> {
  const { rows: users } = await sql.query<{ id: number; username: string; balance: string }>(
    'SELECT id, username, balance::text FROM shop_users ORDER BY id',
  );
  // The database is this test's own: its users are exactly the fixture's.
  expect(users.map((u) => u.username).sort()).toEqual(fixture.users.map((u) => u.username).sort());
  const indexOf = new Map(
    users.map((u) => [u.id, fixture.users.findIndex((f) => f.username === u.username)]),
  );
  const { rows: purchases } = await sql.query<{ user_id: number; item: string; price: number }>(
    'SELECT user_id, item, price FROM shop_purchases',
  );
  const { rows: transfers } = await sql.query<{
    from_user_id: number;
    to_user_id: number;
    amount: string;
  }>('SELECT from_user_id, to_user_id, amount::text FROM shop_transfers');
  const { rows: inventory } = await sql.query<{ user_id: number; item: string; quantity: number }>(
    'SELECT user_id, item, quantity FROM shop_inventory',
  );
  const { rows: totals } = await sql.query<{
    from_user_id: number;
    to_user_id: number;
    amount: string;
  }>('SELECT from_user_id, to_user_id, amount::text FROM shop_transfer_totals');

  const spent = purchases.reduce((sum, p) => sum + p.price, 0);
  const coins = users.reduce((sum, u) => sum + Number(u.balance), 0);
  expect(coins, 'coins are conserved').toBe(START_COINS * users.length - spent);
  for (const p of purchases) expect(p.price, p.item).toBe(ITEMS.get(p.item));
  for (const u of users) {
    const ledger =
      START_COINS -
      purchases.filter((p) => p.user_id === u.id).reduce((sum, p) => sum + p.price, 0) -
      transfers
        .filter((t) => t.from_user_id === u.id)
        .reduce((sum, t) => sum + Number(t.amount), 0) +
      transfers.filter((t) => t.to_user_id === u.id).reduce((sum, t) => sum + Number(t.amount), 0);
    expect(Number(u.balance), `${u.username}'s balance is their ledger`).toBe(ledger);
    expect(Number(u.balance)).toBeGreaterThanOrEqual(0);
  }
  const bought = countBy(purchases, (p) => `${p.user_id} ${p.item}`);
  expect(new Map(inventory.map((i) => [`${i.user_id} ${i.item}`, i.quantity]))).toEqual(bought);
  const pairs = new Map<string, number>();
  for (const t of transfers) {
    const pair = `${t.from_user_id} ${t.to_user_id}`;
    pairs.set(pair, (pairs.get(pair) ?? 0) + Number(t.amount));
  }
  expect(
    new Map(totals.map((t) => [`${t.from_user_id} ${t.to_user_id}`, Number(t.amount)])),
  ).toEqual(pairs);

  // Each kind of change (who bought what; who sent whom how much) against its requests.
  const keyOf = (r: LoadRequest) =>
    r.kind === 'buy'
      ? `buy ${r.user} ${r.item}`
      : r.kind === 'send'
        ? `send ${r.from} ${r.to} ${r.amount}`
        : '';
  const shop = sent.filter((s) => s.request.kind !== 'wallet');
  const ok = countBy(
    shop.filter((s) => status(s) === 200),
    (s) => keyOf(s.request),
  );
  const maybe = countBy(shop.filter(mayHaveApplied), (s) => keyOf(s.request));
  const recorded = countBy(
    [
      ...purchases.map((p) => `buy ${indexOf.get(p.user_id)} ${p.item}`),
      ...transfers.map(
        (t) => `send ${indexOf.get(t.from_user_id)} ${indexOf.get(t.to_user_id)} ${t.amount}`,
      ),
    ],
    (key) => key,
  );
  let unanswered = 0;
  for (const key of new Set([...ok.keys(), ...recorded.keys()])) {
    const [answered, made] = [ok.get(key) ?? 0, recorded.get(key) ?? 0];
    expect(made, `every 200 of "${key}" is recorded`).toBeGreaterThanOrEqual(answered);
    expect(made, `"${key}" recorded only for 200s and unanswered requests`).toBeLessThanOrEqual(
      answered + (maybe.get(key) ?? 0),
    );
    unanswered += made - answered;
  }

  for (const [i, user] of fixture.users.entries()) {
    const answer = await fixture.send({
      method: 'GET',
      url: '/api/info',
      headers: { authorization: `Bearer ${user.token}` },
    });
    expect(answer.status, answer.text).toBe(200);
    const info = answer.json();
    const id = users.find((u) => u.username === user.username)?.id;
    expect(info.coins).toBe(Number(users.find((u) => u.id === id)?.balance));
    const mine = inventory.filter((row) => row.user_id === id);
    expect(
      new Map(info.inventory.map((e: { type: string; quantity: number }) => [e.type, e.quantity])),
    ).toEqual(new Map(mine.map((row) => [row.item, row.quantity])));
    const sentTotal = totals
      .filter((t) => t.from_user_id === id)
      .reduce((sum, t) => sum + Number(t.amount), 0);
    const receivedTotal = totals
      .filter((t) => t.to_user_id === id)
      .reduce((sum, t) => sum + Number(t.amount), 0);
    const sum = (entries: { amount: number }[]) => entries.reduce((s, e) => s + e.amount, 0);
    expect([sum(info.coinHistory.sent), sum(info.coinHistory.received)], `user ${i}`).toEqual([
      sentTotal,
      receivedTotal,
    ]);
  }
  return unanswered;
}

async function withSql<T>(url: string, work: (sql: pg.Client) => Promise<T>): Promise<T> {
  const sql = new pg.Client({ connectionString: url });
  await sql.connect();
  try {
    return await work(sql);
  } finally {
    await sql.end();
  }
}

/** The promise's value, or a failure naming `what` once `ms` have passed. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** One termination: its window (from the signals to the last backend gone) and what it hit. */
interface Termination {
  readonly from: number;
  readonly to: number;
  /** The load's requests started and not answered when the signals went out. */
  readonly inFlight: number;
  readonly backends: number;
}

/**
 * Terminates every other backend of the database at once, then waits until all of them are
 * gone, so that the window in which a request can meet a dying backend is as short as it can be.
 */
async function terminateAll(
  admin: pg.Client,
  databaseName: string,
  load: Load<LoadRequest>,
): Promise<Termination> {
  const from = performance.now();
  const inFlight = load.inFlight().length;
  const { rows } = await admin.query<{ pid: number; terminated: boolean }>(
    `SELECT pid, pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
     WHERE datname = $1 AND pid <> pg_backend_pid()`,
    [databaseName],
  );
  const pids = rows.filter((row) => row.terminated).map((row) => row.pid);
  const deadline = from + TERMINATE_WAIT_MS;
  for (;;) {
    const { rows: alive } = await admin.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1::int[])',
      [pids],
    );
    if (alive[0]?.n === 0) break;
    expect(performance.now(), 'terminated backends are gone').toBeLessThan(deadline);
    await new Promise((resolve) => setTimeout(resolve, TERMINATE_POLL_MS));
  }
  return { from, to: performance.now(), inFlight, backends: pids.length };
}

/** The address a started service listens on; if it never says, what it printed instead. */
async function listening(service: ReturnType<typeof startService>): Promise<string> {
  try {
    return await service.listening();
  } catch (error) {
    const { stdout, stderr } = service.output();
    throw new Error(`the service did not start: ${stderr.slice(-2_000)}${stdout.slice(-2_000)}`, {
      cause: error,
    });
  }
}

/** What a service logged about one request (found by its X-Request-ID), errors with their stack. */
function loggedFor(service: ReturnType<typeof startService>, s: Sent<LoadRequest>): string[] {
  const requestId = s.answer?.headers['x-request-id'];
  const found: string[] = [];
  for (const line of service.output().stdout.split('\n')) {
    if (requestId === undefined || !line.includes(String(requestId))) continue;
    const entry = JSON.parse(line) as {
      requestId?: string;
      msg?: string;
      err?: { message?: string; code?: string; stack?: string };
    };
    if (entry.requestId !== requestId) continue;
    const stack = entry.err?.stack
      ?.split('\n')
      .slice(1, LOGGED_STACK_FRAMES + 1)
      .join(' ');
    found.push(
      entry.err
        ? `${entry.msg}: ${entry.err.message} (${entry.err.code}) ${stack}`
        : `${entry.msg}`,
    );
  }
  return found;
}

const serviceEnv = (port: number, url: string) => ({
  PORT: String(port),
  HOST: '127.0.0.1',
  DATABASE_URL: url,
  JWT_SECRET: TEST_JWT_SECRET,
  // The start-up line the test waits for is an info line.
  LOG_LEVEL: 'info',
});

describeWithPostgres('crashes under load', () => {
  test(
    'SIGKILL mid-load, then a restart on the same database: nothing answered 200 is lost',
    async ({ annotate }) => {
      const env = serviceEnv(KILL_PORT, killDatabase.url);
      const first = startService(env);
      const fixture = await arrange(await listening(first));
      const load = mixedLoad(fixture);
      const { sent } = load;

      expect(await untilCount(acknowledged(sent), KILL_AFTER_ACKNOWLEDGED, LOAD_WAIT_MS)).toBe(
        true,
      );
      const killedAt = performance.now();
      const inFlightAtKill = load.inFlight().length;
      first.child.kill('SIGKILL');
      expect(await within(first.exited, PROCESS_WAIT_MS, 'the killed service exits')).toBeNull();

      const second = startService(env);
      await listening(second);
      const backAt = performance.now();
      expect(
        await untilCount(acknowledged(sent, backAt), AFTER_RESTART_ACKNOWLEDGED, LOAD_WAIT_MS),
      ).toBe(true);
      load.stop();
      await within(load.done, REQUEST_TIMEOUT_MS, 'the load stops');

      // Only requests overlapping the outage failed, and none for want of an answer in time.
      const failed = sent.filter((s) => s.failure !== null);
      for (const s of failed) {
        expect(s.failure, describeSent(s)).not.toBe('timeout');
        expect(s.startedAt <= backAt && (s.endedAt ?? 0) >= killedAt, describeSent(s)).toBe(true);
      }
      const cut = failed.filter((s) => s.failure === 'reset').length;
      const refused = failed.filter((s) => s.failure === 'refused').length;
      expect(inFlightAtKill).toBeGreaterThan(0);
      expect(refused, 'the service really was down for a while').toBeGreaterThan(0);
      expectAnswersAllowed(sent, false);

      const [wallets, shop] = await withSql(killDatabase.url, async (sql) => [
        await expectWalletsExact(sql, fixture, sent),
        await expectShopExact(sql, fixture, sent),
      ]);
      second.child.kill('SIGTERM');
      expect(await within(second.exited, PROCESS_WAIT_MS, 'the service stops')).toBe(0);

      await annotate(
        `${sent.length} requests, ${acknowledged(sent)()} answered 200 ` +
          `(${acknowledged(sent, backAt)()} after the restart); at the kill ${inFlightAtKill} in ` +
          `flight, ${cut} cut off, then ${refused} refused while down; applied though cut off: ` +
          `${wallets} wallet operations, ${shop} shop changes; restart took ` +
          `${(backAt - killedAt).toFixed(0)} ms`,
      );
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "pg_terminate_backend of all the service's backends mid-load: 5xx only for requests then in flight, recovery without restart",
    async ({ annotate }) => {
      const service = startService(serviceEnv(TERMINATE_PORT, terminateDatabase.url));
      const fixture = await arrange(await listening(service));
      const databaseName = new URL(terminateDatabase.url).pathname.slice(1);
      const terminations: Termination[] = [];
      await withSql(terminateDatabase.url, async (admin) => {
        const load = mixedLoad(fixture);
        const { sent } = load;
        for (let i = 1; i <= TERMINATIONS; i += 1) {
          const target = i * TERMINATE_EVERY_ACKNOWLEDGED;
          expect(await untilCount(acknowledged(sent), target, LOAD_WAIT_MS)).toBe(true);
          terminations.push(await terminateAll(admin, databaseName, load));
        }
        const last = terminations[terminations.length - 1]?.to ?? 0;
        expect(
          await untilCount(
            acknowledged(sent, last),
            AFTER_LAST_TERMINATION_ACKNOWLEDGED,
            LOAD_WAIT_MS,
          ),
        ).toBe(true);
        load.stop();
        await within(load.done, REQUEST_TIMEOUT_MS, 'the load stops');

        // The process never went away: every request was answered, in the contract's terms.
        for (const s of sent) expect(s.failure, describeSent(s)).toBeNull();
        expectAnswersAllowed(sent, true);
        for (const t of terminations) expect(t.backends, 'backends terminated').toBeGreaterThan(0);

        // The budget: a 5xx only for a request in flight while its backends were terminated.
        const exposed = (s: Sent<LoadRequest>, t: Termination) =>
          s.startedAt <= t.to && (s.endedAt ?? Number.POSITIVE_INFINITY) >= t.from;
        const errors = sent.filter((s) => (status(s) ?? 0) >= 500);
        const windows = terminations.map((t) => `${t.from.toFixed(0)}–${t.to.toFixed(0)} ms`);
        for (const s of errors) {
          expect(
            terminations.some((t) => exposed(s, t)),
            `a 5xx outside every termination (${windows.join(', ')}): ${describeSent(s)}; ` +
              `the service logged: ${loggedFor(service, s).join(' | ')}`,
          ).toBe(true);
        }
        // Recovery: after each termination both features answer 200 again, soon.
        for (const t of terminations) {
          for (const kinds of [['wallet'], ['buy', 'send']]) {
            const first = sent.find(
              (s) => s.startedAt >= t.to && kinds.includes(s.request.kind) && status(s) === 200,
            );
            expect(first, `a ${kinds.join('/')} 200 after the termination`).toBeDefined();
            expect((first?.endedAt ?? Number.POSITIVE_INFINITY) - t.to).toBeLessThan(
              RECOVERY_MAX_MS,
            );
          }
        }

        const [wallets, shop] = [
          await expectWalletsExact(admin, fixture, sent),
          await expectShopExact(admin, fixture, sent),
        ];
        const ready = await fixture.send({ method: 'GET', url: '/readyz' });
        expect(ready.status, ready.text).toBe(200);
        const budget = terminations.map((t) => sent.filter((s) => exposed(s, t)).length);
        await annotate(
          `${sent.length} requests, ${acknowledged(sent)()} answered 200; ${TERMINATIONS} ` +
            `terminations of ${terminations.map((t) => t.backends).join('/')} backends with ` +
            `${terminations.map((t) => t.inFlight).join('/')} requests in flight (exposed ` +
            `${budget.join('/')}); 5xx: ${errors.length} (wallets ` +
            `${errors.filter((s) => s.request.kind === 'wallet').length}); applied though ` +
            `answered 5xx: ${wallets} wallet operations, ${shop} shop changes`,
        );
      });
      service.child.kill('SIGTERM');
      expect(await within(service.exited, PROCESS_WAIT_MS, 'the service stops')).toBe(0);
    },
    TEST_TIMEOUT_MS,
  );
});
