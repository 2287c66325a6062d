import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { Slots, SlotTimeoutError } from './slots.ts';

/** Work that runs until the test ends it. */
function held() {
  let end: () => void = () => {};
  let fail: (e: Error) => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    end = resolve;
    fail = reject;
  });
  return { work: () => done, end, fail };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Slots', () => {
  test('at most `size` run at once; the others start first come, first served', async () => {
    const slots = new Slots(2, 1_000, 'a test slot');
    const works = [held(), held(), held(), held()];
    const started: number[] = [];
    const runs = works.map((w, i) =>
      slots.run(() => {
        started.push(i);
        return w.work();
      }),
    );
    await nextTurn();
    expect(started).toEqual([0, 1]);
    expect([slots.held, slots.waiting]).toEqual([2, 2]);

    works[1]?.end();
    await nextTurn();
    expect(started).toEqual([0, 1, 2]);
    expect([slots.held, slots.waiting]).toEqual([2, 1]);

    works[0]?.end();
    await nextTurn();
    expect(started).toEqual([0, 1, 2, 3]);
    for (const w of works) w.end();
    await Promise.all(runs);
    expect([slots.held, slots.waiting]).toEqual([0, 0]);
  });

  test('a slot is given back when the work fails, and the failure reaches the caller', async () => {
    const slots = new Slots(1, 1_000, 'a test slot');
    const first = held();
    const failed = slots.run(first.work);
    const next = slots.run(async () => 'next');
    first.fail(new Error('boom'));
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe('next');
    expect(slots.held).toBe(0);
  });

  test('a wait past the timeout fails with a SlotTimeoutError, without running the work, and leaves the queue', async () => {
    vi.useFakeTimers();
    const slots = new Slots(1, 50, 'a test slot');
    const first = held();
    const running = slots.run(first.work);
    const late = vi.fn(async () => 'ran');
    const waited = slots.run(late);
    const outcome = waited.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(49);
    expect(slots.waiting).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    const error = await outcome;
    expect(error).toBeInstanceOf(SlotTimeoutError);
    expect((error as Error).name).toBe('SlotTimeoutError');
    expect((error as Error).message).toBe('timed out after 50 ms waiting for a test slot');
    expect(late).not.toHaveBeenCalled();
    expect(slots.waiting).toBe(0);

    // The slot it never got is not lost: the holder's release frees it for the next caller.
    first.end();
    await running;
    expect(slots.held).toBe(0);
    await expect(slots.run(async () => 'after')).resolves.toBe('after');
  });

  test('a waiter granted a slot before its timeout stops its timer, and is not failed by it', async () => {
    vi.useFakeTimers();
    const slots = new Slots(1, 50, 'a test slot');
    const first = held();
    const running = slots.run(first.work);
    const waited = slots.run(async () => 'granted');
    await vi.advanceTimersByTimeAsync(10);
    expect(vi.getTimerCount()).toBe(1);
    first.end();
    await running;
    // No timer is left to keep the process alive for the rest of the wait it no longer has.
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(100);
    await expect(waited).resolves.toBe('granted');
    expect([slots.held, slots.waiting]).toEqual([0, 0]);
  });

  test('a size that is not a whole number of at least one is refused, naming the size', () => {
    expect(() => new Slots(0, 10, 'x')).toThrow(new RangeError('slots: size 0 < 1'));
    expect(() => new Slots(1.5, 10, 'x', 1)).toThrow(new RangeError('slots: size 1.5 < 1'));
    expect(() => new Slots(2.5, 10, 'x')).toThrow(new RangeError('slots: size 2.5 < 1'));
  });

  test('an owner budget outside 1..size is refused, naming the budget and the size', () => {
    expect(() => new Slots(3, 10, 'x', 0)).toThrow(new RangeError('slots: ownerMax 0 not in 1..3'));
    expect(() => new Slots(3, 10, 'x', 4)).toThrow(new RangeError('slots: ownerMax 4 not in 1..3'));
    expect(() => new Slots(3, 10, 'x', 1.5)).toThrow(
      new RangeError('slots: ownerMax 1.5 not in 1..3'),
    );
  });
});

describe('Slots with an owner budget', () => {
  test('work of no owner is bounded by the size alone, not by an owner budget', async () => {
    const slots = new Slots(3, 1_000, 'a test slot', 1);
    const works = [held(), held(), held(), held()];
    let started = 0;
    const runs = works.map((w) =>
      slots.run(() => {
        started += 1;
        return w.work();
      }),
    );
    await nextTurn();
    expect([started, slots.held, slots.waiting]).toEqual([3, 3, 1]);
    for (const w of works) w.end();
    await Promise.all(runs);
    expect([started, slots.held, slots.waiting]).toEqual([4, 0, 0]);
  });

  test("one owner's stuck work leaves the rest to another owner, who passes its queue", async () => {
    const slots = new Slots(3, 1_000, 'a test slot', 2);
    const stuck = [held(), held(), held(), held()];
    const started: string[] = [];
    const runs = stuck.map((w, i) =>
      slots.run(() => {
        started.push(`shop${i}`);
        return w.work();
      }, 'shop'),
    );
    await nextTurn();
    // The shop holds its budget of two; its other two wait although a slot is free…
    expect(started).toEqual(['shop0', 'shop1']);
    expect([slots.held, slots.waiting, slots.heldBy('shop')]).toEqual([2, 2, 2]);
    // …which the wallets take at once, past the shop's queue.
    await expect(slots.run(async () => 'deposit', 'wallets')).resolves.toBe('deposit');

    // A shop slot freed goes to the shop's oldest waiter.
    stuck[0]?.end();
    await nextTurn();
    expect(started).toEqual(['shop0', 'shop1', 'shop2']);
    for (const w of stuck) w.end();
    await Promise.all(runs);
    expect([slots.held, slots.waiting, slots.heldBy('shop')]).toEqual([0, 0, 0]);
  });

  test('when every slot is held, a freed one goes to the oldest waiter whose owner may take it', async () => {
    const slots = new Slots(2, 1_000, 'a test slot', 1);
    const [a, b] = [held(), held()];
    const order: string[] = [];
    const holding = [slots.run(a.work, 'shop'), slots.run(b.work, 'wallets')];
    // Both owners are at their budget of one: a shop waiter first, then a wallets waiter.
    const waiting = [
      slots.run(async () => void order.push('shop'), 'shop'),
      slots.run(async () => void order.push('wallets'), 'wallets'),
    ];
    await nextTurn();
    expect(slots.waiting).toBe(2);
    // The wallets' slot is freed: the older shop waiter may not take it (the shop is at its
    // budget), so the wallets' waiter does.
    b.end();
    await waiting[1];
    expect(order).toEqual(['wallets']);
    a.end();
    await Promise.all([...holding, ...waiting]);
    expect(order).toEqual(['wallets', 'shop']);
    expect([slots.held, slots.waiting]).toEqual([0, 0]);
  });
});
