// Owns the bench's HTML report: one self-contained page (inline CSS and SVG, no script, nothing
// fetched) drawn from a run's results, the structure the text report and the raw JSON hold: the
// run's settings and machine, req/s per scenario beside the same run's hello-world, latency
// percentiles, the shop SLI's steps, the text report's tables, and the targets. A pure function
// of its input, so it is tested without running a benchmark.
import {
  barChart,
  compact,
  type LineSeries,
  lineChart,
  type Outcome,
  rangeChart,
} from './charts.ts';
import { html, type Markup } from './markup.ts';
import {
  databaseCpuTable,
  databaseScenarios,
  formatMs,
  formatRatio,
  loadReportsTable,
  type MeasuredLoad,
  type Row,
  resultsTable,
  scaleTable,
  sliTable,
  type Table,
  type Verdict,
  verdictLabel,
} from './report-tables.ts';
import type { SliRun, SliStep } from './shop-sli.ts';
import { median } from './stats.ts';

export interface ReportScenario {
  readonly name: string;
  readonly server: string;
  readonly description: string;
  /** A scale-out scenario's direct single-process load, compared with it. */
  readonly baseline?: string;
}

/** The settings of one `npm run bench` invocation, parsed once from its command line. */
export interface BenchOptions {
  readonly duration: number;
  readonly runs: number;
  readonly connections: number;
  readonly warmup: number;
  /** The shop SLI's run at a fixed 1,000 req/s; 0 skips it. */
  readonly sliSeconds: number;
  /** Each step of the shop SLI's rate search. */
  readonly stepSeconds: number;
  /** Scenario names and groups to run (hello always runs); null: everything. */
  readonly only: readonly string[] | null;
}

/** A run's results, as bench/run.ts writes them to the raw JSON (which holds more). */
export interface BenchResults {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly options: BenchOptions;
  readonly environment: {
    readonly node: string;
    readonly cpus: number;
    readonly cpuModel?: string | undefined;
    readonly git: { readonly commit: string; readonly dirty: boolean } | null;
    readonly redis: string;
    readonly keyPrefix: string;
    readonly postgres: string;
    readonly database: string;
    /** The service's settings from the environment the run inherited. */
    readonly settings: Readonly<Record<string, string | undefined>>;
  };
  readonly scenarios: readonly ReportScenario[];
  readonly measurements: readonly MeasuredLoad[];
  readonly rows: readonly Row[];
  readonly verdicts: readonly Verdict[];
  /** Context for reading the numbers, under the targets. */
  readonly notes: readonly string[];
  readonly sli: readonly SliRun[];
  /** The SLI's latency budget at p99. */
  readonly sliP99MaxMs: number;
  /** Set when the harness failed: the results are those measured before. */
  readonly failed?: string;
}

export interface ReportLinks {
  /** The raw results' file name, beside the report. */
  readonly rawResults?: string;
}

const BASELINE = 'hello';
const PERCENTILES = [
  ['p50', (m: MeasuredLoad) => m.latencyMs.p50],
  ['p97.5', (m: MeasuredLoad) => m.latencyMs.p97_5],
  ['p99', (m: MeasuredLoad) => m.latencyMs.p99],
  ['p99.9', (m: MeasuredLoad) => m.latencyMs.p99_9],
] as const;

const whole = (value: number) =>
  Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '-';
const tenths = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '-');

/** 2025-06-01T10:31:05.123Z as "2025-06-01 10:31:05 UTC": the same wherever it is opened. */
const shownTime = (iso: string) => iso.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC');

function shownDuration(fromIso: string, toIso: string): string {
  const seconds = Math.round((Date.parse(toIso) - Date.parse(fromIso)) / 1_000);
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  const [h, m, s] = [Math.floor(seconds / 3_600), Math.floor((seconds % 3_600) / 60), seconds % 60];
  return [h > 0 ? `${h} h` : '', m > 0 ? `${m} min` : '', `${s} s`].filter(Boolean).join(' ');
}

