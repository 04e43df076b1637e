// Issue 15, the stack screen per engine, against the real engine through the API every window uses:
// a stack that mooring.yaml sends to `staging` (a second name this home gives the test's engine) is
// looked at, planned, synced, suspended, stopped, read and rolled back on `staging` by naming it;
// nothing of it lands in `local`'s records, and a request without an engine acts on the window's.
// (Both names reach one daemon here, so `local` sees the containers too; the assertions are about
// which engine's records and git declarations a request uses.)
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiService } from '../../electron/engine/api-service.ts';
import { Engine } from '../../electron/engine/engine.ts';
import type { PushEvent, Reply, Results } from '../../electron/shared/api.ts';
import { UNIQUE } from '../helpers/controller.ts';
import { docker, dockerOk, removeStacks } from '../helpers/docker.ts';
import { createLocalRepo, type LocalRepo } from '../helpers/git-repo.ts';

const haveDocker = await dockerOk();
if (!haveDocker) console.warn('SKIPPED stack-on-engine tests: no Docker engine answers.');

const STACK = `onstg${UNIQUE}`;
const compose = (word: string): string => `services:
  app:
    image: local/busybox:1
    init: true
    command: ["sh", "-c", "echo ${word}; sleep 3600"]
`;
const state = (): Promise<string> =>
  docker('inspect', '--format', '{{.State.Status}}', `${STACK}-app-1`).catch(() => 'absent');

