// Every response carries the security headers, whichever feature, status or path answered it:
// API answers and errors with a policy that lets nothing load, the console's page with its own,
// Swagger UI with none that would stop its scripts.
import { beforeAll, expect } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../../src/features/console/console.routes.ts';
import {
  API_CONTENT_SECURITY_POLICY,
  BASE_SECURITY_HEADERS,
} from '../../src/platform/http/security-headers.ts';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { cases } from '../support/cases.ts';
import { scoreRequest } from '../support/scoring.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});

const json = { 'content-type': 'application/json' };

cases(
  'API answers, errors and platform routes: the base headers and the API policy',
  [
    ['POST', '/method', 200, JSON.stringify(scoreRequest({ phone: '79175002040', email: 'a@b' }))],
    ['POST', '/method', 422, '{}'],
    ['DELETE', '/method', 405, undefined],
    ['GET', '/nope', 404, undefined],
    ['GET', '/api/info', 401, undefined],
    ['POST', '/api/auth', 400, '{"username":""}'],
    ['GET', '/api/v1/wallets/not-a-uuid', 422, undefined],
    ['POST', '/api/v1/wallets/', 201, undefined],
    ['GET', '/healthz', 200, undefined],
    ['GET', '/metrics', 200, undefined],
    ['GET', '/console/nope.js', 404, undefined],
  ] as const,
  async ([method, url, status, payload]) => {
    const response = await t.app.inject({
      method,
      url,
      ...(payload === undefined ? {} : { payload, headers: json }),
    });
    expect(response.statusCode).toBe(status);
    expect(response.headers).toMatchObject(BASE_SECURITY_HEADERS);
    expect(response.headers['content-security-policy']).toBe(API_CONTENT_SECURITY_POLICY);
  },
);

cases(
  "pages: the base headers, and the page's own policy or none",
  [
    ['/', CONTENT_SECURITY_POLICY],
    ['/docs', undefined],
    ['/docs/json', undefined],
  ] as const,
  async ([url, policy]) => {
    const response = await t.app.inject({ url });
    expect(response.statusCode).toBeLessThan(400);
    expect(response.headers).toMatchObject(BASE_SECURITY_HEADERS);
    expect(response.headers['content-security-policy']).toBe(policy);
  },
);
