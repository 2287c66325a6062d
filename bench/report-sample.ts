// Owns a hand-built run's results for the HTML report's tests: a hello-world, a scoring and a
// shop scenario over three runs, and one shop SLI search, with figures chosen so that a test can
// look for them on the page (13,774 req/s, 0.24× hello, …). No benchmark runs to make them.
import type { CpuShares } from './cpu.ts';
import type { LatencySummary, OpenLoopResult } from './open-loop.ts';
import type { BenchResults } from './report-html.ts';
import type { MeasuredLoad } from './report-tables.ts';
import type { SliStep, StepOutcome } from './shop-sli.ts';

export const SAMPLE_SCENARIOS = ['hello', 'score-hit', 'shop-mixed'] as const;

const CPU: CpuShares = {
  service: 0.62,
  postgres: 0.71,
  serviceSystem: 0.2,
  postgresSystem: 0.3,
  bench: 0.35,
  other: 0.1,
  machine: 1.78,
  cores: 2,
};

/** req/s of each scenario in runs 1, 2 and 3. */
const RPS: Readonly<Record<(typeof SAMPLE_SCENARIOS)[number], readonly number[]>> = {
  hello: [50_000, 57_600, 60_000],
  'score-hit': [12_000, 13_774, 14_500],
  'shop-mixed': [4_000, 4_535, 4_700],
};

/** p50, p97.5, p99, p99.9 and max of each scenario, the same in every run. */
const LATENCY: Readonly<Record<(typeof SAMPLE_SCENARIOS)[number], readonly number[]>> = {
  hello: [0, 1, 2, 4, 12],
  'score-hit': [3, 7, 9, 14, 30],
  'shop-mixed': [10, 18, 21, 29, 60],
};

function measurement(scenario: (typeof SAMPLE_SCENARIOS)[number], run: number): MeasuredLoad {
  const rps = RPS[scenario][run - 1] ?? 0;
  const [p50 = 0, p97_5 = 0, p99 = 0, p99_9 = 0, max = 0] = LATENCY[scenario];
  return {
    run,
    scenario,
    rps,
    ratioToHello: rps / (RPS.hello[run - 1] ?? 1),
    latencyMs: { p50, p97_5, p99, p99_9, max },
    cpu: CPU,
    report: null,
  };
}

const latency = (p50: number, p99: number): LatencySummary => ({
  count: 1_000,
  p50,
  p90: (p50 + p99) / 2,
  p99,
  p99_9: p99 * 1.5,
  max: p99 * 2,
});

/** One SLI step at `rate` req/s of which `answered` per second were answered. */
export function sampleStep(
  rate: number,
  outcome: StepOutcome,
  answered: number,
  p99: number,
  reason = '',
  seconds = 5,
): SliStep {
  const result: OpenLoopResult = {
    ratePerSecond: rate,
    seconds,
    scheduled: rate * seconds,
    sent: rate * seconds,
    ok: Math.round(answered * seconds),
    non200: 0,
    errors: 0,
    overflow: 0,
    statusCodes: { '200': Math.round(answered * seconds) },
    errorMessages: [],
    answeredPerSecond: answered,
    issuedPerSecond: rate,
    sendLagMs: { p50: 0.1, p99: 0.8, max: 2 },
    eventLoopUtilization: 0.4,
    generatorLoopDelayMs: { p99: 1.2, max: 3.4 },
    inFlightPeak: 40,
    latencyMs: latency(p99 / 4, p99),
    sentToAnswerMs: latency(p99 / 5, p99 * 0.9),
    latencyByKindMs: {
      info: latency(1, p99 * 0.5),
      buy: latency(2, p99 * 1.2),
      send: latency(2, p99 * 1.3),
    },
  };
  return {
    rate,
    outcome,
    reason,
    result,
    cpu: CPU,
    vitals: {
      eventLoopLagP99Ms: 3,
      eventLoopLagMaxMs: 11.5,
      gcMs: 42,
      majorGcMs: 7,
      overBudgetInService: 0,
    },
    diskStallMs: 12.5,
  };
}

