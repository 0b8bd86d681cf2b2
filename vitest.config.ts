import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['tests/functions/**/*.test.ts', 'tests/stack/**/*.test.ts', 'tests/e2e/**/*.test.ts'],
    setupFiles: ['tests/fixtures/deno-shim.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // Suites share one database; running files one at a time keeps fixtures independent.
    fileParallelism: false,
  },
})
