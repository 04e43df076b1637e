// 10. Parse and plan a real config repo of about 200 stacks (issue 11): the compose corpus
// (test/fixtures/compose-corpus, 207 files people wrote for their own use) committed as one local repo,
// one stack per folder, read with every safety allowance on so that what can be planned is. Timed in
// process: reading every stack from git (parse, interpolate, validate) and a dry-run sync of all of
// them (observe the engine, compare, plan; nothing is applied). Baseline in the same run: Debian's
// docker-compose 1.29 validating the same files one by one (`config -q`), which is what a person
// checking them with compose would wait for.
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../../electron/engine/engine.ts';
import { createLocalRepo } from '../helpers/git-repo.ts';
import {
  check,
  progress,
  ROOT,
  run,
  spread,
  stats,
  table,
  timed,
  type BenchOutput,
  type Size,
} from './lib.ts';

const PLAN: Record<Size, { trials: number; composeFiles: number | null }> = {
  full: { trials: 5, composeFiles: null },
  small: { trials: 1, composeFiles: 5 },
};

const CORPUS = path.join(ROOT, 'test/fixtures/compose-corpus');

const ALL_ALLOWED = {
  allowPrivileged: true,
  allowHostNamespaces: true,
  allowContainerNamespaces: true,
  allowCapAdd: ['ALL'],
  allowDevices: true,
  allowUnconfined: true,
  allowDockerSocket: true,
  bindRoots: ['/'],
};

export async function corpusPlan(size: Size): Promise<BenchOutput> {
  const plan = PLAN[size];
  const home = await mkdtemp(path.join(os.tmpdir(), 'mooring-bench-corpus-'));
  const work = await mkdtemp(path.join(os.tmpdir(), 'mooring-bench-corpus-repo-'));
  const numbers: Record<string, number[]> = {};
  let repoPath: string | null = null;
  try {
    await cp(path.join(CORPUS, 'awesome-compose'), path.join(work, 'awesome-compose'), { recursive: true });
    await cp(path.join(CORPUS, 'compose-examples'), path.join(work, 'compose-examples'), { recursive: true });
    const repo = await createLocalRepo({ 'README.md': 'corpus\n' });
    repoPath = repo.path;
    await cp(work, repo.path, { recursive: true });
    await repo.commit({}, 'the corpus');
    await writeFile(path.join(home, 'settings.json'), JSON.stringify({ safety: ALL_ALLOWED }));
    const engine = await Engine.open({ home });
    try {
      await engine.addSource({ name: 'corpus', url: repo.path });
      const load: number[] = [];
      const dry: number[] = [];
      let stacks = 0;
      let valid = 0;
      let planned = 0;
      for (let t = 0; t < plan.trials; t++) {
        const l = await timed(() => engine.loadStacks());
        load.push(l.ms);
        stacks = l.value.length;
        valid = l.value.filter((s) => s.desired).length;
        const d = await timed(() => engine.sync({ dryRun: true }));
        dry.push(d.ms);
        planned = d.value.filter((r) => r.result === 'planned').length;
      }
      numbers[`read ${stacks} stacks from git`] = load;
      numbers[`dry-run sync of ${stacks} stacks`] = dry;
      progress(
        `corpus: ${stacks} stacks (${valid} valid): read ${Math.round(stats(load).median)} ms, plan ${Math.round(stats(dry).median)} ms (${planned} planned)`,
      );

      // docker-compose 1.29 validating each file, as a person would check them one by one.
      const files = (await run('git', ['-C', repo.path, 'ls-files'], { cwd: repo.path })).stdout
        .split('\n')
        .filter((f) => /(^|\/)(docker-)?compose\.ya?ml$/.test(f))
        .slice(0, plan.composeFiles ?? undefined);
      const started = performance.now();
      for (const f of files) await run('docker-compose', ['-f', path.join(repo.path, f), 'config', '-q']);
      const composeMs = performance.now() - started;
      numbers[`docker-compose config -q, ${files.length} files one by one`] = [composeMs];

      const perStack = stats(dry).median / Math.max(1, stacks);
      const section = `## 10. Parse and plan 200 real stacks

The compose corpus (\`test/fixtures/compose-corpus\`: ${stacks} compose files from docker/awesome-compose
and Haxxnet/Compose-Examples) as one local config repo, every safety allowance on; ${valid} stacks are
valid and ${planned} are planned (the rest are refused with file:line:col, see docs/compose-corpus.md).
In process, ${plan.trials} trials; nothing is applied.

${table(
  ['step', 'time'],
  [
    [`read every stack from git (parse, interpolate, validate)`, spread(load)],
    [`dry-run sync of every stack (observe, compare, plan)`, spread(dry)],
    [`per stack, plan included`, `${perStack.toFixed(1)} ms`],
    [`docker-compose 1.29 \`config -q\`, ${files.length} files one by one`, `${Math.round(composeMs)} ms`],
  ],
)}
`;
      return {
        id: 'corpus-plan',
        title: 'Parse and plan 200 real stacks',
        section,
        numbers,
        targets: [
          check(
            'parse and plan of every corpus stack',
            'faster than docker-compose validating them',
            `${Math.round(stats(dry).median)} ms vs ${Math.round(composeMs)} ms`,
            size === 'small' || stats(dry).median < composeMs,
          ),
        ],
      };
    } finally {
      engine.close();
    }
  } finally {
    await rm(home, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
    if (repoPath) await rm(repoPath, { recursive: true, force: true });
  }
}
