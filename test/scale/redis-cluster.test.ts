// The scoring API on a real 3-master Redis Cluster: the cache under the documented key and TTL on
// the master of its slot; interests of ids on every master read per slot, equal to what was
// written, missing ones [] and a key of another type a 500 naming it; with one master paused or
// killed, the requests that need it fail 503 within the store budget while the others answer,
// and all recover once it is back; and the import command writing across the masters.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.ts';
import {
  describeWithRedisServer,
  type RedisCluster,
  startRedisCluster,
} from '../support/redis-cluster.ts';
import type { RedisServerProcess } from '../support/redis-server.ts';
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

/** The cluster's masters: client ports, and the ports of the bus between them. */
const NODES = [
  { port: 18700, busPort: 18703 },
  { port: 18701, busPort: 18704 },
  { port: 18702, busPort: 18705 },
];

const LIMITS = OUTAGE_LIMITS;
/** Slack for scheduling on a busy 2-core machine, added to every time bound below. */
const SLACK_MS = 400;
/** How long a master that is back may take to be used again: a breaker's longest cooldown, and more. */
const RECOVERY_MS = LIMITS.SCORING_CACHE_BREAKER_COOLDOWN_MAX_MS + 5_000;
/** Requests of each kind sent while a master is down. */
const OUTAGE_ROUNDS = 5;
/** Client ids the tests spread over the slots. */
const IDS = Array.from({ length: 300 }, (_, i) => 1_000 + i);

const describeCluster = describeWithRedisServer;

