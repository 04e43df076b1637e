// Issue 11 against the real engine: `deploy` on one engine (replicas scaled up and down, resources,
// restart_policy), compose's own labels complete enough for docker-compose to work on Mooring's
// stacks, the adoption of containers that compose already runs from the same file, and a relative bind
// that git does not hold kept across revisions, as compose keeps it beside the compose file.
import { mkdtemp, rm } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunRecord, StackStatus } from '../../electron/shared/model.ts';
import { mooring, mooringJson } from '../helpers/cli.ts';
import { UNIQUE } from '../helpers/controller.ts';
import { docker, dockerOk, inspect, removeStacks } from '../helpers/docker.ts';
import { createLocalRepo, type LocalRepo } from '../helpers/git-repo.ts';

const run = promisify(execFile);
const S = UNIQUE;
const STACK = `interop${S}`;
const haveDocker = await dockerOk();
if (!haveDocker) console.warn('SKIPPED compose interop tests: no Docker engine answers.');

const withReplicas = (n: number): string => `services:
  app:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    deploy:
      replicas: ${n}
      resources:
        limits: { memory: 64m, cpus: "0.5" }
      restart_policy: { condition: on-failure, max_attempts: 3 }
      placement: { constraints: ["node.role == manager"] }
`;

type Status = { stacks: StackStatus[] };
const ids = async (): Promise<Map<string, string>> => {
  const out = await docker(
    'ps',
    '-a',
    '--filter',
    `label=com.docker.compose.project=${STACK}`,
    '--format',
    '{{.Names}} {{.ID}}',
  );
  return new Map(
    out
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ') as [string, string]),
  );
};

