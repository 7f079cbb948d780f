/**
 * The vitest config Stryker runs (stryker.config.mjs): the project's config narrowed to the unit and property
 * tests without a local stack. Integration suites bind servers, start fauxqs/dynalite and spawn bundles;
 * repeated per mutant on a shared 2-core machine they would turn a folder's run from minutes into hours.
 */
import { defineConfig } from 'vitest/config';
import base from '../../vitest.config.ts';

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    // Replaces the project's include (mergeConfig would append to it).
    include: ['test/unit/**/*.test.ts', 'test/property/**/*.test.ts'],
    // The reliability suites run the local stack (fauxqs, the Graph fake) for seconds each: rerun for every
    // mutant they cover, they made lib/meta/ a 90-minute run. The corpus and fuzz properties stay.
    exclude: [...(base.test?.exclude ?? []), 'test/property/reliability-*.test.ts'],
    // One worker: Stryker already runs one sandbox per core it was given (concurrency).
    maxWorkers: 1,
  },
});
