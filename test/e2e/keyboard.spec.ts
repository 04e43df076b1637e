// The app by keyboard alone (issue 13, item 10): a skip link, `?` listing the shortcuts, focus going
// back to what opened a dialog, a `g` jump landing on the new screen's title, and History's runs as
// a table whose rows the arrow keys walk. Every screenshot() here also runs axe-core.
import { MooringPage, expect, test } from './fixtures.ts';

test('skip link, ? shortcuts, focus back to the opener of a dialog, g jumps land on the title', async ({
  page,
  app,
  repo,
}) => {
  const ui = new MooringPage(page);
  await ui.open(app);
  const h1 = (name: string) => page.getByRole('heading', { level: 1, name });

  // The first Tab stop skips the navigation; following it puts focus on the screen's title.
  await page.keyboard.press('Tab');
  const skip = page.getByRole('link', { name: 'Skip to content' });
  await expect(skip).toBeFocused();
  await expect(skip).toBeInViewport();
  await ui.screenshot('skip-link');
  await page.keyboard.press('Enter');
  await expect(h1('No config repo yet')).toBeFocused();
  await expect(page).toHaveURL(/#\/$/);

  // `?` lists every shortcut; Escape closes it and focus goes back where it was.
  const addLink = page.getByRole('link', { name: 'Add a source' });
  await addLink.focus();
  await page.keyboard.press('?');
  const keys = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await expect(keys).toBeVisible();
  for (const shortcut of ['g o', 'g f', 'g h', 'g c', 'g b', 'g s', '/', 'r', '?', 'Esc']) {
    await expect(keys.locator(`[data-shortcut="${shortcut}"]`)).toBeVisible();
  }
  await expect(keys.getByRole('button', { name: 'Close' })).toBeFocused();
  await ui.screenshot('shortcuts');
  await page.keyboard.press('Escape');
  await expect(keys).toBeHidden();
  await expect(addLink).toBeFocused();
  // The sidebar says so, and its button opens the same list.
  await page.getByRole('button', { name: '? shortcuts' }).click();
  await expect(keys).toBeVisible();
  await keys.getByRole('button', { name: 'Close' }).click();
  await expect(page.getByRole('button', { name: '? shortcuts' })).toBeFocused();

  await ui.addSource('cfg', repo.url);

  // g then a letter: the new screen's title has the focus, so Tab goes on from there.
  await page.keyboard.press('g');
  await page.keyboard.press('h');
  await expect(h1('History')).toBeFocused();
  await expect(page).toHaveTitle('History · Mooring');
  await page.keyboard.press('g');
  await page.keyboard.press('o');
  await expect(h1('Overview')).toBeFocused();

  // A confirmation opened by keyboard gives the focus back to its button when dismissed.
  const syncAll = page.getByRole('button', { name: /Sync all out of sync/ });
  await syncAll.focus();
  await page.keyboard.press('Enter');
  const confirm = page.getByRole('dialog', { name: 'Sync 2 stacks?' });
  await expect(confirm).toBeVisible({ timeout: 20_000 });
  await ui.screenshot('sync-all-confirm');
  await page.keyboard.press('Escape');
  await expect(confirm).toBeHidden();
  await expect(syncAll).toBeFocused();

  // The same on a stack: Preview sync, Cancel, focus on Preview sync again.
  await ui.stackRow('e2ejobs').getByRole('link', { name: 'e2ejobs' }).click();
  const preview = page.getByRole('button', { name: 'Preview sync' });
  await preview.click();
  const dialog = page.getByRole('dialog', { name: 'Preview sync of e2ejobs' });
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  await expect(preview).toBeFocused();
});

test('History is a table: one Tab stop, arrows walk the rows, a run opens and closes back to its row', async ({
  page,
  app,
  repo,
}) => {
  const ui = new MooringPage(page);
  await ui.start(app, repo.url);
  for (const stack of ['e2ejobs', 'e2eweb']) {
    await ui
      .stackRow(stack)
      .getByRole('button', { name: `Sync ${stack}` })
      .click();
    await expect(ui.stackRow(stack)).toHaveAttribute('data-sync', 'Synced', { timeout: 30_000 });
  }

  await ui.goto('History');
  const table = page.getByRole('table', { name: 'Runs' });
  await expect(table).toHaveAttribute('aria-rowcount', '3');
  await expect(table.getByRole('columnheader')).toHaveText([
    'Run',
    'Stack',
    'Revision',
    'Trigger',
    'Started',
    'Took',
    'Result',
    'Error',
  ]);
  const rows = table.getByRole('row');
  await expect(rows).toHaveCount(3); // the header and two runs
  await expect(rows.nth(1).getByRole('cell')).toHaveCount(8);
  await expect(rows.nth(1)).toContainText('e2eweb');
  await expect(rows.nth(2)).toContainText('e2ejobs');

  // Tab reaches the table once, on its first run; ArrowDown moves to the next, Home back up.
  // From the last filter (a date field, which Tab walks through its parts first) to the table.
  await page.getByLabel('To date').focus();
  for (let i = 0; i < 5; i++) {
    if ((await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))) !== 'To date') break;
    await page.keyboard.press('Tab');
  }
  const first = rows.nth(1).getByRole('link');
  const second = rows.nth(2).getByRole('link');
  await expect(first).toBeFocused();
  await expect(first).toHaveAttribute('tabindex', '0');
  await expect(second).toHaveAttribute('tabindex', '-1');
  await page.keyboard.press('ArrowDown');
  await expect(second).toBeFocused();
  await expect(second).toHaveAttribute('tabindex', '0');
  await page.keyboard.press('Home');
  await expect(first).toBeFocused();
  await page.keyboard.press('End');
  await expect(second).toBeFocused();
  await ui.screenshot('history-keyboard');

  // Enter opens the run; Escape closes it and the focus is on that run's row again.
  await page.keyboard.press('Enter');
  const detail = page.getByRole('dialog', { name: /Run #\d+/ });
  await expect(detail).toContainText('e2ejobs');
  await page.keyboard.press('Escape');
  await expect(detail).toBeHidden();
  await expect(second).toBeFocused();
});
