// Group commit per wallet (WalletBatches: batching, order, limits, failures, counters) and across
// wallets (SharedTransactions: grouping, id order, slots, caps, failures).
import { describe, expect, test } from 'vitest';
import { AppError } from '../../platform/errors.ts';
import {
  type ApplyBatch,
  type BatchLimits,
  SharedTransactions,
  type WalletBatch,
  WalletBatches,
} from './wallet.batches.ts';

/** One call of the fake apply function, settled by the test. */
interface Call {
  readonly walletId: string;
  readonly operations: readonly string[];
  resolve(results: string[]): void;
  reject(error: unknown): void;
}

/** A fake apply that records each call and answers only when the test says so. */
function fakeApply() {
  const calls: Call[] = [];
  const apply: ApplyBatch<string, string> = (walletId, operations) => {
    const { promise, resolve, reject } = Promise.withResolvers<string[]>();
    calls.push({ walletId, operations: [...operations], resolve, reject });
    return promise;
  };
  return { calls, apply };
}

const LOOSE: BatchLimits = { batchOperationsMax: 100, queueOperationsMax: 100 };

function setUp(limits: BatchLimits = LOOSE) {
  const { calls, apply } = fakeApply();
  const sizes: number[] = [];
  const batches = new WalletBatches(apply, limits, { batchSent: (size) => sizes.push(size) });
  return { batches, calls, sizes };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Lets the event loop turn until exactly `count` calls were made; fails if they never are. */
async function untilCalls(calls: readonly Call[], count: number): Promise<void> {
  for (let turns = 0; turns < 100 && calls.length < count; turns++) await turn();
  expect(calls).toHaveLength(count);
}

/** Lets the event loop turn a few times, so that anything about to happen has happened. */
async function settle(): Promise<void> {
  for (let turns = 0; turns < 20; turns++) await turn();
}

/** A submitted operation's promise, watched from the start so a rejection is never unhandled. */
function watch<T>(promise: Promise<T>) {
  let state: PromiseSettledResult<T> | 'pending' = 'pending';
  const settled = promise.then(
    (value): PromiseSettledResult<T> => {
      state = { status: 'fulfilled', value };
      return state;
    },
    (reason: unknown): PromiseSettledResult<T> => {
      state = { status: 'rejected', reason };
      return state;
    },
  );
  return {
    settled,
    get state() {
      return state;
    },
  };
}

const fulfilled = (value: string) => ({ status: 'fulfilled', value });

/** The error a watched operation was rejected with; fails if it was fulfilled. */
async function rejection(watched: { settled: Promise<PromiseSettledResult<string>> }) {
  const outcome = await watched.settled;
  if (outcome.status !== 'rejected') throw new Error(`fulfilled with ${outcome.value}`);
  return outcome.reason as unknown;
}

describe('WalletBatches', () => {
  test("an idle wallet's single operation is applied alone, in a call of its own", async () => {
    const { batches, calls } = setUp();
    const a = watch(batches.submit('w1', 'a'));
    await untilCalls(calls, 1);
    expect(calls[0]).toMatchObject({ walletId: 'w1', operations: ['a'] });
    expect(a.state).toBe('pending');
    calls[0]?.resolve(['result a']);
    expect(await a.settled).toEqual(fulfilled('result a'));
    await settle();
    expect(calls).toHaveLength(1);
  });

  test('operations submitted in the same turn as the first leave together in the first batch', async () => {
    const { batches, calls } = setUp();
    const ops = ['a', 'b', 'c'].map((op) => watch(batches.submit('w1', op)));
    await untilCalls(calls, 1);
    expect(calls[0]).toMatchObject({ walletId: 'w1', operations: ['a', 'b', 'c'] });
    calls[0]?.resolve(['ra', 'rb', 'rc']);
    expect(await Promise.all(ops.map((op) => op.settled))).toEqual([
      fulfilled('ra'),
      fulfilled('rb'),
      fulfilled('rc'),
    ]);
  });

  test('operations submitted while a batch runs wait for it, then go together in the next batch in submission order', async () => {
    const { batches, calls } = setUp();
    const a = watch(batches.submit('w1', 'a'));
    await untilCalls(calls, 1);
    const b = watch(batches.submit('w1', 'b'));
    const c = watch(batches.submit('w1', 'c'));
    const d = watch(batches.submit('w1', 'd'));
    await settle();
    expect(calls).toHaveLength(1);

    calls[0]?.resolve(['ra']);
    expect(await a.settled).toEqual(fulfilled('ra'));
    await untilCalls(calls, 2);
    expect(calls[1]).toMatchObject({ walletId: 'w1', operations: ['b', 'c', 'd'] });
    expect([b.state, c.state, d.state]).toEqual(['pending', 'pending', 'pending']);

    calls[1]?.resolve(['rb', 'rc', 'rd']);
    expect(await b.settled).toEqual(fulfilled('rb'));
    expect(await c.settled).toEqual(fulfilled('rc'));
    expect(await d.settled).toEqual(fulfilled('rd'));
    await settle();
    expect(calls).toHaveLength(2);
  });

  test('batchOperationsMax splits a long queue into batches that run one after another, in order', async () => {
    const { batches, calls, sizes } = setUp({ batchOperationsMax: 2, queueOperationsMax: 100 });
    const first = watch(batches.submit('w1', 'a'));
    await untilCalls(calls, 1);
    const rest = ['b', 'c', 'd', 'e', 'f'].map((op) => watch(batches.submit('w1', op)));

    calls[0]?.resolve(['ra']);
    await untilCalls(calls, 2);
    expect(calls[1]?.operations).toEqual(['b', 'c']);
    await settle();
    expect(calls).toHaveLength(2);

    calls[1]?.resolve(['rb', 'rc']);
    await untilCalls(calls, 3);
    expect(calls[2]?.operations).toEqual(['d', 'e']);

    calls[2]?.resolve(['rd', 're']);
    await untilCalls(calls, 4);
    expect(calls[3]?.operations).toEqual(['f']);
    calls[3]?.resolve(['rf']);

    expect(await first.settled).toEqual(fulfilled('ra'));
    expect(await Promise.all(rest.map((op) => op.settled))).toEqual(
      ['rb', 'rc', 'rd', 're', 'rf'].map(fulfilled),
    );
    expect(sizes).toEqual([1, 2, 2, 1]);
    expect(calls.every((call) => call.walletId === 'w1')).toBe(true);
  });

  test('batchOperationsMax also splits a burst that arrives at once', async () => {
    const { batches, calls } = setUp({ batchOperationsMax: 2, queueOperationsMax: 100 });
    const ops = ['a', 'b', 'c', 'd', 'e'].map((op) => watch(batches.submit('w1', op)));
    await untilCalls(calls, 1);
    expect(calls[0]?.operations).toEqual(['a', 'b']);
    calls[0]?.resolve(['ra', 'rb']);
    await untilCalls(calls, 2);
    expect(calls[1]?.operations).toEqual(['c', 'd']);
    calls[1]?.resolve(['rc', 'rd']);
    await untilCalls(calls, 3);
    expect(calls[2]?.operations).toEqual(['e']);
    calls[2]?.resolve(['re']);
    expect(await Promise.all(ops.map((op) => op.settled))).toEqual(
      ['ra', 'rb', 'rc', 'rd', 're'].map(fulfilled),
    );
  });

  test('different wallets run in parallel, each in calls of its own', async () => {
    const { batches, calls } = setUp();
    const a = watch(batches.submit('w1', 'a'));
    const b = watch(batches.submit('w2', 'b'));
    const c = watch(batches.submit('w1', 'c'));
    await untilCalls(calls, 2);
    const byWallet = new Map(calls.map((call) => [call.walletId, call]));
    expect(byWallet.get('w1')?.operations).toEqual(['a', 'c']);
    expect(byWallet.get('w2')?.operations).toEqual(['b']);

    // w2 finishes, and starts its next batch, while w1's first batch is still running.
    byWallet.get('w2')?.resolve(['rb']);
    expect(await b.settled).toEqual(fulfilled('rb'));
    const d = watch(batches.submit('w2', 'd'));
    await untilCalls(calls, 3);
    expect(calls[2]).toMatchObject({ walletId: 'w2', operations: ['d'] });
    expect([a.state, c.state]).toEqual(['pending', 'pending']);

    calls[2]?.resolve(['rd']);
    byWallet.get('w1')?.resolve(['ra', 'rc']);
    expect(await d.settled).toEqual(fulfilled('rd'));
    expect(await a.settled).toEqual(fulfilled('ra'));
    expect(await c.settled).toEqual(fulfilled('rc'));
  });

  test('a submit beyond queueOperationsMax is refused with WALLET_BUSY, and the queued ones still succeed', async () => {
    const { batches, calls } = setUp({ batchOperationsMax: 100, queueOperationsMax: 2 });
    const a = watch(batches.submit('w1', 'a'));
    await untilCalls(calls, 1);
    const b = watch(batches.submit('w1', 'b'));
    const c = watch(batches.submit('w1', 'c'));
    const refused = watch(batches.submit('w1', 'd'));

    const error = await rejection(refused);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).spec.code).toBe('WALLET_BUSY');
    expect((error as AppError).status).toBe(503);
    expect((error as AppError).retryAfterSeconds).toBe(1);
    expect(batches.held).toBe(3);

    // The limit is per wallet: another wallet is not busy.
    const other = watch(batches.submit('w2', 'x'));
    await untilCalls(calls, 2);
    expect(calls[1]).toMatchObject({ walletId: 'w2', operations: ['x'] });
    calls[1]?.resolve(['rx']);
    expect(await other.settled).toEqual(fulfilled('rx'));

    calls[0]?.resolve(['ra']);
    await untilCalls(calls, 3);
    expect(calls[2]).toMatchObject({ walletId: 'w1', operations: ['b', 'c'] });
    calls[2]?.resolve(['rb', 'rc']);
    expect(await a.settled).toEqual(fulfilled('ra'));
    expect(await b.settled).toEqual(fulfilled('rb'));
    expect(await c.settled).toEqual(fulfilled('rc'));

    // Once the queue has drained, the wallet takes operations again.
    const e = watch(batches.submit('w1', 'e'));
    await untilCalls(calls, 4);
    expect(calls[3]?.operations).toEqual(['e']);
    calls[3]?.resolve(['re']);
    expect(await e.settled).toEqual(fulfilled('re'));
    expect(batches.held).toBe(0);
  });

  test('a failing apply rejects every operation of its batch, and only those; the next batch still runs', async () => {
    const { batches, calls } = setUp();
    const a1 = watch(batches.submit('w1', 'a1'));
    const a2 = watch(batches.submit('w1', 'a2'));
    await untilCalls(calls, 1);
    const b = watch(batches.submit('w1', 'b'));

    const failure = new Error('database down');
    calls[0]?.reject(failure);
    expect(await rejection(a1)).toBe(failure);
    expect(await rejection(a2)).toBe(failure);

    await untilCalls(calls, 2);
    expect(calls[1]).toMatchObject({ walletId: 'w1', operations: ['b'] });
    expect(b.state).toBe('pending');
    calls[1]?.resolve(['rb']);
    expect(await b.settled).toEqual(fulfilled('rb'));
    expect(batches.held).toBe(0);
  });

  test('an apply that throws before returning a promise rejects its batch the same way', async () => {
    const failure = new Error('not even started');
    const seen: string[][] = [];
    const apply: ApplyBatch<string, string> = (_walletId, operations) => {
      seen.push([...operations]);
      if (operations.includes('bad')) throw failure;
      return Promise.resolve(operations.map((op) => `r${op}`));
    };
    const batches = new WalletBatches(apply, LOOSE);
    const bad = watch(batches.submit('w1', 'bad'));
    const also = watch(batches.submit('w1', 'also'));
    expect(await rejection(bad)).toBe(failure);
    expect(await rejection(also)).toBe(failure);
    expect(await watch(batches.submit('w1', 'ok')).settled).toEqual(fulfilled('rok'));
    expect(seen).toEqual([['bad', 'also'], ['ok']]);
    expect(batches.held).toBe(0);
  });

  test('an apply returning the wrong number of results rejects that batch, and the next one still runs', async () => {
    const { batches, calls } = setUp();
    const a = watch(batches.submit('w1', 'a'));
    const b = watch(batches.submit('w1', 'b'));
    await untilCalls(calls, 1);
    const c = watch(batches.submit('w1', 'c'));

    calls[0]?.resolve(['only one']);
    for (const op of [a, b]) {
      const error = await rejection(op);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toBe('a batch of 2 operations returned 1 results');
    }

    await untilCalls(calls, 2);
    expect(calls[1]?.operations).toEqual(['c']);
    calls[1]?.resolve(['rc', 'extra']);
    expect(((await rejection(c)) as Error).message).toBe(
      'a batch of 1 operations returned 2 results',
    );

    const d = watch(batches.submit('w1', 'd'));
    await untilCalls(calls, 3);
    calls[2]?.resolve(['rd']);
    expect(await d.settled).toEqual(fulfilled('rd'));
    expect(batches.held).toBe(0);
  });

  test('held counts operations waiting or in a running batch, across wallets, and returns to 0', async () => {
    const { batches, calls } = setUp();
    expect(batches.held).toBe(0);
    const a = watch(batches.submit('w1', 'a'));
    const b = watch(batches.submit('w1', 'b'));
    const x = watch(batches.submit('w2', 'x'));
    expect(batches.held).toBe(3);
    await untilCalls(calls, 2);
    expect(batches.held).toBe(3);
    const c = watch(batches.submit('w1', 'c'));
    expect(batches.held).toBe(4);

    calls.find((call) => call.walletId === 'w1')?.resolve(['ra', 'rb']);
    await a.settled;
    await b.settled;
    expect(batches.held).toBe(2);

    calls.find((call) => call.walletId === 'w2')?.reject(new Error('failed'));
    await x.settled;
    expect(batches.held).toBe(1);

    await untilCalls(calls, 3);
    expect(batches.held).toBe(1);
    calls[2]?.resolve(['rc']);
    await c.settled;
    expect(batches.held).toBe(0);
  });

  test("the observer's batchSent gets each batch's size as it is sent", async () => {
    const { batches, calls, sizes } = setUp();
    const first = ['a', 'b', 'c'].map((op) => watch(batches.submit('w1', op)));
    await untilCalls(calls, 1);
    expect(sizes).toEqual([3]);
    const second = ['d', 'e'].map((op) => watch(batches.submit('w1', op)));
    const other = watch(batches.submit('w2', 'x'));
    await untilCalls(calls, 2);
    expect(sizes).toEqual([3, 1]);

    calls[0]?.resolve(['ra', 'rb', 'rc']);
    await untilCalls(calls, 3);
    expect(sizes).toEqual([3, 1, 2]);
    calls[1]?.resolve(['rx']);
    calls[2]?.resolve(['rd', 're']);
    await Promise.all([...first, ...second, other].map((op) => op.settled));
    await settle();
    expect(sizes).toEqual([3, 1, 2]);
  });
});

