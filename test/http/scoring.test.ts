// The course template's whole suite and every transport decision of the scoring contract, over
// HTTP through app.inject, on the in-process store seeded by each test with its own data.
import { beforeAll, describe, expect, test } from 'vitest';
import { scoringErrors } from '../../src/features/scoring/scoring.errors.ts';
import { SCORING_BODY_LIMIT_BYTES } from '../../src/features/scoring/scoring.routes.ts';
import { scoreCacheKey } from '../../src/features/scoring/scoring.score.ts';
import {
  createMemoryStore,
  StoreUnavailableError,
} from '../../src/features/scoring/scoring.store.ts';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { cases } from '../support/cases.ts';
import { interestsRequest, scoreRequest, withValidToken } from '../support/scoring.ts';

const INTERESTS = {
  0: ['books', 'hi-tech'],
  1: ['pets', 'tv'],
  2: ['travel', 'music'],
  3: ['cars', 'sport'],
};
const seeded = () =>
  createMemoryStore(
    Object.entries(INTERESTS).map(([id, list]) => [`i:${id}`, JSON.stringify(list)]),
  );

const today = () => {
  const d = new Date();
  return `${String(d.getDate()).padStart(2, '0')}.${String(d.getMonth() + 1).padStart(2, '0')}.${d.getFullYear()}`;
};

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({}, { scoringStore: seeded() });
});

