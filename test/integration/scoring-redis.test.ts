// The scoring API on the real Redis: the cache's key layout and TTL, interoperability with other
// implementations, one round trip for interests, and the import command.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, expect, test } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { documentedKey, interestsRequest, scoreRequest } from '../support/scoring.ts';
import { adminRedis, describeWithRedis, redisUrl, uniquePrefix } from '../support/servers.ts';

const run = promisify(execFile);

describeWithRedis('scoring on the real Redis', () => {
  const prefix = uniquePrefix();
  const redis = adminRedis(prefix);
  let t: TestApp;

  beforeAll(async () => {
    t = await buildTestApp({ REDIS_URL: redisUrl as string, SCORING_KEY_PREFIX: prefix });
    await t.app.ready();
  });

  const call = async (body: unknown) => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/method',
      payload: body as object,
    });
    return { status: response.statusCode, json: response.json() };
  };

  test('a computed score is cached under the documented key for 3600 seconds', async () => {
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
    expect(await redis.get(key)).toBe('5');
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(3590);
    expect(ttl).toBeLessThanOrEqual(3600);
  });

  test('a score cached by another implementation is served, 0 included', async () => {
    const key = prefix + documentedKey(['', '', '79175002040', '', 'other@impl', '']);
    await redis.set(key, '4.25', 'EX', 60);
    const args = { phone: '79175002040', email: 'other@impl' };
    expect((await call(scoreRequest(args))).json.response).toEqual({ score: 4.25 });
    await redis.set(key, '0', 'EX', 60);
    expect((await call(scoreRequest(args))).json.response).toEqual({ score: 0 });
  });

  test('requests that differ only in gender or in how names split do not share a score', async () => {
    const birthday = '01.01.2000';
    expect((await call(scoreRequest({ gender: 0, birthday }))).json.response).toEqual({ score: 0 });
    expect((await call(scoreRequest({ gender: 2, birthday }))).json.response).toEqual({
      score: 1.5,
    });
    const split = { phone: '79175002040', email: 'split@names' };
    await call(scoreRequest({ ...split, first_name: 'ab', last_name: '' }));
    const second = await call(scoreRequest({ ...split, first_name: 'a', last_name: 'b' }));
    expect(second.json.response).toEqual({ score: 3.5 });
  });

  test('interests of 10 clients are read in one round trip, and missing keys are []', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => 100 + i);
    await redis.mset(
      ...ids.slice(0, 5).flatMap((id) => [`${prefix}i:${id}`, JSON.stringify([`topic-${id}`])]),
    );
    // Once, so that Redis has the script and the measured request needs no EVAL fallback.
    await call(interestsRequest({ client_ids: [1] }));
    const monitor = await redis.duplicate().monitor();
    const commands: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      // Commands the script runs inside Redis show up with source "lua"; they cost no round trip.
      if (!source.includes('lua') && args.some((a) => a.startsWith(prefix))) commands.push(args);
    });
    try {
      const { status, json } = await call(interestsRequest({ client_ids: ids }));
      expect(status).toBe(200);
      for (const id of ids) {
        expect(json.response[String(id)]).toEqual(id < 105 ? [`topic-${id}`] : []);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(commands.map((c) => c[0]?.toLowerCase())).toEqual(['evalsha']);
      // evalsha <sha> <numkeys> <10 keys>
      expect(commands[0]?.slice(3)).toEqual(ids.map((id) => `${prefix}i:${id}`));
    } finally {
      monitor.disconnect();
    }
  });

  test('a key holding a list or a hash is a 500 naming the key, not a missing []', async () => {
    await redis.rpush(`${prefix}i:201`, 'books', 'tv');
    await redis.hset(`${prefix}i:202`, 'a', 'b');
    for (const id of [201, 202]) {
      const { status, json } = await call(interestsRequest({ client_ids: [1, id] }));
      expect(status).toBe(500);
      expect(json).toEqual({ code: 500, error: 'Internal Server Error' });
      expect(t.logs.some((l) => l.key === `i:${id}` && l.level === 50)).toBe(true);
    }
  });

  test('interests:import loads a file into Redis, and rejects a bad one whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'interests-'));
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ 7001: ['books'], 7002: [] }));
    const env = { ...process.env, REDIS_URL: redisUrl as string, SCORING_KEY_PREFIX: prefix };
    const { stdout } = await run(process.execPath, ['src/cli/import-interests.ts', good], { env });
    expect(stdout).toMatch(/imported interests of 2 clients into Redis/);
    expect(await redis.get(`${prefix}i:7001`)).toBe('["books"]');
    expect((await call(interestsRequest({ client_ids: [7001, 7002] }))).json.response).toEqual({
      7001: ['books'],
      7002: [],
    });

    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ 7003: ['ok'], x: ['bad key'] }));
    const failed = await run(process.execPath, ['src/cli/import-interests.ts', bad], { env }).catch(
      (e) => e,
    );
    expect(failed.code).toBe(2);
    expect(failed.stderr).toMatch(/key "x" is not a non-negative integer id/);
    expect(await redis.exists(`${prefix}i:7003`)).toBe(0);
  });
});

test('interests:import without Redis writes the embedded data file the service loads', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'embedded-'));
  const file = join(dataDir, 'in.json');
  writeFileSync(file, JSON.stringify({ 42: ['chess'] }));
  const env = { ...process.env, DATA_DIR: dataDir, REDIS_URL: '' };
  await run(process.execPath, ['src/cli/import-interests.ts', file], { env });
  expect(JSON.parse(readFileSync(join(dataDir, 'interests.json'), 'utf8'))).toEqual({
    42: ['chess'],
  });
  const t = await buildTestApp({ DATA_DIR: dataDir });
  const response = await t.app.inject({
    method: 'POST',
    url: '/method',
    payload: interestsRequest({ client_ids: [42, 1] }),
  });
  expect(response.json().response).toEqual({ 42: ['chess'], 1: ['pets', 'tv'] });
});
