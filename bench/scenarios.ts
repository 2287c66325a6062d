// Owns the scenarios: what each one sends, the state of the world it needs (the fault proxy's
// mode), and what a correct answer looks like, so that a load never measures an error by accident.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import type { FaultProxy } from '../tooling/fault-proxy.ts';
import { HarnessError } from './processes.ts';
import type { ShopFixture } from './shop.ts';
import type { WalletFixture } from './wallets.ts';

// The client side of the contract, written from the spec rather than imported from src/, so that
// the bench authenticates exactly as an outside client would.
const SALT = 'Otus';
const ADMIN_SALT = '42';
const ACCOUNT = 'horns&hoofs';
const LOGIN = 'h&f';

/** Every argument filled in: the maximum score, 5, computed from all six inputs. */
const FULL_ARGUMENTS = {
  phone: '79175002040',
  email: 'stupnikov@otus.ru',
  first_name: 'Stanislav',
  last_name: 'Stupnikov',
  birthday: '01.01.1990',
  gender: 1,
} as const;
const FULL_SCORE = 5;
const ADMIN_SCORE = 42;

const INTEREST_NAMES = ['books', 'hi-tech', 'pets', 'tv', 'travel', 'music', 'sport', 'cars'];
export const SEEDED_CLIENT_IDS = Array.from({ length: 10 }, (_, i) => i + 1);
/** What the bench writes under `<prefix>i:<id>` and expects clients_interests to return. */
export const SEEDED_INTERESTS: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  SEEDED_CLIENT_IDS.map((id) => [
    String(id),
    [
      INTEREST_NAMES[id % INTEREST_NAMES.length] ?? 'books',
      INTEREST_NAMES[(id + 3) % INTEREST_NAMES.length] ?? 'tv',
    ],
  ]),
);

export type ServerName =
  | 'hello'
  | 'service'
  | 'proxied'
  | 'shop'
  | 'wallets'
  // Scale-out (bench/scale.ts): processes behind HAProxy, and one through PgBouncer.
  | 'balanced'
  | 'pooled';

export interface BenchContext {
  /** Base URLs, http://127.0.0.1:<port>, of the servers this bench started (--only skips some). */
  readonly urls: Readonly<Partial<Record<ServerName, string>>>;
  /** Sits between the `proxied` service and Redis. */
  readonly proxy: FaultProxy;
  /** How long one measurement (warm-up and load) lasts, for scenarios that depend on the clock. */
  readonly windowMs: number;
  /** How long the proxied service may take to find its cache and store again. */
  readonly recoveryTimeoutMs: number;
  readonly log: (line: string) => void;
  /** The seeded shop users and their tokens; null when no shop scenario runs. */
  readonly shop: ShopFixture | null;
  /** The seeded wallets; null when no wallet scenario runs. */
  readonly wallets: WalletFixture | null;
}

/** One whole request; a JSON body is sent with its content type. */
export interface RequestSpec {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface RequestPlan extends RequestSpec {
  /** A fresh body for every request, for scenarios that must not be served from the cache. */
  readonly nextBody?: () => string;
  /**
   * A fresh request for every request (method, path, headers and body), for scenarios whose
   * requests differ in more than the body: another user's token, another endpoint.
   */
  readonly next?: () => RequestSpec;
}

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
  readonly ms: number;
}

/** What a scenario found out for itself about one measured load, beyond autocannon's counts. */
export interface LoadReport {
  /** One line for the report, e.g. the balances checked and the mean batch size. */
  readonly summary: string;
  /** What was wrong (e.g. a balance that does not add up); any one fails the scenario's target. */
  readonly problems: readonly string[];
  /** The figures behind the summary, for the raw results. */
  readonly figures: Readonly<Record<string, number | string>>;
}

/** What the measured load did, as autocannon counted it, for a scenario's own report. */
export interface LoadCounts {
  readonly statusCodes: Readonly<Record<string, number>>;
  /**
   * The most requests in flight at once: when autocannon stops, that many may still be applied
   * by the service without being counted.
   */
  readonly connections: number;
}

