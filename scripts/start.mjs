// `npm start`: the desktop app where an Electron binary exists; elsewhere, say so plainly and run
// what works without it.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';

const require = createRequire(import.meta.url);
let electronBinary = null;
try {
  const candidate = require('electron');
  if (typeof candidate === 'string' && existsSync(candidate)) electronBinary = candidate;
} catch {
  // electron's index.js throws when its binary was never downloaded
}

if (electronBinary) {
  const build = spawnSync('npx', ['electron-vite', 'build'], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
  const app = spawnSync(electronBinary, ['.'], { stdio: 'inherit' });
  process.exit(app.status ?? 0);
}

console.log(
  'No Electron binary is installed on this machine (its download is skipped here), so the desktop window cannot open.\n' +
    'Running the CLI instead: `mooring status`. Add a config repo with `npx mooring source add NAME URL_OR_PATH`.\n',
);
const cli = spawnSync(process.execPath, ['bin/mooring.mjs', 'status', ...process.argv.slice(2)], {
  stdio: 'inherit',
});
process.exit(cli.status ?? 0);
