// Every endpoint of the wallets and every error of their contract, over HTTP through app.inject,
// on the file's in-memory PGlite: exact money up to 2^63 − 1, both field spellings, the original
// route, FastAPI's error bodies, keyset pages, and Idempotency-Key replays; each test creates the
// wallets it needs.
import { beforeAll, describe, expect, test } from 'vitest';
import { WALLET_BODY_LIMIT_BYTES } from '../../src/features/wallets/wallet.routes.ts';
import {
  idempotencyLeaseSeconds,
  IDEMPOTENCY_LEASE_MIN_SECONDS as LEASE_SECONDS,
} from '../../src/features/wallets/wallet.service.ts';
import { type Database, statement } from '../../src/platform/database.ts';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { cases } from '../support/cases.ts';
import { memoryDatabase } from '../support/database.ts';
import {
  type Answer,
  injectSender,
  stringifyExact,
  type WalletClient,
  walletClient,
} from '../support/wallets.ts';

const MAX = 2n ** 63n - 1n;
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

let t: TestApp;
let wallets: WalletClient;
let db: Database;
beforeAll(async () => {
  t = await buildTestApp();
  wallets = walletClient(injectSender(t.app));
  db = await memoryDatabase();
});

const sql = (text: string, values: unknown[] = []) =>
  db.query<Record<string, unknown>>(statement('test', text), values);

function expectDetail(response: Answer, status: number, detail: string) {
  expect(response.status, response.text).toBe(status);
  expect(response.json()).toEqual({ detail });
}

/** A 422 listing exactly these problems (loc and type; messages are checked where they matter). */
function expectIssues(
  response: Answer,
  issues: readonly { readonly loc: readonly unknown[]; readonly type: string }[],
) {
  expect(response.status, response.text).toBe(422);
  const { detail } = response.json();
  expect(detail.map(({ loc, type }: { loc: unknown[]; type: string }) => ({ loc, type }))).toEqual(
    issues,
  );
  for (const issue of detail) expect(issue.msg).toEqual(expect.any(String));
}

const operation = (walletId: string, body: string, headers: Record<string, string> = {}) =>
  wallets.send({ method: 'POST', url: `/api/v1/wallets/${walletId}/operation`, body, headers });
const original = (body: unknown, headers: Record<string, string> = {}) =>
  wallets.send({ method: 'POST', url: '/api/v1/wallet', body: stringifyExact(body), headers });

describe('POST /api/v1/wallets/', () => {
  test('creates a wallet with balance 0, with or without the trailing slash', async () => {
    for (const url of ['/api/v1/wallets/', '/api/v1/wallets']) {
      const response = await wallets.send({ method: 'POST', url });
      expect(response.status).toBe(201);
      const body = response.json();
      expect(body).toEqual({ wallet_id: expect.stringMatching(/^[0-9a-f-]{36}$/), balance: 0 });
      expect(await wallets.balanceOf(body.wallet_id)).toBe(0n);
    }
  });

  test('accepts an empty JSON object, or an empty body sent as JSON', async () => {
    const response = await wallets.send({ method: 'POST', url: '/api/v1/wallets/', body: '{}' });
    expect(response.status).toBe(201);
    const empty = await wallets.send({ method: 'POST', url: '/api/v1/wallets/', body: '' });
    expect(empty.status, empty.text).toBe(201);
  });

  cases(
    'refuses any other body with a 422',
    [
      { body: '{"balance": 100}', issues: [{ loc: ['body', 'balance'], type: 'extra_forbidden' }] },
      { body: '[]', issues: [{ loc: ['body'], type: 'model_attributes_type' }] },
      { body: 'null', issues: [{ loc: ['body'], type: 'model_attributes_type' }] },
      { body: '{', issues: [{ loc: ['body', 1], type: 'json_invalid' }] },
    ],
    async ({ body, issues }) => {
      expectIssues(await wallets.send({ method: 'POST', url: '/api/v1/wallets/', body }), issues);
    },
  );
});

describe('GET /api/v1/wallets/{wallet_id}', () => {
  test('reads the balance; the id may be given in capitals or without hyphens', async () => {
    const id = await wallets.withBalance(250);
    for (const form of [id, id.toUpperCase(), id.replaceAll('-', '')]) {
      const response = await wallets.send({ method: 'GET', url: `/api/v1/wallets/${form}` });
      expect(response.status).toBe(200);
      expect(response.json()).toEqual({ wallet_id: id, balance: 250 });
    }
  });

  test('an unknown wallet is 404 with FastAPI’s detail', async () => {
    expectDetail(
      await wallets.send({ method: 'GET', url: `/api/v1/wallets/${UNKNOWN}` }),
      404,
      'Wallet not found',
    );
  });

  cases(
    'a malformed id is a 422 naming the path parameter',
    ['123', 'not-a-uuid', `${UNKNOWN}0`, 'x'.repeat(1000), '%E2%82%AC'],
    async (id) => {
      const response = await wallets.send({ method: 'GET', url: `/api/v1/wallets/${id}` });
      expectIssues(response, [{ loc: ['path', 'wallet_id'], type: 'uuid_parsing' }]);
    },
  );
});