async function post(body: unknown, headers: Record<string, string> = {}) {
  const response = await t.app.inject({
    method: 'POST',
    url: '/method',
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const json = response.json();
  // The contract's first rule: the HTTP status always equals the body's code.
  expect(json.code).toBe(response.statusCode);
  return { status: response.statusCode, json, response };
}

/** The log line the scoring route writes for the request with this id. */
function methodLog(requestId: string) {
  return t.logs.find(
    (line) => line.requestId === requestId && line.msg === 'scoring method served',
  );
}

describe('the course template suite', () => {
  test('an empty request is 422', async () => {
    const { status, json } = await post({});
    expect(status).toBe(422);
    expect(json.error).toMatch(/login: is required/);
  });

  cases(
    'bad auth is 403',
    [
      { account: 'horns&hoofs', login: 'h&f', method: 'online_score', token: '', arguments: {} },
      { account: 'horns&hoofs', login: 'h&f', method: 'online_score', token: 'sdd', arguments: {} },
      { account: 'horns&hoofs', login: 'admin', method: 'online_score', token: '', arguments: {} },
    ],
    async (request) => {
      const { status, json } = await post(request);
      expect(status).toBe(403);
      expect(json).toEqual({ code: 403, error: 'Forbidden' });
    },
  );

  cases(
    'an invalid envelope is 422',
    [
      { account: 'horns&hoofs', login: 'h&f', method: 'online_score' },
      { account: 'horns&hoofs', login: 'h&f', arguments: {} },
      { account: 'horns&hoofs', method: 'online_score', arguments: {} },
    ],
    async (request) => {
      const { status, json } = await post(withValidToken(request));
      expect(status).toBe(422);
      expect(json.error.length).toBeGreaterThan(0);
    },
  );

  cases(
    'invalid score arguments are 422',
    [
      {},
      { phone: '79175002040' },
      { phone: '89175002040', email: 'stupnikov@otus.ru' },
      { phone: '79175002040', email: 'stupnikovotus.ru' },
      { phone: '79175002040', email: 'stupnikov@otus.ru', gender: -1 },
      { phone: '79175002040', email: 'stupnikov@otus.ru', gender: '1' },
      { phone: '79175002040', email: 'stupnikov@otus.ru', gender: 1, birthday: '01.01.1890' },
      { phone: '79175002040', email: 'stupnikov@otus.ru', gender: 1, birthday: 'XXX' },
      {
        phone: '79175002040',
        email: 'stupnikov@otus.ru',
        gender: 1,
        birthday: '01.01.2000',
        first_name: 1,
      },
      {
        phone: '79175002040',
        email: 'stupnikov@otus.ru',
        gender: 1,
        birthday: '01.01.2000',
        first_name: 's',
        last_name: 2,
      },
      { phone: '79175002040', birthday: '01.01.2000', first_name: 's' },
      { email: 'stupnikov@otus.ru', gender: 1, last_name: 2 },
    ],
    async (args) => {
      const { status, json } = await post(scoreRequest(args));
      expect(status).toBe(422);
      expect(json.error.length).toBeGreaterThan(0);
    },
  );

  cases(
    'valid score arguments are 200, and `has` lists them',
    [
      { phone: '79175002040', email: 'stupnikov@otus.ru' },
      { phone: 79175002040, email: 'stupnikov@otus.ru' },
      { gender: 1, birthday: '01.01.2000', first_name: 'a', last_name: 'b' },
      { gender: 0, birthday: '01.01.2000' },
      { gender: 2, birthday: '01.01.2000' },
      { first_name: 'a', last_name: 'b' },
      {
        phone: '79175002040',
        email: 'stupnikov@otus.ru',
        gender: 1,
        birthday: '01.01.2000',
        first_name: 'a',
        last_name: 'b',
      },
    ],
    async (args) => {
      const { status, json, response } = await post(scoreRequest(args));
      expect(status).toBe(200);
      expect(typeof json.response.score).toBe('number');
      expect(json.response.score).toBeGreaterThanOrEqual(0);
      const log = methodLog(response.headers['x-request-id'] as string);
      expect(log?.method).toBe('online_score');
      expect([...((log?.has ?? []) as string[])].sort()).toEqual(Object.keys(args).sort());
    },
  );

  test('an admin gets the integer 42', async () => {
    const { status, json } = await post(
      scoreRequest({ phone: '79175002040', email: 'stupnikov@otus.ru' }, 'admin'),
    );
    expect(status).toBe(200);
    expect(json.response).toEqual({ score: 42 });
  });

  cases(
    'invalid interests arguments are 422',
    [
      {},
      { date: '20.07.2017' },
      { client_ids: [], date: '20.07.2017' },
      { client_ids: { 1: 2 }, date: '20.07.2017' },
      { client_ids: ['1', '2'], date: '20.07.2017' },
      { client_ids: [1, 2], date: 'XXX' },
    ],
    async (args) => {
      const { status, json } = await post(interestsRequest(args));
      expect(status).toBe(422);
      expect(json.error.length).toBeGreaterThan(0);
    },
  );

  cases(
    'valid interests arguments are 200 with one list per id',
    [
      { client_ids: [1, 2, 3], date: today() },
      { client_ids: [1, 2], date: '19.07.2017' },
      { client_ids: [0] },
    ],
    async (args) => {
      const { status, json, response } = await post(interestsRequest(args));
      expect(status).toBe(200);
      expect(Object.keys(json.response)).toHaveLength(args.client_ids.length);
      for (const id of args.client_ids) {
        expect(json.response[String(id)]).toEqual(INTERESTS[id as keyof typeof INTERESTS]);
      }
      const log = methodLog(response.headers['x-request-id'] as string);
      expect(log?.nclients).toBe(args.client_ids.length);
    },
  );
});

describe('scores', () => {
  cases(
    'are computed by the contract',
    [
      [{ phone: '79175002040', email: 'a@b' }, 3],
      [{ phone: 79175002040, email: 'a@b', first_name: 'a', last_name: 'b' }, 3.5],
      [{ gender: 0, birthday: '01.01.2000' }, 0],
      [{ gender: 2, birthday: '01.01.2000' }, 1.5],
      [{ first_name: 'a', last_name: 'b' }, 0.5],
      [
        {
          phone: '79175002040',
          email: 'a@b',
          gender: 1,
          birthday: '01.01.2000',
          first_name: 'a',
          last_name: 'b',
        },
        5,
      ],
    ] as const,
    async ([args, score]) => {
      const { json } = await post(scoreRequest(args));
      expect(json.response).toEqual({ score });
    },
  );

  test('an admin with invalid arguments is 422, not 42', async () => {
    const { status } = await post(scoreRequest({ phone: '89175002040', email: 'a@b' }, 'admin'));
    expect(status).toBe(422);
  });

  test('gender written as 1.0 is 422, as the template (Python) rejected floats', async () => {
    const body = JSON.stringify(scoreRequest({ gender: 1, birthday: '01.01.2000' })).replace(
      '"gender":1',
      '"gender":1.0',
    );
    const { status, json } = await post(body);
    expect(status).toBe(422);
    expect(json.error).toBe('gender: must be an integer 0, 1 or 2');
  });

  test('a 422 names every invalid field and why', async () => {
    const { json } = await post(
      scoreRequest({ phone: '123', email: 'x', gender: 5, birthday: '31.02.2000' }),
    );
    expect(json.error).toBe(
      'phone: must be 11 digits starting with 7; email: must contain @; birthday: must be a real calendar date DD.MM.YYYY; gender: must be an integer 0, 1 or 2',
    );
  });

  test('a cached score is served as it is, and a non-number in the cache is replaced', async () => {
    const store = createMemoryStore();
    const own = await buildTestApp({}, { scoringStore: store });
    const args = { phone: '79175002040', email: 'a@b' };
    const key = scoreCacheKey({
      phone: '79175002040',
      email: 'a@b',
      first_name: null,
      last_name: null,
      birthday: null,
      gender: null,
    });
    const ask = () =>
      own.app
        .inject({ method: 'POST', url: '/method', payload: scoreRequest(args) })
        .then((r) => r.json());
    await store.cacheSet(key, '0', 60);
    expect((await ask()).response).toEqual({ score: 0 });
    await store.cacheSet(key, 'not a number', 60);
    expect((await ask()).response).toEqual({ score: 3 });
    expect(await store.cacheGet(key)).toBe('3');
  });
});

describe('the order of checks', () => {
  test('a bad token with invalid arguments is 403: authentication comes before arguments', async () => {
    const { status } = await post({ ...scoreRequest({ phone: 'bad' }), token: 'nope' });
    expect(status).toBe(403);
  });

  test('an invalid envelope with a bad token is 422: the envelope comes first', async () => {
    const { status } = await post({ login: 'h&f', token: 'nope', method: 'online_score' });
    expect(status).toBe(422);
  });

  test('a token longer than any text field is 403, as any other wrong token', async () => {
    const long = { ...scoreRequest({ first_name: 'a', last_name: 'b' }), token: 'f'.repeat(1000) };
    expect((await post(long)).status).toBe(403);
  });

  cases(
    'an unknown method is 422 and lists the supported ones',
    ['score_all', 'constructor', '__proto__', 'toString', 'ONLINE_SCORE'],
    async (method) => {
      const { status, json } = await post(withValidToken({ login: 'h&f', method, arguments: {} }));
      expect(status).toBe(422);
      expect(json.error).toBe(
        `method: unknown method "${method}"; supported: online_score, clients_interests`,
      );
    },
  );

  cases(
    'envelope types are strict',
    [
      [{ account: 1 }, 'account: must be a string'],
      [{ login: ['h&f'] }, 'login: must be a string'],
      [{ arguments: [1] }, 'arguments: must be a JSON object'],
      [{ method: '' }, 'method: must not be empty'],
      [{ token: null, login: null, account: null }, null],
    ] as const,
    async ([patch, message]) => {
      const { status, json } = await post({
        ...scoreRequest({ first_name: 'a', last_name: 'b' }),
        ...patch,
      });
      if (message === null) {
        // Empty login, token and account are allowed by the envelope, so this fails authentication.
        expect(status).toBe(403);
      } else {
        expect(status).toBe(422);
        expect(json.error).toBe(message);
      }
    },
  );
});

describe('clients_interests', () => {
  test('a missing key is [] and duplicate ids give one entry', async () => {
    const { json, response } = await post(interestsRequest({ client_ids: [1, 1, 999] }));
    expect(json.response).toEqual({ 1: INTERESTS[1], 999: [] });
    expect(methodLog(response.headers['x-request-id'] as string)?.nclients).toBe(3);
  });

  test('an unreachable store is 503 with Retry-After, never an empty list', async () => {
    const down = createMemoryStore();
    down.getMany = async () => {
      throw new StoreUnavailableError('down');
    };
    const own = await buildTestApp({}, { scoringStore: down });
    const response = await own.app.inject({
      method: 'POST',
      url: '/method',
      payload: interestsRequest({ client_ids: [1] }),
    });
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('1');
    expect(response.json()).toEqual({ code: 503, error: scoringErrors.STORE_UNAVAILABLE.message });
  });

  test('a stored value that is not a list of strings is 500 and says nothing of it', async () => {
    const own = await buildTestApp(
      {},
      { scoringStore: createMemoryStore([['i:5', '{"not":"a list"}']]) },
    );
    const response = await own.app.inject({
      method: 'POST',
      url: '/method',
      payload: interestsRequest({ client_ids: [5] }),
    });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({ code: 500, error: 'Internal Server Error' });
    expect(own.logs.some((l) => l.key === 'i:5' && l.level === 50)).toBe(true);
  });
});

describe('transport', () => {
  cases('a body that is not JSON is 400', ['{', '', 'nope', '{"a":1}}', '\u0000'], async (body) => {
    const { status, json } = await post(body);
    expect(status).toBe(400);
    expect(json.error).toBe('Bad Request: the body is not valid JSON');
  });

  cases('JSON that is not an object is 400', ['[1]', '"x"', '1', 'null', 'true'], async (body) => {
    const { status, json } = await post(body);
    expect(status).toBe(400);
    expect(json.error).toBe('Bad Request: the body must be a JSON object');
  });

  test('a POST without a body is 400', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/method' });
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe(400);
  });

  cases(
    'any content type is read as JSON',
    ['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-8'],
    async (type) => {
      const { status } = await post(scoreRequest({ first_name: 'a', last_name: 'b' }), {
        'content-type': type,
      });
      expect(status).toBe(200);
    },
  );

  cases(
    'an empty or malformed Content-Type is read as JSON too, as is none',
    [null, '', 'foo', ';;', 'text/', 'application/json;;;=='],
    async (type) => {
      const response = await t.app.inject({
        method: 'POST',
        url: '/method',
        headers: type === null ? {} : { 'content-type': type },
        payload: JSON.stringify(scoreRequest({ first_name: 'a', last_name: 'b' })),
      });
      expect(response.json()).toEqual({ code: 200, response: { score: 0.5 } });
    },
  );

  test('a body that is not UTF-8 is 400, never read with U+FFFD in its place', async () => {
    const [before, after] = JSON.stringify(
      scoreRequest({ first_name: 'a@', last_name: 'b' }),
    ).split('@');
    const response = await t.app.inject({
      method: 'POST',
      url: '/method',
      payload: Buffer.concat([
        Buffer.from(before ?? ''),
        Buffer.from([0xff]),
        Buffer.from(after ?? ''),
      ]),
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({
      code: 400,
      error: 'Bad Request: the body is not UTF-8 text',
    });
  });

  test(`a body over ${SCORING_BODY_LIMIT_BYTES} bytes is 413 in the envelope`, async () => {
    const { status, json } = await post(
      scoreRequest({ first_name: 'a'.repeat(SCORING_BODY_LIMIT_BYTES), last_name: 'b' }),
    );
    expect(status).toBe(413);
    expect(json.code).toBe(413);
  });

  test('/method/ with a trailing slash is the same endpoint', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/method/',
      payload: scoreRequest({ first_name: 'a', last_name: 'b' }),
    });
    expect(response.json()).toEqual({ code: 200, response: { score: 0.5 } });
  });

  cases(
    'another verb on /method is 405 with Allow: POST',
    ['GET', 'PUT', 'PATCH', 'DELETE'] as const,
    async (method) => {
      const response = await t.app.inject({ method, url: '/method' });
      expect(response.statusCode).toBe(405);
      expect(response.headers.allow).toBe('POST');
      expect(response.json()).toEqual({ code: 405, error: 'Method Not Allowed: use POST' });
    },
  );

  cases(
    'a method no route names (TRACE, QUERY, WebDAV, ...) is 405 with Allow: POST too',
    [
      ['TRACE', '/method'],
      ['QUERY', '/method'],
      ['QUERY', '/method/?x=1'],
      ['PROPFIND', '/method'],
      ['PURGE', '/method/'],
    ] as const,
    async ([method, url]) => {
      const response = await t.app.inject({ method, url });
      expect(response.statusCode).toBe(405);
      expect(response.headers.allow).toBe('POST');
      expect(response.json()).toEqual({ code: 405, error: 'Method Not Allowed' });
    },
  );

  cases(
    'an unknown path is 404 in the envelope',
    [
      ['POST', '/'],
      ['POST', '/methods'],
      ['GET', '/nope/deeper'],
    ] as const,
    async ([method, url]) => {
      const response = await t.app.inject({ method, url });
      expect(response.statusCode).toBe(404);
      expect(response.json()).toEqual({ code: 404, error: 'Not Found' });
    },
  );
});

