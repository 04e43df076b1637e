// Issue 16, items 1 and 2: the install step tries Electron's own download and lets its failure be one
// plain line; where the binary is there, it fetches SQLite's build for Electron into its own folder,
// which the Electron main process loads while Node keeps its own; a build that does not load is said
// plainly. The downloads go to servers on 127.0.0.1 made here (nothing else is reachable).
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MooringError } from '../../electron/engine/errors.ts';
import {
  chooseSqliteBuild,
  nativeLoadProblem,
  openDatabase,
  useSqliteBuild,
} from '../../electron/engine/history/native-sqlite.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const SCRIPT = path.join(ROOT, 'scripts/fetch-electron.mjs');
const ELECTRON = (await import('../../node_modules/electron/package.json', { with: { type: 'json' } }))
  .default.version;
const SQLITE = (await import('../../node_modules/better-sqlite3/package.json', { with: { type: 'json' } }))
  .default.version;

/** Runs the install step's script; it must never fail the install. */
async function fetchElectron(env: NodeJS.ProcessEnv): Promise<string> {
  const { stdout, stderr } = await run(process.execPath, [SCRIPT], {
    cwd: ROOT,
    env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '', ...env },
  });
  expect(stderr).toBe('');
  return stdout;
}

describe('the install step', () => {
  let scratch: string;
  let server: http.Server;
  let base: string;
  const asked: string[] = [];

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'mooring-install-'));
    // The "prebuilt for Electron" this server hands out is better-sqlite3's own Node build: what is
    // checked is where it is fetched from and put, and that the runtime picks it, not Electron itself.
    const pack = path.join(scratch, 'pack');
    await mkdir(path.join(pack, 'build', 'Release'), { recursive: true });
    await run('cp', [
      path.join(ROOT, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'),
      path.join(pack, 'build', 'Release'),
    ]);
    const tarball = path.join(scratch, 'prebuilt.tar.gz');
    await run('tar', ['-czf', tarball, '-C', pack, 'build']);
    const { readFile } = await import('node:fs/promises');
    const body = await readFile(tarball);
    server = http.createServer((req, res) => {
      asked.push(req.url ?? '');
      if (req.url?.startsWith('/sqlite/') && req.url.endsWith('.tar.gz')) res.end(body);
      else res.writeHead(404).end('not here');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(scratch, { recursive: true, force: true });
  });

  it("tries Electron's download and, where it fails, says so in one line and succeeds", async () => {
    const out = await fetchElectron({
      ELECTRON_MIRROR: `${base}/electron/`,
      electron_config_cache: path.join(scratch, 'cache'),
    });
    expect(asked.some((u) => u.startsWith('/electron/') && u.includes(`electron-v${ELECTRON}-`))).toBe(true);
    expect(out.trim().split('\n')).toHaveLength(1);
    expect(out).toMatch(
      /^electron: its binary could not be downloaded \(.*404.*\); `npm start` runs browser mode\./,
    );
  });

  it('skips the downloads when asked to', async () => {
    const out = await fetchElectron({ ELECTRON_SKIP_BINARY_DOWNLOAD: '1' });
    expect(out).toBe(
      'electron: downloads skipped (ELECTRON_SKIP_BINARY_DOWNLOAD); `npm start` runs browser mode.\n',
    );
  });

  it('where the binary is there, fetches SQLite for Electron beside the Node build, which Electron then loads', async () => {
    const bin = path.join(scratch, 'dist');
    await mkdir(bin, { recursive: true });
    await writeFile(path.join(bin, 'electron'), '#!/bin/sh\n');
    await chmod(path.join(bin, 'electron'), 0o755);
    const root = path.join(scratch, 'app');
    const env = {
      ELECTRON_OVERRIDE_DIST_PATH: bin,
      MOORING_NATIVE_ROOT: root,
      npm_config_better_sqlite3_binary_host: `${base}/sqlite`,
    };
    const out = await fetchElectron(env);
    expect(asked).toContain(
      `/sqlite/v${SQLITE}/better-sqlite3-v${SQLITE}-electron-v145-${process.platform}-${process.arch}.tar.gz`,
    );
    expect(out).toContain(`electron: SQLite's build for Electron ${ELECTRON} is in `);
    // The Node build in node_modules is untouched: the CLI and the tests still load it.
    expect(existsSync(path.join(ROOT, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'))).toBe(
      true,
    );

    // Electron (its main process, or run as Node: the same ABI) picks that file; Node its own build.
    const electron = chooseSqliteBuild(root, { electron: ELECTRON, modules: '145', node: '24.14.0' });
    expect(electron.nativeBinding && existsSync(electron.nativeBinding)).toBe(true);
    expect(electron.label).toContain(`the Electron ${ELECTRON} build (ABI 145)`);
    expect(chooseSqliteBuild(root, { node: '20.20.0', modules: '115' })).toEqual({
      label: "better-sqlite3's Node build (Node 20.20.0, ABI 115)",
    });
    try {
      useSqliteBuild(electron);
      const db = openDatabase(':memory:');
      expect(db.prepare('SELECT 1 AS one').get()).toEqual({ one: 1 });
      db.close();
    } finally {
      useSqliteBuild(chooseSqliteBuild(root));
    }

    // A second run finds it there and fetches nothing.
    const before = asked.length;
    expect(await fetchElectron(env)).toBe('');
    expect(asked.length).toBe(before);
  });

  it('says which build did not load, why, and what to run', async () => {
    const bogus = path.join(scratch, 'bogus.node');
    await writeFile(bogus, 'not a shared object');
    const build = { nativeBinding: bogus, label: `the Electron ${ELECTRON} build (ABI 145) at ${bogus}` };
    try {
      useSqliteBuild(build);
      expect(() => openDatabase(':memory:')).toThrow(MooringError);
      expect(() => openDatabase(':memory:')).toThrow(
        new RegExp(
          `SQLite could not be loaded: the Electron ${ELECTRON.replace(/\./g, '\\.')} build .* did not load \\(.*\\)\\. Run \`node scripts/fetch-electron\\.mjs\``,
        ),
      );
    } finally {
      useSqliteBuild({ label: "better-sqlite3's own build" });
    }
    // The error Node gives for a module of another ABI names both numbers.
    const abi = Object.assign(
      new Error(
        `The module '${bogus}'\nwas compiled against a different Node.js version using\nNODE_MODULE_VERSION 115. This version of Node.js requires\nNODE_MODULE_VERSION 145. Please try re-compiling or re-installing\nthe module (for instance, using \`npm rebuild\` or \`npm install\`).`,
      ),
      { code: 'ERR_DLOPEN_FAILED' },
    );
    expect(nativeLoadProblem(abi, build)).toMatch(
      /was compiled for ABI 115, and this runtime needs ABI 145\. Run `node scripts\/fetch-electron\.mjs`/,
    );
    // A damaged database is not a loading problem: its own error stands.
    expect(
      nativeLoadProblem(Object.assign(new Error('file is not a database'), { code: 'SQLITE_NOTADB' })),
    ).toBeNull();
  });
});
