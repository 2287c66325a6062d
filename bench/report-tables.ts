// Owns the bench report's tables as cells (header, rows, caption, which columns are text): the
// text report pads them into columns and the HTML report marks them up, so both show the same
// figures formatted the same way. Also the per-load shapes both reports read.
import type { CpuShares } from './cpu.ts';
import type { SliRun } from './shop-sli.ts';
import { median } from './stats.ts';

/** One scenario's medians over runs, and its counts summed over runs. */
export interface Row {
  readonly scenario: string;
  readonly rps: number;
  readonly ratio: number;
  readonly p50: number;
  readonly p99: number;
  readonly p99_9: number;
  readonly requests: number;
  readonly non2xx: number;
  /** Answers with a 5xx status, from autocannon's status codes. */
  readonly serverErrors: number;
  readonly errors: number;
}

export interface Verdict {
  readonly target: string;
  readonly pass: boolean;
  /** Neither: the measurement could not decide (e.g. the load generator fell behind). */
  readonly inconclusive?: boolean;
  readonly detail: string;
}

/** What the reports read of one scenario's measured load (the raw results hold more). */
export interface MeasuredLoad {
  readonly run: number;
  readonly scenario: string;
  readonly rps: number;
  /** NaN until the run's hello-world is measured (JSON writes it as null). */
  readonly ratioToHello: number | null;
  readonly latencyMs: {
    readonly p50: number;
    readonly p97_5: number;
    readonly p99: number;
    readonly p99_9: number;
    readonly max: number;
  };
  /** Cores the server, PostgreSQL, the bench and the rest used during the load. */
  readonly cpu: CpuShares;
  /** The scenario's own findings about the load, if it observes. */
  readonly report: { readonly summary: string } | null;
}

export interface Table {
  /** What the table shows and how to read it; empty for none. */
  readonly caption: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** The columns of text, aligned left; the others hold numbers, aligned right. */
  readonly textColumns: readonly number[];
}

export const verdictLabel = (v: Verdict) =>
  v.pass ? 'PASS' : v.inconclusive ? 'INCONCLUSIVE' : 'FAIL';

export const formatMs = (ms: number) => (Number.isInteger(ms) ? String(ms) : ms.toFixed(1));

const whole = (value: number) => Math.round(value).toLocaleString('en-US');
/** The figure to one decimal, "-" for none (NaN), as the SLI's own report writes it. */
const tenths = (value: number) => (Number.isNaN(value) ? '-' : value.toFixed(1));

/** "vs hello": more digits where a ratio is small. */
export const formatRatio = (ratio: number | null) =>
  ratio === null || !Number.isFinite(ratio) ? '-' : ratio.toFixed(ratio < 0.1 ? 3 : 2);

/** The table the text report prints first: a row per scenario. */
export function resultsTable(rows: readonly Row[]): Table {
  return {
    caption: '',
    header: [
      'scenario',
      'req/s',
      'vs hello',
      'p50 ms',
      'p99 ms',
      'p99.9 ms',
      'requests',
      'non-2xx',
      '5xx',
      'errors',
    ],
    rows: rows.map((r) => [
      r.scenario,
      whole(r.rps),
      formatRatio(r.ratio),
      formatMs(r.p50),
      formatMs(r.p99),
      formatMs(r.p99_9),
      r.requests.toLocaleString('en-US'),
      r.non2xx.toLocaleString('en-US'),
      r.serverErrors.toLocaleString('en-US'),
      r.errors.toLocaleString('en-US'),
    ]),
    textColumns: [0],
  };
}

/** The servers that work on the bench database: their scenarios' CPU is shown per request. */
const DATABASE_SERVERS: readonly string[] = ['shop', 'wallets', 'balanced', 'pooled'];

/** The names of the scenarios on the bench database, in the order given. */
export const databaseScenarios = (scenarios: readonly { name: string; server: string }[]) =>
  scenarios.filter((s) => DATABASE_SERVERS.includes(s.server)).map((s) => s.name);

const kernelPercent = (c: CpuShares) =>
  (100 * (c.serviceSystem + c.postgresSystem)) / (c.service + c.postgres || 1);

/**
 * Where the shop's and the wallets' time goes: the CPU the service and PostgreSQL spent per
 * answer, medians over runs, so that a missed target can be placed on the event loop or on the
 * database. `names`: the scenarios on the bench database, in the order to show; those not
 * measured are left out, and with none the table has no rows.
 */
