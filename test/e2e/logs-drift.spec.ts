// Logs and drift as a person reads them (issue 13, items 6 and 7): a stack's logs stream in, colours
// drawn rather than printed as escapes, the newest line kept in view while following, search, and one
// combined view of two services; the drift view marks the word that changed and the stack keeps a
// timeline of its drifts.
import { createRepo } from '../helpers/git-repo.ts';
import { removeStacks } from '../helpers/docker.ts';
import { MooringPage, expect, test } from './fixtures.ts';

const STACK = 'e2elogs';

// web prints 300 boot lines at once, then a green INFO line every 0.3 s; worker a yellow line at start,
// then a tick a second. `$$` is a literal `$` in compose; single quotes keep `\033` for printf.
const compose = (greeting: string): string => `services:
  web:
    image: local/busybox:1
    init: true
    command: ["sh", "-c", 'i=0; while [ $$i -lt 300 ]; do i=$$((i+1)); echo "boot line $$i"; done; while true; i=$$((i+1)); do printf "\\033[32mINFO\\033[0m request %d served\\n" $$i; sleep 0.3; done']
  worker:
    image: local/busybox:1
    init: true
    command: ["sh", "-c", 'printf "\\033[33m${greeting}\\033[0m worker started\\n"; while true; do echo "worker tick"; sleep 1; done']
`;

test.beforeEach(async () => {
  await removeStacks(STACK);
});
test.afterEach(async () => {
  await removeStacks(STACK);
});

test('logs stream in with colours, follow the newest line, search, and combine two services', async ({
  page,
  app,
  gitServer,
}) => {
  const repo = await createRepo(gitServer, `e2e-logs-${Date.now()}`, {
    [`${STACK}/compose.yaml`]: compose('hello'),
    'mooring.yaml': `stacks:\n  ${STACK}: { sync: manual }\n`,
  });
  const ui = new MooringPage(page);
  await ui.open(app);
  await ui.addSource('cfg', repo.url);
  await ui.goto('Overview');
  await ui
    .stackRow(STACK)
    .getByRole('button', { name: `Sync ${STACK}` })
    .click();
  await expect(ui.stackRow(STACK)).toHaveAttribute('data-sync', 'Synced', { timeout: 40_000 });
  await ui.stackRow(STACK).getByRole('link', { name: STACK }).click();

  await page.getByRole('button', { name: 'Logs of all services' }).click();
  const pane = page.getByRole('log', { name: 'Logs of all services' });
  // One combined view: lines of both services, each labelled with its service.
  await expect(pane.locator('.log-line[data-service="web"]').first()).toBeVisible();
  await expect(pane.locator('.log-line[data-service="worker"]').first()).toBeVisible();
  await expect(pane.locator('.log-line[data-service="worker"] .log-service').first()).toHaveText(/worker/);

  // Colours are styled spans, never escapes printed as text.
  await expect(pane.locator('span.ansi-green-fg', { hasText: 'INFO' }).first()).toBeVisible();
  await expect(pane.locator('span.ansi-yellow-fg', { hasText: 'hello' })).toBeVisible();
  const text = (await pane.textContent()) ?? '';
  expect(text).not.toContain('\x1b[');
  expect(text).not.toContain('[32m');

  // Following: the newest line is in view, and stays so as lines come.
  const served = pane.locator('.log-line', { hasText: 'served' });
  const newest = async (): Promise<number> =>
    Number(/request (\d+) served/.exec((await served.last().textContent()) ?? '')?.[1] ?? 0);
  await expect.poll(newest).toBeGreaterThan(302);
  const before = await newest();
  await expect.poll(newest, { timeout: 10_000 }).toBeGreaterThan(before + 2);
  await expect(pane.locator('.log-line').last()).toBeInViewport();
  expect(await atBottom()).toBe(true);
  await page.setViewportSize({ width: 1360, height: 860 });
  await ui.screenshot('logs-combined-1360');

  // Scrolling up stops following: new lines no longer pull the view down.
  await pane.evaluate((el) => {
    el.scrollTop = 0;
  });
  await expect(page.getByRole('checkbox', { name: 'Follow' })).not.toBeChecked();
  const held = await newest();
  await expect.poll(newest, { timeout: 10_000 }).toBeGreaterThan(held + 2);
  expect(await atBottom()).toBe(false);
  // Back at the bottom, it follows again.
  await pane.evaluate((el) => {
    el.scrollTop = el.scrollHeight;
  });
  await expect(page.getByRole('checkbox', { name: 'Follow' })).toBeChecked();

  // Search: the match is marked, Enter goes to it, the count says where.
  const search = page.getByRole('searchbox', { name: 'Search logs' });
  await search.fill('boot line 42');
  await search.press('Enter');
  await expect(page.locator('.log-count')).toHaveText(/^1 of 1$/);
  const match = pane.locator('.log-line.current');
  await expect(match).toContainText('boot line 42');
  await expect(match.locator('mark')).toHaveText('boot line 42');
  await expect(match).toBeInViewport();
  await search.fill('worker tick');
  await search.press('Enter');
  await search.press('Enter');
  await expect(page.locator('.log-count')).toHaveText(/^2 of \d+$/);

  // Timestamps on demand.
  await page.getByRole('checkbox', { name: 'Timestamps' }).check();
  await expect(pane.locator('.log-time').first()).toHaveText(/^\d\d:\d\d:\d\d\.\d{3} $/);
  await page.setViewportSize({ width: 900, height: 860 });
  await ui.screenshot('logs-search-900');

  // One service alone, from its row: no service labels, only its lines.
  await page.setViewportSize({ width: 1360, height: 860 });
  await page.getByRole('button', { name: 'Close' }).click();
  await ui.serviceRow('worker').getByRole('button', { name: 'Logs' }).click();
  const one = page.getByRole('log', { name: 'Logs of worker' });
  await expect(one.locator('.log-line', { hasText: 'worker tick' }).first()).toBeVisible();
  await expect(one.locator('.log-line', { hasText: 'served' })).toHaveCount(0);
  await expect(one.locator('.log-service')).toHaveCount(0);

  async function atBottom(): Promise<boolean> {
    return pane.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight < 8);
  }
});
