import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { cases } from '../../test/support/cases.ts';
import { ConfigError, EnvSchema, loadConfig, REDIS_ADDRESSES_MAX } from './config.ts';

/** The ConfigError loadConfig throws for `env`; fails the test when it does not throw one. */
function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe('loadConfig with an empty environment', () => {
  const config = loadConfig({});

  test('uses the documented defaults', () => {
    expect(config.http).toEqual({
      host: '0.0.0.0',
      port: 8080,
      requestTimeoutMs: 30_000,
      connectionsMax: 10_000,
      trustedProxies: [],
      corsOrigins: [],
      shutdownTimeoutMs: 10_000,
    });
    expect(config.log.level).toBe('info');
    expect(config.dataDir).toBe('./data');
    expect(config.scoring.salt).toBe('Otus');
    expect(config.scoring.adminSalt).toBe('42');
    expect(config.scoring.cacheTtlSeconds).toBe(3600);
    expect(config.scoring.storeReconnectAttemptsMax).toBe(3);
    expect(config.scoring.keyPrefix).toBe('');
  });

  test('runs on the in-process store, as no Redis is configured', () => {
    expect(config.scoring.cacheUrl).toBeNull();
    expect(config.scoring.storeUrl).toBeNull();
  });

  test('is frozen all the way down', () => {
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.http)).toBe(true);
    expect(Object.isFrozen(config.log)).toBe(true);
    expect(Object.isFrozen(config.scoring)).toBe(true);
    expect(() => {
      (config.http as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(config.http.port).toBe(8080);
  });

  test('ignores variables it does not own', () => {
    expect(loadConfig({ PATH: '/bin', HOME: '/root', NODE_ENV: 'test' })).toEqual(config);
  });
});

describe('loadConfig conversions', () => {
  test('turns numeric strings into numbers', () => {
    const config = loadConfig({
      PORT: '3000',
      HTTP_REQUEST_TIMEOUT_MS: '5000',
      HTTP_CONNECTIONS_MAX: '300',
      SCORING_CACHE_TTL_SECONDS: '60',
      SCORING_STORE_RECONNECT_ATTEMPTS_MAX: '5',
      SCORING_STORE_BACKOFF_MS: '0',
    });
    expect(config.http.port).toBe(3000);
    expect(config.http.requestTimeoutMs).toBe(5000);
    expect(config.http.connectionsMax).toBe(300);
    expect(config.scoring.cacheTtlSeconds).toBe(60);
    expect(config.scoring.storeReconnectAttemptsMax).toBe(5);
    expect(config.scoring.storeBackoffMs).toBe(0);
  });

  test('keeps strings as written', () => {
    const config = loadConfig({
      HOST: '127.0.0.1',
      LOG_LEVEL: 'debug',
      DATA_DIR: '/var/lib/coinworks',
      SCORING_SALT: 'pepper',
      SCORING_ADMIN_SALT: '43',
      SCORING_KEY_PREFIX: 'staging:',
    });
    expect(config.http.host).toBe('127.0.0.1');
    expect(config.log.level).toBe('debug');
    expect(config.dataDir).toBe('/var/lib/coinworks');
    expect(config.scoring.salt).toBe('pepper');
    expect(config.scoring.adminSalt).toBe('43');
    expect(config.scoring.keyPrefix).toBe('staging:');
  });

  cases(
    'treats an empty variable as unset',
    [
      ['PORT', 'http', 'port', 8080],
      ['LOG_LEVEL', 'log', 'level', 'info'],
      ['SCORING_SALT', 'scoring', 'salt', 'Otus'],
      ['REDIS_URL', 'scoring', 'cacheUrl', null],
      ['SCORING_CACHE_TTL_SECONDS', 'scoring', 'cacheTtlSeconds', 3600],
    ] as const,
    ([name, section, key, expected]) => {
      const config = loadConfig({ [name]: '' });
      expect((config[section] as Record<string, unknown>)[key]).toBe(expected);
    },
  );
});

describe('loadConfig rejects bad values with a ConfigError naming the variable', () => {
  cases(
    'rejects',
    [
      ['PORT', 'abc'],
      ['PORT', '8_080'],
      ['PORT', 'Infinity'],
      ['PORT', '70000'],
      ['PORT', '-1'],
      ['HTTP_REQUEST_TIMEOUT_MS', '999'],
      ['HTTP_CONNECTIONS_MAX', '0'],
      ['HTTP_CONNECTIONS_MAX', '1000001'],
      ['CORS_ORIGINS', '*'],
      ['CORS_ORIGINS', 'app.example.com'],
      ['CORS_ORIGINS', 'https://app.example.com/'],
      ['CORS_ORIGINS', 'https://app.example.com/path'],
      ['CORS_ORIGINS', 'https://App.Example.com'],
      ['CORS_ORIGINS', 'https://app.example.com:443'],
      ['CORS_ORIGINS', 'ftp://files.example.com'],
      ['CORS_ORIGINS', 'https://a.example,'],
      ['HTTP_TRUSTED_PROXIES', 'haproxy'],
      ['HTTP_TRUSTED_PROXIES', '10.0.0.0/33'],
      ['HTTP_TRUSTED_PROXIES', '::1/129'],
      ['HTTP_TRUSTED_PROXIES', '10.0.0.1,'],
      ['HTTP_TRUSTED_PROXIES', '10.0.0.0/8/1'],
      ['HTTP_TRUSTED_PROXIES', Array(65).fill('10.0.0.1').join(',')],
      ['SHUTDOWN_TIMEOUT_MS', '600001'],
      ['SCORING_CACHE_TTL_SECONDS', '0'],
      ['SCORING_STORE_RECONNECT_ATTEMPTS_MAX', '21'],
      ['SCORING_STORE_BUDGET_MS', 'soon'],
      ['SCORING_KEY_PREFIX', 'p'.repeat(65)],
      ['LOG_LEVEL', 'verbose'],
      ['LOG_LEVEL', 'INFO'],
      ['REDIS_URL', 'http://127.0.0.1:6379'],
      ['REDIS_URL', '127.0.0.1:6379'],
      ['SCORING_CACHE_URL', 'tcp://cache:6379'],
      ['SCORING_STORE_URL', 'localhost'],
    ] as const,
    ([name, value]) => {
      const error = configError({ [name]: value });
      expect(error.name).toBe('ConfigError');
      expect(error.message).toMatch(new RegExp(`^invalid configuration:\\n  ${name} `));
    },
  );

  test('CORS_ORIGINS takes origins as browsers send them, trimmed', () => {
    expect(
      loadConfig({
        CORS_ORIGINS: 'https://app.example.com, http://localhost:3000,http://[::1]:8081',
      }).http.corsOrigins,
    ).toEqual(['https://app.example.com', 'http://localhost:3000', 'http://[::1]:8081']);
  });

  test('HTTP_TRUSTED_PROXIES takes addresses and CIDR ranges of both families, trimmed', () => {
    expect(
      loadConfig({ HTTP_TRUSTED_PROXIES: '127.0.0.1, 10.0.0.0/8,::1,fd00::/8' }).http
        .trustedProxies,
    ).toEqual(['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8']);
  });

  test('names every bad variable at once', () => {
    const { message } = configError({ PORT: 'abc', LOG_LEVEL: 'loud', SCORING_SALT: 'fine' });
    expect(message).toContain('PORT');
    expect(message).toContain('LOG_LEVEL');
    expect(message).not.toContain('SCORING_SALT');
  });

  cases(
    'refuses integers written any other way than as decimal digits',
    ['1.5', '99.9', 'true', 'false', '0x1F90', '0b11', ' 8080 ', '1e3'],
    (value) => {
      expect(configError({ PORT: value }).message).toBe(
        `invalid configuration:\n  PORT must be an integer (got ${JSON.stringify(value)})`,
      );
    },
  );

  test('lists the allowed levels once for a bad LOG_LEVEL', () => {
    expect(configError({ LOG_LEVEL: 'loud' }).message).toBe(
      'invalid configuration:\n  LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "loud")',
    );
  });

  test('quotes the value as written, not as converted', () => {
    expect(configError({ PORT: '70000' }).message).toContain('PORT must be <= 65535 (got "70000")');
  });

  test('quotes the value it refused', () => {
    expect(configError({ PORT: 'abc' }).message).toContain('"abc"');
  });
});

describe('loadConfig Redis roles', () => {
  test('REDIS_URL serves both the cache and the store', () => {
    const { scoring } = loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379/0' });
    expect(scoring.cacheUrl).toBe('redis://127.0.0.1:6379/0');
    expect(scoring.storeUrl).toBe('redis://127.0.0.1:6379/0');
  });

  test('accepts TLS URLs (rediss://)', () => {
    expect(loadConfig({ REDIS_URL: 'rediss://r.example:6380' }).scoring.storeUrl).toBe(
      'rediss://r.example:6380',
    );
  });

  test('SCORING_CACHE_URL overrides REDIS_URL for the cache only', () => {
    const { scoring } = loadConfig({
      REDIS_URL: 'redis://shared:6379',
      SCORING_CACHE_URL: 'redis://cache:6379',
    });
    expect(scoring.cacheUrl).toBe('redis://cache:6379');
    expect(scoring.storeUrl).toBe('redis://shared:6379');
  });

  test('SCORING_STORE_URL overrides REDIS_URL for the store only', () => {
    const { scoring } = loadConfig({
      REDIS_URL: 'redis://shared:6379',
      SCORING_STORE_URL: 'redis://store:6379',
    });
    expect(scoring.cacheUrl).toBe('redis://shared:6379');
    expect(scoring.storeUrl).toBe('redis://store:6379');
  });

  test('both role URLs without REDIS_URL point each role at its own server', () => {
    const { scoring } = loadConfig({
      SCORING_CACHE_URL: 'redis://cache:6379',
      SCORING_STORE_URL: 'redis://store:6379',
    });
    expect(scoring.cacheUrl).toBe('redis://cache:6379');
    expect(scoring.storeUrl).toBe('redis://store:6379');
  });

  cases(
    'refuses a single role configured without REDIS_URL',
    ['SCORING_CACHE_URL', 'SCORING_STORE_URL'],
    (name) => {
      const { message } = configError({ [name]: 'redis://one:6379' });
      expect(message).toContain('both or neither');
      expect(message).toContain('REDIS_URL');
    },
  );
});

describe('loadConfig Redis Cluster and Sentinel', () => {
  test('REDIS_CLUSTER_NODES points both roles at the cluster, trimming spaces', () => {
    const { scoring } = loadConfig({
      REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-b:7001,[::1]:7002',
    });
    const cluster = {
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: 'redis-b', port: 7001 },
        { host: '::1', port: 7002 },
      ],
    };
    expect(scoring.cacheUrl).toEqual(cluster);
    expect(scoring.storeUrl).toEqual(cluster);
  });

  test('REDIS_SENTINELS with REDIS_SENTINEL_MASTER point both roles at the primary', () => {
    const { scoring } = loadConfig({
      REDIS_SENTINELS: 's1:26379,s2:26379',
      REDIS_SENTINEL_MASTER: 'coinworks',
    });
    expect(scoring.storeUrl).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
      masterName: 'coinworks',
    });
    expect(scoring.cacheUrl).toEqual(scoring.storeUrl);
  });

  test('a per-role URL still overrides that role (a disposable cache beside a cluster store)', () => {
    const { scoring } = loadConfig({
      REDIS_CLUSTER_NODES: 'n1:7000',
      SCORING_CACHE_URL: 'redis://cache:6379',
    });
    expect(scoring.cacheUrl).toBe('redis://cache:6379');
    expect(scoring.storeUrl).toEqual({ kind: 'cluster', nodes: [{ host: 'n1', port: 7000 }] });
  });

  cases(
    'refuses two ways to reach Redis at once, naming both',
    [
      [
        { REDIS_URL: 'redis://r:6379', REDIS_CLUSTER_NODES: 'n1:7000' },
        'REDIS_URL and REDIS_CLUSTER_NODES',
      ],
      [
        { REDIS_URL: 'redis://r:6379', REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_MASTER: 'm' },
        'REDIS_URL and REDIS_SENTINELS',
      ],
      [
        { REDIS_CLUSTER_NODES: 'n1:7000', REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_MASTER: 'm' },
        'REDIS_CLUSTER_NODES and REDIS_SENTINELS',
      ],
    ] as const,
    ([env, names]) => {
      expect(configError(env).message).toBe(
        `invalid configuration:\n  ${names} exclude each other: set one way to reach Redis`,
      );
    },
  );

  cases(
    'refuses the Sentinels without the primary name, and the name without Sentinels',
    [{ REDIS_SENTINELS: 's1:26379' }, { REDIS_SENTINEL_MASTER: 'coinworks' }],
    (env) => {
      expect(configError(env).message).toContain(
        'REDIS_SENTINELS and REDIS_SENTINEL_MASTER go together',
      );
    },
  );

  cases(
    'refuses an address list entry that is not host:port, naming it',
    [
      ['REDIS_CLUSTER_NODES', 'n1:7000,n2', 'n2'],
      ['REDIS_CLUSTER_NODES', 'n1:7000,,n2:7001', ''],
      ['REDIS_CLUSTER_NODES', 'redis://n1:7000', 'redis://n1:7000'],
      ['REDIS_CLUSTER_NODES', 'n1:0', 'n1:0'],
      ['REDIS_CLUSTER_NODES', 'n1:65536', 'n1:65536'],
      ['REDIS_SENTINELS', 'bad host:26379', 'bad host:26379'],
      ['REDIS_SENTINELS', '::1:26379', '::1:26379'],
    ] as const,
    ([name, value, entry]) => {
      const master = name === 'REDIS_SENTINELS' ? { REDIS_SENTINEL_MASTER: 'm' } : {};
      expect(configError({ [name]: value, ...master }).message).toBe(
        `invalid configuration:\n  ${name} entry ${JSON.stringify(entry)} is not host:port with a port of 1–65535`,
      );
    },
  );

  test('refuses a node listed twice, and more than REDIS_ADDRESSES_MAX nodes', () => {
    expect(configError({ REDIS_CLUSTER_NODES: 'n1:7000,n1:7000' }).message).toContain(
      'REDIS_CLUSTER_NODES lists n1:7000 twice',
    );
    const many = Array.from({ length: REDIS_ADDRESSES_MAX + 1 }, (_, i) => `n${i}:7000`);
    expect(configError({ REDIS_CLUSTER_NODES: many.join(',') }).message).toContain(
      `REDIS_CLUSTER_NODES lists ${REDIS_ADDRESSES_MAX + 1} entries; at most ${REDIS_ADDRESSES_MAX}`,
    );
    expect(
      loadConfig({ REDIS_CLUSTER_NODES: many.slice(1).join(',') }).scoring.storeUrl,
    ).toMatchObject({ kind: 'cluster' });
  });

  cases(
    'refuses a primary name Sentinel could not take',
    ['my master', 'm'.repeat(65), 'a,b'],
    (name) => {
      expect(
        configError({ REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_MASTER: name }).message,
      ).toMatch(/^invalid configuration:\n {2}REDIS_SENTINEL_MASTER /);
    },
  );
});

