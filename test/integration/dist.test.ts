// Issue 16, item 3: the installers. electron-builder.yml is checked against electron-builder's own
// schema, and packed for real into the unpacked app (`--dir`, the folder every installer is made
// from) with a stand-in for the Electron binary, which cannot be downloaded here: a script that runs
// Node, as Electron does when the installed `mooring` command sets ELECTRON_RUN_AS_NODE. The installers
// themselves (AppImage, deb, dmg, nsis) need tools electron-builder downloads, so they are not made here.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);
const { validateConfiguration } = require('app-builder-lib/out/util/config/config.js') as {
  validateConfiguration: (config: unknown, log: { isEnabled: boolean; add(): void }) => Promise<void>;
};
const config = YAML.parse(await readFile(path.join(ROOT, 'electron-builder.yml'), 'utf8')) as Record<
  string,
  unknown
> & { files: string[]; extraResources: { from: string; to: string }[]; linux: Record<string, unknown> };
const quiet = { isEnabled: false, add: () => undefined };

describe('electron-builder.yml', () => {
  it('is valid by electron-builder’s schema, which refuses a misspelt key', async () => {
    await expect(validateConfiguration(config, quiet)).resolves.toBeUndefined();
    await expect(validateConfiguration({ ...config, prodcutName: 'Mooring' }, quiet)).rejects.toThrow(
      /unknown property 'prodcutName'/,
    );
  });

  it('names what exists: the icon, the CLI launchers, what the app loads at run time', async () => {
    expect(config).toMatchObject({
      appId: 'dev.mooring.app',
      productName: 'Mooring',
      asar: false,
      npmRebuild: false,
    });
    // electron-builder makes every platform's icon from one PNG of at least 512 px.
    const png = await readFile(path.join(ROOT, 'build/icon.png'));
    expect(png.readUInt32BE(16)).toBeGreaterThanOrEqual(512);
    expect(png.readUInt32BE(20)).toBe(png.readUInt32BE(16));
    expect((await stat(path.join(ROOT, 'build/cli/mooring'))).mode & 0o111).not.toBe(0);
    expect(existsSync(path.join(ROOT, 'build/cli/mooring.cmd'))).toBe(true);
    // The SQLite build for Electron, the tray's icons and the CLI's bundles go into the app.
    expect(config.files).toEqual(expect.arrayContaining(['native/**', 'resources/*.png', 'out/cli/**']));
  });
});

describe('the unpacked app, packed by electron-builder', () => {
  let scratch: string;
  let app: string;
  const built = existsSync(path.join(ROOT, 'out/main/index.js'));
  if (!built) console.warn('SKIPPED packing test: the app is not built; run `npm run build`.');

  beforeAll(async () => {
    if (!built) return;
    scratch = await mkdtemp(path.join(os.tmpdir(), 'mooring-dist-'));
    // The stand-in Electron: what electron-builder copies, with a binary that runs Node.
    const fake = path.join(scratch, 'electron');
    await mkdir(path.join(fake, 'resources'), { recursive: true });
    await writeFile(path.join(fake, 'electron'), `#!/bin/sh\nexec "${process.execPath}" "$@"\n`);
    await chmod(path.join(fake, 'electron'), 0o755);
    for (const f of ['LICENSE', 'LICENSES.chromium.html', 'chrome-sandbox'])
      await writeFile(path.join(fake, f), '');
    await run(
      process.execPath,
      [
        'node_modules/electron-builder/cli.js',
        '--linux',
        'dir',
        `-c.electronDist=${fake}`,
        `-c.directories.output=${path.join(scratch, 'out')}`,
      ],
      { cwd: ROOT, env: { ...process.env, ELECTRON_BUILDER_CACHE: path.join(scratch, 'cache') } },
    );
    app = path.join(scratch, 'out', 'linux-unpacked');
  }, 120_000);
  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it.skipIf(!built)(
    'holds the window’s code, the engine’s process, the icons and the production modules only',
    async () => {
      const res = path.join(app, 'resources', 'app');
      for (const f of [
        'out/main/index.js',
        'out/main/utility.js',
        'out/preload/index.cjs',
        'out/renderer/index.html',
        'resources/icon.png',
        'bin/mooring.mjs',
        'node_modules/better-sqlite3/package.json',
        'node_modules/dockerode/package.json',
      ])
        expect(existsSync(path.join(res, f)), f).toBe(true);
      expect(existsSync(path.join(res, 'node_modules/vitest'))).toBe(false);
      expect(existsSync(path.join(res, 'test'))).toBe(false);
      const pkg = JSON.parse(await readFile(path.join(res, 'package.json'), 'utf8')) as { main: string };
      expect(pkg.main).toBe('out/main/index.js');
      expect(existsSync(path.join(app, 'mooring-desktop'))).toBe(true);
    },
  );

  it.skipIf(!built)('its `mooring` command runs the CLI from the installed files', async () => {
    const home = path.join(scratch, 'home');
    const mooring = path.join(app, 'resources', 'bin', 'mooring');
    // Through a symlink, as /usr/bin/mooring reaches it from the deb.
    const link = path.join(scratch, 'mooring');
    await run('ln', ['-s', mooring, link]);
    const { stdout } = await run(link, ['--home', home, 'source', 'list']);
    expect(stdout).toContain('No sources yet');
    // It opened (and so created) the history in that home, with SQLite loaded from the app's modules.
    expect(existsSync(path.join(home, 'mooring.db'))).toBe(true);
  });
});

describe('npm run dist', () => {
  const hasBinary = (() => {
    try {
      const p = require('electron') as unknown;
      return typeof p === 'string' && existsSync(p);
    } catch {
      return false;
    }
  })();
  if (hasBinary)
    console.warn('SKIPPED dist stop test: the Electron binary is installed, so dist would build.');

  it.skipIf(hasBinary)(
    'without the Electron binary, tries its download and stops with one line saying why',
    async () => {
      const r = await run(process.execPath, ['scripts/dist.mjs'], {
        cwd: ROOT,
        env: { ...process.env, ELECTRON_MIRROR: 'http://127.0.0.1:9/' },
      }).then(
        () => ({ code: 0, stderr: '', stdout: '' }),
        (err: unknown) => err as { code: number; stderr: string; stdout: string },
      );
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^npm run dist: Electron's binary could not be downloaded \(.*ECONNREFUSED.*\)\. /,
      );
    },
  );
});
