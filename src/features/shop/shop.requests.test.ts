import { describe, expect, test } from 'vitest';
import { AppError } from '../../platform/errors.ts';
import { bearerToken, parseIdempotencyKey, parseSendCoin } from './shop.requests.ts';
import { shopStatus } from './shop.routes.ts';

function refusal(work: () => unknown): AppError {
  try {
    work();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('accepted');
}

describe('shop requests', () => {
  test('amount accepts every whole number from 1 to 2^53 − 1', () => {
    for (const amount of [1, 2, 1000, Number.MAX_SAFE_INTEGER]) {
      expect(parseSendCoin({ toUser: 'b', amount }).amount).toBe(amount);
    }
  });

  test('ignores fields it does not know', () => {
    expect(parseSendCoin({ toUser: 'b', amount: 3, note: 'hi' })).toEqual({
      toUser: 'b',
      amount: 3,
    });
  });

  test.for(['Bearer abc', 'bearer abc', 'BEARER  abc ', 'Bearer a.b.c'])(
    'reads the token of %j',
    (header) => {
      expect(bearerToken(header)).toMatch(/^a/);
    },
  );

  test('a missing header is TOKEN_MISSING, a malformed one TOKEN_INVALID', () => {
    expect(refusal(() => bearerToken(undefined)).spec.code).toBe('TOKEN_MISSING');
    expect(refusal(() => bearerToken('')).spec.code).toBe('TOKEN_MISSING');
    expect(refusal(() => bearerToken('Bearer')).spec.code).toBe('TOKEN_INVALID');
  });

  test('Idempotency-Key: absent is null; sent twice or out of bounds is refused', () => {
    expect(parseIdempotencyKey(undefined)).toBeNull();
    expect(parseIdempotencyKey('k'.repeat(255))).toHaveLength(255);
    expect(refusal(() => parseIdempotencyKey(['a', 'b'])).message).toBe(
      'Idempotency-Key must be sent once',
    );
    expect(refusal(() => parseIdempotencyKey('k'.repeat(256))).status).toBe(400);
  });

  test.for([
    [400, 400],
    [401, 401],
    [404, 400],
    [413, 400],
    [415, 400],
    [500, 500],
    [503, 500],
  ])('the contract turns status %i into %i', ([status, expected]) => {
    expect(shopStatus(status as number)).toBe(expected);
  });
});
