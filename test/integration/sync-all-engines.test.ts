// `mooring sync --all-engines`: one command syncs every stack on every engine mooring.yaml sends it to
// (and this machine maps), the engine in use first; an engine that does not answer is said and holds up
// none of the others; a name this machine does not map is said, not acted on. `staging` is a second
// name for the test's engine (written into the settings, as in watch-all-engines.test.ts), `edge` an
// address where nothing answers, `spare` an engine no stack goes to, `homelab` a name this machine does
// not map.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../electron/engine/engine.ts';
import { mooring, mooringJson } from '../helpers/cli.ts';
import { UNIQUE } from '../helpers/controller.ts';
import { docker, dockerOk, removeStacks } from '../helpers/docker.ts';
import { createLocalRepo, type LocalRepo } from '../helpers/git-repo.ts';

const haveDocker = await dockerOk();
if (!haveDocker) console.warn('SKIPPED sync --all-engines tests: no Docker engine answers.');

const HERE = `slocal${UNIQUE}`;
const STAGING = `sstaging${UNIQUE}`;
const EDGE = `sedge${UNIQUE}`;
const FAR = `sfar${UNIQUE}`;
const socket = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
const sleeper =
  'services:\n  app:\n    image: local/busybox:1\n    init: true\n    command: ["sleep", "3600"]\n';

interface Result {
  stack: string;
  engine: string;
  result: string;
  runId: number | null;
}