describe('loadConfig breaker cooldowns', () => {
  test('refuses a ceiling below the first cooldown', () => {
    const { message } = configError({
      SCORING_CACHE_BREAKER_COOLDOWN_MS: '1000',
      SCORING_CACHE_BREAKER_COOLDOWN_MAX_MS: '999',
    });
    expect(message).toContain('SCORING_CACHE_BREAKER_COOLDOWN_MAX_MS');
    expect(message).toContain('SCORING_CACHE_BREAKER_COOLDOWN_MS');
  });

  test('refuses a ceiling below the default cooldown when only the ceiling is set', () => {
    expect(configError({ SCORING_CACHE_BREAKER_COOLDOWN_MAX_MS: '100' }).message).toContain(
      'SCORING_CACHE_BREAKER_COOLDOWN_MAX_MS',
    );
  });

  test('accepts a ceiling equal to the cooldown', () => {
    const { scoring } = loadConfig({
      SCORING_CACHE_BREAKER_COOLDOWN_MS: '700',
      SCORING_CACHE_BREAKER_COOLDOWN_MAX_MS: '700',
    });
    expect(scoring.cacheBreakerCooldownMs).toBe(700);
    expect(scoring.cacheBreakerCooldownMaxMs).toBe(700);
  });
});

describe('loadConfig database and shop settings', () => {
  test('embedded by default: no database URL and no JWT secret needed', () => {
    const { database, shop } = loadConfig({});
    expect(database.url).toBeNull();
    expect(shop.jwtSecret).toBeNull();
    expect(database.poolSize).toBe(10);
    expect(shop.tokenTtlSeconds).toBe(86_400);
  });

  test('service mode takes the URL, the secret and the pool limits', () => {
    const { database, shop } = loadConfig({
      DATABASE_URL: 'postgres://app@db.internal:5432/shop',
      JWT_SECRET: 'x'.repeat(32),
      DATABASE_POOL_SIZE: '25',
      DATABASE_STATEMENT_TIMEOUT_MS: '750',
    });
    expect(database).toMatchObject({
      url: 'postgres://app@db.internal:5432/shop',
      poolSize: 25,
      statementTimeoutMs: 750,
    });
    expect(shop.jwtSecret).toBe('x'.repeat(32));
  });

  test('refuses DATABASE_URL without JWT_SECRET', () => {
    expect(configError({ DATABASE_URL: 'postgres://db/shop' }).message).toContain(
      'JWT_SECRET is required when DATABASE_URL is set',
    );
  });

  test('refuses a JWT secret shorter than 32 characters without showing it', () => {
    const { message } = configError({ JWT_SECRET: 'short-secret' });
    expect(message).toContain('JWT_SECRET');
    expect(message).not.toContain('short-secret');
  });

  test('refuses a database URL of another scheme, hiding its password', () => {
    const { message } = configError({
      DATABASE_URL: 'mysql://app:hunter2@db/shop',
      JWT_SECRET: 'x'.repeat(32),
    });
    expect(message).toContain('DATABASE_URL');
    expect(message).not.toContain('hunter2');
  });
});