const STEPS: readonly SliStep[] = [
  sampleStep(1_000, 'pass', 1_000, 4.2),
  sampleStep(2_000, 'pass', 1_998, 6.8),
  sampleStep(3_000, 'fail', 2_870, 88.4, 'p99 88.4 ms > 50 ms'),
  sampleStep(2_500, 'pass', 2_497, 17.3),
  sampleStep(2_750, 'inconclusive', 2_600, 61, 'the load generator fell behind'),
];

/** The sample results; `change` replaces any part of them, e.g. a scenario's name. */
export function sampleResults(change: Partial<BenchResults> = {}): BenchResults {
  const measurements = [1, 2, 3].flatMap((run) => SAMPLE_SCENARIOS.map((s) => measurement(s, run)));
  return {
    startedAt: '2025-06-01T10:31:05.123Z',
    finishedAt: '2025-06-01T10:35:20.456Z',
    options: {
      duration: 10,
      runs: 3,
      connections: 50,
      warmup: 2,
      sliSeconds: 60,
      stepSeconds: 5,
      only: ['score-hit', 'shop-mixed', 'shop-sli'],
    },
    environment: {
      node: 'v24.21.0',
      cpus: 2,
      cpuModel: 'Sample CPU @ 2.20GHz',
      git: { commit: '67d2452a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e', dirty: true },
      redis: 'redis://127.0.0.1:6379',
      keyPrefix: 'bench:0123456789ab:',
      postgres: 'postgres://postgres@127.0.0.1:5432/test',
      database: 'coinworks_bench',
      settings: { SCORING_STORE_BUDGET_MS: '1000' },
    },
    scenarios: [
      {
        name: 'hello',
        server: 'hello',
        description: 'GET / on a Fastify hello-world: the baseline',
      },
      { name: 'score-hit', server: 'service', description: 'online_score, one body: cache hits' },
      { name: 'shop-mixed', server: 'shop', description: 'mixed: 80 % info, 10 % buy, 10 % send' },
    ],
    measurements,
    rows: [
      {
        scenario: 'hello',
        rps: 57_600,
        ratio: 1,
        p50: 0,
        p99: 2,
        p99_9: 4,
        requests: 1_676_000,
        non2xx: 0,
        serverErrors: 0,
        errors: 0,
      },
      {
        scenario: 'score-hit',
        rps: 13_774,
        ratio: 12_000 / 50_000,
        p50: 3,
        p99: 9,
        p99_9: 14,
        requests: 402_740,
        non2xx: 0,
        serverErrors: 0,
        errors: 0,
      },
      {
        scenario: 'shop-mixed',
        rps: 4_535,
        ratio: 4_535 / 57_600,
        p50: 10,
        p99: 21,
        p99_9: 29,
        requests: 132_350,
        non2xx: 0,
        serverErrors: 0,
        errors: 0,
      },
    ],
    verdicts: [
      { target: 'score-hit req/s >= 25 % of hello', pass: false, detail: 'median ratio 24.0 %' },
      {
        target: 'shop-* every answer 200, no errors',
        pass: true,
        detail: '132,350 answers, all 200',
      },
      {
        target: 'shop-sli highest mixed rate with p99 <= 50 ms and every answer 200 >= 5,000 req/s',
        pass: false,
        inconclusive: true,
        detail: 'median 2,500 req/s',
      },
    ],
    notes: ['The machine was busy: a sample note.'],
    sli: [
      {
        run: 1,
        stepSeconds: 5,
        steps: STEPS,
        highestPassing: 2_500,
        stoppedAt: STEPS[4] ?? null,
        sustained: sampleStep(1_000, 'pass', 1_000, 5.3, '', 60),
      },
    ],
    sliP99MaxMs: 50,
    ...change,
  };
}
