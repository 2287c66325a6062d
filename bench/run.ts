// Owns the benchmark run: starts the servers and the fault proxy, seeds Redis and the bench
// database (shop users, wallets), drives every scenario with autocannon for several runs, runs the shop's fixed-rate SLI,
// and reports medians, ratios to hello-world and targets: as text on stdout, and as the raw JSON
// and a self-contained HTML report under bench/results/, with a progress line on stderr meanwhile.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { FaultProxy } from '../tooling/fault-proxy.ts';
import { cpuShares, cpuSnapshot } from './cpu.ts';
import {
  ADMIN_DATABASE_URL,
  BENCH_DATABASE,
  createBenchDatabase,
  dropBenchDatabase,
  shownUrl,
} from './database.ts';
import { walDevice } from './disk.ts';
import { HarnessError, REPO_ROOT, type ServerProcess, startServer } from './processes.ts';
import { type PlannedTask, Progress } from './progress.ts';
import { type BenchOptions, type BenchResults, renderHtmlReport } from './report-html.ts';
import {
  databaseCpuTable,
  databaseScenarios,
  formatMs,
  LOAD_REPORTS_CAPTION,
  type MeasuredLoad,
  type Row,
  resultsTable,
  textTable,
  type Verdict,
  verdictLabel,
} from './report-tables.ts';
import { renderScale, SCALE_SCENARIOS, scaleNeeds, startBalanced, startPooled } from './scale.ts';
import {
  type BenchContext,
  distinctBodiesBuilt,
  LATENCY_CONNECTIONS,
  type LoadReport,
  type RequestPlan,
  SCENARIOS,
  type Scenario,
  SEEDED_INTERESTS,
  type ServerName,
  send,
  storeOperations,
  urlOf,
} from './scenarios.ts';
import {
  AUTH_WARM_USERS,
  benchJwtSecret,
  COLD_AUTH_CONNECTIONS,
  coldLoginsUsed,
  SEED_USERS,
  SHOP_SCENARIOS,
  type ShopFixture,
  seedShop,
} from './shop.ts';
import {
  renderSli,
  runSli,
  SLI_NAME,
  SLI_P99_MAX_MS,
  type SliRun,
  sliVerdicts,
} from './shop-sli.ts';
import { median } from './stats.ts';
import {
  seedWallets,
  UNIFORM_WALLETS,
  WALLET_HOT_TARGET_OPS,
  WALLET_SCENARIOS,
  type WalletFixture,
} from './wallets.ts';

type NumericOption = 'duration' | 'runs' | 'connections' | 'warmup' | 'sliSeconds' | 'stepSeconds';

/** Flag, minimum, maximum and default of each numeric option. */
const OPTION_LIMITS: Readonly<Record<NumericOption, readonly [string, number, number, string]>> = {
  duration: ['duration', 1, 600, '10'],
  runs: ['runs', 1, 20, '3'],
  connections: ['connections', 1, 1_000, '50'],
  warmup: ['warmup', 0, 60, '2'],
  sliSeconds: ['sli-seconds', 0, 600, '60'],
  stepSeconds: ['step-seconds', 1, 60, '5'],
};

/** What a run without --only measures: all but scale-out, which needs HAProxy and PgBouncer. */
const DEFAULT_SCENARIOS: readonly Scenario[] = [
  ...SCENARIOS,
  ...SHOP_SCENARIOS,
  ...WALLET_SCENARIOS,
];
const ALL_SCENARIOS: readonly Scenario[] = [...DEFAULT_SCENARIOS, ...SCALE_SCENARIOS];
/** Names --only accepts besides the scenarios' own. */
const GROUPS: Readonly<Record<string, readonly string[]>> = {
  scoring: SCENARIOS.map((s) => s.name),
  shop: [...SHOP_SCENARIOS.map((s) => s.name), SLI_NAME],
  wallets: WALLET_SCENARIOS.map((s) => s.name),
  // Each mode with the direct single-process load it is compared with.
  scale: [...new Set(SCALE_SCENARIOS.flatMap((s) => [s.baseline, s.name]))],
};
const USAGE =
  'usage: npm run bench -- [--duration S] [--runs N] [--connections C] [--warmup S] ' +
  '[--sli-seconds S] [--step-seconds S] [--only scoring|shop|shop-sli|wallets|scale|<scenario>,...]';

const REDIS_URL = process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379';
// The service reads these too (the children inherit the environment), so the targets follow them.
const STORE_BUDGET_MS = Number(process.env.SCORING_STORE_BUDGET_MS || 1_000);
const CACHE_COOLDOWN_MAX_MS = Number(process.env.SCORING_CACHE_BREAKER_COOLDOWN_MAX_MS || 10_000);

const SERVER_START_TIMEOUT_MS = 15_000;
const SETTLE_MS = 500;
const SCORE_HIT_MIN_RATIO = 0.25;
const BLACKHOLED_P99_MAX_MS = 10;
const RESULTS_DIR = join(REPO_ROOT, 'bench', 'results');
/** The newest HTML report, overwritten by each invocation; each also keeps its own beside its JSON. */
const LATEST_REPORT = 'report.html';
/**
 * The SLI's planned length besides its steps: its warm-up at the first rate and the vacuums
 * around the search. A search's number of steps is not known before it ends: a typical one (six
 * rising steps and two bisections, in the README) is the plan until a run has shown it.
 */
