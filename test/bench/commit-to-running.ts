// 13. Commit to running (issue 14, item 1): from a commit landing in git to a subscriber of the controller
// seeing the stack Synced at that commit with its container running, on the controller's defaults
// (a 60 s poll, and a ref check of http sources every 5 s). An http source on the real git server, and a
// local-path source whose refs are watched on disk. At full size also the http source with its ref
// checks off, as the controller was before issue 14: a commit then waits for the poll.
import { rm } from 'node:fs/promises';
import type { ControllerOptions } from '../../electron/engine/reconcile/controller.ts';
import { Controller } from '../../electron/engine/reconcile/controller.ts';
import { Engine } from '../../electron/engine/engine.ts';
import { dockerOk } from '../helpers/docker.ts';
import { createLocalRepo, createRepo } from '../helpers/git-repo.ts';
import { startGitServer } from '../helpers/git-server.ts';
import { compose, nextStatus, running, type Sample } from './controller-latency.ts';
import {
  check,
  cleanupBench,
  percentile,
  progress,
  sleep,
  stackName,
  table,
  tempDir,
  type BenchOutput,
  type Size,
} from './lib.ts';

const TRIALS: Record<Size, { http: number; local: number; before: number }> = {
  full: { http: 20, local: 20, before: 3 },
  small: { http: 1, local: 1, before: 0 },
};

