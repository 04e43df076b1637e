// `npm run dist`: the desktop app's installers for this machine's platform (electron-builder.yml):
// AppImage and deb on Linux, dmg on macOS, nsis on Windows. Arguments go to electron-builder
// (`npm run dist -- --linux deb`, `npm run dist -- --dir` for the unpacked app only).
//
// The installers carry the Electron binary and SQLite's build for it, both fetched at install
// (scripts/fetch-electron.mjs). Where either is missing it tries the download once more, and where that
// fails it stops with one line saying why and what to do: an installer without them could not open.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { electronSqliteFile, fetchBinary, fetchSqlite } from './fetch-electron.mjs';

const ROOT = path.resolve(import.meta.dirname, '..');

function stop(line) {
  console.error(`npm run dist: ${line}`);
  process.exit(1);
}

const noBinary = fetchBinary();
if (noBinary !== null)
  stop(
    `Electron's binary could not be downloaded (${noBinary}). Installers need it: run this where its download host is reachable.`,
  );
const noSqlite = fetchSqlite();
if (noSqlite !== null || !existsSync(electronSqliteFile().file))
  stop(
    `SQLite's build for Electron ${electronSqliteFile().electron} could not be fetched (${noSqlite ?? 'not found'}). Installers need it: run this where its download host is reachable.`,
  );

for (const args of [
  ['node_modules/electron-vite/bin/electron-vite.js', 'build'],
  ['scripts/build-cli.mjs'],
  ['node_modules/electron-builder/cli.js', ...process.argv.slice(2)],
]) {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
console.log(`The installers are in ${path.join(ROOT, 'dist')}.`);
