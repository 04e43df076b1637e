// Issue 13, item 9, in browser mode: a webhook set in Settings (by the variable of `mooring serve` that
// holds its URL: browser mode cannot keep secrets), a test notice, and the controller telling a real
// receiver on 127.0.0.1 about a drift and its repair by self-heal — once each.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { docker, removeStacks } from '../helpers/docker.ts';
import { MooringPage, expect, startApp, test } from './fixtures.ts';

const STACK = 'e2ehook';

interface Notice {
  event: string;
  stack: string | null;
  title: string;
}

test('a webhook set in Settings gets a test notice, then the drift and its repair, once each', async ({
  page,
  home,
  repo,
}) => {
  const got: Notice[] = [];
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      got.push(JSON.parse(body) as Notice);
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  await removeStacks(STACK);
  const app = await startApp(home, { HOOK_URL: url });
  try {
    await repo.commit(
      {
        [`${STACK}/compose.yaml`]: `services:
  app:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
`,
        'mooring.yaml': `stacks:\n  e2eweb: { sync: manual }\n  ${STACK}: { sync: auto, selfHeal: true }\n`,
      },
      'a self-healing stack',
    );
    const ui = new MooringPage(page);
    await ui.open(app);
    await ui.addSource('cfg', repo.url);

    const section = page.getByRole('region', { name: 'Webhook' });
    await section.scrollIntoViewIfNeeded();
    await expect(section.getByRole('status')).toHaveText('No webhook yet.');
    await section.getByLabel('Format').selectOption('json');
    await section.getByLabel('Variable that holds the URL').fill('HOOK_URL');
    await section.getByRole('button', { name: 'Save' }).click();
    await expect(section.getByRole('status')).toHaveText('On: JSON notices to the URL in $HOOK_URL.');
    await section.getByRole('button', { name: 'Send a test notice' }).click();
    await expect(page.getByText('Test notice delivered (HTTP 200).')).toBeVisible();
    await expect(section.getByRole('table', { name: 'Last webhook deliveries' })).toContainText('HTTP 200');
    expect(got.map((n) => n.event)).toEqual(['test']);

    // The controller deploys the stack by itself; a container stopped by hand is drift, repaired.
    await ui.goto('Overview');
    await expect(ui.stackRow(STACK)).toHaveAttribute('data-sync', 'Synced', { timeout: 30_000 });
    await docker('stop', '-t', '0', `${STACK}-app-1`);
    await expect
      .poll(() => got.map((n) => `${n.event} ${n.stack ?? ''}`), { timeout: 30_000 })
      .toEqual(['test ', `drift ${STACK}`, `healed ${STACK}`]);
    expect(got[1]!.title).toBe(`${STACK} drifted from git`);

    await ui.goto('Sources & settings');
    const table = section.getByRole('table', { name: 'Last webhook deliveries' });
    await expect(table.getByRole('row')).toHaveCount(4);
    await expect(table).toContainText(`healed · ${STACK}`);
    await section.scrollIntoViewIfNeeded();
    await ui.screenshot('settings-webhook');
  } finally {
    await app.stop();
    await removeStacks(STACK);
    await new Promise((r) => receiver.close(r));
  }
});