describe('POST /api/v1/wallets/{wallet_id}/operation', () => {
  test('a deposit and a withdrawal answer with the operation and the new balance', async () => {
    const id = await wallets.create();
    const deposit = await wallets.operate(id, 'DEPOSIT', 1000);
    expect(deposit.status).toBe(200);
    expect(deposit.json()).toEqual({
      wallet_id: id,
      operation_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      operation_type: 'DEPOSIT',
      amount: 1000,
      new_balance: 1000,
      status: 'success',
    });
    const withdrawal = await wallets.operate(id, 'WITHDRAW', 400);
    expect(withdrawal.json()).toMatchObject({ operation_type: 'WITHDRAW', new_balance: 600 });
    expect(withdrawal.json().operation_id).not.toBe(deposit.json().operation_id);
    expect(await wallets.balanceOf(id)).toBe(600n);
  });

  test('operationType is a synonym of operation_type', async () => {
    const id = await wallets.create();
    const response = await operation(id, '{"operationType": "DEPOSIT", "amount": 7}');
    expect(response.json()).toMatchObject({ operation_type: 'DEPOSIT', new_balance: 7 });
  });

  test('money is exact up to 2^63 − 1 in both directions, with no float on the way', async () => {
    const id = await wallets.create();
    const first = await wallets.operate(id, 'DEPOSIT', MAX - 1n);
    expect(first.text).toContain('"new_balance":9223372036854775806');
    const second = await wallets.operate(id, 'DEPOSIT', 1);
    expect(second.json().new_balance).toBe(MAX);
    expect(await wallets.balanceOf(id)).toBe(MAX);
    // 2^53 + 1 is the first integer a double cannot hold.
    const odd = await wallets.operate(id, 'WITHDRAW', 9_007_199_254_740_993n);
    expect(odd.text).toContain('"amount":9007199254740993');
    expect(odd.json().new_balance).toBe(MAX - 9_007_199_254_740_993n);
    const list = await wallets.send({ method: 'GET', url: `/api/v1/wallets/${id}/operations` });
    expect(list.text).toContain('"balance_after":9223372036854775807');
  });

  test('a deposit past 2^63 − 1 is 409 and changes nothing', async () => {
    const id = await wallets.withBalance(MAX - 5n);
    expectDetail(await wallets.operate(id, 'DEPOSIT', 6), 409, 'Balance limit exceeded');
    expect(await wallets.balanceOf(id)).toBe(MAX - 5n);
    expect((await wallets.operate(id, 'DEPOSIT', 5)).status).toBe(200);
  });

  test('a withdrawal above the balance is 409 and changes nothing; the whole balance may go', async () => {
    const id = await wallets.withBalance(100);
    expectDetail(await wallets.operate(id, 'WITHDRAW', 101), 409, 'Insufficient funds');
    expect(await wallets.balanceOf(id)).toBe(100n);
    expect((await wallets.historyOf(id)).length).toBe(1);
    expect((await wallets.operate(id, 'WITHDRAW', 100)).json().new_balance).toBe(0);
    expectDetail(await wallets.operate(id, 'WITHDRAW', 1), 409, 'Insufficient funds');
  });

  test('an unknown wallet is 404, also for an operation that would be refused anyway', async () => {
    expectDetail(await wallets.operate(UNKNOWN, 'DEPOSIT', 1), 404, 'Wallet not found');
    expectDetail(await wallets.operate(UNKNOWN, 'WITHDRAW', 1), 404, 'Wallet not found');
  });

  cases(
    'amounts accepted besides plain integers, as FastAPI accepts them',
    [
      { amount: '10.0', expected: '10' },
      { amount: '1e3', expected: '1000' },
      { amount: '"42"', expected: '42' },
      { amount: '"9223372036854775807"', expected: '9223372036854775807' },
      { amount: '92233720368547758.07e2', expected: '9223372036854775807' },
    ],
    async ({ amount, expected }) => {
      const id = await wallets.create();
      const response = await operation(id, `{"operation_type":"DEPOSIT","amount":${amount}}`);
      expect(response.status, response.text).toBe(200);
      expect(BigInt(response.json().new_balance)).toBe(BigInt(expected));
    },
  );

  cases(
    'malformed bodies are 422 naming each problem, and change nothing',
    [
      { body: '', issues: [{ loc: ['body'], type: 'missing' }] },
      {
        body: '{"operation_type":"DEPOSIT","amount":1',
        issues: [{ loc: ['body', 38], type: 'json_invalid' }],
      },
      { body: '"DEPOSIT"', issues: [{ loc: ['body'], type: 'model_attributes_type' }] },
      { body: '[1]', issues: [{ loc: ['body'], type: 'model_attributes_type' }] },
      {
        body: '{}',
        issues: [
          { loc: ['body', 'operation_type'], type: 'missing' },
          { loc: ['body', 'amount'], type: 'missing' },
        ],
      },
      {
        body: '{"operation_type":"DEPOSIT"}',
        issues: [{ loc: ['body', 'amount'], type: 'missing' }],
      },
      {
        body: '{"operation_type":"DEPOSIT","operationType":"DEPOSIT","amount":1}',
        issues: [{ loc: ['body', 'operationType'], type: 'extra_forbidden' }],
      },
      {
        body: '{"operation_type":"DEPOSIT","amount":1,"currency":"EUR"}',
        issues: [{ loc: ['body', 'currency'], type: 'extra_forbidden' }],
      },
      {
        body: '{"operation_type":"deposit","amount":1}',
        issues: [{ loc: ['body', 'operation_type'], type: 'enum' }],
      },
      {
        body: '{"operation_type":"TRANSFER","amount":1}',
        issues: [{ loc: ['body', 'operation_type'], type: 'enum' }],
      },
      {
        body: '{"operation_type":null,"amount":1}',
        issues: [{ loc: ['body', 'operation_type'], type: 'enum' }],
      },
      {
        body: '{"operation_type":"DEPOSIT","amount":0}',
        issues: [{ loc: ['body', 'amount'], type: 'greater_than_equal' }],
      },
      {
        body: '{"operation_type":"DEPOSIT","amount":-5}',
        issues: [{ loc: ['body', 'amount'], type: 'greater_than_equal' }],
      },
      {
        body: '{"operation_type":"DEPOSIT","amount":9223372036854775808}',
        issues: [{ loc: ['body', 'amount'], type: 'less_than_equal' }],
      },
      {
        body: '{"operation_type":"DEPOSIT","amount":1e400}',
        issues: [{ loc: ['body', 'amount'], type: 'less_than_equal' }],
      },
      {
        body: '{"operation_type":"DEPOSIT","amount":-1e400}',
        issues: [{ loc: ['body', 'amount'], type: 'greater_than_equal' }],
      },
      {
        body: '{"operation_type":"DEPOSIT","amount":1.5}',
        issues: [{ loc: ['body', 'amount'], type: 'int_from_float' }],
      },
      {
        body: '{"operation_type":"DEPOSIT","amount":1.0000000000000001}',
        issues: [{ loc: ['body', 'amount'], type: 'int_from_float' }],
      },
      {
        body: '{"operation_type":"DEPOSIT","amount":9007199254740993.5}',
        issues: [{ loc: ['body', 'amount'], type: 'int_from_float' }],
      },
      {
        body: '{"operation_type":"DEPOSIT","amount":"ten"}',
        issues: [{ loc: ['body', 'amount'], type: 'int_parsing' }],
      },
      {
        body: '{"operation_type":"DEPOSIT","amount":true}',
        issues: [{ loc: ['body', 'amount'], type: 'int_type' }],
      },
      {
        body: '{"operation_type":"DEPOSIT","amount":[1]}',
        issues: [{ loc: ['body', 'amount'], type: 'int_type' }],
      },
      {
        body: '{"operation_type":"X","amount":0,"extra":1}',
        issues: [
          { loc: ['body', 'extra'], type: 'extra_forbidden' },
          { loc: ['body', 'operation_type'], type: 'enum' },
          { loc: ['body', 'amount'], type: 'greater_than_equal' },
        ],
      },
    ],
    async ({ body, issues }) => {
      const id = await wallets.withBalance(10);
      expectIssues(await operation(id, body), issues);
      expect(await wallets.balanceOf(id)).toBe(10n);
    },
  );

  test('the messages are FastAPI’s', async () => {
    const id = await wallets.create();
    const response = await operation(id, '{"operation_type":"X","amount":0}');
    expect(response.json().detail).toEqual([
      {
        loc: ['body', 'operation_type'],
        msg: "Input should be 'DEPOSIT' or 'WITHDRAW'",
        type: 'enum',
      },
      {
        loc: ['body', 'amount'],
        msg: 'Input should be greater than or equal to 1',
        type: 'greater_than_equal',
      },
    ]);
  });

  test('a malformed wallet id is 422 even with a valid body', async () => {
    expectIssues(await operation('nope', '{"operation_type":"DEPOSIT","amount":1}'), [
      { loc: ['path', 'wallet_id'], type: 'uuid_parsing' },
    ]);
  });

  test('the body is read as JSON whatever the Content-Type says', async () => {
    const id = await wallets.create();
    const response = await wallets.send({
      method: 'POST',
      url: `/api/v1/wallets/${id}/operation`,
      body: '{"operation_type":"DEPOSIT","amount":3}',
      headers: { 'content-type': 'text/plain' },
    });
    expect(response.json().new_balance).toBe(3);
  });

  test(`a body over ${WALLET_BODY_LIMIT_BYTES} bytes is 413 and changes nothing`, async () => {
    const id = await wallets.create();
    const padding = ' '.repeat(WALLET_BODY_LIMIT_BYTES);
    const response = await operation(id, `{"operation_type":"DEPOSIT","amount":1${padding}}`);
    expect(response.status).toBe(413);
    expect(response.json()).toEqual({ detail: expect.any(String) });
    expect(await wallets.balanceOf(id)).toBe(0n);
  });
});

