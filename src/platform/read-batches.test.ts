import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { ReadBatches, type ReadMany } from './read-batches.ts';

/** A readMany whose calls are recorded and answered when the test says. */
function controlledReads() {
  const calls: {
    keys: readonly string[];
    answer: (values: Map<string, unknown>) => void;
    fail: (e: Error) => void;
  }[] = [];
  const readMany: ReadMany<string, unknown> = (keys) =>
    new Promise((resolve, reject) => {
      calls.push({ keys, answer: resolve, fail: reject });
    });
  return { calls, readMany };
}

/** Settles what a promise did without awaiting it (undefined while pending). */
function track<T>(promise: Promise<T>) {
  const state: { value?: T; error?: unknown; settled: boolean } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { value, settled: true }),
    (error) => Object.assign(state, { error, settled: true }),
  );
  return state;
}

const echo: ReadMany<string, string> = async (keys) => new Map(keys.map((k) => [k, `v:${k}`]));

describe('ReadBatches', () => {
  test('keys asked in one turn are read by one call, each key once, in arrival order', async () => {
    const seen: (readonly string[])[] = [];
    const batches = new ReadBatches<string, string>(
      (keys) => {
        seen.push(keys);
        return echo(keys);
      },
      { keysMax: 10, inFlightMax: 2 },
    );
    const answers = await Promise.all(['b', 'a', 'b', 'c', 'a'].map((k) => batches.load(k)));
    expect(answers).toEqual(['v:b', 'v:a', 'v:b', 'v:c', 'v:a']);
    expect(seen).toEqual([['b', 'a', 'c']]);
  });

  test('a key the read did not find is undefined; an Error fails that key alone', async () => {
    const batches = new ReadBatches<string, string>(
      async () =>
        new Map<string, string | Error>([
          ['ok', 'yes'],
          ['bad', new Error('bad row')],
        ]),
      { keysMax: 10, inFlightMax: 1 },
    );
    const [ok, bad, missing] = [batches.load('ok'), batches.load('bad'), batches.load('missing')];
    await expect(ok).resolves.toBe('yes');
    await expect(bad).rejects.toThrow('bad row');
    await expect(missing).resolves.toBeUndefined();
  });

  test('a failed call fails its own keys and no others', async () => {
    const { calls, readMany } = controlledReads();
    const batches = new ReadBatches(readMany, { keysMax: 2, inFlightMax: 2 });
    const results = ['a', 'b', 'c'].map((k) => track(batches.load(k)));
    await nextTurn();
    await nextTurn();
    expect(calls.map((c) => c.keys)).toEqual([['a', 'b'], ['c']]);
    calls[0]?.fail(new Error('connection lost'));
    calls[1]?.answer(new Map([['c', 3]]));
    await nextTurn();
    expect(results.map((r) => (r.error as Error | undefined)?.message ?? r.value)).toEqual([
      'connection lost',
      'connection lost',
      3,
    ]);
  });

  test('while the calls in flight are at their limit, new keys gather into one next call', async () => {
    const { calls, readMany } = controlledReads();
    const batches = new ReadBatches(readMany, { keysMax: 100, inFlightMax: 1 });
    const first = track(batches.load('a'));
    await nextTurn();
    expect(calls).toHaveLength(1);
    // Asked over several turns while 'a' is in flight, 'a' among them again.
    const later = [];
    for (const key of ['b', 'a', 'c']) {
      later.push(track(batches.load(key)));
      await nextTurn();
    }
    expect(calls).toHaveLength(1);
    calls[0]?.answer(new Map([['a', 'old a']]));
    await nextTurn();
    await nextTurn();
    // One call for all three; 'a' is read again, not given the answer of a read that started
    // before it was asked for.
    expect(calls.map((c) => c.keys)).toEqual([['a'], ['b', 'a', 'c']]);
    expect(first.value).toBe('old a');
    expect(later.every((r) => !r.settled)).toBe(true);
    calls[1]?.answer(
      new Map([
        ['a', 'new a'],
        ['b', 'b'],
        ['c', 'c'],
      ]),
    );
    await nextTurn();
    expect(later.map((r) => r.value)).toEqual(['b', 'new a', 'c']);
  });

  test('more keys than one call takes go out in several calls at once, up to the limit', async () => {
    const { calls, readMany } = controlledReads();
    const batches = new ReadBatches(readMany, { keysMax: 2, inFlightMax: 2 });
    for (const key of ['a', 'b', 'c', 'd', 'e']) void batches.load(key).catch(() => {});
    for (let i = 0; i < 4; i += 1) await nextTurn();
    expect(calls.map((c) => c.keys)).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    calls[0]?.answer(new Map());
    for (let i = 0; i < 3; i += 1) await nextTurn();
    expect(calls.map((c) => c.keys)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });

  test('once every key is answered, no further call is made', async () => {
    const { calls, readMany } = controlledReads();
    const batches = new ReadBatches(readMany, { keysMax: 10, inFlightMax: 2 });
    const answered = [track(batches.load('a')), track(batches.load('b'))];
    await nextTurn();
    calls[0]?.answer(new Map([['a', 1]]));
    for (let i = 0; i < 5; i += 1) await nextTurn();
    expect(answered.map((r) => r.settled)).toEqual([true, true]);
    expect(calls.map((c) => c.keys)).toEqual([['a', 'b']]);
  });

  test('limits of one are allowed: one key per call, one call at a time', async () => {
    const { calls, readMany } = controlledReads();
    const batches = new ReadBatches(readMany, { keysMax: 1, inFlightMax: 1 });
    const results = ['a', 'b'].map((k) => track(batches.load(k)));
    for (let i = 0; i < 3; i += 1) await nextTurn();
    expect(calls.map((c) => c.keys)).toEqual([['a']]);
    calls[0]?.answer(new Map([['a', 1]]));
    for (let i = 0; i < 3; i += 1) await nextTurn();
    expect(calls.map((c) => c.keys)).toEqual([['a'], ['b']]);
    calls[1]?.answer(new Map([['b', 2]]));
    await nextTurn();
    expect(results.map((r) => r.value)).toEqual([1, 2]);
  });

  test('limits below one are refused, saying what is needed', () => {
    const needed = 'read batches need at least one key and one call in flight';
    expect(() => new ReadBatches(echo, { keysMax: 0, inFlightMax: 1 })).toThrow(
      new RangeError(needed),
    );
    expect(() => new ReadBatches(echo, { keysMax: 1, inFlightMax: 0 })).toThrow(
      new RangeError(needed),
    );
  });
});
