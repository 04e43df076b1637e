// The desktop UI in Chromium through browser mode, against the real engine and git server.
import WebSocket from 'ws';
import { docker } from '../helpers/docker.ts';
import { createLocalRepo } from '../helpers/git-repo.ts';
import { MooringPage, expect, test, webCompose } from './fixtures.ts';

test('first run: empty state, add a source, stacks are Missing, sync one to Synced', async ({
  page,
  app,
  repo,
}) => {
  const ui = new MooringPage(page);
  await ui.open(app);
  await expect(page.getByRole('heading', { name: 'No config repo yet' })).toBeVisible();
  await ui.screenshot('overview-empty');

  await page.getByRole('link', { name: 'Add a source' }).click();
  await ui.screenshot('add-source');
  await ui.addSource('cfg', repo.url);
  await ui.screenshot('settings');
  // The source's other dialogs, looked at and checked, then left without a change.
  await page.getByRole('button', { name: 'Edit cfg' }).click();
  await expect(page.getByRole('dialog', { name: 'Edit source “cfg”' })).toBeVisible();
  await ui.screenshot('edit-source');
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  await page.getByRole('button', { name: 'Remove cfg' }).click();
  await expect(page.getByRole('dialog', { name: 'Remove source “cfg”?' })).toBeVisible();
  await ui.screenshot('remove-source');
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByRole('dialog')).toBeHidden();

  await ui.goto('Overview');
  await expect(ui.stackRow('e2eweb')).toHaveAttribute('data-sync', 'Missing');
  await expect(ui.stackRow('e2ejobs')).toHaveAttribute('data-sync', 'Missing');
  await ui.screenshot('overview-missing');

  await ui.syncFromOverview('e2ejobs');
  await expect(ui.stackRow('e2ejobs').locator('[data-health]')).toHaveText('Healthy');
  // Still out of sync sorts first and stands out.
  await expect(page.locator('tr[data-stack]').first()).toHaveAttribute('data-stack', 'e2eweb');
  await expect(ui.stackRow('e2eweb')).toHaveClass(/attention/);
  await ui.screenshot('overview');
});

test('out-of-band stop is highlighted within 2 s, the diff shows it, preview lists the action, apply fixes it', async ({
  page,
  app,
  repo,
}) => {
  const ui = new MooringPage(page);
  await ui.start(app, repo.url);
  await ui.syncFromOverview('e2eweb');

  await docker('stop', '-t', '1', 'e2eweb-worker-1');
  await expect(ui.stackRow('e2eweb')).toHaveAttribute('data-sync', 'OutOfSync', { timeout: 2_000 });
  await expect(ui.stackRow('e2eweb')).toHaveClass(/attention/);

  await ui.stackRow('e2eweb').getByRole('link', { name: 'e2eweb' }).click();
  await expect(ui.serviceRow('worker')).toHaveAttribute('data-sync', 'OutOfSync');
  const diff = page.locator('tr[data-field="state"]');
  await expect(diff).toContainText('running');
  await expect(diff).toContainText('exited');
  await ui.screenshot('stack-drift');

  await page.getByRole('button', { name: 'Preview sync' }).click();
  const dialog = page.getByRole('dialog', { name: 'Preview sync of e2eweb' });
  await expect(dialog.locator('[data-action="start worker"]')).toContainText('container is exited');
  await ui.screenshot('stack-preview');
  await dialog.getByRole('button', { name: 'Apply' }).click();
  // The dialog stays with the result until it is closed.
  const done = page.getByRole('dialog', { name: 'Synced e2eweb' });
  await expect(done.locator('[data-action="start worker"]')).toHaveAttribute('data-state', 'succeeded', {
    timeout: 20_000,
  });
  await expect(done.getByRole('status')).toContainText('Applied 1 action');
  await done.getByRole('button', { name: 'Close' }).click();
  await expect(page.getByRole('dialog')).toBeHidden();
  await expect(ui.serviceRow('worker')).toHaveAttribute('data-sync', 'Synced');
  await ui.screenshot('stack');
});

