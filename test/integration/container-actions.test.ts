// Issue 13, item 12, against the real engine: a person's restart, stop and start of a service, each an
// out-of-band run in history; what it touches is this home's containers only; it waits for no run and
// deploys nothing; and the drift a stop causes is explained by the run before it.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../electron/engine/engine.ts';
import { MooringError } from '../../electron/engine/errors.ts';
import { UNIQUE } from '../helpers/controller.ts';
import { docker, dockerOk, removeStacks } from '../helpers/docker.ts';
import { createLocalRepo, type LocalRepo } from '../helpers/git-repo.ts';

const haveDocker = await dockerOk();
if (!haveDocker) console.warn('SKIPPED container action tests: no Docker engine answers.');

const STACK = `cact${UNIQUE}`;
const state = (name: string): Promise<string> => docker('inspect', '--format', '{{.State.Status}}', name);
const startedAt = (name: string): Promise<string> =>
  docker('inspect', '--format', '{{.State.StartedAt}}', name);

describe.skipIf(!haveDocker)('container actions', () => {
  let home: string;
  let repo: LocalRepo;
  let engine: Engine;
  const LOOKALIKE = `${STACK}-app-9`;

  beforeAll(async () => {
    await removeStacks(STACK);
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-cact-'));
    repo = await createLocalRepo({
      [`${STACK}/compose.yaml`]: `services:
  app:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
  db:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
`,
    });
    engine = await Engine.open({ home });
    await engine.addSource({ name: 'cfg', url: repo.path });
    const [r] = await engine.sync({ stacks: [STACK] });
    expect(r?.result).toBe('succeeded');
    // A container with the stack's compose labels that this home did not make: never touched.
    await docker(
      'run',
      '-d',
      '--init',
      '--name',
      LOOKALIKE,
      '--label',
      `com.docker.compose.project=${STACK}`,
      '--label',
      'com.docker.compose.service=app',
      '--label',
      'dev.mooring.managed=true',
      'local/busybox:1',
      'sleep',
      '3600',
    );
  });
  afterAll(async () => {
    engine.close();
    await docker('rm', '-f', LOOKALIKE).catch(() => '');
    await removeStacks(STACK);
    await rm(home, { recursive: true, force: true });
    await rm(repo.path, { recursive: true, force: true });
  });

  it('stop, start and restart act on this home’s containers of the service, each an out-of-band run', async () => {
    const deployed = engine.history.runs.lastDeployedRevision(STACK, 'local');
    const app = `${STACK}-app-1`;

    const stopped = await engine.containerAction({ stack: STACK, service: 'app', action: 'stop' });
    expect(stopped).toMatchObject({ containers: [app], error: null });
    expect(await state(app)).toBe('exited');
    expect(await state(LOOKALIKE)).toBe('running');
    expect(await state(`${STACK}-db-1`)).toBe('running');
    const recorded = engine.history.runs.get(stopped.runId);
    expect(recorded?.run).toMatchObject({
      trigger: 'out-of-band',
      result: 'succeeded',
      stack: STACK,
      revision: deployed,
    });
    expect(recorded?.actions).toMatchObject([{ kind: 'stop', target: 'app', result: 'succeeded' }]);
    // The stop is drift, and history says who made it: the out-of-band run is the stack's last.
    const [st] = await engine.status({ stacks: [STACK] });
    expect(st?.services.find((s) => s.name === 'app')?.sync).toBe('OutOfSync');
    expect(engine.history.runs.list({ stack: STACK, limit: 1 })[0]?.id).toBe(stopped.runId);
    // It deployed nothing.
    expect(engine.history.runs.lastDeployedRevision(STACK, 'local')).toBe(deployed);

    const started = await engine.containerAction({ stack: STACK, service: 'app', action: 'start' });
    expect(started.error).toBeNull();
    expect(await state(app)).toBe('running');
    const before = await startedAt(app);
    const restarted = await engine.containerAction({ stack: STACK, service: 'app', action: 'restart' });
    expect(restarted.error).toBeNull();
    expect(await startedAt(app)).not.toBe(before);
    expect(engine.history.runs.get(restarted.runId)?.actions[0]).toMatchObject({
      kind: 'restart',
      target: 'app',
    });
    const [after] = await engine.status({ stacks: [STACK] });
    expect(after?.sync).toBe('Synced');
  });

  it('says what is wrong: an unknown stack or service, a stack a run holds', async () => {
    const err = (p: Promise<unknown>): Promise<MooringError> =>
      p.then(
        () => Promise.reject(new Error('resolved')),
        (e: unknown) => {
          if (e instanceof MooringError) return e;
          throw e;
        },
      );
    const nostack = await err(engine.containerAction({ stack: 'nosuch', service: 'app', action: 'stop' }));
    expect(nostack.message).toBe('No stack "nosuch" is declared or running here.');
    const noservice = await err(engine.containerAction({ stack: STACK, service: 'web', action: 'stop' }));
    expect(noservice.message).toBe(`Stack ${STACK} has no service "web"; its services: app, db.`);
    expect(engine.records.locks.tryLock('cfg', STACK, 'a test run').ok).toBe(true);
    try {
      const busy = await err(engine.containerAction({ stack: STACK, service: 'app', action: 'restart' }));
      expect(busy.code).toBe('conflict');
      expect(busy.message).toMatch(
        new RegExp(
          `^${STACK} is busy: a test run \\(pid \\d+ on .+\\) since .+ Try again when it is done\\.$`,
        ),
      );
    } finally {
      engine.records.locks.unlock('cfg', STACK);
    }
    expect(await state(`${STACK}-app-1`)).toBe('running');
  });
});
