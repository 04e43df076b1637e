import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'electron/**/*.test.ts'],
    // Some tests run bin/mooring.mjs itself: its bundle is built from the current sources first.
    globalSetup: ['test/helpers/build-cli.ts'],
    // Integration tests share one Docker engine and one git server: run files one at a time.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
