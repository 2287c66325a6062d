// Gives server-bound tests the real servers found by global-setup.ts, and fresh key prefixes so
// that test files sharing one Redis never see each other's keys.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, inject } from 'vitest';

export const redisUrl = inject('redisUrl');

/** `describe` for Redis-bound suites: skipped when global-setup.ts found no Redis (it says why). */
export const describeWithRedis = describe.skipIf(redisUrl === null);

/** A key prefix no other test uses. */
export function uniquePrefix(): string {
  return `test:${randomUUID().slice(0, 8)}:`;
}

/** A plain client for arranging and inspecting data; closed and cleaned after the file. */
export function adminRedis(prefix: string): Redis {
  // A skipped suite's body still runs to collect its tests; without Redis it gets a client that
  // never connects, as none of its tests will run.
  if (!redisUrl) return new Redis({ lazyConnect: true });
  const client = new Redis(redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 1_000 });
  afterAll(async () => {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
    client.disconnect();
  });
  return client;
}
