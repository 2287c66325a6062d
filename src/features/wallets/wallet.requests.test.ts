// What a wallet request may say: bodies, path ids, pages and Idempotency-Key, and their 422 issues.
import { describe, expect, test } from 'vitest';
import { cases } from '../../../test/support/cases.ts';
import { AppError } from '../../platform/errors.ts';
import { JsonNumber, parseJsonExact } from '../../platform/http/json.ts';
import {
  canonicalUuid,
  type Issue,
  MONEY_MAX,
  OPERATIONS_PAGE,
  parseCreate,
  parseIdempotencyKey,
  parseOperation,
  parseOriginalOperation,
  parsePage,
  parseWalletId,
  WALLETS_PAGE,
  WalletValidationError,
} from './wallet.requests.ts';

const WALLET = '3f2a9c4e-8b1d-4e6f-9a7c-0d5e1b2c3a4f';
const MAX_TEXT = MONEY_MAX.toString();
/** A number as parseJsonExact keeps it: its double and its exact text. */
const jsonNumber = (source: string) => new JsonNumber(Number(source), source);

/** The issues of the WalletValidationError `work` throws; fails if it throws nothing or else. */
function issuesOf(work: () => unknown): readonly Issue[] {
  try {
    work();
  } catch (err) {
    if (err instanceof WalletValidationError) return err.issues;
    throw err;
  }
  throw new Error('accepted');
}

/** Just where and what kind, for checks where the message says nothing more. */
const kinds = (issues: readonly Issue[]) => issues.map(({ loc, type }) => ({ loc, type }));

const MISSING = 'Field required';
const EXTRA = 'Extra inputs are not permitted';
const NOT_AN_OBJECT = 'Input should be a valid dictionary or object to extract fields from';
const NOT_ENUM = "Input should be 'DEPOSIT' or 'WITHDRAW'";
const NOT_UUID = 'Input should be a valid UUID';
const NOT_INT = 'Input should be a valid integer';
const NOT_INT_TEXT = 'Input should be a valid integer, unable to parse string as an integer';
const FRACTION = 'Input should be a valid integer, got a number with a fractional part';
const AT_LEAST_1 = 'Input should be greater than or equal to 1';
const AT_MOST_MAX = `Input should be less than or equal to ${MAX_TEXT}`;

