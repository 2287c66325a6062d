// Owns the Redis implementation of the scoring store: the cache fails fast behind a breaker, the
// store retries on fresh connections within a time budget, and both recover by themselves.
import type { Redis } from 'ioredis';
import { Counter, Gauge, type Registry } from 'prom-client';
import { type BreakerState, CircuitBreaker } from '../../platform/breaker.ts';
import { isTransientRedisError, RedisLink, sleep } from '../../platform/redis.ts';
import { type ScoringStore, StoreUnavailableError, StoreValueError } from './scoring.store.ts';

export interface RedisStoreOptions {
  readonly cacheUrl: string;
  readonly storeUrl: string;
  readonly keyPrefix: string;
  readonly connectTimeoutMs: number;
  readonly cacheTimeoutMs: number;
  readonly cacheBreakerCooldownMs: number;
  readonly cacheBreakerCooldownMaxMs: number;
  readonly storeTimeoutMs: number;
  readonly storeReconnectAttemptsMax: number;
  readonly storeBackoffMs: number;
  readonly storeBudgetMs: number;
  readonly registry: Registry;
  readonly log: Logger;
}

interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Bytes of keys and values per MSET when importing, so no one command carries too much. */
export const PUT_BATCH_BYTES_MAX = 1024 * 1024;

// MGET in one round trip, except that a key holding another type (a list, a hash) comes back as
// {type} instead of the nil MGET gives it, which would pass for "missing". Only nils cost a TYPE.
const READ_STRINGS_SCRIPT = `
local values = redis.call('MGET', unpack(KEYS))
for i = 1, #KEYS do
  if not values[i] then
    local kind = redis.call('TYPE', KEYS[i]).ok
    if kind ~= 'none' then values[i] = { kind } end
  end
end
return values`;

type ReadStrings = (count: number, ...keys: string[]) => Promise<(string | null | [string])[]>;

function defineScripts(client: Redis): void {
  client.defineCommand('readStrings', { lua: READ_STRINGS_SCRIPT });
}

function readStrings(client: Redis, keys: readonly string[]) {
  return (client as unknown as { readStrings: ReadStrings }).readStrings(keys.length, ...keys);
}

/** The values as strings or null; throws StoreValueError for a key that holds another type. */
function onlyStrings(values: readonly (string | null | [string])[], keys: readonly string[]) {
  return values.map((value, i) => {
    if (!Array.isArray(value)) return value;
    throw new StoreValueError(keys[i] as string, `holds a ${value[0]}, not a string`);
  });
}

const BREAKER_GAUGE: Record<BreakerState, number> = { closed: 0, open: 1, 'half-open': 2 };

function createMetrics(registry: Registry) {
  const operations = new Counter({
    name: 'scoring_store_operations_total',
    help: 'Scoring store operations by role, operation and outcome',
    labelNames: ['role', 'op', 'outcome'] as const,
    registers: [registry],
  });
  return {
    operations,
    cacheHit: operations.labels('cache', 'get', 'hit'),
    cacheMiss: operations.labels('cache', 'get', 'miss'),
    retries: new Counter({
      name: 'scoring_store_retries_total',
      help: 'Store operations retried on a fresh connection',
      labelNames: ['op'] as const,
      registers: [registry],
    }),
    failures: new Counter({
      name: 'scoring_store_failures_total',
      help: 'Operations that failed: cache errors swallowed, store operations given up',
      labelNames: ['role', 'op'] as const,
      registers: [registry],
    }),
    connects: new Counter({
      name: 'redis_connection_attempts_total',
      help: 'Connection attempts by role and outcome',
      labelNames: ['role', 'outcome'] as const,
      registers: [registry],
    }),
    breaker: new Gauge({
      name: 'scoring_cache_breaker_state',
      help: 'Cache circuit breaker: 0 closed, 1 open, 2 half-open',
      registers: [registry],
    }),
  };
}

type Metrics = ReturnType<typeof createMetrics>;

