// Namespaces against the real engine: `service:NAME` joins that service's container (the engine only
// knows `container:`), `network_mode: bridge` is the engine's default network, and neither shows as drift
// right after a sync.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StackStatus } from '../../electron/shared/model.ts';
import { mooring, mooringJson } from '../helpers/cli.ts';
import { UNIQUE } from '../helpers/controller.ts';
import { dockerOk, inspect, removeStacks } from '../helpers/docker.ts';
import { createLocalRepo, type LocalRepo } from '../helpers/git-repo.ts';

const STACK = `ns${UNIQUE}`;
const haveDocker = await dockerOk();
if (!haveDocker) console.warn('SKIPPED namespace tests: no Docker engine answers.');

const compose = `services:
  app:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    ipc: shareable
  sidecar:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    network_mode: service:app
    pid: service:app
    ipc: service:app
  plain:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    network_mode: bridge
`;

describe.skipIf(!haveDocker)('namespaces shared between services', () => {
  let home: string;
  let repo: LocalRepo;

  beforeAll(async () => {
    await removeStacks(STACK);
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-ns-'));
    repo = await createLocalRepo({ [`${STACK}/compose.yaml`]: compose });
  });
  afterAll(async () => {
    await removeStacks(STACK);
    await rm(home, { recursive: true, force: true });
    await rm(repo.path, { recursive: true, force: true });
  });

  it('service:NAME joins that container, and a fresh sync shows no drift', async () => {
    expect((await mooring(home, ['source', 'add', 'cfg', repo.path])).code).toBe(0);
    const sync = await mooring(home, ['sync']);
    expect(sync.code, sync.stderr).toBe(0);
    const app = await inspect(`${STACK}-app-1`);
    const sidecar = (await inspect(`${STACK}-sidecar-1`)) as unknown as {
      State: { Running: boolean };
      HostConfig: { NetworkMode: string; PidMode: string; IpcMode: string };
    };
    expect(sidecar.State.Running).toBe(true);
    expect(sidecar.HostConfig.NetworkMode).toBe(`container:${app.Id}`);
    expect(sidecar.HostConfig.PidMode).toBe(`container:${app.Id}`);
    const status = await mooringJson<{ stacks: StackStatus[] }>(home, ['status']);
    const st = status.stacks.find((s) => s.name === STACK)!;
    expect(st.services.map((s) => [s.name, s.sync, s.reasons])).toEqual([
      ['app', 'Synced', []],
      ['sidecar', 'Synced', []],
      ['plain', 'Synced', []],
    ]);
  });
});
