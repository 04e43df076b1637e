// Issue 15 in browser mode: Settings → Engines lists what this machine reaches by name, refuses a
// second name for the same daemon (saying which), removes `local`, and adds the daemon behind a TLS
// listener that checks client certificates (made here by openssl).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { haveRemoteTools, startTlsProxy } from '../helpers/remote-engines.ts';
import { MooringPage, expect, test } from './fixtures.ts';

test('Settings → Engines: local listed, the same daemon refused, local removed, a TLS engine added', async ({
  page,
  app,
  repo,
}) => {
  const missing = haveRemoteTools();
  test.skip(missing !== null, missing ?? '');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mooring-e2e-tls-'));
  const tls = await startTlsProxy(dir);
  try {
    const ui = new MooringPage(page);
    await ui.open(app);
    await ui.addSource('cfg', repo.url);
    const section = page.getByRole('region', { name: 'Engines' });
    await section.scrollIntoViewIfNeeded();
    await expect(section.locator('tr[data-engine="local"]')).toContainText('Docker');

    const form = section.getByRole('form', { name: 'Add an engine' });
    const fill = async (): Promise<void> => {
      await form.getByLabel('Name').fill('secure');
      await form.getByLabel('Address').fill(`tcp://127.0.0.1:${tls.port}`);
      await form.getByLabel('TLS CA file').fill(tls.client.ca);
      await form.getByLabel('TLS client certificate file').fill(tls.client.cert);
      await form.getByLabel('TLS client key file').fill(tls.client.key);
      await form.getByRole('button', { name: 'Add engine' }).click();
    };
    await fill();
    await expect(page.getByText(/reaches the same Docker daemon \(ID .+\) as engine local/)).toBeVisible();

    await section.getByRole('button', { name: 'Remove engine local' }).click();
    await section.getByRole('button', { name: 'Remove local' }).click();
    await expect(section.getByRole('table', { name: 'Engines' })).toContainText('No engines');

    await fill();
    await expect(page.getByText(/Engine secure added: Docker/)).toBeVisible();
    const row = section.locator('tr[data-engine="secure"]');
    await expect(row).toContainText('TLS');
    await expect(row).toContainText('Docker');
    await expect(row).toContainText('ms');
    await section.scrollIntoViewIfNeeded();
    await ui.screenshot('settings-engines');
  } finally {
    tls.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
