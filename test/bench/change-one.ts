// 3. Change one service of a 100-service stack (issue 6): one service's environment changes; only
// that container may be recreated (checked by container id, for both tools). Mooring gets the change
// as a commit on its http source (`mooring fetch`, timed apart), compose as the edited file.
import {
  check,
  progress,
  projectContainers,
  ratio,
  serviceName,
  sleep,
  spread,
  stats,
  table,
  times,
  type BenchOutput,
  type Size,
} from './lib.ts';
import { stackFixture } from './stack-fixture.ts';

const PLAN: Record<Size, { services: number; trials: number }> = {
  full: { services: 100, trials: 5 },
  small: { services: 3, trials: 1 },
};

/** Container id by service. */
async function byService(project: string): Promise<Map<string, string>> {
  return new Map(
    (await projectContainers(project)).map((c) => [c.Labels['com.docker.compose.service'] ?? '', c.Id]),
  );
}

function changed(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...after].filter(([s, id]) => before.get(s) !== id).map(([s]) => s);
}

export async function changeOne(size: Size): Promise<BenchOutput> {
  const { services: n, trials } = PLAN[size];
  const target = serviceName(Math.floor(n / 2));
  const f = await stackFixture(`chg${n}`, { services: n, ports: true });
  const fetch: number[] = [];
  const sync: number[] = [];
  const up: number[] = [];
  try {
    await f.mooring(['sync']);
    await f.compose(['up', '-d']);
    for (let t = 1; t <= trials; t++) {
      await sleep(size === 'full' ? 1500 : 100);
      await f.update((i): Record<string, string> =>
        serviceName(i) === target ? { BENCH_TRIAL: String(t) } : {},
      );
      const before = { m: await byService(f.names.mooring), c: await byService(f.names.compose) };
      const order = t % 2 === 0 ? ['c', 'm'] : ['m', 'c'];
      for (const tool of order) {
        if (tool === 'm') {
          fetch.push((await f.mooring(['fetch'])).ms);
          sync.push((await f.mooring(['sync'])).ms);
        } else {
          up.push((await f.compose(['up', '-d'])).ms);
        }
      }
      const m = changed(before.m, await byService(f.names.mooring));
      const c = changed(before.c, await byService(f.names.compose));
      if (m.join() !== target)
        throw new Error(`mooring sync recreated ${m.join(', ') || 'nothing'}, not ${target}`);
      if (c.join() !== target)
        throw new Error(`docker-compose recreated ${c.join(', ') || 'nothing'}, not ${target}`);
      if ((await f.running(f.names.mooring)) !== n || (await f.running(f.names.compose)) !== n) {
        throw new Error('not every container is running after the change');
      }
      progress(
        `change one of ${n} trial ${t}/${trials}: mooring fetch ${Math.round(fetch.at(-1)!)} ms + sync ${Math.round(sync.at(-1)!)} ms, compose ${Math.round(up.at(-1)!)} ms`,
      );
    }
  } finally {
    await f.close();
  }
  const r = ratio(stats(sync).median, stats(up).median);
  const rf = ratio(stats(sync).median + stats(fetch).median, stats(up).median);
  const section = `## 3. Change one service of a ${n}-service stack

One service's environment changes (a new value each trial). Mooring gets it as a commit pushed to its http
source, compose as the edited file. After each trial only that service's container has a new id, for both
tools (checked), and all ${n} run.

${table(
  ['command', 'wall time', 'vs `docker-compose up -d`'],
  [
    ['`mooring sync` (after the fetch)', spread(sync), times(r)],
    ['`mooring fetch` (the commit from the git server)', spread(fetch), '—'],
    ['`mooring fetch` + `mooring sync`', '—', times(rf)],
    ['`docker-compose up -d`', spread(up), '1.00×'],
  ],
)}

No target in the issue beyond "only that container is recreated", which holds.
`;
  return {
    id: 'change-one',
    title: 'Change one service',
    section,
    numbers: {
      [`mooring sync N=${n}`]: sync,
      [`mooring fetch N=${n}`]: fetch,
      [`docker-compose up -d N=${n}`]: up,
    },
    targets: [check(`change one of ${n}: only that container recreated`, 'only 1', 'only 1', true)],
  };
}
