// 6. Git (issue 6): mirroring a 10,000-commit config repo and fetching 10 new commits, Mooring
// (isomorphic-git over smart HTTP) against native `git clone --mirror` and `git fetch` from the same
// local smart-HTTP server (`git http-backend`).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { GitSource } from '../../electron/engine/source/index.ts';
import { startGitServer } from '../helpers/git-server.ts';
import {
  check,
  mooring,
  progress,
  ratio,
  removeDir,
  runOk,
  spread,
  stats,
  table,
  tempDir,
  timed,
  times,
  type BenchOutput,
  type Size,
} from './lib.ts';

const PLAN: Record<Size, { commits: number; cloneTrials: number; fetchTrials: number }> = {
  full: { commits: 10_000, cloneTrials: 3, fetchTrials: 5 },
  small: { commits: 50, cloneTrials: 1, fetchTrials: 1 },
};

const STACKS = ['web', 'api', 'worker', 'db', 'cache'];

const GIT_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_TERMINAL_PROMPT: '0',
};

const git = (args: string[], cwd?: string): ReturnType<typeof runOk> =>
  runOk('git', args, { env: GIT_ENV, ...(cwd ? { cwd } : {}) });

/**
 * Appends `count` commits to `main` of a bare repo with `git fast-import` (seconds for 10,000): each
 * changes one stack's compose file, as config repos change.
 */
async function appendCommits(bare: string, first: number, count: number): Promise<void> {
  const parts: string[] = [];
  const data = (text: string): string => `data ${Buffer.byteLength(text)}\n${text}`;
  const tip = first > 1 ? (await git(['--git-dir', bare, 'rev-parse', 'main'])).stdout.trim() : null;
  for (let i = first; i < first + count; i++) {
    const stack = STACKS[i % STACKS.length]!;
    const compose = `services:\n  app:\n    image: local/busybox:1\n    init: true\n    command: ["sleep", "3600"]\n    environment:\n      REVISION: "${i}"\n`;
    parts.push(
      'commit refs/heads/main',
      `committer Bench <bench@mooring.invalid> ${1_700_000_000 + i * 60} +0000`,
      data(`${stack}: revision ${i}`),
    );
    if (i === first && tip) parts.push(`from ${tip}`);
    parts.push(`M 100644 inline ${stack}/compose.yaml`, data(compose));
  }
  await new Promise<void>((resolve, reject) => {
    const child = spawn('git', ['--git-dir', bare, 'fast-import', '--quiet'], {
      env: GIT_ENV,
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`git fast-import exited ${code}: ${stderr}`));
    });
    child.stdin.end(`${parts.join('\n')}\n`);
  });
}

