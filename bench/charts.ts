// Owns the HTML report's charts, drawn as inline SVG from numbers: horizontal bars with the runs'
// spread as whiskers and a baseline band across them, per-row ranges of percentiles, and a line
// chart whose markers say pass, fail or inconclusive. Colours come from the page's CSS classes;
// every label goes through the markup tag, so it is escaped.
import { html, type Markup } from './markup.ts';

/** The width of the wide charts' coordinate system; the page scales it to its column. */
const WIDE_WIDTH = 900;
/** The width of the line charts, two of which sit side by side. */
const LINE_WIDTH = 440;
const LINE_HEIGHT = 300;
const ROW_HEIGHT = 28;
const BAR_HEIGHT = 14;
/** An average 12 px sans-serif character, for sizing the label columns. */
const CHAR_WIDTH = 7;
const LABEL_WIDTH_MIN = 100;
const LABEL_WIDTH_MAX = 240;
const ANNOTATION_WIDTH_MIN = 120;
const ANNOTATION_WIDTH_MAX = 280;
/** Axis ticks closer than this are dropped: their labels would overlap (side by side, stacked). */
const TICK_GAP_MIN_X = 34;
const TICK_GAP_MIN_Y = 20;
const LINEAR_TICKS = 5;
/** A bar whose value is tiny beside the others still shows. */
const BAR_WIDTH_MIN = 1.5;
const MARKER_SIZE = 4.5;
/** The ring around a line chart's markers that stand alone (e.g. a sustained run). */
const HALO_RADIUS = 8;
/** Room past the highest x (and linear y) of a line chart, so that no marker is on its edge. */
const X_HEADROOM = 1.08;
/** Where along y = x its label sits, as a share of the line. */
const DIAGONAL_LABEL_AT = 0.45;
/** Milestones of a log scale: readable values whatever the decade. */
const LOG_STEPS = [
  0, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000,
];

export type Outcome = 'pass' | 'fail' | 'inconclusive';
type Shape = 'circle' | 'square' | 'diamond' | 'triangle' | 'cross';

/** Percentile markers in series order, and the outcome markers. */
const SERIES_SHAPES: readonly Shape[] = ['circle', 'diamond', 'square', 'triangle'];
const OUTCOME_SHAPES: Readonly<Record<Outcome, Shape>> = {
  pass: 'circle',
  fail: 'cross',
  inconclusive: 'triangle',
};

/** Coordinates to one decimal: enough for the eye, short in the file. */
const px = (value: number) => Math.round(value * 10) / 10;
const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value));
const finite = (values: readonly number[]) => values.filter((v) => Number.isFinite(v));

/** 12,500 as 12.5k, 2,000,000 as 2M: the axes' labels. */
export function compact(value: number): string {
  const trim = (v: number) => String(Math.round(v * 100) / 100);
  if (Math.abs(value) >= 1e6) return `${trim(value / 1e6)}M`;
  if (Math.abs(value) >= 1e3) return `${trim(value / 1e3)}k`;
  return trim(value);
}

/** Text cut to fit `width` px, with an ellipsis; the tooltip holds the whole. */
function clipped(text: string, width: number): string {
  const chars = Math.max(4, Math.floor(width / CHAR_WIDTH));
  return text.length <= chars ? text : `${text.slice(0, chars - 1)}…`;
}

const textWidth = (texts: readonly string[], min: number, max: number) =>
  clamp(Math.max(0, ...texts.map((t) => t.length)) * CHAR_WIDTH + 14, min, max);

interface Axis {
  /** The value's position in px along the axis. */
  readonly at: (value: number) => number;
  readonly ticks: readonly number[];
}

/** 0 to a round number at or above `max`, with about LINEAR_TICKS ticks of 1, 2 or 5 × 10^n. */
function linearAxis(max: number, from: number, to: number): Axis {
  const top = max > 0 && Number.isFinite(max) ? max : 1;
  const raw = top / LINEAR_TICKS;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / magnitude;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * magnitude;
  const end = Math.ceil(top / step - 1e-9) * step;
  const ticks = Array.from({ length: Math.round(end / step) + 1 }, (_, i) => i * step);
  return { at: (v) => from + (clamp(v, 0, end) / end) * (to - from), ticks };
}

/**
 * A logarithmic axis that keeps 0 (log(1 + v)): latencies span 0 to hundreds of ms, and
 * autocannon records whole ms, so many of them are 0.
 */