export interface Scenario {
  readonly name: string;
  readonly server: ServerName;
  readonly description: string;
  /** Puts the world in the state this scenario measures. */
  readonly prepare?: (ctx: BenchContext) => Promise<void>;
  /** Called after prepare, so that a token can depend on the clock. */
  readonly plan: (ctx: BenchContext) => RequestPlan;
  /** What is wrong with one answer, or null when it is the answer this scenario expects. */
  readonly check: (answer: Answer) => string | null;
  /** What every cache read during the load should be, per the service's own counters. */
  readonly cacheReads?: 'hit' | 'miss';
  /**
   * Connections for this scenario instead of --connections. Latency targets use a few: at
   * saturation a request's latency is mostly its wait in the queue (connections / throughput).
   * (autocannon's --rate is no substitute: it sends each second's quota in a burst.)
   */
  readonly connections?: number;
  /**
   * Called just before the measured load (after the warm-up); the function it returns is called
   * just after, so that a scenario can compare the service's and the database's state across it.
   */
  readonly observe?: (ctx: BenchContext) => Promise<(load: LoadCounts) => Promise<LoadReport>>;
}

/** Connections of the latency scenarios: enough to keep both cores busy, too few to queue. */
export const LATENCY_CONNECTIONS = 4;

function sha512Hex(text: string): string {
  return createHash('sha512').update(text, 'utf8').digest('hex');
}

