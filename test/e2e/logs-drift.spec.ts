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

const DRIFT = 'e2edrift';

// A command and a long environment value, so that one changed word has much around it.
const driftCompose = (word: string): string => `services:
  app:
    image: local/busybox:1
    init: true
    command: ["sh", "-c", 'echo "level=info msg=${word} mode=production"; exec sleep 3600']
    environment:
      GREETING: "a long greeting that goes on and on so that it has to wrap inside its column at nine hundred pixels, said ${word} and then some more words to be sure"
`;

test.beforeEach(async () => {
  await removeStacks(STACK, DRIFT);
});
test.afterEach(async () => {
  await removeStacks(STACK, DRIFT);
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
  await ui.start(app, repo.url);
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

test('drift marks the word that changed, fits at 900 px, and the timeline says when it started and which run resolved it', async ({
  page,
  app,
  gitServer,
}) => {
  const repo = await createRepo(gitServer, `e2e-drift-${Date.now()}`, {
    [`${DRIFT}/compose.yaml`]: driftCompose('started'),
    'mooring.yaml': `stacks:\n  ${DRIFT}: { sync: manual }\n`,
  });
  const ui = new MooringPage(page);
  await ui.start(app, repo.url);
  await ui
    .stackRow(DRIFT)
    .getByRole('button', { name: `Sync ${DRIFT}` })
    .click();
  await expect(ui.stackRow(DRIFT)).toHaveAttribute('data-sync', 'Synced', { timeout: 40_000 });

  await repo.commit({ [`${DRIFT}/compose.yaml`]: driftCompose('ready') }, 'app: say ready');
  await ui.goto('Sources & settings');
  await page.getByRole('button', { name: 'Fetch now' }).click();
  await ui.goto('Overview');
  await expect(ui.stackRow(DRIFT)).toHaveAttribute('data-sync', 'OutOfSync', { timeout: 10_000 });
  await ui.stackRow(DRIFT).getByRole('link', { name: DRIFT }).click();

  // The command reads as a shell line, with only the changed word marked on each side.
  const command = page.locator('tr[data-field="command"]');
  await expect(command.locator('td.desired')).toHaveText(
    `sh -c 'echo "level=info msg=ready mode=production"; exec sleep 3600'`,
  );
  await expect(command.locator('td.desired mark')).toHaveText('ready');
  await expect(command.locator('td.live mark')).toHaveText('started');
  await expect(page.locator('tr[data-field="environment.GREETING"] td.live mark')).toHaveText('started');

  // The timeline: the drift of app is open, with the fields that differ.
  const drift = page.locator('li[data-drift="app"]').first();
  await expect(drift).toHaveAttribute('data-open', 'true');
  await expect(drift).toContainText('command');
  await expect(drift).toContainText('first seen');
  await ui.screenshot('drift-1360');

  // Nothing cut off at 900 px: the drift table wraps inside its columns.
  await page.setViewportSize({ width: 900, height: 860 });
  const diff = page.locator('.diff').first();
  const box = (await diff.boundingBox())!;
  expect(box.x + box.width).toBeLessThanOrEqual(900);
  // The services table holding it fits its panel too.
  expect(
    await page
      .locator('main .panel:has(> table[aria-label="Services"])')
      .evaluate((el) => el.scrollWidth <= el.clientWidth + 1),
  ).toBe(true);
  expect(await diff.evaluate((el) => el.scrollWidth <= el.clientWidth + 1)).toBe(true);
  await ui.screenshot('drift-900');
  await page.setViewportSize({ width: 1360, height: 860 });

  // Synced: the drift is resolved by that run, with a link to it.
  await ui.previewAndApply(DRIFT);
  const done = page.getByRole('dialog', { name: `Synced ${DRIFT}` });
  await expect(done).toBeVisible({ timeout: 30_000 });
  const runId = /Run #(\d+)/.exec(
    (await done.getByRole('link', { name: /Run #\d+/ }).textContent()) ?? '',
  )?.[1];
  await done.getByRole('button', { name: 'Close' }).click();
  await expect(drift).toHaveAttribute('data-open', 'false', { timeout: 10_000 });
  expect(runId).toBeTruthy();
  await expect(drift.getByRole('link')).toHaveText(`run #${runId}`);
  // What drifted stays recorded as it was, not as the recreate passed through it.
  await expect(drift.locator('.fields')).toHaveText('command, environment.GREETING');
  await ui.screenshot('drift-resolved-1360');
});
