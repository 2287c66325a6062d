// Owns the wiring: builds the Fastify app from a configuration, platform first, then each feature,
// in one readable place. It never listens; src/main.ts does.
import Fastify, { type FastifyInstance, type FastifyReply, LogController } from 'fastify';
import type { DestinationStream } from 'pino';
import type { Registry } from 'prom-client';
import pkg from '../package.json' with { type: 'json' };
import { consoleRoutes } from './features/console/console.routes.ts';
import { embeddedInterests } from './features/scoring/scoring.interests.ts';
import { scoringErrorSchema, scoringSchemas } from './features/scoring/scoring.openapi.ts';
import { renderEnvelope, scoringRoutes } from './features/scoring/scoring.routes.ts';
import { createScoringService } from './features/scoring/scoring.service.ts';
import { createRedisStore } from './features/scoring/scoring.store.redis.ts';
import { createMemoryStore, type ScoringStore } from './features/scoring/scoring.store.ts';
import { createShopAuth, VerifiedPasswords } from './features/shop/shop.auth.ts';
import { ITEMS } from './features/shop/shop.catalog.ts';
import { shopSchemas } from './features/shop/shop.openapi.ts';
import { renderShopErrors, shopRoutes } from './features/shop/shop.routes.ts';
import { createShopService } from './features/shop/shop.service.ts';
import { createSessions } from './features/shop/shop.sessions.ts';
import { SignInLimits } from './features/shop/shop.sign-in-limits.ts';
import { walletSchemas } from './features/wallets/wallet.openapi.ts';
import { walletRoutes, walletUrlFailure } from './features/wallets/wallet.routes.ts';
import { createWalletService, idempotencyLeaseSeconds } from './features/wallets/wallet.service.ts';
import type { Config } from './platform/config.ts';
import { createDatabase, type Database } from './platform/database.ts';
import { DOCS_PREFIX, installDocs, ref } from './platform/docs.ts';
import { healthSchemas, installHealth } from './platform/health.ts';
import { limitConnections, serverTimeouts } from './platform/http/connections.ts';
import { installCors } from './platform/http/cors.ts';
import { errorHandler, type HttpFailure, reasonPhrase } from './platform/http/errors.ts';
import { installMethodNotAllowed } from './platform/http/methods.ts';
import { requestIdFrom } from './platform/http/request-id.ts';
import { installSecurityHeaders } from './platform/http/security-headers.ts';
import {
  createMetricsRegistry,
  installObservability,
  metricsRoutes,
} from './platform/observability.ts';
import { PasswordHashing } from './platform/passwords.ts';
import { createTokens, developmentSecret } from './platform/tokens.ts';

/** Largest request body any route accepts unless it sets a smaller limit. */
export const HTTP_BODY_LIMIT_BYTES = 1024 * 1024;
/** Longest path parameter the router matches. */
export const ROUTE_PARAM_LENGTH_MAX = 1024;

export interface AppOverrides {
  /** The clock for tokens and birthdays. */
  readonly now?: () => Date;
  readonly scoringStore?: ScoringStore;
  /** A database owned (migrated and closed) by the caller. */
  readonly database?: Database;
  /** Where log lines go (tests read them); stdout by default. */
  readonly logStream?: DestinationStream;
}