function log1pAxis(max: number, from: number, to: number, gap: number): Axis {
  const top = LOG_STEPS.find((s) => s >= max && s >= 1) ?? Math.max(1, max);
  const span = Math.log1p(top);
  const at = (v: number) => from + (Math.log1p(clamp(v, 0, top)) / span) * (to - from);
  // The axis' ends first, then powers of 10, then 5 and 2 × 10^n where they have room.
  const rank = (v: number) =>
    v === 0 || v === top
      ? 0
      : Number.isInteger(Math.log10(v))
        ? 1
        : String(v).startsWith('5')
          ? 2
          : 3;
  const ticks: number[] = [];
  for (const step of LOG_STEPS.filter((v) => v <= top).sort((x, y) => rank(x) - rank(y))) {
    if (ticks.every((t) => Math.abs(at(step) - at(t)) >= gap)) ticks.push(step);
  }
  ticks.sort((x, y) => x - y);
  return { at, ticks };
}

function marker(shape: Shape, x: number, y: number, className: string): Markup {
  const s = MARKER_SIZE;
  const [cx, cy] = [px(x), px(y)];
  switch (shape) {
    case 'circle':
      return html`<circle class="${className}" cx="${cx}" cy="${cy}" r="${s}"/>`;
    case 'square':
      return html`<rect class="${className}" x="${px(x - s)}" y="${px(y - s)}" width="${2 * s}" height="${2 * s}"/>`;
    case 'diamond':
      return html`<path class="${className}" d="M${cx} ${px(y - s * 1.3)}L${px(x + s * 1.3)} ${cy}L${cx} ${px(y + s * 1.3)}L${px(x - s * 1.3)} ${cy}Z"/>`;
    case 'triangle':
      return html`<path class="${className}" d="M${cx} ${px(y - s * 1.3)}L${px(x + s * 1.2)} ${px(y + s)}L${px(x - s * 1.2)} ${px(y + s)}Z"/>`;
    case 'cross':
      return html`<path class="${className} cross" d="M${px(x - s)} ${px(y - s)}L${px(x + s)} ${px(y + s)}M${px(x + s)} ${px(y - s)}L${px(x - s)} ${px(y + s)}"/>`;
  }
}

/** A legend's swatch: a marker, a short line or a ring, drawn as the chart draws it. */
function swatch(
  kind: { shape: Shape } | { line: true } | { ring: true },
  className: string,
): Markup {
  const inner =
    'shape' in kind
      ? marker(kind.shape, 8, 8, className)
      : 'line' in kind
        ? html`<path class="${className}" d="M1 8H15"/>`
        : html`<circle class="${className}" cx="8" cy="8" r="${HALO_RADIUS - 1}"/>`;
  return html`<svg class="swatch" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">${inner}</svg>`;
}

export interface LegendItem {
  readonly label: string;
  readonly swatch: Markup;
}

/**
 * The chart with its title, legend and note. A wide chart keeps a readable size on a narrow
 * screen and scrolls sideways instead, by keyboard too.
 */
function figure(
  name: string,
  title: string,
  svg: Markup,
  legend: readonly LegendItem[],
  wide: boolean,
  note = '',
): Markup {
  const items = legend.map((item) => html`<li>${item.swatch}<span>${item.label}</span></li>`);
  const drawing = wide
    ? html`<div class="chart-scroll" role="region" aria-label="${title}" tabindex="0">${svg}</div>`
    : svg;
  return html`<figure class="chart-figure figure-${name}">
<figcaption>${title}</figcaption>
${legend.length > 0 ? html`<ul class="legend">${items}</ul>` : ''}
${drawing}
${note ? html`<p class="chart-note">${note}</p>` : ''}
</figure>`;
}

function xTicks(axis: Axis, top: number, bottom: number, format: (v: number) => string): Markup {
  return html`<g class="axis">${axis.ticks.map(
    (t) =>
      html`<line class="grid" x1="${px(axis.at(t))}" x2="${px(axis.at(t))}" y1="${px(top)}" y2="${px(bottom)}"/><text x="${px(axis.at(t))}" y="${px(bottom + 16)}" text-anchor="middle">${format(t)}</text>`,
  )}</g>`;
}

export interface BarRow {
  readonly label: string;
  readonly value: number;
  /** The runs' lowest and highest value: a whisker when they differ. */
  readonly low: number;
  readonly high: number;
  /** Beside the bar, e.g. the value and its ratio to the baseline. */
  readonly annotation: string;
  readonly tooltip: string;
  /** Drawn as the baseline rather than as a measured bar. */
  readonly baseline?: boolean;
}

