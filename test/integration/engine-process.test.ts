// The desktop's engine off the window's event loop (issue 16, item 4). Electron's utility process
// cannot run here; a worker thread can: its own event loop and environment, the same host module
// (electron/utility/host.ts), the same two ends of the port (electron/engine/api-port.ts). Against a
// real engine and a real git server that asks for a token.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../electron/engine/api-service.ts';
import type { PushEvent } from '../../electron/shared/api.ts';
import type { SourceState } from '../../electron/shared/model.ts';
import { memorySecrets, startEngineWorker } from '../helpers/api-port.ts';
import { UNIQUE, waitFor } from '../helpers/controller.ts';
import { docker, dockerOk, inspect, removeStacks } from '../helpers/docker.ts';
import { createRepo } from '../helpers/git-repo.ts';
import { startGitServer, type GitServer } from '../helpers/git-server.ts';

const haveDocker = await dockerOk();
if (!haveDocker)
  console.warn(
    'SKIPPED engine-process tests: no Docker engine answers (run scripts/setup-test-env.sh as root).',
  );

const STACK = `ipc${UNIQUE}`;
const TOKEN = 'ipc-t0ken-S3CRET';
const SQLITE = { label: 'the Node build' };

describe.skipIf(!haveDocker)('the engine in its own thread, reached over a message port', () => {
  let server: GitServer;
  let base: string;

  beforeAll(async () => {
    await removeStacks(STACK);
    server = await startGitServer({ token: TOKEN });
    base = await mkdtemp(path.join(os.tmpdir(), 'mooring-ipc-'));
  });
  afterAll(async () => {
    await removeStacks(STACK);
    await server.close();
    await rm(base, { recursive: true, force: true });
  });

  it('serves the app: a token kept by the main side, a fetch with it, a sync and its pushes, a window’s log stream, stop', async () => {
    const repo = await createRepo(server, `ipc-${Date.now()}`, {
      [`${STACK}/compose.yaml`]: `services:
  app:
    image: local/busybox:1
    init: true
    command: ["sh", "-c", "while true; do echo tick; sleep 0.2; done"]
`,
    });
    // The main process's keychain, here a map: the worker asks it over the port.
    const { kept, store: secrets } = memorySecrets();
    const { api, exited } = startEngineWorker(
      { home: path.join(base, 'home'), sqlite: SQLITE, secrets: true },
      secrets,
    );
    await api.ready();
    const pushed: PushEvent[] = [];
    api.subscribe((e) => pushed.push(e));

    const snap = await api.handle('app:snapshot', {});
    expect(snap).toMatchObject({ ok: true, value: { engine: { reachable: true } } });

    // The token goes to the main side's store; the worker fetches with it from its own environment.
    const added = await api.handle('sources:add', { name: 'cfg', url: repo.url, token: TOKEN });
    expect(added.ok, JSON.stringify(added)).toBe(true);
    expect(kept.get('cfg')).toBe(TOKEN);
    expect(JSON.stringify(added)).not.toContain(TOKEN);
    expect(process.env.MOORING_TOKEN_CFG).toBeUndefined(); // set in the worker's environment only
    const fetched = await api.handle('sources:fetch', {});
    expect(fetched.ok).toBe(true);
    const source = (fetched.ok ? (fetched.value as SourceState[]) : []).find((s) => s.name === 'cfg');
    expect(source, JSON.stringify(fetched)).toMatchObject({
      lastError: null,
      head: expect.stringMatching(/^[0-9a-f]{40}$/) as string,
    });

    const sync = await api.handle('stacks:sync', { stacks: [STACK], requestId: 'r1' });
    expect(sync.ok, JSON.stringify(sync)).toBe(true);
    await waitFor('the run finished push', () =>
      pushed.some((e) => e.type === 'run-finished' && e.stack === STACK),
    );
    expect(pushed).toContainEqual(
      expect.objectContaining({ type: 'run-started', stack: STACK, requestId: 'r1' }),
    );
    expect(pushed.find((e) => e.type === 'run-finished')).toMatchObject({ result: 'succeeded', error: null });
    expect((await inspect(`${STACK}-app-1`)).State.Running).toBe(true);
    // The snapshot the pushes brought the main side to, as the tray reads it.
    await waitFor('the synced stack in the held snapshot', () =>
      api.current()?.stacks.some((s) => s.name === STACK && s.sync === 'Synced'),
    );
    const runs = await api.handle('history:runs', { limit: 5 });
    expect(runs).toMatchObject({ ok: true, value: [{ stack: STACK, result: 'succeeded' }] });

    // A window's log stream goes to that window alone, and ends in the worker when the window goes.
    const lines: string[] = [];
    const win: ApiClient = {
      push: (e) => {
        if (e.type === 'logs') lines.push(...e.lines.map((l) => l.text));
      },
    };
    const follow = await api.handle(
      'logs:follow',
      { stream: 's', containers: [`${STACK}-app-1`], tail: 1 },
      win,
    );
    expect(follow).toEqual({ ok: true, value: null });
    await waitFor('a few lines', () => lines.length >= 3);
    expect(pushed.some((e) => e.type === 'logs')).toBe(false);
    api.release(win);
    await new Promise((r) => setTimeout(r, 500)); // a batch already under way may still arrive
    const after = lines.length;
    await new Promise((r) => setTimeout(r, 700));
    expect(lines.length).toBe(after);

    await api.stop();
    expect(await exited).toBe(0);
    expect(await api.handle('history:runs', { limit: 1 })).toMatchObject({
      ok: false,
      error: { code: 'internal', message: expect.stringContaining('stopped') as string },
    });
    // Its controller stopped with it: the container it deployed goes on running.
    expect(await docker('inspect', '-f', '{{.State.Running}}', `${STACK}-app-1`)).toBe('true');
  });

  it('a home it cannot open: the main side is told why, and every call is answered with it', async () => {
    const file = path.join(base, 'not-a-folder');
    await writeFile(file, 'x');
    const { api, exited } = startEngineWorker({ home: file, sqlite: SQLITE, secrets: false }, null);
    const why = await api.ready().then(
      () => 'served',
      (err: unknown) => String(err),
    );
    expect(why).toContain(file);
    const call = await api.handle('history:runs', { limit: 1 });
    expect(call).toMatchObject({ ok: false, error: { code: 'internal' } });
    expect(await exited).toBe(0);
  });

  it('a start message of the wrong shape is refused with the field named', async () => {
    const { api, exited } = startEngineWorker({ home: '', sqlite: SQLITE, secrets: false }, null);
    const why = await api.ready().then(
      () => 'served',
      (err: unknown) => String(err),
    );
    expect(why).toMatch(/started wrongly.*home/s);
    expect(await exited).toBe(0);
  });
});
