// The home folder: database, settings, mirrors and mounted files. The desktop app uses the same
// folder as the CLI (Electron's userData for an app named "Mooring"), so both see one history.
import os from 'node:os';
import path from 'node:path';

export function defaultHome(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (env.MOORING_HOME) return path.resolve(env.MOORING_HOME);
  const home = os.homedir();
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'Mooring');
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'Mooring');
  return path.join(env.XDG_CONFIG_HOME ?? path.join(home, '.config'), 'Mooring');
}