const SLI_OVERHEAD_SECONDS = 5;
const SLI_PLANNED_STEPS = 8;
const SLI_STEP_SETTLE_SECONDS = 0.5;
/** The service remembers a verified login this long (its default); shop-auth must fit in it. */
const AUTH_CACHE_TTL_SECONDS = Number(process.env.SHOP_AUTH_CACHE_TTL_SECONDS || 60);
/** Warming shop-auth's users (about 2 s) and its sanity request come before the warm-up. */
const AUTH_WARM_MARGIN_SECONDS = 5;

interface Measurement extends MeasuredLoad {
  /** Set once the run's hello-world is measured. */
  ratioToHello: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly statusCodes: Readonly<Record<string, number>>;
  /** The sanity request before the load, which also pays for any state change (e.g. a timeout). */
  readonly firstAnswerMs: number;
  /** The 1-minute load average before the scenario: other work on the machine skews the numbers. */
  readonly loadAverage: number;
  /** The service's store and cache operations during the load, by "role op outcome". */
  readonly storeOperations: Readonly<Record<string, number>>;
  /** The scenario's own findings about the load (e.g. the wallets' balances), if it observes. */
  readonly report: LoadReport | null;
  readonly raw: autocannon.Result;
}

const state: {
  servers: ServerProcess[];
  proxy: FaultProxy | null;
  redis: Redis | null;
  prefix: string;
  loading: autocannon.Instance | null;
  cleaning: Promise<void> | null;
  cleaned: { deleted: number; scoreKeys: number } | null;
  /** Whether the bench database exists and must be dropped at the end. */
  database: boolean;
  databaseDropped: boolean;
  interrupted: boolean;
  /** Set while scenarios run: stderr lines then go through it, around its status line. */
  progress: Progress | null;
} = {
  servers: [],
  proxy: null,
  redis: null,
  prefix: `bench:${randomBytes(6).toString('hex')}:`,
  loading: null,
  cleaning: null,
  cleaned: null,
  database: false,
  databaseDropped: false,
  interrupted: false,
  progress: null,
};

const log = (line: string) => {
  if (state.progress) state.progress.log(line);
  else process.stderr.write(`${line}\n`);
};

function parseOptions(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      ...(Object.fromEntries(
        Object.values(OPTION_LIMITS).map(([flag, , , fallback]) => [
          flag,
          { type: 'string', default: fallback },
        ]),
      ) as Record<string, { type: 'string'; default: string }>),
      only: { type: 'string' },
    },
    strict: true,
  });
  const given = values as Record<string, string | undefined>;
  const read = (name: NumericOption): number => {
    const [flag, min, max] = OPTION_LIMITS[name];
    const value = Number(given[flag]);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new HarnessError(`--${flag} must be an integer from ${min} to ${max}`);
    }
    return value;
  };
  const only = typeof given.only === 'string' ? given.only.split(',').map((n) => n.trim()) : null;
  const known = new Set([...ALL_SCENARIOS.map((s) => s.name), ...Object.keys(GROUPS), SLI_NAME]);
  const unknown = only?.filter((name) => !known.has(name)) ?? [];
  if (unknown.length > 0) {
    throw new HarnessError(
      `--only: unknown ${unknown.join(', ')} (known: ${[...known].join(', ')})`,
    );
  }
  return {
    duration: read('duration'),
    runs: read('runs'),
    connections: read('connections'),
    warmup: read('warmup'),
    sliSeconds: read('sliSeconds'),
    stepSeconds: read('stepSeconds'),
    only,
  };
}

/** The scenarios --only asks for, with the hello baseline always first; and whether the SLI runs. */
function selection(options: BenchOptions): { scenarios: readonly Scenario[]; sli: boolean } {
  if (options.only === null) return { scenarios: DEFAULT_SCENARIOS, sli: true };
  const names = new Set(options.only.flatMap((name) => GROUPS[name] ?? [name]));
  names.add('hello');
  return { scenarios: ALL_SCENARIOS.filter((s) => names.has(s.name)), sli: names.has(SLI_NAME) };
}

async function connectRedis(url: string): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2_000,
    commandTimeout: 5_000,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new HarnessError(`Redis at ${url} is not reachable: ${String(err)}`);
  }
  return redis;
}

async function seedInterests(redis: Redis, prefix: string): Promise<void> {
  const entries = Object.entries(SEEDED_INTERESTS).flatMap(([id, interests]) => [
    `${prefix}i:${id}`,
    JSON.stringify(interests),
  ]);
  await redis.mset(...entries);
}

/** Deletes every key under the prefix; counts the score cache keys among them. */
async function deleteKeys(
  redis: Redis,
  prefix: string,
): Promise<{ deleted: number; scoreKeys: number }> {
  const deadline = Date.now() + 60_000;
  let cursor = '0';
  let deleted = 0;
  let scoreKeys = 0;
  // SCAN visits the whole keyspace, shared with the tests, a batch at a time; both bounds are
  // far above what a bench writes.
  for (let round = 0; round < 100_000 && Date.now() < deadline; round++) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1_000);
    const score = keys.filter((key) => key.startsWith(`${prefix}uid:`));
    const other = keys.filter((key) => !key.startsWith(`${prefix}uid:`));
    if (score.length > 0) scoreKeys += await redis.unlink(...score);
    if (other.length > 0) deleted += await redis.unlink(...other);
    cursor = next;
    if (cursor === '0') break;
  }
  return { deleted: deleted + scoreKeys, scoreKeys };
}

