// Browser mode across tabs (issue 13, item 11): the token opens one tab, and the browser session it
// is traded for lets a second tab and a Ctrl-clicked link in, until the browser closes; another
// browser session, or the key alone, is still asked for the token; a page on another port of
// 127.0.0.1 (which the browser sends the cookie to) is refused by its Origin. And the Add source
// form checks the name with the engine's own schema.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MooringPage, expect, test } from './fixtures.ts';

test('a second tab and a Ctrl-click keep the session; another browser session asks for the token', async ({
  page,
  app,
  browser,
}) => {
  const ui = new MooringPage(page);
  await ui.open(app);
  const port = new URL(app.origin).port;

  // The exchange left a session cookie no script can read, and a key in this origin's storage.
  const cookies = await page.context().cookies(app.origin);
  expect(cookies).toEqual([
    expect.objectContaining({
      name: `mooring_session_${port}`,
      httpOnly: true,
      sameSite: 'Strict',
      path: '/',
      expires: -1, // a session cookie
    }),
  ]);
  expect(await page.evaluate(() => document.cookie)).toBe('');
  const key = await page.evaluate(() => localStorage.getItem('mooring-session-key'));
  expect(key).toMatch(/^[\w-]{32}$/);

  // A second tab, opened on a screen's address without the token.
  const second = await page.context().newPage();
  await second.goto(`${app.origin}/#/history`);
  await expect(second.getByRole('heading', { level: 1, name: 'History' })).toBeVisible();
  await expect(second.getByRole('contentinfo', { name: 'Status' })).toContainText('Docker connected');
  await expect(second.getByText('no access token')).toHaveCount(0);
  await second.close();

  // A link opened in a new tab with Ctrl-click.
  const [popup] = await Promise.all([
    page.context().waitForEvent('page'),
    page
      .getByRole('navigation', { name: 'Screens' })
      .getByRole('link', { name: 'Builds' })
      .click({ modifiers: ['Control'] }),
  ]);
  await popup.waitForLoadState();
  await expect(popup).toHaveURL(/#\/builds$/);
  await expect(popup.getByRole('heading', { level: 1, name: 'Builds' })).toBeVisible();
  await expect(popup.getByRole('contentinfo', { name: 'Status' })).toContainText('Controller on');
  await expect(popup.getByText('no access token')).toHaveCount(0);
  await popup.close();

  // Another browser session has no cookie: asked for the token. So is one that only has the key,
  // as localStorage keeps it after the browser closed.
  const other = await browser.newContext();
  try {
    const bare = await other.newPage();
    await bare.goto(`${app.origin}/#/history`);
    await expect(bare.getByRole('alert')).toContainText('no access token');
    await new MooringPage(bare).screenshot('no-access');
    await bare.close();
    await other.addInitScript((k) => {
      localStorage.setItem('mooring-session-key', k);
    }, key!);
    const keyOnly = await other.newPage();
    await keyOnly.goto(`${app.origin}/#/history`);
    await expect(keyOnly.getByRole('alert')).toContainText('no access token');
  } finally {
    await other.close();
  }
});

test('a page on another port of 127.0.0.1 gets the cookie from the browser but is refused by its Origin', async ({
  page,
  app,
}) => {
  const ui = new MooringPage(page);
  await ui.open(app);
  const key = await page.evaluate(() => localStorage.getItem('mooring-session-key'));
  const wsUrl = `${app.origin.replace('http', 'ws')}/api?key=${key ?? ''}`;
  // Say the key leaked too: the page tries with both, from its own origin.
  let cookieSent = '';
  const foreign = http.createServer((req, res) => {
    cookieSent = req.headers.cookie ?? '';
    res.writeHead(200, { 'Content-Type': 'text/html' }).end(`<!doctype html><script>
      window.result = new Promise((r) => {
        const ws = new WebSocket(${JSON.stringify(wsUrl)});
        ws.onopen = () => r('open');
        ws.onclose = () => r('refused');
      });
    </script>`);
  });
  await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve));
  try {
    const tab = await page.context().newPage();
    await tab.goto(`http://127.0.0.1:${(foreign.address() as AddressInfo).port}/`);
    expect(await tab.evaluate(() => (window as unknown as { result: Promise<string> }).result)).toBe(
      'refused',
    );
    // Why the key exists: the browser handed the session cookie to this other server as well.
    test.info().annotations.push({
      type: 'cookie sent to another port',
      description: cookieSent.includes('mooring_session_') ? 'yes' : 'no',
    });
  } finally {
    foreign.close();
  }
});

test('Add source checks the name with the shared schema and says what it wants', async ({
  page,
  app,
  repo,
}) => {
  const ui = new MooringPage(page);
  await ui.open(app);
  await page.getByRole('link', { name: 'Add a source' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add a source' });
  const name = dialog.getByLabel('Name');
  await name.fill('Bad Name');
  await expect(name).toHaveAttribute('aria-invalid', 'true');
  const problem = dialog.locator('#source-name-problem');
  await expect(problem).toHaveText('Not a valid name: lowercase letters, digits, - and _.');
  await expect(name).toHaveAccessibleDescription(/Not a valid name/);
  await dialog.getByLabel('Repository URL or local path').fill(repo.url);
  await ui.screenshot('add-source-invalid');
  await dialog.getByRole('button', { name: 'Add and fetch' }).click();
  // Refused in the page, which takes the person to the field that says why; nothing was sent.
  await expect(name).toBeFocused();
  await expect(dialog).toBeVisible();
  await expect(page.locator('tr[data-source]')).toHaveCount(0);
  // Longer than the schema allows, though every character is fine.
  await name.fill('a'.repeat(64));
  await expect(problem).toHaveText('Not a valid name: lowercase letters, digits, - and _.');
  await name.fill('cfg-1_a');
  await expect(problem).toBeEmpty();
  await expect(name).not.toHaveAttribute('aria-invalid');
  await dialog.getByRole('button', { name: 'Add and fetch' }).click();
  await expect(dialog).toBeHidden({ timeout: 30_000 });
  await expect(page.locator('tr[data-source="cfg-1_a"]')).toBeVisible();
});