export interface BarChartSpec {
  /** Names the chart's classes (chart-<name>). */
  readonly name: string;
  readonly title: string;
  readonly axisLabel: string;
  readonly rows: readonly BarRow[];
  /** A value drawn across every row, with its runs' spread as a band: the baseline. */
  readonly reference?: {
    readonly value: number;
    readonly low: number;
    readonly high: number;
    readonly label: string;
  };
  readonly legend?: readonly LegendItem[];
  readonly note?: string;
}

/** Where a chart of one row per label puts its labels, plot, annotations and axis. */
function rowLayout(
  rows: readonly { readonly label: string; readonly annotation: string }[],
  top: number,
) {
  const labelWidth = textWidth(
    rows.map((r) => r.label),
    LABEL_WIDTH_MIN,
    LABEL_WIDTH_MAX,
  );
  const annotationWidth = textWidth(
    rows.map((r) => r.annotation),
    ANNOTATION_WIDTH_MIN,
    ANNOTATION_WIDTH_MAX,
  );
  const bottom = top + rows.length * ROW_HEIGHT;
  return {
    labelWidth,
    annotationWidth,
    left: labelWidth,
    right: WIDE_WIDTH - annotationWidth,
    top,
    bottom,
    height: bottom + 44,
  };
}

/** A horizontal bar per row, on a linear axis from 0. */
export function barChart(spec: BarChartSpec): Markup {
  const { rows, reference } = spec;
  const { labelWidth, annotationWidth, left, right, top, bottom, height } = rowLayout(
    rows,
    reference ? 30 : 10,
  );
  const max = Math.max(
    0,
    ...finite(rows.flatMap((r) => [r.value, r.high])),
    ...finite(reference ? [reference.high, reference.value] : []),
  );
  const axis = linearAxis(max, left, right);
  const rowMarkup = rows.map((r, i) => {
    const cy = top + i * ROW_HEIGHT + ROW_HEIGHT / 2;
    const value = Number.isFinite(r.value) ? r.value : 0;
    const width = Math.max(BAR_WIDTH_MIN, axis.at(value) - left);
    const [low, high] = [axis.at(r.low), axis.at(r.high)];
    const whisker =
      Number.isFinite(r.low) && Number.isFinite(r.high) && high - low >= 1
        ? html`<path class="whisker" d="M${px(low)} ${px(cy)}H${px(high)}M${px(low)} ${px(cy - 5)}V${px(cy + 5)}M${px(high)} ${px(cy - 5)}V${px(cy + 5)}"/>`
        : '';
    return html`<g class="row${r.baseline ? ' baseline' : ''}" data-label="${r.label}">
<title>${r.tooltip}</title>
${i % 2 === 1 ? html`<rect class="stripe" x="0" y="${px(cy - ROW_HEIGHT / 2)}" width="${WIDE_WIDTH}" height="${ROW_HEIGHT}"/>` : ''}
<text class="label" x="${px(left - 8)}" y="${px(cy)}" dy="0.35em" text-anchor="end">${clipped(r.label, labelWidth - 14)}</text>
<rect class="bar" x="${px(left)}" y="${px(cy - BAR_HEIGHT / 2)}" width="${px(width)}" height="${BAR_HEIGHT}" rx="2"/>
${whisker}
<text class="annotation" x="${px(right + 10)}" y="${px(cy)}" dy="0.35em">${clipped(r.annotation, annotationWidth - 14)}</text>
</g>`;
  });
  let referenceMarkup: Markup | string = '';
  if (reference && Number.isFinite(reference.value)) {
    const x = axis.at(reference.value);
    const [low, high] = [axis.at(reference.low), axis.at(reference.high)];
    const anchor = x > (left + right) / 2 ? 'end' : 'start';
    referenceMarkup = html`<g class="reference">
<rect class="band" x="${px(low)}" y="${px(top - 4)}" width="${px(Math.max(0, high - low))}" height="${px(bottom - top + 8)}"/>
<line class="ref" x1="${px(x)}" x2="${px(x)}" y1="${px(top - 8)}" y2="${px(bottom + 4)}"/>
<text class="ref-label" x="${px(x + (anchor === 'end' ? -6 : 6))}" y="${px(top - 12)}" text-anchor="${anchor}">${reference.label}</text>
</g>`;
  }
  const svg = html`<svg class="chart chart-wide chart-${spec.name}" viewBox="0 0 ${WIDE_WIDTH} ${px(height)}" role="img" aria-label="${spec.title}">
${xTicks(axis, top, bottom, compact)}
${referenceMarkup}
<g class="rows">${rowMarkup}</g>
<text class="axis-label" x="${px((left + right) / 2)}" y="${px(bottom + 36)}" text-anchor="middle">${spec.axisLabel}</text>
</svg>`;
  return figure(spec.name, spec.title, svg, spec.legend ?? [], true, spec.note);
}