/** Stops everything the bench started; safe to call twice (an error and a SIGINT may race). */
function cleanup(): Promise<void> {
  state.cleaning ??= (async () => {
    state.loading?.stop();
    // Servers first, so that nothing writes under the prefix while it is being deleted.
    await Promise.allSettled(state.servers.map((server) => server.stop()));
    if (state.proxy) await Promise.race([state.proxy.close(), sleep(2_000)]);
    if (state.database) {
      try {
        await dropBenchDatabase();
        state.databaseDropped = true;
      } catch (err) {
        log(`could not drop the bench database ${BENCH_DATABASE}: ${String(err)}`);
      }
    }
    if (state.redis) {
      try {
        state.cleaned = await deleteKeys(state.redis, state.prefix);
      } catch (err) {
        log(`could not delete the bench keys under ${state.prefix}: ${String(err)}`);
      }
      await Promise.race([state.redis.quit().catch(() => undefined), sleep(1_000)]);
      state.redis.disconnect();
    }
  })();
  return state.cleaning;
}

function loadOnce(
  baseUrl: string,
  plan: RequestPlan,
  seconds: number,
  options: BenchOptions,
  connections = options.connections,
): Promise<autocannon.Result> {
  const timeoutS = Math.max(10, Math.ceil(STORE_BUDGET_MS / 1_000) + 5);
  const base: autocannon.Options = {
    url: baseUrl + plan.path,
    method: plan.method,
    connections,
    duration: seconds,
    timeout: timeoutS,
    headers: plan.method === 'POST' ? { 'content-type': 'application/json' } : {},
  };
  const next = plan.nextBody;
  const nextRequest = plan.next;
  const opts: autocannon.Options = nextRequest
    ? {
        ...base,
        requests: [
          {
            // A new headers object each time: autocannon writes Content-Length into it, and a
            // GET must not inherit the length of the POST before it.
            setupRequest: (request) => {
              const spec = nextRequest();
              const json = spec.body === undefined ? {} : { 'content-type': 'application/json' };
              return {
                ...request,
                method: spec.method,
                path: spec.path,
                headers: { ...spec.headers, ...json },
                body: spec.body ?? '',
              };
            },
          },
        ],
      }
    : next
      ? { ...base, requests: [{ setupRequest: (request) => ({ ...request, body: next() }) }] }
      : { ...base, body: plan.body };
  return new Promise((resolve, reject) => {
    // autocannon stops on its own after `duration`; this is the bound if it does not.
    const watchdog = setTimeout(
      () => {
        state.loading?.stop();
        reject(new HarnessError(`autocannon did not finish within ${seconds + timeoutS + 10} s`));
      },
      (seconds + timeoutS + 10) * 1_000,
    );
    state.loading = autocannon(opts, (err, result) => {
      clearTimeout(watchdog);
      state.loading = null;
      if (err) reject(err);
      else resolve(result);
    });
  });
}

async function measure(
  scenario: Scenario,
  ctx: BenchContext,
  servers: Readonly<Partial<Record<ServerName, ServerProcess>>>,
  options: BenchOptions,
  run: number,
): Promise<Measurement> {
  const loadAverage = loadavg()[0] ?? 0;
  await scenario.prepare?.(ctx);
  const plan = scenario.plan(ctx);
  const baseUrl = urlOf(ctx, scenario.server);
  const first = await send(baseUrl, plan);
  const problem = scenario.check(first);
  if (problem) throw new HarnessError(`${scenario.name}: sanity check failed: ${problem}`);
  if (options.warmup > 0)
    await loadOnce(baseUrl, plan, options.warmup, options, scenario.connections);
  const observed = await scenario.observe?.(ctx);
  const counted = scenario.server !== 'hello';
  const before = counted ? await storeOperations(baseUrl) : {};
  const server = servers[scenario.server];
  const cpuBefore = cpuSnapshot(server?.pids ?? [], BENCH_DATABASE);
  const result = await loadOnce(baseUrl, plan, options.duration, options, scenario.connections);
  const cpu = cpuShares(cpuBefore, cpuSnapshot(server?.pids ?? [], BENCH_DATABASE));
  const after = counted ? await storeOperations(baseUrl) : {};
  const operations: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) {
    const delta = value - (before[key] ?? 0);
    if (delta > 0) operations[key] = delta;
  }
  if (server && server.exitStatus !== null) {
    throw new HarnessError(
      `${server.name} died during ${scenario.name} (${server.exitStatus}):\n${server.output()}`,
    );
  }
  const statusCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) {
    statusCodes[code] = Number(stats.count ?? 0);
  }
  const connections = scenario.connections ?? options.connections;
  const report = observed ? await observed({ statusCodes, connections }) : null;
  return {
    run,
    scenario: scenario.name,
    rps: result.requests.average,
    ratioToHello: Number.NaN,
    latencyMs: {
      p50: result.latency.p50,
      p97_5: result.latency.p97_5,
      p99: result.latency.p99,
      p99_9: result.latency.p99_9,
      max: result.latency.max,
    },
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    firstAnswerMs: Math.round(first.ms * 10) / 10,
    loadAverage,
    storeOperations: operations,
    cpu,
    report,
    raw: result,
  };
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

