// Finds the real servers the integration and fault tests need, once per run. Missing servers skip
// those tests with a visible reason, except under CI=true, where they fail the run instead.
import { Redis } from 'ioredis';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The reachable Redis for tests, or null when there is none. */
    redisUrl: string | null;
  }
}

const PROBE_TIMEOUT_MS = 1_000;

async function reachableRedis(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: PROBE_TIMEOUT_MS,
    commandTimeout: PROBE_TIMEOUT_MS,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const url = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';
  const up = await reachableRedis(url);
  if (!up && process.env.CI === 'true') {
    throw new Error(`CI=true and Redis is not reachable at ${url}: server-bound tests cannot run`);
  }
  if (!up) {
    process.stderr.write(
      `\n[tests] Redis is not reachable at ${url} (set TEST_REDIS_URL): Redis-bound tests are SKIPPED\n\n`,
    );
  }
  project.provide('redisUrl', up ? url : null);
}