describe('loadConfig pool mode and prepared statements', () => {
  test('session mode with named prepared statements by default', () => {
    expect(loadConfig({}).database).toMatchObject({
      poolMode: 'session',
      preparedStatements: true,
    });
  });

  cases(
    'prepared statements follow the pool mode unless set',
    // DATABASE_POOL_MODE, DATABASE_PREPARED_STATEMENTS, then what the configuration says.
    [
      ['transaction', undefined, 'transaction', false],
      ['transaction', '', 'transaction', false],
      ['transaction', 'on', 'transaction', true],
      ['session', 'off', 'session', false],
      [undefined, 'off', 'session', false],
      [undefined, 'on', 'session', true],
    ] as const,
    ([mode, prepared, poolMode, preparedStatements]) => {
      const env = { DATABASE_POOL_MODE: mode, DATABASE_PREPARED_STATEMENTS: prepared };
      expect(loadConfig(env).database).toMatchObject({ poolMode, preparedStatements });
    },
  );

  cases(
    'refuses other values, naming the allowed ones',
    [
      ['DATABASE_POOL_MODE', 'statement', 'session, transaction'],
      ['DATABASE_POOL_MODE', 'Transaction', 'session, transaction'],
      ['DATABASE_PREPARED_STATEMENTS', 'true', 'on, off'],
      ['DATABASE_PREPARED_STATEMENTS', 'ON', 'on, off'],
    ] as const,
    ([name, value, allowed]) => {
      expect(configError({ [name]: value }).message).toBe(
        `invalid configuration:\n  ${name} must be one of ${allowed} (got ${JSON.stringify(value)})`,
      );
    },
  );
});

