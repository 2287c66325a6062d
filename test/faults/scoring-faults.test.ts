// Outages of the real Redis, simulated by fault proxies in front of it (one for the cache, one
// for the store): online_score keeps answering from its own computation within a time bound,
// clients_interests answers 503 within the store's budget, and both recover with no restart.
import { afterEach, beforeEach, expect, test } from 'vitest';
import { FaultProxy } from '../../tooling/fault-proxy.ts';
import { buildTestApp, type TestApp } from '../support/app.ts';
import {
  asEnv,
  callMethod,
  interestsRequest,
  OUTAGE_LIMITS,
  scoreRequest,
} from '../support/scoring.ts';
import { adminRedis, describeWithRedis, redisUrl, uniquePrefix } from '../support/servers.ts';

const LIMITS = { ...OUTAGE_LIMITS, SCORING_STORE_RECONNECT_ATTEMPTS_MAX: 4 };
/** Slack for scheduling on a busy 2-core machine, added to every time bound below. */
const SLACK_MS = 150;
/** How long a recovering dependency may take to be used again: the breaker's longest cooldown. */
const RECOVERY_MS = LIMITS.SCORING_CACHE_BREAKER_COOLDOWN_MAX_MS + 1_000;

const ONLINE = { first_name: 'fault', last_name: 'test', phone: '79175002040', email: 'f@t' };
const ONLINE_SCORE = 3.5;

