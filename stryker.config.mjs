// Mutation testing of the domain modules with the unit tests alone (`npm run test:mutation`; not
// part of `npm test`): every mutant of these files must be killed by a test that states a rule.
// Reports under reports/mutation/ (not committed): mutation.json and mutation.html.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  // Forks: a test that sets TZ (the admin token's) takes effect only in a process of its own.
  vitest: { configFile: 'vitest.mutation.config.ts', pool: 'forks' },
  coverageAnalysis: 'perTest',
  concurrency: 2,
  mutate: [
    'src/features/scoring/fields/*.ts',
    'src/features/scoring/scoring.score.ts',
    'src/features/scoring/scoring.auth.ts',
    'src/features/shop/shop.requests.ts',
    'src/platform/http/json.ts',
    'src/features/wallets/wallet.requests.ts',
    'src/features/wallets/wallet.batches.ts',
    'src/platform/breaker.ts',
    'src/platform/slots.ts',
    'src/platform/expiring-map.ts',
    'src/platform/batch-scheduler.ts',
    'src/platform/read-batches.ts',
    '!src/**/*.test.ts',
  ],
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  tempDirName: 'reports/mutation/.stryker-tmp',
  // The set's target is 90 %, each module's 85 %; the run reports, it does not fail.
  thresholds: { high: 90, low: 85, break: null },
};
