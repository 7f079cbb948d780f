import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests bind real servers on 127.0.0.1; 2-core CI machines prefer few workers.
    maxWorkers: 2,
  },
});
