// Every endpoint of the merch shop and every error of its contract, over HTTP through app.inject,
// on the file's in-memory PGlite; each test creates the users it needs.
import { createSigner } from 'fast-jwt';
import { beforeAll, describe, expect, test } from 'vitest';
import { SHOP_BODY_LIMIT_BYTES } from '../../src/features/shop/shop.catalog.ts';
import { buildTestApp, TEST_JWT_SECRET, type TestApp } from '../support/app.ts';
import { cases } from '../support/cases.ts';
import { type ShopClient, type ShopUser, shopClient, uniqueName } from '../support/shop.ts';

let t: TestApp;
let shop: ShopClient;
beforeAll(async () => {
  t = await buildTestApp();
  shop = shopClient(t.app);
});

function expectError(
  response: { statusCode: number; json(): unknown },
  status: number,
  message: string | RegExp,
) {
  expect(response.statusCode).toBe(status);
  const body = response.json() as { errors: string };
  expect(Object.keys(body)).toEqual(['errors']);
  if (typeof message === 'string') expect(body.errors).toBe(message);
  else expect(body.errors).toMatch(message);
}

describe('POST /api/auth', () => {
  test('registers an unknown name with 1000 coins and empty lists', async () => {
    const user = await shop.login();
    expect(await shop.infoOf(user)).toEqual({
      coins: 1000,
      inventory: [],
      coinHistory: { received: [], sent: [] },
    });
  });

  test('logs a known user in again with the right password', async () => {
    const user = await shop.login();
    const again = await shop.auth({ username: user.username, password: user.password });
    expect(again.statusCode).toBe(200);
    expect((await shop.info(again.json().token)).statusCode).toBe(200);
  });

  test('refuses a known user with a wrong password, and registers nothing', async () => {
    const user = await shop.login();
    expectError(
      await shop.auth({ username: user.username, password: 'wrong' }),
      401,
      'wrong password',
    );
    expect((await shop.infoOf(user)).coins).toBe(1000);
  });

  test('names are exact: case and spaces make other users', async () => {
    const user = await shop.login(uniqueName('Case'));
    const lower = await shop.login(user.username.toLowerCase(), 'another password');
    expect(lower.token).not.toBe(user.token);
  });

  test('accepts names and passwords at their length limits, counted in characters', async () => {
    const name = `${`${uniqueName('e')}${'é'.repeat(64)}`.slice(0, 60)}😀😀😀😀`;
    const response = await shop.auth({ username: name, password: '🔑'.repeat(128) });
    expect(response.statusCode).toBe(200);
  });

  test('two simultaneous first logins of one name create one user', async () => {
    const username = uniqueName('race');
    const [a, b] = await Promise.all([
      shop.auth({ username, password: 'same' }),
      shop.auth({ username, password: 'same' }),
    ]);
    expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
    // One user: a coin sent with one token is seen by the other.
    const other = await shop.login();
    expect(
      (await shop.send(a.json().token, { toUser: other.username, amount: 7 })).statusCode,
    ).toBe(200);
    expect((await shop.info(b.json().token)).json().coins).toBe(993);
  });

  test('of two simultaneous first logins with different passwords, exactly one wins', async () => {
    const username = uniqueName('race');
    const answers = await Promise.all([
      shop.auth({ username, password: 'first' }),
      shop.auth({ username, password: 'second' }),
    ]);
    expect(answers.map((r) => r.statusCode).sort()).toEqual([200, 401]);
  });

  cases(
    'refuses a bad body with 400',
    [
      { body: {}, error: 'username is required' },
      { body: { username: 'a' }, error: 'password is required' },
      { body: { password: 'p' }, error: 'username is required' },
      { body: { username: '', password: 'p' }, error: 'username must not be empty' },
      { body: { username: 'a', password: '' }, error: 'password must not be empty' },
      { body: { username: 5, password: 'p' }, error: 'username must be a string' },
      { body: { username: 'a', password: 5 }, error: 'password must be a string' },
      { body: { username: null, password: 'p' }, error: 'username must be a string' },
      { body: { username: ['a'], password: 'p' }, error: 'username must be a string' },
      { body: { username: 'a', password: { p: 1 } }, error: 'password must be a string' },
      {
        body: { username: 'a'.repeat(65), password: 'p' },
        error: 'username must be at most 64 characters',
      },
      {
        body: { username: 'a', password: 'p'.repeat(129) },
        error: 'password must be at most 128 characters',
      },
      {
        body: { username: 'tab\there', password: 'p' },
        error: 'username must not contain control characters',
      },
      {
        body: { username: 'nul\u0000', password: 'p' },
        error: 'username must not contain control characters',
      },
      {
        body: { username: 'half\ud800', password: 'p' },
        error: 'username must be valid Unicode text',
      },
      {
        body: { username: 'a', password: 'half\udc00' },
        error: 'password must be valid Unicode text',
      },
      { body: [], error: 'body must be a JSON object' },
      { body: 'null', error: 'body must be a JSON object' },
      { body: '"text"', error: 'body must be a JSON object' },
      { body: '42', error: 'body must be a JSON object' },
    ],
    async ({ body, error }) => {
      expectError(await shop.auth(body), 400, error);
    },
  );

  test('refuses malformed JSON, an empty body and a non-JSON content type with 400', async () => {
    expectError(await shop.auth('{"username": "a",'), 400, /JSON/);
    expectError(await shop.auth(''), 400, /empty/i);
    const form = await t.app.inject({
      method: 'POST',
      url: '/api/auth',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'username=a&password=b',
    });
    expectError(form, 400, 'Content-Type must be application/json');
    const none = await t.app.inject({ method: 'POST', url: '/api/auth' });
    expectError(none, 400, 'body must be a JSON object');
  });

  cases(
    'refuses a body that is not UTF-8 with 400, so that two such names are never one account',
    ['/api/auth', '/api/session'],
    async (url) => {
      const name = uniqueName('u8');
      // 0xff and 0xfe are no UTF-8 at all; a lenient decoder reads both as U+FFFD.
      for (const [byte, password] of [
        [0xff, 'first'],
        [0xfe, 'second'],
      ] as const) {
        const payload = Buffer.concat([
          Buffer.from(`{"username":"${name}`),
          Buffer.from([byte]),
          Buffer.from(`","password":"${password}"}`),
        ]);
        const response = await t.app.inject({
          method: 'POST',
          url,
          headers: { 'content-type': 'application/json' },
          payload,
        });
        expectError(response, 400, 'the body is not valid JSON: the body is not UTF-8 text');
      }
      // Neither request registered the name it would have decoded to.
      const replaced = await shop.login(`${name}\ufffd`, 'third');
      expect((await shop.infoOf(replaced)).coins).toBe(1000);
    },
  );

  test(`refuses a body over ${SHOP_BODY_LIMIT_BYTES} bytes with 400`, async () => {
    const password = 'p'.repeat(SHOP_BODY_LIMIT_BYTES);
    expectError(await shop.auth({ username: 'big', password }), 400, /body/i);
  });
});