export async function buildApp(
  config: Config,
  overrides: AppOverrides = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    logger: overrides.logStream
      ? { level: config.log.level, stream: overrides.logStream }
      : { level: config.log.level },
    genReqId: requestIdFrom,
    // One line per request is written by observability.ts, with the route and duration.
    logController: new LogController({
      requestIdLogLabel: 'requestId',
      disableRequestLogging: true,
    }),
    // Path parameters are matched by plain segments (no regular expressions), so a long one is
    // harmless and gets its feature's own 400 instead of the router's bodiless 414.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: ROUTE_PARAM_LENGTH_MAX },
    // A URL the router cannot decode is answered in the envelope of the API it was meant for.
    frameworkErrors: (error, request, reply: FastifyReply) => {
      request.log.info({ url: request.url, reason: error.message }, 'request rejected');
      if (request.url.startsWith(`${WALLETS_PREFIX}/`)) {
        // A wallet id the router cannot take (too long, or not decodable) is a malformed UUID.
        const { status, body } = walletUrlFailure(request.url.slice(WALLETS_PREFIX.length));
        return reply.code(status).send(body);
      }
      const failure = { status: 400, message: error.message, headers: {} };
      return reply.code(400).send(renderFor(request.url)(failure));
    },
    bodyLimit: HTTP_BODY_LIMIT_BYTES,
    // request.ip: X-Forwarded-For's nearest untrusted hop when the peer is a trusted proxy.
    ...(config.http.trustedProxies.length > 0
      ? { trustProxy: [...config.http.trustedProxies] }
      : {}),
    requestTimeout: config.http.requestTimeoutMs,
    // So that it bounds the whole request, body included, and fires on time (connections.ts).
    http: serverTimeouts(config.http.requestTimeoutMs),
    // health.ts refuses requests during close in each API's own envelope.
    return503OnClosing: false,
  });
  const registry = createMetricsRegistry();
  installObservability(app, registry);
  limitConnections(app.server, config.http.connectionsMax, app.log, registry);
  // Before the 405s: an allowed origin's preflight is answered 204 whatever the path's methods.
  installCors(app, config.http.corsOrigins);
  // The scoring and wallet contracts, and the platform's routes, answer any other method on
  // their paths with 405 and Allow; the shop's contract knows no 405, so its paths keep their
  // 400 and only gain Allow; other paths keep their 404.
  const methods = installMethodNotAllowed(app);
  installSecurityHeaders(app, { pagesUnder: [DOCS_PREFIX] });
  await installDocs(app, pkg.version, [
    ...scoringSchemas,
    ...shopSchemas,
    ...walletSchemas,
    ...healthSchemas,
  ]);

  // Paths no feature owns answer in the scoring envelope, as the scoring contract asks.
  app.setErrorHandler(errorHandler(renderEnvelope));
  app.setNotFoundHandler((request, reply) => {
    request.log.info({ url: request.url }, 'no such route');
    return reply
      .code(404)
      .send(renderEnvelope({ status: 404, message: reasonPhrase(404), headers: {} }));
  });

  const store = overrides.scoringStore ?? scoringStoreFor(config, registry, app);
  app.addHook('onReady', () => store.start());
  app.addHook('onClose', () => store.close());
  const database = overrides.database ?? ownDatabase(config, registry, app);
  const health = installHealth(app, [
    {
      name: 'database',
      async check() {
        return { [database.kind]: { up: await database.ping(), required: true } };
      },
    },
    {
      name: 'scoring',
      async check() {
        const health = await store.health();
        return {
          store: { up: health.store === 'up', required: true },
          cache: { up: health.cache === 'up', required: false },
        };
      },
    },
  ]);
  // The platform's routes fail in the scoring envelope, as every path no feature owns does.
  const platform = { failure: ref(scoringErrorSchema) };
  await app.register(methods.covering(health), platform);
  await app.register(methods.covering(metricsRoutes), { ...platform, registry });

  const scoring = createScoringService({
    store,
    now: overrides.now ?? (() => new Date()),
    salt: config.scoring.salt,
    adminSalt: config.scoring.adminSalt,
    cacheTtlSeconds: config.scoring.cacheTtlSeconds,
    log: app.log,
  });
  await app.register(methods.covering(scoringRoutes), { service: scoring });

  const tokens = createTokens({
    secret: config.shop.jwtSecret ?? developmentSecret(config.dataDir),
    ttlSeconds: config.shop.tokenTtlSeconds,
  });
  const verified = new VerifiedPasswords(
    config.shop.authCacheTtlSeconds * 1000,
    config.shop.authCacheEntriesMax,
  );
  // Each feature's writes hold at most all the write slots but one: stuck shop writes cannot
  // starve the wallets, nor the other way round (featureWriteSlotsOf in database.ts).
  const shopDatabase = database.forFeature('shop');
  const shop = createShopService({
    database: shopDatabase,
    idempotencyTtlSeconds: config.shop.idempotencyTtlSeconds,
    registry,
  });
  scheduleSweeps(app, 'expired shop idempotency keys', shop.sweepIdempotencyKeys);
  const sessions = createSessions({
    database: shopDatabase,
    ttlSeconds: config.shop.sessionTtlSeconds,
  });
  scheduleSweeps(app, 'expired browser sessions', sessions.sweep);
  const shopAuth = createShopAuth({
    database: shopDatabase,
    tokens,
    verified,
    sessions,
    hashing: new PasswordHashing({ queueMax: config.shop.passwordHashQueueMax, registry }),
    limits: new SignInLimits({
      failuresPerUser: config.shop.signInFailuresPerUser,
      failuresPerAddress: config.shop.signInFailuresPerAddress,
      windowSeconds: config.shop.signInWindowSeconds,
      registry,
    }),
  });
  scheduleSweeps(app, 'ended sign-in failure windows', shopAuth.sweepSignInFailures);
  await app.register(methods.covering(shopRoutes, 'not-found-with-allow'), {
    prefix: '/api',
    auth: shopAuth,
    service: shop,
    sessions,
    sessionTtlSeconds: config.shop.sessionTtlSeconds,
  });

  const wallets = createWalletService({
    database: database.forFeature('wallets'),
    ...config.wallets,
    idempotencyLeaseSeconds: idempotencyLeaseSeconds(config.database),
    registry,
  });
  scheduleSweeps(app, 'expired wallet idempotency keys', wallets.sweepIdempotencyKeys);
  await app.register(methods.covering(walletRoutes), { prefix: WALLETS_PREFIX, service: wallets });
  await app.register(consoleRoutes, { priceList: ITEMS });
  return app;
}