describeCluster('scoring on a 3-master Redis Cluster', () => {
  const prefix = uniquePrefix();
  let cluster: RedisCluster;
  let admin: Cluster;
  let t: TestApp;
  /** Each master, with the ids (of IDS) whose interests key it serves. */
  const idsOf = new Map<RedisServerProcess, number[]>();

  beforeAll(async () => {
    cluster = await startRedisCluster(NODES);
    admin = cluster.admin();
    for (const id of IDS) {
      // The server's own slot of the full key (prefix included), not the service's computation.
      const owner = cluster.ownerOf(await cluster.slotOf(`${prefix}i:${id}`));
      idsOf.set(owner, [...(idsOf.get(owner) ?? []), id]);
    }
    t = await buildTestApp({
      ...asEnv(LIMITS),
      REDIS_CLUSTER_NODES: cluster.seeds,
      SCORING_KEY_PREFIX: prefix,
    });
    await t.app.ready();
  }, 60_000);

  afterAll(async () => {
    await t?.app.close();
    await cluster?.stop();
  });

  const call = (body: object) => callMethod(t.app, body);
  const interests = (ids: number[]) => call(interestsRequest({ client_ids: ids }));
  const written = (id: number) => [`topic-${id}`, `n${id % 7}`];

  async function writeInterests(ids: number[]) {
    await Promise.all(ids.map((id) => admin.set(`${prefix}i:${id}`, JSON.stringify(written(id)))));
  }

  async function eventually(check: () => Promise<boolean>, withinMs: number): Promise<void> {
    const deadline = performance.now() + withinMs;
    while (performance.now() < deadline) {
      if (await check()) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`condition not met within ${withinMs} ms`);
  }

  /** online_score arguments whose cache key lives on `node`, distinct per call. */
  let scoreCalls = 0;
  async function scoreArgsOn(node: RedisServerProcess) {
    for (let i = 0; i < 1_000; i++) {
      const args = { phone: '79175002040', email: `on${++scoreCalls}@node` };
      const key = prefix + documentedKey(['', '', args.phone, '', args.email, '']);
      if (cluster.ownerOf(await cluster.slotOf(key)) === node) return { args, key };
    }
    throw new Error('no score key found on that node');
  }

  test('the ids under test are spread over all three masters, as CLUSTER KEYSLOT says', () => {
    expect([...idsOf.keys()].map((node) => node.port).sort()).toEqual(NODES.map((n) => n.port));
    for (const ids of idsOf.values()) expect(ids.length).toBeGreaterThan(50);
  });

  test('online_score is cached on the master of its slot under the documented key for 3600 s', async () => {
    const args = {
      first_name: 'Анна',
      last_name: 'b',
      phone: 79175002040,
      birthday: '1.2.2000',
      email: 'a@b',
      gender: 1,
    };
    expect((await call(scoreRequest(args))).json.response).toEqual({ score: 5 });
    const key = prefix + documentedKey(['Анна', 'b', '79175002040', '01.02.2000', 'a@b', '1']);
    const owner = cluster.ownerOf(await cluster.slotOf(key)).client();
    // A plain connection to that one master: the key is there, not redirected elsewhere.
    expect(await owner.get(key)).toBe('5');
    const ttl = await owner.ttl(key);
    expect(ttl).toBeGreaterThan(3590);
    expect(ttl).toBeLessThanOrEqual(3600);
    // Read back: a score cached by another implementation is what the service answers.
    await admin.set(key, '2.25', 'EX', 60);
    expect((await call(scoreRequest(args))).json.response).toEqual({ score: 2.25 });
  });

  test('clients_interests of ids on every master equals what was written; missing ids are []', async () => {
    const present = IDS.filter((id) => id % 3 !== 0);
    await writeInterests(present);
    const asked = [...IDS, IDS[1] as number]; // one id twice: one key in the answer
    const { status, json } = await interests(asked);
    expect(status).toBe(200);
    const expected = Object.fromEntries(
      IDS.map((id) => [String(id), present.includes(id) ? written(id) : []]),
    );
    expect(json).toEqual({ code: 200, response: expected });
  });

  test('a key holding a list on one master is a 500 naming the key, not a missing []', async () => {
    const [onFirst, onSecond] = [...idsOf.values()];
    const listed = onSecond?.[0] as number;
    await admin.del(`${prefix}i:${listed}`);
    await admin.rpush(`${prefix}i:${listed}`, 'books', 'tv');
    const { status, json } = await interests([onFirst?.[0] as number, listed]);
    expect(status).toBe(500);
    expect(json).toEqual({ code: 500, error: 'Internal Server Error' });
    expect(t.logs.some((l) => l.key === `i:${listed}` && l.level === 50)).toBe(true);
    await admin.del(`${prefix}i:${listed}`);
    await admin.set(`${prefix}i:${listed}`, JSON.stringify(written(listed)));
  });

  /** The outage contract with `down` out of service, and recovery once `back()` returns it. */
  async function outage(
    down: RedisServerProcess,
    stop: () => Promise<void>,
    back: () => Promise<void>,
  ) {
    await writeInterests(IDS);
    const downIds = idsOf.get(down) ?? [];
    const upIds = [...idsOf.entries()].filter(([node]) => node !== down).flatMap(([, ids]) => ids);
    const upNode = [...idsOf.keys()].find((node) => node !== down) as RedisServerProcess;
    expect((await interests(IDS)).status).toBe(200);
    const retries = async () => {
      const metrics = (await t.app.inject({ url: '/metrics' })).body;
      return Number(/scoring_store_retries_total\{op="getMany"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    };

    await stop();
    try {
      for (let round = 0; round < OUTAGE_ROUNDS; round++) {
        const retriesBefore = await retries();
        const [onDown, onUp, mixed] = await Promise.all([
          interests(downIds.slice(0, 20)),
          interests(upIds),
          interests([upIds[0] as number, downIds[0] as number]),
        ]);
        for (const failed of [onDown, mixed]) {
          expect(failed.status).toBe(503);
          expect(failed.json).toEqual({
            code: 503,
            error: 'Service Unavailable: interests store unavailable',
          });
          expect(failed.headers['retry-after']).toBe('1');
          expect(failed.ms).toBeLessThan(LIMITS.SCORING_STORE_BUDGET_MS + SLACK_MS);
        }
        // The two failed requests each opened at most the allowed connections to that master.
        expect((await retries()) - retriesBefore).toBeLessThanOrEqual(
          2 * LIMITS.SCORING_STORE_RECONNECT_ATTEMPTS_MAX,
        );
        expect(onUp.status).toBe(200);
        expect(onUp.json.response).toEqual(
          Object.fromEntries(upIds.map((id) => [String(id), written(id)])),
        );
        expect(onUp.ms).toBeLessThan(LIMITS.SCORING_STORE_TIMEOUT_MS + SLACK_MS);

        // online_score answers whichever master its cache key is on; the live ones still cache.
        const offline = await scoreArgsOn(down);
        const online = await scoreArgsOn(upNode);
        const [scoreDown, scoreUp] = await Promise.all([
          call(scoreRequest(offline.args)),
          call(scoreRequest(online.args)),
        ]);
        expect([scoreDown.status, scoreDown.json.response]).toEqual([200, { score: 3 }]);
        expect([scoreUp.status, scoreUp.json.response]).toEqual([200, { score: 3 }]);
        expect(scoreDown.ms).toBeLessThan(LIMITS.SCORING_CACHE_TIMEOUT_MS * 2 + SLACK_MS);
        expect(await admin.get(online.key)).toBe('3');
      }
      // The service stays ready: a cluster with a master down still serves the other slots.
      const ready = await t.app.inject({ url: '/readyz' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json().checks.scoring.store).toBe('up');
    } finally {
      await back();
    }

    await writeInterests(downIds);
    await eventually(async () => (await interests(IDS)).status === 200, RECOVERY_MS);
    const { json } = await interests(IDS);
    expect(json.response).toEqual(Object.fromEntries(IDS.map((id) => [String(id), written(id)])));
    // The cache on that master is used again once its breaker's probe closes it.
    await eventually(async () => {
      const { args, key } = await scoreArgsOn(down);
      await call(scoreRequest(args));
      return (await admin.get(key)) === '3';
    }, RECOVERY_MS);
  }

  test('a paused master (SIGSTOP): requests that need it are 503 within the budget, the others answer; all recover on SIGCONT', async () => {
    const down = cluster.nodes[1] as RedisServerProcess;
    await outage(
      down,
      async () => down.pause(),
      async () => down.resume(),
    );
  }, 60_000);

  test('a killed master: requests that need it are 503 within the budget, the others answer; all recover once it restarts', async () => {
    const down = cluster.nodes[2] as RedisServerProcess;
    await outage(
      down,
      () => down.kill(),
      async () => {
        // Its node file keeps its identity and slots; its data is gone (no persistence).
        await down.restart();
        await cluster.healthy();
      },
    );
  }, 60_000);

  test('interests:import writes across the masters, per slot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'interests-cluster-'));
    const file = join(dir, 'interests.json');
    const imported = IDS.map((id) => id + 10_000);
    writeFileSync(
      file,
      JSON.stringify(Object.fromEntries(imported.map((id) => [id, written(id)]))),
    );
    const env = {
      ...process.env,
      REDIS_URL: '',
      REDIS_CLUSTER_NODES: cluster.seeds,
      SCORING_KEY_PREFIX: prefix,
    };
    const { stdout } = await run(process.execPath, ['src/cli/import-interests.ts', file], { env });
    expect(stdout).toMatch(`imported interests of ${imported.length} clients into Redis`);
    const masters = new Set<number>();
    for (const id of imported) {
      const key = `${prefix}i:${id}`;
      const owner = cluster.ownerOf(await cluster.slotOf(key));
      masters.add(owner.port);
      expect(await owner.client().get(key)).toBe(JSON.stringify(written(id)));
    }
    expect(masters.size).toBe(NODES.length);
    const { json } = await interests(imported);
    expect(json.response).toEqual(
      Object.fromEntries(imported.map((id) => [String(id), written(id)])),
    );
  }, 60_000);
});