describeWithRedis('scoring with Redis failing', () => {
  const base = uniquePrefix();
  const redis = adminRedis(base);
  let testNumber = 0;
  let prefix: string;
  let cacheProxy: FaultProxy;
  let storeProxy: FaultProxy;
  let t: TestApp;

  beforeEach(async () => {
    // Each test its own keys, so no test can pass on another's leftovers.
    prefix = `${base}${++testNumber}:`;
    cacheProxy = await FaultProxy.start(redisUrl as string);
    storeProxy = await FaultProxy.start(redisUrl as string);
    await redis.set(`${prefix}i:1`, '["books"]');
    t = await buildTestApp({
      ...asEnv(LIMITS),
      SCORING_CACHE_URL: cacheProxy.url(),
      SCORING_STORE_URL: storeProxy.url(),
      SCORING_KEY_PREFIX: prefix,
    });
    await t.app.ready();
  });

  afterEach(async () => {
    await t.app.close();
    await cacheProxy.close();
    await storeProxy.close();
  });

  const timed = (body: object) => callMethod(t.app, body);
  const score = (args: object = ONLINE) => timed(scoreRequest(args));
  const interests = () => timed(interestsRequest({ client_ids: [1] }));

  async function eventually(check: () => Promise<boolean>, withinMs: number): Promise<void> {
    const deadline = performance.now() + withinMs;
    while (performance.now() < deadline) {
      if (await check()) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`condition not met within ${withinMs} ms`);
  }

  function outage(mode: 'refuse' | 'blackhole') {
    for (const proxy of [cacheProxy, storeProxy]) {
      proxy.set(mode);
      if (mode === 'refuse') proxy.cutAll();
    }
  }

  test('with both healthy, answers come through the proxies', async () => {
    expect((await score()).json.response).toEqual({ score: ONLINE_SCORE });
    expect((await interests()).json.response).toEqual({ 1: ['books'] });
  });

  for (const mode of ['refuse', 'blackhole'] as const) {
    test(`Redis ${mode === 'refuse' ? 'refusing' : 'black-holed'}: online_score is 200 with the computed score, fast`, async () => {
      await score();
      outage(mode);
      const first = await score();
      expect(first.status).toBe(200);
      expect(first.json.response).toEqual({ score: ONLINE_SCORE });
      expect(first.ms).toBeLessThan(LIMITS.SCORING_CACHE_TIMEOUT_MS * 2 + SLACK_MS);
      // With the breaker open, later requests do not wait for the cache at all.
      for (let i = 0; i < 20; i++) {
        const next = await score({ ...ONLINE, first_name: `n${i}` });
        expect(next.status).toBe(200);
        expect(next.ms).toBeLessThan(SLACK_MS);
      }
    });

    test(`Redis ${mode === 'refuse' ? 'refusing' : 'black-holed'}: clients_interests is 503 within the store budget`, async () => {
      await interests();
      outage(mode);
      const answer = await interests();
      expect(answer.status).toBe(503);
      expect(answer.json).toEqual({
        code: 503,
        error: 'Service Unavailable: interests store unavailable',
      });
      expect(answer.headers['retry-after']).toBe('1');
      expect(answer.ms).toBeLessThan(LIMITS.SCORING_STORE_BUDGET_MS + SLACK_MS);
    });
  }

  test('a refusing store gets exactly SCORING_STORE_RECONNECT_ATTEMPTS_MAX connection attempts per request', async () => {
    outage('refuse');
    // Let the client see the reset, so the request starts with no connection at all.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const before = storeProxy.connectionsAccepted;
    expect((await interests()).status).toBe(503);
    expect(storeProxy.connectionsAccepted - before).toBe(
      LIMITS.SCORING_STORE_RECONNECT_ATTEMPTS_MAX,
    );
    const metrics = (await t.app.inject({ url: '/metrics' })).body;
    expect(metrics).toMatch(
      `scoring_store_retries_total{op="getMany"} ${LIMITS.SCORING_STORE_RECONNECT_ATTEMPTS_MAX - 1}`,
    );
    expect(metrics).toMatch('scoring_store_failures_total{role="store",op="getMany"} 1');
  });

  test('an outage is logged once when it starts and once when it ends, not per request', async () => {
    outage('refuse');
    for (let i = 0; i < 3; i++) expect((await interests()).status).toBe(503);
    storeProxy.set('pass');
    expect((await interests()).status).toBe(200);
    const messages = t.logs.map((line) => line.msg);
    expect(messages.filter((m) => m === 'scoring store unavailable')).toHaveLength(1);
    expect(messages.filter((m) => m === 'scoring store reachable again')).toHaveLength(1);
  });

  test('a cut connection is replaced within the same request: the store retries and answers 200', async () => {
    expect((await interests()).status).toBe(200);
    storeProxy.cutAll();
    cacheProxy.cutAll();
    const answer = await interests();
    expect(answer.status).toBe(200);
    expect(answer.json.response).toEqual({ 1: ['books'] });
    expect((await score()).json.response).toEqual({ score: ONLINE_SCORE });
  });

  test('a slow cache is skipped: online_score does not wait past the cache timeout', async () => {
    await score();
    cacheProxy.delay(500);
    const slow = await score({ ...ONLINE, first_name: 'slow' });
    expect(slow.status).toBe(200);
    expect(slow.ms).toBeLessThan(LIMITS.SCORING_CACHE_TIMEOUT_MS * 2 + SLACK_MS);
  });

  test('a store slower than its timeout is 503; one within it is 200', async () => {
    await interests();
    storeProxy.delay(LIMITS.SCORING_STORE_TIMEOUT_MS * 3);
    const slow = await interests();
    expect(slow.status).toBe(503);
    expect(slow.ms).toBeLessThan(LIMITS.SCORING_STORE_BUDGET_MS + SLACK_MS);
    storeProxy.delay(LIMITS.SCORING_STORE_TIMEOUT_MS / 4);
    expect((await interests()).status).toBe(200);
  });

  for (const mode of ['refuse', 'blackhole'] as const) {
    test(`after Redis ${mode === 'refuse' ? 'refused' : 'black-holed'} comes back, cache and store work again with no restart`, async () => {
      await score();
      expect(await redis.keys(`${prefix}uid:*`)).toHaveLength(1);
      outage(mode);
      expect((await interests()).status).toBe(503);
      expect((await score()).status).toBe(200);
      for (const proxy of [cacheProxy, storeProxy]) proxy.set('pass');

      expect((await interests()).json.response).toEqual({ 1: ['books'] });
      // The cache is used again once a background probe closes the breaker: a new score lands in Redis.
      let n = 0;
      await eventually(async () => {
        const args = { ...ONLINE, first_name: `back${n++}` };
        await score(args);
        return (await redis.keys(`${prefix}uid:*`)).length > 1;
      }, RECOVERY_MS);
      const ready = await t.app.inject({ url: '/readyz' });
      expect(ready.json().checks.scoring).toEqual({ store: 'up', cache: 'up' });
    });
  }

  test('a store command that times out drops its connection, and the next request opens a new one', async () => {
    expect((await interests()).status).toBe(200);
    const opened = storeProxy.connectionsAccepted;
    expect(storeProxy.liveConnections).toBe(1);
    storeProxy.delay(LIMITS.SCORING_STORE_TIMEOUT_MS * 2);
    expect((await interests()).status).toBe(503);
    storeProxy.delay(0);
    await eventually(async () => storeProxy.liveConnections === 0, SLACK_MS);
    expect((await interests()).json.response).toEqual({ 1: ['books'] });
    expect(storeProxy.connectionsAccepted).toBeGreaterThan(opened);
  });

  test("with replies slowed near the timeout, every answer is its own request's", async () => {
    const ids = Array.from({ length: 20 }, (_, i) => 300 + i);
    await redis.mset(...ids.flatMap((id) => [`${prefix}i:${id}`, JSON.stringify([`only-${id}`])]));
    await interests();
    // Each way, so a round trip takes about 90% of the store timeout: some make it, some may not.
    storeProxy.delay(LIMITS.SCORING_STORE_TIMEOUT_MS * 0.45);
    const answers = await Promise.all(
      ids.map((id) => timed(interestsRequest({ client_ids: [id] }))),
    );
    storeProxy.delay(0);
    answers.push(
      ...(await Promise.all(ids.map((id) => timed(interestsRequest({ client_ids: [id] }))))),
    );
    for (const [i, answer] of answers.entries()) {
      const id = ids[i % ids.length] as number;
      if (answer.status === 200) expect(answer.json.response).toEqual({ [id]: [`only-${id}`] });
      else expect(answer.status).toBe(503);
    }
    expect(answers.filter((a) => a.status === 200).length).toBeGreaterThan(ids.length);
  });
});