describe('request ids', () => {
  test('X-Request-ID is echoed and is on the log lines of that request', async () => {
    const { response } = await post(scoreRequest({ first_name: 'a', last_name: 'b' }), {
      'x-request-id': 'abc-123',
    });
    expect(response.headers['x-request-id']).toBe('abc-123');
    const lines = t.logs.filter((l) => l.requestId === 'abc-123');
    expect(lines.map((l) => l.msg)).toEqual(['scoring method served', 'request completed']);
  });

  test('the legacy HTTP_X_REQUEST_ID header is read too', async () => {
    const { response } = await post(scoreRequest({ first_name: 'a', last_name: 'b' }), {
      HTTP_X_REQUEST_ID: 'legacy-7',
    });
    expect(response.headers['x-request-id']).toBe('legacy-7');
  });

  const unsafe: Record<string, string>[] = [
    {},
    { 'x-request-id': 'has space' },
    { 'x-request-id': 'x'.repeat(129) },
  ];
  cases('a missing or unsafe id is replaced by a generated one', unsafe, async (headers) => {
    const { response } = await post(scoreRequest({ first_name: 'a', last_name: 'b' }), headers);
    expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('platform routes', () => {
  test('/healthz is alive and /readyz reports the store', async () => {
    expect((await t.app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await t.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({
      status: 'ready',
      checks: { database: { pglite: 'up' }, scoring: { store: 'up', cache: 'up' } },
    });
  });

  test('/readyz is 503 when the store is down', async () => {
    const down = createMemoryStore();
    down.health = async () => ({ store: 'down', cache: 'up' });
    const own = await buildTestApp({}, { scoringStore: down });
    const ready = await own.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().status).toBe('not ready');
  });

  test('/metrics has request durations by route template and status', async () => {
    await post(scoreRequest({ first_name: 'a', last_name: 'b' }));
    const text = (await t.app.inject({ url: '/metrics' })).body;
    expect(text).toMatch(
      /http_request_duration_seconds_count\{method="POST",route="\/method",status_code="200"\} \d+/,
    );
  });

  cases(
    'another method on a platform route is 405 with Allow: GET, HEAD, in the envelope',
    [
      ['POST', '/healthz'],
      ['PUT', '/healthz/'],
      ['DELETE', '/readyz'],
      ['OPTIONS', '/readyz'],
      ['POST', '/metrics'],
      ['TRACE', '/metrics'],
    ] as const,
    async ([method, url]) => {
      const response = await t.app.inject({ method, url });
      expect(response.statusCode).toBe(405);
      expect(response.headers.allow).toBe('GET, HEAD');
      expect(response.json()).toEqual({ code: 405, error: 'Method Not Allowed' });
    },
  );

  test('HEAD of a platform route is served as its GET, without a body', async () => {
    for (const url of ['/healthz', '/readyz', '/metrics']) {
      const response = await t.app.inject({ method: 'HEAD', url });
      expect({ url, status: response.statusCode, body: response.body }).toEqual({
        url,
        status: 200,
        body: '',
      });
    }
  });

  test('the OpenAPI document lists every status of the catalogue POST /method can answer', async () => {
    const doc = (await t.app.inject({ url: '/docs/json' })).json();
    const documented = Object.keys(doc.paths['/method'].post.responses).map(Number).sort();
    // 404 and 405 are the envelope's answers to other paths, and to other methods on /method.
    const elsewhere = [scoringErrors.NOT_FOUND.status, scoringErrors.METHOD_NOT_ALLOWED.status];
    const catalogue = Object.values(scoringErrors)
      .map((e) => e.status)
      .filter((status) => !elsewhere.includes(status));
    expect(documented).toEqual([200, ...catalogue].sort());
  });
});
