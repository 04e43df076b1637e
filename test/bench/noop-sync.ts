// 2. No-op sync and status (issue 6): the stacks already running, nothing to do. `mooring sync` and
// `mooring status` against `docker-compose up -d` and `docker-compose ps` on the same services, each a
// new process as a user runs it. The CLI's start alone is cli-start's (section 12).
import {
  check,
  progress,
  projectContainers,
  ratio,
  sleep,
  spread,
  stats,
  table,
  times,
  type BenchOutput,
  type Size,
  type TargetCheck,
} from './lib.ts';
import { stackFixture } from './stack-fixture.ts';

const PLAN: Record<Size, { services: number[]; trials: number }> = {
  full: { services: [20, 100], trials: 10 },
  small: { services: [3], trials: 1 },
};

async function ids(project: string): Promise<string> {
  return (await projectContainers(project))
    .map((c) => c.Id)
    .sort()
    .join(',');
}

export async function noopSync(size: Size): Promise<BenchOutput> {
  const plan = PLAN[size];
  const numbers: Record<string, number[]> = {};
  const rows: string[][] = [];
  const targets: TargetCheck[] = [];

  for (const n of plan.services) {
    const f = await stackFixture(`noop${n}`, { services: n, ports: true });
    const sync: number[] = [];
    const status: number[] = [];
    const up: number[] = [];
    const ps: number[] = [];
    try {
      await f.mooring(['sync']);
      await f.compose(['up', '-d']);
      const before = { m: await ids(f.names.mooring), c: await ids(f.names.compose) };
      await sleep(size === 'full' ? 2000 : 200);
      for (let t = 0; t < plan.trials; t++) {
        const steps: [number[], () => Promise<{ ms: number }>][] = [
          [sync, () => f.mooring(['sync'])],
          [status, () => f.mooring(['status'])],
          [up, () => f.compose(['up', '-d'])],
          [ps, () => f.compose(['ps'])],
        ];
        for (let k = 0; k < steps.length; k++) {
          const [into, step] = steps[(k + t) % steps.length]!;
          into.push((await step()).ms);
        }
      }
      // A no-op must be one: no container was replaced by either tool.
      if ((await ids(f.names.mooring)) !== before.m) throw new Error('mooring sync replaced containers');
      if ((await ids(f.names.compose)) !== before.c) throw new Error('docker-compose up replaced containers');
      progress(
        `no-op N=${n}: sync ${Math.round(stats(sync).median)} ms, status ${Math.round(stats(status).median)} ms, up ${Math.round(stats(up).median)} ms, ps ${Math.round(stats(ps).median)} ms`,
      );
    } finally {
      await f.close();
    }
    numbers[`mooring sync (no-op) N=${n}`] = sync;
    numbers[`mooring status N=${n}`] = status;
    numbers[`docker-compose up -d (no-op) N=${n}`] = up;
    numbers[`docker-compose ps N=${n}`] = ps;
    const rs = ratio(stats(sync).median, stats(up).median);
    const rp = ratio(stats(status).median, stats(ps).median);
    rows.push([`${n}`, '`mooring sync` / `docker-compose up -d`', spread(sync), spread(up), times(rs)]);
    rows.push([`${n}`, '`mooring status` / `docker-compose ps`', spread(status), spread(ps), times(rp)]);
    targets.push(
      check(`no-op sync N=${n}: Mooring / compose`, '≤ 0.50×', times(rs), rs <= 0.5),
      check(`status N=${n}: Mooring / compose ps`, '≤ 0.50×', times(rp), rp <= 0.5),
    );
  }

  const section = `## 2. No-op sync and status

The same stacks as above already running (deployed by each tool), nothing to change. Each command is a new
process, as a user runs it; no container may be replaced (checked by id after the trials).

${table(['N', 'command (Mooring / compose)', 'Mooring', 'compose', 'ratio'], rows)}

Target: Mooring ≤ 0.50× compose. What of this is the CLI's own start: section 12.
`;
  return { id: 'noop-sync', title: 'No-op sync and status', section, numbers, targets };
}
