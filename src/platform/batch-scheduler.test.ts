// When batched work goes: after the turn it was asked for in, all of that turn together; never
// more calls at once than allowed, the rest gathering until one returns.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { BatchScheduler } from './batch-scheduler.ts';

/** A scheduler over a queue of numbers; each call takes up to `per` of them and waits to be let go. */
function setUp(inFlightMax: number, per = Number.POSITIVE_INFINITY) {
  const queue: number[] = [];
  const calls: { items: number[]; done: () => void }[] = [];
  const scheduler = new BatchScheduler({
    inFlightMax,
    hasWork: () => queue.length > 0,
    send: () => {
      const items = queue.splice(0, per);
      return new Promise<void>((done) => calls.push({ items, done }));
    },
  });
  const add = (...items: number[]) => {
    queue.push(...items);
    scheduler.wake();
  };
  return { scheduler, queue, calls, add };
}

describe('BatchScheduler', () => {
  test('what is asked for in one turn goes in one call, after that turn', async () => {
    const { calls, add } = setUp(1);
    add(1);
    add(2, 3);
    expect(calls).toHaveLength(0);
    await nextTurn();
    expect(calls.map((call) => call.items)).toEqual([[1, 2, 3]]);
  });

  test('waking with nothing waiting makes no call', async () => {
    const { scheduler, calls } = setUp(1);
    scheduler.wake();
    await nextTurn();
    expect(calls).toHaveLength(0);
  });

  test('while inFlightMax calls run, work gathers, and goes when one returns', async () => {
    const { scheduler, calls, add } = setUp(2);
    add(1);
    await nextTurn();
    add(2);
    await nextTurn();
    add(3);
    add(4);
    await nextTurn();
    expect([calls.length, scheduler.inFlight]).toEqual([2, 2]);
    calls[0]?.done();
    await nextTurn();
    await nextTurn();
    expect(calls.map((call) => call.items)).toEqual([[1], [2], [3, 4]]);
    expect(scheduler.inFlight).toBe(2);
  });

  test('more work than one call takes goes out in further calls at once, while calls may run', async () => {
    const { calls, add } = setUp(3, 2);
    add(1, 2, 3, 4, 5, 6, 7);
    await nextTurn();
    await nextTurn();
    await nextTurn();
    expect(calls.map((call) => call.items)).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
  });

  test.for([0, -1, 1.5, Number.NaN])('refuses inFlightMax %s', (inFlightMax) => {
    expect(() => setUp(inFlightMax)).toThrow(`inFlightMax ≥ 1, got ${inFlightMax}`);
  });
});