export function databaseCpuTable(
  measurements: readonly MeasuredLoad[],
  names: readonly string[],
): Table {
  const measured = names.filter((name) => measurements.some((m) => m.scenario === name));
  return {
    caption:
      "CPU during the shop and wallet loads (medians; cores used on average; postgres: the bench database's " +
      "backends and the server's own processes; bench+other: the load generator and the rest of " +
      'the machine; kernel share: of the service and postgres time, the part spent in the kernel):',
    header: [
      'scenario',
      'req/s',
      'service cores',
      'postgres cores',
      'bench+other',
      'service µs/req',
      'postgres µs/req',
      'kernel share',
    ],
    rows: measured.map((name) => {
      const ms = measurements.filter((m) => m.scenario === name);
      const perRequest = (cores: (c: CpuShares) => number) =>
        whole(median(ms.map((m) => (cores(m.cpu) * 1e6) / m.rps)));
      return [
        name,
        whole(median(ms.map((m) => m.rps))),
        median(ms.map((m) => m.cpu.service)).toFixed(2),
        median(ms.map((m) => m.cpu.postgres)).toFixed(2),
        median(ms.map((m) => m.cpu.bench + m.cpu.other)).toFixed(2),
        perRequest((c) => c.service),
        perRequest((c) => c.postgres),
        `${Math.round(median(ms.map((m) => kernelPercent(m.cpu))))} %`,
      ];
    }),
    textColumns: [0],
  };
}

export const LOAD_REPORTS_CAPTION =
  'After each load (the wallets: balances and wallet_operations in SQL on the bench database; ' +
  "batches from the service's wallet_batch_operations at /metrics, during the load only):";

/** Each scenario's own findings after each of its loads, in the order they ran. */
export function loadReportsTable(measurements: readonly MeasuredLoad[]): Table {
  return {
    caption: LOAD_REPORTS_CAPTION,
    header: ['run', 'scenario', 'findings'],
    rows: measurements.flatMap((m) =>
      m.report ? [[String(m.run), m.scenario, m.report.summary]] : [],
    ),
    textColumns: [1, 2],
  };
}

/**
 * Each scale-out mode's req/s against its direct single-process load in the same run, the median
 * of the per-run ratios (bench/scale.ts prints the same as text). `pairs`: mode and baseline.
 */
export function scaleTable(
  measurements: readonly MeasuredLoad[],
  pairs: readonly { readonly name: string; readonly baseline: string }[],
): Table {
  const rows: string[][] = [];
  for (const { name, baseline } of pairs) {
    const ratios: number[] = [];
    for (const m of measurements.filter((x) => x.scenario === name)) {
      const twin = measurements.find((x) => x.run === m.run && x.scenario === baseline);
      if (twin) ratios.push(m.rps / twin.rps);
    }
    if (ratios.length === 0) continue;
    rows.push([
      name,
      baseline,
      `${median(ratios).toFixed(2)}×`,
      ratios.map((r) => r.toFixed(2)).join(', '),
    ]);
  }
  return {
    caption:
      'Scale-out, req/s against the same load on one process reached directly, in the same run ' +
      "(medians; HAProxy's and PgBouncer's own CPU count as bench+other above):",
    header: ['scenario', 'against', 'ratio', 'per run'],
    rows,
    textColumns: [0, 1, 3],
  };
}

/** One SLI run's steps, then its sustained run, with the columns bench/shop-sli.ts prints. */
export function sliTable(run: SliRun): Table {
  const steps = [...run.steps, ...(run.sustained ? [run.sustained] : [])];
  return {
    caption: `run ${run.run}: ${run.stepSeconds} s steps`,
    header: [
      'req/s',
      'outcome',
      'p50 ms',
      'p99 ms',
      'max ms',
      'info p99',
      'buy p99',
      'send p99',
      'sent p99',
      'issued/s',
      'non-200',
      'errors',
      'dropped',
      'lag p99',
      'gen loop max',
      'service',
      'postgres',
      'bench',
      'other',
      'loop max',
      'GC ms',
      'slow inside',
      'disk stall',
    ],
    rows: steps.map((s, i) => {
      const r = s.result;
      const kind = (k: string) => tenths(r.latencyByKindMs[k]?.p99 ?? Number.NaN);
      return [
        `${whole(s.rate)}${i >= run.steps.length ? ` × ${r.seconds} s` : ''}`,
        s.outcome,
        tenths(r.latencyMs.p50),
        tenths(r.latencyMs.p99),
        tenths(r.latencyMs.max),
        kind('info'),
        kind('buy'),
        kind('send'),
        tenths(r.sentToAnswerMs.p99),
        whole(r.issuedPerSecond),
        whole(r.non200),
        whole(r.errors),
        whole(r.overflow),
        tenths(r.sendLagMs.p99),
        tenths(r.generatorLoopDelayMs.max),
        s.cpu.service.toFixed(2),
        s.cpu.postgres.toFixed(2),
        s.cpu.bench.toFixed(2),
        s.cpu.other.toFixed(2),
        tenths(s.vitals?.eventLoopLagMaxMs ?? Number.NaN),
        tenths(s.vitals?.gcMs ?? Number.NaN),
        whole(s.vitals?.overBudgetInService ?? Number.NaN),
        tenths(s.diskStallMs ?? Number.NaN),
      ];
    }),
    textColumns: [1],
  };
}

/** The table padded into columns two spaces apart, under its caption if it has one. */
export function textTable(table: Table): string {
  const { header, rows } = table;
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((c) => (c[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((text, i) =>
        table.textColumns.includes(i) ? text.padEnd(widths[i] ?? 0) : text.padStart(widths[i] ?? 0),
      )
      .join('  ');
  return [
    ...(table.caption ? [table.caption] : []),
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ].join('\n');
}
