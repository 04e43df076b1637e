// Keeps every benchmark under test/bench/ working (issue 6): each runs once at its small size against
// the real engine, the git server and (for the UI) Chromium. Nothing here looks at a time: a benchmark
// passes when it finishes and reports what it measured. `npm run bench` runs them at full size.
import { afterAll, describe, expect, it } from 'vitest';
import { dockerOk } from '../helpers/docker.ts';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { failure } from '../bench/cold-sync.ts';
import {
  cleanupBench,
  freePorts,
  removeDir,
  ROOT,
  RUN_PREFIX,
  runOk,
  stackName,
  tempDir,
  type Benchmark,
} from '../bench/lib.ts';
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

describe.skipIf(!haveDocker)('the floor script', () => {
  // Issue 14, item 6: a refused request was reported as `var msg = new Error(`, the source line node
  // prints above an uncaught error. The engine's own message is what tells why.
  it("reports the engine's own message when the engine refuses a container", async () => {
    const dir = await tempDir('floor');
    const project = stackName('floor-refused');
    try {
      const [port] = await freePorts(1);
      const spec = path.join(dir, 'spec.json');
      // Two containers on one host port: the second start is refused by the engine.
      await writeFile(
        spec,
        JSON.stringify({
          project,
          network: `${project}_default`,
          image: 'local/busybox:1',
          containers: ['a', 'b'].map((s) => ({ name: `${project}-${s}-1`, service: s, port })),
        }),
      );
      const err = await runOk(process.execPath, [path.join(ROOT, 'test/bench/floor.mjs'), spec]).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err).not.toBeNull();
      const why = failure(err!.message);
      expect(why).toMatch(/^floor: 1 of 2 containers failed; first: .* start refused after [\d.]+ s \(500: /);
      expect(why).toContain(`${port} failed: port is already allocated`);
    } finally {
      await cleanupBench(project);
      await removeDir(dir);
    }
  }, 60_000);
});