export async function commitToRunning(size: Size): Promise<BenchOutput> {
  if (!(await dockerOk()))
    throw new Error('No Docker engine answers: run scripts/setup-test-env.sh as root.');
  const trials = TRIALS[size];
  const HTTP = stackName('c2rhttp');
  const LOCAL = stackName('c2rlocal');
  const policy = `stacks:\n  ${HTTP}: { sync: auto }\n  ${LOCAL}: { sync: auto }\n`;
  const server = await startGitServer();
  const home = await tempDir('c2r-home');
  const repo = await createRepo(server, `${HTTP}-config`, {
    'mooring.yaml': policy,
    [`${HTTP}/compose.yaml`]: compose(0),
  });
  const local = await createLocalRepo({ 'mooring.yaml': policy, [`${LOCAL}/compose.yaml`]: compose(0) });
  const engine = await Engine.open({ home });
  const samples: Sample[] = [];
  let controller = null as Controller | null;
  const start = async (options: ControllerOptions): Promise<void> => {
    await controller?.stop();
    controller = new Controller(engine, options);
    controller.subscribe((e) => {
      if (e.type !== 'status') return;
      for (const s of e.stacks) samples.push({ status: s, at: Date.now() });
    });
    await controller.start();
  };
  /** Commits; the time until the controller has read the commit (seen), and until it runs. */
  const seen: Record<string, number[]> = {};
  const trial = async (stack: string, commit: () => Promise<string>, timeoutMs: number): Promise<number> => {
    const from = samples.length;
    const id = await commit();
    const landed = Date.now();
    const done = await nextStatus(
      samples,
      from,
      (s) => s.name === stack && s.revision === id && running(s),
      timeoutMs,
    );
    const read = await nextStatus(samples, from, (s) => s.name === stack && s.revision === id);
    (seen[stack] ??= []).push(read.at - landed);
    return done.at - landed;
  };
  const http: number[] = [];
  const path: number[] = [];
  const before: number[] = [];
  try {
    await engine.addSource({ name: 'remote', url: repo.url });
    await engine.addSource({ name: 'local', url: local.path });
    await start({});
    await nextStatus(samples, 0, (s) => s.name === HTTP && running(s));
    await nextStatus(samples, 0, (s) => s.name === LOCAL && running(s));

    for (let i = 1; i <= trials.http; i++) {
      // At random points of the check cycle, as pushes land.
      await sleep(Math.random() * 5_000);
      http.push(
        await trial(HTTP, () => repo.commit({ [`${HTTP}/compose.yaml`]: compose(i) }, `http ${i}`), 30_000),
      );
      progress(`http ${i}/${trials.http}: running the new spec after ${http.at(-1)} ms`);
    }
    for (let i = 1; i <= trials.local; i++) {
      await sleep(Math.random() * 1_000);
      path.push(
        await trial(
          LOCAL,
          () => local.commit({ [`${LOCAL}/compose.yaml`]: compose(i) }, `local ${i}`),
          30_000,
        ),
      );
      progress(`local ${i}/${trials.local}: running the new spec after ${path.at(-1)} ms`);
    }
    if (trials.before > 0) {
      await start({ refCheckMs: 0 });
      for (let i = 1; i <= trials.before; i++) {
        // Right after the last fetch: the wait is about the whole poll interval, the worst case.
        const n = trials.http + i;
        before.push(
          await trial(HTTP, () => repo.commit({ [`${HTTP}/compose.yaml`]: compose(n) }, `poll ${n}`), 90_000),
        );
        progress(`ref checks off ${i}/${trials.before}: running the new spec after ${before.at(-1)} ms`);
      }
    }
  } finally {
    await controller?.stop();
    engine.close();
    await cleanupBench(HTTP);
    await cleanupBench(LOCAL);
    await server.close();
    await rm(repo.work, { recursive: true, force: true });
    await rm(local.path, { recursive: true, force: true });
    await rm(home, { recursive: true, force: true });
  }

  const row = (name: string, values: number[], read: number[] = []): string[] => [
    name,
    String(values.length),
    read.length ? `${percentile(read, 50)} ms / ${percentile(read, 95)} ms` : '—',
    `${percentile(values, 50)} ms`,
    `${percentile(values, 95)} ms`,
    `${Math.max(...values)} ms`,
  ];
  const p95 = (v: number[]): number => percentile(v, 95);
  const rows = [
    row('http source, defaults (poll 60 s, ref check 5 s)', http, seen[HTTP]?.slice(0, http.length)),
    row('local-path source, defaults (refs watched on disk)', path, seen[LOCAL]),
    ...(before.length
      ? [row('http source, ref checks off (before issue 14), commit right after a fetch', before)]
      : []),
  ];
  const section = `## 13. Commit to running, on the defaults

From a commit landing in git (the push to the real git server returning, or \`git commit\` in the local repo) to
a subscriber of the controller seeing the stack Synced at that commit with its container running: what the
desktop app would show. The controller in-process with every default. Commits land at random points of the
ref check's cycle.

${table(['what', 'commits', 'commit read, p50 / p95', 'running, p50', 'running, p95', 'running, max'], rows)}

- *Commit read*: the controller's status names the commit (fetched or seen on disk, read, compared); *running*
  adds the run that recreates the container (stop, remove, create, start, on this machine's engine).
- An http source is fetched every 60 s (± 10 %) as before; in between, every 5 s (± 10 %), the controller asks
  the remote where the branch points (the ref advertisement: no objects) and fetches only when it moved. A
  check that fails only slows the checks (doubling, up to the poll interval); the poll reports the error.
  Checks to one host are at most one a second, whatever the number of its sources.
`;
  return {
    id: 'commit-to-running',
    title: 'Commit to running',
    section,
    numbers: { http, local: path, 'ref checks off': before },
    targets: [
      check(
        'commit to running, http source, defaults, p95 (issue 14)',
        '≤ 10 s',
        `${p95(http)} ms`,
        p95(http) <= 10_000,
      ),
      check(
        'commit to running, local path, defaults, p95 (issue 14)',
        '≤ 1 s',
        `${p95(path)} ms`,
        p95(path) <= 1_000,
      ),
      check(
        'local commit read by the controller, p95',
        '≤ 1 s',
        `${p95(seen[LOCAL] ?? [])} ms`,
        p95(seen[LOCAL] ?? []) <= 1_000,
      ),
    ],
  };
}