const serverErrorsOf = (m: Measurement) =>
  sum(Object.entries(m.statusCodes).map(([code, n]) => (code.startsWith('5') ? n : 0)));

function summarise(measurements: readonly Measurement[]): Row[] {
  return ALL_SCENARIOS.map((scenario) => measurements.filter((m) => m.scenario === scenario.name))
    .filter((ms) => ms.length > 0)
    .map((ms) => ({
      scenario: ms[0]?.scenario ?? '',
      rps: median(ms.map((m) => m.rps)),
      ratio: median(ms.map((m) => m.ratioToHello)),
      p50: median(ms.map((m) => m.latencyMs.p50)),
      p99: median(ms.map((m) => m.latencyMs.p99)),
      p99_9: median(ms.map((m) => m.latencyMs.p99_9)),
      requests: sum(ms.map((m) => m.requests)),
      non2xx: sum(ms.map((m) => m.non2xx)),
      serverErrors: sum(ms.map(serverErrorsOf)),
      errors: sum(ms.map((m) => m.errors)),
    }));
}

/** The scenarios on the bench database, in the order they run: their CPU is shown per request. */
const DATABASE_SCENARIOS = databaseScenarios(ALL_SCENARIOS);

/**
 * Where the shop's and the wallets' time goes: the CPU the service and PostgreSQL spent per
 * answer, medians over runs (report-tables.ts); empty when none of them ran.
 */
function renderDatabaseCpu(measurements: readonly Measurement[]): string {
  const table = databaseCpuTable(measurements, DATABASE_SCENARIOS);
  return table.rows.length === 0 ? '' : textTable(table);
}

function judge(rows: readonly Row[], measurements: readonly Measurement[]): Verdict[] {
  const row = (name: string) => rows.find((r) => r.scenario === name);
  const of = (name: string) => measurements.filter((m) => m.scenario === name);
  const worstP99 = (name: string) => Math.max(...of(name).map((m) => m.latencyMs.p99));
  const count = (name: string, status: string) =>
    sum(of(name).map((m) => m.statusCodes[status] ?? 0));
  const verdicts: Verdict[] = [];

  const hit = row('score-hit');
  if (hit) {
    verdicts.push({
      target: `score-hit req/s >= ${SCORE_HIT_MIN_RATIO * 100} % of hello`,
      pass: hit.ratio >= SCORE_HIT_MIN_RATIO,
      detail: `median ratio ${(hit.ratio * 100).toFixed(1)} %`,
    });
  }
  const blackholed = row('score-blackholed');
  if (blackholed) {
    const ok = count('score-blackholed', '200');
    const total = blackholed.requests;
    verdicts.push({
      target: `score-blackholed p99 <= ${BLACKHOLED_P99_MAX_MS} ms, every answer 200`,
      pass: blackholed.p99 <= BLACKHOLED_P99_MAX_MS && ok === total && blackholed.errors === 0,
      detail: `median p99 ${formatMs(blackholed.p99)} ms (worst run ${formatMs(worstP99('score-blackholed'))} ms); ${ok}/${total} answered 200, ${blackholed.errors} errors`,
    });
  }
  for (const name of ['interests-down', 'interests-blackholed']) {
    const r = row(name);
    if (!r) continue;
    const unavailable = count(name, '503');
    verdicts.push({
      target: `${name} every answer 503, p99 < ${STORE_BUDGET_MS} ms (store budget)`,
      pass: unavailable === r.requests && r.errors === 0 && r.p99 < STORE_BUDGET_MS,
      detail: `median p99 ${formatMs(r.p99)} ms (worst run ${formatMs(worstP99(name))} ms); ${unavailable}/${r.requests} answered 503, ${r.errors} errors`,
    });
  }
  // Every answer of the shop's and the wallets' loads is a 200 (the seeds make sure of it).
  for (const prefix of ['shop-', 'wallet-']) {
    const ofPrefix = rows.filter((r) => r.scenario.startsWith(prefix));
    if (ofPrefix.length === 0) continue;
    const failing = ofPrefix.filter(
      (r) => r.non2xx > 0 || r.errors > 0 || count(r.scenario, '200') !== r.requests,
    );
    verdicts.push({
      target: `${prefix}* every answer 200, no errors`,
      pass: failing.length === 0,
      detail:
        failing.length === 0
          ? `${sum(ofPrefix.map((r) => r.requests)).toLocaleString('en-US')} answers, all 200`
          : failing
              .map((r) => {
                const seen = new Set(of(r.scenario).flatMap((m) => Object.keys(m.statusCodes)));
                const codes = [...seen]
                  .filter((code) => code !== '200')
                  .map((code) => `${code}: ${count(r.scenario, code)}`)
                  .join(', ');
                return `${r.scenario}: ${r.non2xx} non-2xx (${codes || 'none'}), ${r.errors} errors`;
              })
              .join('; '),
    });
  }
  const hot = row('wallet-hot');
  if (hot) {
    const perRun = of('wallet-hot')
      .map((m) => Math.round(m.rps).toLocaleString('en-US'))
      .join(', ');
    verdicts.push({
      target: `wallet-hot ≥ ${WALLET_HOT_TARGET_OPS.toLocaleString('en-US')} ops/s with zero 5xx`,
      pass: hot.rps >= WALLET_HOT_TARGET_OPS && hot.serverErrors === 0,
      detail:
        `median ${Math.round(hot.rps).toLocaleString('en-US')} ops/s (runs: ${perRun}); ` +
        `${hot.serverErrors} answers 5xx of ${hot.requests.toLocaleString('en-US')}`,
    });
  }
  const audited = measurements.filter((m) => m.scenario.startsWith('wallet-') && m.report);
  if (audited.length > 0) {
    const problems = audited.flatMap((m) =>
      (m.report?.problems ?? []).map((problem) => `run ${m.run} ${m.scenario}: ${problem}`),
    );
    verdicts.push({
      target:
        'wallet-* exact after every load: the hot wallet and the sum of all balances equal ' +
        'their seed + Σ deposits − Σ withdrawals in wallet_operations, every 200 recorded',
      pass: problems.length === 0,
      detail:
        problems.length === 0
          ? `${audited.length} loads checked in SQL on ${BENCH_DATABASE}`
          : problems.join('; '),
    });
  }
  return verdicts;
}