/** The table in a scroll box of its own (the SLI's is wider than the page), named for readers. */
function tableMarkup(table: Table, name: string, label: string): Markup {
  if (table.rows.length === 0) return html``;
  const cls = (i: number) => (table.textColumns.includes(i) ? 'text' : 'num');
  return html`${table.caption ? html`<p class="caption">${table.caption}</p>` : ''}
<div class="table-wrap" role="region" aria-label="${label}" tabindex="0"><table class="table-${name}">
<thead><tr>${table.header.map((h, i) => html`<th scope="col" class="${cls(i)}">${h}</th>`)}</tr></thead>
<tbody>${table.rows.map(
    (row) =>
      html`<tr>${row.map((cell, i) =>
        i === 0
          ? html`<th scope="row" class="${cls(i)}">${cell}</th>`
          : html`<td class="${cls(i)}">${cell}</td>`,
      )}</tr>`,
  )}</tbody>
</table></div>`;
}

const ofScenario = (results: BenchResults, name: string) =>
  results.measurements.filter((m) => m.scenario === name);

function throughputChart(results: BenchResults): Markup {
  const description = (name: string) =>
    results.scenarios.find((s) => s.name === name)?.description ?? '';
  const spread = (name: string) => {
    const rps = ofScenario(results, name).map((m) => m.rps);
    return { low: Math.min(...rps), high: Math.max(...rps), runs: rps };
  };
  const hello = results.rows.find((r) => r.scenario === BASELINE);
  const helloSpread = spread(BASELINE);
  const rows = results.rows.map((r) => {
    const { low, high, runs } = spread(r.scenario);
    const isBaseline = r.scenario === BASELINE;
    const ratios = ofScenario(results, r.scenario).map((m) => formatRatio(m.ratioToHello));
    return {
      label: r.scenario,
      value: r.rps,
      low,
      high,
      baseline: isBaseline,
      annotation: isBaseline
        ? `${whole(r.rps)} req/s · baseline`
        : `${whole(r.rps)} req/s · ${formatRatio(r.ratio)}× hello`,
      tooltip:
        `${r.scenario}: ${description(r.scenario)}\n` +
        `median ${whole(r.rps)} req/s; runs ${runs.map(whole).join(', ')}` +
        (isBaseline ? '' : `\nvs hello ${formatRatio(r.ratio)} (runs ${ratios.join(', ')})`),
    };
  });
  const runs = results.options.runs;
  return barChart({
    name: 'throughput',
    title: `Requests per second per scenario: medians of ${runs} run${runs === 1 ? '' : 's'}, beside the same run's hello-world`,
    axisLabel: 'requests per second',
    rows,
    ...(hello
      ? {
          reference: {
            value: hello.rps,
            low: helloSpread.low,
            high: helloSpread.high,
            label: `hello-world ${whole(hello.rps)} req/s`,
          },
        }
      : {}),
    legend: [
      { label: 'median of the runs', swatch: html`<span class="key key-bar"></span>` },
      { label: 'hello-world (baseline)', swatch: html`<span class="key key-baseline"></span>` },
      { label: 'min–max of the runs', swatch: html`<span class="key key-whisker"></span>` },
      { label: "hello-world's min–max", swatch: html`<span class="key key-band"></span>` },
    ],
    note:
      '"× hello" is the median of the per-run ratios to the hello-world measured in the same run, ' +
      'as the text report\'s "vs hello" column.',
  });
}

function latencyChart(results: BenchResults): Markup {
  const rows = results.rows.map((r) => {
    const ms = ofScenario(results, r.scenario);
    const values = PERCENTILES.map(([, of]) => median(ms.map(of)));
    const shown = PERCENTILES.map(([name], i) => `${name} ${formatMs(values[i] ?? Number.NaN)}`);
    return {
      label: r.scenario,
      values,
      annotation: `${shown.filter((_, i) => i !== 1).join(' · ')} ms`,
      tooltip: `${r.scenario}, medians of the runs: ${shown.join(', ')} ms`,
    };
  });
  return rangeChart({
    name: 'latency',
    title: 'Latency percentiles per scenario, in ms (medians of the runs)',
    axisLabel: 'milliseconds (logarithmic, from 0)',
    series: PERCENTILES.map(([name]) => name),
    rows,
    note: 'autocannon records latencies in whole milliseconds, so a fast scenario reads 0.',
  });
}

function perRunTable(results: BenchResults): Table {
  const runs = [...new Set(results.measurements.map((m) => m.run))].sort((a, b) => a - b);
  return {
    caption: 'Each run: req/s, and in brackets the ratio to that run’s hello-world.',
    header: ['scenario', ...runs.map((r) => `run ${r}`)],
    rows: results.rows.map((r) => [
      r.scenario,
      ...runs.map((run) => {
        const m = results.measurements.find((x) => x.run === run && x.scenario === r.scenario);
        return m ? `${whole(m.rps)} (${formatRatio(m.ratioToHello)})` : '-';
      }),
    ]),
    textColumns: [0],
  };
}

