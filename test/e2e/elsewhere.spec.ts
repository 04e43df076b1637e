// Issue 15 in browser mode: mooring.yaml sends a stack to other engines by name. The Overview lists the
// stacks that go to this engine (`local`, or no engines named) as ever, and below them the ones that go
// elsewhere, each engine marked where this machine does not map the name. Nothing of those is deployed
// here; the history row of the one synced says nothing of engines (it ran on local).
import { createRepo } from '../helpers/git-repo.ts';
import { MooringPage, expect, test } from './fixtures.ts';

const sleeper =
  'services:\n  app:\n    image: local/busybox:1\n    init: true\n    command: ["sleep", "3600"]\n';

test('stacks sent to other engines are listed apart, with the engines this machine does not know', async ({
  page,
  app,
  gitServer,
}) => {
  const repo = await createRepo(gitServer, `e2e-elsewhere-${Date.now()}`, {
    'e2ehere/compose.yaml': sleeper,
    'e2efar/compose.yaml': sleeper,
    'e2eboth/compose.yaml': sleeper,
    'mooring.yaml':
      'stacks:\n  e2ehere: { sync: manual }\n  e2efar: { engines: [staging] }\n  e2eboth: { engines: [staging, homelab] }\n',
  });
  const ui = new MooringPage(page);
  await ui.start(app, repo.url);
  await expect(ui.stackRow('e2ehere')).toBeVisible();
  await expect(page.getByRole('table', { name: 'Stacks' }).getByRole('row')).toHaveCount(2);
  const other = page.getByRole('region', { name: 'On other engines' });
  await expect(other).toContainText('other engines than local');
  // None of those engines is mapped here: nothing to open, the Fleet shows them.
  await expect(other).toContainText("this window's. See them all in the Fleet.");
  await expect(other.getByRole('listitem')).toHaveText([
    'e2eboth → staging (not configured here), homelab (not configured here)',
    'e2efar → staging (not configured here)',
  ]);
  await ui.screenshot('overview-elsewhere');
});