describe('POST /api/v1/wallet (the original route)', () => {
  test('takes walletId or valletId, and operationType or operation_type', async () => {
    const id = await wallets.create();
    const first = await original({ walletId: id, operationType: 'DEPOSIT', amount: 50 });
    expect(first.json()).toMatchObject({
      wallet_id: id,
      amount: 50,
      new_balance: 50,
      status: 'success',
    });
    const second = await original({ valletId: id, operation_type: 'WITHDRAW', amount: 20 });
    expect(second.json()).toMatchObject({ operation_type: 'WITHDRAW', new_balance: 30 });
  });

  test('answers 404 and 409 like the operation endpoint', async () => {
    expectDetail(
      await original({ walletId: UNKNOWN, operationType: 'DEPOSIT', amount: 1 }),
      404,
      'Wallet not found',
    );
    const id = await wallets.create();
    expectDetail(
      await original({ walletId: id, operationType: 'WITHDRAW', amount: 1 }),
      409,
      'Insufficient funds',
    );
  });

  cases(
    'refuses a missing, doubled or malformed wallet id',
    [
      {
        body: { operationType: 'DEPOSIT', amount: 1 },
        issues: [{ loc: ['body', 'walletId'], type: 'missing' }],
      },
      {
        body: { walletId: UNKNOWN, valletId: UNKNOWN, operationType: 'DEPOSIT', amount: 1 },
        issues: [{ loc: ['body', 'valletId'], type: 'extra_forbidden' }],
      },
      {
        body: { walletId: 'abc', operationType: 'DEPOSIT', amount: 1 },
        issues: [{ loc: ['body', 'walletId'], type: 'uuid_parsing' }],
      },
      {
        body: { walletId: 7, operationType: 'DEPOSIT', amount: 1 },
        issues: [{ loc: ['body', 'walletId'], type: 'uuid_parsing' }],
      },
      {
        body: { wallet_id: UNKNOWN, operationType: 'DEPOSIT', amount: 1 },
        issues: [
          { loc: ['body', 'walletId'], type: 'missing' },
          { loc: ['body', 'wallet_id'], type: 'extra_forbidden' },
        ],
      },
    ],
    async ({ body, issues }) => {
      expectIssues(await original(body), issues);
    },
  );
});

