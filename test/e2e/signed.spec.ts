// Issue 17, item 3 in the app: a source that deploys signed commits only says so in Settings; its stack
// at an unsigned tip is Unverified on the Overview and the stack screen (with what still runs), and a
// deploy's run names its verified signer.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { removeStacks } from '../helpers/docker.ts';
import { createLocalRepo } from '../helpers/git-repo.ts';
import { commitSsh, sshKey } from '../helpers/signing.ts';
import { MooringPage, expect, startApp, test } from './fixtures.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const STACK = 'e2esigned';
const compose = (level: string): string =>
  `services:\n  app:\n    image: local/busybox:1\n    init: true\n    command: ["sleep", "3600"]\n    environment:\n      LEVEL: "${level}"\n`;

test('signed commits only: Unverified tip, the signer of a deploy, the source says so', async ({
  page,
  home,
}) => {
  await removeStacks(STACK);
  const keys = await mkdtemp(path.join(os.tmpdir(), 'mooring-e2e-keys-'));
  const repo = await createLocalRepo({
    [`${STACK}/compose.yaml`]: compose('1'),
    'mooring.yaml': `stacks:\n  ${STACK}: { sync: manual }\n`,
  });
  const mooring = (...args: string[]) =>
    run('node', [path.join(ROOT, 'bin/mooring.mjs'), '--home', home, ...args]);
  try {
    const alice = await sshKey(keys, 'alice');
    await writeFile(path.join(keys, 'allowed'), `${alice.line('alice@example.com')}\n`);
    await commitSsh(repo.path, alice, { [`${STACK}/compose.yaml`]: compose('signed') }, 'signed by alice');
    await mooring(
      'source',
      'add',
      'cfg',
      repo.path,
      '--verify',
      'ssh',
      '--allowed-signers',
      path.join(keys, 'allowed'),
    );
    await mooring('sync', STACK);
    await repo.commit({ [`${STACK}/compose.yaml`]: compose('unsigned') }, 'not signed');

    const app = await startApp(home);
    try {
      const ui = new MooringPage(page);
      await ui.open(app);
      await expect(ui.stackRow(STACK)).toContainText(/tip unverified; runs [0-9a-f]{7}/);
      await ui.screenshot('overview-unverified');
      await ui.stackRow(STACK).getByRole('link', { name: STACK }).click();
      await expect(page.getByRole('alert')).toContainText(
        'Unverified (not signed): its source deploys only commits signed by a key it allows, so nothing of this one is deployed.',
      );
      await ui.screenshot('stack-unverified');

      await ui.goto('History');
      await page.getByRole('link', { name: new RegExp(`Run #\\d+, ${STACK}, succeeded`) }).click();
      const detail = page.getByRole('dialog', { name: /Run #\d+/ });
      await expect(detail).toContainText(/Signed by\s*alice@example\.com \(ssh-ed25519 SHA256:/);
      await ui.screenshot('run-signed');
      await detail.getByRole('button', { name: 'Close' }).click();

      await ui.goto('Sources & settings');
      await expect(page.locator('tr[data-source="cfg"] [data-verify="ssh"]')).toHaveText(
        'deploys SSH-signed commits only',
      );
    } finally {
      await app.stop();
    }
  } finally {
    await removeStacks(STACK);
    await rm(keys, { recursive: true, force: true });
    await rm(repo.path, { recursive: true, force: true });
  }
});