export interface RangeRow {
  readonly label: string;
  /** One value per series; NaN leaves its marker out. */
  readonly values: readonly number[];
  readonly annotation: string;
  readonly tooltip: string;
}

export interface RangeChartSpec {
  readonly name: string;
  readonly title: string;
  readonly axisLabel: string;
  /** The markers' names, e.g. p50, p99. */
  readonly series: readonly string[];
  readonly rows: readonly RangeRow[];
  readonly note?: string;
}

/** A row of markers per row, joined from the lowest to the highest, on a log axis from 0. */
export function rangeChart(spec: RangeChartSpec): Markup {
  const { rows } = spec;
  const { labelWidth, annotationWidth, left, right, top, bottom, height } = rowLayout(rows, 10);
  const axis = log1pAxis(
    Math.max(0, ...finite(rows.flatMap((r) => r.values))),
    left,
    right,
    TICK_GAP_MIN_X,
  );
  const rowMarkup = rows.map((r, i) => {
    const cy = top + i * ROW_HEIGHT + ROW_HEIGHT / 2;
    const present = finite(r.values);
    const range =
      present.length > 1
        ? html`<line class="range" x1="${px(axis.at(Math.min(...present)))}" x2="${px(axis.at(Math.max(...present)))}" y1="${px(cy)}" y2="${px(cy)}"/>`
        : '';
    const markers = r.values.map((v, s) =>
      Number.isFinite(v)
        ? marker(SERIES_SHAPES[s % SERIES_SHAPES.length] ?? 'circle', axis.at(v), cy, `point m${s}`)
        : '',
    );
    return html`<g class="row" data-label="${r.label}">
<title>${r.tooltip}</title>
${i % 2 === 1 ? html`<rect class="stripe" x="0" y="${px(cy - ROW_HEIGHT / 2)}" width="${WIDE_WIDTH}" height="${ROW_HEIGHT}"/>` : ''}
<text class="label" x="${px(left - 8)}" y="${px(cy)}" dy="0.35em" text-anchor="end">${clipped(r.label, labelWidth - 14)}</text>
${range}${markers}
<text class="annotation" x="${px(right + 10)}" y="${px(cy)}" dy="0.35em">${clipped(r.annotation, annotationWidth - 14)}</text>
</g>`;
  });
  const svg = html`<svg class="chart chart-wide chart-${spec.name}" viewBox="0 0 ${WIDE_WIDTH} ${px(height)}" role="img" aria-label="${spec.title}">
${xTicks(axis, top, bottom, compact)}
<g class="rows">${rowMarkup}</g>
<text class="axis-label" x="${px((left + right) / 2)}" y="${px(bottom + 36)}" text-anchor="middle">${spec.axisLabel}</text>
</svg>`;
  const legend = spec.series.map((label, s) => ({
    label,
    swatch: swatch({ shape: SERIES_SHAPES[s % SERIES_SHAPES.length] ?? 'circle' }, `point m${s}`),
  }));
  return figure(spec.name, spec.title, svg, legend, true, spec.note);
}

export interface LinePoint {
  readonly x: number;
  readonly y: number;
  readonly outcome: Outcome;
  readonly tooltip: string;
}

export interface LineSeries {
  readonly name: string;
  readonly points: readonly LinePoint[];
  /** Joined by a line in x order; otherwise markers alone, each in a ring. */
  readonly connected: boolean;
  /** The colour class (s0, s1, …): a series that belongs with another shares it. */
  readonly colour: number;
}

export interface LineChartSpec {
  readonly name: string;
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly yScale: 'linear' | 'log1p';
  readonly series: readonly LineSeries[];
  /** Draws y = x, e.g. achieved equal to offered. */
  readonly diagonal?: { readonly label: string };
  /** A horizontal limit, e.g. the latency budget. */
  readonly threshold?: { readonly y: number; readonly label: string };
}