const outcomeOf = (step: SliStep): Outcome => step.outcome;

function stepTooltip(run: SliRun, step: SliStep, sustained: boolean): string {
  const r = step.result;
  return (
    `run ${run.run}${sustained ? `, ${r.seconds} s sustained` : ''}: ${whole(step.rate)} req/s offered, ` +
    `${whole(r.answeredPerSecond)}/s answered, p99 ${tenths(r.latencyMs.p99)} ms — ${step.outcome}` +
    (step.reason ? ` (${step.reason})` : '')
  );
}

function sliCharts(results: BenchResults): Markup {
  const seriesOf = (y: (s: SliStep) => number): LineSeries[] =>
    results.sli.flatMap((run, i) => [
      {
        name: `run ${run.run}`,
        colour: i,
        connected: true,
        points: run.steps.map((s) => ({
          x: s.rate,
          y: y(s),
          outcome: outcomeOf(s),
          tooltip: stepTooltip(run, s, false),
        })),
      },
      ...(run.sustained
        ? [
            {
              name: `run ${run.run} sustained`,
              colour: i,
              connected: false,
              points: [
                {
                  x: run.sustained.rate,
                  y: y(run.sustained),
                  outcome: outcomeOf(run.sustained),
                  tooltip: stepTooltip(run, run.sustained, true),
                },
              ],
            },
          ]
        : []),
    ]);
  const budget = results.sliP99MaxMs;
  return html`<div class="chart-pair">
${lineChart({
  name: 'sli-rate',
  title: 'Offered rate against the rate answered',
  xLabel: 'offered req/s',
  yLabel: 'answered req/s',
  yScale: 'linear',
  series: seriesOf((s) => s.result.answeredPerSecond),
  diagonal: { label: 'answered = offered' },
})}
${lineChart({
  name: 'sli-p99',
  title: 'Offered rate against p99 latency',
  xLabel: 'offered req/s',
  yLabel: 'p99 ms (logarithmic)',
  yScale: 'log1p',
  series: seriesOf((s) => s.result.latencyMs.p99),
  threshold: { y: budget, label: `budget ${formatMs(budget)} ms` },
})}
</div>`;
}

function sliSummaryTable(results: BenchResults): Table {
  return {
    caption: '',
    header: ['run', 'step', 'steps', 'highest passing', 'stopped at', 'sustained'],
    rows: results.sli.map((run) => {
      const stop = run.stoppedAt;
      const sustained = run.sustained;
      return [
        `run ${run.run}`,
        `${run.stepSeconds} s`,
        String(run.steps.length),
        `${whole(run.highestPassing)} req/s`,
        stop ? `${whole(stop.rate)} req/s ${stop.outcome}: ${stop.reason}` : 'every step passed',
        sustained
          ? `${whole(sustained.rate)} req/s × ${sustained.result.seconds} s: ${sustained.outcome}, ` +
            `p99 ${tenths(sustained.result.latencyMs.p99)} ms`
          : '-',
      ];
    }),
    textColumns: [0, 4, 5],
  };
}

function sliSection(results: BenchResults): Markup {
  if (results.sli.length === 0) return html``;
  const budget = formatMs(results.sliP99MaxMs);
  return html`<section id="sli">
<h2>Shop SLI</h2>
<p class="lead">The mixed load (80 % info, 10 % buy, 10 % sendCoin) at fixed rates, open loop:
each latency counts from the request's scheduled start. A step passes with every answer 200 and
p99 ≤ ${budget} ms; it is inconclusive when the load generator itself could not keep to the rate.
The rate steps up until a step does not pass, then narrows; a sustained run follows.</p>
${sliCharts(results)}
${tableMarkup(sliSummaryTable(results), 'sli-summary', 'SLI runs')}
${results.sli.map((run) => tableMarkup(sliTable(run), 'sli-steps', `SLI steps of run ${run.run}`))}
</section>`;
}