describe('SharedTransactions', () => {
  /** A fake applyMany that records each transaction and answers when the test says so. */
  function setUpShared(limits = { transactionsInFlightMax: 1, batchOperationsMax: 100 }) {
    const transactions: {
      batches: WalletBatch<string>[];
      resolve(results: string[][]): void;
      reject(error: unknown): void;
    }[] = [];
    const shared = new SharedTransactions<string, string>((batches) => {
      const { promise, resolve, reject } = Promise.withResolvers<string[][]>();
      transactions.push({ batches: batches.map((b) => ({ ...b })), resolve, reject });
      return promise;
    }, limits);
    const until = async (count: number) => {
      for (let turns = 0; turns < 100 && transactions.length < count; turns++) await turn();
      expect(transactions).toHaveLength(count);
    };
    const answer = (index: number) => {
      const t = transactions[index];
      t?.resolve(t.batches.map((b) => b.operations.map((op) => `${b.walletId}:${op}`)));
    };
    return { shared, transactions, until, answer };
  }

  test('batches handed over in one turn share one transaction, in wallet id order', async () => {
    const { shared, transactions, until, answer } = setUpShared();
    const results = [
      shared.apply('c', ['c1']),
      shared.apply('a', ['a1', 'a2']),
      shared.apply('b', ['b1']),
    ];
    await until(1);
    expect(transactions[0]?.batches.map((b) => b.walletId)).toEqual(['a', 'b', 'c']);
    answer(0);
    expect(await Promise.all(results)).toEqual([['c:c1'], ['a:a1', 'a:a2'], ['b:b1']]);
  });

  test('batches arriving while every slot is busy wait, then go together', async () => {
    const { shared, transactions, until, answer } = setUpShared();
    const first = shared.apply('a', ['1']);
    await until(1);
    const later = [shared.apply('b', ['2']), shared.apply('c', ['3'])];
    for (let i = 0; i < 5; i++) await turn();
    expect(transactions).toHaveLength(1);
    answer(0);
    await until(2);
    expect(transactions[1]?.batches.map((b) => b.walletId)).toEqual(['b', 'c']);
    answer(1);
    expect(await first).toEqual(['a:1']);
    expect(await Promise.all(later)).toEqual([['b:2'], ['c:3']]);
  });

  test('with two slots, two transactions run at once', async () => {
    const { shared, until } = setUpShared({ transactionsInFlightMax: 2, batchOperationsMax: 100 });
    void shared.apply('a', ['1']);
    await until(1);
    void shared.apply('b', ['2']);
    await until(2);
  });

  test('once every batch is answered, no further transaction is sent', async () => {
    const { shared, transactions, until, answer } = setUpShared({
      transactionsInFlightMax: 2,
      batchOperationsMax: 100,
    });
    const result = shared.apply('a', ['1']);
    await until(1);
    answer(0);
    expect(await result).toEqual(['a:1']);
    for (let i = 0; i < 5; i++) await turn();
    expect(transactions).toHaveLength(1);
  });

  test('batches beyond one transaction go at once in another, while a slot is free', async () => {
    const { shared, transactions, until } = setUpShared({
      transactionsInFlightMax: 2,
      batchOperationsMax: 1,
    });
    void shared.apply('a', ['1']);
    void shared.apply('b', ['2']);
    void shared.apply('c', ['3']);
    await until(2);
    expect(transactions.map((t) => t.batches.map((b) => b.walletId))).toEqual([['a'], ['b']]);
  });

  test('batches that fill a transaction to exactly batchOperationsMax share it', async () => {
    const { shared, transactions, until, answer } = setUpShared({
      transactionsInFlightMax: 1,
      batchOperationsMax: 3,
    });
    void shared.apply('a', ['1', '2']);
    void shared.apply('b', ['3']);
    void shared.apply('c', ['4']);
    await until(1);
    expect(transactions[0]?.batches.map((b) => b.walletId)).toEqual(['a', 'b']);
    answer(0);
    await until(2);
    expect(transactions[1]?.batches.map((b) => b.walletId)).toEqual(['c']);
  });

  test('a transaction holds at most batchOperationsMax operations, but a larger batch still goes', async () => {
    const { shared, transactions, until, answer } = setUpShared({
      transactionsInFlightMax: 1,
      batchOperationsMax: 3,
    });
    void shared.apply('a', ['1', '2', '3', '4']);
    void shared.apply('b', ['5']);
    await until(1);
    expect(transactions[0]?.batches.map((b) => b.walletId)).toEqual(['a']);
    answer(0);
    await until(2);
    expect(transactions[1]?.batches.map((b) => b.walletId)).toEqual(['b']);
  });

  test('a failed transaction fails each of its batches, and the next one still runs', async () => {
    const { shared, transactions, until, answer } = setUpShared();
    const first = [shared.apply('a', ['1']), shared.apply('b', ['2'])];
    await until(1);
    const next = shared.apply('c', ['3']);
    transactions[0]?.reject(new Error('database down'));
    for (const result of first) await expect(result).rejects.toThrow('database down');
    await until(2);
    answer(1);
    expect(await next).toEqual(['c:3']);
  });

  test('a transaction answering for the wrong number of batches fails them', async () => {
    const { shared, transactions, until } = setUpShared();
    const result = shared.apply('a', ['1']);
    await until(1);
    transactions[0]?.resolve([]);
    await expect(result).rejects.toThrow('1 batches returned 0 result lists');
  });
});