describe.skipIf(!haveDocker)('a stack on another named engine, through the API', () => {
  let home: string;
  let repo: LocalRepo;
  let engine: Engine;
  let api: ApiService;
  const pushes: PushEvent[] = [];

  /** The method's result, or the test fails with the API's error. */
  async function ok<M extends keyof Results>(method: M, params: unknown): Promise<Results[M]> {
    const r = (await api.handle(method, params)) as Reply<Results[M]>;
    if (!r.ok) throw new Error(`${method}: ${r.error.code}: ${r.error.message}`);
    return r.value;
  }

  beforeAll(async () => {
    await removeStacks(STACK);
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-onstg-'));
    const socket = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
    await writeFile(
      path.join(home, 'settings.json'),
      JSON.stringify({ controllerEnabled: false, engines: { staging: { endpoint: socket } } }),
    );
    repo = await createLocalRepo({
      [`${STACK}/compose.yaml`]: compose('first'),
      'mooring.yaml': `stacks:\n  ${STACK}: { engines: [staging] }\n`,
    });
    engine = await Engine.open({ home });
    await engine.addSource({ name: 'cfg', url: repo.path });
    api = new ApiService(engine, {
      createController: () => {
        throw new Error('no controller in this test');
      },
    });
    api.subscribe((e) => pushes.push(e));
  });
  afterAll(async () => {
    await api.stop();
    engine.close();
    await removeStacks(STACK);
    await rm(home, { recursive: true, force: true });
    await rm(repo.path, { recursive: true, force: true });
  });

  it('looks at, plans and syncs the stack on the engine it names', async () => {
    // On the window's engine (local) git declares nothing of it, and nothing of it runs.
    expect(await ok('stacks:status', { stack: STACK, engine: 'local' })).toBeNull();
    const before = await ok('stacks:status', { stack: STACK, engine: 'staging' });
    expect(before?.stack.sync).toBe('Missing');
    expect(before?.engine).toMatchObject({ name: 'staging', controlled: false });
    expect(before?.engine.endpoint).toMatch(/^(unix|tcp):\/\//);
    // The commit that last changed it is named, with its message, as the snapshot does for local's.
    expect(before?.changedIn?.target).toBe(before?.stack.revision);
    expect(before?.revisions[before.stack.revision ?? '']?.message).toBe('initial commit');

    const plan = await ok('stacks:plan', { stack: STACK, engine: 'staging' });
    expect(plan.actions.map((a) => `${a.kind} ${a.target}`)).toContain('create app');
    // Without an engine the request is the window's: there the stack is not declared.
    const elsewhere = await api.handle('stacks:plan', { stack: STACK });
    expect(elsewhere.ok).toBe(false);

    const [r] = await ok('stacks:sync', { stacks: [STACK], engine: 'staging' });
    expect(r?.result).toBe('succeeded');
    expect(await state()).toBe('running');
    const run = engine.history.runs.get(r!.runId!)?.run;
    expect(run?.engine).toBe('staging');
    expect((await ok('stacks:status', { stack: STACK, engine: 'staging' }))?.stack.sync).toBe('Synced');
    // A window showing the stack there hears that it changed.
    expect(pushes).toContainEqual({ type: 'engine-changed', engine: 'staging' });
  });

  it("suspends, stops and reads the stack's containers on that engine alone", async () => {
    await ok('stacks:suspend', { stack: STACK, suspended: true, engine: 'staging' });
    expect((await ok('stacks:status', { stack: STACK, engine: 'staging' }))?.stack.suspended).toBe(true);
    expect(engine.records.suspensions.list().has(STACK)).toBe(false);
    expect(engine.onEngine('staging').records.suspensions.list().has(STACK)).toBe(true);
    await ok('stacks:suspend', { stack: STACK, suspended: false, engine: 'staging' });
    expect((await ok('stacks:status', { stack: STACK, engine: 'staging' }))?.stack.suspended).toBe(false);

    const logs = await ok('containers:logs', { container: `${STACK}-app-1`, tail: 10, engine: 'staging' });
    expect(logs).toContain('first');

    const stop = await ok('containers:action', {
      stack: STACK,
      service: 'app',
      action: 'stop',
      engine: 'staging',
    });
    expect(stop.error).toBeNull();
    expect(await state()).toBe('exited');
    expect(engine.history.runs.get(stop.runId)?.run.engine).toBe('staging');
    await ok('containers:action', { stack: STACK, service: 'app', action: 'start', engine: 'staging' });
    expect(await state()).toBe('running');
  });

  it("rolls a run back on the engine it ran on, not on the window's", async () => {
    const first = engine.history.runs.list({ stack: STACK, trigger: 'manual' }).at(-1)!;
    await repo.commit({ [`${STACK}/compose.yaml`]: compose('second') }, 'second');
    await engine.fetch('cfg');
    const [r] = await ok('stacks:sync', { stacks: [STACK], engine: 'staging' });
    expect(r?.result).toBe('succeeded');
    expect(
      await ok('containers:logs', { container: `${STACK}-app-1`, tail: 10, engine: 'staging' }),
    ).toContain('second');

    const back = await ok('stacks:rollback', { stack: STACK, revision: first.revision, run: first.id });
    expect(back.error).toBeNull();
    expect(engine.history.runs.get(back.runId!)?.run).toMatchObject({
      engine: 'staging',
      trigger: 'rollback',
    });
    const logs = await ok('containers:logs', { container: `${STACK}-app-1`, tail: 10, engine: 'staging' });
    expect(logs).toContain('first');
    expect(logs).not.toContain('second');
    // The rollback holds the stack on staging, where it deployed it.
    expect(engine.onEngine('staging').records.suspensions.list().has(STACK)).toBe(true);
    expect(engine.records.suspensions.list().has(STACK)).toBe(false);
  });

  it('names an engine this machine does not map, and refuses a name that is not one', async () => {
    const unknown = await api.handle('stacks:status', { stack: STACK, engine: 'nowhere' });
    expect(unknown).toMatchObject({ ok: false, error: { code: 'not-found' } });
    expect(!unknown.ok && unknown.error.message).toContain('No engine named nowhere');
    const hostile = await api.handle('logs:follow', {
      stream: 's1',
      containers: [`${STACK}-app-1`],
      tail: 1,
      engine: '../../etc',
    });
    expect(hostile).toMatchObject({ ok: false, error: { code: 'invalid-input' } });
  });
});
