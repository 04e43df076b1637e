// Issue 15: the app's controller of another engine follows that engine's settings. Removed, the engine's
// controller stops; given other settings (an endpoint, a key), it is started anew on them — it used to
// keep its old connection until the repo or the set of engines changed. Changed by another process (the
// CLI's `engine add`/`remove`), the settings file is followed as well.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiService } from '../../electron/engine/api-service.ts';
import { Engine } from '../../electron/engine/engine.ts';
import { Controller } from '../../electron/engine/reconcile/controller.ts';
import { updateSettingsFile } from '../../electron/engine/settings.ts';
import type { Results } from '../../electron/shared/api.ts';
import { UNIQUE, waitFor } from '../helpers/controller.ts';
import { dockerOk } from '../helpers/docker.ts';
import { createLocalRepo, type LocalRepo } from '../helpers/git-repo.ts';

const haveDocker = await dockerOk();
if (!haveDocker)
  console.warn(
    "SKIPPED engine controller tests: no Docker engine answers (the window's controller needs one).",
  );

const STACK = `edgeonly${UNIQUE}`;

describe.skipIf(!haveDocker)("the controllers of other engines follow the engines' settings", () => {
  let home: string;
  let repo: LocalRepo;
  let engine: Engine;
  let api: ApiService;
  /** Each controller the service made: its engine and the endpoint it was made for. */
  const made: string[] = [];

  beforeAll(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-engctl-'));
    // Nothing answers on port 9: the engine's controller runs, and finds it Unknown.
    await writeFile(
      path.join(home, 'settings.json'),
      JSON.stringify({ pollIntervalSec: 60, engines: { edge: { endpoint: 'tcp://127.0.0.1:9' } } }),
    );
    repo = await createLocalRepo({
      [`${STACK}/compose.yaml`]: 'services:\n  app:\n    image: local/busybox:1\n',
      'mooring.yaml': `stacks:\n  ${STACK}: { engines: [edge] }\n`,
    });
    engine = await Engine.open({ home });
    await engine.addSource({ name: 'cfg', url: repo.path });
    api = new ApiService(engine, {
      createController: (x) => {
        made.push(`${x.engineName} ${x.docker.endpoint}`);
        return new Controller(x, { pollIntervalMs: 60_000 });
      },
    });
    await api.start();
    // A window: pushes (and so the snapshots that start other engines' controllers) are for windows.
    api.subscribe(() => undefined);
  });
  afterAll(async () => {
    await api.stop();
    engine.close();
    await rm(home, { recursive: true, force: true });
    await rm(repo.path, { recursive: true, force: true });
  });

  const alsoOn = async (): Promise<string> => ((await api.snapshot()).controller.alsoOn ?? []).join();

  it('starts one for an engine the repo sends a stack to, anew when its settings change', async () => {
    await waitFor('a controller on edge', async () => (await alsoOn()) === 'edge');
    expect(made).toEqual(['local unix:///var/run/docker.sock', 'edge tcp://127.0.0.1:9'].map(fix));
    // What `mooring engine remove edge` then `engine add edge tcp://127.0.0.1:10` in a terminal leave in
    // the settings file (add itself refuses here, where every endpoint that answers is the one daemon
    // `local` reaches): the running app follows the file.
    await updateSettingsFile(home, (s) => {
      s.engines = { edge: { endpoint: 'tcp://127.0.0.1:10' } };
    });
    await waitFor('a controller on the new endpoint', async () => {
      await api.snapshot();
      return made.includes('edge tcp://127.0.0.1:10');
    });
    expect(made.filter((m) => m.startsWith('edge '))).toHaveLength(2);
    expect(await alsoOn()).toBe('edge');
    const view = await api.handle('stacks:status', { stack: STACK, engine: 'edge' });
    expect(view).toMatchObject({
      ok: true,
      value: { engine: { endpoint: 'tcp://127.0.0.1:10', controlled: true } },
    });
    // Why it is Unknown names the engine, and how to change it.
    const warnings = (view.ok && (view.value as Results['stacks:status'])?.stack.warnings) || [];
    expect(warnings.join(' ')).toContain('Engine edge (tcp://127.0.0.1:10) is unreachable');
    expect(warnings.join(' ')).toContain('`mooring engine remove edge` and add it again');
  });

  it('stops it when the engine is removed', async () => {
    const r = await api.handle('engines:remove', { name: 'edge' });
    expect(r.ok).toBe(true);
    await waitFor('no controller on edge', async () => (await alsoOn()) === '');
    // Nothing starts it again while no engine of that name is configured.
    await api.snapshot();
    expect(made.filter((m) => m.startsWith('edge '))).toHaveLength(2);
  });

  it('starts one for an engine another process (the CLI) adds to the settings file', async () => {
    expect((await api.handle('engines:list', {})).ok).toBe(true);
    await updateSettingsFile(home, (s) => {
      s.engines = { ...s.engines, edge: { endpoint: 'tcp://127.0.0.1:11' } };
    });
    // The app's engine list says so at its next look, and the engine's controller starts.
    const listed = await api.handle('engines:list', {});
    expect(listed.ok && (listed.value as Results['engines:list']).map((e) => e.name)).toContain('edge');
    await waitFor('a controller on the engine added elsewhere', async () => (await alsoOn()) === 'edge');
    expect(made).toContain('edge tcp://127.0.0.1:11');
  });
});

/** The local engine's endpoint as this machine has it (DOCKER_HOST when the tests set one). */
function fix(m: string): string {
  return m.startsWith('local ') && process.env.DOCKER_HOST ? `local ${process.env.DOCKER_HOST}` : m;
}
