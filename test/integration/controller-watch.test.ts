// `mooring watch` as a real child process: killed with SIGKILL in the middle of a run (the run shows
// `interrupted` on restart, the controller converges, the database is intact), stopped with SIGTERM
// (the run in progress is marked, the process exits 0), and what another process meets meanwhile:
// `mooring sync` refused by the stack lock, a second controller refused by the home folder's lease.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../electron/shared/model.ts';
import { Engine } from '../../electron/engine/engine.ts';
import { Controller } from '../../electron/engine/reconcile/controller.ts';
import { mooring } from '../helpers/cli.ts';
import { SLOW_STACK, UNIQUE, waitFor } from '../helpers/controller.ts';
import { docker, dockerOk, removeStacks } from '../helpers/docker.ts';
import { createRepo } from '../helpers/git-repo.ts';
import { startGitServer, type GitServer } from '../helpers/git-server.ts';

// Other sessions may run these tests at the same time against the same engine.
const S = UNIQUE;
const haveDocker = await dockerOk();
if (!haveDocker) console.warn('SKIPPED mooring watch tests: no Docker engine answers.');

const bin = path.resolve(import.meta.dirname, '../../bin/mooring.mjs');
const STACKS = [`ctlkill${S}`, `ctlterm${S}`];

interface Watch {
  child: ChildProcess;
  /** Parsed --json lines so far. */
  lines: {
    schemaVersion: number;
    type: 'log' | 'run-finished';
    kind?: string | null;
    stack: string | null;
    source: string | null;
    message?: string;
    result?: string;
  }[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

function startWatch(home: string): Watch {
  const child = spawn(process.execPath, [bin, '--home', home, 'watch', '--json', '--interval', '5'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Watch['lines'] = [];
  let buffered = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.trim()) lines.push(JSON.parse(line) as Watch['lines'][number]);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      resolve({ code, signal });
    });
  });
  return { child, lines, exited, stderr: () => stderr };
}

