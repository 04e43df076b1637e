// Keeps every benchmark under test/bench/ working (issue 6): each runs once at its small size against
// the real engine, the git server and (for the UI) Chromium. Nothing here looks at a time: a benchmark
// passes when it finishes and reports what it measured. `npm run bench` runs them at full size.
import { afterAll, describe, expect, it } from 'vitest';
import { dockerOk } from '../helpers/docker.ts';
import { cleanupBench, RUN_PREFIX, type Benchmark } from '../bench/lib.ts';
import { BENCHMARKS } from '../bench/registry.ts';

const haveDocker = await dockerOk();
if (!haveDocker)
  console.warn(
    'SKIPPED benchmark smoke tests: no Docker engine answers (run scripts/setup-test-env.sh as root).',
  );

async function smoke(run: Benchmark): Promise<void> {
  const out = await run('small');
  expect(out.section).toMatch(/^## /);
  expect(Object.keys(out.numbers).length).toBeGreaterThan(0);
  for (const values of Object.values(out.numbers)) {
    for (const v of values) expect(Number.isFinite(v)).toBe(true);
  }
}

describe.skipIf(!haveDocker)('benchmarks at the small size', () => {
  afterAll(async () => {
    await cleanupBench(RUN_PREFIX);
  });

  for (const b of BENCHMARKS) {
    it(
      b.id,
      async () => {
        await smoke(b.run);
      },
      60_000,
    );
  }
});
