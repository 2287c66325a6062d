// The bench's HTML report in a real browser: rendered from a hand-built run (bench/report-sample.ts:
// a hello-world, two scenarios, an SLI search), written to a temporary file and opened from disk.
// It must load with no console error and no request but for the file itself, draw its charts
// (a bar per scenario, labelled with the ratio to hello-world; a latency row per scenario; a
// marker per SLI step), hold the given numbers in its tables, pass axe-core, and be saved as a
// screenshot under test-results/browser/.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { renderHtmlReport } from '../../bench/report-html.ts';
import { SAMPLE_SCENARIOS, sampleResults } from '../../bench/report-sample.ts';
import {
  axeViolations,
  describeWithChromium,
  launchChromium,
  SCREENSHOT_DIR,
} from '../support/browser.ts';

/** The report is one local file: it shows at once or not at all. */
const UI_TIMEOUT_MS = 5_000;
const VIEWPORT = { width: 1280, height: 900 };

describeWithChromium('bench HTML report in Chromium', () => {
  let directory: string;
  let url: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** Console errors and script errors: the page must have none. */
  const problems: string[] = [];
  /** Every URL the page requested. */
  const requested: string[] = [];
  const results = sampleResults();

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'bench-report-'));
    const file = join(directory, 'report.html');
    await writeFile(file, renderHtmlReport(results, { rawResults: 'sample.json' }));
    url = pathToFileURL(file).href;
    browser = await launchChromium();
    context = await browser.newContext({ viewport: VIEWPORT });
    page = await context.newPage();
    page.setDefaultTimeout(UI_TIMEOUT_MS);
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('request', (request) => requested.push(request.url()));
    await page.goto(url, { waitUntil: 'load' });
  });

  afterAll(async () => {
    await context?.close();
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  /** The chart's row of `scenario`. */
  const rowOf = (chart: string, scenario: string): Locator =>
    page.locator(`svg.chart-${chart} g.row[data-label="${scenario}"]`);

  /** A table's body rows as their cells' text. */
  const cellsOf = (table: string) =>
    page
      .locator(`table.table-${table} tbody tr`)
      .evaluateAll((rows) =>
        rows.map((row) => [...row.children].map((cell) => cell.textContent?.trim() ?? '')),
      );

  test('loads from disk with no console error and no request but for the file itself', async () => {
    await expect.poll(() => page.title()).toBe('coinworks bench — 2025-06-01 10:31:05 UTC');
    expect(problems).toEqual([]);
    expect(requested).toEqual([url]);
  });

  test('draws a bar per scenario, with its name and its ratio to hello-world beside it', async () => {
    const chart = page.locator('svg.chart-throughput');
    expect(await chart.isVisible()).toBe(true);
    expect(await chart.locator('rect.bar').count()).toBe(SAMPLE_SCENARIOS.length);
    expect(await chart.locator('g.row.baseline rect.bar').count()).toBe(1);
    const annotations: Record<string, string> = {
      hello: '57,600 req/s · baseline',
      'score-hit': '13,774 req/s · 0.24× hello',
      'shop-mixed': '4,535 req/s · 0.079× hello',
    };
    for (const scenario of SAMPLE_SCENARIOS) {
      const row = rowOf('throughput', scenario);
      const label = row.locator('text.label');
      expect(await label.textContent()).toBe(scenario);
      expect(await label.isVisible()).toBe(true);
      const annotation = row.locator('text.annotation');
      expect(await annotation.textContent()).toBe(annotations[scenario]);
      expect(await annotation.isVisible()).toBe(true);
      // Three runs that differ: each bar has its min–max whisker.
      expect(await row.locator('path.whisker').count()).toBe(1);
    }
    // Bars in proportion: score-hit's is 13,774 / 57,600 of hello's.
    const width = async (scenario: string) =>
      Number(await rowOf('throughput', scenario).locator('rect.bar').getAttribute('width'));
    expect((await width('score-hit')) / (await width('hello'))).toBeCloseTo(13_774 / 57_600, 2);
    // The baseline across every row, labelled with hello-world's median.
    expect(await chart.locator('.reference line.ref').count()).toBe(1);
    expect(await chart.locator('.reference text').textContent()).toBe('hello-world 57,600 req/s');
    // Each label is inside the drawing, not cut off at its edge.
    const box = await chart.boundingBox();
    const labelBox = await rowOf('throughput', 'shop-mixed').locator('text.label').boundingBox();
    expect(box && labelBox && labelBox.x >= box.x && labelBox.width > 0).toBe(true);
  });

  test('draws a latency row per scenario, with a marker per percentile', async () => {
    const chart = page.locator('svg.chart-latency');
    expect(await chart.isVisible()).toBe(true);
    for (const scenario of SAMPLE_SCENARIOS) {
      expect(await rowOf('latency', scenario).locator('.point').count()).toBe(4);
    }
    expect(await rowOf('latency', 'score-hit').locator('text.annotation').textContent()).toBe(
      'p50 3 · p99 9 · p99.9 14 ms',
    );
  });

  test('draws the SLI steps: a marker per step and the sustained run, by outcome', async () => {
    const steps = results.sli[0]?.steps ?? [];
    for (const name of ['sli-rate', 'sli-p99']) {
      const chart = page.locator(`svg.chart-${name}`);
      expect(await chart.isVisible()).toBe(true);
      expect(await chart.locator('.point').count()).toBe(steps.length + 1);
      expect(await chart.locator('.point.pass').count()).toBe(4);
      expect(await chart.locator('.point.fail').count()).toBe(1);
      expect(await chart.locator('.point.inconclusive').count()).toBe(1);
    }
    expect(await page.locator('svg.chart-sli-p99 text', { hasText: 'budget 50 ms' }).count()).toBe(
      1,
    );
  });

  test('holds the given numbers in the same tables the text report prints', async () => {
    expect(await cellsOf('results')).toEqual([
      ['hello', '57,600', '1.00', '0', '2', '4', '1,676,000', '0', '0', '0'],
      ['score-hit', '13,774', '0.24', '3', '9', '14', '402,740', '0', '0', '0'],
      ['shop-mixed', '4,535', '0.079', '10', '21', '29', '132,350', '0', '0', '0'],
    ]);
    expect(await cellsOf('runs')).toEqual([
      ['hello', '50,000 (1.00)', '57,600 (1.00)', '60,000 (1.00)'],
      ['score-hit', '12,000 (0.24)', '13,774 (0.24)', '14,500 (0.24)'],
      ['shop-mixed', '4,000 (0.080)', '4,535 (0.079)', '4,700 (0.078)'],
    ]);
    const database = await cellsOf('database-cpu');
    expect(database.map((row) => row.slice(0, 5))).toEqual([
      ['shop-mixed', '4,535', '0.62', '0.71', '0.45'],
    ]);
    const steps = await cellsOf('sli-steps');
    expect(steps.map((row) => row.slice(0, 4))).toEqual([
      ['1,000', 'pass', '1.1', '4.2'],
      ['2,000', 'pass', '1.7', '6.8'],
      ['3,000', 'fail', '22.1', '88.4'],
      ['2,500', 'pass', '4.3', '17.3'],
      ['2,750', 'inconclusive', '15.3', '61.0'],
      ['1,000 × 60 s', 'pass', '1.3', '5.3'],
    ]);
    expect((await cellsOf('sli-summary'))[0]?.slice(0, 4)).toEqual([
      'run 1',
      '5 s',
      '5',
      '2,500 req/s',
    ]);
  });

  test('lists the targets with pass, fail or inconclusive, and the notes', async () => {
    const verdicts = await page
      .locator('ul.verdicts li')
      .evaluateAll((items) => items.map((item) => item.textContent?.replace(/\s+/g, ' ').trim()));
    expect(verdicts).toEqual([
      'FAIL score-hit req/s >= 25 % of hello: median ratio 24.0 %',
      'PASS shop-* every answer 200, no errors: 132,350 answers, all 200',
      'INCONCLUSIVE shop-sli highest mixed rate with p99 <= 50 ms and every answer 200 >= 5,000 req/s: median 2,500 req/s',
    ]);
    expect(await page.locator('ul.notes li').allTextContents()).toEqual([
      'The machine was busy: a sample note.',
    ]);
    expect(await page.locator('dl.meta').textContent()).toContain('2 cores, Sample CPU @ 2.20GHz');
  });

  test('passes axe-core, and is kept as a screenshot', async () => {
    expect(await axeViolations(page, 'main')).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'bench-report.png'), fullPage: true });
    // axe ran in the page; it must not have made it fetch or fail anything.
    expect(problems).toEqual([]);
    expect(requested).toEqual([url]);
  });

  test('passes axe-core in its dark colours too', async () => {
    const dark = await browser.newContext({ viewport: VIEWPORT, colorScheme: 'dark' });
    try {
      const darkPage = await dark.newPage();
      await darkPage.goto(url, { waitUntil: 'load' });
      expect(await axeViolations(darkPage, 'main')).toEqual([]);
      await darkPage.screenshot({
        path: join(SCREENSHOT_DIR, 'bench-report-dark.png'),
        fullPage: true,
      });
    } finally {
      await dark.close();
    }
  });
});