describe('GET /api/v1/wallets/ (keyset pages)', () => {
  test('pages through wallets in id order with limit and after, none twice or missed', async () => {
    const created = new Set<string>();
    for (let i = 0; i < 7; i += 1) created.add(await wallets.create());
    const seen: string[] = [];
    let after = '';
    for (let page = 0; page < 100; page += 1) {
      const response = await wallets.send({
        method: 'GET',
        url: `/api/v1/wallets/?limit=3${after}`,
      });
      expect(response.status).toBe(200);
      const items: { wallet_id: string; balance: number }[] = response.json();
      expect(items.length).toBeLessThanOrEqual(3);
      if (items.length === 0) break;
      seen.push(...items.map((w) => w.wallet_id));
      after = `&after=${items[items.length - 1]?.wallet_id}`;
    }
    expect(seen).toEqual([...seen].sort());
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of created) expect(seen).toContain(id);
  });

  test('the default page is 100 wallets', async () => {
    for (let i = 0; i < 101; i += 1) await wallets.create();
    const response = await wallets.send({ method: 'GET', url: '/api/v1/wallets' });
    expect(response.json()).toHaveLength(100);
  });

  cases(
    'bad paging parameters are 422 naming the query parameter',
    [
      { query: 'limit=0', issues: [{ loc: ['query', 'limit'], type: 'greater_than_equal' }] },
      { query: 'limit=1001', issues: [{ loc: ['query', 'limit'], type: 'less_than_equal' }] },
      { query: 'limit=ten', issues: [{ loc: ['query', 'limit'], type: 'int_parsing' }] },
      { query: 'after=zzz', issues: [{ loc: ['query', 'after'], type: 'uuid_parsing' }] },
    ],
    async ({ query, issues }) => {
      expectIssues(await wallets.send({ method: 'GET', url: `/api/v1/wallets/?${query}` }), issues);
    },
  );
});