function verdictList(verdicts: readonly Verdict[], notes: readonly string[]): Markup {
  if (verdicts.length === 0 && notes.length === 0) {
    return html`<p class="lead">No target applies to the scenarios this run measured.</p>`;
  }
  const item = (v: Verdict) => {
    const label = verdictLabel(v);
    return html`<li class="verdict verdict-${label.toLowerCase()}"><span class="badge">${label}</span>
<span><strong>${v.target}</strong>: ${v.detail}</span></li>`;
  };
  return html`<ul class="verdicts">${verdicts.map(item)}</ul>
${notes.length > 0 ? html`<h3>Notes</h3><ul class="notes">${notes.map((n) => html`<li>${n}</li>`)}</ul>` : ''}`;
}

function headline(results: BenchResults): Markup {
  const count = (label: string) => results.verdicts.filter((v) => verdictLabel(v) === label).length;
  const hello = results.rows.find((r) => r.scenario === BASELINE);
  const { runs, duration } = results.options;
  const cards: Markup[] = [
    html`<div class="card"><span class="card-label">targets</span><span class="card-value">
<span class="pass-text">${count('PASS')} pass</span> · <span class="fail-text">${count('FAIL')} fail</span>${
      count('INCONCLUSIVE') > 0
        ? html` · <span class="inconclusive-text">${count('INCONCLUSIVE')} inconclusive</span>`
        : ''
    }</span></div>`,
    html`<div class="card"><span class="card-label">hello-world baseline</span><span class="card-value">${
      hello ? `${whole(hello.rps)} req/s` : '-'
    }</span></div>`,
    html`<div class="card"><span class="card-label">measured</span><span class="card-value">${results.rows.length} scenarios × ${runs} run${runs === 1 ? '' : 's'} of ${duration} s</span></div>`,
  ];
  if (results.sli.length > 0) {
    const highest = median(results.sli.map((r) => r.highestPassing));
    cards.push(
      html`<div class="card"><span class="card-label">SLI highest passing (median)</span><span class="card-value">${whole(highest)} req/s</span></div>`,
    );
  }
  return html`<div class="cards">${cards}</div>`;
}

function metadata(results: BenchResults): Markup {
  const { environment: env, options } = results;
  const entries: [string, string][] = [
    ['started', shownTime(results.startedAt)],
    [
      'finished',
      `${shownTime(results.finishedAt)} (${shownDuration(results.startedAt, results.finishedAt)})`,
    ],
    ['machine', `${env.cpus} cores${env.cpuModel ? `, ${env.cpuModel}` : ''}`],
    ['node', env.node],
    [
      'commit',
      env.git
        ? `${env.git.commit.slice(0, 12)}${env.git.dirty ? ' (uncommitted changes)' : ''}`
        : 'unknown',
    ],
    ['runs', `${options.runs} × ${options.duration} s after a ${options.warmup} s warm-up`],
    ['connections', String(options.connections)],
    ['SLI', `${options.stepSeconds} s steps, ${options.sliSeconds} s sustained`],
    ['only', options.only ? options.only.join(', ') : 'everything but scale-out'],
    ['Redis', `${env.redis} (key prefix ${env.keyPrefix})`],
    ['PostgreSQL', `${env.postgres}, database ${env.database}`],
  ];
  const settings = Object.entries(env.settings).filter(
    (entry): entry is [string, string] => entry[1] !== undefined,
  );
  return html`<dl class="meta">${entries.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}
<dt>settings</dt><dd>${
    settings.length > 0
      ? html`<ul class="settings">${settings.map(([k, v]) => html`<li><code>${k}=${v}</code></li>`)}</ul>`
      : 'the defaults (none set in the environment)'
  }</dd></dl>`;
}

function scenarioList(results: BenchResults): Markup {
  const measured = new Set(results.rows.map((r) => r.scenario));
  return html`<details class="scenarios"><summary>What each scenario sends</summary><dl>${results.scenarios
    .filter((s) => measured.has(s.name))
    .map(
      (s) =>
        html`<dt>${s.name} <span class="server">on ${s.server}</span></dt><dd>${s.description}</dd>`,
    )}</dl></details>`;
}

