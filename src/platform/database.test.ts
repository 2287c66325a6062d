import { describe, expect, test } from 'vitest';
import {
  isRetryableAbort,
  SWEEP_BATCH_MAX,
  sqlState,
  sweepInBatches,
  toSafeInteger,
  transactionSettings,
  writeSlotsOf,
} from './database.ts';

describe('database helpers', () => {
  test('find the SQLSTATE also inside a wrapping error', () => {
    const pgError = Object.assign(new Error('deadlock detected'), { code: '40P01' });
    const wrapped = Object.assign(new Error('Failed query'), { cause: pgError });
    expect(sqlState(wrapped)).toBe('40P01');
    expect(isRetryableAbort(wrapped)).toBe(true);
    expect(isRetryableAbort(Object.assign(new Error(), { code: '40001' }))).toBe(true);
  });

  test('do not retry other errors, or things that are not database errors', () => {
    expect(isRetryableAbort(Object.assign(new Error(), { code: '23505' }))).toBe(false);
    expect(isRetryableAbort(Object.assign(new Error(), { code: 'ECONNREFUSED' }))).toBe(false);
    expect(isRetryableAbort(new Error('plain'))).toBe(false);
    expect(isRetryableAbort(null)).toBe(false);
  });

  test('read bigint columns from either driver as numbers, refusing unsafe ones', () => {
    expect(toSafeInteger('1000')).toBe(1000);
    expect(toSafeInteger(7)).toBe(7);
    expect(toSafeInteger(12n)).toBe(12);
    expect(() => toSafeInteger('9007199254740993')).toThrow(/not a safe integer/);
    expect(() => toSafeInteger(null)).toThrow(/not a safe integer/);
  });
});

describe('writeSlotsOf', () => {
  test.each([
    [1, 1],
    [2, 1],
    [3, 2],
    [4, 2],
    [8, 4],
    [10, 6],
    [100, 96],
  ])('a pool of %i lets writes hold %i connections', (poolSize, slots) => {
    expect(writeSlotsOf(poolSize)).toBe(slots);
  });
});

describe('sweepInBatches', () => {
  test('deletes batch after batch until one comes back short, and sums them', async () => {
    const batches = [SWEEP_BATCH_MAX, SWEEP_BATCH_MAX, 7, SWEEP_BATCH_MAX];
    let calls = 0;
    const total = await sweepInBatches(async () => batches[calls++] ?? 0);
    expect(calls).toBe(3);
    expect(total).toBe(2 * SWEEP_BATCH_MAX + 7);
  });

  test('stops after a bounded number of full batches', async () => {
    let calls = 0;
    await sweepInBatches(async () => {
      calls += 1;
      return SWEEP_BATCH_MAX;
    });
    expect(calls).toBe(100);
  });
});

describe('transactionSettings', () => {
  test('sets both timeouts and the plan cache mode for the transaction only', () => {
    expect(transactionSettings(750).split('; ')).toEqual([
      'SET LOCAL statement_timeout = 750',
      'SET LOCAL idle_in_transaction_session_timeout = 750',
      'SET LOCAL plan_cache_mode = force_generic_plan',
    ]);
  });

  test.each([1.5, -1, Number.NaN, Number.POSITIVE_INFINITY, '5; RESET ALL' as unknown as number])(
    'refuses %s, as it is written into SQL text',
    (value) => {
      expect(() => transactionSettings(value)).toThrow(RangeError);
    },
  );
});
