// Issue 15, the stack screen per engine, in browser mode: a stack mooring.yaml sends to `staging` only
// (a second name for the test's engine, written into the settings as in fleet-controllers.spec.ts) is
// opened from the Overview's "On other engines", previewed and synced, suspended, its logs read and its
// service stopped and started, all on `staging`; a stack sent to `staging` and to `edge` (where nothing
// answers) shows an engine link for each, Unknown on `edge`; an engine this machine does not map is
// named as such.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { docker, removeStacks } from '../helpers/docker.ts';
import { createRepo } from '../helpers/git-repo.ts';
import { MooringPage, expect, startApp, test } from './fixtures.ts';

const ONE = 'e2eonstg';
const TWO = 'e2eontwo';
const compose =
  'services:\n  app:\n    image: local/busybox:1\n    init: true\n    command: ["sh", "-c", "echo hello from staging; sleep 3600"]\n';

test('a stack on another engine has its own screen: status, plan, sync, suspend, logs, actions', async ({
  page,
  gitServer,
}) => {
  await removeStacks(ONE, TWO);
  const home = await mkdtemp(path.join(os.tmpdir(), 'mooring-e2e-onstg-'));
  const socket = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  await writeFile(
    path.join(home, 'settings.json'),
    JSON.stringify({ engines: { staging: { endpoint: socket }, edge: { endpoint: 'tcp://127.0.0.1:9' } } }),
  );
  const app = await startApp(home);
  try {
    const repo = await createRepo(gitServer, `e2e-onstg-${Date.now()}`, {
      [`${ONE}/compose.yaml`]: compose,
      [`${TWO}/compose.yaml`]: compose,
      'mooring.yaml': `stacks:\n  ${ONE}: { engines: [staging] }\n  ${TWO}: { engines: [staging, edge] }\n`,
    });
    const ui = new MooringPage(page);
    await ui.start(app, repo.url);
    const state = (): Promise<string> =>
      docker('inspect', '-f', '{{.State.Status}}', `${ONE}-app-1`).catch(() => 'absent');

    // From the Overview's list of stacks that go elsewhere, to the stack on staging.
    await page
      .getByRole('region', { name: 'On other engines' })
      .getByRole('listitem')
      .filter({ hasText: ONE })
      .getByRole('link', { name: 'staging' })
      .click();
    await expect(page).toHaveURL(new RegExp(`#/stack/${ONE}/staging$`));
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(`${ONE} on staging`);
    await expect(page).toHaveTitle(`${ONE} on staging · Mooring`);
    const tabs = page.getByRole('navigation', { name: 'Engines of this stack' });
    await expect(tabs.getByRole('link', { name: 'staging' })).toHaveAttribute('aria-current', 'page');
    await expect(ui.serviceRow('app')).toHaveAttribute('data-sync', 'Missing');

    // Preview and apply, on staging.
    await page.getByRole('button', { name: 'Preview sync' }).click();
    const dialog = page.getByRole('dialog', { name: `Preview sync of ${ONE} on staging` });
    await expect(dialog).toContainText('create');
    await dialog.getByRole('button', { name: 'Apply' }).click();
    const done = page.getByRole('dialog', { name: `Synced ${ONE} on staging` });
    await expect(done).toBeVisible({ timeout: 30_000 });
    await done.getByRole('button', { name: 'Close' }).click();
    expect(await state()).toBe('running');
    await expect(ui.serviceRow('app')).toHaveAttribute('data-sync', 'Synced', { timeout: 15_000 });

    // Suspended and resumed there.
    await page.getByRole('button', { name: 'Suspend controller' }).click();
    await expect(page.locator('.page-head .badge', { hasText: 'suspended' })).toBeVisible();
    await page.getByRole('button', { name: 'Resume controller' }).click();
    await expect(page.locator('.page-head .badge', { hasText: 'suspended' })).toBeHidden();

    // Its logs, followed on staging.
    await page.getByRole('button', { name: 'Logs of app' }).click();
    await expect(page.getByRole('log').locator('.log-line', { hasText: 'hello from staging' })).toBeVisible();

    // Stopped and started from its actions menu.
    await page.getByRole('button', { name: 'Actions for app' }).click();
    await page.getByRole('menu').getByRole('menuitem', { name: 'Stop', exact: true }).click();
    await expect.poll(state, { timeout: 20_000 }).toBe('exited');
    await expect(ui.serviceRow('app')).toContainText('exited', { timeout: 15_000 });
    await ui.screenshot('stack-on-engine');
    await page.getByRole('button', { name: 'Actions for app' }).click();
    await page.getByRole('menu').getByRole('menuitem', { name: 'Start', exact: true }).click();
    await expect.poll(state, { timeout: 20_000 }).toBe('running');

    // A stack on two engines: a link to each; on the one that does not answer, Unknown.
    await ui.goto('Fleet');
    await page.getByRole('link', { name: `${TWO} on edge` }).click();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(`${TWO} on edge`);
    await expect(page.locator('.page-head [data-sync]')).toHaveAttribute('data-sync', 'Unknown');
    await expect(page.getByRole('button', { name: 'Preview sync' })).toBeDisabled();
    await expect(page.locator('.callout.warn')).toContainText(
      'Engine edge (tcp://127.0.0.1:9) is unreachable',
    );
    await ui.screenshot('stack-on-engine-unknown');
    await tabs.getByRole('link', { name: 'staging' }).click();
    await expect(page).toHaveURL(new RegExp(`#/stack/${TWO}/staging$`));
    await expect(ui.serviceRow('app')).toHaveAttribute('data-sync', 'Missing');

    // An engine the stack does not go to, and where nothing of it runs.
    await page.evaluate((hash) => {
      window.location.hash = hash;
    }, `#/stack/${ONE}/edge`);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(`No stack “${ONE}” on edge`);

    // An engine this machine does not map.
    await page.evaluate((hash) => {
      window.location.hash = hash;
    }, `#/stack/${ONE}/nowhere`);
    await expect(
      page.getByRole('alert').filter({ hasText: 'No engine named nowhere on this machine' }),
    ).toBeVisible();
  } finally {
    await app.stop();
    await removeStacks(ONE, TWO);
    await rm(home, { recursive: true, force: true });
  }
});
