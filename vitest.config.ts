import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{common,main,electron,renderer,bench}/**/*.test.{ts,tsx}'],
    exclude: ['node_modules', 'dist', 'e2e'],
    // Native modules (onnxruntime, better-sqlite3, sharp) are safest in forked processes.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
