// Hostile input over real sockets, against the app listening on loopback as in production: JSON
// nested 10,000 deep, duplicate and prototype keys, bytes that are not UTF-8, NUL characters,
// numbers no double holds, oversized headers, a client sending a byte a second, and hundreds of
// idle connections. Each is answered with a clear 4xx (or the connection is closed where HTTP
// says so), never a 5xx or a crash; /healthz answers after every case, and the process's memory
// after the suite stays within a stated bound of what it was before.
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { isMainThread } from 'node:worker_threads';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { SHOP_BODY_LIMIT_BYTES } from '../../src/features/shop/shop.catalog.ts';
import { WALLET_BODY_LIMIT_BYTES } from '../../src/features/wallets/wallet.routes.ts';
import { connectionsCheckingIntervalMs } from '../../src/platform/http/connections.ts';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { cases } from '../support/cases.ts';
import { scoreRequest } from '../support/scoring.ts';
import { uniqueName } from '../support/shop.ts';

/** This file's loopback port (its range is 18500–18599). */
const PORT = 18_500;
/** The port of the app whose connection limit is filled. */
const LIMITED_PORT = 18_501;
const HOST = '127.0.0.1';
/** The request timeout of the app under test: the smallest the configuration accepts. */
const REQUEST_TIMEOUT_MS = 1_000;
/** The app's connection limit: small enough to reach, large enough to be "hundreds". */
const CONNECTIONS_MAX = 300;
/** Longest one exchange may take before the test gives up on it (the slow ones excepted). */
const EXCHANGE_WAIT_MS = 10_000;
/** Scheduling slack on a busy 2-core machine, on top of a bound the server promises. */
const SLACK_MS = 1_000;
/** How much the process's resident memory may grow over the whole suite. */
const RSS_GROWTH_MAX_BYTES = 64 * 1024 * 1024;
const NESTING_DEPTH = 10_000;
/** How often the server checks the request timeout, for the timeout above. */
const CHECK_INTERVAL_MS = connectionsCheckingIntervalMs(REQUEST_TIMEOUT_MS);

// A full collection before each memory reading, where the runtime lets one be asked for.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

let t: TestApp;
let rssBefore = 0;
beforeAll(async () => {
  t = await buildTestApp({
    HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    HTTP_CONNECTIONS_MAX: String(CONNECTIONS_MAX),
  });
  await t.app.listen({ host: HOST, port: PORT });
  // Warm every API once, so that what is measured is growth, not first use.
  await exchange(request('POST', '/method', JSON.stringify(scoreRequest({ first_name: 'a' }))));
  await exchange(request('POST', '/api/auth', '{"username":"warm","password":"up"}'));
  await exchange(request('POST', '/api/v1/wallets/', ''));
  rssBefore = residentBytes();
});

afterAll(() => {
  const growth = residentBytes() - rssBefore;
  process.stdout.write(
    `\n[hostile-input] RSS ${mib(rssBefore)} MiB before, ${mib(rssBefore + growth)} MiB after ` +
      `(${growth >= 0 ? '+' : ''}${mib(growth)} MiB; ${isMainThread ? 'own process' : 'worker thread'})\n`,
  );
  expect(growth).toBeLessThan(RSS_GROWTH_MAX_BYTES);
});

// The process still serves after every case.
afterEach(async () => {
  const health = await exchange(request('GET', '/healthz'));
  expect(health.status).toBe(200);
});

function residentBytes(): number {
  collectGarbage();
  return process.memoryUsage().rss;
}
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

interface Answer {
  /** null when the server closed the connection without answering. */
  readonly status: number | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
  /** From the first byte written to the connection's close. */
  readonly elapsedMs: number;
}

/** An HTTP/1.1 request as bytes, closing the connection after its answer. */
function request(
  method: string,
  url: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Buffer {
  const payload = body === undefined ? undefined : Buffer.from(body);
  const lines = [`${method} ${url} HTTP/1.1`, `host: ${HOST}`, 'connection: close'];
  if (payload) lines.push('content-type: application/json', `content-length: ${payload.length}`);
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), payload ?? Buffer.alloc(0)]);
}