/** Context a reader needs to interpret the numbers, printed under the verdicts. */
function notes(
  rows: readonly Row[],
  measurements: readonly Measurement[],
  options: BenchOptions,
  fixtures: Fixtures,
): string[] {
  const found: string[] = [];
  const vacuumed = [
    ...(fixtures.shop?.autovacuumOff ? ['shop'] : []),
    ...(fixtures.wallets?.autovacuumOff ? ['wallet'] : []),
  ];
  if (vacuumed.length > 0) {
    const which = vacuumed.join(' and ');
    found.push(
      `PostgreSQL runs with autovacuum off: before each ${which} load the bench vacuumed and ` +
        `analyzed the ${which} tables past autovacuum's thresholds, as autovacuum would, so that ` +
        `no load pays for the dead rows or stale statistics of another.`,
    );
  }
  const ran = new Set(rows.map((r) => r.scenario));
  const few = SCENARIOS.filter((s) => s.connections !== undefined && ran.has(s.name)).map(
    (s) => s.name,
  );
  if (few.length > 0) {
    found.push(
      `${few.join(', ')} use ${LATENCY_CONNECTIONS} connections: their latencies are a request's ` +
        'own time rather than a queue, and their "vs hello" is not a capacity ratio.',
    );
  }
  const twin = rows.find((r) => r.scenario === 'score-miss-latency');
  const blackholed = rows.find((r) => r.scenario === 'score-blackholed');
  if (twin && blackholed && blackholed.p99 > BLACKHOLED_P99_MAX_MS) {
    found.push(
      `score-blackholed p99 ${formatMs(blackholed.p99)} ms against ${formatMs(twin.p99)} ms for ` +
        'the same load with a healthy cache (score-miss-latency): the machine was busy if both are high.',
    );
  }
  if (rows.some((r) => r.scenario.startsWith('wallet-'))) {
    found.push(
      `wallet-*: one hot wallet, or a random one of ${UNIFORM_WALLETS.toLocaleString('en-US')}, ` +
        'seeded with far more than any bench withdraws; each operation is one answer, so req/s ' +
        "is ops/s. The service sends a wallet's concurrent operations in one transaction (a batch).",
    );
  }
  const cold = rows.find((r) => r.scenario === 'shop-auth-cold');
  if (cold) {
    const used = coldLoginsUsed();
    found.push(
      `shop-auth-cold is the cost of a login the service has not verified before (a full scrypt): ` +
        `${Math.round(cold.rps)} logins/s on ${COLD_AUTH_CONNECTIONS} connections, p50 ` +
        `${formatMs(cold.p50)} ms, p99 ${formatMs(cold.p99)} ms; shop-auth cycles over ` +
        `${AUTH_WARM_USERS} users the service already remembers.` +
        (used.wrapped
          ? ' The never-logged-in users ran out: some cold logins were remembered.'
          : ''),
    );
  }
  if (ran.has('shop-auth')) {
    const window = options.warmup + options.duration;
    if (window + AUTH_WARM_MARGIN_SECONDS > AUTH_CACHE_TTL_SECONDS) {
      found.push(
        `shop-auth: warm-up and load (${window} s) may outlast the service's memory of a login ` +
          `(SHOP_AUTH_CACHE_TTL_SECONDS=${AUTH_CACHE_TTL_SECONDS}): late logins then pay scrypt again.`,
      );
    }
  }
  // The service's own counters say whether a scenario measured the path it is named after.
  for (const scenario of SCENARIOS.filter((s) => ran.has(s.name))) {
    const ofScenario = measurements.filter((m) => m.scenario === scenario.name);
    const total = (outcome: string) =>
      sum(ofScenario.map((m) => m.storeOperations[`cache get ${outcome}`] ?? 0));
    const reads = ['hit', 'miss', 'skipped', 'error'].map((o) => `${o} ${total(o)}`).join(', ');
    const expected = scenario.cacheReads;
    if (expected && ofScenario.length > 0 && !reads.match(/[1-9]/)) {
      found.push(`${scenario.name}: no cache reads in the service's /metrics; cannot verify`);
    }
    if (
      expected &&
      ['hit', 'miss', 'skipped', 'error'].some((o) => o !== expected && total(o) > 0)
    ) {
      found.push(`${scenario.name}: not every cache read was a ${expected} (${reads}; all runs)`);
    }
    const failed = sum(ofScenario.map((m) => m.storeOperations['cache set error'] ?? 0));
    if (scenario.server === 'service' && (total('error') > 0 || failed > 0)) {
      found.push(
        `${scenario.name}: ${total('error')} cache reads and ${failed} writes failed against the ` +
          'healthy Redis (a command over SCORING_CACHE_TIMEOUT_MS opens the breaker)',
      );
    }
  }
  return found;
}