describe('bearer tokens', () => {
  const sign = (payload: Record<string, unknown>, options: Record<string, unknown> = {}) =>
    createSigner({ key: TEST_JWT_SECRET, algorithm: 'HS256', ...options })(payload);

  const protectedCalls = [
    { name: 'GET /api/info', call: (token: string) => shop.info(token) },
    { name: 'GET /api/buy/{item}', call: (token: string) => shop.buy(token, 'pen') },
    {
      name: 'POST /api/sendCoin',
      call: (token: string) => shop.send(token, { toUser: 'anyone', amount: 1 }),
    },
  ];

  test('a missing Authorization header is 401 on every protected endpoint', async () => {
    for (const path of ['/api/info', '/api/buy/pen']) {
      expectError(await t.app.inject({ url: path }), 401, 'missing bearer token');
    }
    const send = await t.app.inject({
      method: 'POST',
      url: '/api/sendCoin',
      payload: { toUser: 'a', amount: 1 },
    });
    expectError(send, 401, 'missing bearer token');
  });

  cases(
    'a malformed header is 401',
    ['Token abc', 'Bearer', 'Bearer a b', 'Basic dXNlcjpwYXNz'],
    async (header) => {
      const response = await t.app.inject({ url: '/api/info', headers: { authorization: header } });
      expectError(response, 401, 'Authorization must be "Bearer <token>"');
    },
  );

  const badTokens = [
    { name: 'garbage', token: () => 'not.a.jwt', error: 'invalid token' },
    {
      name: 'signed with another secret',
      token: () =>
        createSigner({ key: 'another-secret-of-at-least-32-chars!!', algorithm: 'HS256' })({
          sub: '1',
          name: 'x',
        }),
      error: 'invalid token',
    },
    {
      name: 'unsigned (alg none)',
      token: () => createSigner({ algorithm: 'none' })({ sub: '1', name: 'x' }),
      error: 'invalid token',
    },
    {
      name: 'expired',
      token: () =>
        sign({ sub: '1', name: 'x' }, { expiresIn: 1000, clockTimestamp: Date.now() - 60_000 }),
      error: 'token expired',
    },
    {
      name: 'without an expiry',
      token: () => sign({ sub: '1', name: 'x' }),
      error: 'invalid token',
    },
    {
      name: 'with a subject that is not a user id',
      token: () => sign({ sub: 'alice', name: 'alice' }, { expiresIn: 60_000 }),
      error: 'invalid token',
    },
    {
      name: 'of a user that does not exist',
      token: () => sign({ sub: '2000000000', name: 'ghost' }, { expiresIn: 60_000 }),
      error: "the token's user does not exist",
    },
  ];

  for (const { name, call } of protectedCalls) {
    cases(`${name} refuses a token that is`, badTokens, async (bad) => {
      expectError(await call(bad.token()), 401, bad.error);
    });
  }

  test('the ghost user cannot claim an Idempotency-Key either', async () => {
    const ghost = sign({ sub: '2000000001', name: 'ghost' }, { expiresIn: 60_000 });
    const response = await shop.buy(ghost, 'pen', { 'idempotency-key': 'k1' });
    expectError(response, 401, "the token's user does not exist");
  });
});

