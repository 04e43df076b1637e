// 15. Swarm (issue 15): a stack of busybox services deployed as Swarm services on a single-node swarm
// (made here and left at the end when the engine was not in one), from scratch and again with nothing
// to do, and its status; beside `docker stack deploy` of the same file (timed until every one of its
// services runs, as Mooring's sync waits for) and `docker stack services`. Each command a new process.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  busyboxCompose,
  check,
  progress,
  ratio,
  runOk,
  spread,
  stats,
  table,
  times,
  type BenchOutput,
  type Size,
  type TargetCheck,
} from './lib.ts';
import { docker, removeSwarmStacks } from '../helpers/docker.ts';
import { stackFixture } from './stack-fixture.ts';

const PLAN: Record<Size, { services: number; trials: number }> = {
  full: { services: 50, trials: 2 },
  small: { services: 3, trials: 1 },
};

export async function swarm(size: Size): Promise<BenchOutput> {
  const plan = PLAN[size];
  const state = (await docker('info', '--format', '{{.Swarm.LocalNodeState}}')).trim();
  if (state !== 'inactive' && state !== 'active') throw new Error(`the engine's swarm state is ${state}`);
  const made = state === 'inactive';
  if (made) await docker('swarm', 'init', '--advertise-addr', '127.0.0.1');
  const numbers: Record<string, number[]> = {};
  const targets: TargetCheck[] = [];
  const rows: string[][] = [];
  const f = await stackFixture('swarm', { services: plan.services, ports: false });
  try {
    // docker stack deploy reads compose file format 3.
    const stackFile = path.join(path.dirname(f.composeFile), 'stack.yaml');
    await writeFile(stackFile, `version: "3.8"\n${busyboxCompose({ services: plan.services })}`);
    // `--detach=false` waits service by service for each to be stable a few seconds (50 services:
    // over 4 minutes): instead, the deploy and then polling until every service runs its task.
    const deploy = async (): Promise<{ ms: number }> => {
      const started = performance.now();
      await runOk('docker', [
        'stack',
        'deploy',
        '--resolve-image',
        'never',
        '-c',
        stackFile,
        f.names.compose,
      ]);
      for (;;) {
        const replicas = await docker('stack', 'services', '--format', '{{.Replicas}}', f.names.compose);
        if (replicas.split('\n').filter((r) => r === '1/1').length === plan.services) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      return { ms: performance.now() - started };
    };
    const m = { cold: [] as number[], noop: [] as number[], status: [] as number[] };
    const c = { cold: [] as number[], noop: [] as number[], status: [] as number[] };
    for (let t = 0; t < plan.trials; t++) {
      m.cold.push((await f.mooring(['sync'])).ms);
      m.noop.push((await f.mooring(['sync'])).ms);
      m.status.push((await f.mooring(['status'])).ms);
      c.cold.push((await deploy()).ms);
      c.noop.push((await deploy()).ms);
      c.status.push((await runOk('docker', ['stack', 'services', f.names.compose])).ms);
      const running = await docker('stack', 'services', '--format', '{{.Replicas}}', f.names.mooring);
      const full = running.split('\n').filter((r) => r === '1/1').length;
      if (full !== plan.services)
        throw new Error(`mooring's stack has ${full} of ${plan.services} services at 1/1`);
      await removeSwarmStacks(f.names.mooring);
      await removeSwarmStacks(f.names.compose);
    }
    for (const [what, label] of [
      ['cold', 'deploy from scratch'],
      ['noop', 'deploy again, nothing to do'],
      ['status', 'status / `docker stack services`'],
    ] as const) {
      numbers[`mooring ${what} N=${plan.services}`] = m[what];
      numbers[`docker stack ${what} N=${plan.services}`] = c[what];
      rows.push([
        label,
        spread(m[what]),
        spread(c[what]),
        times(ratio(stats(m[what]).median, stats(c[what]).median)),
      ]);
    }
    const r = ratio(stats(m.cold).median, stats(c.cold).median);
    targets.push(
      check(
        `Swarm deploy of ${plan.services} services: Mooring / docker stack deploy`,
        '≤ 1.00×',
        times(r),
        r <= 1,
      ),
    );
    progress(
      `swarm N=${plan.services}: mooring cold ${Math.round(stats(m.cold).median)} ms, docker stack deploy ${Math.round(stats(c.cold).median)} ms`,
    );
  } finally {
    await removeSwarmStacks(f.names.mooring).catch(() => undefined);
    await removeSwarmStacks(f.names.compose).catch(() => undefined);
    await f.close();
    if (made) await docker('swarm', 'leave', '--force').catch(() => '');
  }
  const section = `## 15. Swarm

${plan.services} busybox services (init, sleeping) as Swarm services on a single-node swarm: Mooring's
\`mooring sync\` (which waits until every service runs its tasks) against \`docker stack deploy
--resolve-image never\` of the same services (compose file format 3.8), timed until \`docker stack
services\` shows every one at 1/1 (polled every 200 ms; its own \`--detach=false\` waits service by
service for each to stay up a few seconds, minutes for 50); then each again with nothing to change,
and the stack's status against \`docker stack services\`.
Each command a new process; ${plan.trials} trials, both stacks removed between them.

${table(['', 'Mooring', 'docker stack', 'ratio'], rows)}

Mooring's no-op and status include its CLI's own start (section 12) and reading the stack from git;
\`docker stack services\` is one list call of a Go binary.

Target: a deploy from scratch no slower than \`docker stack deploy\`.
`;
  return { id: 'swarm', title: 'Swarm', section, numbers, targets };
}
