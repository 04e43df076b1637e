// `npm start`: the desktop app where an Electron binary exists; elsewhere, say so plainly and run
// browser mode (the same UI and engine, served on 127.0.0.1).
import { spawnSync } from 'node:child_process';
import { electronBinary as findElectron } from './fetch-electron.mjs';

const electronBinary = findElectron();

// `npm run build`, step by step: the app (main, preload, renderer), then the CLI that browser mode runs.
for (const args of [
  ['node_modules/electron-vite/bin/electron-vite.js', 'build'],
  ['scripts/build-cli.mjs'],
]) {
  const build = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (build.status !== 0) {
    console.error('Building the app failed (see above).');
    process.exit(build.status ?? 1);
  }
}

if (electronBinary) {
  const app = spawnSync(electronBinary, ['.', ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(app.status ?? 0);
}

console.log(
  'No Electron binary is installed on this machine (the install step tries its download: `node scripts/fetch-electron.mjs`),\n' +
    'so the desktop window cannot open. Starting browser mode instead: the same app, in your browser.\n',
);
const serve = spawnSync(process.execPath, ['bin/mooring.mjs', 'serve', ...process.argv.slice(2)], {
  stdio: 'inherit',
});
process.exit(serve.status ?? 0);