test('a pushed image tag change shows after Fetch now; sync; history shows both runs with revisions', async ({
  page,
  app,
  repo,
}) => {
  const ui = new MooringPage(page);
  await ui.start(app, repo.url);
  await ui.syncFromOverview('e2eweb');
  await ui.syncFromOverview('e2ejobs');
  const first = (await page.locator('tr[data-stack="e2eweb"] code').first().textContent()) ?? '';

  const second = await repo.commit({ 'e2eweb/compose.yaml': webCompose('2') }, 'app: busybox 2');
  await ui.goto('Sources & settings');
  await page.getByRole('button', { name: 'Fetch now' }).click();
  await ui.goto('Overview');
  await expect(ui.stackRow('e2eweb')).toHaveAttribute('data-sync', 'OutOfSync', { timeout: 10_000 });
  // The changed stack: what runs → what git wants, with the message of the commit that changed it.
  await expect(ui.stackRow('e2eweb').locator('.rev-pair')).toHaveText(`${first} → ${second.slice(0, 7)}`);
  await expect(ui.stackRow('e2eweb')).toContainText('app: busybox 2');
  // The other stack did not change: it shows the commit its content is from, not the branch tip.
  await expect(ui.stackRow('e2ejobs')).toHaveAttribute('data-sync', 'Synced');
  await expect(ui.stackRow('e2ejobs').locator('.rev-pair')).toHaveCount(0);
  await expect(ui.stackRow('e2ejobs').locator('code')).toHaveText(first);
  await expect(ui.stackRow('e2ejobs')).toContainText('initial commit');
  await expect(ui.stackRow('e2ejobs')).not.toContainText('app: busybox 2');
  await ui.screenshot('overview-changed-in');
  await ui.stackRow('e2ejobs').getByRole('link', { name: 'e2ejobs' }).click();
  await expect(page.locator(`[data-changed-in]`)).toContainText(`${first} initial commit`);
  await expect(page.locator(`[data-changed-in]`)).toContainText(`the branch is at ${second.slice(0, 7)}`);
  await ui.screenshot('stack-changed-in');
  await ui.goto('Overview');
  await ui.stackRow('e2eweb').getByRole('link', { name: 'e2eweb' }).click();
  await expect(page.locator('tr[data-field="image"]')).toContainText('local/busybox:2');
  await page.getByRole('button', { name: 'Preview sync' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Apply' }).click();
  await page
    .getByRole('dialog', { name: 'Synced e2eweb' })
    .getByRole('button', { name: 'Close' })
    .click({ timeout: 20_000 });
  await expect(ui.serviceRow('app')).toHaveAttribute('data-sync', 'Synced', { timeout: 20_000 });

  await ui.goto('History');
  const rows = page.locator('[data-run]');
  await expect(rows).toHaveCount(3);
  await expect(rows.nth(0)).toContainText(second.slice(0, 7));
  await expect(rows.nth(1)).toContainText('e2ejobs');
  await expect(rows.nth(2)).toContainText(first);
  await expect(rows.nth(0)).toContainText('succeeded');
  await ui.screenshot('history');
  await rows.nth(0).click();
  await expect(page.getByRole('dialog', { name: /Run #\d+/ })).toContainText('recreate');
  // What ran, from the deploy note (issue 17): the tag with the image's id beside it (built here, no digest).
  await expect(page.getByRole('dialog', { name: /Run #\d+/ }).locator('.ran-images')).toContainText(
    /app: local\/busybox:2 id [0-9a-f]{12}/,
  );
  await ui.screenshot('run-detail');
  await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();

  await ui.goto('Commits');
  await expect(page.locator(`tr[data-commit="${second}"]`)).toContainText('e2eweb');
  await expect(page.locator(`tr[data-commit="${second}"]`)).toContainText('succeeded');
  await expect(page.locator(`tr[data-commit="${second}"] .ran-images`)).toContainText(
    /app: local\/busybox:2 id [0-9a-f]{12}/,
  );
  await ui.screenshot('commits');

  // Redeploying an older run offers the tags as they are now instead of the images it ran (issue 17).
  await ui.goto('History');
  await page.locator('[data-run]').nth(2).click();
  const run = page.getByRole('dialog', { name: /Run #\d+/ });
  await run.getByRole('button', { name: 'Redeploy this revision…' }).click();
  const byTag = run.getByRole('checkbox', { name: /image tags as they are now/ });
  await expect(byTag).not.toBeChecked();
  await byTag.check();
  await ui.screenshot('run-redeploy-confirm');
  await run.getByRole('button', { name: 'Close' }).click();
});

test('offline: with the git server and the engine unreachable, history and commits still browse', async ({
  page,
  app,
  repo,
  gitServer,
}) => {
  const ui = new MooringPage(page);
  await ui.start(app, repo.url);
  await ui.syncFromOverview('e2ejobs');

  await gitServer.stop();
  try {
    await ui.goto('Sources & settings');
    await page.getByLabel('Endpoint').fill(`unix://${app.home}/closed.sock`);
    await page.getByLabel('Endpoint').press('Enter');
    await page.getByRole('button', { name: 'Fetch now' }).click();
    const bar = page.getByRole('contentinfo', { name: 'Status' });
    await expect(bar.locator('[data-status="engine"]')).toContainText('Docker unreachable', {
      timeout: 10_000,
    });
    await expect(bar.locator('[data-status="source-cfg"]')).toContainText('offline since');

    await ui.goto('History');
    await expect(page.locator('[data-run]')).toHaveCount(1);
    await ui.goto('Commits');
    await expect(page.locator('tr[data-commit]')).toHaveCount(1);
    await ui.goto('Overview');
    await expect(page.getByRole('alert').filter({ hasText: 'Docker engine not reachable' })).toBeVisible();
    await expect(ui.stackRow('e2ejobs')).toHaveAttribute('data-sync', 'Unknown');
    await ui.screenshot('overview-offline');
  } finally {
    await gitServer.start();
  }
});

test('security: no Node in the page; the WebSocket refuses a wrong token and a foreign Origin', async ({
  page,
  app,
  browser,
}) => {
  const ui = new MooringPage(page);
  await ui.open(app);
  expect(new URL(app.url).hostname).toBe('127.0.0.1');
  const globals = await page.evaluate(() => ({
    require: typeof (window as unknown as { require?: unknown }).require,
    process: typeof (window as unknown as { process?: unknown }).process,
  }));
  expect(globals).toEqual({ require: 'undefined', process: 'undefined' });

  const wsUrl = app.origin.replace('http', 'ws') + '/api';
  const attempt = (url: string, origin: string): Promise<string> =>
    new Promise((resolve) => {
      const ws = new WebSocket(url, { headers: { Origin: origin } });
      ws.on('open', () => {
        ws.close();
        resolve('open');
      });
      ws.on('unexpected-response', (_req, res) => {
        resolve(String(res.statusCode));
      });
      ws.on('error', () => {
        resolve('error');
      });
    });
  expect(await attempt(`${wsUrl}?token=${app.token}`, app.origin)).toBe('open');
  expect(await attempt(`${wsUrl}?token=wrong${app.token.slice(5)}`, app.origin)).toBe('401');
  expect(await attempt(wsUrl, app.origin)).toBe('401');
  expect(await attempt(`${wsUrl}?token=${app.token}`, 'http://evil.example')).toBe('403');

  // In another browser session, without the token in the URL, the page says what to do instead of
  // showing data (a tab of this session gets in: test/e2e/browser-session.spec.ts).
  const other = await browser.newContext();
  try {
    const bare = await other.newPage();
    await bare.goto(app.origin);
    await expect(bare.getByRole('alert')).toContainText('no access token');
  } finally {
    await other.close();
  }
});

test('builds: build an image from an app repo, watch its output, see it in past builds', async ({
  page,
  app,
}) => {
  const appRepo = await createLocalRepo({
    Dockerfile: 'FROM local/busybox:1\nRUN echo built-by-mooring > /hello\nCMD ["cat", "/hello"]\n',
  });
  const ui = new MooringPage(page);
  await ui.open(app);
  try {
    await ui.goto('Builds');
    await page.getByLabel('App repo').fill(appRepo.path);
    await page.getByLabel('Image name').fill('e2e-app');
    await page.getByRole('button', { name: 'Build', exact: true }).click();
    const output = page.getByRole('region', { name: 'Build output' });
    await expect(output).toContainText('RUN echo built-by-mooring', { timeout: 30_000 });
    await expect(output.locator('.badge')).toHaveText('succeeded', { timeout: 30_000 });
    const row = page.locator('tr[data-build]').first();
    await expect(row).toContainText('e2e-app:');
    await expect(row).toContainText('succeeded');
    await ui.screenshot('builds');
    await row.getByRole('button').click();
    const detail = page.getByRole('dialog', { name: /Build #\d+/ });
    await expect(detail).toContainText('built-by-mooring');
    await ui.screenshot('build-detail');
    await detail.getByRole('button', { name: 'Close' }).click();
  } finally {
    const ids = (await docker('images', '-q', 'e2e-app')).split('\n').filter(Boolean);
    if (ids.length) await docker('rmi', '-f', ...ids);
  }
});