export function createRedisStore(options: RedisStoreOptions): ScoringStore {
  const metrics = createMetrics(options.registry);
  const link = (
    name: 'cache' | 'store',
    commandTimeoutMs: number,
    url: string,
    prepare?: (client: Redis) => void,
  ) =>
    new RedisLink({
      url,
      name,
      commandTimeoutMs,
      connectTimeoutMs: options.connectTimeoutMs,
      keyPrefix: options.keyPrefix,
      log: options.log,
      onConnectAttempt: (ok) => metrics.connects.inc({ role: name, outcome: ok ? 'ok' : 'error' }),
      prepare,
    });
  const cacheLink = link('cache', options.cacheTimeoutMs, options.cacheUrl);
  // Only the store runs the interests script; the cache connection has no use for it.
  const storeLink = link('store', options.storeTimeoutMs, options.storeUrl, defineScripts);
  const cache = new Cache(cacheLink, options, metrics);
  const store = new Store(storeLink, options, metrics);

  return {
    kind: 'redis',
    cacheGet: (key) => cache.get(key),
    cacheSet: (key, value, ttl) => cache.set(key, value, ttl),
    get: async (key) => (await store.run('get', (c) => c.get(key))) as string | null,
    getMany: async (keys) =>
      keys.length === 0
        ? []
        : onlyStrings(await store.run('getMany', (c) => readStrings(c, keys)), keys),
    putMany: async (entries) => {
      for (const batch of batches(entries, PUT_BATCH_BYTES_MAX)) {
        await store.run('mset', (c) => c.mset(...batch.flat()));
      }
    },
    async health() {
      return { store: (await store.reachable()) ? 'up' : 'down', cache: cache.up ? 'up' : 'down' };
    },
    async start() {
      await Promise.allSettled([cache.connect(), storeLink.connect()]);
    },
    async close() {
      await Promise.all([cacheLink.close(), storeLink.close()]);
    },
  };
}

/** Splits entries into runs of at most `bytesMax` bytes of keys and values (at least one each). */
function* batches(
  entries: readonly (readonly [string, string])[],
  bytesMax: number,
): Generator<(readonly [string, string])[]> {
  let batch: (readonly [string, string])[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = Buffer.byteLength(entry[0]) + Buffer.byteLength(entry[1]);
    if (batch.length > 0 && bytes + size > bytesMax) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(entry);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}

/** The cache role: never waits for a connection, and stops trying while its breaker is open. */
class Cache {
  readonly #link: RedisLink;
  readonly #breaker: CircuitBreaker;
  readonly #metrics: Metrics;
  readonly #log: Logger;

  constructor(link: RedisLink, options: RedisStoreOptions, metrics: Metrics) {
    this.#link = link;
    this.#metrics = metrics;
    this.#log = options.log;
    this.#breaker = new CircuitBreaker({
      cooldownMs: options.cacheBreakerCooldownMs,
      cooldownMaxMs: options.cacheBreakerCooldownMaxMs,
      onStateChange: (state) => {
        metrics.breaker.set(BREAKER_GAUGE[state]);
        this.#log.info({ breaker: state }, `scoring cache breaker ${state}`);
      },
    });
  }

  get up(): boolean {
    return this.#breaker.state === 'closed' && this.#link.current() !== null;
  }

  async get(key: string): Promise<string | null> {
    const client = this.#usable('get');
    if (client === null) return null;
    try {
      const value = await this.#guard(client, client.get(key));
      (value === null ? this.#metrics.cacheMiss : this.#metrics.cacheHit).inc();
      return value;
    } catch (err) {
      this.#failed('get', err);
      return null;
    }
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    const client = this.#usable('set');
    if (client === null) return;
    try {
      await this.#guard(client, client.set(key, value, 'EX', ttlSeconds));
      this.#metrics.operations.inc({ role: 'cache', op: 'set', outcome: 'ok' });
    } catch (err) {
      this.#failed('set', err);
    }
  }

  /** Opens the connection; a failure opens the breaker. */
  async connect(): Promise<void> {
    try {
      const client = await this.#link.connect();
      await this.#guard(client, client.ping());
      this.#breaker.success();
    } catch (err) {
      this.#log.warn({ err: String(err) }, 'scoring cache unreachable; serving without it');
      this.#breaker.failure();
    }
  }

  /** A live connection to use now, or null; when there is none, one is sought in the background. */
  #usable(op: string): Redis | null {
    const permit = this.#breaker.tryAcquire();
    const client = permit === 'use' ? this.#link.current() : null;
    if (client === null) {
      if (permit !== 'reject' && !this.#link.connecting) void this.connect();
      this.#metrics.operations.inc({ role: 'cache', op, outcome: 'skipped' });
    }
    return client;
  }

  #guard<T>(client: Redis, pending: Promise<T>): Promise<T> {
    return pending.catch((err: unknown) => {
      // A server that does not answer in time is usually gone or stuck, and TCP can take minutes
      // to say so; dropping the connection fails what is queued behind at once and lets the
      // breaker's probe find out whether Redis is there.
      if (isTransientRedisError(err)) this.#link.drop(client);
      throw err;
    });
  }

  #failed(op: string, err: unknown): void {
    this.#metrics.operations.inc({ role: 'cache', op, outcome: 'error' });
    this.#metrics.failures.inc({ role: 'cache', op });
    if (isTransientRedisError(err)) {
      if (this.#breaker.state === 'closed') {
        this.#log.warn({ err: String(err) }, 'scoring cache failed; serving without it');
      }
      this.#breaker.failure();
    } else {
      this.#log.warn({ err: String(err), op }, 'scoring cache command rejected');
    }
  }
}