/** YYYYMMDDHH on the local clock; the service runs on this machine, in this time zone. */
function hourStamp(now: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}${pad(now.getHours())}`;
}

function envelope(method: string, args: object, login = LOGIN): string {
  const token =
    login === 'admin'
      ? sha512Hex(hourStamp(new Date()) + ADMIN_SALT)
      : sha512Hex(ACCOUNT + login + SALT);
  return JSON.stringify({ account: ACCOUNT, login, token, method, arguments: args });
}

const RECOVERY_POLL_MS = 200;

const post = (body: string): RequestPlan => ({ method: 'POST', path: '/method', body });

const built = new Map<string, number>();
/** Bodies that differ in first_name, so that each has its own cache key. */
function distinctScoreBodies(tag: string): () => string {
  const token = sha512Hex(ACCOUNT + LOGIN + SALT);
  return () => {
    const n = (built.get(tag) ?? 0) + 1;
    built.set(tag, n);
    const args = { ...FULL_ARGUMENTS, first_name: `${tag}-${n}` };
    return JSON.stringify({
      account: ACCOUNT,
      login: LOGIN,
      token,
      method: 'online_score',
      arguments: args,
    });
  };
}

const interestsBody = () =>
  envelope('clients_interests', { client_ids: SEEDED_CLIENT_IDS, date: '19.07.2017' });

/** The base URL of a server the bench started, or a harness error naming it. */
export function urlOf(ctx: BenchContext, server: ServerName): string {
  const url = ctx.urls[server];
  if (url === undefined) throw new HarnessError(`the ${server} server is not running`);
  return url;
}

/** Sends one request of the plan and reads the whole answer. */
export async function send(
  baseUrl: string,
  plan: RequestPlan,
  timeoutMs = 10_000,
): Promise<Answer> {
  const startedAt = performance.now();
  const request: RequestSpec = plan.next
    ? plan.next()
    : { ...plan, body: plan.nextBody ? plan.nextBody() : plan.body };
  const body = request.body;
  const response = await fetch(baseUrl + request.path, {
    method: request.method,
    headers: {
      ...request.headers,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // kept as text: the check will say it is not the expected JSON
  }
  return {
    status: response.status,
    headers: response.headers,
    body: parsed,
    ms: performance.now() - startedAt,
  };
}

const METRICS_TIMEOUT_MS = 5_000;

/** The service's /metrics, in Prometheus' text format. */
export async function serviceMetrics(baseUrl: string): Promise<string> {
  const answer = await send(baseUrl, { method: 'GET', path: '/metrics' }, METRICS_TIMEOUT_MS);
  if (answer.status !== 200 || typeof answer.body !== 'string') {
    throw new HarnessError(`GET ${baseUrl}/metrics: ${describe(answer)}`);
  }
  return answer.body;
}

/**
 * The service's scoring_store_operations_total counters from /metrics, keyed "role op outcome"
 * (e.g. "cache get hit"), so that a scenario can be checked to have measured what it claims.
 */
export async function storeOperations(baseUrl: string): Promise<Record<string, number>> {
  const metrics = await serviceMetrics(baseUrl);
  const counters: Record<string, number> = {};
  for (const [, labels = '', value] of metrics.matchAll(
    /^scoring_store_operations_total\{([^}]*)\} (\S+)$/gm,
  )) {
    const label = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(labels)?.[1] ?? '?';
    counters[`${label('role')} ${label('op')} ${label('outcome')}`] = Number(value);
  }
  return counters;
}

/** An answer as an error message quotes it: status and the start of the body. */
export function describe(answer: Answer): string {
  return `HTTP ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`;
}

function expectScore(expected: number): (answer: Answer) => string | null {
  return (answer) =>
    isDeepStrictEqual(answer.body, { code: 200, response: { score: expected } }) &&
    answer.status === 200
      ? null
      : `expected 200 with score ${expected}, got ${describe(answer)}`;
}

function expectInterests(answer: Answer): string | null {
  return answer.status === 200 &&
    isDeepStrictEqual(answer.body, { code: 200, response: SEEDED_INTERESTS })
    ? null
    : `expected 200 with the seeded interests, got ${describe(answer)}`;
}

function expectStoreUnavailable(answer: Answer): string | null {
  const body = answer.body as { code?: unknown; error?: unknown } | null;
  const ok =
    answer.status === 503 &&
    body?.code === 503 &&
    typeof body.error === 'string' &&
    /unavailable/i.test(body.error) &&
    answer.headers.get('retry-after') !== null;
  return ok ? null : `expected 503 "store unavailable" with Retry-After, got ${describe(answer)}`;
}

/**
 * Brings the proxied service back to normal: the proxy passes traffic, the cache breaker has
 * closed again (it only probes on requests, after a cooldown of up to
 * SCORING_CACHE_BREAKER_COOLDOWN_MAX_MS), and both links hold a live connection through the proxy.
 */
async function restoreProxied(ctx: BenchContext): Promise<void> {
  const { proxy } = ctx;
  const urls = { proxied: urlOf(ctx, 'proxied') };
  proxy.set('pass').delay(0);
  const warmBodies = distinctScoreBodies('restore');
  const deadline = Date.now() + ctx.recoveryTimeoutMs;
  const attempts = Math.ceil(ctx.recoveryTimeoutMs / RECOVERY_POLL_MS);
  let recovered = false;
  let last = '';
  for (let i = 0; i < attempts && !recovered && Date.now() < deadline; i++) {
    if (i > 0) await sleep(RECOVERY_POLL_MS);
    // A score request gives the cache breaker its chance to probe; /readyz pings the store.
    await send(urls.proxied, { method: 'POST', path: '/method', nextBody: warmBodies }, 2_000);
    const ready = await send(urls.proxied, { method: 'GET', path: '/readyz' }, 2_000);
    const checks = (ready.body as { checks?: { scoring?: Record<string, string> } }).checks;
    recovered = ready.status === 200 && checks?.scoring?.cache === 'up';
    last = describe(ready);
  }
  if (!recovered) {
    throw new HarnessError(
      `proxied service did not recover within ${ctx.recoveryTimeoutMs} ms: ${last}`,
    );
  }
  for (let i = 0; i < 5; i++) {
    const problem = expectScore(FULL_SCORE)(
      await send(urls.proxied, { method: 'POST', path: '/method', nextBody: warmBodies }),
    );
    if (problem) throw new HarnessError(`proxied service, after recovery: ${problem}`);
  }
  const interests = expectInterests(await send(urls.proxied, post(interestsBody())));
  if (interests) throw new HarnessError(`proxied service, after recovery: ${interests}`);
  // One connection for the cache and one for the store: both must be live before the blackhole.
  if (proxy.liveConnections < 2) {
    throw new HarnessError(
      `expected 2 live Redis connections through the proxy, saw ${proxy.liveConnections}`,
    );
  }
}

/** Waits for the next hour if this one ends before the measurement would: the token would change. */
async function sameHourThroughout(ctx: BenchContext): Promise<void> {
  const now = new Date();
  const nextHour = new Date(now);
  nextHour.setMinutes(60, 0, 0);
  const left = nextHour.getTime() - now.getTime();
  const needed = ctx.windowMs + 5_000;
  if (left > needed) return;
  ctx.log(`score-admin: waiting ${Math.ceil(left / 1000)} s for the hour to turn`);
  await sleep(left + 500);
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'hello',
    server: 'hello',
    description: 'GET / on a Fastify hello-world: the baseline',
    plan: () => ({ method: 'GET', path: '/' }),
    check: (answer) =>
      answer.status === 200 && isDeepStrictEqual(answer.body, { hello: 'world' })
        ? null
        : `expected {"hello":"world"}, got ${describe(answer)}`,
  },
  {
    name: 'score-hit',
    server: 'service',
    description: 'online_score, one body: every request after the first is a cache hit',
    plan: () => post(envelope('online_score', FULL_ARGUMENTS)),
    check: expectScore(FULL_SCORE),
    cacheReads: 'hit',
  },
  {
    name: 'score-miss',
    server: 'service',
    description: 'online_score, a new first_name each time: every request misses and writes',
    plan: () => ({ method: 'POST', path: '/method', nextBody: distinctScoreBodies('miss') }),
    check: expectScore(FULL_SCORE),
    cacheReads: 'miss',
  },
  {
    name: 'score-admin',
    server: 'service',
    description: 'online_score as admin: validation only, no cache',
    prepare: async (ctx) => sameHourThroughout(ctx),
    plan: () => post(envelope('online_score', FULL_ARGUMENTS, 'admin')),
    check: expectScore(ADMIN_SCORE),
  },
  {
    name: 'interests-10',
    server: 'service',
    description: 'clients_interests for 10 ids: one MGET',
    plan: () => post(interestsBody()),
    check: expectInterests,
  },
  {
    name: 'score-miss-latency',
    server: 'service',
    description: `online_score, distinct bodies, ${LATENCY_CONNECTIONS} connections: the healthy twin of score-blackholed`,
    plan: () => ({ method: 'POST', path: '/method', nextBody: distinctScoreBodies('latency') }),
    check: expectScore(FULL_SCORE),
    cacheReads: 'miss',
    connections: LATENCY_CONNECTIONS,
  },
  {
    name: 'score-blackholed',
    server: 'proxied',
    connections: LATENCY_CONNECTIONS,
    description: `online_score, distinct bodies, ${LATENCY_CONNECTIONS} connections, with live Redis connections that stop answering`,
    // The sanity request is the first to wait for the cache (its timeout opens the breaker); its
    // time is reported as the first answer, the load measures what follows.
    prepare: async (ctx) => {
      await restoreProxied(ctx);
      ctx.proxy.set('blackhole');
    },
    plan: () => ({ method: 'POST', path: '/method', nextBody: distinctScoreBodies('blackholed') }),
    check: expectScore(FULL_SCORE),
  },
  {
    name: 'interests-down',
    server: 'proxied',
    description: 'clients_interests while Redis refuses connections',
    // 'refuse' only turns away new connections; cutting the live ones makes every attempt one.
    prepare: async ({ proxy }) => {
      proxy.set('refuse').cutAll();
    },
    plan: () => post(interestsBody()),
    check: expectStoreUnavailable,
  },
  {
    name: 'interests-blackholed',
    server: 'proxied',
    description: 'clients_interests while new Redis connections are accepted and never answered',
    // Cut first, so that the scenario does not depend on the state the previous one left.
    prepare: async ({ proxy }) => {
      proxy.set('blackhole').cutAll();
    },
    plan: () => post(interestsBody()),
    check: expectStoreUnavailable,
  },
];

/** How many distinct bodies each tag built, to compare with the cache keys the service wrote. */
export function distinctBodiesBuilt(): Readonly<Record<string, number>> {
  return Object.fromEntries(built);
}
