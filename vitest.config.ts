import { defineConfig } from 'vitest/config'

// Unit specs sit beside the code they test; end-to-end tests in test/ run against a real Kafka that
// test/setup/kafka.ts starts once through the testkit (or KAFKA_BROKERS, when set); the packaging test
// installs the packed packages into a project outside the monorepo.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.spec.ts'],
          // Type-level tests (*.test-d.ts) are checked by tsc as part of the run.
          typecheck: { enabled: true, include: ['packages/*/src/**/*.test-d.ts'], tsconfig: './tsconfig.typecheck.json' },
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts'],
          exclude: ['test/packaging.test.ts'],
          globalSetup: ['test/setup/kafka.ts'],
          testTimeout: 120_000,
          hookTimeout: 240_000,
        },
      },
      {
        // The packed packages installed outside the monorepo (npm pack, npm install, tsc): no Kafka needed.
        test: {
          name: 'packaging',
          include: ['test/packaging.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
})
