// `mooring watch --all-engines` (issue 15): one process keeps every engine mooring.yaml sends stacks to,
// as the app does: a controller per engine this machine maps, each line naming its engine. `staging` is a
// second name for the test's engine (written into the settings; `engine add` refuses a daemon another
// name reaches, which is that check's point, not this test's), `edge` an address where nothing answers:
// its stack stays undeployed and holds up neither of the others.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../electron/engine/engine.ts';
import { mooring } from '../helpers/cli.ts';
import { UNIQUE, waitFor } from '../helpers/controller.ts';
import { docker, dockerOk, removeStacks } from '../helpers/docker.ts';
import { createLocalRepo, type LocalRepo } from '../helpers/git-repo.ts';

const haveDocker = await dockerOk();
if (!haveDocker) console.warn('SKIPPED watch --all-engines tests: no Docker engine answers.');

const bin = path.resolve(import.meta.dirname, '../../bin/mooring.mjs');
const HERE = `wlocal${UNIQUE}`;
const STAGING = `wstaging${UNIQUE}`;
const EDGE = `wedge${UNIQUE}`;
const sleeper =
  'services:\n  app:\n    image: local/busybox:1\n    init: true\n    command: ["sleep", "3600"]\n';

interface Line {
  type: string;
  stack: string | null;
  result?: string;
  level?: string;
  message?: string;
  engine?: string;
}

describe.skipIf(!haveDocker)('mooring watch --all-engines', () => {
  let home: string;
  let repo: LocalRepo;

  beforeAll(async () => {
    await removeStacks(HERE, STAGING, EDGE);
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-watchall-'));
    const socket = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
    await writeFile(
      path.join(home, 'settings.json'),
      JSON.stringify({ engines: { staging: { endpoint: socket }, edge: { endpoint: 'tcp://127.0.0.1:9' } } }),
    );
    repo = await createLocalRepo({
      [`${HERE}/compose.yaml`]: sleeper,
      [`${STAGING}/compose.yaml`]: sleeper,
      [`${EDGE}/compose.yaml`]: sleeper,
      'mooring.yaml': `stacks:\n  ${HERE}: { sync: auto }\n  ${STAGING}: { sync: auto, engines: [staging] }\n  ${EDGE}: { sync: auto, engines: [edge] }\n`,
    });
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
  });
  afterAll(async () => {
    await removeStacks(HERE, STAGING, EDGE);
    await rm(home, { recursive: true, force: true });
    await rm(repo.path, { recursive: true, force: true });
  });

  it('deploys each stack on its engine from one process, each line naming the engine', async () => {
    const child = spawn(
      process.execPath,
      [bin, '--home', home, 'watch', '--json', '--all-engines', '--interval', '5'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const lines: Line[] = [];
    let buffered = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim()) lines.push(JSON.parse(line) as Line);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const finished = (stack: string): Line | undefined =>
        lines.find((l) => l.type === 'run-finished' && l.stack === stack);
      await waitFor(
        `both stacks deployed (stderr: ${stderr})`,
        () => finished(HERE) && finished(STAGING),
        60_000,
      );
      expect(finished(HERE)).toMatchObject({ result: 'succeeded', engine: 'local' });
      expect(finished(STAGING)).toMatchObject({ result: 'succeeded', engine: 'staging' });
      for (const stack of [HERE, STAGING])
        expect(await docker('inspect', '-f', '{{.State.Running}}', `${stack}-app-1`)).toBe('true');
      // Edge does not answer: said on its own lines, and nothing of its stack runs anywhere.
      await waitFor('a line of the edge controller', () => lines.some((l) => l.engine === 'edge'));
      expect(finished(EDGE)).toBeUndefined();
      expect(await docker('ps', '-aq', '--filter', `name=^${EDGE}-`)).toBe('');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    // Each run is recorded on the engine it ran on; every controller stopped, none is left running.
    const e = await Engine.open({ home });
    try {
      expect(e.history.runs.list({ stack: STAGING }).map((r) => r.engine)).toEqual(['staging']);
      expect(e.history.runs.list({ stack: HERE }).map((r) => r.engine ?? 'local')).toEqual(['local']);
      expect(e.history.runs.list({ result: 'running' })).toEqual([]);
    } finally {
      e.close();
    }
  });
});
