// Owns the configuration contract: every environment variable the service reads, its default,
// its limits, and the typed, frozen object the rest of the code receives.
import { isIP } from 'node:net';
import Type, { type Static } from 'typebox';
import Value from 'typebox/value';
import type { RedisAddress, RedisTarget } from './redis.ts';

const millis = (fallback: number, minimum: number, maximum: number) =>
  Type.Integer({ default: fallback, minimum, maximum });
const redisUrl = Type.Optional(
  Type.String({ pattern: '^rediss?://', description: 'redis:// or rediss:// URL' }),
);
// Checked entry by entry in toConfig, which names the entry it refuses.
const redisAddressList = Type.Optional(Type.String({ description: 'host:port,host:port,…' }));

/**
 * Most addresses REDIS_CLUSTER_NODES or REDIS_SENTINELS may list: they are where discovery
 * starts, not an inventory, and connecting may try each in turn for a connect timeout.
 */
export const REDIS_ADDRESSES_MAX = 16;

// The schema is the single source of the variable names, defaults and bounds; README lists
// the same names and a test keeps .env.example in step with it.
export const EnvSchema = Type.Object({
  PORT: Type.Integer({ default: 8080, minimum: 0, maximum: 65535 }),
  HOST: Type.String({ default: '0.0.0.0', minLength: 1 }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  DATA_DIR: Type.String({ default: './data', minLength: 1 }),
  HTTP_REQUEST_TIMEOUT_MS: millis(30_000, 1_000, 600_000),
  // Beyond it the server closes each new connection at once (Node's server.maxConnections).
  HTTP_CONNECTIONS_MAX: Type.Integer({ default: 10_000, minimum: 1, maximum: 1_000_000 }),
  // Addresses (or CIDR ranges) of the load balancers whose X-Forwarded-For names the client;
  // checked entry by entry in toConfig. Unset: the client is the socket's peer.
  // Origins (scheme://host[:port]) whose scripts may call the APIs; checked in toConfig.
  CORS_ORIGINS: Type.Optional(Type.String({ description: 'origins, comma-separated' })),
  HTTP_TRUSTED_PROXIES: Type.Optional(
    Type.String({ description: 'address or CIDR, comma-separated' }),
  ),
  SHUTDOWN_TIMEOUT_MS: millis(10_000, 100, 600_000),

  REDIS_URL: redisUrl,
  SCORING_CACHE_URL: redisUrl,
  SCORING_STORE_URL: redisUrl,
  // A Redis Cluster's seed nodes, or the Sentinels of a primary and its name; each excludes
  // REDIS_URL and the other. The per-role URLs above still override a role.
  REDIS_CLUSTER_NODES: redisAddressList,
  REDIS_SENTINELS: redisAddressList,
  REDIS_SENTINEL_MASTER: Type.Optional(
    Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$', description: '1–64 of A-Z a-z 0-9 . _ -' }),
  ),
  REDIS_CONNECT_TIMEOUT_MS: millis(150, 10, 60_000),
  SCORING_KEY_PREFIX: Type.String({ default: '', maxLength: 64 }),
  SCORING_SALT: Type.String({ default: 'Otus' }),
  SCORING_ADMIN_SALT: Type.String({ default: '42' }),
  SCORING_CACHE_TTL_SECONDS: Type.Integer({ default: 3600, minimum: 1, maximum: 30 * 86_400 }),
  SCORING_CACHE_TIMEOUT_MS: millis(100, 1, 10_000),
  SCORING_CACHE_BREAKER_COOLDOWN_MS: millis(500, 10, 60_000),
  SCORING_CACHE_BREAKER_COOLDOWN_MAX_MS: millis(10_000, 10, 600_000),
  SCORING_STORE_TIMEOUT_MS: millis(150, 1, 60_000),
  SCORING_STORE_RECONNECT_ATTEMPTS_MAX: Type.Integer({ default: 3, minimum: 1, maximum: 20 }),
  SCORING_STORE_BACKOFF_MS: millis(50, 0, 10_000),
  SCORING_STORE_BUDGET_MS: millis(1_000, 10, 120_000),

  DATABASE_URL: Type.Optional(
    Type.String({ pattern: '^postgres(ql)?://', description: 'postgres:// or postgresql:// URL' }),
  ),
  DATABASE_POOL_SIZE: Type.Integer({ default: 10, minimum: 1, maximum: 500 }),
  DATABASE_CONNECT_TIMEOUT_MS: millis(2_000, 10, 60_000),
  DATABASE_STATEMENT_TIMEOUT_MS: millis(5_000, 10, 600_000),
  DATABASE_IDLE_TIMEOUT_MS: millis(30_000, 100, 3_600_000),
  DATABASE_TRANSACTION_ATTEMPTS_MAX: Type.Integer({ default: 3, minimum: 1, maximum: 20 }),
  // transaction: behind a transaction pooler (PgBouncer's pool_mode = transaction), which hands a
  // server connection to another client after every transaction, so no session state may be kept.
  DATABASE_POOL_MODE: Type.Union([Type.Literal('session'), Type.Literal('transaction')], {
    default: 'session',
  }),
  // Unset: on in session mode, off in transaction mode (PgBouncer before 1.21, or without
  // max_prepared_statements, sends a connection's named statements to other clients' servers).
  DATABASE_PREPARED_STATEMENTS: Type.Optional(
    Type.Union([Type.Literal('on'), Type.Literal('off')]),
  ),

  JWT_SECRET: Type.Optional(Type.String({ minLength: 32, description: 'at least 32 characters' })),
  SHOP_TOKEN_TTL_SECONDS: Type.Integer({ default: 86_400, minimum: 60, maximum: 30 * 86_400 }),
  SHOP_AUTH_CACHE_TTL_SECONDS: Type.Integer({ default: 60, minimum: 0, maximum: 3_600 }),
  SHOP_AUTH_CACHE_ENTRIES_MAX: Type.Integer({ default: 100_000, minimum: 0, maximum: 10_000_000 }),
  SHOP_SESSION_TTL_SECONDS: Type.Integer({ default: 43_200, minimum: 60, maximum: 30 * 86_400 }),
  SHOP_IDEMPOTENCY_TTL_SECONDS: Type.Integer({
    default: 86_400,
    minimum: 60,
    maximum: 30 * 86_400,
  }),
  // Failed sign-ins per window before the next is refused (429): per username, and per client
  // address (where registrations of new names count too); a window starts at its first failure.
  SHOP_SIGN_IN_FAILURES_PER_USER: Type.Integer({ default: 10, minimum: 1, maximum: 1_000_000 }),
  SHOP_SIGN_IN_FAILURES_PER_ADDRESS: Type.Integer({ default: 100, minimum: 1, maximum: 1_000_000 }),
  SHOP_SIGN_IN_WINDOW_SECONDS: Type.Integer({ default: 900, minimum: 1, maximum: 86_400 }),
  // Password hashes a process lets wait for a free hashing slot; beyond it sign-ins get 429.
  PASSWORD_HASH_QUEUE_MAX: Type.Integer({ default: 32, minimum: 0, maximum: 100_000 }),

  WALLET_BATCH_OPERATIONS_MAX: Type.Integer({ default: 500, minimum: 1, maximum: 10_000 }),
  WALLET_QUEUE_OPERATIONS_MAX: Type.Integer({ default: 10_000, minimum: 1, maximum: 1_000_000 }),
  WALLET_TRANSACTIONS_IN_FLIGHT_MAX: Type.Integer({ default: 4, minimum: 1, maximum: 500 }),
  // The wallets' contract keeps keys at least 24 hours.
  WALLET_IDEMPOTENCY_TTL_SECONDS: Type.Integer({
    default: 86_400,
    minimum: 86_400,
    maximum: 30 * 86_400,
  }),
});
export type Env = Static<typeof EnvSchema>;

export type LogLevel = Env['LOG_LEVEL'];

export interface ScoringConfig {
  readonly salt: string;
  readonly adminSalt: string;
  /**
   * Each role's Redis: a URL, or the Cluster or Sentinel deployment REDIS_CLUSTER_NODES or
   * REDIS_SENTINELS name; null: the in-process store serves the role.
   */
  readonly cacheUrl: RedisTarget | null;
  readonly storeUrl: RedisTarget | null;
  readonly keyPrefix: string;
  readonly cacheTtlSeconds: number;
  readonly cacheTimeoutMs: number;
  readonly cacheBreakerCooldownMs: number;
  readonly cacheBreakerCooldownMaxMs: number;
  readonly storeTimeoutMs: number;
  readonly storeReconnectAttemptsMax: number;
  readonly storeBackoffMs: number;
  readonly storeBudgetMs: number;
  readonly redisConnectTimeoutMs: number;
}

export interface DatabaseConfig {
  /** null: embedded PGlite under the data directory. */
  readonly url: string | null;
  readonly poolSize: number;
  readonly connectTimeoutMs: number;
  readonly statementTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly transactionAttemptsMax: number;
  /**
   * What the server end of a connection is: a session of its own (PostgreSQL, or a pooler in
   * session mode), or one lent for a transaction at a time (a transaction pooler), where nothing
   * may outlive a transaction: no startup parameters, session settings or session locks.
   */
  readonly poolMode: 'session' | 'transaction';
  /** Whether statements are prepared once per connection under their names. */
  readonly preparedStatements: boolean;
}

export interface ShopConfig {
  /** null only in embedded mode: a development secret is generated under the data directory. */
  readonly jwtSecret: string | null;
  readonly tokenTtlSeconds: number;
  readonly authCacheTtlSeconds: number;
  readonly authCacheEntriesMax: number;
  readonly idempotencyTtlSeconds: number;
  /** How long a browser session lasts from sign-in. */
  readonly sessionTtlSeconds: number;
  /** Failed sign-ins of one username per window before the next is refused. */
  readonly signInFailuresPerUser: number;
  /** Failed sign-ins and registrations from one client address per window. */
  readonly signInFailuresPerAddress: number;
  /** Length of the window of both counts, from its first failure. */
  readonly signInWindowSeconds: number;
  /** Password hashes that may wait for a hashing slot; beyond it a sign-in is refused at once. */
  readonly passwordHashQueueMax: number;
}

export interface WalletsConfig {
  /** Most operations on one wallet applied in one transaction. */
  readonly batchOperationsMax: number;
  /** Most operations one process holds for one wallet; beyond it new ones get 503. */
  readonly queueOperationsMax: number;
  /** Most transactions of wallet batches one process runs at once; batches wait for a slot. */
  readonly transactionsInFlightMax: number;
  readonly idempotencyTtlSeconds: number;
}

export interface Config {
  readonly http: {
    readonly host: string;
    readonly port: number;
    readonly requestTimeoutMs: number;
    /** Most connections the server holds at once, idle keep-alive ones included. */
    readonly connectionsMax: number;
    /**
     * Peers trusted to name the client in X-Forwarded-For (addresses or CIDR ranges); empty:
     * none, the client address is the socket's. The sign-in limits count per client address.
     */
    readonly trustedProxies: readonly string[];
    /** Origins allowed cross-origin requests (CORS); empty: none. */
    readonly corsOrigins: readonly string[];
    readonly shutdownTimeoutMs: number;
  };
  readonly log: { readonly level: LogLevel };
  readonly dataDir: string;
  readonly scoring: ScoringConfig;
  readonly database: DatabaseConfig;
  readonly shop: ShopConfig;
  readonly wallets: WalletsConfig;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads, validates and freezes the configuration; throws ConfigError naming every bad value. */
export function loadConfig(source: Readonly<Record<string, string | undefined>>): Config {
  // An empty variable means "unset", as in most shells' `VAR= command` idiom.
  const written: Record<string, string> = {};
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = source[key];
    if (value !== undefined && value !== '') written[key] = value;
  }
  const notIntegers = Object.keys(written).filter(
    (key) => properties[key]?.type === 'integer' && !/^-?\d+$/.test(written[key] as string),
  );
  const candidate: Record<string, string> = { ...written };
  for (const key of notIntegers) delete candidate[key];
  const env = Value.Convert(EnvSchema, Value.Default(EnvSchema, candidate));
  if (notIntegers.length === 0 && Value.Check(EnvSchema, env)) return deepFreeze(toConfig(env));
  // TypeBox's conversion is lenient ("1.5" → 1, "true" → 1, "0x10" → 16); settings are not.
  const problems = notIntegers.map(
    (key) => `${key} must be an integer (got ${shown(key, written[key])})`,
  );
  problems.push(...schemaProblems(env, written));
  throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
}

type PropertySchema = {
  type?: string;
  anyOf?: readonly { const?: unknown }[];
};
const properties = EnvSchema.properties as unknown as Record<string, PropertySchema>;

function schemaProblems(env: unknown, written: Record<string, string>): string[] {
  const seen = new Set<string>();
  const problems: string[] = [];
  for (const error of Value.Errors(EnvSchema, env)) {
    const key = error.instancePath.slice(1);
    if (seen.has(key)) continue; // a union reports once per member; one line per variable is enough
    seen.add(key);
    const choices = properties[key]?.anyOf?.map((member) => member.const);
    const message = choices ? `must be one of ${choices.join(', ')}` : error.message;
    problems.push(`${key || '(root)'} ${message} (got ${shown(key, written[key])})`);
  }
  return problems;
}

/** A value as an error message may show it: URLs without their password, salts not at all. */
function shown(key: string, value: string | undefined): string {
  if (value === undefined) return 'nothing';
  if (/SALT|SECRET|PASSWORD/.test(key)) return '(hidden)';
  if (key.endsWith('_URL')) {
    try {
      const url = new URL(value);
      if (url.password) url.password = '***';
      return JSON.stringify(url.href);
    } catch {
      return '(not a URL; hidden, as it may hold a password)';
    }
  }
  return JSON.stringify(value);
}

function toConfig(env: Env): Config {
  if (env.SCORING_CACHE_BREAKER_COOLDOWN_MAX_MS < env.SCORING_CACHE_BREAKER_COOLDOWN_MS) {
    throw new ConfigError(
      'invalid configuration:\n  SCORING_CACHE_BREAKER_COOLDOWN_MAX_MS must be at least SCORING_CACHE_BREAKER_COOLDOWN_MS',
    );
  }
  const sharedRedis = sharedRedisOf(env);
  const cacheUrl = env.SCORING_CACHE_URL ?? sharedRedis;
  const storeUrl = env.SCORING_STORE_URL ?? sharedRedis;
  if ((cacheUrl === null) !== (storeUrl === null)) {
    throw new ConfigError(
      'invalid configuration:\n  the scoring cache and store need Redis both or neither: set REDIS_URL, or both SCORING_CACHE_URL and SCORING_STORE_URL',
    );
  }
  if (env.DATABASE_URL !== undefined && env.JWT_SECRET === undefined) {
    throw new ConfigError(
      'invalid configuration:\n  JWT_SECRET is required when DATABASE_URL is set (at least 32 characters)',
    );
  }
  return {
    http: {
      host: env.HOST,
      port: env.PORT,
      requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS,
      connectionsMax: env.HTTP_CONNECTIONS_MAX,
      trustedProxies: trustedProxiesOf(env.HTTP_TRUSTED_PROXIES),
      corsOrigins: corsOriginsOf(env.CORS_ORIGINS),
      shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    },
    log: { level: env.LOG_LEVEL },
    dataDir: env.DATA_DIR,
    scoring: {
      salt: env.SCORING_SALT,
      adminSalt: env.SCORING_ADMIN_SALT,
      cacheUrl,
      storeUrl,
      keyPrefix: env.SCORING_KEY_PREFIX,
      cacheTtlSeconds: env.SCORING_CACHE_TTL_SECONDS,
      cacheTimeoutMs: env.SCORING_CACHE_TIMEOUT_MS,
      cacheBreakerCooldownMs: env.SCORING_CACHE_BREAKER_COOLDOWN_MS,
      cacheBreakerCooldownMaxMs: env.SCORING_CACHE_BREAKER_COOLDOWN_MAX_MS,
      storeTimeoutMs: env.SCORING_STORE_TIMEOUT_MS,
      storeReconnectAttemptsMax: env.SCORING_STORE_RECONNECT_ATTEMPTS_MAX,
      storeBackoffMs: env.SCORING_STORE_BACKOFF_MS,
      storeBudgetMs: env.SCORING_STORE_BUDGET_MS,
      redisConnectTimeoutMs: env.REDIS_CONNECT_TIMEOUT_MS,
    },
    database: {
      url: env.DATABASE_URL ?? null,
      poolSize: env.DATABASE_POOL_SIZE,
      connectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT_MS,
      idleTimeoutMs: env.DATABASE_IDLE_TIMEOUT_MS,
      transactionAttemptsMax: env.DATABASE_TRANSACTION_ATTEMPTS_MAX,
      poolMode: env.DATABASE_POOL_MODE,
      preparedStatements:
        env.DATABASE_PREPARED_STATEMENTS === undefined
          ? env.DATABASE_POOL_MODE === 'session'
          : env.DATABASE_PREPARED_STATEMENTS === 'on',
    },
    shop: {
      jwtSecret: env.JWT_SECRET ?? null,
      tokenTtlSeconds: env.SHOP_TOKEN_TTL_SECONDS,
      authCacheTtlSeconds: env.SHOP_AUTH_CACHE_TTL_SECONDS,
      authCacheEntriesMax: env.SHOP_AUTH_CACHE_ENTRIES_MAX,
      idempotencyTtlSeconds: env.SHOP_IDEMPOTENCY_TTL_SECONDS,
      sessionTtlSeconds: env.SHOP_SESSION_TTL_SECONDS,
      signInFailuresPerUser: env.SHOP_SIGN_IN_FAILURES_PER_USER,
      signInFailuresPerAddress: env.SHOP_SIGN_IN_FAILURES_PER_ADDRESS,
      signInWindowSeconds: env.SHOP_SIGN_IN_WINDOW_SECONDS,
      passwordHashQueueMax: env.PASSWORD_HASH_QUEUE_MAX,
    },
    wallets: {
      batchOperationsMax: env.WALLET_BATCH_OPERATIONS_MAX,
      queueOperationsMax: env.WALLET_QUEUE_OPERATIONS_MAX,
      transactionsInFlightMax: env.WALLET_TRANSACTIONS_IN_FLIGHT_MAX,
      idempotencyTtlSeconds: env.WALLET_IDEMPOTENCY_TTL_SECONDS,
    },
  };
}

/** Most origins CORS_ORIGINS may list. */
export const CORS_ORIGINS_MAX = 64;
/** Most entries HTTP_TRUSTED_PROXIES may list. */
export const TRUSTED_PROXIES_MAX = 64;

/**
 * A comma-separated setting's entries, trimmed: at most `max` of them, each distinct and passing
 * `check` (which says what an entry should be, or null); a refused entry is named.
 */
function listEntries(
  name: string,
  value: string,
  max: number,
  check: (entry: string) => string | null,
): string[] {
  const fail = (why: string): never => {
    throw new ConfigError(`invalid configuration:\n  ${name} ${why}`);
  };
  const entries = value.split(',').map((entry) => entry.trim());
  if (entries.length > max) fail(`lists ${entries.length} entries; at most ${max}`);
  const seen = new Set<string>();
  for (const entry of entries) {
    const expected = check(entry);
    if (expected !== null) fail(`entry ${JSON.stringify(entry)} is not ${expected}`);
    if (seen.has(entry)) fail(`lists ${entry} twice`);
    seen.add(entry);
  }
  return entries;
}

/** CORS_ORIGINS as a list of origins, each exactly as a browser sends it in Origin. */
function corsOriginsOf(value: string | undefined): string[] {
  if (value === undefined) return [];
  return listEntries('CORS_ORIGINS', value, CORS_ORIGINS_MAX, (entry) => {
    let origin: string | null = null;
    try {
      origin = new URL(entry).origin;
    } catch {
      // not a URL at all
    }
    return origin === entry && /^https?:/.test(entry)
      ? null
      : 'an origin: scheme, host and port only, as browsers send it (https://app.example.com, http://localhost:3000)';
  });
}

/** HTTP_TRUSTED_PROXIES as a list: each entry an IPv4 or IPv6 address, with a prefix length or not. */
function trustedProxiesOf(value: string | undefined): string[] {
  if (value === undefined) return [];
  return listEntries('HTTP_TRUSTED_PROXIES', value, TRUSTED_PROXIES_MAX, (entry) => {
    const [address = '', bits, ...rest] = entry.split('/');
    const family = isIP(address);
    const maxBits = family === 6 ? 128 : 32;
    const validBits = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= maxBits);
    return family !== 0 && validBits && rest.length === 0
      ? null
      : 'an IP address or CIDR range (e.g. 10.0.0.0/8)';
  });
}

