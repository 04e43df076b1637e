// Issue 17, item 1 in the app: a stack of a source added by its local path shows what its uncommitted
// files would change, field by field, and says so when they break the stack; nothing is deployed.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { docker } from '../helpers/docker.ts';
import { runGit } from '../helpers/git-repo.ts';
import { MooringPage, expect, test, webCompose } from './fixtures.ts';

test('uncommitted changes are previewed on the stack screen, never deployed', async ({ page, app, repo }) => {
  const ui = new MooringPage(page);
  // The work tree clone of the test repo, added by its path: a source with a work tree.
  await ui.start(app, repo.work);
  await ui.syncFromOverview('e2eweb');
  await ui.stackRow('e2eweb').getByRole('link', { name: 'e2eweb' }).click();
  const preview = page.locator('.worktree-preview');
  await expect(ui.serviceRow('app')).toHaveAttribute('data-sync', 'Synced');
  await expect(preview).toBeHidden();

  const file = path.join(repo.work, 'e2eweb', 'compose.yaml');
  await writeFile(file, webCompose('1').replace('MODE: production', 'MODE: staging'));
  // The window getting the focus back (from the editor) is when the app looks again.
  await page.evaluate(() => window.dispatchEvent(new Event('focus')));
  await expect(preview).toContainText('Uncommitted changes would: recreate app (environment.MODE)');
  await expect(preview).toContainText(`1 file changed in ${repo.work}`);
  await preview.getByRole('button', { name: 'Show fields' }).click();
  const row = preview.locator('tr[data-field="environment.MODE"]');
  await expect(row).toContainText('staging');
  await expect(row).toContainText('production');
  await expect(preview.getByRole('columnheader', { name: 'Work tree' })).toBeVisible();
  await ui.screenshot('stack-worktree-preview');
  // A preview only: what runs is unchanged, and the stack's own sync state says Synced.
  expect(
    await docker('inspect', '--format', '{{range .Config.Env}}{{println .}}{{end}}', 'e2eweb-app-1'),
  ).toContain('MODE=production');
  await expect(ui.serviceRow('app')).toHaveAttribute('data-sync', 'Synced');

  await writeFile(file, 'services:\n  app:\n    image: [local/busybox:1\n');
  await page.evaluate(() => window.dispatchEvent(new Event('focus')));
  await expect(preview).toContainText('Uncommitted changes would break this stack:');
  await expect(preview).toContainText('e2eweb/compose.yaml:');
  await expect(preview).toHaveClass(/bad/);
  await ui.screenshot('stack-worktree-broken');

  await runGit(repo.work, ['checkout', '--', '.']);
  await page.evaluate(() => window.dispatchEvent(new Event('focus')));
  await expect(preview).toBeHidden();
});