describe('GET /api/buy/{item}', () => {
  test('buys an item for its price; buying it again increments its quantity', async () => {
    const user = await shop.login();
    for (const item of ['cup', 'cup', 'book']) {
      const response = await shop.buy(user.token, item);
      expect(response.statusCode).toBe(200);
      expect(response.body).toBe('');
    }
    const info = await shop.infoOf(user);
    expect(info.coins).toBe(1000 - 20 - 20 - 50);
    expect(info.inventory).toEqual([
      { type: 'book', quantity: 1 },
      { type: 'cup', quantity: 2 },
    ]);
    expect(info.coinHistory).toEqual({ received: [], sent: [] });
  });

  cases(
    'refuses an unknown item with 400',
    ['sword', 'Cup', 'cup%20', 't%20shirt', '%00', 'x'.repeat(300), 'pink-hoody%2F'],
    async (item) => {
      const user = await shop.login();
      expectError(await shop.buy(user.token, item), 400, /^unknown item: /);
      expect((await shop.infoOf(user)).coins).toBe(1000);
    },
  );

  test('refuses a purchase it cannot pay, and changes nothing', async () => {
    const user = await shop.login();
    expect((await shop.buy(user.token, 'pink-hoody')).statusCode).toBe(200);
    expect((await shop.buy(user.token, 'pink-hoody')).statusCode).toBe(200);
    expectError(await shop.buy(user.token, 'socks'), 400, 'not enough coins');
    expect(await shop.infoOf(user)).toMatchObject({
      coins: 0,
      inventory: [{ type: 'pink-hoody', quantity: 2 }],
    });
  });
});