const WALLETS_PREFIX = '/api/v1';

/** The error body of the API a URL belongs to. */
function renderFor(url: string): (failure: HttpFailure) => unknown {
  return url.startsWith('/api/') ? renderShopErrors : renderEnvelope;
}

/** How often expired Idempotency-Keys and sessions are deleted (and once at start-up). */
const SWEEP_INTERVAL_MS = 60 * 60 * 1000;

function scheduleSweeps(app: FastifyInstance, what: string, sweep: () => Promise<number>): void {
  const run = () =>
    sweep().then(
      (deleted) => app.log.info({ deleted }, `${what} deleted`),
      (err) => app.log.warn({ err }, `deleting ${what} failed`),
    );
  let timer: NodeJS.Timeout | undefined;
  app.addHook('onReady', () => {
    void run();
    timer = setInterval(run, SWEEP_INTERVAL_MS).unref();
  });
  app.addHook('onClose', () => clearInterval(timer));
}

function ownDatabase(config: Config, registry: Registry, app: FastifyInstance): Database {
  const log = app.log.child({ component: 'database' });
  const database = createDatabase({ ...config.database, dataDir: config.dataDir, registry, log });
  app.log.info(
    { kind: database.kind },
    database.kind === 'postgres'
      ? 'database: PostgreSQL'
      : 'database: embedded PGlite (set DATABASE_URL to use PostgreSQL)',
  );
  app.addHook('onReady', async () => {
    await database.migrate();
    log.info('migrations applied');
  });
  app.addHook('onClose', () => database.close());
  return database;
}

function scoringStoreFor(config: Config, registry: Registry, app: FastifyInstance): ScoringStore {
  const { scoring } = config;
  if (scoring.cacheUrl !== null && scoring.storeUrl !== null) {
    const deployment = (target: typeof scoring.storeUrl) =>
      typeof target === 'string' ? 'server' : (target?.kind ?? 'server');
    app.log.info(
      { kind: 'redis', cache: deployment(scoring.cacheUrl), store: deployment(scoring.storeUrl) },
      'scoring store: Redis',
    );
    return createRedisStore({
      ...scoring,
      cacheUrl: scoring.cacheUrl,
      storeUrl: scoring.storeUrl,
      connectTimeoutMs: scoring.redisConnectTimeoutMs,
      registry,
      log: app.log.child({ component: 'scoring-store' }),
    });
  }
  const { demo, imported, entries } = embeddedInterests(config.dataDir);
  app.log.info(
    { kind: 'memory', demo, imported },
    'scoring store: in-process (embedded mode; set REDIS_URL to use Redis)',
  );
  return createMemoryStore(entries);
}
