// The HTML report's renderer without a browser: every string from a run is escaped wherever it
// lands (names, settings, targets, the SLI's reasons, the failure), the page fetches nothing, and
// the tables it shares with the text report read the same in both.
import { describe, expect, test } from 'vitest';
import { escapeHtml, html } from './markup.ts';
import { renderHtmlReport } from './report-html.ts';
import { sampleResults, sampleStep } from './report-sample.ts';
import { resultsTable, textTable } from './report-tables.ts';

const HOSTILE = '<script>alert("x")</script>';
const ESCAPED = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;';
const ATTRIBUTE_BREAK = `"' onmouseover="alert(1)`;

/** The sample with HOSTILE as a scenario's name and in every other free text the page shows. */
function hostileResults() {
  const sample = sampleResults();
  const rename = (name: string) => (name === 'score-hit' ? HOSTILE : name);
  const first = sample.sli[0];
  if (!first) throw new Error('the sample has an SLI run');
  return sampleResults({
    scenarios: sample.scenarios.map((s) => ({
      ...s,
      name: rename(s.name),
      description: `${s.description} ${ATTRIBUTE_BREAK}`,
    })),
    measurements: sample.measurements.map((m) => ({
      ...m,
      scenario: rename(m.scenario),
      report: { summary: `<img src=x onerror=alert(2)>` },
    })),
    rows: sample.rows.map((r) => ({ ...r, scenario: rename(r.scenario) })),
    verdicts: [{ target: `${HOSTILE} target`, pass: false, detail: '</li></ul><b>bold</b>' }],
    notes: ['<iframe src="https://example.com"></iframe>'],
    sli: [{ ...first, steps: [sampleStep(1_000, 'fail', 900, 70, `<svg onload=alert(3)>`)] }],
    environment: {
      ...sample.environment,
      cpuModel: '<marquee>cpu</marquee>',
      settings: { SCORING_KEY: `${ATTRIBUTE_BREAK}<script>` },
    },
    failed: `HarnessError: <script>boom()</script>`,
  });
}

describe('escaping', () => {
  test('escapeHtml escapes the five characters HTML gives meaning to', () => {
    expect(escapeHtml(`<a href="x">Tom & Jerry's</a>`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;',
    );
  });

  test('the tag escapes what it is given, and does not escape its own markup twice', () => {
    const inner = html`<b>${HOSTILE}</b>`;
    expect(html`<p title="${ATTRIBUTE_BREAK}">${inner}${[1, '<', null, false]}</p>`.text).toBe(
      `<p title="&quot;&#39; onmouseover=&quot;alert(1)"><b>${ESCAPED}</b>1&lt;</p>`,
    );
  });

  test('a scenario named <script> and hostile text everywhere else end up as text', () => {
    const page = renderHtmlReport(hostileResults(), { rawResults: '<x>.json' });
    // The page has no script of its own: any <script or handler would be from the input.
    expect(page).not.toMatch(/<script/i);
    expect(page).not.toMatch(/<(img|iframe|marquee|b)[\s>]/i);
    expect(page).not.toMatch(/<svg onload/i);
    // Every tag is its name and well-formed quoted attributes, none an event handler: a value
    // that broke out of its quotes would leave a stray attribute behind.
    const tags = page.match(/<[a-z][^>]*>/gi) ?? [];
    const stray = tags.filter(
      (tag) => !/^<[a-z][\w-]*\/?>$/i.test(tag.replace(/\s[\w:-]+="[^"<>]*"/g, '')),
    );
    expect(stray).toEqual([]);
    expect(tags.filter((tag) => /\son\w+=/i.test(tag))).toEqual([]);
    // Shown, escaped, in the bar chart's label, its tooltip, the tables and the targets.
    expect(page).toContain(`<text class="label"`);
    expect(page.split(ESCAPED).length - 1).toBeGreaterThanOrEqual(6);
    expect(page).toContain('&lt;img src=x onerror=alert(2)&gt;');
    expect(page).toContain('&lt;svg onload=alert(3)&gt;');
    expect(page).toContain('&lt;/li&gt;&lt;/ul&gt;&lt;b&gt;bold&lt;/b&gt;');
    expect(page).toContain('HarnessError: &lt;script&gt;boom()&lt;/script&gt;');
    expect(page).toContain('href="&lt;x&gt;.json"');
  });
});

describe('the page', () => {
  const page = renderHtmlReport(sampleResults(), { rawResults: 'sample.json' });

  test('is one document that loads nothing: no script, no external URL, a CSP saying so', () => {
    expect(page.startsWith('<!doctype html>')).toBe(true);
    expect(page).toContain(
      `content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`,
    );
    expect(page).not.toMatch(/<script|<link rel="stylesheet"|@import|url\(/i);
    // No element points anywhere but at the raw results beside it.
    expect(page).not.toMatch(/(src|href)="(https?:)?\/\//i);
  });

  test('has a bar per scenario, labelled with the ratio to the same run’s hello-world', () => {
    expect(page.match(/<rect class="bar"/g)).toHaveLength(3);
    expect(page).toContain('13,774 req/s · 0.24× hello');
    expect(page).toContain('4,535 req/s · 0.079× hello');
    expect(page).toContain('57,600 req/s · baseline');
  });

  test('renders a run with no SLI and a failure without the SLI section', () => {
    const failed = renderHtmlReport(
      sampleResults({ sli: [], verdicts: [], notes: [], failed: 'bench failed: interrupted' }),
    );
    expect(failed).not.toContain('id="sli"');
    expect(failed).toContain('The run failed');
    expect(failed).toContain('No target applies');
  });
});

test('the results table is the text report’s, as it always printed it', () => {
  const text = textTable(resultsTable(sampleResults().rows));
  expect(text.split('\n')).toEqual([
    'scenario     req/s  vs hello  p50 ms  p99 ms  p99.9 ms   requests  non-2xx  5xx  errors',
    '----------  ------  --------  ------  ------  --------  ---------  -------  ---  ------',
    'hello       57,600      1.00       0       2         4  1,676,000        0    0       0',
    'score-hit   13,774      0.24       3       9        14    402,740        0    0       0',
    'shop-mixed   4,535     0.079      10      21        29    132,350        0    0       0',
  ]);
});
