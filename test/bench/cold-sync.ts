// 1. Cold sync (issue 6): N busybox services (init, a 127.0.0.1 port each) from nothing to all
// running. Side by side, in turns within each trial: `mooring sync` (a new CLI process, as a user
// runs it, with an http source already fetched), `docker-compose up -d` on the same file, and the
// floor script (dockerode creating and starting the same containers in parallel).
import {
  check,
  CommandTimeout,
  progress,
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
import { stackFixture, type StackFixture } from './stack-fixture.ts';

const PLAN: Record<Size, { services: number[]; trials: (n: number) => number }> = {
  full: { services: [20, 100], trials: (n) => (n >= 100 ? 5 : 7) },
  small: { services: [3], trials: () => 1 },
};

async function expectRunning(f: StackFixture, project: string, n: number, tool: string): Promise<void> {
  const running = await f.running(project);
  if (running !== n) throw new Error(`${tool}: ${running} of ${n} containers running after the cold deploy`);
}

/**
 * The line of a failed command's output that says why: the floor script's own summary, or the tool's
 * error line. Not a stack trace's source line (node prints the throwing line, `var msg = new Error(`,
 * before the error itself, which is how the engine's message was once lost from the report).
 */
export function failure(message: string): string {
  const [command = '', ...output] = message.split('\n');
  const lines = output.map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /^(floor:|error\b|\w*error:)/i.test(l)) ?? lines.at(-1) ?? command;
}

export async function coldSync(size: Size): Promise<BenchOutput> {
  const plan = PLAN[size];
  const numbers: Record<string, number[]> = {};
  const rows: string[][] = [];
  const targets: TargetCheck[] = [];
  const incidents: string[] = [];
  for (const n of plan.services) {
    const f = await stackFixture(`cold${n}`, { services: n, ports: true });
    const m: number[] = [];
    const c: number[] = [];
    const fl: number[] = [];
    const flEngine: number[] = [];
    const failed: Record<string, number[]>[] = [{}, {}, {}];
    try {
      const trials = plan.trials(n);
      for (let t = 0; t < trials; t++) {
        // Turns rotate, so no tool always runs first (or right after a teardown) in a trial.
        const order = [0, 1, 2].map((k) => (k + t) % 3);
        for (const tool of order) {
          await f.teardown();
          await sleep(size === 'full' ? 1500 : 200);
          try {
            if (tool === 0) {
              const r = await f.mooring(['sync']);
              await expectRunning(f, f.names.mooring, n, 'mooring sync');
              m.push(r.ms);
            } else if (tool === 1) {
              const r = await f.compose(['up', '-d']);
              await expectRunning(f, f.names.compose, n, 'docker-compose up -d');
              c.push(r.ms);
            } else {
              const r = await f.floor();
              await expectRunning(f, f.names.floor, n, 'floor script');
              fl.push(r.ms);
              flEngine.push(Number(r.stdout.trim()));
            }
          } catch (err) {
            // A hang or a failure is a result (docker-compose 1.29 was seen to stop for good part way
            // through an `up` of 100 services under load, and to fail with "Pool is closed"): counted
            // and reported, the trial's time left out.
            const message = err instanceof Error ? err.message : String(err);
            const why =
              err instanceof CommandTimeout
                ? 'did not finish and was killed'
                : `failed (${failure(message)})`;
            (failed[tool]![why] ??= []).push(t + 1);
            progress(`cold sync N=${n} trial ${t + 1}: ${message.split('\n')[0]}`);
          }
        }
        progress(
          `cold sync N=${n} trial ${t + 1}/${trials}: mooring ${Math.round(m.at(-1) ?? NaN)} ms, compose ${Math.round(c.at(-1) ?? NaN)} ms, floor ${Math.round(fl.at(-1) ?? NaN)} ms`,
        );
      }
    } finally {
      await f.close();
    }
    numbers[`mooring sync N=${n}`] = m;
    numbers[`docker-compose up -d N=${n}`] = c;
    numbers[`floor N=${n}`] = fl;
    numbers[`floor engine part N=${n}`] = flEngine;
    const mc = ratio(stats(m).median, stats(c).median);
    const mf = ratio(stats(m).median, stats(fl).median);
    rows.push([`${n}`, spread(m), spread(c), spread(fl), times(mc), times(mf)]);
    for (const [k, tool] of ['`mooring sync`', '`docker-compose up -d`', 'the floor script'].entries()) {
      for (const [why, trials] of Object.entries(failed[k]!)) {
        incidents.push(`N=${n}: ${tool} ${why} in trial ${trials.join(', ')} (left out of the figures).`);
      }
    }
    targets.push(
      check(`cold sync N=${n}: Mooring / compose`, '≤ 0.70×', times(mc), mc <= 0.7),
      check(`cold sync N=${n}: Mooring / floor`, '≤ 1.15×', times(mf), mf <= 1.15),
    );
  }
  const section = `## 1. Cold sync: nothing → all running

N busybox services, each with \`init: true\` and one \`127.0.0.1\` port, from no container to all running.
Wall time of each command as a user runs it (process start to exit), tools in rotating turns within each
trial, everything removed before each turn. Mooring has an http source on the local smart-HTTP git server,
fetched beforehand (\`mooring source add\`); \`mooring sync\` includes recording the run in history and
writing and pushing the deploy note. The floor is \`test/bench/floor.mjs\`: dockerode creating the network
and all containers in parallel, each started once created. docker-compose runs with
\`COMPOSE_PARALLEL_LIMIT=256\`: with its default (64), \`up -d\` of 100 services with ports deadlocks here
after about 30 containers, every time (its nested parallel runs share one semaphore; the known workaround
is a limit above twice the number of services).

${table(['N', '`mooring sync`', '`docker-compose up -d`', 'floor (dockerode)', 'Mooring / compose', 'Mooring / floor'], rows)}

Median (min–max, n trials). Ratios are of medians; targets: Mooring ≤ 0.70× compose, ≤ 1.15× the floor.
${incidents.length ? `\n${incidents.map((h) => `- ${h}`).join('\n')}\n` : ''}`;
  return { id: 'cold-sync', title: 'Cold sync', section, numbers, targets };
}
