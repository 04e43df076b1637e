// Issue 10, item 8, in the app: a commit that deletes every stack of a source is not pruned by the
// controller; the Overview says so and a person removes them after reviewing the list.
import { docker } from '../helpers/docker.ts';
import { MooringPage, expect, test } from './fixtures.ts';

const POLICY = 'stacks:\n  e2eweb: { sync: auto, prune: true }\n  e2ejobs: { sync: auto, prune: true }\n';

test('a commit deleting every stack waits for a person, who reviews and removes them', async ({
  page,
  app,
  repo,
}) => {
  await repo.commit({ 'mooring.yaml': POLICY }, 'auto-sync both, prune');
  const ui = new MooringPage(page);
  await ui.start(app, repo.url);
  await expect(ui.stackRow('e2eweb')).toHaveAttribute('data-sync', 'Synced', { timeout: 30_000 });
  await expect(ui.stackRow('e2ejobs')).toHaveAttribute('data-sync', 'Synced', { timeout: 30_000 });

  await repo.commit({ 'e2eweb/compose.yaml': null, 'e2ejobs/compose.yaml': null }, 'delete everything');
  await page.keyboard.press('r'); // fetch now
  const hold = page.locator('[data-prune-hold="cfg"]');
  await expect(hold).toBeVisible({ timeout: 20_000 });
  await expect(hold).toContainText('no longer declares 2 stacks');
  // Nothing was removed meanwhile.
  expect(await docker('ps', '-q', '--filter', 'name=^e2eweb-app-1$')).not.toBe('');
  await ui.screenshot('overview-prune-hold');

  await hold.getByRole('button', { name: 'Review and remove…' }).click();
  const dialog = page.getByRole('dialog', { name: /Remove 2 stacks deleted from/ });
  await expect(dialog).toContainText('e2eweb-app-1');
  await expect(dialog).toContainText('e2ejobs-runner-1');
  await ui.screenshot('prune-hold-confirm');
  await dialog.getByRole('button', { name: 'Remove 2' }).click();
  await expect(hold).toBeHidden({ timeout: 30_000 });
  await expect(ui.stackRow('e2eweb')).toHaveCount(0);
  expect(await docker('ps', '-aq', '--filter', 'name=^e2eweb-app-1$')).toBe('');
});
