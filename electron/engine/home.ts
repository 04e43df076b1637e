// The home folder: database, settings, mirrors and mounted files. The desktop app uses the same
// folder as the CLI (Electron's userData for an app named "Mooring"), so both see one history.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MooringError } from './errors.ts';

export function defaultHome(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (env.MOORING_HOME) return path.resolve(env.MOORING_HOME);
  const home = os.homedir();
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'Mooring');
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'Mooring');
  return path.join(env.XDG_CONFIG_HOME ?? path.join(home, '.config'), 'Mooring');
}

/**
 * Files in the home folder that hold Mooring's own state: owner-only (0600). The database holds the
 * history and source settings, secrets.json the keychain-sealed tokens (issue 10, item 5).
 */
export const PRIVATE_FILES = [
  'mooring.db',
  'mooring.db-wal',
  'mooring.db-shm',
  'settings.json',
  'instance-id',
  'content-key',
  'secrets.json',
] as const;

/** Folders under the home that only Mooring reads: `mirrors` holds whole config repos. */
const PRIVATE_DIRS = ['mirrors'] as const;

const DENIED = new Set(['EROFS', 'EACCES', 'EPERM']);

/** Whether `err` says the file system refused a write (read-only mount, permissions, immutable). */
export function isWriteDenied(err: unknown): boolean {
  return DENIED.has((err as NodeJS.ErrnoException | null)?.code ?? '');
}

/** Whether this process may write `file` (a missing file counts as writable: its folder decides). */
export function canWrite(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.W_OK);
    return true;
  } catch (err) {
    return !isWriteDenied(err);
  }
}

/**
 * Makes the home folder (0700) or tightens an existing one, and its private files to 0600, so that
 * other users of the machine read neither history nor mirrors. No umask is set: files materialized
 * under `mounts/` are bind-mounted into containers that may run as another user and must keep their
 * own modes (dockerd, as root, resolves the bind source, so a 0700 home does not hide them). A home
 * that cannot be written is left as it is: it is opened read-only (issue 10, item 10).
 */
export async function prepareHome(home: string): Promise<void> {
  try {
    await fs.promises.mkdir(home, { recursive: true, mode: 0o700 });
  } catch (err) {
    // An existing home on a read-only mount can fail here (EROFS) though it is there to be read.
    if (!isWriteDenied(err) || !fs.existsSync(home)) throw err;
  }
  if (!canWrite(home)) return;
  if (await isOwnFolder(home)) await tighten(home, 0o700, true);
  for (const dir of PRIVATE_DIRS) {
    // Made here, owner-only, so that whatever later creates folders inside inherits no wider parent.
    await fs.promises.mkdir(path.join(home, dir), { mode: 0o700 }).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    });
    await tighten(path.join(home, dir), 0o700);
  }
  for (const file of PRIVATE_FILES) await tighten(path.join(home, file), 0o600);
}

/**
 * Whether the home folder is one Mooring may make private: not a shared folder someone pointed --home
 * at by mistake. `--home /tmp` as root must not turn /tmp into 0700 (every other user's programs would
 * break), nor `--home ~` close the user's home to the services that read it. Their files stay 0600.
 */
async function isOwnFolder(home: string): Promise<boolean> {
  const real = await fs.promises.realpath(home);
  if (real === path.parse(real).root || real === (await fs.promises.realpath(os.homedir()).catch(() => '')))
    return false;
  // The sticky bit marks a folder shared by all (/tmp, /var/tmp).
  return ((await fs.promises.stat(real)).mode & 0o1000) === 0;
}

/**
 * chmod to `mode` when group or others have any access. A file owned by someone else is left as is, and
 * so is a symbolic link inside the home (chmod would change whatever it points to); the home itself
 * may be a link to where the user keeps it.
 */
async function tighten(file: string, mode: number, follow = false): Promise<void> {
  let stat: fs.Stats;
  try {
    stat = await (follow ? fs.promises.stat(file) : fs.promises.lstat(file));
  } catch {
    return; // not there (yet): it is created with the right mode
  }
  if (stat.isSymbolicLink() || (stat.mode & 0o077) === 0) return;
  if (process.getuid && stat.uid !== process.getuid()) return;
  await fs.promises.chmod(file, mode).catch((err: unknown) => {
    if (!isWriteDenied(err)) throw err;
  });
}

/** What a command that must write says in a read-only home: that it is, where, and what to do. */
export function readOnlyHomeError(home: string, what?: string): MooringError {
  const why = `the home folder ${home} is read-only, so Mooring cannot record anything there`;
  return new MooringError(
    'failed',
    `${what ? `Cannot ${what}: ${why}` : why.charAt(0).toUpperCase() + why.slice(1)}. Make it (and mooring.db in it) writable, or choose another home with --home or MOORING_HOME.`,
  );
}