function gitDescription(): { commit: string; dirty: boolean } | null {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', timeout: 5_000 }).trim();
    return { commit: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain') !== '' };
  } catch {
    return null;
  }
}

interface ResultFiles {
  readonly json: string;
  readonly html: string;
  readonly latest: string;
}

/**
 * The raw results as JSON, and the HTML report of them under the same name beside it; a copy of
 * the report as LATEST_REPORT, so that the newest one is always at the same path.
 */
function writeResults(results: BenchResults): ResultFiles {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stem = join(RESULTS_DIR, new Date().toISOString().replace(/[:.]/g, '-'));
  const files = {
    json: `${stem}.json`,
    html: `${stem}.html`,
    latest: join(RESULTS_DIR, LATEST_REPORT),
  };
  writeFileSync(files.json, `${JSON.stringify(results, null, 2)}\n`);
  const page = renderHtmlReport(results, { rawResults: basename(files.json) });
  writeFileSync(files.html, page);
  writeFileSync(files.latest, page);
  return files;
}

/** What each scenario run and SLI run is planned to take, in the order main runs them. */
function plannedTasks(
  scenarios: readonly Scenario[],
  sli: boolean,
  options: BenchOptions,
): PlannedTask[] {
  const load = options.warmup + options.duration + SETTLE_MS / 1_000;
  const search =
    SLI_OVERHEAD_SECONDS +
    SLI_PLANNED_STEPS * (options.stepSeconds + SLI_STEP_SETTLE_SECONDS) +
    (options.sliSeconds > 0 ? options.sliSeconds + SLI_STEP_SETTLE_SECONDS : 0);
  return Array.from({ length: options.runs }, (_, i) => i + 1).flatMap((run) => [
    ...scenarios.map((s) => ({ run, name: s.name, seconds: load })),
    ...(sli ? [{ run, name: SLI_NAME, seconds: search }] : []),
  ]);
}

/**
 * The baseline, the service on Redis, the service on Redis through the fault proxy, and the
 * services the shop and the wallets are measured on; only those the selected scenarios need.
 */
async function startServers(
  proxy: FaultProxy,
  needed: ReadonlySet<ServerName>,
  database: { readonly url: string; readonly jwtSecret: string },
): Promise<Partial<Record<ServerName, ServerProcess>>> {
  const serviceEnv = (redisUrl: string) => ({
    LOG_LEVEL: 'warn',
    REDIS_URL: redisUrl,
    // Empty means unset: an inherited split configuration must not bypass the proxy.
    SCORING_CACHE_URL: '',
    SCORING_STORE_URL: '',
    SCORING_KEY_PREFIX: state.prefix,
    // Service mode on PostgreSQL for every service process: without it each would open the
    // embedded PGlite under ./data, and two processes must never share that directory.
    DATABASE_URL: database.url,
    JWT_SECRET: database.jwtSecret,
  });
  const specs = [
    ['hello', 'bench/hello.ts', {}],
    ['service', 'src/main.ts', serviceEnv(REDIS_URL)],
    ['proxied', 'src/main.ts', serviceEnv(proxy.url())],
    // Its own process, so that the shop's numbers do not carry the scoring loads' state.
    ['shop', 'src/main.ts', serviceEnv(REDIS_URL)],
    // Likewise: the wallets' batches and pool are not shared with the shop's loads.
    ['wallets', 'src/main.ts', serviceEnv(REDIS_URL)],
  ] as const;
  const servers: Partial<Record<ServerName, ServerProcess>> = {};
  // One at a time: a failure then names the server, and startups do not compete for the CPU.
  for (const [name, script, env] of specs) {
    if (!needed.has(name)) continue;
    const server = await startServer({
      name,
      script,
      env,
      startTimeoutMs: SERVER_START_TIMEOUT_MS,
    });
    state.servers.push(server);
    servers[name] = server;
    log(`bench: ${name} (pid ${server.pid}) at ${server.url}`);
  }
  const env = serviceEnv(REDIS_URL);
  const scaled = [
    ['balanced', () => startBalanced(env, startServer, SERVER_START_TIMEOUT_MS)],
    ['pooled', () => startPooled(env, database.url, startServer, SERVER_START_TIMEOUT_MS)],
  ] as const;
  for (const [name, start] of scaled) {
    if (!needed.has(name)) continue;
    const server = await start();
    state.servers.push(server);
    servers[name] = server;
    log(`bench: ${name} (pids ${server.pids.join(', ')}) at ${server.url}`);
  }
  return servers;
}

/** What the bench seeded in its database; null for a feature none of the scenarios uses. */
interface Fixtures {
  readonly shop: ShopFixture | null;
  readonly wallets: WalletFixture | null;
}

