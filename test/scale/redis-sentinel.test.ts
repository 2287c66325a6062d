// The scoring API on a real Sentinel-managed Redis (a primary, a replica, three Sentinels): the
// cache under the documented key and TTL on the primary, interests as written, missing ones []
// and a key of another type a 500 naming it, the import command through Sentinel, connections
// the primary closes replaced without leaving their failover watchers open; and the
// primary killed mid-load: scoring answers again within 5 s of the replica's promotion, with the
// interests written before (and replicated, WAIT) read after, and nothing but 200 and 503 meanwhile.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { describeWithRedisServer } from '../support/redis-cluster.ts';
import { type RedisSentinelDeployment, startRedisSentinel } from '../support/redis-sentinel.ts';
import {
  asEnv,
  callMethod,
  documentedKey,
  interestsRequest,
  OUTAGE_LIMITS,
  scoreRequest,
} from '../support/scoring.ts';
import { uniquePrefix } from '../support/servers.ts';

const run = promisify(execFile);

const PORTS = { primary: 18710, replica: 18711, sentinels: [18712, 18713, 18714] };
const MASTER_NAME = 'coinworks';

const LIMITS = OUTAGE_LIMITS;
/** Slack for scheduling on a busy 2-core machine, added to every time bound below. */
const SLACK_MS = 400;
/** The contract: scoring answers again within this long of the replica's promotion. */
const AFTER_PROMOTION_MS = 5_000;
/** Longest the Sentinels may take to promote the replica here (down-after, vote, promotion). */
const PROMOTION_WITHIN_MS = 30_000;
/** The load during the failover: one round of requests per pause, for at most so many rounds. */
const LOAD_PAUSE_MS = 20;
const LOAD_ROUNDS_MAX = 3_000;
/** Replicas WAIT is to hear from, and how long it may wait. */
const WAIT_REPLICAS = 1;
const WAIT_TIMEOUT_MS = 2_000;
/** Failover watchers the service may hold on a Sentinel: one per link (cache and store). */
const WATCHERS_PER_SENTINEL_MAX = 2;
/** How long closed watchers may take to leave a Sentinel's client list. */
const WATCHERS_SETTLE_MS = 300;
/** Times the test closes the service's connections on the primary. */
const CONNECTION_KILLS = 5;