/** The page's own style: literal text of the tag, so it is not escaped (nothing in it comes from a run). */
const STYLE = html`
:root { color-scheme: light dark; --bg: #f5f6f8; --card: #ffffff; --ink: #1c2230; --muted: #566074;
  --line: #dde1e8; --stripe: #f3f5f8; --accent: #2f6fdf; --baseline: #8d97a8; --pass: #17743f;
  --fail: #b8322a; --inconclusive: #8a5a00; --link: #1f56c2; }
@media (prefers-color-scheme: dark) { :root { --bg: #13161b; --card: #1b1f26; --ink: #e5e8ed;
  --muted: #a3acba; --line: #323842; --stripe: #20252d; --accent: #6a9cf2; --baseline: #7d8797;
  --pass: #4cc57f; --fail: #f0766d; --inconclusive: #e0a93a; --link: #8db5f7; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 0 0 8px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.subtitle, .lead, .caption, .chart-note { color: var(--muted); }
.lead, .caption { margin: 4px 0 10px; max-width: 80ch; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 18px 20px; margin: 16px 0; }
.failed { border-color: var(--fail); border-left-width: 6px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(210px, 1fr)); gap: 12px;
  margin: 16px 0; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 12px 16px; display: flex; flex-direction: column; }
.card-label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card-value { font-size: 18px; font-weight: 600; font-variant-numeric: tabular-nums; }
.pass-text { color: var(--pass); } .fail-text { color: var(--fail); }
.inconclusive-text { color: var(--inconclusive); }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.meta dt { color: var(--muted); } dl.meta dd { margin: 0; overflow-wrap: anywhere; }
ul.settings { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 4px 12px; }
code { font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; }
details.scenarios { margin-top: 12px; } details.scenarios summary { cursor: pointer; }
details.scenarios dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; }
details.scenarios dt { font-weight: 600; } details.scenarios dd { margin: 0; }
.server { color: var(--muted); font-weight: 400; font-size: 12px; }
.table-wrap { overflow-x: auto; margin: 0 0 14px; border: 1px solid var(--line); border-radius: 8px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; font-size: 13px; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; }
thead th { background: var(--stripe); font-weight: 600; position: sticky; top: 0; }
tbody tr:nth-child(even) { background: var(--stripe); }
tbody tr:last-child > * { border-bottom: 0; }
tbody th { font-weight: 600; }
.num { text-align: right; } .text { text-align: left; }
.table-sli-summary td.text, .table-load-reports td.text { white-space: normal; min-width: 16ch; }
.chart-figure { margin: 8px 0 18px; }
.chart-figure figcaption { font-weight: 600; margin-bottom: 4px; }
.chart-note { font-size: 12px; margin: 4px 0 0; }
.chart-pair { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 16px; }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 18px; margin: 0 0 6px; padding: 0;
  font-size: 12px; color: var(--muted); }
.legend li { display: flex; align-items: center; gap: 6px; }
.key { display: inline-block; width: 16px; height: 10px; border-radius: 2px; }
.key-bar { background: var(--accent); } .key-baseline { background: var(--baseline); }
.key-whisker { height: 2px; background: var(--ink); border-radius: 0; }
.key-band { background: var(--baseline); opacity: .3; }
.chart { display: block; width: 100%; height: auto; font-size: 12px; font-family: inherit; }
.chart-scroll { overflow-x: auto; }
.chart-scroll:focus-visible { outline: 2px solid var(--link); outline-offset: 2px; }
.chart-wide { min-width: 720px; }
.chart-line { max-width: 560px; }
.chart text { fill: var(--ink); }
.chart .axis text, .chart .ref-label, .chart .axis-label { fill: var(--muted); font-size: 11px; }
.chart .grid { stroke: var(--line); }
.chart .stripe { fill: var(--stripe); }
.chart .bar { fill: var(--accent); }
.chart .baseline .bar { fill: var(--baseline); }
.chart .whisker { stroke: var(--ink); stroke-width: 1.5; fill: none; }
.chart .band { fill: var(--baseline); opacity: .18; }
.chart .ref { stroke: var(--muted); stroke-width: 1.5; stroke-dasharray: 5 3; }
.chart .annotation { font-variant-numeric: tabular-nums; }
.chart .range { stroke: var(--baseline); stroke-width: 2; }
.point { stroke: var(--card); stroke-width: 1; }
.m0 { fill: #1b998b; } .m1 { fill: #2f6fdf; } .m2 { fill: #d9822b; } .m3 { fill: #c2417a; }
.s0 { --series: #2f6fdf; } .s1 { --series: #d9822b; } .s2 { --series: #7b4fd6; }
.s3 { --series: #1b998b; } .s4 { --series: #c2417a; } .s5 { --series: #6b7a2e; }
.line { stroke: var(--series, var(--accent)); stroke-width: 2; fill: none; }
.point.pass { fill: var(--pass); }
.point.fail { fill: none; stroke: var(--fail); stroke-width: 2.5; }
.point.inconclusive { fill: var(--card); stroke: var(--inconclusive); stroke-width: 2; }
.halo { fill: none; stroke: var(--series, var(--accent)); stroke-width: 1.5; }
.chart .diagonal { stroke: var(--muted); stroke-dasharray: 2 4; }
.chart .threshold { stroke: var(--fail); stroke-width: 1.5; stroke-dasharray: 6 4; }
.swatch { flex: none; }
ul.verdicts, ul.notes { list-style: none; padding: 0; margin: 0; }
.verdict { display: flex; gap: 12px; align-items: baseline; padding: 8px 0;
  border-bottom: 1px solid var(--line); }
.verdict:last-child { border-bottom: 0; }
.badge { flex: none; min-width: 104px; text-align: center; font-weight: 700; font-size: 12px;
  letter-spacing: .04em; color: #fff; border-radius: 4px; padding: 2px 8px; }
.verdict-pass .badge { background: var(--pass); } .verdict-fail .badge { background: var(--fail); }
.verdict-inconclusive .badge { background: var(--inconclusive); }
@media (prefers-color-scheme: dark) { .badge { color: #13161b; } }
ul.notes li { padding: 4px 0 4px 14px; position: relative; color: var(--muted); }
ul.notes li::before { content: "–"; position: absolute; left: 0; }
footer { color: var(--muted); font-size: 12px; margin-top: 24px; }
a, details.scenarios summary { color: var(--link); }
.table-wrap:focus-visible { outline: 2px solid var(--link); outline-offset: 2px; }
@media print { body { background: #fff; } section, .card { break-inside: avoid; } }
`;

