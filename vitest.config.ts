import { defineConfig } from 'vitest/config';

// Layers as projects, so each runs alone (`npm run test:unit`, ...) and `npm test` runs them all.
const layer = (name: string, include: string[], extra: Record<string, unknown> = {}) => ({
  extends: true as const,
  test: { name, include, ...extra },
});

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Schema files are read by drizzle-kit to write migrations; the service never runs them.
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      exclude: ['src/**/*.test.ts', 'src/**/*.schema.ts'],
    },
    projects: [
      layer('unit', ['src/**/*.test.ts', 'bench/**/*.test.ts']),
      layer('http', ['test/http/**/*.test.ts']),
      layer('integration', ['test/integration/**/*.test.ts']),
      layer('faults', ['test/faults/**/*.test.ts']),
      layer('browser', ['test/browser/**/*.test.ts']),
      layer('fuzz', ['test/fuzz/**/*.test.ts']),
      layer('scale', ['test/scale/**/*.test.ts']),
    ],
  },
});
