// The controllers of other engines fetch nothing themselves: the controller of the engine in use
// fetches each source, and they follow its fetches, so one repo is fetched once however many engines
// it goes to, and a new commit reaches every engine at once. From a real git server over HTTP; each
// controller's fetches counted by the lines it logs for them. A source removed in the app reaches them too.
// `staging` is a second name for the test's engine (as in watch-all-engines.test.ts).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiService } from '../../electron/engine/api-service.ts';
import { Engine } from '../../electron/engine/engine.ts';
import { Controller } from '../../electron/engine/reconcile/controller.ts';
import { sleep, UNIQUE, waitFor } from '../helpers/controller.ts';
import { docker, dockerOk, removeStacks } from '../helpers/docker.ts';
import { createRepo, type TestRepo } from '../helpers/git-repo.ts';
import { startGitServer, type GitServer } from '../helpers/git-server.ts';

const haveDocker = await dockerOk();
if (!haveDocker) console.warn('SKIPPED shared fetch tests: no Docker engine answers.');

const HERE = `fhere${UNIQUE}`;
const STAGING = `fstaging${UNIQUE}`;
/** A stack of a second source that also goes to staging (manual: never deployed here). */
const OTHER = `fother${UNIQUE}`;
const sleeper = (mode: string): string =>
  `services:\n  app:\n    image: local/busybox:1\n    init: true\n    command: ["sleep", "3600"]\n    environment: { MODE: "${mode}" }\n`;

describe.skipIf(!haveDocker)('one fetch for every engine a repo goes to', () => {
  let server: GitServer;
  let repo: TestRepo;
  let home: string;
  let engine: Engine;
  let api: ApiService;

  /** Each fetch a controller made, as "ENGINE: its log line". */
  const fetchLines: string[] = [];
  const fetches = (on: string): number => fetchLines.filter((l) => l.startsWith(`${on}: fetch cfg: `)).length;
  const runs = (stack: string): { result: string; revision: string }[] =>
    engine.history.runs.list({ stack }).map((r) => ({ result: r.result, revision: r.revision }));

  beforeAll(async () => {
    await removeStacks(HERE, STAGING);
    server = await startGitServer();
    repo = await createRepo(server, 'cfg', {
      [`${HERE}/compose.yaml`]: sleeper('one'),
      [`${STAGING}/compose.yaml`]: sleeper('one'),
      'mooring.yaml': `stacks:\n  ${HERE}: { sync: auto }\n  ${STAGING}: { sync: auto, engines: [staging] }\n`,
    });
    home = await mkdtemp(path.join(os.tmpdir(), 'mooring-sharedfetch-'));
    const socket = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
    await writeFile(
      path.join(home, 'settings.json'),
      JSON.stringify({ engines: { staging: { endpoint: socket } } }),
    );
    const second = await createRepo(server, 'cfg2', {
      [`${OTHER}/compose.yaml`]: sleeper('x'),
      'mooring.yaml': `stacks:\n  ${OTHER}: { engines: [staging] }\n`,
    });
    engine = await Engine.open({ home });
    await engine.addSource({ name: 'cfg', url: repo.url });
    await engine.addSource({ name: 'cfg2', url: second.url });
    api = new ApiService(engine, {
      // Polls far apart and no ref checks: each fetch in the test is one the test can account for.
      createController: (x, options) => {
        const c = new Controller(x, { pollIntervalMs: 600_000, refCheckMs: 0, ...options });
        c.subscribe((e) => {
          if (e.type === 'log' && e.kind === 'fetch') fetchLines.push(`${x.engineName}: ${e.message}`);
        });
        return c;
      },
    });
  });
  afterAll(async () => {
    await api.stop();
    engine.close();
    await removeStacks(HERE, STAGING);
    await rm(home, { recursive: true, force: true });
    await server.close();
  });

  it('the engine in use fetches; the controller of staging deploys from that fetch alone', async () => {
    await api.start();
    api.subscribe(() => undefined);
    await waitFor(
      'both stacks deployed, each on its engine',
      () =>
        runs(HERE).some((r) => r.result === 'succeeded') &&
        runs(STAGING).some((r) => r.result === 'succeeded'),
    );
    expect((await api.snapshot()).controller.alsoOn).toEqual(['staging']);
    // A moment for any fetch the controllers would start of themselves.
    await sleep(1_500);
    expect([fetches('local'), fetches('staging')]).toEqual([1, 0]);

    // A new commit, fetched by the app's Fetch now (not by a controller), reaches staging's controller
    // through the controller of the engine in use, and staging deploys it, with no fetch of its own.
    const commit = await repo.commit({ [`${STAGING}/compose.yaml`]: sleeper('two') }, 'staging: MODE two');
    expect((await api.handle('sources:fetch', {})).ok).toBe(true);
    await waitFor('staging deployed the new commit', () =>
      runs(STAGING).some((r) => r.result === 'succeeded' && r.revision === commit),
    );
    expect(
      await docker('inspect', '-f', '{{range .Config.Env}}{{println .}}{{end}}', `${STAGING}-app-1`),
    ).toContain('MODE=two');
    await sleep(1_000);
    expect([fetches('local'), fetches('staging')]).toEqual([1, 0]);

    // The source removed in the app: staging's controller (kept for cfg2's stack) reads the sources
    // again as well, and keeps no stack of it.
    expect(await api.handle('stacks:status', { stack: STAGING, engine: 'staging' })).toMatchObject({
      ok: true,
      value: { stack: { sync: 'Synced' } },
    });
    expect((await api.handle('sources:remove', { name: 'cfg' })).ok).toBe(true);
    await waitFor('staging forgets the stack of the removed source', async () => {
      const r = await api.handle('stacks:status', { stack: STAGING, engine: 'staging' });
      return r.ok && r.value === null;
    });
  });
});