/** Points on linear x, linear or log y; markers shaped by outcome, lines coloured by series. */
export function lineChart(spec: LineChartSpec): Markup {
  const [left, right, top, bottom] = [58, LINE_WIDTH - 14, 16, LINE_HEIGHT - 46];
  const points = spec.series.flatMap((s) => s.points);
  const xMax = Math.max(0, ...finite(points.map((p) => p.x)));
  const yMax = Math.max(
    0,
    ...finite(points.map((p) => p.y)),
    ...(spec.diagonal ? [xMax] : []),
    ...(spec.threshold ? [spec.threshold.y] : []),
  );
  const xAxis = linearAxis(xMax * X_HEADROOM, left, right);
  // Upwards: the axis runs from the bottom edge to the top one.
  const yAxis =
    spec.yScale === 'log1p'
      ? log1pAxis(yMax, bottom, top, TICK_GAP_MIN_Y)
      : linearAxis(yMax * X_HEADROOM, bottom, top);
  const yTicks = html`<g class="axis">${yAxis.ticks.map(
    (t) =>
      html`<line class="grid" x1="${left}" x2="${right}" y1="${px(yAxis.at(t))}" y2="${px(yAxis.at(t))}"/><text x="${left - 6}" y="${px(yAxis.at(t))}" dy="0.35em" text-anchor="end">${compact(t)}</text>`,
  )}</g>`;
  let diagonal: Markup | string = '';
  if (spec.diagonal) {
    const end = Math.min(
      xAxis.ticks[xAxis.ticks.length - 1] ?? 0,
      yAxis.ticks[yAxis.ticks.length - 1] ?? 0,
    );
    const label = end * DIAGONAL_LABEL_AT;
    // Above the line, on its left: the measured points lie on it or under it.
    diagonal = html`<line class="diagonal" x1="${px(xAxis.at(0))}" y1="${px(yAxis.at(0))}" x2="${px(xAxis.at(end))}" y2="${px(yAxis.at(end))}"/><text class="ref-label" x="${px(xAxis.at(label) - 6)}" y="${px(yAxis.at(label) - 6)}" text-anchor="end">${spec.diagonal.label}</text>`;
  }
  let threshold: Markup | string = '';
  if (spec.threshold) {
    const y = yAxis.at(spec.threshold.y);
    threshold = html`<line class="threshold" x1="${left}" x2="${right}" y1="${px(y)}" y2="${px(y)}"/><text class="ref-label" x="${left + 6}" y="${px(y - 5)}">${spec.threshold.label}</text>`;
  }
  const series = spec.series.map((s) => {
    const sorted = [...s.points]
      .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
      .sort((a, b) => a.x - b.x);
    const path = sorted
      .map((p, i) => `${i === 0 ? 'M' : 'L'}${px(xAxis.at(p.x))} ${px(yAxis.at(p.y))}`)
      .join('');
    const line = s.connected && sorted.length > 1 ? html`<path class="line" d="${path}"/>` : '';
    const markers = sorted.map((p) => {
      const [x, y] = [xAxis.at(p.x), yAxis.at(p.y)];
      const halo = s.connected
        ? ''
        : html`<circle class="halo" cx="${px(x)}" cy="${px(y)}" r="${HALO_RADIUS}"/>`;
      return html`<g class="point-group"><title>${p.tooltip}</title>${halo}${marker(OUTCOME_SHAPES[p.outcome], x, y, `point ${p.outcome}`)}</g>`;
    });
    return html`<g class="series s${s.colour}" data-series="${s.name}">${line}${markers}</g>`;
  });
  const svg = html`<svg class="chart chart-line chart-${spec.name}" viewBox="0 0 ${LINE_WIDTH} ${LINE_HEIGHT}" role="img" aria-label="${spec.title}">
${xTicks(xAxis, top, bottom, compact)}
${yTicks}
${diagonal}${threshold}
${series}
<text class="axis-label" x="${px((left + right) / 2)}" y="${bottom + 38}" text-anchor="middle">${spec.xLabel}</text>
<text class="axis-label" transform="translate(14 ${px((top + bottom) / 2)}) rotate(-90)" text-anchor="middle">${spec.yLabel}</text>
</svg>`;
  const seen = new Set<number>();
  const legend: LegendItem[] = [];
  for (const s of spec.series.filter((x) => x.connected)) {
    if (seen.has(s.colour)) continue;
    seen.add(s.colour);
    legend.push({ label: s.name, swatch: swatch({ line: true }, `line s${s.colour}`) });
  }
  for (const s of spec.series.filter((x) => !x.connected && x.points.length > 0)) {
    legend.push({ label: s.name, swatch: swatch({ ring: true }, `halo s${s.colour}`) });
  }
  const outcomes = new Set(points.map((p) => p.outcome));
  for (const outcome of ['pass', 'fail', 'inconclusive'] as const) {
    if (outcomes.has(outcome)) {
      legend.push({
        label: outcome,
        swatch: swatch({ shape: OUTCOME_SHAPES[outcome] }, `point ${outcome}`),
      });
    }
  }
  return figure(spec.name, spec.title, svg, legend, false);
}
