// Issue 13, item 12, in the app: a service's ⋯ menu, by keyboard: stop, start and the `docker exec`
// line; each stop or start an out-of-band run in History; on a self-healing stack a stop says first
// that self-heal would undo it, and offers to suspend the stack.
import { docker, removeStacks } from '../helpers/docker.ts';
import { MooringPage, expect, test } from './fixtures.ts';

const HEAL = 'e2eheal';

test('stop and start a service from its menu, recorded as out-of-band runs; a stop self-heal would undo asks first', async ({
  page,
  app,
  repo,
}) => {
  await removeStacks(HEAL);
  try {
    await repo.commit(
      {
        [`${HEAL}/compose.yaml`]: `services:
  app:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
`,
        'mooring.yaml': `stacks:\n  e2eweb: { sync: manual }\n  ${HEAL}: { sync: auto, selfHeal: true }\n`,
      },
      'a self-healing stack',
    );
    const ui = new MooringPage(page);
    await ui.start(app, repo.url);
    await ui.syncFromOverview('e2eweb', 30_000);
    await ui.stackRow('e2eweb').getByRole('link', { name: 'e2eweb' }).click();

    // The menu by keyboard: Enter opens it on its first item, arrows walk, Escape gives focus back.
    const more = page.getByRole('button', { name: 'Actions for app' });
    await more.focus();
    await page.keyboard.press('Enter');
    const menu = page.getByRole('menu', { name: 'Actions for app' });
    await expect(menu.getByRole('menuitem', { name: 'Restart' })).toBeFocused();
    await page.keyboard.press('ArrowDown');
    await expect(menu.getByRole('menuitem', { name: 'Stop', exact: true })).toBeFocused();
    await ui.screenshot('stack-service-menu');
    await page.keyboard.press('Escape');
    await expect(menu).toBeHidden();
    await expect(more).toBeFocused();

    await page.keyboard.press('Enter');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await expect(page.getByRole('status').filter({ hasText: 'Stopped app (e2eweb-app-1)' })).toBeVisible({
      timeout: 20_000,
    });
    await expect(ui.serviceRow('app')).toHaveAttribute('data-sync', 'OutOfSync');
    expect(await docker('inspect', '--format', '{{.State.Status}}', 'e2eweb-app-1')).toBe('exited');

    await more.click();
    await menu.getByRole('menuitem', { name: 'Start', exact: true }).click();
    await expect(ui.serviceRow('app')).toHaveAttribute('data-sync', 'Synced', { timeout: 20_000 });

    await more.click();
    await menu.getByRole('menuitem', { name: 'Copy docker exec command' }).click();
    await expect(
      page.getByRole('status').filter({ hasText: 'docker exec -it e2eweb-app-1 sh' }),
    ).toBeVisible();

    await ui.goto('History');
    const runs = page.getByRole('table', { name: 'Runs' });
    await expect(runs.getByRole('row').filter({ hasText: 'out-of-band' })).toHaveCount(2);

    // A self-healing stack: the stop says what self-heal would do, and can suspend the stack first.
    await ui.goto('Overview');
    await expect(ui.stackRow(HEAL)).toHaveAttribute('data-sync', 'Synced', { timeout: 30_000 });
    await ui.stackRow(HEAL).getByRole('link', { name: HEAL }).click();
    await page.getByRole('button', { name: 'Actions for app' }).click();
    await page.getByRole('menu').getByRole('menuitem', { name: 'Stop', exact: true }).click();
    const ask = page.getByRole('dialog', { name: 'Stop app?' });
    await expect(ask).toContainText(`Self-heal is on for ${HEAL}`);
    await ui.screenshot('stack-stop-self-heal');
    await ask.getByRole('button', { name: `Suspend ${HEAL} and stop` }).click();
    await expect(ask).toBeHidden();
    await expect(ui.serviceRow('app')).toHaveAttribute('data-sync', 'OutOfSync', { timeout: 20_000 });
    await expect(page.locator('.page-head .badge', { hasText: 'suspended' })).toBeVisible();
    // Suspended, it stays stopped: the controller leaves it alone.
    await page.waitForTimeout(1_500);
    expect(await docker('inspect', '--format', '{{.State.Status}}', `${HEAL}-app-1`)).toBe('exited');
    await ui.goto('Overview');
    await expect(ui.stackRow(HEAL).locator('.badge', { hasText: 'Suspended' })).toBeVisible();
    await ui.screenshot('overview-suspended');
  } finally {
    await removeStacks(HEAL);
  }
});