describe('POST /api/sendCoin', () => {
  test('moves coins and shows them in both histories', async () => {
    const [alice, bob] = [await shop.login(), await shop.login()];
    const response = await shop.send(alice.token, { toUser: bob.username, amount: 150 });
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe('');
    expect(await shop.infoOf(alice)).toMatchObject({
      coins: 850,
      coinHistory: { received: [], sent: [{ toUser: bob.username, amount: 150 }] },
    });
    expect(await shop.infoOf(bob)).toMatchObject({
      coins: 1150,
      coinHistory: { received: [{ fromUser: alice.username, amount: 150 }], sent: [] },
    });
  });

  test('groups the history by counterparty, summing the amounts', async () => {
    const [me, a, b] = [
      await shop.login(),
      await shop.login(`a-${uniqueName()}`),
      await shop.login(`b-${uniqueName()}`),
    ];
    for (const [from, to, amount] of [
      [me, a, 10],
      [me, a, 15],
      [me, b, 1],
      [a, me, 40],
      [b, me, 2],
      [a, me, 2],
    ] as [ShopUser, ShopUser, number][]) {
      expect((await shop.send(from.token, { toUser: to.username, amount })).statusCode).toBe(200);
    }
    const info = await shop.infoOf(me);
    expect(info.coins).toBe(1000 - 26 + 44);
    expect(info.coinHistory).toEqual({
      received: [
        { fromUser: a.username, amount: 42 },
        { fromUser: b.username, amount: 2 },
      ],
      sent: [
        { toUser: a.username, amount: 25 },
        { toUser: b.username, amount: 1 },
      ],
    });
  });

  test('may send the whole balance, and no more', async () => {
    const [alice, bob] = [await shop.login(), await shop.login()];
    expectError(
      await shop.send(alice.token, { toUser: bob.username, amount: 1001 }),
      400,
      'not enough coins',
    );
    expect((await shop.infoOf(alice)).coins).toBe(1000);
    expect((await shop.send(alice.token, { toUser: bob.username, amount: 1000 })).statusCode).toBe(
      200,
    );
    expectError(
      await shop.send(alice.token, { toUser: bob.username, amount: 1 }),
      400,
      'not enough coins',
    );
    expect(await shop.infoOf(alice)).toMatchObject({ coins: 0 });
    expect(await shop.infoOf(bob)).toMatchObject({ coins: 2000 });
  });

  test('refuses an unknown recipient and sending to yourself, changing nothing', async () => {
    const user = await shop.login();
    const stranger = uniqueName('nobody');
    expectError(
      await shop.send(user.token, { toUser: stranger, amount: 1 }),
      400,
      `unknown recipient: ${stranger}`,
    );
    expectError(
      await shop.send(user.token, { toUser: user.username, amount: 1 }),
      400,
      'cannot send coins to yourself',
    );
    expect(await shop.infoOf(user)).toMatchObject({
      coins: 1000,
      coinHistory: { received: [], sent: [] },
    });
  });

  cases(
    'refuses a bad body with 400',
    [
      { body: { toUser: 'x' }, error: 'amount is required' },
      { body: { amount: 1 }, error: 'toUser is required' },
      { body: { toUser: 'x', amount: 0 }, error: /^amount must be a whole number from 1 to/ },
      { body: { toUser: 'x', amount: -5 }, error: /^amount must be a whole number from 1 to/ },
      { body: { toUser: 'x', amount: 1.5 }, error: /^amount must be a whole number from 1 to/ },
      { body: { toUser: 'x', amount: 2 ** 53 }, error: /^amount must be a whole number from 1 to/ },
      {
        body: '{"toUser": "x", "amount": 1e400}',
        error: /^amount must be a whole number from 1 to/,
      },
      // Doubles round both of these to whole numbers (3 and 1); their text is not whole.
      {
        body: '{"toUser": "x", "amount": 2.9999999999999999}',
        error: /^amount must be a whole number from 1 to/,
      },
      {
        body: '{"toUser": "x", "amount": 1.0000000000000000000000000000001}',
        error: /^amount must be a whole number from 1 to/,
      },
      {
        body: '{"toUser": "x", "amount": 3e-1}',
        error: /^amount must be a whole number from 1 to/,
      },
      { body: { toUser: 'x', amount: '10' }, error: 'amount must be a number' },
      { body: { toUser: 'x', amount: null }, error: 'amount must be a number' },
      { body: { toUser: 'x', amount: true }, error: 'amount must be a number' },
      { body: { toUser: 7, amount: 1 }, error: 'toUser must be a string' },
      { body: { toUser: '', amount: 1 }, error: 'toUser must not be empty' },
      {
        body: { toUser: 'x'.repeat(65), amount: 1 },
        error: 'toUser must be at most 64 characters',
      },
      { body: [1], error: 'body must be a JSON object' },
      { body: '{"toUser": ', error: /JSON/ },
    ],
    async ({ body, error }) => {
      const user = await shop.login();
      expectError(await shop.send(user.token, body), 400, error);
      expect((await shop.infoOf(user)).coins).toBe(1000);
    },
  );

  test.for(['3.0', '3.000000000000000000000000', '30e-1', '0.3e1'])(
    'takes an amount written %s as exactly 3 coins',
    async (written) => {
      const [alice, bob] = [await shop.login(), await shop.login()];
      const body = `{"toUser": ${JSON.stringify(bob.username)}, "amount": ${written}}`;
      expect((await shop.send(alice.token, body)).statusCode).toBe(200);
      expect((await shop.infoOf(bob)).coins).toBe(1003);
    },
  );
});