describe('WalletValidationError', () => {
  test('is an AppError with status 422 that keeps its issues and joins their messages', () => {
    const issues: Issue[] = [
      { loc: ['body', 'amount'], msg: 'first', type: 'a' },
      { loc: ['query', 'limit'], msg: 'second', type: 'b' },
    ];
    const error = new WalletValidationError(issues);
    expect(error).toBeInstanceOf(AppError);
    expect(error.status).toBe(422);
    expect(error.spec.code).toBe('INVALID_REQUEST');
    expect(error.issues).toEqual(issues);
    expect(error.message).toBe('first; second');
  });

  test('is what the parsers throw for a bad request', () => {
    let thrown: unknown;
    try {
      parseOperation(undefined);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(WalletValidationError);
    expect(thrown).toBeInstanceOf(AppError);
    expect((thrown as AppError).status).toBe(422);
  });
});

describe('parseOperation', () => {
  cases(
    'accepts an operation written as',
    [
      ['{"operation_type":"DEPOSIT","amount":1}', 'DEPOSIT', '1'],
      ['{"operationType":"WITHDRAW","amount":1}', 'WITHDRAW', '1'],
      ['{"amount":7,"operation_type":"WITHDRAW"}', 'WITHDRAW', '7'],
      ['{"operation_type":"DEPOSIT","amount":10.0}', 'DEPOSIT', '10'],
      ['{"operation_type":"DEPOSIT","amount":1e3}', 'DEPOSIT', '1000'],
      ['{"operation_type":"DEPOSIT","amount":1E+3}', 'DEPOSIT', '1000'],
      ['{"operation_type":"DEPOSIT","amount":1e18}', 'DEPOSIT', '1000000000000000000'],
      ['{"operation_type":"DEPOSIT","amount":"42"}', 'DEPOSIT', '42'],
      ['{"operation_type":"DEPOSIT","amount":9007199254740993}', 'DEPOSIT', '9007199254740993'],
      [`{"operation_type":"DEPOSIT","amount":${MAX_TEXT}}`, 'DEPOSIT', MAX_TEXT],
      [`{"operation_type":"DEPOSIT","amount":${MAX_TEXT}.0}`, 'DEPOSIT', MAX_TEXT],
      ['{"operation_type":"DEPOSIT","amount":92233720368547758.07e2}', 'DEPOSIT', MAX_TEXT],
      [`{"operationType":"WITHDRAW","amount":"${MAX_TEXT}"}`, 'WITHDRAW', MAX_TEXT],
    ] as const,
    ([json, type, amount]) => {
      expect(parseOperation(parseJsonExact(json))).toStrictEqual({ type, amount: BigInt(amount) });
    },
  );

  test('accepts 2^63 − 1 given as a JsonNumber', () => {
    const body = { operation_type: 'DEPOSIT', amount: jsonNumber(MAX_TEXT) };
    expect(parseOperation(body)).toStrictEqual({ type: 'DEPOSIT', amount: MONEY_MAX });
  });

  test('refuses a missing body as missing', () => {
    expect(issuesOf(() => parseOperation(undefined))).toEqual([
      { loc: ['body'], msg: MISSING, type: 'missing' },
    ]);
  });

  cases('refuses a body that is not an object', [null, [], [1], 5, 'x', '', true], (body) => {
    expect(issuesOf(() => parseOperation(body))).toEqual([
      { loc: ['body'], msg: NOT_AN_OBJECT, type: 'model_attributes_type' },
    ]);
  });

  cases(
    'reports each missing field as missing',
    [
      [{}, ['operation_type', 'amount']],
      [{ amount: 1 }, ['operation_type']],
      [{ operation_type: 'DEPOSIT' }, ['amount']],
      [{ operationType: 'DEPOSIT' }, ['amount']],
    ] as const,
    ([body, fields]) => {
      expect(issuesOf(() => parseOperation(body))).toEqual(
        fields.map((field) => ({ loc: ['body', field], msg: MISSING, type: 'missing' })),
      );
    },
  );

  test('refuses both spellings of the operation type at once, even when they agree', () => {
    const body = { operation_type: 'DEPOSIT', operationType: 'DEPOSIT', amount: 1 };
    expect(issuesOf(() => parseOperation(body))).toEqual([
      {
        loc: ['body', 'operationType'],
        msg: 'Give one of operation_type and operationType, not both',
        type: 'extra_forbidden',
      },
    ]);
  });

  cases(
    'refuses an unknown field as extra',
    ['note', 'walletId', 'valletId', 'Amount', 'operation-type', '__proto__'],
    (name) => {
      const body = parseJsonExact(`{"operation_type":"DEPOSIT","amount":1,"${name}":0}`);
      expect(issuesOf(() => parseOperation(body))).toEqual([
        { loc: ['body', name], msg: EXTRA, type: 'extra_forbidden' },
      ]);
    },
  );

  test('shows only the first 64 characters of a long unknown field name', () => {
    const name = `${'n'.repeat(64)}${'x'.repeat(1000)}`;
    const body = { operation_type: 'DEPOSIT', amount: 1, [name]: 0 };
    expect(issuesOf(() => parseOperation(body))).toEqual([
      { loc: ['body', `${'n'.repeat(64)}…`], msg: EXTRA, type: 'extra_forbidden' },
    ]);
  });

  test('shows a 64-character unknown field name whole', () => {
    const name = 'n'.repeat(64);
    const body = { operation_type: 'DEPOSIT', amount: 1, [name]: 0 };
    expect(issuesOf(() => parseOperation(body))).toEqual([
      { loc: ['body', name], msg: EXTRA, type: 'extra_forbidden' },
    ]);
  });

  cases(
    'refuses an operation type other than DEPOSIT or WITHDRAW',
    ['deposit', 'Withdraw', '', 'DEPOSIT ', 'TRANSFER', 1, null, true, ['DEPOSIT'], {}],
    (operationType) => {
      const body = { operation_type: operationType, amount: 1 };
      expect(issuesOf(() => parseOperation(body))).toEqual([
        { loc: ['body', 'operation_type'], msg: NOT_ENUM, type: 'enum' },
      ]);
    },
  );

  cases(
    'refuses the amount (written in JSON as shown)',
    [
      ['0', 'greater_than_equal', AT_LEAST_1],
      ['-0', 'greater_than_equal', AT_LEAST_1],
      ['-1', 'greater_than_equal', AT_LEAST_1],
      ['-9223372036854775809', 'greater_than_equal', AT_LEAST_1],
      ['-1e400', 'greater_than_equal', AT_LEAST_1],
      ['"0"', 'greater_than_equal', AT_LEAST_1],
      ['"-5"', 'greater_than_equal', AT_LEAST_1],
      ['9223372036854775808', 'less_than_equal', AT_MOST_MAX],
      ['"9223372036854775808"', 'less_than_equal', AT_MOST_MAX],
      ['9223372036854775808.0', 'less_than_equal', AT_MOST_MAX],
      ['1e19', 'less_than_equal', AT_MOST_MAX],
      ['1e400', 'less_than_equal', AT_MOST_MAX],
      ['1'.repeat(70), 'less_than_equal', AT_MOST_MAX],
      ['1.5', 'int_from_float', FRACTION],
      ['0.5', 'int_from_float', FRACTION],
      ['-1.5', 'int_from_float', FRACTION],
      ['1e-2', 'int_from_float', FRACTION],
      ['9223372036854775807.5', 'int_from_float', FRACTION],
      ['true', 'int_type', NOT_INT],
      ['false', 'int_type', NOT_INT],
      ['null', 'int_type', NOT_INT],
      ['{}', 'int_type', NOT_INT],
      ['[]', 'int_type', NOT_INT],
      ['[1]', 'int_type', NOT_INT],
      ['"1.5"', 'int_parsing', NOT_INT_TEXT],
      ['""', 'int_parsing', NOT_INT_TEXT],
      ['"abc"', 'int_parsing', NOT_INT_TEXT],
      ['"1e3"', 'int_parsing', NOT_INT_TEXT],
      ['" 1"', 'int_parsing', NOT_INT_TEXT],
      ['"0x10"', 'int_parsing', NOT_INT_TEXT],
    ] as const,
    ([amount, type, msg]) => {
      const body = parseJsonExact(`{"operation_type":"DEPOSIT","amount":${amount}}`);
      expect(issuesOf(() => parseOperation(body))).toEqual([
        { loc: ['body', 'amount'], msg, type },
      ]);
    },
  );

  test('refuses 2^63 given as a JsonNumber as too large', () => {
    const body = { operation_type: 'DEPOSIT', amount: jsonNumber('9223372036854775808') };
    expect(issuesOf(() => parseOperation(body))).toEqual([
      { loc: ['body', 'amount'], msg: AT_MOST_MAX, type: 'less_than_equal' },
    ]);
  });

  test('reports every problem of a body together, in one error', () => {
    const body = { operationType: 'deposit', amount: '1.5', note: 'hi', memo: 1 };
    expect(issuesOf(() => parseOperation(body))).toEqual([
      { loc: ['body', 'note'], msg: EXTRA, type: 'extra_forbidden' },
      { loc: ['body', 'memo'], msg: EXTRA, type: 'extra_forbidden' },
      { loc: ['body', 'operation_type'], msg: NOT_ENUM, type: 'enum' },
      { loc: ['body', 'amount'], msg: NOT_INT_TEXT, type: 'int_parsing' },
    ]);
  });

  test('reports a missing field together with a bad one and an unknown one', () => {
    const body = { amount: 0, extra: true };
    expect(kinds(issuesOf(() => parseOperation(body)))).toEqual([
      { loc: ['body', 'operation_type'], type: 'missing' },
      { loc: ['body', 'extra'], type: 'extra_forbidden' },
      { loc: ['body', 'amount'], type: 'greater_than_equal' },
    ]);
  });
});

describe('parseOriginalOperation', () => {
  cases(
    'accepts the original route body with the wallet written as',
    [
      ['walletId', WALLET],
      ['valletId', WALLET],
      ['walletId', WALLET.toUpperCase()],
      ['valletId', WALLET.replaceAll('-', '')],
      ['walletId', WALLET.replaceAll('-', '').toUpperCase()],
    ] as const,
    ([field, walletId]) => {
      const body = { operationType: 'WITHDRAW', amount: 5, [field]: walletId };
      expect(parseOriginalOperation(body)).toStrictEqual({
        type: 'WITHDRAW',
        amount: 5n,
        walletId: WALLET,
      });
    },
  );

  test('accepts an exact amount beyond 2^53 on the original route', () => {
    const body = parseJsonExact(
      `{"valletId":"${WALLET}","operation_type":"DEPOSIT","amount":${MAX_TEXT}}`,
    );
    expect(parseOriginalOperation(body)).toStrictEqual({
      type: 'DEPOSIT',
      amount: MONEY_MAX,
      walletId: WALLET,
    });
  });

  test('refuses a missing body as missing', () => {
    expect(issuesOf(() => parseOriginalOperation(undefined))).toEqual([
      { loc: ['body'], msg: MISSING, type: 'missing' },
    ]);
  });

  cases('refuses a body that is not an object', [null, [], 5, 'x'], (body) => {
    expect(kinds(issuesOf(() => parseOriginalOperation(body)))).toEqual([
      { loc: ['body'], type: 'model_attributes_type' },
    ]);
  });

  test('reports the missing wallet id, and every other missing field, as missing', () => {
    expect(
      issuesOf(() => parseOriginalOperation({ operation_type: 'DEPOSIT', amount: 1 })),
    ).toEqual([{ loc: ['body', 'walletId'], msg: MISSING, type: 'missing' }]);
    expect(kinds(issuesOf(() => parseOriginalOperation({})))).toEqual([
      { loc: ['body', 'operation_type'], type: 'missing' },
      { loc: ['body', 'amount'], type: 'missing' },
      { loc: ['body', 'walletId'], type: 'missing' },
    ]);
  });

  test('refuses both spellings of the wallet id at once', () => {
    const body = { operation_type: 'DEPOSIT', amount: 1, walletId: WALLET, valletId: WALLET };
    expect(issuesOf(() => parseOriginalOperation(body))).toEqual([
      {
        loc: ['body', 'valletId'],
        msg: 'Give one of walletId and valletId, not both',
        type: 'extra_forbidden',
      },
    ]);
  });

  cases(
    'refuses a wallet id that is not a UUID',
    ['', 'not-a-uuid', `${WALLET}0`, WALLET.slice(1), 5, null, [WALLET], {}],
    (walletId) => {
      const body = { operation_type: 'DEPOSIT', amount: 1, walletId };
      expect(issuesOf(() => parseOriginalOperation(body))).toEqual([
        { loc: ['body', 'walletId'], msg: NOT_UUID, type: 'uuid_parsing' },
      ]);
    },
  );

  test('refuses an unknown field on the original route too', () => {
    const body = { operation_type: 'DEPOSIT', amount: 1, walletId: WALLET, wallet_id: WALLET };
    expect(issuesOf(() => parseOriginalOperation(body))).toEqual([
      { loc: ['body', 'wallet_id'], msg: EXTRA, type: 'extra_forbidden' },
    ]);
  });

  test('reports a bad wallet id together with the operation problems', () => {
    const body = { valletId: 'nope', amount: 0 };
    expect(issuesOf(() => parseOriginalOperation(body))).toEqual([
      { loc: ['body', 'operation_type'], msg: MISSING, type: 'missing' },
      { loc: ['body', 'amount'], msg: AT_LEAST_1, type: 'greater_than_equal' },
      { loc: ['body', 'walletId'], msg: NOT_UUID, type: 'uuid_parsing' },
    ]);
  });
});

describe('parseCreate', () => {
  test('accepts no body and an empty object', () => {
    expect(() => parseCreate(undefined)).not.toThrow();
    expect(() => parseCreate({})).not.toThrow();
  });

  cases('refuses a body that is not an object', [null, [], 5, 'x', ''], (body) => {
    expect(issuesOf(() => parseCreate(body))).toEqual([
      { loc: ['body'], msg: NOT_AN_OBJECT, type: 'model_attributes_type' },
    ]);
  });

  test('refuses any field, each one reported', () => {
    expect(issuesOf(() => parseCreate({ balance: 100, walletId: WALLET }))).toEqual([
      { loc: ['body', 'balance'], msg: EXTRA, type: 'extra_forbidden' },
      { loc: ['body', 'walletId'], msg: EXTRA, type: 'extra_forbidden' },
    ]);
  });
});

const UUID_FORMS = [
  WALLET,
  WALLET.toUpperCase(),
  WALLET.replaceAll('-', ''),
  WALLET.replaceAll('-', '').toUpperCase(),
  '3F2A9C4E-8b1d-4E6F-9a7c-0D5E1B2C3A4F',
];

const NOT_UUIDS = [
  '',
  'not-a-uuid',
  `${WALLET}0`,
  WALLET.slice(0, -1),
  WALLET.replace('3f', 'g3'),
  ` ${WALLET}`,
  `${WALLET}\n`,
  '3f2a9c4-e8b1d-4e6f-9a7c-0d5e1b2c3a4f',
  '3f2a9c4e--8b1d-4e6f-9a7c-0d5e1b2c3a4f',
];

describe('canonicalUuid and parseWalletId', () => {
  cases('canonicalise a UUID to lowercase with hyphens', UUID_FORMS, (form) => {
    expect(canonicalUuid(form)).toBe(WALLET);
    expect(parseWalletId(form)).toBe(WALLET);
  });

  cases('refuse a text that is not a UUID', NOT_UUIDS, (text) => {
    expect(canonicalUuid(text)).toBeNull();
    expect(issuesOf(() => parseWalletId(text))).toEqual([
      { loc: ['path', 'wallet_id'], msg: NOT_UUID, type: 'uuid_parsing' },
    ]);
  });

  test('parseWalletId reports the location it is given', () => {
    expect(issuesOf(() => parseWalletId('x', ['body', 'walletId']))).toEqual([
      { loc: ['body', 'walletId'], msg: NOT_UUID, type: 'uuid_parsing' },
    ]);
  });
});

describe('parsePage', () => {
  test('defaults to 100 wallets or 50 operations and no cursor', () => {
    expect(parsePage(undefined, 'after', WALLETS_PAGE)).toEqual({ limit: 100, cursor: null });
    expect(parsePage({}, 'after', WALLETS_PAGE)).toEqual({ limit: 100, cursor: null });
    expect(parsePage(null, 'before', OPERATIONS_PAGE)).toEqual({ limit: 50, cursor: null });
    expect(parsePage({}, 'before', OPERATIONS_PAGE)).toEqual({ limit: 50, cursor: null });
  });

  cases(
    'accepts the limit',
    [
      ['1', 1],
      ['50', 50],
      ['1000', 1000],
      [' 5', 5],
      ['5 ', 5],
      ['+7', 7],
      ['007', 7],
    ] as const,
    ([limit, expected]) => {
      expect(parsePage({ limit }, 'after', WALLETS_PAGE)).toEqual({
        limit: expected,
        cursor: null,
      });
    },
  );

  cases(
    'refuses the limit',
    [
      ['0', 'greater_than_equal', 'Input should be greater than or equal to 1'],
      ['-1', 'greater_than_equal', 'Input should be greater than or equal to 1'],
      ['1001', 'less_than_equal', 'Input should be less than or equal to 1000'],
      ['abc', 'int_parsing', NOT_INT_TEXT],
      ['', 'int_parsing', NOT_INT_TEXT],
      [' ', 'int_parsing', NOT_INT_TEXT],
      ['1.5', 'int_parsing', NOT_INT_TEXT],
      ['1e2', 'int_parsing', NOT_INT_TEXT],
      ['5 5', 'int_parsing', NOT_INT_TEXT],
    ] as const,
    ([limit, type, msg]) => {
      expect(issuesOf(() => parsePage({ limit }, 'after', WALLETS_PAGE))).toEqual([
        { loc: ['query', 'limit'], msg, type },
      ]);
    },
  );

  test('takes the last of a repeated parameter', () => {
    expect(parsePage({ limit: ['5', '7'] }, 'after', WALLETS_PAGE).limit).toBe(7);
    expect(parsePage({ limit: ['abc', '7'] }, 'after', WALLETS_PAGE).limit).toBe(7);
    expect(kinds(issuesOf(() => parsePage({ limit: ['7', '0'] }, 'after', WALLETS_PAGE)))).toEqual([
      { loc: ['query', 'limit'], type: 'greater_than_equal' },
    ]);
    const other = '00000000-0000-0000-0000-000000000001';
    expect(parsePage({ before: [WALLET, other] }, 'before', OPERATIONS_PAGE).cursor).toBe(other);
  });

  cases('reads the cursor in any UUID form, canonicalised', UUID_FORMS, (cursor) => {
    expect(parsePage({ after: cursor }, 'after', WALLETS_PAGE)).toEqual({
      limit: 100,
      cursor: WALLET,
    });
    expect(parsePage({ before: cursor, limit: '3' }, 'before', OPERATIONS_PAGE)).toEqual({
      limit: 3,
      cursor: WALLET,
    });
  });

  cases('refuses a cursor that is not a UUID', NOT_UUIDS, (cursor) => {
    expect(issuesOf(() => parsePage({ after: cursor }, 'after', WALLETS_PAGE))).toEqual([
      { loc: ['query', 'after'], msg: NOT_UUID, type: 'uuid_parsing' },
    ]);
    expect(issuesOf(() => parsePage({ before: cursor }, 'before', OPERATIONS_PAGE))).toEqual([
      { loc: ['query', 'before'], msg: NOT_UUID, type: 'uuid_parsing' },
    ]);
  });

  test('reads only the cursor it is asked for', () => {
    expect(parsePage({ before: 'x' }, 'after', WALLETS_PAGE)).toEqual({ limit: 100, cursor: null });
  });

  test('reports a bad limit and a bad cursor together', () => {
    expect(
      kinds(issuesOf(() => parsePage({ limit: '0', after: 'x' }, 'after', WALLETS_PAGE))),
    ).toEqual([
      { loc: ['query', 'limit'], type: 'greater_than_equal' },
      { loc: ['query', 'after'], type: 'uuid_parsing' },
    ]);
  });
});

describe('parseIdempotencyKey', () => {
  test('is null when the header is absent', () => {
    expect(parseIdempotencyKey(undefined)).toBeNull();
  });

  cases(
    'accepts a key of printable ASCII, 1 to 255 characters',
    ['k', 'k'.repeat(255), WALLET, 'order 42: ~!@#$%^&*()_+{}|"<>?', ' ', '~'],
    (key) => {
      expect(parseIdempotencyKey(key)).toBe(key);
    },
  );

  cases(
    'refuses the key',
    [
      ['', 'string_too_short', 'String should have at least 1 character'],
      ['k'.repeat(256), 'string_too_long', 'String should have at most 255 characters'],
      ['k'.repeat(10_000), 'string_too_long', 'String should have at most 255 characters'],
      ['clé', 'string_pattern_mismatch', 'Idempotency-Key should be printable ASCII'],
      ['key😀', 'string_pattern_mismatch', 'Idempotency-Key should be printable ASCII'],
      ['a\tb', 'string_pattern_mismatch', 'Idempotency-Key should be printable ASCII'],
      ['a\nb', 'string_pattern_mismatch', 'Idempotency-Key should be printable ASCII'],
      ['\u0000', 'string_pattern_mismatch', 'Idempotency-Key should be printable ASCII'],
      ['a\u007f', 'string_pattern_mismatch', 'Idempotency-Key should be printable ASCII'],
      ['\u00a0', 'string_pattern_mismatch', 'Idempotency-Key should be printable ASCII'],
    ] as const,
    ([key, type, msg]) => {
      expect(issuesOf(() => parseIdempotencyKey(key))).toEqual([
        { loc: ['header', 'idempotency-key'], msg, type },
      ]);
    },
  );

  test('refuses a key sent more than once', () => {
    expect(issuesOf(() => parseIdempotencyKey(['a', 'b']))).toEqual([
      { loc: ['header', 'idempotency-key'], msg: 'Give one Idempotency-Key', type: 'too_many' },
    ]);
    expect(kinds(issuesOf(() => parseIdempotencyKey(['a', 'a'])))).toEqual([
      { loc: ['header', 'idempotency-key'], type: 'too_many' },
    ]);
  });
});