describeWithRedisServer('scoring on a Sentinel-managed Redis', () => {
  const prefix = uniquePrefix();
  let deployment: RedisSentinelDeployment;
  let t: TestApp;

  beforeAll(async () => {
    deployment = await startRedisSentinel(PORTS, MASTER_NAME);
    t = await buildTestApp({
      ...asEnv(LIMITS),
      REDIS_SENTINELS: deployment.addresses,
      REDIS_SENTINEL_MASTER: MASTER_NAME,
      SCORING_KEY_PREFIX: prefix,
    });
    await t.app.ready();
  }, 60_000);

  afterAll(async () => {
    await t?.app.close();
    await deployment?.stop();
  });

  const call = (body: object) => callMethod(t.app, body);
  const interests = (ids: number[]) => call(interestsRequest({ client_ids: ids }));
  const written = (id: number) => [`topic-${id}`];

  test('online_score is cached on the primary under the documented key for 3600 s', async () => {
    const args = { phone: '79175002040', email: 'sentinel@primary' };
    expect((await call(scoreRequest(args))).json.response).toEqual({ score: 3 });
    const key = prefix + documentedKey(['', '', '79175002040', '', 'sentinel@primary', '']);
    const primary = deployment.primary.client();
    expect(await primary.get(key)).toBe('3');
    const ttl = await primary.ttl(key);
    expect(ttl).toBeGreaterThan(3590);
    expect(ttl).toBeLessThanOrEqual(3600);
    await primary.set(key, '1.5', 'EX', 60);
    expect((await call(scoreRequest(args))).json.response).toEqual({ score: 1.5 });
  });

  test('clients_interests reads what was written, [] for missing ids, 500 naming a key of another type', async () => {
    const primary = deployment.primary.client();
    const ids = Array.from({ length: 20 }, (_, i) => 100 + i);
    await primary.mset(
      ...ids.slice(0, 10).flatMap((id) => [`${prefix}i:${id}`, JSON.stringify(written(id))]),
    );
    const { status, json } = await interests(ids);
    expect(status).toBe(200);
    expect(json.response).toEqual(
      Object.fromEntries(ids.map((id) => [String(id), id < 110 ? written(id) : []])),
    );
    await primary.hset(`${prefix}i:150`, 'a', 'b');
    const wrong = await interests([100, 150]);
    expect(wrong.status).toBe(500);
    expect(wrong.json).toEqual({ code: 500, error: 'Internal Server Error' });
    expect(t.logs.some((l) => l.key === 'i:150' && l.level === 50)).toBe(true);
  });

  test('interests:import writes to the primary the Sentinels name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'interests-sentinel-'));
    const file = join(dir, 'interests.json');
    const ids = [7001, 7002, 7003];
    writeFileSync(file, JSON.stringify(Object.fromEntries(ids.map((id) => [id, written(id)]))));
    const env = {
      ...process.env,
      REDIS_URL: '',
      REDIS_SENTINELS: deployment.addresses,
      REDIS_SENTINEL_MASTER: MASTER_NAME,
      SCORING_KEY_PREFIX: prefix,
    };
    const { stdout } = await run(process.execPath, ['src/cli/import-interests.ts', file], { env });
    expect(stdout).toMatch('imported interests of 3 clients into Redis');
    expect(await deployment.primary.client().get(`${prefix}i:7002`)).toBe('["topic-7002"]');
    expect((await interests(ids)).json.response).toEqual(
      Object.fromEntries(ids.map((id) => [String(id), written(id)])),
    );
  }, 60_000);

  /** Failover watchers (subscribed to +switch-master) each Sentinel has from the service. */
  async function watchers(): Promise<number[]> {
    return Promise.all(
      deployment.sentinels.map(async (sentinel) => {
        const clients = String(await sentinel.client().call('CLIENT', 'LIST'));
        return clients.split('\n').filter((line) => line.includes('cmd=subscribe')).length;
      }),
    );
  }

  test('connections the primary closes are replaced within the request, leaving no failover watcher behind', async () => {
    const primary = deployment.primary.client();
    await primary.set(`${prefix}i:42`, JSON.stringify(written(42)));
    for (let round = 0; round < CONNECTION_KILLS; round++) {
      const clients = String(await primary.call('CLIENT', 'LIST')).split('\n');
      const ours = clients.filter((line) => / name=coinworks:/.test(line));
      expect(ours.length).toBeGreaterThan(0);
      for (const line of ours) {
        await primary.call('CLIENT', 'KILL', 'ID', /^id=(\d+)/.exec(line)?.[1] ?? '0');
      }
      await new Promise((resolve) => setTimeout(resolve, LOAD_PAUSE_MS * 5));
      const answer = await interests([42]);
      expect([answer.status, answer.json.response]).toEqual([200, { 42: written(42) }]);
    }
    await new Promise((resolve) => setTimeout(resolve, WATCHERS_SETTLE_MS));
    for (const count of await watchers())
      expect(count).toBeLessThanOrEqual(WATCHERS_PER_SENTINEL_MAX);
  });

  test('the primary killed mid-load: scoring answers again within 5 s of the promotion, with what was written before', async () => {
    const ids = Array.from({ length: 50 }, (_, i) => 500 + i);
    const primary = deployment.primary.client();
    await primary.mset(...ids.flatMap((id) => [`${prefix}i:${id}`, JSON.stringify(written(id))]));
    // The replica has what the assertions below read, so a promotion cannot lose it.
    expect(await primary.call('WAIT', WAIT_REPLICAS, WAIT_TIMEOUT_MS)).toBe(WAIT_REPLICAS);
    const expected = Object.fromEntries(ids.map((id) => [String(id), written(id)]));
    expect((await interests(ids)).json.response).toEqual(expected);

    const answers: { at: number; status: number; json: { response?: unknown } }[] = [];
    const scores: number[] = [];
    let promotedAt: number | null = null;
    let stopLoad = false;
    const load = (async () => {
      for (let round = 0; round < LOAD_ROUNDS_MAX && !stopLoad; round++) {
        const [answer, score] = await Promise.all([
          interests(ids),
          call(scoreRequest({ phone: '79175002040', email: `load${round}@failover` })),
        ]);
        answers.push({ at: performance.now(), status: answer.status, json: answer.json });
        scores.push(score.status);
        await new Promise((resolve) => setTimeout(resolve, LOAD_PAUSE_MS));
      }
    })();

    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const killedAt = performance.now();
      await deployment.primary.kill();
      while (promotedAt === null && performance.now() - killedAt < PROMOTION_WITHIN_MS) {
        if ((await deployment.primaryPort()) === PORTS.replica) promotedAt = performance.now();
        else await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(promotedAt, 'the replica promoted').not.toBeNull();
      const promoted = promotedAt as number;
      while (
        !answers.some((a) => a.at > promoted && a.status === 200) &&
        performance.now() - promoted < AFTER_PROMOTION_MS + SLACK_MS
      ) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const back = answers.find((a) => a.at > promoted && a.status === 200);
      expect(back, 'a 200 after the promotion').toBeDefined();
      expect((back?.at ?? Number.POSITIVE_INFINITY) - promoted).toBeLessThan(AFTER_PROMOTION_MS);
      expect(back?.json.response).toEqual(expected);
    } finally {
      stopLoad = true;
      await load;
    }

    // Meanwhile: interests 200 (as written) or 503, never anything else; online_score always 200.
    expect(answers.length).toBeGreaterThan(10);
    for (const answer of answers) {
      expect([200, 503]).toContain(answer.status);
      if (answer.status === 200) expect(answer.json.response).toEqual(expected);
    }
    expect(answers.some((a) => a.status === 503)).toBe(true);
    expect(new Set(scores)).toEqual(new Set([200]));

    // The cache follows too, once its breaker's probe reconnects: a new score lands on the
    // promoted replica.
    const replica = deployment.replica.client();
    let cachedOnReplica = false;
    for (let i = 0; i < LOAD_ROUNDS_MAX && !cachedOnReplica; i++) {
      const email = `after${i}@failover`;
      await call(scoreRequest({ phone: '79175002040', email }));
      const key = prefix + documentedKey(['', '', '79175002040', '', email, '']);
      cachedOnReplica = (await replica.get(key)) === '3';
      if (performance.now() - (promotedAt ?? 0) > AFTER_PROMOTION_MS * 2) break;
      await new Promise((resolve) => setTimeout(resolve, LOAD_PAUSE_MS));
    }
    expect(cachedOnReplica).toBe(true);

    // Every reconnect watched the Sentinels for failovers; none of those watchers was left open.
    for (const count of await watchers())
      expect(count).toBeLessThanOrEqual(WATCHERS_PER_SENTINEL_MAX);
  }, 90_000);
});
