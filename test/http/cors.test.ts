// Cross-origin requests as a browser makes them: with CORS_ORIGINS, an allowed origin's
// preflight is a 204 naming the methods and headers the APIs read, and its requests are answered
// with Access-Control-Allow-Origin; another origin gets no CORS header at all, its preflight the
// path's usual answer; without the setting no origin gets any.
import { beforeAll, describe, expect, test } from 'vitest';
import { PREFLIGHT_MAX_AGE_SECONDS } from '../../src/platform/http/cors.ts';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { scoreRequest } from '../support/scoring.ts';

const ALLOWED = 'https://app.example.com';
const OTHER = 'https://evil.example';

function preflight(t: TestApp, url: string, origin: string, method: string, headers = '') {
  return t.app.inject({
    method: 'OPTIONS',
    url,
    headers: {
      origin,
      'access-control-request-method': method,
      ...(headers ? { 'access-control-request-headers': headers } : {}),
    },
  });
}

describe('with CORS_ORIGINS', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ CORS_ORIGINS: `${ALLOWED}, http://localhost:3000` });
  });

  test.each([
    ['/api/auth', 'POST', 'content-type'],
    ['/api/buy/pen', 'GET', 'authorization, idempotency-key'],
    ['/api/session', 'DELETE', 'x-csrf-token'],
    [
      '/api/v1/wallets/3fa85f64-5717-4562-b3fc-2c963f66afa6/operation',
      'POST',
      'content-type, idempotency-key',
    ],
    ['/method', 'POST', 'content-type, x-request-id'],
    // A path that answers its other methods with 405: a preflight is answered before that.
    ['/healthz', 'GET', 'x-request-id'],
  ])(
    'a preflight of %s %s from an allowed origin is 204 with what the APIs take',
    async (url, method, headers) => {
      const response = await preflight(t, url, ALLOWED, method, headers);
      expect(response.statusCode).toBe(204);
      expect(response.body).toBe('');
      expect(response.headers['access-control-allow-origin']).toBe(ALLOWED);
      expect(String(response.headers['access-control-allow-methods']).split(', ')).toContain(
        method,
      );
      const allowedHeaders = String(response.headers['access-control-allow-headers']).split(', ');
      for (const header of headers.split(', ')) expect(allowedHeaders).toContain(header);
      expect(response.headers['access-control-max-age']).toBe(String(PREFLIGHT_MAX_AGE_SECONDS));
      expect(response.headers.vary).toBe('origin');
    },
  );

  test("an allowed origin's request is answered with its origin and the readable headers", async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/method',
      headers: { origin: 'http://localhost:3000', 'content-type': 'application/json' },
      payload: JSON.stringify(scoreRequest({ phone: '79175002040', email: 'a@b' })),
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['access-control-allow-origin']).toBe('http://localhost:3000');
    expect(response.headers['access-control-expose-headers']).toContain('x-request-id');
    expect(response.headers['access-control-expose-headers']).toContain('retry-after');
    // Never credentials: the session cookie is SameSite=Strict; cross-origin clients use Bearer.
    expect(response.headers['access-control-allow-credentials']).toBeUndefined();
  });

  test("another origin's preflight gets the path's own answer and no CORS header", async () => {
    const response = await preflight(t, '/method', OTHER, 'POST');
    expect(response.statusCode).toBe(405);
    expect(response.headers.allow).toBe('POST');
    expect(response.json()).toEqual({ code: 405, error: 'Method Not Allowed: use POST' });
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
    expect(response.headers.vary).toBe('origin');
    // An origin differing only in case or port is another origin.
    for (const origin of ['https://APP.example.com', 'https://app.example.com:8443']) {
      const other = await preflight(t, '/api/auth', origin, 'POST');
      expect(other.statusCode).not.toBe(204);
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
    }
  });

  test("another origin's request is served, with no header letting its script read it", async () => {
    const response = await t.app.inject({ url: '/healthz', headers: { origin: OTHER } });
    expect(response.statusCode).toBe(200);
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });

  test('an OPTIONS that is no preflight (no Access-Control-Request-Method) is not answered as one', async () => {
    const response = await t.app.inject({
      method: 'OPTIONS',
      url: '/method',
      headers: { origin: ALLOWED },
    });
    expect(response.statusCode).toBe(405);
    expect(response.headers['access-control-allow-methods']).toBeUndefined();
  });
});

describe('without CORS_ORIGINS', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });

  test('no origin gets a CORS header, nor a 204 to its preflight', async () => {
    for (const url of ['/method', '/api/v1/wallets/']) {
      const response = await preflight(t, url, ALLOWED, 'POST');
      expect(response.statusCode).toBe(405);
      expect(response.headers['access-control-allow-origin']).toBeUndefined();
      expect(response.headers.vary).toBeUndefined();
    }
  });
});
