// Issue 11, item 6, in the app: a stack refused for its host folders offers the allowance in one step,
// for its source only; Settings lists it, and revoking it refuses the stack again.
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeStacks } from '../helpers/docker.ts';
import { MooringPage, expect, test } from './fixtures.ts';

const STACK = 'e2etrust';

test('a refused host folder is allowed for one source in one step, listed in Settings, and revoked', async ({
  page,
  app,
  repo,
}) => {
  const host = await mkdtemp(path.join(os.tmpdir(), 'mooring-e2e-volumes-'));
  await removeStacks(STACK);
  try {
    await repo.commit(
      {
        [`${STACK}/compose.yaml`]: `services:
  app:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
    volumes:
      - ${host}/app/config:/config
      - ${host}/app/data:/data
`,
      },
      'a stack keeping its data in host folders',
    );
    const ui = new MooringPage(page);
    await ui.start(app, repo.url);
    await ui.stackRow(STACK).getByRole('link', { name: STACK }).click();

    const refusal = page.getByRole('alert');
    await expect(refusal).toContainText('outside the allowed host folders');
    // Both folders are offered as the one folder they share, for this source alone.
    const allow = refusal.getByRole('button', { name: `Allow ${host}/app for source cfg` });
    await expect(allow).toBeVisible();
    await expect(refusal).toContainText(`mooring source trust cfg --bind ${host}/app`);
    await ui.screenshot('stack-trust-offer');

    await allow.click();
    await expect(refusal).toBeHidden({ timeout: 20_000 });
    await ui.goto('Overview');
    await expect(ui.stackRow(STACK)).toHaveAttribute('data-sync', 'Missing');
    await ui
      .stackRow(STACK)
      .getByRole('button', { name: `Sync ${STACK}` })
      .click();
    await expect(ui.stackRow(STACK)).toHaveAttribute('data-sync', 'Synced', { timeout: 30_000 });
    // Made as compose makes them: the engine created the missing host folders.
    expect(existsSync(path.join(host, 'app', 'data'))).toBe(true);

    await ui.goto('Sources & settings');
    const granted = page.locator('[data-trust-source="cfg"]');
    await expect(granted).toContainText(`host folder ${host}/app`);
    await granted.scrollIntoViewIfNeeded();
    await ui.screenshot('settings-trust');

    await granted.getByRole('button', { name: `Revoke host folder ${host}/app for source cfg` }).click();
    await expect(granted).toBeHidden();
    await ui.goto('Overview');
    await expect(ui.stackRow(STACK)).toContainText('manifest invalid', { timeout: 20_000 });
  } finally {
    await removeStacks(STACK);
    await rm(host, { recursive: true, force: true });
  }
});
