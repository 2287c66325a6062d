// The wallets on the real PostgreSQL, in a database of this file's own, always over real sockets
// so that requests truly race: the seed's highload rounds made strict, a race to zero, two app
// instances on one database, a property of concurrent sequences, survival across a restart, and
// a graceful shutdown in the middle of the load that loses no operation answered 200.
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { buildTestApp, TEST_JWT_SECRET, type TestApp } from '../support/app.ts';
import { describeWithPostgres, ownPostgresDatabase } from '../support/database.ts';
import { startService } from '../support/processes.ts';
import {
  type Answer,
  type OperationType,
  socketSender,
  type WalletClient,
  walletClient,
} from '../support/wallets.ts';

const database = ownPostgresDatabase();

interface Op {
  readonly type: OperationType;
  readonly amount: number;
}

interface Outcome extends Op {
  readonly answer: Answer;
}

describeWithPostgres('wallets on PostgreSQL', () => {
  let apps: TestApp[];
  let clients: WalletClient[];
  let sql: pg.Pool;
  beforeAll(async () => {
    apps = [];
    clients = [];
    // Two instances of the service on one database, as behind a load balancer.
    for (let i = 0; i < 2; i += 1) {
      const t = await buildTestApp({ DATABASE_URL: database.url, DATABASE_POOL_SIZE: '8' });
      apps.push(t);
      clients.push(walletClient(socketSender(await t.app.listen({ host: '127.0.0.1', port: 0 }))));
    }
    sql = new pg.Pool({ connectionString: database.url, max: 2 });
    // The database is dropped (with its connections) after the file; that is no test's failure.
    sql.on('error', () => {});
  });
  afterAll(() => sql?.end());

  const one = () => clients[0] as WalletClient;

  /** Sends every operation at once, spread over `instances` instances in turn. */
  async function race(walletId: string, ops: readonly Op[], instances = 1): Promise<Outcome[]> {
    const answers = await Promise.all(
      ops.map((op, i) =>
        (clients[i % instances] as WalletClient).operate(walletId, op.type, op.amount),
      ),
    );
    return ops.map((op, i) => ({ ...op, answer: answers[i] as Answer }));
  }

  /** The wallet's history from the table, oldest first, with exact money. */
  async function ledger(walletId: string) {
    const { rows } = await sql.query<{
      id: string;
      type: OperationType;
      amount: string;
      balance_after: string;
    }>(
      `SELECT id, type, amount::text, balance_after::text FROM wallet_operations
       WHERE wallet_id = $1 ORDER BY seq`,
      [walletId],
    );
    return rows.map((r) => ({ ...r, amount: BigInt(r.amount), after: BigInt(r.balance_after) }));
  }

  /**
   * The invariants after a race: only 200s and justified 409s; the balance is the start plus the
   * accepted operations; the history sums to it, each row following from the one before; and each
   * 200 is a history row with the amount and new balance it reported.
   */
  async function expectConsistent(walletId: string, start: bigint, outcomes: readonly Outcome[]) {
    let expected = start;
    for (const { type, amount, answer } of outcomes) {
      if (answer.status === 409) {
        expect(type, 'only a withdrawal may be refused').toBe('WITHDRAW');
        expect(answer.json()).toEqual({ detail: 'Insufficient funds' });
        continue;
      }
      expect(answer.status, answer.text).toBe(200);
      expected += type === 'DEPOSIT' ? BigInt(amount) : -BigInt(amount);
    }
    const balance = await one().balanceOf(walletId);
    expect(balance).toBe(expected);
    expect(balance).toBeGreaterThanOrEqual(0n);

    const rows = await ledger(walletId);
    let running = 0n;
    for (const row of rows) {
      running += row.type === 'DEPOSIT' ? row.amount : -row.amount;
      expect(row.after).toBe(running);
      expect(running).toBeGreaterThanOrEqual(0n);
    }
    expect(running).toBe(balance);
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const { type, amount, answer } of outcomes.filter((o) => o.answer.status === 200)) {
      const body = answer.json();
      const row = byId.get(body.operation_id);
      expect(row, 'an answered operation is in the history').toBeDefined();
      expect(row).toMatchObject({ type, amount: BigInt(amount), after: BigInt(body.new_balance) });
    }
  }

  const deposit = (i: number): Op => ({ type: 'DEPOSIT', amount: 1 + (i % 50) });
  const withdrawal = (i: number): Op => ({ type: 'WITHDRAW', amount: 1 + ((i * 7) % 60) });
  const deposits = (n: number) => Array.from({ length: n }, (_, i) => deposit(i));
  const withdrawals = (n: number) => Array.from({ length: n }, (_, i) => withdrawal(i));
  const mixed = (n: number) =>
    Array.from({ length: n }, (_, i) => (i % 2 === 0 ? deposit(i) : withdrawal(i)));

  test.for([10, 100])(
    '10 rounds of %i concurrent deposits, withdrawals and mixes on one wallet stay exact',
    async (size) => {
      const walletId = await one().withBalance(size * 20);
      const kinds = [deposits, withdrawals, mixed];
      for (let round = 0; round < 10; round += 1) {
        const start = await one().balanceOf(walletId);
        const ops = (kinds[round % kinds.length] as (n: number) => Op[])(size);
        await expectConsistent(walletId, start, await race(walletId, ops));
      }
    },
  );

  test('a race to zero: balance 50, 100 concurrent withdrawals of 1, exactly 50 succeed', async () => {
    const walletId = await one().withBalance(50);
    const outcomes = await race(
      walletId,
      withdrawals(100).map((op) => ({ ...op, amount: 1 })),
    );
    const statuses = outcomes.map((o) => o.answer.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(50);
    expect(statuses.filter((s) => s === 409)).toHaveLength(50);
    expect(await one().balanceOf(walletId)).toBe(0n);
    await expectConsistent(walletId, 50n, outcomes);
  });

  test('two instances on one database racing on one wallet keep every invariant, in batches', async () => {
    const walletId = await one().withBalance(3_000);
    const before = await batchCounts();
    const outcomes = await race(walletId, [...mixed(200), ...withdrawals(100)], 2);
    await expectConsistent(walletId, 3_000n, outcomes);
    const after = await batchCounts();
    const operations = after.operations - before.operations;
    const transactions = after.batches - before.batches;
    expect(operations).toBe(300);
    // Group commit really happened: fewer transactions than operations.
    expect(transactions).toBeLessThan(operations);
  });

  test('a 2-instance race on many wallets keeps each exact, wallets sharing transactions', async () => {
    const walletIds = await Promise.all(Array.from({ length: 10 }, () => one().withBalance(500)));
    const before = await transactionCounts();
    const results = await Promise.all(walletIds.map((id) => race(id, mixed(40), 2)));
    for (const [i, id] of walletIds.entries()) await expectConsistent(id, 500n, results[i] ?? []);
    const after = await transactionCounts();
    // Group commit across wallets really happened: fewer transactions than wallet batches.
    expect(after.transactions - before.transactions).toBeLessThan(after.batches - before.batches);
  });

  test('an unknown wallet sharing a transaction with others is 404 alone', async () => {
    const [a, b] = [await one().withBalance(10), await one().withBalance(10)];
    const unknown = '00000000-0000-4000-8000-00000000beef';
    const answers = await Promise.all(
      [a, unknown, b, unknown].map((id) => one().operate(id, 'WITHDRAW', 4)),
    );
    expect(answers.map((answer) => answer.status)).toEqual([200, 404, 200, 404]);
    expect([await one().balanceOf(a), await one().balanceOf(b)]).toEqual([6n, 6n]);
  });

  test('20 concurrent requests with one Idempotency-Key, on two instances, apply once', async () => {
    const walletId = await one().withBalance(100);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (clients[i % 2] as WalletClient).operate(walletId, 'DEPOSIT', 7, {
          'idempotency-key': 'one-key',
        }),
      ),
    );
    const ok = answers.filter((a) => a.status === 200);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    for (const answer of answers.filter((a) => a.status !== 200)) {
      expect(answer.status, answer.text).toBe(409);
      expect(answer.json().detail).toMatch(/still in progress/);
    }
    expect(new Set(ok.map((a) => a.json().operation_id)).size).toBe(1);
    expect(await one().balanceOf(walletId)).toBe(107n);
    const retry = await one().operate(walletId, 'DEPOSIT', 7, { 'idempotency-key': 'one-key' });
    expect(retry.json().operation_id).toBe(ok[0]?.json().operation_id);
  });

  test('property: concurrent operations end where the accepted ones, applied one by one, end', async () => {
    const op = fc.record({
      type: fc.constantFrom<OperationType>('DEPOSIT', 'WITHDRAW'),
      amount: fc.integer({ min: 1, max: 100 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 300 }),
        fc.array(op, { minLength: 1, maxLength: 40 }),
        async (start, ops) => {
          const walletId = await one().withBalance(start);
          const outcomes = await race(walletId, ops, 2);
          await expectConsistent(walletId, BigInt(start), outcomes);
          // The same accepted operations, in the order the service applied them, one at a time.
          const applied = (await ledger(walletId)).slice(start > 0 ? 1 : 0);
          const replayId = await one().withBalance(start);
          for (const row of applied) {
            const answer = await one().operate(replayId, row.type, row.amount);
            expect(answer.status, answer.text).toBe(200);
          }
          expect(await one().balanceOf(replayId)).toBe(await one().balanceOf(walletId));
        },
      ),
      { numRuns: 15 },
    );
  });

  test('a committed operation survives a restart of the service', async () => {
    const first = await buildTestApp({ DATABASE_URL: database.url });
    const before = walletClient(
      socketSender(await first.app.listen({ host: '127.0.0.1', port: 0 })),
    );
    const walletId = await before.withBalance(123);
    await first.app.close();
    const second = await buildTestApp({ DATABASE_URL: database.url });
    const after = walletClient(
      socketSender(await second.app.listen({ host: '127.0.0.1', port: 0 })),
    );
    expect(await after.balanceOf(walletId)).toBe(123n);
    expect(await after.historyOf(walletId)).toHaveLength(1);
  });

  test('stopping the service mid-load loses no operation it answered 200', async () => {
    const service = startService({
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: database.url,
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: 'info',
    });
    const client = walletClient(socketSender(await service.listening()));
    const walletId = await client.create();
    const answered: Outcome[] = [];
    // 16 clients each send operations one after another until the service stops answering.
    const worker = async (w: number) => {
      for (let i = 0; i < SHUTDOWN_LOAD_OPERATIONS_MAX; i += 1) {
        const op: Op = { type: (i + w) % 3 === 2 ? 'WITHDRAW' : 'DEPOSIT', amount: 1 + (i % 9) };
        try {
          answered.push({ ...op, answer: await client.operate(walletId, op.type, op.amount) });
        } catch {
          return; // connection refused or closed: the service is gone
        }
      }
    };
    const load = Promise.all(Array.from({ length: 16 }, (_, w) => worker(w)));
    await untilAnswered(answered, SHUTDOWN_AFTER_ANSWERS);
    service.child.kill('SIGTERM');
    await load;
    expect(await service.exited).toBe(0);

    const ok = answered.filter((o) => o.answer.status === 200);
    expect(ok.length).toBeGreaterThanOrEqual(SHUTDOWN_AFTER_ANSWERS / 2);
    for (const o of answered) expect([200, 409, 503]).toContain(o.answer.status);
    const rows = await ledger(walletId);
    const ids = new Set(rows.map((r) => r.id));
    for (const o of ok) expect(ids.has(o.answer.json().operation_id)).toBe(true);
    const { rows: wallet } = await sql.query<{ balance: string }>(
      'SELECT balance::text FROM wallets WHERE id = $1',
      [walletId],
    );
    const sum = rows.reduce((s, r) => s + (r.type === 'DEPOSIT' ? r.amount : -r.amount), 0n);
    expect(BigInt(wallet[0]?.balance ?? -1)).toBe(sum);
  });

  /** The batch histogram of both instances: transactions and the operations in them. */
  /** A histogram's observations (count) and their total (sum) over both instances. */
  async function histogram(name: string) {
    let count = 0;
    let sum = 0;
    for (const t of apps) {
      const text = (await t.app.inject({ url: '/metrics' })).body;
      count += Number(new RegExp(`^${name}_count (\\d+)`, 'm').exec(text)?.[1] ?? Number.NaN);
      sum += Number(new RegExp(`^${name}_sum (\\d+)`, 'm').exec(text)?.[1] ?? Number.NaN);
    }
    return { count, sum };
  }
  /** Transactions of wallet batches, and the wallet batches in them. */
  async function transactionCounts() {
    const { count, sum } = await histogram('wallet_transaction_batches');
    return { transactions: count, batches: sum };
  }
  /** Wallet batches, and the operations in them. */
  async function batchCounts() {
    const { count, sum } = await histogram('wallet_batch_operations');
    return { batches: count, operations: sum };
  }
});

/** Operations each shutdown-test client sends at most (the service stops long before). */
const SHUTDOWN_LOAD_OPERATIONS_MAX = 5_000;
/** The service is stopped once this many operations were answered. */
const SHUTDOWN_AFTER_ANSWERS = 300;

async function untilAnswered(answered: readonly unknown[], count: number) {
  for (let i = 0; i < 1_000 && answered.length < count; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
