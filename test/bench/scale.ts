// 5. Scale (issue 6): 500 services across 50 stacks, all running. `mooring status` as a new process,
// the controller's snapshot and refresh in-process (warm), and `mooring watch` idle for 60 s: its CPU
// time and memory, read from /proc (utime + stime, VmRSS, VmHWM).
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Engine } from '../../electron/engine/engine.ts';
import { Controller } from '../../electron/engine/reconcile/controller.ts';
import { createRepo } from '../helpers/git-repo.ts';
import { startGitServer } from '../helpers/git-server.ts';
import {
  busyboxCompose,
  check,
  cleanupBench,
  CLI,
  dockerClient,
  mooring,
  ms,
  progress,
  projectContainers,
  removeDir,
  run,
  sleep,
  spread,
  stackName,
  stats,
  table,
  tempDir,
  timed,
  timedSync,
  track,
  type BenchOutput,
  type Size,
} from './lib.ts';

const PLAN: Record<Size, { stacks: number; perStack: number; trials: number; idleSec: number }> = {
  full: { stacks: 50, perStack: 10, trials: 5, idleSec: 60 },
  small: { stacks: 2, perStack: 2, trials: 1, idleSec: 2 },
};

interface ProcSample {
  ticks: number;
  rssKiB: number;
  hwmKiB: number;
}