describe.skipIf(!haveDocker)('compose interop: deploy, labels, adoption', () => {
  let home: string;
  let repo: LocalRepo;

  beforeEach(async () => {
    await removeStacks(STACK);
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-interop-'));
  });
  afterEach(async () => {
    await removeStacks(STACK);
    await rm(home, { recursive: true, force: true });
    await rm(repo.path, { recursive: true, force: true });
  });

  it('runs deploy.replicas containers with the limits and restart policy, and scales them without touching the others', async () => {
    repo = await createLocalRepo({ [`${STACK}/compose.yaml`]: withReplicas(3) });
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
    const plan = await mooring(home, ['sync', '--dry-run']);
    expect(plan.stdout).toContain('deploy.placement kept, applies on Swarm only');
    const first = await mooring(home, ['sync']);
    expect(first.code, first.stderr).toBe(0);
    const three = await ids();
    expect([...three.keys()].sort()).toEqual([1, 2, 3].map((n) => `${STACK}-app-${n}`));
    const c2 = (await inspect(`${STACK}-app-2`)) as unknown as {
      Config: { Labels: Record<string, string> };
      HostConfig: {
        Memory: number;
        NanoCpus: number;
        RestartPolicy: { Name: string; MaximumRetryCount: number };
      };
    };
    expect(c2.Config.Labels['com.docker.compose.container-number']).toBe('2');
    expect(c2.HostConfig).toMatchObject({
      Memory: 64 * 1024 ** 2,
      NanoCpus: 5e8,
      RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 },
    });
    const synced = await mooringJson<Status>(home, ['status']);
    expect(synced.stacks.find((s) => s.name === STACK)).toMatchObject({ sync: 'Synced', health: 'Healthy' });

    // A replica removed by hand is drift in the count; the sync brings back only that one.
    await docker('rm', '-f', `${STACK}-app-3`);
    const drift = await mooringJson<Status>(home, ['status']);
    expect(drift.stacks.find((s) => s.name === STACK)!.services[0]!.reasons).toContainEqual({
      path: 'replicas',
      desired: '3',
      live: '2',
    });
    expect((await mooring(home, ['sync', '--dry-run'])).stdout).toContain('scale app');
    expect((await mooring(home, ['sync'])).code).toBe(0);
    const back = await ids();
    expect(back.get(`${STACK}-app-1`)).toBe(three.get(`${STACK}-app-1`));
    expect(back.get(`${STACK}-app-2`)).toBe(three.get(`${STACK}-app-2`));
    expect(back.has(`${STACK}-app-3`)).toBe(true);

    // Scaled down in git: the highest numbers go, the first stays as it runs.
    await repo.commit({ [`${STACK}/compose.yaml`]: withReplicas(1) }, 'one replica');
    expect((await mooring(home, ['sync'])).code).toBe(0);
    const one = await ids();
    expect([...one.keys()]).toEqual([`${STACK}-app-1`]);
    expect(one.get(`${STACK}-app-1`)).toBe(three.get(`${STACK}-app-1`));
  });

  it("writes compose's labels, so docker-compose can list, read and remove Mooring's stack", async () => {
    repo = await createLocalRepo({ [`${STACK}/compose.yaml`]: withReplicas(2) });
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
    expect((await mooring(home, ['sync'])).code).toBe(0);
    const labels = (await inspect(`${STACK}-app-1`)).Config.Labels;
    expect(labels).toMatchObject({
      'com.docker.compose.project': STACK,
      'com.docker.compose.service': 'app',
      'com.docker.compose.oneoff': 'False',
      'com.docker.compose.project.working_dir': path.join(repo.path, STACK),
      'com.docker.compose.project.config_files': path.join(repo.path, STACK, 'compose.yaml'),
      'com.docker.compose.config-hash': labels['dev.mooring.spec-hash'],
    });
    expect(labels['com.docker.compose.version']).toMatch(/^\d+\.\d+\.\d+$/);
    const compose = (...args: string[]) =>
      run('docker-compose', ['-p', STACK, '-f', path.join(repo.path, STACK, 'compose.yaml'), ...args], {
        env: { ...process.env, COMPOSE_INTERACTIVE_NO_CLI: '1' },
      });
    const ps = await compose('ps');
    expect(ps.stdout).toContain(`${STACK}-app-1`);
    expect(ps.stdout).toContain(`${STACK}-app-2`);
    await compose('logs', '--no-color');
    await compose('down');
    expect((await ids()).size).toBe(0);
  });

  it('takes over a container that compose made from the same file without recreating it', async () => {
    repo = await createLocalRepo({
      [`${STACK}/compose.yaml`]: `services:\n  app:\n    image: local/busybox:1\n    init: true\n    command: ["sleep", "3600"]\n`,
    });
    // What `docker compose up` (v2) leaves: its network and its container, with compose's labels only.
    await docker(
      'network',
      'create',
      '--label',
      `com.docker.compose.project=${STACK}`,
      '--label',
      'com.docker.compose.network=default',
      `${STACK}_default`,
    );
    await docker(
      'run',
      '-d',
      '--init',
      '--name',
      `${STACK}-app-1`,
      '--network',
      `${STACK}_default`,
      '--network-alias',
      'app',
      '--label',
      `com.docker.compose.project=${STACK}`,
      '--label',
      'com.docker.compose.service=app',
      '--label',
      'com.docker.compose.container-number=1',
      '--label',
      'com.docker.compose.oneoff=False',
      'local/busybox:1',
      'sleep',
      '3600',
    );
    const before = (await inspect(`${STACK}-app-1`)).Id;
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
    const plan = await mooring(home, ['sync', '--dry-run']);
    expect(plan.stdout).toMatch(/adopt app .*made by docker compose and matches git/);
    const sync = await mooring(home, ['sync']);
    expect(sync.code, sync.stderr).toBe(0);
    expect((await inspect(`${STACK}-app-1`)).Id).toBe(before);
    const status = await mooringJson<Status>(home, ['status']);
    expect(status.stacks.find((s) => s.name === STACK)).toMatchObject({ sync: 'Synced', health: 'Healthy' });
    const { runs } = await mooringJson<{ runs: RunRecord[] }>(home, ['history']);
    expect(runs[0]!.plan.map((a) => a.kind)).toEqual(['adopt']);

    // Adopted means ours: a change in git recreates it as Mooring's own container.
    await repo.commit(
      {
        [`${STACK}/compose.yaml`]: `services:\n  app:\n    image: local/busybox:1\n    init: true\n    command: ["sleep", "3601"]\n`,
      },
      'change',
    );
    const again = await mooring(home, ['sync']);
    expect(again.code, again.stderr).toBe(0);
    const now = await inspect(`${STACK}-app-1`);
    expect(now.Id).not.toBe(before);
    expect(now.Config.Labels['dev.mooring.managed']).toBe('true');
  });

  it('keeps a relative bind folder that git does not hold across revisions, as compose keeps ./data', async () => {
    const file = (sleep: number): string =>
      `services:\n  app:\n    image: local/busybox:1\n    init: true\n    command: ["sleep", "${sleep}"]\n    volumes:\n      - ./data:/data\n`;
    repo = await createLocalRepo({ [`${STACK}/compose.yaml`]: file(3600) });
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
    const plan = await mooring(home, ['sync', '--dry-run']);
    expect(plan.stdout).toContain('./data is not in the config repo, so it is kept on this machine in');
    expect((await mooring(home, ['sync'])).code).toBe(0);
    await docker('exec', `${STACK}-app-1`, 'sh', '-c', 'echo kept > /data/written-by-the-app');
    const source = (
      await docker('inspect', '-f', '{{range .Mounts}}{{.Source}}{{end}}', `${STACK}-app-1`)
    ).trim();
    expect(source).toBe(path.join(home, 'state', 'cfg', `${STACK}%2Fdata`));

    await repo.commit({ [`${STACK}/compose.yaml`]: file(3601) }, 'a new revision');
    const sync = await mooring(home, ['sync']);
    expect(sync.code, sync.stderr).toBe(0);
    expect((await docker('exec', `${STACK}-app-1`, 'cat', '/data/written-by-the-app')).trim()).toBe('kept');
    const status = await mooringJson<Status>(home, ['status']);
    expect(status.stacks.find((s) => s.name === STACK)?.sync).toBe('Synced');
  });
});