describe('loadConfig sign-in limits', () => {
  test('default to 10 failures per username and 100 per address in 15 minutes, 32 hashes queued', () => {
    expect(loadConfig({}).shop).toMatchObject({
      signInFailuresPerUser: 10,
      signInFailuresPerAddress: 100,
      signInWindowSeconds: 900,
      passwordHashQueueMax: 32,
    });
  });

  test('take the limits as set', () => {
    const { shop } = loadConfig({
      SHOP_SIGN_IN_FAILURES_PER_USER: '3',
      SHOP_SIGN_IN_FAILURES_PER_ADDRESS: '1000',
      SHOP_SIGN_IN_WINDOW_SECONDS: '60',
      PASSWORD_HASH_QUEUE_MAX: '0',
    });
    expect(shop).toMatchObject({
      signInFailuresPerUser: 3,
      signInFailuresPerAddress: 1000,
      signInWindowSeconds: 60,
      passwordHashQueueMax: 0,
    });
  });

  cases(
    'rejects',
    [
      ['SHOP_SIGN_IN_FAILURES_PER_USER', '0'],
      ['SHOP_SIGN_IN_FAILURES_PER_USER', 'ten'],
      ['SHOP_SIGN_IN_FAILURES_PER_ADDRESS', '0'],
      ['SHOP_SIGN_IN_FAILURES_PER_ADDRESS', '1000001'],
      ['SHOP_SIGN_IN_WINDOW_SECONDS', '0'],
      ['SHOP_SIGN_IN_WINDOW_SECONDS', '86401'],
      ['PASSWORD_HASH_QUEUE_MAX', '-1'],
      ['PASSWORD_HASH_QUEUE_MAX', '100001'],
    ] as const,
    ([name, value]) => {
      expect(configError({ [name]: value }).message).toMatch(
        new RegExp(`^invalid configuration:\\n  ${name} `),
      );
    },
  );
});

