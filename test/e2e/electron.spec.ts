// A smoke test of the real desktop shell, where an Electron binary exists. Its installer
// downloads the binary from outside the npm registry, so on machines without it this says so.
import { _electron as electron, expect, test } from '@playwright/test';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);

function electronBinary(): string | null {
  try {
    const p = require('electron') as unknown;
    return typeof p === 'string' && existsSync(p) ? p : null;
  } catch {
    return null;
  }
}

const binary = electronBinary();
const root = path.resolve(import.meta.dirname, '../..');

test('the Electron window opens with a sandboxed page and the bridge', async () => {
  const why =
    binary === null
      ? 'SKIPPED Electron smoke test: no Electron binary on this machine (its download is blocked here).'
      : !existsSync(path.join(root, 'out/main/index.js'))
        ? 'SKIPPED Electron smoke test: the app is not built; run `npm run build`.'
        : null;
  if (why) console.log(why);
  test.skip(why !== null, why ?? '');
  const home = await mkdtemp(path.join(os.tmpdir(), 'mooring-electron-'));
  const app = await electron.launch({
    executablePath: binary!,
    args: [root, '--no-sandbox'],
    env: { ...process.env, MOORING_HOME: home },
  });
  const page = await app.firstWindow();
  await expect(page.getByRole('navigation', { name: 'Screens' })).toBeVisible();
  expect(await page.evaluate(() => typeof (window as unknown as { require?: unknown }).require)).toBe(
    'undefined',
  );
  expect(
    await page.evaluate(() => (window as unknown as { mooring?: { transport: string } }).mooring?.transport),
  ).toBe('electron');
  await app.close();
});