describe('Idempotency-Key', () => {
  test('a retried purchase is replayed, not paid twice', async () => {
    const user = await shop.login();
    const first = await shop.buy(user.token, 'umbrella', { 'idempotency-key': 'buy-1' });
    const retry = await shop.buy(user.token, 'umbrella', { 'idempotency-key': 'buy-1' });
    expect([first.statusCode, retry.statusCode]).toEqual([200, 200]);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(await shop.infoOf(user)).toMatchObject({
      coins: 800,
      inventory: [{ type: 'umbrella', quantity: 1 }],
    });
  });

  test('a retried transfer is replayed, and concurrent retries pay once', async () => {
    const [alice, bob] = [await shop.login(), await shop.login()];
    const body = { toUser: bob.username, amount: 100 };
    const answers = await Promise.all(
      Array.from({ length: 5 }, () =>
        shop.send(alice.token, body, { 'idempotency-key': 'pay-bob' }),
      ),
    );
    expect(answers.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200]);
    expect(answers.filter((r) => r.headers['idempotent-replayed'] === 'true')).toHaveLength(4);
    expect((await shop.infoOf(alice)).coins).toBe(900);
    expect((await shop.infoOf(bob)).coins).toBe(1100);
  });

  test('the first refusal is replayed too, even once the change would succeed', async () => {
    const [alice, bob] = [await shop.login(), await shop.login()];
    const key = { 'idempotency-key': 'big-one' };
    expectError(
      await shop.send(alice.token, { toUser: bob.username, amount: 1500 }, key),
      400,
      'not enough coins',
    );
    expect((await shop.send(bob.token, { toUser: alice.username, amount: 600 })).statusCode).toBe(
      200,
    );
    const retry = await shop.send(alice.token, { toUser: bob.username, amount: 1500 }, key);
    expectError(retry, 400, 'not enough coins');
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect((await shop.infoOf(alice)).coins).toBe(1600);
  });

  test('a key reused for another request is refused, and changes nothing', async () => {
    const [alice, bob] = [await shop.login(), await shop.login()];
    const key = { 'idempotency-key': 'k' };
    expect(
      (await shop.send(alice.token, { toUser: bob.username, amount: 5 }, key)).statusCode,
    ).toBe(200);
    const reused = 'Idempotency-Key was already used for a different request';
    expectError(
      await shop.send(alice.token, { toUser: bob.username, amount: 6 }, key),
      400,
      reused,
    );
    expectError(await shop.buy(alice.token, 'pen', key), 400, reused);
    expect((await shop.infoOf(alice)).coins).toBe(995);
  });

  test('keys are per user: the same key from two users is two operations', async () => {
    const [alice, bob] = [await shop.login(), await shop.login()];
    for (const user of [alice, bob]) {
      const response = await shop.buy(user.token, 'pen', { 'idempotency-key': 'shared' });
      expect(response.headers['idempotent-replayed']).toBeUndefined();
      expect((await shop.infoOf(user)).coins).toBe(990);
    }
  });

  cases(
    'refuses a malformed key with 400',
    ['', 'k'.repeat(256), 'ключ', 'tab\tkey'],
    async (key) => {
      const user = await shop.login();
      const response = await shop.buy(user.token, 'pen', { 'idempotency-key': key });
      expectError(response, 400, /^Idempotency-Key must be 1 to 255 printable ASCII characters/);
      expect((await shop.infoOf(user)).coins).toBe(1000);
    },
  );
});

