// Issue 10, item 7, against the real engine: a recreate that cannot succeed never leaves the service
// down. What can be known before a change (a host port someone holds, a bind source that is missing)
// fails the plan before any change; what cannot (a container that dies at start, a healthcheck that
// fails) puts the previous container back.
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../electron/shared/model.ts';
import { mooring, mooringJson } from '../helpers/cli.ts';
import { UNIQUE } from '../helpers/controller.ts';
import { docker, dockerOk, inspect, removeStacks } from '../helpers/docker.ts';
import { createLocalRepo, type LocalRepo } from '../helpers/git-repo.ts';

const S = UNIQUE;
const haveDocker = await dockerOk();
if (!haveDocker) console.warn('SKIPPED recreate fault tests: no Docker engine answers.');

const STACK = `rfault${S}`;
const NEW_STACK = `rfresh${S}`;
// Ports of their own per process, so that parallel runs of the suite do not collide.
const BASE = 20_000 + (process.pid % 2_000) * 10;

const app = (opts: { port: number; command?: string; extra?: string }): string => `services:
  app:
    image: local/busybox:1
    init: true
    command: ${opts.command ?? '["sleep", "3600"]'}
    ports:
      - "127.0.0.1:${opts.port}:80"
${opts.extra ?? ''}`;

describe.skipIf(!haveDocker)('a recreate that cannot succeed leaves the service as it was', () => {
  let home: string;
  let repo: LocalRepo;
  const strays: string[] = [];
  let listener: Server | null = null;

  const deployV1 = async (): Promise<string> => {
    repo = await createLocalRepo({ [`${STACK}/compose.yaml`]: app({ port: BASE }) });
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
    const first = await mooring(home, ['sync']);
    expect(first.code, first.stderr).toBe(0);
    return (await inspect(`${STACK}-app-1`)).Id;
  };
  const expectUntouched = async (id: string): Promise<void> => {
    const c = await inspect(`${STACK}-app-1`);
    expect(c.Id).toBe(id);
    expect(c.State.Running).toBe(true);
    expect(await docker('ps', '-a', '--format', '{{.Names}}', '--filter', `name=${STACK}-app-1_`)).toBe('');
  };

  beforeAll(async () => {
    await removeStacks(STACK, NEW_STACK);
  });
  afterAll(async () => {
    await removeStacks(STACK, NEW_STACK);
  });
  beforeEach(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-rfault-'));
  });
  afterEach(async () => {
    await removeStacks(STACK, NEW_STACK);
    for (const name of strays.splice(0)) await docker('rm', '-f', name).catch(() => '');
    await new Promise<void>((resolve) => {
      if (listener)
        listener.close(() => {
          resolve();
        });
      else resolve();
    });
    listener = null;
    await rm(home, { recursive: true, force: true });
    await rm(repo.path, { recursive: true, force: true });
  });

  it('a host port another container holds fails the plan before the old container is touched', async () => {
    const id = await deployV1();
    const holder = `rfault-holder${S}`;
    strays.push(holder);
    await docker(
      'run',
      '-d',
      '--init',
      '--name',
      holder,
      '-p',
      `127.0.0.1:${BASE + 1}:80`,
      'local/busybox:1',
      'sleep',
      '3600',
    );
    await repo.commit({ [`${STACK}/compose.yaml`]: app({ port: BASE + 1 }) }, 'move the port');
    const sync = await mooring(home, ['sync']);
    expect(sync.code).toBe(1);
    expect(sync.stderr).toContain(
      `host port 127.0.0.1:${BASE + 1}/tcp for service "app" is held by container ${holder}`,
    );
    expect(sync.stderr).toMatch(/Nothing of stack .* was changed/);
    await expectUntouched(id);
  });

  it('a host port another program on this machine holds fails the plan before any change', async () => {
    const id = await deployV1();
    listener = createServer();
    await new Promise<void>((resolve) => listener!.listen(BASE + 2, '127.0.0.1', resolve));
    await repo.commit({ [`${STACK}/compose.yaml`]: app({ port: BASE + 2 }) }, 'move the port');
    const sync = await mooring(home, ['sync']);
    expect(sync.code).toBe(1);
    expect(sync.stderr).toContain(
      `host port 127.0.0.1:${BASE + 2}/tcp is in use by another program on this machine`,
    );
    await expectUntouched(id);
  });

  it('a new container that exits at start is removed and the previous one restored', async () => {
    const id = await deployV1();
    await repo.commit(
      { [`${STACK}/compose.yaml`]: app({ port: BASE, command: '["sh", "-c", "echo boom; exit 3"]' }) },
      'a broken command',
    );
    const sync = await mooring(home, ['sync']);
    expect(sync.code).toBe(1);
    expect(sync.stderr).toMatch(/exited with code 3.*boom.*restored the previous container/);
    await expectUntouched(id);
    const { runs } = await mooringJson<{ runs: RunRecord[] }>(home, ['history']);
    expect(runs[0]).toMatchObject({ result: 'failed' });
    expect(runs[0]!.error).toContain('restored the previous container');
  });

  it('a new container whose healthcheck fails is removed and the previous one restored', async () => {
    const id = await deployV1();
    const extra = `    healthcheck:
      test: ["CMD", "false"]
      interval: 200ms
      timeout: 1s
      retries: 1
`;
    await repo.commit({ [`${STACK}/compose.yaml`]: app({ port: BASE, extra }) }, 'an unhealthy revision');
    const sync = await mooring(home, ['sync']);
    expect(sync.code).toBe(1);
    expect(sync.stderr).toMatch(/unhealthy.*restored the previous container/);
    await expectUntouched(id);
  });

  it('a missing bind source in the long syntax fails a new stack before its network is made', async () => {
    const missing = path.join(home, 'not-there');
    await writeFile(path.join(home, 'settings.json'), JSON.stringify({ safety: { bindRoots: [home] } }));
    repo = await createLocalRepo({
      [`${NEW_STACK}/compose.yaml`]: `services:
  app:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    volumes:
      - type: bind
        source: ${missing}
        target: /data
`,
    });
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
    const sync = await mooring(home, ['sync']);
    expect(sync.code).toBe(1);
    expect(sync.stderr).toContain(
      `bind mount source ${missing} of service "app" does not exist on this machine; create it (mkdir -p ${missing}), or set bind.create_host_path: true`,
    );
    expect(await docker('network', 'ls', '-q', '--filter', `name=^${NEW_STACK}_default$`)).toBe('');
    await expect(inspect(`${NEW_STACK}-app-1`)).rejects.toThrow();
  });
});