export async function gitMirror(size: Size): Promise<BenchOutput> {
  const plan = PLAN[size];
  const dir = await tempDir('git');
  const server = await startGitServer({ root: path.join(dir, 'served') });
  const numbers: Record<string, number[]> = {};
  const sourceAdd: number[] = [];
  const mirror: number[] = [];
  const native: number[] = [];
  const fetchCli: number[] = [];
  const fetchInProcess: number[] = [];
  const fetchNative: number[] = [];
  try {
    const bare = path.join(server.root, 'config.git');
    await git(['init', '-q', '--bare', '-b', 'main', bare]);
    const made = await timed(() => appendCommits(bare, 1, plan.commits));
    progress(`git: ${plan.commits} commits made in ${Math.round(made.ms)} ms`);
    const url = `${server.url}/config.git`;
    let home = '';
    let nativeMirror = '';
    let source: GitSource | null = null;
    for (let t = 0; t < plan.cloneTrials; t++) {
      // A fresh home and a fresh native mirror each trial: a first clone, nothing cached.
      if (source) await removeDir(source.gitdir);
      source = new GitSource({
        home: path.join(dir, `gitsource-${t}`),
        config: { name: 'bench', url, kind: 'http', branch: null, path: '', tokenEnv: null },
      });
      const fresh = source;
      mirror.push((await timed(() => fresh.fetch())).ms);
      home = path.join(dir, `home-${t}`);
      sourceAdd.push((await mooring(home, ['source', 'add', 'bench', url])).ms);
      nativeMirror = path.join(dir, `native-${t}.git`);
      native.push((await git(['clone', '--quiet', '--mirror', url, nativeMirror])).ms);
      progress(
        `git clone trial ${t + 1}: GitSource.fetch ${Math.round(mirror.at(-1)!)} ms, mooring source add ${Math.round(sourceAdd.at(-1)!)} ms, git clone --mirror ${Math.round(native.at(-1)!)} ms`,
      );
    }
    for (let t = 0; t < plan.fetchTrials; t++) {
      await appendCommits(bare, plan.commits + 1 + t * 10, 10);
      // Turns rotate. In process, the last first-mirror's source fetches the same 10 commits: the
      // transport alone, without a process start and the commit cache.
      const order = ['m', 'n', 'i'].map((_, k, all) => all[(k + t) % all.length]!);
      for (const tool of order) {
        if (tool === 'm') fetchCli.push((await mooring(home, ['fetch'])).ms);
        else if (tool === 'n') fetchNative.push((await git(['fetch', '--quiet'], nativeMirror)).ms);
        else fetchInProcess.push((await timed(() => source!.fetch())).ms);
      }
    }
    const head = (await git(['--git-dir', bare, 'rev-parse', 'main'])).stdout.trim();
    const cached = await mooring(home, ['log', '--limit', '1', '--json']);
    if (!cached.stdout.includes(head)) throw new Error('mooring fetch did not bring the last commit');
    progress(
      `git fetch of 10: mooring ${Math.round(stats(fetchCli).median)} ms, in process ${Math.round(stats(fetchInProcess).median)} ms, git ${Math.round(stats(fetchNative).median)} ms`,
    );
  } finally {
    await server.close();
    await removeDir(dir);
  }
  numbers['GitSource.fetch (first mirror, in-process)'] = mirror;
  numbers['mooring source add (CLI: mirror + commit cache)'] = sourceAdd;
  numbers['git clone --mirror'] = native;
  numbers['mooring fetch (10 new commits)'] = fetchCli;
  numbers['git fetch (10 new commits)'] = fetchNative;
  numbers['GitSource.fetch (10 new commits, in-process)'] = fetchInProcess;
  const med = (v: number[]): number => stats(v).median;
  const section = `## 6. Git: mirror a ${plan.commits.toLocaleString('en')}-commit config repo, fetch 10 new commits

One repo of ${plan.commits.toLocaleString('en')} commits (each changes one of ${STACKS.length} stacks), served by \`git http-backend\`
on 127.0.0.1. Mooring mirrors with isomorphic-git into a bare repo; \`mooring source add\` also caches the
newest 500 commits with the stacks each changed (the log the UI shows).

${table(
  ['what', 'Mooring', 'native git', 'ratio'],
  [
    [
      'first mirror: `GitSource.fetch()` vs `git clone --mirror`',
      spread(mirror),
      spread(native),
      times(ratio(med(mirror), med(native))),
    ],
    [
      '`mooring source add` (mirror + commit cache, new process)',
      spread(sourceAdd),
      '—',
      times(ratio(med(sourceAdd), med(native))),
    ],
    [
      '10 new commits: `GitSource.fetch()` (in process) vs `git fetch`',
      spread(fetchInProcess),
      spread(fetchNative),
      times(ratio(med(fetchInProcess), med(fetchNative))),
    ],
    [
      '10 new commits: `mooring fetch` vs `git fetch` (new processes)',
      spread(fetchCli),
      spread(fetchNative),
      times(ratio(med(fetchCli), med(fetchNative))),
    ],
  ],
)}

Targets (issue 14): the first mirror ≤ 2× native, a fetch of 10 commits ≤ 1.5× native; both are of the
transport, in process. \`mooring fetch\` adds a process start (~0.3 s, section 2) and the commit cache.
`;
  const mirrorRatio = ratio(med(mirror), med(native));
  const fetchRatio = ratio(med(fetchInProcess), med(fetchNative));
  const targets = [
    check('first mirror: GitSource / git clone --mirror', '≤ 2×', times(mirrorRatio), mirrorRatio <= 2),
    check('fetch of 10 commits: GitSource / git fetch', '≤ 1.5×', times(fetchRatio), fetchRatio <= 1.5),
  ];
  return { id: 'git', title: 'Git', section, numbers, targets };
}