/**
 * Sends `bytes` on a new connection (all at once, or `slowly` one every that many ms after the
 * first `fast` of them) to `port` and reads until the server closes it; fails after `waitMs`.
 */
function exchange(
  bytes: Buffer,
  { slowly = 0, fast = bytes.length, waitMs = EXCHANGE_WAIT_MS, port = PORT } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, HOST);
    const chunks: Buffer[] = [];
    let started = 0;
    let pacer: NodeJS.Timeout | undefined;
    const giveUp = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${waitMs} ms`));
    }, waitMs);
    socket.on('connect', () => {
      started = performance.now();
      socket.write(bytes.subarray(0, fast));
      if (slowly === 0) return;
      let sent = fast;
      // Bounded by the request's length: one byte each tick, then nothing.
      pacer = setInterval(() => {
        if (sent >= bytes.length || socket.destroyed) return clearInterval(pacer);
        socket.write(bytes.subarray(sent, sent + 1));
        sent += 1;
      }, slowly);
    });
    socket.on('data', (chunk) => chunks.push(chunk));
    // A write after the server closed may fail (EPIPE, ECONNRESET); what was read still counts.
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(giveUp);
      clearInterval(pacer);
      resolve(parse(Buffer.concat(chunks), performance.now() - started));
    });
  });
}

function parse(raw: Buffer, elapsedMs: number): Answer {
  const text = raw.toString('utf8');
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) return { status: null, headers: {}, text, elapsedMs };
  const [statusLine = '', ...fields] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const field of fields) {
    const colon = field.indexOf(':');
    headers[field.slice(0, colon).toLowerCase()] = field.slice(colon + 1).trim();
  }
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? Number.NaN);
  return { status, headers, text: text.slice(end + 4), elapsedMs };
}

const json = (answer: Answer) => JSON.parse(answer.text) as Record<string, unknown>;

/** A clear client error in the body style of the API `url` belongs to. */
function expectRefused(answer: Answer, url: string, status?: number) {
  expect(answer.status, answer.text).toBeGreaterThanOrEqual(400);
  expect(answer.status, answer.text).toBeLessThan(500);
  if (status !== undefined) expect(answer.status, answer.text).toBe(status);
  const body = json(answer);
  if (url.startsWith('/api/v1/')) expect(body).toHaveProperty('detail');
  else if (url.startsWith('/api/')) expect(Object.keys(body)).toEqual(['errors']);
  else expect(body).toEqual({ code: answer.status, error: expect.any(String) });
}

async function newWallet(): Promise<string> {
  const created = await exchange(request('POST', '/api/v1/wallets/', ''));
  expect(created.status).toBe(201);
  return json(created).wallet_id as string;
}

async function balanceOf(walletId: string): Promise<number> {
  return json(await exchange(request('GET', `/api/v1/wallets/${walletId}`))).balance as number;
}

async function shopToken(username = uniqueName()): Promise<string> {
  const answer = await exchange(
    request('POST', '/api/auth', JSON.stringify({ username, password: 'pw' })),
  );
  expect(answer.status, answer.text).toBe(200);
  return json(answer).token as string;
}

const arrays = (depth: number, inner = '1') => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;
const objects = (depth: number, inner = '1') =>
  `${'{"a":'.repeat(depth)}${inner}${'}'.repeat(depth)}`;

describe('JSON nested 10,000 deep', () => {
  cases(
    'is refused in the envelope of each API, whether or not it fits the body limit',
    [
      { url: '/method', body: arrays(NESTING_DEPTH), status: 400 },
      { url: '/method', body: objects(NESTING_DEPTH), status: 422 },
      // A float makes the parser revive every level, which recursion cannot do 10,000 deep.
      { url: '/method', body: arrays(NESTING_DEPTH, '1.0'), status: 400 },
      { url: '/api/auth', body: arrays(NESTING_DEPTH), status: 400 },
      { url: '/api/session', body: objects(NESTING_DEPTH), status: 400 },
      { url: '/api/v1/wallet', body: arrays(NESTING_DEPTH), status: 413 },
    ],
    async ({ url, body, status }) => {
      expectRefused(await exchange(request('POST', url, body)), url, status);
    },
  );

  test('nested as deep as each body limit allows, inside a field, is a 4xx too', async () => {
    const shopDepth = Math.floor((SHOP_BODY_LIMIT_BYTES - 64) / 2);
    const auth = await exchange(
      request('POST', '/api/auth', `{"username":${arrays(shopDepth, '"x"')},"password":"p"}`),
    );
    expectRefused(auth, '/api/auth', 400);
    const walletDepth = Math.floor((WALLET_BODY_LIMIT_BYTES - 64) / 2);
    const id = await newWallet();
    const url = `/api/v1/wallets/${id}/operation`;
    const deep = `{"operation_type":"DEPOSIT","amount":${arrays(walletDepth, '1.5')}}`;
    const operation = await exchange(request('POST', url, deep));
    expectRefused(operation, url, 422);
    expect(json(operation).detail).toEqual([
      { loc: ['body', 'amount'], msg: 'Input should be a valid integer', type: 'int_type' },
    ]);
    const envelope = JSON.stringify(scoreRequest({ first_name: '@', last_name: 'b' }));
    const scoring = await exchange(
      request('POST', '/method', envelope.replace('"@"', arrays(NESTING_DEPTH))),
    );
    expectRefused(scoring, '/method', 422);
    expect(json(scoring).error).toBe('first_name: must be a string');
  });
});

describe('duplicate keys', () => {
  test('the last one counts, in every API, as JSON parsers (and FastAPI) read them', async () => {
    const id = await newWallet();
    const deposit = await exchange(
      request(
        'POST',
        `/api/v1/wallets/${id}/operation`,
        '{"operation_type":"WITHDRAW","amount":1,"operation_type":"DEPOSIT","amount":5}',
      ),
    );
    expect(deposit.status, deposit.text).toBe(200);
    expect(await balanceOf(id)).toBe(5);

    const name = uniqueName('last');
    const login = await exchange(
      request('POST', '/api/auth', `{"username":"first","username":"${name}","password":"pw"}`),
    );
    expect(login.status, login.text).toBe(200);
    const info = await exchange(
      request('GET', '/api/info', undefined, { authorization: `Bearer ${json(login).token}` }),
    );
    expect(json(info).coins).toBe(1000);

    const envelope = JSON.stringify(scoreRequest({ first_name: 'a', last_name: 'b' }));
    const scored = await exchange(
      request('POST', '/method', envelope.replace('{', '{"login":"someone else",')),
    );
    expect(json(scored)).toEqual({ code: 200, response: { score: 0.5 } });
  });
});

describe('__proto__ and constructor keys', () => {
  const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();
  const hostile =
    '"__proto__":{"polluted":"yes","phone":"79175002040","email":"a@b"},' +
    '"constructor":{"prototype":{"polluted":"yes"}}';

  test('are plain unknown fields: nothing is inherited from them, nothing is polluted', async () => {
    const id = await newWallet();
    const url = `/api/v1/wallets/${id}/operation`;
    const operation = await exchange(
      request('POST', url, `{"operation_type":"DEPOSIT","amount":1,${hostile}}`),
    );
    expectRefused(operation, url, 422);
    expect(
      (json(operation).detail as { loc: unknown[]; type: string }[]).map((issue) => issue.loc),
    ).toEqual([
      ['body', '__proto__'],
      ['body', 'constructor'],
    ]);
    expect(await balanceOf(id)).toBe(0);

    // A phone and an email only "inherited" from __proto__ are not there: no pair, 422.
    const envelope = JSON.stringify(scoreRequest({ first_name: 'x' }));
    const scored = await exchange(
      request('POST', '/method', envelope.replace('"first_name":"x"', hostile)),
    );
    expectRefused(scored, '/method', 422);

    const name = uniqueName('proto');
    const login = await exchange(
      request('POST', '/api/auth', `{"username":"${name}","password":"pw",${hostile}}`),
    );
    expect(login.status, login.text).toBeLessThan(500);

    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('bytes that are not UTF-8', () => {
  // A lone continuation byte, an overlong '/', an encoded surrogate, a sequence cut short.
  const sequences = [[0xff], [0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82]];
  const withBytes = (text: string, bytes: readonly number[]) => {
    const [before = '', after = ''] = text.split('@');
    return Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);
  };

  cases('are refused by every API, in its envelope', sequences, async (bytes) => {
    const score = JSON.stringify(scoreRequest({ first_name: 'a@', last_name: 'b' }));
    const method = await exchange(request('POST', '/method', withBytes(score, bytes)));
    expectRefused(method, '/method', 400);
    expect(json(method).error).toBe('Bad Request: the body is not UTF-8 text');
    for (const url of ['/api/auth', '/api/session']) {
      const credentials = `{"username":"${uniqueName('u8')}@","password":"pw"}`;
      const shop = await exchange(request('POST', url, withBytes(credentials, bytes)));
      expectRefused(shop, url, 400);
      expect(json(shop).errors).toBe('the body is not valid JSON: the body is not UTF-8 text');
    }
    const id = await newWallet();
    const url = `/api/v1/wallets/${id}/operation`;
    const operation = `{"operation_type":"DEPOSIT","amount":1,"x@":1}`;
    const wallet = await exchange(request('POST', url, withBytes(operation, bytes)));
    expectRefused(wallet, url, 422);
    expect(json(wallet).detail).toEqual([
      { loc: ['body'], msg: 'JSON decode error', type: 'json_invalid' },
    ]);
  });
});

describe('NUL characters', () => {
  test('a raw NUL byte inside a JSON string is not JSON', async () => {
    const name = Buffer.concat([
      Buffer.from('{"username":"a'),
      Buffer.from([0]),
      Buffer.from('"}'),
    ]);
    expectRefused(await exchange(request('POST', '/api/auth', name)), '/api/auth', 400);
    expectRefused(await exchange(request('POST', '/method', name)), '/method', 400);
    expectRefused(await exchange(request('POST', '/api/v1/wallet', name)), '/api/v1/wallet', 422);
  });

  test('an escaped NUL is refused where a name or a keyword is expected', async () => {
    for (const url of ['/api/auth', '/api/session']) {
      const answer = await exchange(
        request('POST', url, '{"username":"a\\u0000b","password":"p"}'),
      );
      expectRefused(answer, url, 400);
    }
    const token = await shopToken();
    const send = await exchange(
      request('POST', '/api/sendCoin', '{"toUser":"b\\u0000","amount":1}', {
        authorization: `Bearer ${token}`,
      }),
    );
    expectRefused(send, '/api/sendCoin', 400);
    const buy = await exchange(
      request('GET', '/api/buy/c%00up', undefined, { authorization: `Bearer ${token}` }),
    );
    expectRefused(buy, '/api/buy/c%00up', 400);
    const id = await newWallet();
    const url = `/api/v1/wallets/${id}/operation`;
    const operation = await exchange(
      request('POST', url, '{"operation_type":"DEPOSIT\\u0000","amount":1}'),
    );
    expectRefused(operation, url, 422);
    expectRefused(await exchange(request('GET', '/api/v1/wallets/%00')), '/api/v1/wallets/', 422);
    // A name is free text in the scoring API: a NUL in it is scored like any other character.
    const scored = await exchange(
      request(
        'POST',
        '/method',
        JSON.stringify(scoreRequest({ first_name: 'a\u0000', last_name: 'b' })),
      ),
    );
    expect(json(scored)).toEqual({ code: 200, response: { score: 0.5 } });
  });

  test('a NUL or a bare CR in a header is refused by the parser, which closes the connection', async () => {
    for (const value of ['a\u0000b', 'a\rb']) {
      const answer = await exchange(request('GET', '/healthz', undefined, { 'x-test': value }));
      expect(answer.status).toBe(400);
    }
  });
});

describe('numbers no double holds', () => {
  test('1e400 and -0 are refused as amounts, never stored as Infinity or 0', async () => {
    const id = await newWallet();
    const url = `/api/v1/wallets/${id}/operation`;
    for (const [amount, type] of [
      ['1e400', 'less_than_equal'],
      ['-1e400', 'greater_than_equal'],
      ['-0', 'greater_than_equal'],
    ]) {
      const answer = await exchange(
        request('POST', url, `{"operation_type":"DEPOSIT","amount":${amount}}`),
      );
      expectRefused(answer, url, 422);
      expect((json(answer).detail as { type: string }[]).map((issue) => issue.type)).toEqual([
        type,
      ]);
    }
    expect(await balanceOf(id)).toBe(0);

    const token = await shopToken();
    for (const amount of ['1e400', '-0', '1e-400']) {
      const send = await exchange(
        request('POST', '/api/sendCoin', `{"toUser":"warm","amount":${amount}}`, {
          authorization: `Bearer ${token}`,
        }),
      );
      expectRefused(send, '/api/sendCoin', 400);
    }

    const envelope = JSON.stringify(
      scoreRequest({ phone: 79175002040, email: 'a@b', birthday: '01.01.2000', gender: 1 }),
    );
    const infinite = await exchange(
      request('POST', '/method', envelope.replace('79175002040', '1e400')),
    );
    expectRefused(infinite, '/method', 422);
    expect(json(infinite).error).toMatch(/^phone: /);
  });

  test('1e400 and -0 as whole bodies are not objects', async () => {
    for (const body of ['1e400', '-0']) {
      expectRefused(await exchange(request('POST', '/method', body)), '/method', 400);
      expectRefused(await exchange(request('POST', '/api/auth', body)), '/api/auth', 400);
      const wallet = await exchange(request('POST', '/api/v1/wallet', body));
      expectRefused(wallet, '/api/v1/wallet', 422);
      expect(json(wallet).detail).toEqual([
        {
          loc: ['body'],
          msg: 'Input should be a valid dictionary or object to extract fields from',
          type: 'model_attributes_type',
        },
      ]);
    }
  });
});

describe('headers', () => {
  test('a 10 KB header is read as any other', async () => {
    const answer = await exchange(
      request('GET', '/healthz', undefined, { 'x-pad': 'a'.repeat(10_240) }),
    );
    expect(answer.status).toBe(200);
  });

  test("a 100 KB header is 431 (past Node's maxHeaderSize) and the connection is closed", async () => {
    const answer = await exchange(
      request('GET', '/healthz', undefined, { 'x-pad': 'a'.repeat(100 * 1024) }),
    );
    expect(answer.status).toBe(431);
  });
});

describe('a client sending a byte a second', () => {
  const latest = REQUEST_TIMEOUT_MS + CHECK_INTERVAL_MS + SLACK_MS;

  cases(
    `is cut with 408 between the request timeout (${REQUEST_TIMEOUT_MS} ms) and it plus the check interval`,
    ['in its headers', 'in its body'],
    async (where) => {
      const body = JSON.stringify(scoreRequest({ first_name: 'a', last_name: 'b' }));
      const bytes = request('POST', '/method', body);
      const fast = where === 'in its headers' ? 10 : bytes.length - body.length + 1;
      const [answer, health] = await Promise.all([
        exchange(bytes, { slowly: 1_000, fast, waitMs: latest + SLACK_MS }),
        // Meanwhile the server serves others.
        exchange(request('GET', '/healthz')),
      ]);
      expect(health.status).toBe(200);
      expect(answer.status).toBe(408);
      expect(answer.elapsedMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
      expect(answer.elapsedMs).toBeLessThanOrEqual(latest);
    },
  );
});

describe(`hundreds of idle connections (HTTP_CONNECTIONS_MAX = ${CONNECTIONS_MAX})`, () => {
  const held: Socket[] = [];
  /** Opens a connection that sends nothing; it is destroyed after the file at the latest. */
  const open = (port: number) =>
    new Promise<Socket>((resolve, reject) => {
      const socket = connect(port, HOST, () => resolve(socket));
      socket.on('error', reject);
      // Read, so that what the server sends (and its closing) is seen.
      socket.resume();
      held.push(socket);
    });
  const release = async (server: TestApp) => {
    for (const socket of held.splice(0)) socket.destroy();
    await settle(server, 0);
  };
  afterAll(() => {
    for (const socket of held.splice(0)) socket.destroy();
  });

  test('that never send a byte are cut at the request timeout too', async () => {
    await settle(t, 0);
    const count = 100;
    const opened = performance.now();
    const closedAfter = await Promise.all(
      Array.from({ length: count }, async () => {
        const socket = await open(PORT);
        let answer = '';
        socket.on('data', (chunk) => {
          answer += chunk;
        });
        await new Promise((resolve) => socket.once('close', resolve));
        expect(answer).toMatch(/^HTTP\/1\.1 408 /);
        return performance.now() - opened;
      }),
    );
    expect(Math.max(...closedAfter)).toBeLessThanOrEqual(
      REQUEST_TIMEOUT_MS + CHECK_INTERVAL_MS + SLACK_MS,
    );
    await release(t);
  });

  test('are held up to the limit while the server answers; one more is closed unanswered', async () => {
    // Its own app, with the default request timeout: the connections stay while they are counted.
    const limited = await buildTestApp({ HTTP_CONNECTIONS_MAX: String(CONNECTIONS_MAX) });
    await limited.app.listen({ host: HOST, port: LIMITED_PORT });
    const rssIdle = residentBytes();
    for (let i = 0; i < CONNECTIONS_MAX - 1; i += 1) await open(LIMITED_PORT);
    await settle(limited, CONNECTIONS_MAX - 1);
    const perConnection = (residentBytes() - rssIdle) / (CONNECTIONS_MAX - 1);
    process.stdout.write(
      `\n[hostile-input] ${CONNECTIONS_MAX - 1} idle connections: ~${(perConnection / 1024).toFixed(1)} KiB of RSS each\n`,
    );
    // The last free one serves.
    const health = () => exchange(request('GET', '/healthz'), { port: LIMITED_PORT });
    expect((await health()).status).toBe(200);
    await settle(limited, CONNECTIONS_MAX - 1);

    await open(LIMITED_PORT);
    await settle(limited, CONNECTIONS_MAX);
    const refused = await health();
    expect(refused).toMatchObject({ status: null, text: '' });
    expect(limited.app.server.listening).toBe(true);

    held.pop()?.destroy();
    await settle(limited, CONNECTIONS_MAX - 1);
    const scraped = await exchange(request('GET', '/metrics'), { port: LIMITED_PORT });
    expect(scraped.text).toMatch(/^http_connections_dropped_total [1-9]/m);
    await release(limited);
    expect((await health()).status).toBe(200);
  }, 30_000);
});

/** Waits (bounded) until the app's server counts `count` connections. */
async function settle(server: TestApp, count: number) {
  const connections = () =>
    new Promise<number>((resolve, reject) =>
      server.app.server.getConnections((error, n) => (error ? reject(error) : resolve(n))),
    );
  const deadline = Date.now() + EXCHANGE_WAIT_MS;
  while ((await connections()) !== count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(await connections()).toBe(count);
}