/** The Redis both roles use unless a per-role URL overrides it: REDIS_URL, a Cluster or Sentinels. */
function sharedRedisOf(env: Env): RedisTarget | null {
  const ways = (['REDIS_URL', 'REDIS_CLUSTER_NODES', 'REDIS_SENTINELS'] as const).filter(
    (name) => env[name] !== undefined,
  );
  if (ways.length > 1) {
    throw new ConfigError(
      `invalid configuration:\n  ${ways.join(' and ')} exclude each other: set one way to reach Redis`,
    );
  }
  if ((env.REDIS_SENTINELS === undefined) !== (env.REDIS_SENTINEL_MASTER === undefined)) {
    throw new ConfigError(
      'invalid configuration:\n  REDIS_SENTINELS and REDIS_SENTINEL_MASTER go together: the Sentinels, and the name they monitor the primary under',
    );
  }
  if (env.REDIS_CLUSTER_NODES !== undefined) {
    return {
      kind: 'cluster',
      nodes: redisAddresses('REDIS_CLUSTER_NODES', env.REDIS_CLUSTER_NODES),
    };
  }
  if (env.REDIS_SENTINELS !== undefined && env.REDIS_SENTINEL_MASTER !== undefined) {
    return {
      kind: 'sentinel',
      sentinels: redisAddresses('REDIS_SENTINELS', env.REDIS_SENTINELS),
      masterName: env.REDIS_SENTINEL_MASTER,
    };
  }
  return env.REDIS_URL ?? null;
}

// host:port, the host a name, an IPv4 address or an IPv6 address in brackets.
const REDIS_ADDRESS =
  /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)):(\d{1,5})$/;

/** `host:port,host:port,…`, every entry checked; a refused one is named. */
function redisAddresses(name: string, value: string): RedisAddress[] {
  return listEntries(name, value, REDIS_ADDRESSES_MAX, (entry) => {
    const port = Number(REDIS_ADDRESS.exec(entry)?.[3]);
    return port >= 1 && port <= 65_535 ? null : 'host:port with a port of 1–65535';
  }).map((entry) => {
    const match = REDIS_ADDRESS.exec(entry) as RegExpExecArray;
    return { host: (match[1] ?? match[2]) as string, port: Number(match[3]) };
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
