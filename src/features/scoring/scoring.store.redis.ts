// Owns the Redis implementation of the scoring store: the cache fails fast behind a breaker, the
// store retries on fresh connections within a time budget, and both recover by themselves. On a
// Redis Cluster, keys are read and written per slot, and breakers, retries and dropped
// connections go per master, so that one master's outage fails only the requests that need it.
import { setTimeout as sleep } from 'node:timers/promises';
import { Counter, Gauge, type Registry } from 'prom-client';
import { type BreakerState, CircuitBreaker } from '../../platform/breaker.ts';
import {
  isTransientRedisError,
  type RedisClient,
  RedisLink,
  type RedisTarget,
} from '../../platform/redis.ts';
import { type ScoringStore, StoreUnavailableError, StoreValueError } from './scoring.store.ts';

export interface RedisStoreOptions {
  /** A URL, a Cluster or the primary of Sentinels, for each role. */
  readonly cacheUrl: RedisTarget;
  readonly storeUrl: RedisTarget;
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

function defineScripts(client: RedisClient): void {
  client.defineCommand('readStrings', { lua: READ_STRINGS_SCRIPT });
}

/** One script call, so the keys must share a slot on a Cluster (see RedisLink.group). */
function readStrings(client: RedisClient, keys: readonly string[]) {
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
    target: RedisTarget,
    prepare?: (client: RedisClient) => void,
  ) =>
    new RedisLink({
      target,
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
    get: async (key) => (await store.run('get', (c) => c.get(key), key)) as string | null,
    async getMany(keys) {
      const values: (string | null | [string])[] = keys.map(() => null);
      // One server: one script call for all the keys. A Cluster: one per slot, the slots of a
      // master in one operation (its calls leave together, so one round trip per master), and
      // the masters in parallel, each with its own retries and budget.
      await Promise.all(
        storeLink.group(keys).map(async ({ key, parts }) => {
          const keysOf = (part: readonly number[]) => part.map((i) => keys[i] ?? '');
          const readParts = (c: RedisClient) =>
            Promise.all(parts.map((part) => readStrings(c, keysOf(part))));
          const read = await store.run('getMany', readParts, key);
          parts.forEach((part, p) => {
            part.forEach((index, j) => {
              values[index] = read[p]?.[j] ?? null;
            });
          });
        }),
      );
      return onlyStrings(values, keys);
    },
    async putMany(entries) {
      // On a Cluster an MSET takes the keys of one slot: each slot's entries go in batches of
      // their own, one after another, so a failure still leaves the earlier batches written.
      for (const { parts } of storeLink.group(entries.map(([key]) => key))) {
        for (const part of parts) {
          const slotEntries = part.map((i) => entries[i] as readonly [string, string]);
          for (const batch of batches(slotEntries, PUT_BATCH_BYTES_MAX)) {
            await store.run('mset', (c) => c.mset(...batch.flat()), batch[0]?.[0]);
          }
        }
      }
    },
    async health() {
      return { store: (await store.reachable()) ? 'up' : 'down', cache: cache.up ? 'up' : 'down' };
    },
    async start() {
      // A connect and a PING for each role (on a Cluster, to every master, which opens their
      // connections ahead of the first request).
      await Promise.allSettled([cache.connect(), store.reachable()]);
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

/**
 * The cache role: never waits for a connection, and stops trying while its breaker is open. On a
 * Cluster each master has a breaker of its own, so a master's outage skips only its keys.
 */
class Cache {
  readonly #link: RedisLink;
  readonly #options: RedisStoreOptions;
  readonly #metrics: Metrics;
  readonly #log: Logger;
  /** By shard (RedisLink.shardOf): '' for the whole link, or a Cluster master's address. */
  readonly #breakers = new Map<string, CircuitBreaker>();
  /** Shards whose probe is in flight: one at a time reconnects each. */
  readonly #probing = new Set<string>();

  constructor(link: RedisLink, options: RedisStoreOptions, metrics: Metrics) {
    this.#link = link;
    this.#options = options;
    this.#metrics = metrics;
    this.#log = options.log;
  }

  get up(): boolean {
    return (
      this.#link.current() !== null &&
      [...this.#breakers.values()].every((breaker) => breaker.state === 'closed')
    );
  }

  async get(key: string): Promise<string | null> {
    const usable = this.#usable('get', key);
    if (usable === null) return null;
    const { client, shard } = usable;
    try {
      const value = await this.#guard(client, key, client.get(key));
      (value === null ? this.#metrics.cacheMiss : this.#metrics.cacheHit).inc();
      return value;
    } catch (err) {
      this.#failed('get', shard, err);
      return null;
    }
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    const usable = this.#usable('set', key);
    if (usable === null) return;
    const { client, shard } = usable;
    try {
      await this.#guard(client, key, client.set(key, value, 'EX', ttlSeconds));
      this.#metrics.operations.inc({ role: 'cache', op: 'set', outcome: 'ok' });
    } catch (err) {
      this.#failed('set', shard, err);
    }
  }

  /** Opens the connection (on a Cluster, to every master); a failure opens the breaker. */
  connect(): Promise<void> {
    return this.#probe('');
  }

  /**
   * Tries the shard once, `key` standing for it: opens the connection, and a round trip to the
   * server (on a Cluster, to the master of `key`). Its breaker closes or opens by the outcome.
   */
  async #probe(shard: string, key?: string): Promise<void> {
    if (this.#probing.has(shard)) return;
    this.#probing.add(shard);
    const breaker = this.#breaker(shard);
    try {
      const client = await this.#link.connect();
      const probeKey = shard === '' ? undefined : key;
      await this.#guard(client, probeKey, this.#link.ping(client, probeKey));
      breaker.success();
    } catch (err) {
      const line = { err: String(err), ...(shard === '' ? {} : { node: shard }) };
      this.#log.warn(line, 'scoring cache unreachable; serving without it');
      breaker.failure();
    } finally {
      this.#probing.delete(shard);
    }
  }

  /**
   * A live connection to use for `key` now, or null; when there is none, one is sought in the
   * background.
   */
  #usable(op: string, key: string): { client: RedisClient; shard: string } | null {
    const shard = this.#link.shardOf(key);
    const permit = this.#breaker(shard).tryAcquire();
    const client = permit === 'use' ? this.#link.current(key) : null;
    if (client === null) {
      if (permit !== 'reject') void this.#probe(shard, key);
      this.#metrics.operations.inc({ role: 'cache', op, outcome: 'skipped' });
      return null;
    }
    return { client, shard };
  }

  #breaker(shard: string): CircuitBreaker {
    let breaker = this.#breakers.get(shard);
    if (breaker === undefined) {
      breaker = new CircuitBreaker({
        cooldownMs: this.#options.cacheBreakerCooldownMs,
        cooldownMaxMs: this.#options.cacheBreakerCooldownMaxMs,
        onStateChange: (state) => {
          this.#metrics.breaker.set(BREAKER_GAUGE[this.#worstState()]);
          const line = { breaker: state, ...(shard === '' ? {} : { node: shard }) };
          this.#log.info(line, `scoring cache breaker ${state}`);
        },
      });
      this.#breakers.set(shard, breaker);
    }
    return breaker;
  }

  /** What the gauge shows: open if any breaker is, else half-open if any is, else closed. */
  #worstState(): BreakerState {
    const states = new Set([...this.#breakers.values()].map((breaker) => breaker.state));
    if (states.has('open')) return 'open';
    return states.has('half-open') ? 'half-open' : 'closed';
  }

  #guard<T>(client: RedisClient, key: string | undefined, pending: Promise<T>): Promise<T> {
    return pending.catch((err: unknown) => {
      // A server that does not answer in time is usually gone or stuck, and TCP can take minutes
      // to say so; dropping the connection fails what is queued behind at once and lets the
      // breaker's probe find out whether Redis is there. On a Cluster, only that master's.
      if (isTransientRedisError(err)) this.#link.drop(client, key);
      throw err;
    });
  }

  #failed(op: string, shard: string, err: unknown): void {
    this.#metrics.operations.inc({ role: 'cache', op, outcome: 'error' });
    this.#metrics.failures.inc({ role: 'cache', op });
    const breaker = this.#breaker(shard);
    if (isTransientRedisError(err)) {
      if (breaker.state === 'closed') {
        const line = { err: String(err), ...(shard === '' ? {} : { node: shard }) };
        this.#log.warn(line, 'scoring cache failed; serving without it');
      }
      breaker.failure();
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
  /**
   * Shards (RedisLink.shardOf) whose last operation failed, so that an outage is logged once
   * when it starts and once when it ends, not per request.
   */
  readonly #down = new Set<string>();

  constructor(link: RedisLink, options: RedisStoreOptions, metrics: Metrics) {
    this.#link = link;
    this.#options = options;
    this.#metrics = metrics;
  }

  /**
   * Runs `command` on the live connection, or on a new one; each new connection counts as one of
   * the SCORING_STORE_RECONNECT_ATTEMPTS_MAX attempts, with a doubling backoff between them. On
   * a Cluster, `key` says which master the command needs: the connection to that master is the
   * one that counts, and the one dropped when it fails.
   */
  async run<T>(op: string, command: (client: RedisClient) => Promise<T>, key?: string): Promise<T> {
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
        const live = this.#link.current(key);
        if (live === null) {
          if (reconnects === storeReconnectAttemptsMax) break;
          if (reconnects > 0) await this.#pause(storeBackoffMs * 2 ** (reconnects - 1), deadlineAt);
          reconnects++;
        }
        if (attempt > 1) this.#metrics.retries.inc({ op });
        try {
          const result = await Promise.race([this.#attempt(live, command, key), budget]);
          this.#metrics.operations.inc({ role: 'store', op, outcome: 'ok' });
          const shard = this.#shardOf(key);
          if (this.#down.delete(shard)) {
            this.#options.log.info({ op, ...nodeOf(shard) }, 'scoring store reachable again');
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
    const shard = this.#shardOf(key);
    const line = { err: String(lastError), op, reconnects, ...nodeOf(shard) };
    if (this.#down.has(shard)) this.#options.log.debug(line, 'scoring store still unavailable');
    else this.#options.log.warn(line, 'scoring store unavailable');
    this.#down.add(shard);
    throw new StoreUnavailableError(`interests store unavailable: ${String(lastError)}`);
  }

  /**
   * One attempt, for readiness probes: no retries, bounded by one connect and one command. A
   * Cluster is reachable while any master answers: the requests that need another get their 503,
   * and taking the service out of a load balancer would not bring that master back.
   */
  async reachable(): Promise<boolean> {
    try {
      await this.#attempt(this.#link.current(), (c) => this.#link.ping(c));
      return true;
    } catch {
      return false;
    }
  }

  async #pause(ms: number, deadlineAt: number): Promise<void> {
    const pauseMs = Math.min(ms, deadlineAt - performance.now());
    if (pauseMs > 0) await sleep(pauseMs);
  }

  #shardOf(key: string | undefined): string {
    return key === undefined ? '' : this.#link.shardOf(key);
  }

  async #attempt<T>(
    live: RedisClient | null,
    command: (client: RedisClient) => Promise<T>,
    key?: string,
  ): Promise<T> {
    const client = live ?? (await this.#link.connect());
    try {
      return await command(client);
    } catch (err) {
      if (isTransientRedisError(err)) this.#link.drop(client, key);
      throw err;
    }
  }
}

/** The log field naming a Cluster master, or nothing for the whole link. */
function nodeOf(shard: string): { node?: string } {
  return shard === '' ? {} : { node: shard };
}
