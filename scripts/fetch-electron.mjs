// Part of the install step (`npm ci` runs it from postinstall): gets what the desktop window needs,
// where it can be had, and never fails the install for it (issue 16, items 1 and 2).
//
// 1. Electron's binary, by Electron's own install.js. npm's allowScripts keeps that from running as the
//    electron package's own postinstall, because there its failure fails the whole install, and on a
//    machine that cannot reach the download host it fails in under a second. Here it is tried, and a
//    failure is one plain line: `npm start` then runs browser mode.
// 2. better-sqlite3 built for this Electron's ABI, beside the Node build the CLI and the tests load:
//    the prebuilt better-sqlite3 publishes for Electron, fetched by prebuild-install into
//    native/better-sqlite3/electron-v<version>-<platform>-<arch>/ (what electron/engine/history/
//    native-sqlite.ts loads in Electron's main process). Only where the binary arrived.
//
// Environment: ELECTRON_SKIP_BINARY_DOWNLOAD=1 skips both; ELECTRON_MIRROR and the usual
// npm_config_better_sqlite3_binary_host (prebuild-install) point the downloads elsewhere.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const require = createRequire(path.join(ROOT, 'package.json'));

/** The Electron binary's path if it is on this machine, else null (electron's index.js throws then). */
export function electronBinary() {
  try {
    const file = require('electron');
    return typeof file === 'string' && existsSync(file) ? file : null;
  } catch {
    return null;
  }
}

/** The first line of a failed download's output that says why (the error, not its stack). */
export function reason(output) {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return (
    lines.find(
      (l) => /error|ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|\b[45]\d\d\b/i.test(l) && !l.startsWith('at '),
    ) ??
    lines[0] ??
    'no output'
  ).slice(0, 200);
}

function run(args, cwd = ROOT) {
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stderr ?? ''}\n${r.stdout ?? ''}` };
}

/** Runs Electron's own download unless the binary is there: null when it is, else why not. */
export function fetchBinary() {
  if (electronBinary()) return null;
  const got = run([require.resolve('electron/install.js')]);
  if (got.ok && electronBinary()) {
    console.log(`electron: the desktop app's binary is installed (${electronBinary()}).`);
    return null;
  }
  return reason(got.output);
}

/** Where SQLite's build for this Electron goes (MOORING_NATIVE_ROOT: another root, for the install test). */
export function electronSqliteFile() {
  const electron = JSON.parse(readFileSync(require.resolve('electron/package.json'), 'utf8')).version;
  const root = process.env.MOORING_NATIVE_ROOT || ROOT;
  return {
    electron,
    file: path.join(
      root,
      'native',
      'better-sqlite3',
      `electron-v${electron}-${process.platform}-${process.arch}`,
      'better_sqlite3.node',
    ),
  };
}

/** Fetches SQLite's prebuilt for this Electron unless it is there: null when it is, else why not. */
export function fetchSqlite() {
  const { electron, file: target } = electronSqliteFile();
  const dir = path.dirname(target);
  if (existsSync(target)) return null;
  // prebuild-install reads the package's manifest in its working folder and unpacks into its
  // build/Release: a scratch folder with a copy of the manifest, so the Node build is left as it is.
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'mooring-sqlite-'));
  try {
    copyFileSync(require.resolve('better-sqlite3/package.json'), path.join(scratch, 'package.json'));
    const got = run(
      [
        require.resolve('prebuild-install/bin.js'),
        '--runtime',
        'electron',
        '--target',
        electron,
        '--arch',
        process.arch,
        '--platform',
        process.platform,
      ],
      scratch,
    );
    const built = path.join(scratch, 'build', 'Release', 'better_sqlite3.node');
    if (!got.ok || !existsSync(built)) return reason(got.output);
    mkdirSync(dir, { recursive: true });
    copyFileSync(built, target);
    writeFileSync(
      path.join(dir, 'SOURCE'),
      `better-sqlite3 prebuilt for Electron ${electron}, fetched by prebuild-install\n`,
    );
    console.log(`electron: SQLite's build for Electron ${electron} is in ${dir}.`);
    return null;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) {
      console.log(
        'electron: downloads skipped (ELECTRON_SKIP_BINARY_DOWNLOAD); `npm start` runs browser mode.',
      );
    } else {
      const noBinary = fetchBinary();
      const noSqlite = noBinary === null ? fetchSqlite() : null;
      if (noBinary !== null)
        console.log(
          `electron: its binary could not be downloaded (${noBinary}); \`npm start\` runs browser mode. Retry with \`node scripts/fetch-electron.mjs\`.`,
        );
      else if (noSqlite !== null)
        console.log(
          `electron: SQLite's build for Electron ${electronSqliteFile().electron} could not be fetched (${noSqlite}); the window cannot open its history until it is. Retry with \`node scripts/fetch-electron.mjs\`.`,
        );
    }
  } catch (err) {
    // Never the install's failure: electron absent (an install without dev packages), a disk error…
    console.log(
      `electron: the desktop app's parts were not fetched (${String(err).split('\n')[0]}); \`npm start\` runs browser mode.`,
    );
  }
}
