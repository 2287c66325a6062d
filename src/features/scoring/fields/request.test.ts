import { describe, expect, test } from 'vitest';
import { cases } from '../../../../test/support/cases.ts';
import { JsonNumber } from '../../../platform/http/json.ts';
import { clientsInterestsRequest, methodRequest, onlineScoreRequest } from '../scoring.requests.ts';
import { charField, genderField } from './fields.ts';
import {
  declareRequest,
  type Fields,
  type RequestDeclaration,
  validateRequest,
} from './request.ts';

const context = { today: { year: 2026, month: 11, day: 21 } };

function errorsOf<F extends Fields>(
  declaration: RequestDeclaration<F>,
  input: Record<string, unknown>,
): readonly string[] {
  const result = validateRequest(declaration, input, context);
  if (result.ok) throw new Error(`accepted ${JSON.stringify(input)}`);
  return result.errors;
}

const envelope = {
  account: 'horns&hoofs',
  login: 'h&f',
  token: 'x',
  arguments: { phone: '79175002040' },
  method: 'm',
};

describe('validateRequest on the method envelope', () => {
  test('accepts a full envelope and returns each value', () => {
    const result = validateRequest(methodRequest, envelope, context);
    expect(result).toEqual({
      ok: true,
      values: envelope,
      present: ['account', 'login', 'token', 'arguments', 'method'],
    });
  });

  cases(
    'reports a missing required key',
    ['login', 'token', 'arguments', 'method'] as const,
    (name) => {
      const { [name]: _, ...input } = envelope;
      expect(errorsOf(methodRequest, input)).toEqual([`${name}: is required`]);
    },
  );

  test('lets the optional account be missing, and returns it as null', () => {
    const { account: _, ...input } = envelope;
    const result = validateRequest(methodRequest, input, context);
    expect(result.ok && result.values.account).toBeNull();
  });

  cases(
    'accepts an empty value in a nullable field',
    [
      ['login', ''],
      ['login', null],
      ['token', ''],
      ['arguments', {}],
      ['arguments', null],
      ['account', ''],
    ] as const,
    ([name, value]) => {
      const result = validateRequest(methodRequest, { ...envelope, [name]: value }, context);
      expect(result.ok).toBe(true);
      if (result.ok) {
        expect(result.values[name]).toBeNull();
        expect(result.present).not.toContain(name);
      }
    },
  );

  cases('refuses an empty method', ['', null, [], {}], (method) => {
    expect(errorsOf(methodRequest, { ...envelope, method })).toEqual(['method: must not be empty']);
  });

  test('reports every invalid field, in declaration order, whatever the input order', () => {
    const input = { method: 1, arguments: [1], token: 2, login: 3, account: 4 };
    expect(errorsOf(methodRequest, input)).toEqual([
      'account: must be a string',
      'login: must be a string',
      'token: must be a string',
      'arguments: must be a JSON object',
      'method: must be a string',
    ]);
  });

  test('reports missing and invalid fields together', () => {
    expect(errorsOf(methodRequest, { account: 1, token: '' })).toEqual([
      'account: must be a string',
      'login: is required',
      'arguments: is required',
      'method: is required',
    ]);
  });

  test('ignores keys it does not declare', () => {
    const result = validateRequest(
      methodRequest,
      { ...envelope, extra: 1, constructor: 'x', toString: 2 },
      context,
    );
    expect(result.ok).toBe(true);
    if (result.ok) expect(Object.keys(result.values)).toEqual(Object.keys(envelope));
  });

  test('does not read inherited properties as present', () => {
    const input = Object.create({ login: 'h&f', token: 'x', arguments: {}, method: 'm' });
    expect(errorsOf(methodRequest, input)).toEqual([
      'login: is required',
      'token: is required',
      'arguments: is required',
      'method: is required',
    ]);
  });
});