describe('the /api surface', () => {
  cases(
    'answers other paths and methods with 400 in the shop body',
    [
      { method: 'GET', url: '/api/unknown' },
      { method: 'GET', url: '/api/auth' },
      { method: 'POST', url: '/api/info' },
      { method: 'DELETE', url: '/api/sendCoin' },
      { method: 'GET', url: '/api/buy/' },
      { method: 'GET', url: '/api/buy/cup/extra' },
    ] as const,
    async ({ method, url }) => {
      expectError(await t.app.inject({ method, url }), 400, `no such endpoint: ${method} ${url}`);
    },
  );

  // The contract knows no 405: the answer stays its 400, and Allow says what the path takes.
  cases(
    'a known path asked with another method keeps its 400, with Allow naming the path’s methods',
    [
      { method: 'PUT', url: '/api/auth', allow: 'POST' },
      { method: 'GET', url: '/api/auth/', allow: 'POST' },
      { method: 'DELETE', url: '/api/info', allow: 'GET, HEAD' },
      { method: 'POST', url: '/api/info?x=1', allow: 'GET, HEAD' },
      { method: 'PATCH', url: '/api/sendCoin', allow: 'POST' },
      { method: 'POST', url: '/api/buy/pen', allow: 'GET, HEAD' },
      { method: 'DELETE', url: '/api/buy/no-such-item', allow: 'GET, HEAD' },
      { method: 'PUT', url: '/api/session', allow: 'GET, HEAD, POST, DELETE' },
      { method: 'TRACE', url: '/api/auth', allow: 'POST' },
      { method: 'OPTIONS', url: '/api/info', allow: 'GET, HEAD' },
    ] as const,
    async ({ method, url, allow }) => {
      const response = await t.app.inject({ method, url });
      expectError(response, 400, `no such endpoint: ${method} ${url}`);
      expect(response.headers.allow).toBe(allow);
    },
  );

  cases(
    'an unknown path gets its 400 without Allow',
    ['/api/unknown', '/api/buy/', '/api/buy/cup/extra', '/api/v2/wallets', '/api/authx'],
    async (url) => {
      const response = await t.app.inject({ method: 'PUT', url });
      expectError(response, 400, `no such endpoint: PUT ${url}`);
      expect(response.headers.allow).toBeUndefined();
    },
  );

  test('an unknown URL is repeated in the message only up to 200 characters', async () => {
    const response = await t.app.inject({ url: `/api/${'y'.repeat(500)}` });
    expectError(response, 400, `no such endpoint: GET /api/${'y'.repeat(195)}…`);
  });

  test('a URL the router cannot decode, or a parameter over its limit, is a 400 in the shop body', async () => {
    expectError(await t.app.inject({ url: '/api/buy/%E0%A4%A' }), 400, /not a valid url component/);
    expectError(
      await t.app.inject({ url: `/api/buy/${'x'.repeat(2000)}` }),
      400,
      /max param length/,
    );
  });

  test('the OpenAPI document lists, of 200, 400, 401 and 500 (and 429 on sign-in), what each endpoint answers', async () => {
    const doc = (await t.app.inject({ url: '/docs/json' })).json();
    const statuses = (operation: { responses: object }) => Object.keys(operation.responses).sort();
    expect(statuses(doc.paths['/api/auth'].post)).toEqual(['200', '400', '401', '429', '500']);
    for (const operation of [doc.paths['/api/sendCoin'].post, doc.paths['/api/buy/{item}'].get]) {
      expect(statuses(operation)).toEqual(['200', '400', '401', '500']);
    }
    // A GET reads no body and no parameter it could refuse: only its credentials can be wrong.
    expect(statuses(doc.paths['/api/info'].get)).toEqual(['200', '401', '500']);
    // A shop body too large, or of another Content-Type, is a 400: the contract has no 413, 415.
    for (const operation of [doc.paths['/api/auth'].post, doc.paths['/api/sendCoin'].post]) {
      expect(operation.responses['400'].description).toMatch(/bytes.*Content-Type/);
    }
  });

  test('a GET that is sent a body it cannot parse still answers as without one', async () => {
    const user = await shop.login();
    const response = await t.app.inject({
      url: '/api/info',
      headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
      payload: '{not json',
    });
    expect(response.statusCode).toBe(200);
  });
});
