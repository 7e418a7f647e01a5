import { defineConfig } from 'vitest/config'

// Unit specs sit beside the code they test; end-to-end tests in test/ run against a real Kafka that
// test/setup/kafka.ts starts once through the testkit (or KAFKA_BROKERS, when set).
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
          globalSetup: ['test/setup/kafka.ts'],
          testTimeout: 120_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
})
