import { describe, expect, test } from 'vitest';
import { cases } from '../../../test/support/cases.ts';
import { AppError } from '../../platform/errors.ts';
import { JsonNumber } from '../../platform/http/json.ts';
import {
  bearerToken,
  parseCredentials,
  parseIdempotencyKey,
  parseSendCoin,
} from './shop.requests.ts';
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

/** The message of the 400 the input gets, or 'accepted'. */
function verdict(work: () => unknown): string {
  try {
    work();
    return 'accepted';
  } catch (err) {
    if (err instanceof AppError && err.status === 400) return err.message;
    throw err;
  }
}

describe('parseCredentials', () => {
  test('takes a username and a password, and nothing else', () => {
    expect(parseCredentials({ username: 'alice', password: 'pw', role: 'admin' })).toEqual({
      username: 'alice',
      password: 'pw',
    });
  });

  cases(
    'a body that is not a JSON object is refused',
    [null, 'alice', 42, true, [], [{ username: 'a', password: 'b' }]],
    (body) => {
      expect(verdict(() => parseCredentials(body))).toBe('body must be a JSON object');
    },
  );

  cases(
    'each field is a non-empty string within its length, named in the message',
    [
      [{ password: 'pw' }, 'username is required'],
      [{ username: 'alice' }, 'password is required'],
      [{ username: 7, password: 'pw' }, 'username must be a string'],
      [{ username: 'alice', password: null }, 'password must be a string'],
      [{ username: '', password: 'pw' }, 'username must not be empty'],
      [{ username: 'alice', password: '' }, 'password must not be empty'],
      [{ username: 'a'.repeat(65), password: 'pw' }, 'username must be at most 64 characters'],
      [{ username: 'alice', password: 'p'.repeat(129) }, 'password must be at most 128 characters'],
      [{ username: 'a'.repeat(64), password: 'p'.repeat(128) }, 'accepted'],
      // Characters, not UTF-16 units: 64 emoji are 128 units and still a valid name.
      [{ username: '😀'.repeat(64), password: 'pw' }, 'accepted'],
      [{ username: '😀'.repeat(65), password: 'pw' }, 'username must be at most 64 characters'],
    ] as const,
    ([body, expected]) => {
      expect(verdict(() => parseCredentials(body))).toBe(expected);
    },
  );

  cases(
    'a lone surrogate has no UTF-8 form, in either field',
    [
      [{ username: 'a\ud800', password: 'pw' }, 'username must be valid Unicode text'],
      [{ username: 'alice', password: '\udc00x' }, 'password must be valid Unicode text'],
    ] as const,
    ([body, expected]) => {
      expect(verdict(() => parseCredentials(body))).toBe(expected);
    },
  );

  cases(
    'a username holds no control character (C0, DEL, C1); a password may',
    ['\u0000', '\u0009', '\u001f', '\u007f', '\u0080', '\u009f'],
    (control) => {
      expect(verdict(() => parseCredentials({ username: `a${control}b`, password: 'pw' }))).toBe(
        'username must not contain control characters',
      );
      expect(verdict(() => parseCredentials({ username: 'alice', password: `p${control}w` }))).toBe(
        'accepted',
      );
    },
  );

  cases(
    'the printable neighbours of the control ranges are names',
    [' ', '~', '\u00a0', 'é'],
    (char) => {
      expect(verdict(() => parseCredentials({ username: `a${char}b`, password: 'pw' }))).toBe(
        'accepted',
      );
    },
  );
});

describe('parseSendCoin', () => {
  const whole = 'amount must be a whole number from 1 to 9007199254740991';

  cases(
    'the recipient follows the username rules',
    [
      [{ amount: 1 }, 'toUser is required'],
      [{ toUser: '', amount: 1 }, 'toUser must not be empty'],
      [{ toUser: 'b\u0007', amount: 1 }, 'toUser must not contain control characters'],
      [{ toUser: 'b'.repeat(65), amount: 1 }, 'toUser must be at most 64 characters'],
    ] as const,
    ([body, expected]) => {
      expect(verdict(() => parseSendCoin(body))).toBe(expected);
    },
  );

  cases(
    'the amount is a JSON number, whole, from 1 to 2^53 − 1',
    [
      [undefined, 'amount is required'],
      ['10', 'amount must be a number'],
      [null, 'amount must be a number'],
      [0, whole],
      [-1, whole],
      [1.5, whole],
      [Number.MAX_SAFE_INTEGER + 1, whole],
      [Number.NaN, whole],
      [Number.POSITIVE_INFINITY, whole],
    ] as const,
    ([amount, expected]) => {
      expect(verdict(() => parseSendCoin({ toUser: 'b', amount }))).toBe(expected);
    },
  );

  test('an amount written with a point is whole only if its text is', () => {
    // 2.9999999999999999 is the double 3: the text, not the double, decides.
    expect(
      verdict(() =>
        parseSendCoin({ toUser: 'b', amount: new JsonNumber(3, '2.9999999999999999') }),
      ),
    ).toBe(whole);
    expect(parseSendCoin({ toUser: 'b', amount: new JsonNumber(3, '3.0') }).amount).toBe(3);
    expect(parseSendCoin({ toUser: 'b', amount: new JsonNumber(300, '3e2') }).amount).toBe(300);
  });

  test('a body that is not a JSON object is refused', () => {
    expect(verdict(() => parseSendCoin([]))).toBe('body must be a JSON object');
  });
});

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

  cases(
    'the scheme is Bearer from the first character, and the token is the whole rest',
    ['Basic abc', 'x Bearer abc', ' Bearer abc', 'Bearer abc def', 'Bearer\tabc', 'Bearerabc'],
    (header) => {
      const refused = refusal(() => bearerToken(header));
      expect([refused.spec.code, refused.message]).toEqual([
        'TOKEN_INVALID',
        'Authorization must be "Bearer <token>"',
      ]);
    },
  );

  test('Idempotency-Key: absent is null; sent twice or out of bounds is refused', () => {
    expect(parseIdempotencyKey(undefined)).toBeNull();
    expect(parseIdempotencyKey('k'.repeat(255))).toHaveLength(255);
    expect(refusal(() => parseIdempotencyKey(['a', 'b'])).message).toBe(
      'Idempotency-Key must be sent once',
    );
    expect(refusal(() => parseIdempotencyKey('k'.repeat(256))).status).toBe(400);
  });

  cases(
    'Idempotency-Key is 1 to 255 printable ASCII characters, every one of them',
    ['', 'é', 'key\u0000', '\u001fkey', 'ke\u007fy', 'k'.repeat(256)],
    (key) => {
      expect(verdict(() => parseIdempotencyKey(key))).toBe(
        'Idempotency-Key must be 1 to 255 printable ASCII characters',
      );
    },
  );

  cases(
    'Idempotency-Key takes any printable ASCII',
    [' ', '~', 'a b', '550e8400-e29b-41d4-a716-446655440000'],
    (key) => {
      expect(parseIdempotencyKey(key)).toBe(key);
    },
  );

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