describe('GET /api/v1/wallets/{wallet_id}/operations', () => {
  test('lists operations newest first, with the balance each left, in pages joined by next', async () => {
    const id = await wallets.create();
    const amounts = [10, 20, 30, 40, 50];
    for (const amount of amounts) await wallets.operate(id, 'DEPOSIT', amount);
    await wallets.operate(id, 'WITHDRAW', 1000); // refused: not in the history
    await wallets.operate(id, 'WITHDRAW', 15);

    const first = await wallets.send({
      method: 'GET',
      url: `/api/v1/wallets/${id}/operations?limit=4`,
    });
    const page = first.json();
    expect(page.items.map((i: { amount: number }) => i.amount)).toEqual([15, 50, 40, 30]);
    expect(page.items[0]).toEqual({
      operation_id: expect.any(String),
      operation_type: 'WITHDRAW',
      amount: 15,
      balance_after: 135,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    expect(page.next).toBe(page.items[3].operation_id);
    const second = await wallets.send({
      method: 'GET',
      url: `/api/v1/wallets/${id}/operations?limit=4&before=${page.next}`,
    });
    expect(second.json().items.map((i: { balance_after: number }) => i.balance_after)).toEqual([
      30, 10,
    ]);
    expect(second.json().next).toBeNull();
  });

  test('a new wallet has an empty history', async () => {
    const id = await wallets.create();
    const response = await wallets.send({ method: 'GET', url: `/api/v1/wallets/${id}/operations` });
    expect(response.json()).toEqual({ items: [], next: null });
  });

  test('an unknown wallet is 404; a cursor from another wallet is 422', async () => {
    expectDetail(
      await wallets.send({ method: 'GET', url: `/api/v1/wallets/${UNKNOWN}/operations` }),
      404,
      'Wallet not found',
    );
    const [a, b] = [await wallets.withBalance(1), await wallets.withBalance(1)];
    const [foreign] = await wallets.historyOf(b);
    expectIssues(
      await wallets.send({
        method: 'GET',
        url: `/api/v1/wallets/${a}/operations?before=${foreign?.operation_id}`,
      }),
      [{ loc: ['query', 'before'], type: 'value_error' }],
    );
  });

  cases(
    'bad paging parameters are 422',
    [
      { query: 'limit=1001', issues: [{ loc: ['query', 'limit'], type: 'less_than_equal' }] },
      {
        query: 'limit=-1&before=x',
        issues: [
          { loc: ['query', 'limit'], type: 'greater_than_equal' },
          { loc: ['query', 'before'], type: 'uuid_parsing' },
        ],
      },
    ],
    async ({ query, issues }) => {
      const id = await wallets.create();
      expectIssues(
        await wallets.send({ method: 'GET', url: `/api/v1/wallets/${id}/operations?${query}` }),
        issues,
      );
    },
  );
});

describe('bodies of every endpoint that takes one', () => {
  const endpoints = async () => {
    const id = await wallets.create();
    return [
      { url: `/api/v1/wallets/${id}/operation`, id },
      { url: '/api/v1/wallet', id },
      { url: '/api/v1/wallets/', id },
    ];
  };

  cases(
    'a bare number is not an object: 422 model_attributes_type at ["body"] alone, as pydantic says',
    ['7', '-0', '1.5', '1e3', '1e400', '-1e400', '12345678901234567890', '  2.0  '],
    async (body) => {
      for (const { url, id } of await endpoints()) {
        const response = await wallets.send({ method: 'POST', url, body });
        expectIssues(response, [{ loc: ['body'], type: 'model_attributes_type' }]);
        expect(response.json().detail[0].msg).toBe(
          'Input should be a valid dictionary or object to extract fields from',
        );
        expect(await wallets.balanceOf(id)).toBe(0n);
      }
    },
  );

  test('a body that is not UTF-8 is 422 json_invalid, and changes nothing', async () => {
    for (const { url, id } of await endpoints()) {
      const before = url.endsWith('/wallet') ? `{"walletId":"${id}",` : '{';
      const payload = Buffer.concat([
        Buffer.from(`${before}"operation_type":"DEPOSIT","amount":1,"note":"`),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('"}'),
      ]);
      const response = await t.app.inject({ method: 'POST', url, payload });
      expect(response.statusCode, response.body).toBe(422);
      expect(response.json()).toEqual({
        detail: [{ loc: ['body'], msg: 'JSON decode error', type: 'json_invalid' }],
      });
      expect(await wallets.balanceOf(id)).toBe(0n);
    }
  });

  cases(
    'an empty or malformed Content-Type is read as JSON, as any other is',
    ['', 'foo', ';;', 'application/'],
    async (type) => {
      const id = await wallets.create();
      const response = await wallets.send({
        method: 'POST',
        url: `/api/v1/wallets/${id}/operation`,
        body: '{"operation_type":"DEPOSIT","amount":3}',
        headers: { 'content-type': type },
      });
      expect(response.status, response.text).toBe(200);
      expect(await wallets.balanceOf(id)).toBe(3n);
      const created = await wallets.send({
        method: 'POST',
        url: '/api/v1/wallets/',
        body: '{}',
        headers: { 'content-type': type },
      });
      expect(created.status, created.text).toBe(201);
    },
  );
});

describe('routes and methods', () => {
  cases(
    'a known path with another method is 405 with Allow',
    [
      { method: 'DELETE', url: `/api/v1/wallets/${UNKNOWN}`, allow: 'GET, HEAD' },
      { method: 'PUT', url: '/api/v1/wallets/', allow: 'GET, HEAD, POST' },
      { method: 'GET', url: `/api/v1/wallets/${UNKNOWN}/operation`, allow: 'POST' },
      { method: 'POST', url: `/api/v1/wallets/${UNKNOWN}/operations`, allow: 'GET, HEAD' },
      { method: 'GET', url: '/api/v1/wallet', allow: 'POST' },
    ] as const,
    async ({ method, url, allow }) => {
      const response = await wallets.send({ method, url });
      expectDetail(response, 405, 'Method Not Allowed');
      expect(response.headers.allow).toBe(allow);
    },
  );

  cases(
    'a method no route names (TRACE, QUERY, WebDAV, ...) is the same 405 with the same Allow',
    [
      `/api/v1/wallets/${UNKNOWN}`,
      '/api/v1/wallets/',
      '/api/v1/wallets',
      `/api/v1/wallets/${UNKNOWN}/operation`,
      `/api/v1/wallets/${UNKNOWN}/operations?limit=1`,
      '/api/v1/wallet',
    ],
    async (url) => {
      // OPTIONS, a method of the common set, is the reference.
      const reference = await t.app.inject({ method: 'OPTIONS', url });
      expect(reference.statusCode).toBe(405);
      for (const method of ['TRACE', 'QUERY', 'PROPFIND', 'MKCOL', 'PURGE'] as const) {
        const response = await t.app.inject({ method, url });
        expect({ method, status: response.statusCode }).toEqual({ method, status: 405 });
        expect(response.json()).toEqual({ detail: 'Method Not Allowed' });
        expect(response.headers.allow).toBe(reference.headers.allow);
      }
    },
  );

  test('an unknown path under /api/v1 is 404 in FastAPI’s body', async () => {
    expectDetail(await wallets.send({ method: 'GET', url: '/api/v1/nothing' }), 404, 'Not Found');
  });

  cases(
    'a wallet id the router cannot take (undecodable, or over its length limit) is a 422',
    ['%zz', '%E0%A4%A', 'a'.repeat(2_000)],
    async (id) => {
      for (const url of [`/api/v1/wallets/${id}`, `/api/v1/wallets/${id}/operations`]) {
        const response = await wallets.send({ method: 'GET', url });
        expectIssues(response, [{ loc: ['path', 'wallet_id'], type: 'uuid_parsing' }]);
        expect(response.text.length).toBeLessThan(200);
      }
    },
  );
});

describe('Idempotency-Key', () => {
  const key = () => `key-${Math.random().toString(36).slice(2)}`;

  test('a retry replays the first 200 (same body) and applies nothing again', async () => {
    const id = await wallets.create();
    const k = key();
    const first = await wallets.operate(id, 'DEPOSIT', 70, { 'idempotency-key': k });
    const again = await wallets.operate(id, 'DEPOSIT', 70, { 'idempotency-key': k });
    expect(again.status).toBe(200);
    expect(again.json()).toEqual(first.json());
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(await wallets.balanceOf(id)).toBe(70n);
  });

  test('a retry replays the first 409 even when the balance would now allow it', async () => {
    const id = await wallets.create();
    const k = key();
    expectDetail(
      await wallets.operate(id, 'WITHDRAW', 5, { 'idempotency-key': k }),
      409,
      'Insufficient funds',
    );
    await wallets.operate(id, 'DEPOSIT', 100);
    const again = await wallets.operate(id, 'WITHDRAW', 5, { 'idempotency-key': k });
    expectDetail(again, 409, 'Insufficient funds');
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(await wallets.balanceOf(id)).toBe(100n);
  });

  test('the same key with another body is 422; keys are scoped to the wallet', async () => {
    const [a, b] = [await wallets.create(), await wallets.create()];
    const k = key();
    await wallets.operate(a, 'DEPOSIT', 10, { 'idempotency-key': k });
    expectIssues(await wallets.operate(a, 'DEPOSIT', 11, { 'idempotency-key': k }), [
      { loc: ['header', 'idempotency-key'], type: 'idempotency_key_reused' },
    ]);
    expectIssues(await wallets.operate(a, 'WITHDRAW', 10, { 'idempotency-key': k }), [
      { loc: ['header', 'idempotency-key'], type: 'idempotency_key_reused' },
    ]);
    expect((await wallets.operate(b, 'DEPOSIT', 11, { 'idempotency-key': k })).status).toBe(200);
    expect(await wallets.balanceOf(a)).toBe(10n);
  });

  test('both spellings of the same operation are the same request; the original route shares keys', async () => {
    const id = await wallets.create();
    const k = key();
    const first = await operation(id, '{"operationType":"DEPOSIT","amount":5}', {
      'idempotency-key': k,
    });
    const again = await original(
      { walletId: id, operation_type: 'DEPOSIT', amount: 5 },
      { 'idempotency-key': k },
    );
    expect(again.json()).toEqual(first.json());
    expect(await wallets.balanceOf(id)).toBe(5n);
  });

  test('the lease outlasts any batch the database settings allow, and is never under 5 minutes', () => {
    const defaults = { connectTimeoutMs: 2_000, statementTimeoutMs: 5_000 };
    expect(idempotencyLeaseSeconds(defaults)).toBe(LEASE_SECONDS);
    // The longest statement timeout the configuration accepts: 10 minutes.
    const longest = { connectTimeoutMs: 60_000, statementTimeoutMs: 600_000 };
    // Twice the longest batch: two connection waits and the statement.
    expect(idempotencyLeaseSeconds(longest)).toBe(2 * (2 * 60 + 600));
  });

  test('while a claim has no outcome yet (its first request still running), a retry is 409', async () => {
    const id = await wallets.create();
    const k = key();
    // The claim a running request holds: no outcome yet.
    await sql(
      'INSERT INTO wallet_idempotency_keys (wallet_id, key, fingerprint) VALUES ($1, $2, $3)',
      [id, k, 'DEPOSIT 9'],
    );
    expectDetail(
      await wallets.operate(id, 'DEPOSIT', 9, { 'idempotency-key': k }),
      409,
      'A request with this Idempotency-Key is still in progress',
    );
    expect(await wallets.balanceOf(id)).toBe(0n);
  });

  test(`a claim abandoned for over ${LEASE_SECONDS} s (a crashed process) is taken over`, async () => {
    const id = await wallets.create();
    const k = key();
    await sql(
      `INSERT INTO wallet_idempotency_keys (wallet_id, key, fingerprint, updated_at)
       VALUES ($1, $2, $3, now() - make_interval(secs => $4))`,
      [id, k, 'DEPOSIT 9', LEASE_SECONDS + 1],
    );
    expect((await wallets.operate(id, 'DEPOSIT', 9, { 'idempotency-key': k })).status).toBe(200);
    expect(
      (await wallets.operate(id, 'DEPOSIT', 9, { 'idempotency-key': k })).headers[
        'idempotent-replayed'
      ],
    ).toBe('true');
    expect(await wallets.balanceOf(id)).toBe(9n);
  });

  test('a key whose outcome is past retention is a new key; the sweep deletes expired keys', async () => {
    const id = await wallets.create();
    const [old, fresh] = [key(), key()];
    await wallets.operate(id, 'DEPOSIT', 1, { 'idempotency-key': old });
    await wallets.operate(id, 'DEPOSIT', 1, { 'idempotency-key': fresh });
    await sql(
      `UPDATE wallet_idempotency_keys SET updated_at = now() - interval '24 hours 1 second'
       WHERE wallet_id = $1 AND key = $2`,
      [id, old],
    );
    const reused = await wallets.operate(id, 'DEPOSIT', 1, { 'idempotency-key': old });
    expect(reused.headers['idempotent-replayed']).toBeUndefined();
    expect(await wallets.balanceOf(id)).toBe(3n);

    await sql(
      `UPDATE wallet_idempotency_keys SET updated_at = now() - interval '25 hours'
       WHERE wallet_id = $1 AND key = $2`,
      [id, old],
    );
    const before = await sql('SELECT key FROM wallet_idempotency_keys WHERE wallet_id = $1', [id]);
    expect(before).toHaveLength(2);
    const { createWalletService } = await import('../../src/features/wallets/wallet.service.ts');
    const service = createWalletService({
      database: db,
      batchOperationsMax: 10,
      queueOperationsMax: 10,
      transactionsInFlightMax: 2,
      idempotencyTtlSeconds: 86_400,
      idempotencyLeaseSeconds: LEASE_SECONDS,
    });
    expect(await service.sweepIdempotencyKeys()).toBeGreaterThanOrEqual(1);
    const after = await sql('SELECT key FROM wallet_idempotency_keys WHERE wallet_id = $1', [id]);
    expect(after).toEqual([{ key: fresh }]);
  });

  test('an unknown wallet with a key is 404 and stores nothing', async () => {
    const k = key();
    expectDetail(
      await wallets.operate(UNKNOWN, 'DEPOSIT', 1, { 'idempotency-key': k }),
      404,
      'Wallet not found',
    );
    expect(await sql('SELECT 1 FROM wallet_idempotency_keys WHERE key = $1', [k])).toEqual([]);
  });

  cases(
    'a malformed key is 422 and stores nothing',
    [
      { value: '', type: 'string_too_short' },
      { value: 'k'.repeat(256), type: 'string_too_long' },
    ],
    async ({ value, type }) => {
      const id = await wallets.create();
      expectIssues(await wallets.operate(id, 'DEPOSIT', 1, { 'idempotency-key': value }), [
        { loc: ['header', 'idempotency-key'], type },
      ]);
      expect(await wallets.balanceOf(id)).toBe(0n);
      expect(await sql('SELECT 1 FROM wallet_idempotency_keys WHERE wallet_id = $1', [id])).toEqual(
        [],
      );
    },
  );

  test('a request refused by validation stores nothing under its key', async () => {
    const id = await wallets.create();
    const k = key();
    expect(
      (await operation(id, '{"operation_type":"DEPOSIT","amount":0}', { 'idempotency-key': k }))
        .status,
    ).toBe(422);
    expect((await wallets.operate(id, 'DEPOSIT', 4, { 'idempotency-key': k })).status).toBe(200);
  });
});

describe('the OpenAPI document', () => {
  test('lists every wallet endpoint with the statuses the catalogue can produce', async () => {
    const doc = (await t.app.inject({ url: '/docs/json' })).json();
    const statuses = (path: string, method: string) =>
      Object.keys(doc.paths[path][method].responses).sort();
    // 503 on every one: a request that arrives while the service shuts down.
    expect(statuses('/api/v1/wallets/', 'get')).toEqual(['200', '422', '500', '503']);
    expect(statuses('/api/v1/wallets/', 'post')).toEqual(['201', '413', '422', '500', '503']);
    expect(statuses('/api/v1/wallets/{wallet_id}', 'get')).toEqual([
      '200',
      '404',
      '422',
      '500',
      '503',
    ]);
    expect(statuses('/api/v1/wallets/{wallet_id}/operations', 'get')).toEqual([
      '200',
      '404',
      '422',
      '500',
      '503',
    ]);
    for (const path of ['/api/v1/wallets/{wallet_id}/operation', '/api/v1/wallet']) {
      expect(statuses(path, 'post')).toEqual(['200', '404', '409', '413', '422', '500', '503']);
    }
    // Every status of the catalogue appears in some route's documentation.
    const { walletErrors } = await import('../../src/features/wallets/wallet.errors.ts');
    const documented = new Set(
      Object.values(doc.paths).flatMap((item) =>
        Object.values(item as Record<string, { responses: object }>).flatMap((op) =>
          Object.keys(op.responses),
        ),
      ),
    );
    for (const spec of Object.values(walletErrors))
      expect(documented).toContain(String(spec.status));
  });
});

describe('metrics', () => {
  test('batches and held operations are exported', async () => {
    const id = await wallets.create();
    await Promise.all([1, 2, 3].map((amount) => wallets.operate(id, 'DEPOSIT', amount)));
    const text = (await t.app.inject({ url: '/metrics' })).body;
    expect(Number(/^wallet_batch_operations_sum (\d+)/m.exec(text)?.[1])).toBeGreaterThanOrEqual(3);
    expect(text).toMatch(/^wallet_operations_held 0$/m);
  });
});