/** The whole page for a run's results; every value from the results is escaped. */
export function renderHtmlReport(results: BenchResults, links: ReportLinks = {}): string {
  const runs = results.options.runs;
  const { warmup, duration, connections } = results.options;
  const database = databaseScenarios(results.scenarios);
  const pairs = results.scenarios.flatMap((s) =>
    s.baseline ? [{ name: s.name, baseline: s.baseline }] : [],
  );
  const title = `coinworks bench — ${shownTime(results.startedAt)}`;
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${title}</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<main>
<header>
<h1>coinworks bench</h1>
<p class="subtitle">${shownTime(results.startedAt)} · ${results.environment.cpus} cores · node ${results.environment.node}</p>
</header>
${
  results.failed
    ? html`<section class="failed" id="failed"><h2>The run failed</h2><p>${results.failed}</p>
<p class="lead">What follows is what was measured before it stopped.</p></section>`
    : ''
}
${headline(results)}
<section id="run">
<h2>Run</h2>
${metadata(results)}
${scenarioList(results)}
</section>
<section id="throughput">
<h2>Throughput</h2>
<p class="lead">Medians of ${runs} run(s), ${duration} s each after a ${warmup} s warm-up,
${connections} connections, loopback; ${results.environment.cpus} CPUs shared by the load and the
servers. Absolute figures vary with the machine; the ratios to the same run's hello-world are the point.</p>
${throughputChart(results)}
${latencyChart(results)}
</section>
<section id="tables">
<h2>Results</h2>
<p class="caption">Latencies in whole ms, as autocannon records them; requests, non-2xx and errors
summed over runs; "vs hello" is the median of per-run ratios.</p>
${tableMarkup(resultsTable(results.rows), 'results', 'Results per scenario')}
${tableMarkup(perRunTable(results), 'runs', 'Each run')}
${tableMarkup(databaseCpuTable(results.measurements, database), 'database-cpu', 'CPU per request')}
${tableMarkup(scaleTable(results.measurements, pairs), 'scale', 'Scale-out')}
${tableMarkup(loadReportsTable(results.measurements), 'load-reports', 'After each load')}
</section>
${sliSection(results)}
<section id="targets">
<h2>Targets</h2>
${verdictList(results.verdicts, results.notes)}
</section>
<footer>Written by <code>npm run bench</code> (bench/run.ts)${
    links.rawResults
      ? html`; the raw results are in <a href="${links.rawResults}">${links.rawResults}</a>, beside this file`
      : ''
  }. Axis labels: k = thousand (${compact(1_500)} = 1,500).</footer>
</main>
</body>
</html>
`;
  return page.text;
}
