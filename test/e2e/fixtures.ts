// The app under test: `mooring serve` in a child process with its own home folder, a real git
// server, and page objects for each screen.
import { test as base, expect, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createRepo, type TestRepo } from '../helpers/git-repo.ts';
import { startGitServer, type GitServer } from '../helpers/git-server.ts';
import { docker, removeStacks } from '../helpers/docker.ts';
import { startServe, type ServeProcess } from '../helpers/serve.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

export type App = ServeProcess;

export async function startApp(home: string, env: NodeJS.ProcessEnv = {}): Promise<App> {
  mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
  return startServe(home, {
    env,
    logFile: path.join(ROOT, 'test-results', `serve-${path.basename(home)}.log`),
  });
}

export const STACKS = ['e2eweb', 'e2ejobs'];

export const webCompose = (tag: string): string => `services:
  app:
    image: local/busybox:${tag}
    init: true
    command: ["sleep", "3600"]
    environment:
      MODE: production
  worker:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
`;

const jobsCompose = `services:
  runner:
    image: local/busybox:1
    init: true
    command: ["sleep", "3600"]
`;

interface Fixtures {
  gitServer: GitServer;
  repo: TestRepo;
  home: string;
  app: App;
}

export const test = base.extend<Fixtures>({
  // eslint-disable-next-line no-empty-pattern -- Playwright requires the destructuring form
  gitServer: async ({}, use) => {
    const server = await startGitServer();
    await use(server);
    await server.close();
  },
  repo: async ({ gitServer }, use) => {
    await docker('tag', 'local/busybox:1', 'local/busybox:2');
    await removeStacks(...STACKS);
    const repo = await createRepo(gitServer, `e2e-${Date.now()}`, {
      'e2eweb/compose.yaml': webCompose('1'),
      'e2ejobs/compose.yaml': jobsCompose,
      'mooring.yaml': 'stacks:\n  e2eweb: { sync: manual }\n',
    });
    await use(repo);
    await removeStacks(...STACKS);
  },
  // eslint-disable-next-line no-empty-pattern -- Playwright requires the destructuring form
  home: async ({}, use) => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'mooring-e2e-'));
    await use(home);
    await rm(home, { recursive: true, force: true });
  },
  app: async ({ home }, use) => {
    const app = await startApp(home);
    await use(app);
    await app.stop();
  },
});

export { expect };

/** Page objects: what a person sees and does on each screen. */
export class MooringPage {
  constructor(readonly page: Page) {}

  async open(app: App): Promise<void> {
    await this.page.goto(app.url);
    await expect(this.page.getByRole('navigation', { name: 'Screens' })).toBeVisible();
  }

  stackRow(name: string) {
    return this.page.locator(`tr[data-stack="${name}"]`);
  }

  serviceRow(name: string) {
    return this.page.locator(`tr[data-service="${name}"]`);
  }

  async goto(screen: 'Overview' | 'History' | 'Commits' | 'Builds' | 'Sources & settings'): Promise<void> {
    await this.page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: screen }).click();
  }

  async addSource(name: string, url: string): Promise<void> {
    const dialog = this.page.getByRole('dialog', { name: 'Add a source' });
    // With no source yet, the settings screen opens the form by itself (and the page behind is inert),
    // possibly a moment after the screen shows: retried until the form is open, whichever opened it.
    if (!(await dialog.isVisible())) await this.goto('Sources & settings');
    await expect(async () => {
      if (!(await dialog.isVisible())) {
        await this.page.getByRole('button', { name: 'Add source' }).click({ timeout: 1_000 });
      }
      await expect(dialog).toBeVisible({ timeout: 1_000 });
    }).toPass({ timeout: 30_000 });
    await dialog.getByLabel('Name').fill(name);
    await dialog.getByLabel('Repository URL or local path').fill(url);
    await dialog.getByRole('button', { name: 'Add and fetch' }).click();
    // Adding clones the repo: allow for a slow machine.
    await expect(dialog).toBeHidden({ timeout: 30_000 });
    await expect(this.page.locator(`tr[data-source="${name}"]`)).toBeVisible();
  }

  async screenshot(name: string): Promise<void> {
    for (const scheme of ['light', 'dark'] as const) {
      await this.page.emulateMedia({ colorScheme: scheme });
      await this.page.screenshot({
        path: path.join(ROOT, 'test-results', 'screens', `${name}-${scheme}.png`),
        fullPage: true,
      });
    }
    await this.page.emulateMedia({ colorScheme: 'light' });
  }
}