/** The store role: bounded attempts on fresh connections, with backoff, inside a time budget. */
class Store {
  readonly #link: RedisLink;
  readonly #options: RedisStoreOptions;
  readonly #metrics: Metrics;
  /** Whether the last operation failed, so that an outage is logged once, not per request. */
  #down = false;

  constructor(link: RedisLink, options: RedisStoreOptions, metrics: Metrics) {
    this.#link = link;
    this.#options = options;
    this.#metrics = metrics;
  }

  /**
   * Runs `command` on the live connection, or on a new one; each new connection counts as one of
   * the SCORING_STORE_RECONNECT_ATTEMPTS_MAX attempts, with a doubling backoff between them.
   */
  async run<T>(op: string, command: (client: Redis) => Promise<T>): Promise<T> {
    const { storeReconnectAttemptsMax, storeBackoffMs, storeBudgetMs } = this.#options;
    const deadlineAt = performance.now() + storeBudgetMs;
    let timer: NodeJS.Timeout | undefined;
    const budget = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within the ${storeBudgetMs} ms budget`)),
        storeBudgetMs,
      );
    });
    let reconnects = 0;
    let lastError: unknown;
    try {
      for (let attempt = 1; ; attempt++) {
        const live = this.#link.current();
        if (live === null) {
          if (reconnects === storeReconnectAttemptsMax) break;
          if (reconnects > 0) await this.#pause(storeBackoffMs * 2 ** (reconnects - 1), deadlineAt);
          reconnects++;
        }
        if (attempt > 1) this.#metrics.retries.inc({ op });
        try {
          const result = await Promise.race([this.#attempt(live, command), budget]);
          this.#metrics.operations.inc({ role: 'store', op, outcome: 'ok' });
          if (this.#down) {
            this.#down = false;
            this.#options.log.info({ op }, 'scoring store reachable again');
          }
          return result;
        } catch (err) {
          lastError = err;
          if (!isTransientRedisError(err)) {
            this.#metrics.operations.inc({ role: 'store', op, outcome: 'error' });
            throw err;
          }
          if (performance.now() >= deadlineAt) break;
        }
      }
    } finally {
      clearTimeout(timer);
    }
    this.#metrics.operations.inc({ role: 'store', op, outcome: 'unavailable' });
    this.#metrics.failures.inc({ role: 'store', op });
    const line = { err: String(lastError), op, reconnects };
    if (this.#down) this.#options.log.debug(line, 'scoring store still unavailable');
    else this.#options.log.warn(line, 'scoring store unavailable');
    this.#down = true;
    throw new StoreUnavailableError(`interests store unavailable: ${String(lastError)}`);
  }

  /** One attempt, for readiness probes: no retries, bounded by one connect and one command. */
  async reachable(): Promise<boolean> {
    try {
      await this.#attempt(this.#link.current(), (c) => c.ping());
      return true;
    } catch {
      return false;
    }
  }

  async #pause(ms: number, deadlineAt: number): Promise<void> {
    const pauseMs = Math.min(ms, deadlineAt - performance.now());
    if (pauseMs > 0) await sleep(pauseMs);
  }

  async #attempt<T>(live: Redis | null, command: (client: Redis) => Promise<T>): Promise<T> {
    const client = live ?? (await this.#link.connect());
    try {
      return await command(client);
    } catch (err) {
      if (isTransientRedisError(err)) this.#link.drop(client);
      throw err;
    }
  }
}
