import { defineConfig } from 'vitest/config';

// The unit tests of src/ alone, for mutation testing (`npm run test:mutation`, stryker.config.mjs):
// Stryker runs them against each mutant, so nothing here may need a server.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 20_000,
  },
});