describe.skipIf(!haveDocker)('mooring watch, killed and stopped', () => {
  let server: GitServer;
  let home: string;
  let watch: Watch | null = null;
  const open: Engine[] = [];

  const runsOf = async (stack: string): Promise<RunRecord[]> => {
    // A fresh connection each time: it sees what the child process committed.
    const e = await Engine.open({ home });
    try {
      return e.history.runs.list({ stack }).reverse();
    } finally {
      e.close();
    }
  };
  const midRun = async (stack: string): Promise<void> => {
    await waitFor(
      `${stack}: a run waiting on the healthcheck`,
      async () => {
        const runs = await runsOf(stack);
        const slow = await docker('ps', '-q', '--filter', `name=^${stack}-slow-1$`);
        return runs.at(-1)?.result === 'running' && slow !== '';
      },
      30_000,
    );
  };

  beforeAll(async () => {
    await removeStacks(...STACKS);
    server = await startGitServer();
  });
  afterAll(async () => {
    await removeStacks(...STACKS);
    await server.close();
  });
  beforeEach(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-ctl-home-'));
    const repo = await createRepo(server, `ctl-watch-${Date.now()}`, {
      'mooring.yaml': `stacks:\n  ctlkill${S}: { sync: auto, selfHeal: true }\n  ctlterm${S}: { sync: auto }\n`,
      [`ctlkill${S}/compose.yaml`]: SLOW_STACK,
    });
    expect((await mooring(home, ['source', 'add', 'cfg', repo.url])).code).toBe(0);
  });
  afterEach(async () => {
    if (watch && watch.child.exitCode === null && watch.child.signalCode === null) {
      watch.child.kill('SIGKILL');
      await watch.exited;
    }
    watch = null;
    for (const e of open.splice(0)) e.close();
    await removeStacks(...STACKS);
    await rm(home, { recursive: true, force: true });
  });

  it('kill -9 mid-run: the run shows interrupted on restart, the controller converges, the database is intact', async () => {
    watch = startWatch(home);
    await midRun(`ctlkill${S}`);
    const pid = watch.child.pid!;
    expect(watch.lines.some((l) => l.kind === 'run-started' && l.stack === `ctlkill${S}`)).toBe(true);

    // Meanwhile, from another process: a manual sync is refused by the stack lock, clearly…
    const manual = await mooring(home, ['sync', `ctlkill${S}`]);
    expect(manual.code).toBe(1);
    expect(manual.stderr).toMatch(
      new RegExp(
        `Stack "ctlkill${S}" is being synced by the controller \\(auto\\) \\(pid ${pid} on .*\\) since .*Wait for it to finish`,
      ),
    );
    // …and a second controller on this home folder refuses to start, naming the first one's pid.
    const other = await mooring(home, ['watch']);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(new RegExp(`Another controller is already watching .*: pid ${pid} on `));
    const engineB = await Engine.open({ home });
    open.push(engineB);
    await expect(new Controller(engineB).start()).rejects.toThrow(new RegExp(`pid ${pid}`));

    watch.child.kill('SIGKILL');
    expect((await watch.exited).signal).toBe('SIGKILL');
    watch = null;

    // Restart: opening the home folder marks the cut-off run; the new controller converges.
    const engine = await Engine.open({ home });
    open.push(engine);
    const [cut] = engine.history.runs.list({ stack: `ctlkill${S}` });
    expect(cut).toMatchObject({ trigger: 'auto', result: 'interrupted' });
    expect(cut!.error).toMatch(/stopped before it finished/);
    const controller = new Controller(engine, {
      pollIntervalMs: 5_000,
      selfHealDebounceMs: 300,
      retryBaseMs: 500,
    });
    await controller.start();
    try {
      await waitFor(
        'converged after the restart',
        () => {
          const s = controller.snapshot().stacks.find((x) => x.name === `ctlkill${S}`);
          return s?.sync === 'Synced' && s.health === 'Healthy';
        },
        30_000,
      );
    } finally {
      await controller.stop();
    }
    expect(engine.history.runs.list({ stack: `ctlkill${S}` }).map((r) => r.result)).toEqual([
      'succeeded',
      'interrupted',
    ]);
    expect(engine.history.db.pragma('integrity_check', { simple: true })).toBe('ok');
    const names = (
      await docker(
        'ps',
        '-a',
        '--filter',
        `label=com.docker.compose.project=ctlkill${S}`,
        '--format',
        '{{.Names}}',
      )
    )
      .split('\n')
      .sort();
    expect(names).toEqual([`ctlkill${S}-after-1`, `ctlkill${S}-slow-1`]);
  });

  it('SIGTERM mid-run: the run is marked interrupted and watch exits 0, leaving the home folder free', async () => {
    // Only ctlterm is declared here, so the run in flight is its own.
    const repo = await createRepo(server, `ctl-term-${Date.now()}`, {
      'mooring.yaml': `stacks:\n  ctlterm${S}: { sync: auto }\n`,
      [`ctlterm${S}/compose.yaml`]: SLOW_STACK,
    });
    expect((await mooring(home, ['source', 'remove', 'cfg'])).code).toBe(0);
    expect((await mooring(home, ['source', 'add', 'term', repo.url])).code).toBe(0);
    watch = startWatch(home);
    await midRun(`ctlterm${S}`);
    watch.child.kill('SIGTERM');
    const exit = await watch.exited;
    expect(exit.code, watch.stderr()).toBe(0);
    expect(watch.lines.at(-1)).toMatchObject({ kind: 'stop', message: 'stopped' });
    const [run] = (await runsOf(`ctlterm${S}`)).reverse();
    expect(run).toMatchObject({ trigger: 'auto', result: 'interrupted' });
    expect(run!.error).toMatch(/shut down while this run was applying/);
    // Every --json line says its schema; the run's end is a line with its result and source; the
    // stack's lines name their source; a fetch that found nothing new is not said (only --verbose).
    expect(watch.lines.every((l) => l.schemaVersion === 1)).toBe(true);
    expect(watch.lines).toContainEqual(
      expect.objectContaining({
        type: 'run-finished',
        stack: `ctlterm${S}`,
        source: 'term',
        result: 'interrupted',
      }),
    );
    expect(watch.lines.find((l) => l.kind === 'run-started')).toMatchObject({ source: 'term' });
    expect(
      watch.lines.filter((l) => l.kind === 'fetch' && !/new commit|failed/.test(l.message ?? '')),
    ).toEqual([]);
    // The lease is released: a controller starts at once.
    const engine = await Engine.open({ home });
    open.push(engine);
    expect(engine.history.db.prepare('SELECT COUNT(*) AS n FROM controller_lease').get()).toEqual({ n: 0 });
  });
});