describe('validateRequest on online_score arguments', () => {
  cases(
    'accepts each pair alone',
    [
      { phone: '79175002040', email: 'a@b' },
      { phone: 79175002040, email: 'a@b' },
      { first_name: 'a', last_name: 'b' },
      { gender: 1, birthday: '01.01.2000' },
      { gender: 0, birthday: '01.01.2000' },
    ],
    (input) => {
      expect(validateRequest(onlineScoreRequest, input, context).ok).toBe(true);
    },
  );

  cases(
    'refuses arguments without a complete pair',
    [
      {},
      { phone: '79175002040' },
      { phone: '79175002040', first_name: 'a', gender: 1 },
      { email: 'a@b', last_name: 'b', birthday: '01.01.2000' },
      { phone: '79175002040', email: '' },
      { first_name: 'a', last_name: null },
      { gender: 1, birthday: '' },
    ],
    (input) => {
      const errors = errorsOf(onlineScoreRequest, input);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/^arguments: at least one pair must be non-empty: /);
      expect(errors[0]).toContain('phone+email, first_name+last_name, gender+birthday');
    },
  );

  test('does not run the pair rule while a field is invalid', () => {
    expect(errorsOf(onlineScoreRequest, { phone: '89175002040' })).toEqual([
      'phone: must be 11 digits starting with 7',
    ]);
  });

  test('reports every invalid argument, in declaration order', () => {
    const input = {
      gender: '1',
      birthday: '30.02.2000',
      last_name: 1,
      first_name: ['a'],
      email: 'no-at',
      phone: new JsonNumber(79175002040, '79175002040.0'),
    };
    expect(errorsOf(onlineScoreRequest, input)).toEqual([
      'phone: must be an integer, not a float',
      'email: must contain @',
      'first_name: must be a string',
      'last_name: must be a string',
      'birthday: must be a real calendar date DD.MM.YYYY',
      'gender: must be an integer 0, 1 or 2',
    ]);
  });

  test('lists as present the non-empty arguments, gender 0 and an integer phone included', () => {
    const input = {
      gender: 0,
      birthday: '01.01.2000',
      first_name: '',
      last_name: null,
      phone: 79175002040,
      unknown: 'x',
    };
    const result = validateRequest(onlineScoreRequest, input, context);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.present).toEqual(['phone', 'birthday', 'gender']);
    expect(result.values).toEqual({
      phone: '79175002040',
      email: null,
      first_name: null,
      last_name: null,
      birthday: { year: 2000, month: 1, day: 1 },
      gender: 0,
    });
  });
});

describe('validateRequest on clients_interests arguments', () => {
  test('accepts ids with an optional date', () => {
    const result = validateRequest(
      clientsInterestsRequest,
      { client_ids: [1, 2], date: '20.07.2017' },
      context,
    );
    expect(result).toEqual({
      ok: true,
      values: { client_ids: [1, 2], date: { year: 2017, month: 7, day: 20 } },
      present: ['client_ids', 'date'],
    });
  });

  test('requires the ids', () => {
    expect(errorsOf(clientsInterestsRequest, { date: '20.07.2017' })).toEqual([
      'client_ids: is required',
    ]);
  });

  cases('refuses an empty id list', [[], null, ''], (ids) => {
    expect(errorsOf(clientsInterestsRequest, { client_ids: ids })).toEqual([
      'client_ids: must not be empty',
    ]);
  });

  test('reports bad ids and a bad date together', () => {
    expect(errorsOf(clientsInterestsRequest, { client_ids: [-1], date: 'XXX' })).toEqual([
      'client_ids: must hold only non-negative integers',
      'date: must be a real calendar date DD.MM.YYYY',
    ]);
  });
});

describe('declareRequest rules', () => {
  test('run only once every field is valid, and all their reasons are reported', () => {
    const calls: unknown[] = [];
    const declaration = declareRequest({ name: charField({ required: true, nullable: true }) }, [
      (values) => {
        calls.push(values.name);
        return 'first rule';
      },
      () => 'second rule',
      () => null,
    ]);
    expect(errorsOf(declaration, { name: 1 })).toEqual(['name: must be a string']);
    expect(calls).toEqual([]);
    expect(errorsOf(declaration, { name: 'x' })).toEqual(['first rule', 'second rule']);
    expect(calls).toEqual(['x']);
  });

  test('see null for a missing or empty field, and the checked value otherwise', () => {
    const seen: unknown[] = [];
    const declaration = declareRequest(
      {
        a: genderField({ required: false, nullable: true }),
        b: genderField({ required: false, nullable: true }),
        c: genderField({ required: false, nullable: true }),
      },
      [
        (values) => {
          seen.push(values.a, values.b, values.c);
          return null;
        },
      ],
    );
    expect(validateRequest(declaration, { b: null, c: 0 }, context).ok).toBe(true);
    expect(seen).toEqual([null, null, 0]);
  });

  test('a declaration is frozen', () => {
    expect(Object.isFrozen(onlineScoreRequest)).toBe(true);
  });
});