describe.skipIf(!haveDocker)('mooring sync --all-engines', () => {
  let home: string;
  let repo: LocalRepo;

  beforeAll(async () => {
    await removeStacks(HERE, STAGING, EDGE, FAR);
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-syncall-'));
    await writeFile(
      path.join(home, 'settings.json'),
      JSON.stringify({
        engines: {
          staging: { endpoint: socket },
          edge: { endpoint: 'tcp://127.0.0.1:9' },
          spare: { endpoint: 'tcp://127.0.0.1:9' },
        },
      }),
    );
    repo = await createLocalRepo({
      [`${HERE}/compose.yaml`]: sleeper,
      [`${STAGING}/compose.yaml`]: sleeper,
      [`${EDGE}/compose.yaml`]: sleeper,
      [`${FAR}/compose.yaml`]: sleeper,
      'mooring.yaml': `stacks:\n  ${STAGING}: { engines: [staging] }\n  ${EDGE}: { engines: [edge] }\n  ${FAR}: { engines: [homelab] }\n`,
    });
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
  });
  afterAll(async () => {
    await removeStacks(HERE, STAGING, EDGE, FAR);
    await rm(home, { recursive: true, force: true });
    await rm(repo.path, { recursive: true, force: true });
  });

  it('syncs each stack on its engine; the engine that does not answer and the unmapped name are said', async () => {
    const r = await mooringJson<{
      results: Result[];
      failures: { engine: string; error: string }[];
      unconfigured: { name: string; stacks: string[] }[];
    }>(home, ['sync', '--all-engines']);
    // The engine in use first, then by name; edge does not answer: exit 3, after the others synced.
    expect(r.code).toBe(3);
    expect(r.results.map((x) => [x.stack, x.engine, x.result])).toEqual([
      [HERE, 'local', 'succeeded'],
      [STAGING, 'staging', 'succeeded'],
    ]);
    expect(r.failures.map((f) => f.engine)).toEqual(['edge']);
    expect(r.failures[0]!.error).toMatch(/Engine edge \(tcp:\/\/127\.0\.0\.1:9\) is unreachable/);
    expect(r.stderr).toContain('mooring: edge: Engine edge');
    expect(r.unconfigured).toEqual([{ name: 'homelab', stacks: [FAR] }]);
    expect(r.stderr).toContain(`${FAR} goes to homelab, which this machine does not map`);
    for (const stack of [HERE, STAGING])
      expect(await docker('inspect', '-f', '{{.State.Running}}', `${stack}-app-1`)).toBe('true');
    for (const stack of [EDGE, FAR])
      expect(await docker('ps', '-aq', '--filter', `name=^${stack}-`)).toBe('');
    // Each run is recorded on its engine.
    const e = await Engine.open({ home });
    try {
      expect(e.history.runs.list({ stack: STAGING }).map((x) => x.engine)).toEqual(['staging']);
      expect(e.history.runs.list({ stack: HERE }).map((x) => x.engine ?? 'local')).toEqual(['local']);
    } finally {
      e.close();
    }
  });

  it('with stacks named, acts only on the engines they go to, naming the engine in each line', async () => {
    const r = await mooring(home, ['sync', '--all-engines', STAGING]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${STAGING} on staging: already in sync at [0-9a-f]{7}$`, 'm'));
    // Edge is not asked: nothing of it is said.
    expect(r.stderr).not.toContain('edge');
    const plan = await mooring(home, ['sync', '--all-engines', '--dry-run', HERE, STAGING]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(new RegExp(`^${HERE} on local @ [0-9a-f]{7}: nothing to do$`, 'm'));
    expect(plan.stdout).toMatch(new RegExp(`^${STAGING} on staging @ [0-9a-f]{7}: nothing to do$`, 'm'));
  });

  it('a stack changed in git is synced on its engine, its progress naming it', async () => {
    await repo.commit(
      {
        [`${STAGING}/compose.yaml`]: sleeper.replace('image:', 'environment: { MODE: two }\n    image:'),
      },
      'staging: MODE two',
    );
    expect((await mooring(home, ['fetch'])).code).toBe(0);
    const r = await mooring(home, ['sync', '--all-engines', HERE, STAGING]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^sync ${STAGING} on staging @ [0-9a-f]{7}: 1 action\\(s\\)`, 'm'));
    expect(r.stderr).toContain(`${STAGING} on staging: succeeded`);
    expect(r.stdout).toMatch(new RegExp(`^${HERE} on local: already in sync`, 'm'));
    expect(
      await docker('inspect', '-f', '{{range .Config.Env}}{{println .}}{{end}}', `${STAGING}-app-1`),
    ).toContain('MODE=two');
  });

  it('refuses a prune over two names of one daemon, where each would remove the stacks of the other', async () => {
    const before = await runCount(home);
    const r = await mooring(home, ['sync', '--all-engines', '--prune', '--dry-run']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /Engines local \(.+\) and staging \(.+\) reach the same Docker daemon \(ID .+\): a prune on one would remove the other's stacks\. Nothing was changed\./,
    );
    expect(await runCount(home)).toBe(before);
  });

  it('with --prune and no stacks named, visits every engine this machine maps', async () => {
    // staging alone, in use (local removed from this home): a stack moved away from an engine is
    // removed there, so spare, where no stack goes, is asked too.
    await writeFile(
      path.join(home, 'settings.json'),
      JSON.stringify({
        engines: {
          local: null,
          staging: { endpoint: socket },
          edge: { endpoint: 'tcp://127.0.0.1:9' },
          spare: { endpoint: 'tcp://127.0.0.1:9' },
        },
      }),
    );
    const r = await mooringJson<{
      results: Result[];
      failures: { engine: string }[];
      unconfigured: { name: string; stacks: string[] }[];
    }>(home, ['--engine', 'staging', 'sync', '--all-engines', '--prune', '--dry-run']);
    expect(r.code).toBe(3);
    expect(r.failures.map((f) => f.engine)).toEqual(['edge', 'spare']);
    // (Also planned: local's stack, on this one daemon, pruned as moved away: what the refusal above stops.)
    expect(r.results.map((x) => [x.stack, x.engine, x.result])).toContainEqual([
      STAGING,
      'staging',
      'planned',
    ]);
    expect(r.unconfigured.map((u) => u.name)).toEqual(['homelab', 'local']);
  });

  it('refuses a stack no source declares, and one that goes only where this machine does not reach', async () => {
    const unknown = await mooring(home, ['sync', '--all-engines', 'nosuch']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('No stack "nosuch" in any source');
    expect(unknown.stderr).toContain(`Stacks: `);
    const far = await mooring(home, ['sync', '--all-engines', FAR]);
    expect(far.code).toBe(2);
    expect(far.stderr).toContain(
      `${FAR}: goes to homelab (not configured here): add the engine with \`mooring engine add homelab ENDPOINT\``,
    );
    // Named beside a stack that would sync: refused before anything is, rather than half done.
    const before = await runCount(home);
    const both = await mooring(home, ['sync', '--all-engines', STAGING, FAR]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain(`${FAR}: goes to homelab (not configured here)`);
    expect(await runCount(home)).toBe(before);
  });
});

/** How many runs the home has recorded, on every engine. */
async function runCount(home: string): Promise<number> {
  const e = await Engine.open({ home });
  try {
    return e.history.runs.list({ limit: 1000 }).length;
  } finally {
    e.close();
  }
}
