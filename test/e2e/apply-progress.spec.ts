// Applying, as a person watches it (issue 13, items 1 and 2): each action's state shows while the run
// goes — waiting for a healthcheck with its last output — the result stays until the dialog is closed,
// and a failed recreate says what the engine said and what to do, under the action that failed.
import { createRepo } from '../helpers/git-repo.ts';
import { inspect, removeStacks } from '../helpers/docker.ts';
import { MooringPage, expect, test } from './fixtures.ts';

const STACK = 'e2eprog';

// db answers its healthcheck only some 4 s after it started, saying why until then; app waits for it.
const compose = (appCommand: string): string => `services:
  db:
    image: local/busybox:1
    init: true
    command: ["sh", "-c", "sleep 4; touch /tmp/ok; exec sleep 3600"]
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/ok || { echo still loading the data; exit 1; }"]
      interval: 1s
      timeout: 2s
      retries: 30
  app:
    image: local/busybox:1
    init: true
    command: ${appCommand}
    depends_on:
      db:
        condition: service_healthy
`;

test.beforeEach(async () => {
  await removeStacks(STACK);
});
test.afterEach(async () => {
  await removeStacks(STACK);
});

test('apply shows each action as it goes, waits for health with its output, and keeps the result; a failed recreate says why and what to do', async ({
  page,
  app,
  gitServer,
}) => {
  const repo = await createRepo(gitServer, `e2e-prog-${Date.now()}`, {
    [`${STACK}/compose.yaml`]: compose('["sleep", "3600"]'),
    'mooring.yaml': `stacks:\n  ${STACK}: { sync: manual }\n`,
  });
  const ui = new MooringPage(page);
  await ui.start(app, repo.url);
  await ui.stackRow(STACK).getByRole('link', { name: STACK }).click();

  await ui.previewAndApply(STACK);
  const running = page.getByRole('dialog', { name: `Syncing ${STACK}…` });
  // During the run: db's new container waits for its healthcheck, which says why it is not ready;
  // app is still queued behind it.
  const db = running.locator('[data-action="create db"]');
  await expect(db).toHaveAttribute('data-state', 'waiting', { timeout: 15_000 });
  await expect(db).toContainText('waiting for db to be healthy');
  await expect(db).toContainText('still loading the data');
  await expect(running.locator('[data-action="create app"]')).toHaveAttribute('data-state', /queued|waiting/);
  await ui.screenshot('apply-waiting');

  // After: the dialog stays, every action done, and says what runs now.
  const done = page.getByRole('dialog', { name: `Synced ${STACK}` });
  await expect(done).toBeVisible({ timeout: 30_000 });
  for (const action of await done.locator('[data-action]').all()) {
    await expect(action).toHaveAttribute('data-state', 'succeeded');
  }
  await expect(done.getByRole('status')).toContainText('the stack now runs');
  await ui.screenshot('apply-done');
  await done.getByRole('button', { name: 'Close' }).click();
  const before = await inspect(`${STACK}-app-1`);

  // A commit whose app dies at start: the recreate fails, the old container stays, and the dialog says
  // what the container printed and what to do.
  await repo.commit(
    { [`${STACK}/compose.yaml`]: compose('["sh", "-c", "echo cannot open /data/app.db; exit 3"]') },
    'app: new start command',
  );
  await ui.goto('Sources & settings');
  await page.getByRole('button', { name: 'Fetch now' }).click();
  await ui.goto('Overview');
  await expect(ui.stackRow(STACK)).toHaveAttribute('data-sync', 'OutOfSync', { timeout: 10_000 });
  await ui.stackRow(STACK).getByRole('link', { name: STACK }).click();
  await ui.previewAndApply(STACK);
  const failed = page.getByRole('dialog', { name: `Sync of ${STACK} failed` });
  await expect(failed).toBeVisible({ timeout: 30_000 });
  const action = failed.locator('[data-action="recreate app"]');
  await expect(action).toHaveAttribute('data-state', 'failed');
  await expect(action).toContainText('exited with code 3');
  await expect(action).toContainText('cannot open /data/app.db');
  await expect(action).toContainText('fix the command or its configuration in git');
  await expect(failed.getByRole('status')).toContainText('Run #');
  await ui.screenshot('apply-failed');
  await failed.getByRole('button', { name: 'Close' }).click();
  // The previous container was put back and runs.
  const after = await inspect(`${STACK}-app-1`);
  expect(after.Id).toBe(before.Id);
  expect(after.State.Running).toBe(true);
});

test('a bad commit at the tip: what runs is compared with the revision it came from, not shown as orphans (item 3)', async ({
  page,
  app,
  gitServer,
}) => {
  const repo = await createRepo(gitServer, `e2e-bad-${Date.now()}`, {
    [`${STACK}/compose.yaml`]: compose('["sleep", "3600"]'),
    'mooring.yaml': `stacks:\n  ${STACK}: { sync: manual, prune: true }\n`,
  });
  const ui = new MooringPage(page);
  await ui.start(app, repo.url);
  await ui
    .stackRow(STACK)
    .getByRole('button', { name: `Sync ${STACK}` })
    .click();
  await expect(ui.stackRow(STACK)).toHaveAttribute('data-sync', 'Synced', { timeout: 40_000 });
  const good = (await ui.stackRow(STACK).locator('code').first().textContent()) ?? '';

  const bad = await repo.commit(
    { [`${STACK}/compose.yaml`]: 'services:\n  app:\n    image: [unclosed\n' },
    'broken',
  );
  await ui.goto('Sources & settings');
  await page.getByRole('button', { name: 'Fetch now' }).click();
  await ui.goto('Overview');
  const row = ui.stackRow(STACK);
  await expect(row).toHaveAttribute('data-sync', 'Unknown', { timeout: 10_000 });
  await expect(row).toContainText(`target invalid; runs ${good}`);
  await expect(row).toContainText(`${good} → ${bad.slice(0, 7)}`);
  await expect(row).toContainText('2 synced');
  await expect(row).not.toContainText('orphaned');
  await ui.screenshot('overview-bad-commit');

  await row.getByRole('link', { name: STACK }).click();
  await expect(
    page.getByText(`Running as deployed at ${good}; the new revision ${bad.slice(0, 7)} is invalid`),
  ).toBeVisible();
  await expect(ui.serviceRow('app')).toHaveAttribute('data-sync', 'Synced');
  await expect(ui.serviceRow('db')).toHaveAttribute('data-sync', 'Synced');
  // What runs is named with its commit's message too, not only its id.
  await expect(page.locator('dl.kv dt:has-text("Deployed") + dd')).toHaveText(`${good} initial commit`);
  await ui.screenshot('stack-bad-commit');
});

test('what the controller will do by itself shows with its time: a failing auto stack says "retry 2 of 5" (item 8)', async ({
  page,
  app,
  gitServer,
}) => {
  const repo = await createRepo(gitServer, `e2e-retry-${Date.now()}`, {
    // Not on this engine and no registry answers: each run fails before anything changes.
    [`${STACK}/compose.yaml`]: 'services:\n  app:\n    image: local/nosuch-image:1\n',
    'mooring.yaml': `stacks:\n  ${STACK}: { sync: auto }\n`,
  });
  const ui = new MooringPage(page);
  await ui.start(app, repo.url);
  const pending = ui.stackRow(STACK).locator('[data-pending="retry"]');
  await expect(pending).toContainText(/retry 2 of 5 (in [\d.]+ s|due now)/, { timeout: 30_000 });
  await ui.screenshot('overview-retry-pending');
});