describe('.env.example', () => {
  const text = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
  const entries = text
    .split('\n')
    .map((line) => /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim()))
    .filter((match) => match !== null)
    .map((match): [string, string] => [match[1] ?? '', match[2] ?? '']);
  const defaults = new Map(
    Object.entries(EnvSchema.properties).map(([name, schema]) => [
      name,
      Reflect.get(schema, 'default') as unknown,
    ]),
  );

  test('lists each variable of the schema exactly once, and nothing else', () => {
    const names = entries.map(([name]) => name);
    expect(new Set(names).size).toBe(names.length);
    expect([...names].sort()).toEqual([...defaults.keys()].sort());
  });

  test('writes the schema default of each variable, or nothing when it has none', () => {
    for (const [name, value] of entries) {
      const schemaDefault = defaults.get(name);
      expect({ name, value }).toEqual({
        name,
        value: schemaDefault === undefined ? '' : String(schemaDefault),
      });
    }
  });

  test('yields the default configuration when loaded as an environment', () => {
    expect(loadConfig(Object.fromEntries(entries))).toEqual(loadConfig({}));
  });
});

describe('loadConfig error messages keep secrets out', () => {
  test('a bad Redis URL is shown without its password', () => {
    const { message } = configError({ REDIS_URL: 'http://user:s3cret@example.test:6379' });
    expect(message).toContain('REDIS_URL');
    expect(message).not.toContain('s3cret');
    expect(message).toContain('http://user:***@example.test:6379');
  });

  test('a value that is not a URL is not shown at all', () => {
    const { message } = configError({ REDIS_URL: 'pa$$word-only' });
    expect(message).not.toContain('pa$$word-only');
  });
});