/** Each scenario's own findings after each of its loads, a line each, in the order they ran. */
function renderLoadReports(measurements: readonly Measurement[]): string {
  const reported = measurements.filter((m) => m.report);
  if (reported.length === 0) return '';
  const width = Math.max(...reported.map((m) => m.scenario.length));
  return [
    LOAD_REPORTS_CAPTION,
    ...reported.map(
      (m) => `  run ${m.run}  ${m.scenario.padEnd(width)}  ${m.report?.summary ?? ''}`,
    ),
  ].join('\n');
}

function printReport(
  rows: readonly Row[],
  verdicts: readonly Verdict[],
  measurements: readonly Measurement[],
  sliRuns: readonly SliRun[],
  options: BenchOptions,
  found: readonly string[],
): void {
  const out = (text: string) => process.stdout.write(`${text}\n`);
  out(
    `\nMedians of ${options.runs} run(s), ${options.duration} s each after a ${options.warmup} s ` +
      `warm-up, ${options.connections} connections, loopback; ${cpus().length} CPUs shared by ` +
      'the load and the servers.',
  );
  out(
    'Latencies in whole ms, as autocannon records them; requests, non-2xx and errors summed ' +
      'over runs; "vs hello" is the median of per-run ratios.\n',
  );
  out(textTable(resultsTable(rows)));
  const databaseCpu = renderDatabaseCpu(measurements);
  if (databaseCpu) out(`\n${databaseCpu}`);
  const scale = renderScale(measurements);
  if (scale) out(`\n${scale}`);
  const loadReports = renderLoadReports(measurements);
  if (loadReports) out(`\n${loadReports}`);
  if (sliRuns.length > 0) out(`\n${renderSli(sliRuns)}`);
  out('\nTargets:');
  for (const v of verdicts) out(`  ${verdictLabel(v)}  ${v.target}: ${v.detail}`);
  for (const note of found) out(`  note  ${note}`);
}

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    log(`bench: ${err instanceof Error ? err.message : String(err)}`);
    log(USAGE);
    return 2;
  }
  const { scenarios, sli } = selection(options);
  const needed = new Set<ServerName>(scenarios.map((s) => s.server));
  if (sli) needed.add('shop');
  const startedAt = new Date();
  const measurements: Measurement[] = [];
  const sliRuns: SliRun[] = [];
  let fixture: ShopFixture | null = null;
  let wallets: WalletFixture | null = null;
  // The database URL is the bench's own (set below) and the JWT secret is never recorded.
  const settings = Object.fromEntries(
    Object.entries(process.env).filter(([key]) =>
      /^(SCORING_|REDIS_|SHOP_|DATABASE_(?!URL$))/.test(key),
    ),
  );
  /** The results, for the JSON and the HTML report, with how the run ended. */
  const report = <Extra extends object>(
    outcome: {
      rows: readonly Row[];
      verdicts: readonly Verdict[];
      notes: readonly string[];
    } & Extra,
  ) => ({
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    options,
    environment: {
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      git: gitDescription(),
      redis: REDIS_URL,
      keyPrefix: state.prefix,
      postgres: shownUrl(ADMIN_DATABASE_URL),
      database: BENCH_DATABASE,
      settings,
    },
    scenarios: scenarios.map((s) => {
      const baseline = SCALE_SCENARIOS.find((scale) => scale === s)?.baseline;
      return {
        name: s.name,
        server: s.server,
        description: s.description,
        ...(baseline && { baseline }),
      };
    }),
    measurements,
    shop: fixture && {
      seededUsers: fixture.users.length,
      seedTimingsMs: fixture.timingsMs,
      autovacuumOff: fixture.autovacuumOff,
      coldLogins: coldLoginsUsed(),
    },
    wallets: wallets && {
      hot: wallets.hot,
      uniformWallets: wallets.uniform.length,
      seedBalance: wallets.seedBalance.toString(),
      seededTotal: wallets.seededTotal.toString(),
      seedMs: wallets.seedMs,
      autovacuumOff: wallets.autovacuumOff,
    },
    sli: sliRuns,
    sliP99MaxMs: SLI_P99_MAX_MS,
    servers: Object.fromEntries(
      state.servers.map((s) => [s.name, { linesWritten: s.linesWritten, lastLines: s.output() }]),
    ),
    ...outcome,
  });

  try {
    log(`bench: Redis ${REDIS_URL}, key prefix ${state.prefix}`);
    const busy = loadavg()[0] ?? 0;
    if (busy > 0.5) {
      log(
        `bench: load average ${busy.toFixed(2)} before starting: other work will skew the numbers`,
      );
    }
    state.redis = await connectRedis(REDIS_URL);
    await seedInterests(state.redis, state.prefix);
    state.proxy = await FaultProxy.start(REDIS_URL);
    state.database = true;
    const databaseUrl = await createBenchDatabase();
    log(`bench: PostgreSQL database ${BENCH_DATABASE} at ${shownUrl(databaseUrl)}`);
    const jwtSecret = benchJwtSecret();

    const all = await startServers(state.proxy, needed, { url: databaseUrl, jwtSecret });
    if (all.shop || scenarios.some(scaleNeeds('shop'))) {
      // After the start: the service creates its tables on the way up.
      fixture = await seedShop(databaseUrl, jwtSecret);
      const t = fixture.timingsMs;
      log(
        `bench: ${SEED_USERS.toLocaleString('en-US')} shop users seeded (scrypt ${Math.round(t.hash)} ms, ` +
          `insert ${Math.round(t.insert)} ms, tokens ${Math.round(t.tokens)} ms)`,
      );
    }
    if (all.wallets || scenarios.some(scaleNeeds('wallets'))) {
      // After the start, as for the shop; only the wallets, whatever else the database serves.
      wallets = await seedWallets(databaseUrl);
      log(
        `bench: one hot wallet and ${UNIFORM_WALLETS.toLocaleString('en-US')} others seeded ` +
          `with ${wallets.seedBalance.toLocaleString('en-US')} each (${Math.round(wallets.seedMs)} ms)`,
      );
    }
    const ctx: BenchContext = {
      urls: Object.fromEntries(Object.entries(all).map(([name, server]) => [name, server.url])),
      proxy: state.proxy,
      windowMs: (options.warmup + options.duration) * 1_000,
      recoveryTimeoutMs: CACHE_COOLDOWN_MAX_MS + 10_000,
      log,
      shop: fixture,
      wallets,
    };

    const progress = new Progress({
      tasks: plannedTasks(scenarios, sli, options),
      runs: options.runs,
      stream: process.stderr,
    });
    state.progress = progress;
    for (let run = 1; run <= options.runs; run++) {
      const ofRun: Measurement[] = [];
      for (const scenario of scenarios) {
        if (state.interrupted) throw new HarnessError('interrupted');
        progress.begin(run, scenario.name);
        const m = await measure(scenario, ctx, all, options, run);
        ofRun.push(m);
        measurements.push(m);
        log(
          `run ${run}/${options.runs}  ${scenario.name.padEnd(20)} ${Math.round(m.rps).toString().padStart(7)} req/s` +
            `  p99 ${formatMs(m.latencyMs.p99)} ms  non-2xx ${m.non2xx}  errors ${m.errors}` +
            `  (first answer ${m.firstAnswerMs} ms)`,
        );
        await sleep(SETTLE_MS);
        progress.done();
      }
      const hello = ofRun.find((m) => m.scenario === 'hello')?.rps ?? Number.NaN;
      for (const m of ofRun) m.ratioToHello = m.rps / hello;
      if (sli && fixture && all.shop) {
        progress.begin(run, SLI_NAME);
        sliRuns.push(
          await runSli({
            run,
            baseUrl: all.shop.url,
            servicePids: all.shop.pids,
            database: BENCH_DATABASE,
            walDevice: await walDevice(fixture.databaseUrl),
            fixture,
            stepSeconds: options.stepSeconds,
            sustainedSeconds: options.sliSeconds,
            // It logs a line per step: each moves the progress on.
            log: (line) => {
              log(line);
              progress.step();
            },
            interrupted: () => state.interrupted,
          }),
        );
        if (all.shop.exitStatus !== null) {
          throw new HarnessError(
            `shop died during ${SLI_NAME} (${all.shop.exitStatus}):\n${all.shop.output()}`,
          );
        }
        progress.done();
      }
    }
    endProgress();

    const rows = summarise(measurements);
    const verdicts = [...judge(rows, measurements), ...sliVerdicts(sliRuns)];
    const found = notes(rows, measurements, options, { shop: fixture, wallets });
    printReport(rows, verdicts, measurements, sliRuns, options, found);
    await cleanup();
    const cleaned = state.cleaned;
    if (cleaned) {
      process.stdout.write(
        `\nCache keys written under the bench prefix: ${cleaned.scoreKeys.toLocaleString('en-US')}; ` +
          `${cleaned.deleted.toLocaleString('en-US')} keys deleted.\n`,
      );
    }
    if (state.databaseDropped) {
      process.stdout.write(`Database ${BENCH_DATABASE} dropped.\n`);
    }
    const files = writeResults(
      report({
        rows,
        verdicts,
        notes: found,
        distinctBodies: distinctBodiesBuilt(),
        cleaned,
      }),
    );
    process.stdout.write(`Raw results: ${files.json}\n`);
    process.stdout.write(`HTML report: ${files.html} (the newest also as ${files.latest})\n`);
    return 0;
  } catch (err) {
    endProgress();
    if (state.interrupted) return 130;
    log(`\nbench failed: ${err instanceof Error ? err.message : String(err)}`);
    if (!(err instanceof HarnessError) && err instanceof Error && err.stack) log(err.stack);
    if (measurements.length > 0 || sliRuns.length > 0) {
      // The targets need every run; what was measured is still worth a look.
      const files = writeResults(
        report({ rows: summarise(measurements), verdicts: [], notes: [], failed: String(err) }),
      );
      log(`partial results: ${files.json}`);
      log(`HTML report of them: ${files.html}`);
    }
    return 1;
  } finally {
    endProgress();
    await cleanup();
  }
}

/** Clears the progress line: the text report and the last words are written without it. */
function endProgress(): void {
  state.progress?.stop();
  state.progress = null;
}

process.once('SIGINT', () => {
  state.interrupted = true;
  endProgress();
  log('\nbench: interrupted; stopping the load, the servers and the proxy');
  void cleanup().finally(() => process.exit(130));
});

const code = await main();
// Keep-alive sockets from the sanity requests would otherwise hold the process open for a while.
process.exit(code);
