// Issue 15 in browser mode: the app keeps every engine the repo sends stacks to equal to git, each
// with a controller of its own. `staging` is a second name for the test's engine (written into the
// settings as a user's hand would; `engine add` refuses a daemon another name reaches, which is the
// point of that check, not of this test), `edge` an address where nothing answers. A stack for each
// engine, all `sync: auto`: local's and staging's are deployed, each by its engine's controller (the
// run records which); edge's is Unknown there, and holds up neither.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { docker, removeStacks } from '../helpers/docker.ts';
import { createRepo } from '../helpers/git-repo.ts';
import { MooringPage, expect, startApp, test } from './fixtures.ts';

const sleeper =
  'services:\n  app:\n    image: local/busybox:1\n    init: true\n    command: ["sleep", "3600"]\n';
const STACKS = ['e2emultilocal', 'e2emultistaging', 'e2emultiedge', 'e2emultimanual'];

test('a controller per engine: each deploys its stacks, an engine that does not answer holds up none', async ({
  page,
  gitServer,
}) => {
  await removeStacks(...STACKS);
  const home = await mkdtemp(path.join(os.tmpdir(), 'mooring-e2e-multi-'));
  const socket = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  await writeFile(
    path.join(home, 'settings.json'),
    JSON.stringify({
      pollIntervalSec: 5,
      engines: { staging: { endpoint: socket }, edge: { endpoint: 'tcp://127.0.0.1:9' } },
    }),
  );
  const app = await startApp(home);
  try {
    const repo = await createRepo(gitServer, `e2e-multi-${Date.now()}`, {
      'e2emultilocal/compose.yaml': sleeper,
      'e2emultistaging/compose.yaml': sleeper,
      'e2emultiedge/compose.yaml': sleeper,
      'e2emultimanual/compose.yaml': sleeper,
      'mooring.yaml':
        'stacks:\n  e2emultilocal: { sync: auto }\n  e2emultistaging: { sync: auto, engines: [staging] }\n  e2emultiedge: { sync: auto, engines: [edge] }\n  e2emultimanual: { engines: [staging] }\n',
    });
    const ui = new MooringPage(page);
    await ui.start(app, repo.url);
    await expect(page.locator('[data-status="controller"]')).toHaveText(
      'Controller on (also edge, staging)',
      {
        timeout: 20_000,
      },
    );
    const running = async (stack: string): Promise<string> =>
      docker('inspect', '-f', '{{.State.Running}}', `${stack}-app-1`).catch(() => 'absent');
    await expect.poll(() => running('e2emultilocal'), { timeout: 30_000 }).toBe('true');
    await expect.poll(() => running('e2emultistaging'), { timeout: 30_000 }).toBe('true');
    expect(await running('e2emultiedge')).toBe('absent');

    await ui.goto('Fleet');
    const table = page.getByRole('table', { name: 'Stacks on each engine' });
    const sync = (stack: string, engine: string) =>
      table.locator(`tr[data-stack="${stack}"] td[data-engine="${engine}"] [data-sync]`);
    await expect(sync('e2emultilocal', 'local')).toHaveAttribute('data-sync', 'Synced');
    await expect(sync('e2emultistaging', 'staging')).toHaveAttribute('data-sync', 'Synced');
    await expect(sync('e2emultiedge', 'edge')).toHaveAttribute('data-sync', 'Unknown');
    for (const name of ['local', 'staging', 'edge'])
      await expect(page.locator(`.fleet-engine[data-engine="${name}"]`)).toContainText('controller');
    await ui.screenshot('fleet-controllers');
    // A stack whose policy is manual, on another engine than the window's: synced from its cell.
    await expect(sync('e2emultimanual', 'staging')).toHaveAttribute('data-sync', 'Missing');
    await table.getByRole('button', { name: 'Sync e2emultimanual on staging' }).click();
    await expect(sync('e2emultimanual', 'staging')).toHaveAttribute('data-sync', 'Synced', {
      timeout: 20_000,
    });
    expect(await running('e2emultimanual')).toBe('true');

    // Each run names its engine where it is not local.
    await ui.goto('History');
    const engineOf = (stack: string) =>
      page.locator('.run-row').filter({ hasText: stack }).first().locator('[data-engine]');
    await expect(page.locator('.run-row.head')).toContainText('Engine');
    await expect(engineOf('e2emultistaging')).toHaveText('staging');
    await expect(engineOf('e2emultilocal')).toHaveText('local');
    await expect(engineOf('e2emultimanual')).toHaveText('staging');
    await ui.screenshot('history-engines');

    // A drift on another engine than the window's is told, naming the engine (the snapshot, being the
    // window's engine's, does not show it).
    await docker('stop', '-t', '1', 'e2emultistaging-app-1');
    await expect(
      page
        .getByRole('status')
        .filter({ hasText: 'Stack "e2emultistaging" drifted from git on engine staging' }),
    ).toBeVisible({ timeout: 20_000 });
  } finally {
    await app.stop();
    await removeStacks(...STACKS);
    await rm(home, { recursive: true, force: true });
  }
});
