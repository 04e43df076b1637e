// Issue 15 in browser mode: the Fleet screen. This machine names two engines — `local` (the test's
// engine) and `staging`, an address where nothing answers — and git sends one stack to local, one to
// both, one to `homelab`, a name this machine does not map. Each engine shows its own health; each cell
// the stack's sync and health on that engine, Unknown (with why) only where the engine does not answer;
// the filter shows one engine's stacks.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { removeStacks } from '../helpers/docker.ts';
import { createRepo } from '../helpers/git-repo.ts';
import { MooringPage, expect, startApp, test } from './fixtures.ts';

const sleeper =
  'services:\n  app:\n    image: local/busybox:1\n    init: true\n    command: ["sleep", "3600"]\n';
const STACKS = ['e2efleethere', 'e2efleetboth', 'e2efleetfar', 'e2efleetswarm'];

test('the fleet: each engine with its health, each stack on each engine it goes to', async ({
  page,
  gitServer,
}) => {
  await removeStacks(...STACKS);
  const home = await mkdtemp(path.join(os.tmpdir(), 'mooring-e2e-fleet-'));
  // Port 9 on loopback: nothing listens, so the engine is refused at once.
  await writeFile(
    path.join(home, 'settings.json'),
    JSON.stringify({ engines: { staging: { endpoint: 'tcp://127.0.0.1:9' } } }),
  );
  const app = await startApp(home);
  try {
    const repo = await createRepo(gitServer, `e2e-fleet-${Date.now()}`, {
      'e2efleethere/compose.yaml': sleeper,
      'e2efleetboth/compose.yaml': sleeper,
      'e2efleetfar/compose.yaml': sleeper,
      'e2efleetswarm/compose.yaml': sleeper,
      'mooring.yaml':
        'stacks:\n  e2efleethere: { sync: manual }\n  e2efleetboth: { sync: manual, engines: [local, staging] }\n  e2efleetfar: { engines: [homelab] }\n  e2efleetswarm: { mode: swarm }\n',
    });
    const ui = new MooringPage(page);
    await ui.start(app, repo.url);
    await ui.syncFromOverview('e2efleethere');

    await page.keyboard.press('g');
    await page.keyboard.press('f');
    await expect(page.getByRole('heading', { name: 'Fleet', level: 1 })).toBeVisible();
    await expect(page).toHaveURL(/#\/fleet$/);
    const local = page.locator('.fleet-engine[data-engine="local"]');
    await expect(local).toContainText('this window');
    await expect(local).toContainText(/Docker \d/);
    const staging = page.locator('.fleet-engine[data-engine="staging"]');
    await expect(staging).toContainText('unreachable');
    // Why, in the engine's own words, and what to do.
    await expect(staging).toContainText('Start Docker there, or change the engine in Settings → Engines.');
    await expect(staging).not.toContainText('(as given)');
    await expect(page.getByText(/homelab is named in git but not configured on this machine/)).toBeVisible();

    const table = page.getByRole('table', { name: 'Stacks on each engine' });
    await expect(table.getByRole('columnheader')).toHaveText(['Stack', 'local', 'staging', 'homelab']);
    const cell = (stack: string, engine: string) =>
      table.locator(`tr[data-stack="${stack}"] td[data-engine="${engine}"]`);
    await expect(cell('e2efleethere', 'local').locator('[data-sync]')).toHaveAttribute('data-sync', 'Synced');
    await expect(cell('e2efleethere', 'staging')).toContainText('does not go here');
    await expect(cell('e2efleetboth', 'local').locator('[data-sync]')).toHaveAttribute(
      'data-sync',
      'Missing',
    );
    await expect(cell('e2efleetboth', 'staging').locator('[data-sync]')).toHaveAttribute(
      'data-sync',
      'Unknown',
    );
    await expect(cell('e2efleetboth', 'staging')).toHaveText(
      /Unknown.*Unknown.*engine staging does not answer$/,
    );
    await expect(cell('e2efleetfar', 'homelab')).toHaveText('not configured here');
    // A stack this window drives links to its screen; one that goes only elsewhere does not.
    await expect(table.getByRole('link', { name: 'e2efleethere' })).toBeVisible();
    await expect(table.getByRole('link', { name: 'e2efleetfar' })).toHaveCount(0);
    await ui.screenshot('fleet');

    // "Sync all out of sync" takes what is out of sync on the engines that answer: previewed, then
    // synced. A stack that cannot be planned there (mode: swarm, on an engine that is no manager) is
    // left out, saying why, and holds up none of the others.
    await page.getByRole('button', { name: 'Sync all out of sync (2)' }).click();
    const dialog = page.getByRole('dialog', { name: 'Sync 1 stack on 1 engine?' });
    await expect(dialog).toContainText('e2efleetboth on local');
    await expect(dialog).toContainText('Left out, e2efleetswarm on local: ');
    await expect(dialog).toContainText('declared in git, no container');
    await ui.screenshot('fleet-sync-all');
    await dialog.getByRole('button', { name: 'Sync 1' }).click();
    await expect(cell('e2efleetboth', 'local').locator('[data-sync]')).toHaveAttribute(
      'data-sync',
      'Synced',
      {
        timeout: 20_000,
      },
    );
    await expect(page.getByRole('button', { name: 'Sync all out of sync (1)' })).toBeEnabled();

    await page.getByRole('combobox', { name: 'Show the stacks of one engine' }).selectOption('staging');
    await expect(table.getByRole('columnheader')).toHaveText(['Stack', 'staging']);
    await expect(table.locator('tbody tr')).toHaveCount(1);
    await expect(table.locator('tbody tr')).toHaveAttribute('data-stack', 'e2efleetboth');
  } finally {
    await app.stop();
    await removeStacks(...STACKS);
    await rm(home, { recursive: true, force: true });
  }
});
