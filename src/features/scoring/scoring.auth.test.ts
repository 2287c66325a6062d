import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cases } from '../../../test/support/cases.ts';
import {
  ADMIN_LOGIN,
  adminToken,
  type Credentials,
  isAdmin,
  isAuthenticated,
  userToken,
} from './scoring.auth.ts';

const salts = { salt: 'Otus', adminSalt: '42' };
const sha512 = (text: string) => createHash('sha512').update(text).digest('hex');

// 14:05 local time on 9 March 2026, whatever the machine's time zone.
const NOW = new Date(2026, 2, 9, 14, 5, 30);
const ADMIN_TOKEN_NOW = sha512('2026030914' + '42');
const ADMIN_TOKEN_PREVIOUS_HOUR = sha512('2026030913' + '42');

const user: Credentials = {
  account: 'horns&hoofs',
  login: 'h&f',
  token: sha512('horns&hoofsh&fOtus'),
};
const admin = (token: string | null, account: string | null = null): Credentials => ({
  account,
  login: 'admin',
  token,
});

describe('userToken', () => {
  test("matches the spec's example for horns&hoofs / h&f", () => {
    expect(userToken('horns&hoofs', 'h&f', 'Otus')).toMatch(/^55cc9ce545bcd144300f/);
  });

  test('is the lowercase sha512 hex of account + login + salt', () => {
    expect(userToken('acc', 'log', 'salt')).toBe(sha512('acclogsalt'));
    expect(userToken('acc', 'log', 'salt')).toMatch(/^[0-9a-f]{128}$/);
  });

  test('counts a missing account or login as an empty string', () => {
    expect(userToken(null, 'h&f', 'Otus')).toBe(sha512('h&fOtus'));
    expect(userToken(null, 'h&f', 'Otus')).toBe(userToken('', 'h&f', 'Otus'));
    expect(userToken('a', null, 'Otus')).toBe(sha512('aOtus'));
  });
});

describe('adminToken', () => {
  test('is the sha512 hex of YYYYMMDDHH in local time + the admin salt', () => {
    expect(adminToken(NOW, '42')).toBe(ADMIN_TOKEN_NOW);
  });

  test('pads month, day and hour to two digits', () => {
    expect(adminToken(new Date(2027, 0, 2, 3, 59), '42')).toBe(sha512('2027010203' + '42'));
  });

  test('is the same for every minute of one hour', () => {
    expect(adminToken(new Date(2026, 2, 9, 14, 0, 0), '42')).toBe(ADMIN_TOKEN_NOW);
    expect(adminToken(new Date(2026, 2, 9, 14, 59, 59, 999), '42')).toBe(ADMIN_TOKEN_NOW);
  });

  describe('in a time zone far from UTC (Asia/Kathmandu, UTC+05:45)', () => {
    const previousZone = process.env.TZ;
    beforeAll(() => {
      process.env.TZ = 'Asia/Kathmandu';
    });
    afterAll(() => {
      if (previousZone === undefined) delete process.env.TZ;
      else process.env.TZ = previousZone;
    });

    test('takes the hour and the date from the local clock, not from UTC', () => {
      // 20:30 UTC on 9 March 2026 is 02:15 on 10 March in Kathmandu.
      const instant = new Date(Date.UTC(2026, 2, 9, 20, 30));
      expect(adminToken(instant, '42')).toBe(sha512('2026031002' + '42'));
      expect(adminToken(instant, '42')).not.toBe(sha512('2026030920' + '42'));
    });
  });

  test('uses the configured admin salt', () => {
    expect(adminToken(NOW, '43')).toBe(sha512('2026030914' + '43'));
  });
});

describe('isAuthenticated', () => {
  test('accepts the right user token', () => {
    expect(isAuthenticated(user, salts, NOW)).toBe(true);
  });

  test('accepts a user with a missing account whose token was made from ""', () => {
    expect(
      isAuthenticated({ account: null, login: 'h&f', token: sha512('h&fOtus') }, salts, NOW),
    ).toBe(true);
  });

  test('uses the configured salt', () => {
    expect(isAuthenticated(user, { ...salts, salt: 'Other' }, NOW)).toBe(false);
  });

  const good = user.token ?? '';
  cases(
    'rejects a user token that is',
    [
      ['wrong', sha512('horns&hoofsh&fotus')],
      ['empty', ''],
      ['missing', null],
      ['uppercase hex', good.toUpperCase()],
      ['one digit short', good.slice(0, -1)],
      ['one digit long', `${good}0`],
      ['truncated to the example prefix', '55cc9ce545bcd144300f'],
      ['padded with spaces', ` ${good.slice(1)}`],
      ['the admin token', ADMIN_TOKEN_NOW],
    ] as const,
    ([, token]) => {
      expect(isAuthenticated({ ...user, token }, salts, NOW)).toBe(false);
    },
  );

  test('accepts the admin token of the current hour, whatever the account', () => {
    expect(isAuthenticated(admin(ADMIN_TOKEN_NOW), salts, NOW)).toBe(true);
    expect(isAuthenticated(admin(ADMIN_TOKEN_NOW, 'horns&hoofs'), salts, NOW)).toBe(true);
  });

  cases(
    'rejects an admin token that is',
    [
      ['of the previous hour', ADMIN_TOKEN_PREVIOUS_HOUR],
      ['of the next hour', sha512('2026030915' + '42')],
      ['made with another salt', sha512('2026030914' + '43')],
      ['an ordinary user token', sha512('admin' + 'Otus')],
      ['empty', ''],
      ['missing', null],
      ['uppercase hex', ADMIN_TOKEN_NOW.toUpperCase()],
      ['of a different length', ADMIN_TOKEN_NOW.slice(0, 64)],
    ] as const,
    ([, token]) => {
      expect(isAuthenticated(admin(token), salts, NOW)).toBe(false);
    },
  );

  test('rejects a token with multibyte characters of the same length in UTF-16 units', () => {
    const token = `é${(user.token ?? '').slice(1)}`;
    expect(token.length).toBe(128);
    expect(isAuthenticated({ ...user, token }, salts, NOW)).toBe(false);
  });
});

describe('isAdmin', () => {
  cases(
    'recognises the admin login only',
    [
      ['admin', true],
      ['Admin', false],
      ['admin ', false],
      ['', false],
      [null, false],
    ] as const,
    ([login, expected]) => {
      expect(ADMIN_LOGIN).toBe('admin');
      expect(isAdmin({ account: null, login, token: null })).toBe(expected);
    },
  );
});
