// 4. Controller latency against the real engine and git server (issue 3 "Measure", issue 6 item 4).
// Not a test: it reports p50/p95 for docs/benchmarks.md (run by test/bench/run.ts).
//
// 1. Drift seen: from an out-of-band stop (the engine's own exit time of the container) to a
//    controller subscriber receiving the stack as OutOfSync.
// 2. Healed: from the same moment to the subscriber receiving it Synced with the container running
//    again (self-heal with the default debounce).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { StackStatus } from '../../electron/shared/model.ts';
import { Engine } from '../../electron/engine/engine.ts';
import { Controller } from '../../electron/engine/reconcile/controller.ts';
import { docker, dockerOk } from '../helpers/docker.ts';
import { createRepo } from '../helpers/git-repo.ts';
import { startGitServer } from '../helpers/git-server.ts';
import { cleanupBench, percentile, progress, stackName, table, type BenchOutput, type Size } from './lib.ts';

const TRIALS: Record<Size, number> = { full: 20, small: 1 };
const POLL_MS = 5_000;

/** A one-service stack whose spec differs per trial `n` (also test/bench/commit-to-running.ts). */
export const compose = (n: number): string => `services:
  app:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    environment:
      TRIAL: "${n}"
`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Sample {
  status: StackStatus;
  at: number;
}

/** Resolves with the first status of the stack, from now on, that satisfies `test`. */
export function nextStatus(
  samples: Sample[],
  from: number,
  test: (s: StackStatus) => boolean,
  timeoutMs = 30_000,
) {
  return new Promise<Sample>((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const check = (): void => {
      const hit = samples.slice(from).find((s) => test(s.status));
      if (hit) resolve(hit);
      else if (Date.now() > deadline) reject(new Error('timed out waiting for a status'));
      else setTimeout(check, 5);
    };
    check();
  });
}

export const running = (s: StackStatus): boolean =>
  s.sync === 'Synced' && s.services.every((x) => x.state === 'running');

export async function controllerLatency(size: Size): Promise<BenchOutput> {
  if (!(await dockerOk()))
    throw new Error('No Docker engine answers: run scripts/setup-test-env.sh as root.');
  const trials = TRIALS[size];
  const STACK = stackName('ctl');
  const server = await startGitServer();
  const home = await mkdtemp(path.join(os.tmpdir(), 'mooring-bench-'));
  const repo = await createRepo(server, `${STACK}-config`, {
    'mooring.yaml': `stacks:\n  ${STACK}: { sync: auto, selfHeal: true }\n`,
    [`${STACK}/compose.yaml`]: compose(0),
  });
  const engine = await Engine.open({ home });
  // Defaults (debounce, backoff…) except the poll interval the issue asks for.
  const controller = new Controller(engine, { pollIntervalMs: POLL_MS });
  const samples: Sample[] = [];
  controller.subscribe((e) => {
    if (e.type !== 'status') return;
    for (const s of e.stacks) if (s.name === STACK) samples.push({ status: s, at: Date.now() });
  });
  const seen: number[] = [];
  const healed: number[] = [];
  try {
    await engine.addSource({ name: 'bench', url: repo.url });
    await controller.start();
    await nextStatus(samples, 0, running);

    for (let i = 0; i < trials; i++) {
      await sleep(700); // let the previous repair settle
      const from = samples.length;
      await docker('stop', '-t', '1', `${STACK}-app-1`);
      // The engine's own time of the exit: what the user did, without the docker CLI's overhead.
      const stoppedAt = Date.parse(await docker('inspect', '-f', '{{.State.FinishedAt}}', `${STACK}-app-1`));
      const drift = await nextStatus(samples, from, (s) => s.sync === 'OutOfSync');
      const fixed = await nextStatus(samples, from, running);
      seen.push(drift.at - stoppedAt);
      healed.push(fixed.at - stoppedAt);
      progress(
        `drift ${i + 1}/${trials}: seen ${drift.at - stoppedAt} ms, healed ${fixed.at - stoppedAt} ms`,
      );
    }
  } finally {
    await controller.stop();
    engine.close();
    await cleanupBench(STACK);
    await server.close();
    await rm(repo.work, { recursive: true, force: true });
    await rm(home, { recursive: true, force: true });
  }

  const row = (name: string, values: number[], target: string): string[] => [
    name,
    `${percentile(values, 50)} ms`,
    `${percentile(values, 95)} ms`,
    `${Math.max(...values)} ms`,
    target,
  ];
  const p95 = (v: number[]): number => percentile(v, 95);
  const section = `## 4. Controller latency: drift seen, healed

${trials} trials each, the controller in-process with its defaults except a ${POLL_MS / 1000} s poll interval.

${table(
  ['what', 'p50', 'p95', 'max', 'target'],
  [
    row('out-of-band `docker stop` → stack shown OutOfSync', seen, '< 500 ms p95'),
    row('out-of-band `docker stop` → healed (Synced, running)', healed, '< 2 s p95'),
  ],
)}

- Times are from the engine's own exit time of the stopped container (its \`State.FinishedAt\`), or from the push
  returning, to a subscriber of the controller receiving the status: what the desktop app would show.
- Healing includes the default self-heal debounce (500 ms of quiet after the last engine event), which keeps a
  \`docker compose down\` by hand from causing a run per container.
- Commit to running has its own benchmark (commit-to-running), on the controller's defaults.
`;
  return {
    id: 'controller-latency',
    title: 'Controller latency',
    section,
    numbers: { 'drift seen': seen, healed },
    targets: [
      {
        what: 'drift seen p95 (issue 3)',
        target: '< 500 ms',
        measured: `${p95(seen)} ms`,
        holds: p95(seen) < 500,
      },
      {
        what: 'healed p95 (issue 3)',
        target: '< 2 s',
        measured: `${p95(healed)} ms`,
        holds: p95(healed) < 2000,
      },
    ],
  };
}