async function procSample(pid: number): Promise<ProcSample> {
  // /proc/PID/stat: the fields after the command name (in parentheses); utime and stime are 14 and 15.
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { ticks: Number(fields[11]) + Number(fields[12]), rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM') };
}

/** `mooring watch` idle: CPU share of one core and memory over `seconds`, once it has settled. */
async function idleWatch(
  home: string,
  seconds: number,
  quietMs: number,
): Promise<{ cpuPercent: number; rssMiB: number; hwmMiB: number; settleMs: number }> {
  const clk = Number((await run('getconf', ['CLK_TCK'])).stdout.trim()) || 100;
  const child = spawn(process.execPath, [CLI, '--home', home, 'watch'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  track(child);
  let lastOutput = performance.now();
  let output = '';
  const onData = (d: Buffer): void => {
    lastOutput = performance.now();
    output += d.toString();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  try {
    // Settled: it said it started, then `quietMs` without a line (the first look at every stack is done).
    const started = performance.now();
    while (performance.now() - started < 120_000) {
      if (child.exitCode !== null) throw new Error(`mooring watch exited:\n${output}`);
      if (output.length > 0 && performance.now() - lastOutput > quietMs) break;
      await sleep(100);
    }
    const settleMs = performance.now() - started;
    const a = await procSample(child.pid!);
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const b = await procSample(child.pid!);
    const wall = (performance.now() - t0) / 1000;
    return {
      cpuPercent: ((b.ticks - a.ticks) / clk / wall) * 100,
      rssMiB: b.rssKiB / 1024,
      hwmMiB: b.hwmKiB / 1024,
      settleMs,
    };
  } finally {
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(15_000)]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

export async function scale(size: Size): Promise<BenchOutput> {
  const plan = PLAN[size];
  const total = plan.stacks * plan.perStack;
  const names = Array.from({ length: plan.stacks }, (_, i) =>
    stackName(`scale${String(i + 1).padStart(2, '0')}`),
  );
  const dir = await tempDir('scale');
  const server = await startGitServer();
  const home = path.join(dir, 'home');
  // One network for all the stacks: the engine's default address pools hold about 30 bridge networks,
  // fewer than 50 stacks with a default network each (the rest fail with "could not find an available,
  // non-overlapping IPv4 address pool").
  const network = stackName('scale-net');
  await dockerClient.createNetwork({ Name: network, Driver: 'bridge' });
  const files: Record<string, string> = {};
  for (const name of names) {
    files[`${name}/compose.yaml`] = busyboxCompose({ services: plan.perStack, network });
  }
  const repo = await createRepo(server, `${stackName('scale')}-config`, files);
  const cold: number[] = [];
  const snapshot: number[] = [];
  const refreshAll: number[] = [];
  const refreshOne: number[] = [];
  let deployMs: number;
  let idle: Awaited<ReturnType<typeof idleWatch>>;
  try {
    await mooring(home, ['source', 'add', 'bench', repo.url]);
    deployMs = (await mooring(home, ['sync'])).ms;
    let running = 0;
    for (const name of names)
      running += (await projectContainers(name)).filter((c) => c.State === 'running').length;
    if (running !== total) throw new Error(`${running} of ${total} containers running after the deploy`);
    progress(`scale: ${total} services in ${plan.stacks} stacks deployed in ${ms(deployMs)}`);

    for (let t = 0; t < plan.trials; t++) cold.push((await mooring(home, ['status'])).ms);

    const engine = await Engine.open({ home });
    const controller = new Controller(engine);
    try {
      await controller.start();
      for (let t = 0; t < plan.trials * 20; t++) {
        snapshot.push(timedSync(() => controller.snapshot()).ms);
      }
      for (let t = 0; t < plan.trials * 2; t++) {
        refreshAll.push((await timed(() => controller.refresh())).ms);
        refreshOne.push((await timed(() => controller.refresh(names[t % names.length]))).ms);
      }
      const stacks = controller.snapshot().stacks.filter((s) => names.includes(s.name));
      if (stacks.length !== plan.stacks || stacks.some((s) => s.sync !== 'Synced')) {
        throw new Error(
          `the controller sees ${stacks.filter((s) => s.sync === 'Synced').length} of ${plan.stacks} stacks Synced`,
        );
      }
    } finally {
      await controller.stop();
      engine.close();
    }
    progress(
      `scale: status ${ms(stats(cold).median)}, refresh ${ms(stats(refreshAll).median)}; idle ${plan.idleSec} s…`,
    );
    idle = await idleWatch(home, plan.idleSec, size === 'full' ? 3000 : 1000);
    progress(`scale: idle CPU ${idle.cpuPercent.toFixed(2)} % of a core, RSS ${idle.rssMiB.toFixed(0)} MiB`);
  } finally {
    for (const name of names) await cleanupBench(name);
    await cleanupBench(network);
    await server.close();
    await removeDir(repo.work);
    await removeDir(dir);
  }
  const section = `## 5. Scale: ${total} services in ${plan.stacks} stacks

All ${total} busybox containers running (deployed with one \`mooring sync\` in ${ms(deployMs)}), one http source; the
stacks share one external network (the engine's address pools hold about 30 bridge networks, not 50).

${table(
  ['what', 'time'],
  [
    ['`mooring status` (a new process: open, read git, inspect every container)', spread(cold)],
    ['controller `snapshot()` (warm, in-process: what the UI gets)', spread(snapshot)],
    ['controller `refresh()` of everything (re-read git, inspect every container)', spread(refreshAll)],
    ['controller `refresh(stack)` of one stack (what an engine event costs)', spread(refreshOne)],
  ],
)}

\`mooring watch\` idle for ${plan.idleSec} s after it settled (${ms(idle.settleMs)} after start), default 60 s poll, so
about one fetch falls inside the window (the full look at every stack in case an engine event was
missed comes every 5 min):

${table(
  ['what', 'measured', 'target'],
  [
    ['CPU (utime + stime from /proc, share of one core)', `${idle.cpuPercent.toFixed(2)} %`, '< 1 %'],
    ['resident memory at the end (VmRSS)', `${idle.rssMiB.toFixed(0)} MiB`, '—'],
    ['peak resident memory (VmHWM)', `${idle.hwmMiB.toFixed(0)} MiB`, '—'],
  ],
)}
`;
  return {
    id: 'scale',
    title: 'Scale',
    section,
    numbers: {
      'deploy (mooring sync)': [deployMs],
      'mooring status (cold process)': cold,
      'controller snapshot': snapshot,
      'controller refresh all': refreshAll,
      'controller refresh one stack': refreshOne,
      'idle cpu percent of one core': [idle.cpuPercent],
      'idle rss MiB': [idle.rssMiB],
      'idle hwm MiB': [idle.hwmMiB],
    },
    targets: [
      check(
        `idle CPU of \`mooring watch\` with ${total} services`,
        '< 1 % of a core',
        `${idle.cpuPercent.toFixed(2)} %`,
        idle.cpuPercent < 1,
      ),
    ],
  };
}
