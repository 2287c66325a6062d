// The scale bench's report: each mode's req/s against the direct single process of the same run.
import { expect, test } from 'vitest';
import { renderScale, SCALE_SCENARIOS } from './scale.ts';

test('each mode of each load is paired with its baseline of the same run, medians over runs', () => {
  expect(SCALE_SCENARIOS.map((s) => [s.name, s.baseline, s.server])).toEqual([
    ['shop-mixed-haproxy-2', 'shop-mixed', 'balanced'],
    ['wallet-uniform-haproxy-2', 'wallet-uniform', 'balanced'],
    ['shop-mixed-pgbouncer', 'shop-mixed', 'pooled'],
    ['wallet-uniform-pgbouncer', 'wallet-uniform', 'pooled'],
  ]);
  const measurements = [
    { run: 1, scenario: 'shop-mixed', rps: 1_000 },
    { run: 1, scenario: 'shop-mixed-haproxy-2', rps: 1_500 },
    { run: 2, scenario: 'shop-mixed', rps: 2_000 },
    { run: 2, scenario: 'shop-mixed-haproxy-2', rps: 1_000 },
    { run: 3, scenario: 'shop-mixed', rps: 1_000 },
    { run: 3, scenario: 'shop-mixed-haproxy-2', rps: 1_200 },
  ];
  const text = renderScale(measurements);
  // Per run 1.5, 0.5 and 1.2: a ratio of medians (3,700 / 4,000) would say 0.92.
  expect(text).toContain(
    'shop-mixed-haproxy-2         1.20× shop-mixed (per run: 1.50, 0.50, 1.20)',
  );
  expect(text).not.toContain('wallet-uniform');
  expect(renderScale([])).toBe('');
});
