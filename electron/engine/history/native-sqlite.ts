// Which native build of better-sqlite3 this process loads (issue 16, item 2). The CLI, the tests and
// browser mode run on Node and load the build `npm ci` compiled for Node's ABI. Electron's main process
// has another ABI: it loads a build for its own Electron version, kept beside the Node one in
// native/better-sqlite3/electron-v<version>-<platform>-<arch>/ (scripts/fetch-electron.mjs puts it
// there), through better-sqlite3's `nativeBinding` option. A build that does not load is said plainly:
// which file, for which runtime, why, and what to run.
import Database from 'better-sqlite3';
import path from 'node:path';
import { MooringError, errorMessage } from '../errors.ts';

/** The build chosen for a runtime: a file for Electron, or better-sqlite3's own (Node's) otherwise. */
export interface SqliteBuild {
  /** better-sqlite3's `nativeBinding`: absent for its own build. */
  nativeBinding?: string;
  /** For people: which build, for which runtime. */
  label: string;
}

/** The folder under the app's root where the Electron build for these versions lives. */
export function electronBuildDir(
  root: string,
  electron: string,
  platform: string = process.platform,
  arch: string = process.arch,
): string {
  return path.join(root, 'native', 'better-sqlite3', `electron-v${electron}-${platform}-${arch}`);
}

/** The build this runtime needs: Electron's own for Electron (run as Node too: same ABI), else Node's. */
export function chooseSqliteBuild(
  root: string,
  versions: Partial<NodeJS.ProcessVersions> = process.versions,
  platform: string = process.platform,
  arch: string = process.arch,
): SqliteBuild {
  if (!versions.electron) {
    return {
      label: `better-sqlite3's Node build (Node ${versions.node ?? '?'}, ABI ${versions.modules ?? '?'})`,
    };
  }
  const file = path.join(electronBuildDir(root, versions.electron, platform, arch), 'better_sqlite3.node');
  return {
    nativeBinding: file,
    label: `the Electron ${versions.electron} build (ABI ${versions.modules ?? '?'}) at ${file}`,
  };
}

// The installed app's `mooring` command runs the CLI on the app's Electron as Node, naming the app's
// folder (build/cli/mooring): its build is the app's own. Anywhere else, better-sqlite3's.
const appRoot = process.versions.electron ? process.env.MOORING_APP_ROOT : undefined;
let chosen: SqliteBuild = appRoot ? chooseSqliteBuild(appRoot) : { label: "better-sqlite3's own build" };

/** Makes every database this process opens load `build` (the Electron main process calls it first). */
export function useSqliteBuild(build: SqliteBuild): void {
  chosen = build;
}

/** Opens a database with the chosen build; a build that cannot be loaded is a MooringError saying why. */
export function openDatabase(file: string | Buffer, options: Database.Options = {}): Database.Database {
  try {
    return new Database(
      file,
      chosen.nativeBinding ? { ...options, nativeBinding: chosen.nativeBinding } : options,
    );
  } catch (err) {
    const problem = nativeLoadProblem(err);
    if (problem === null) throw err;
    throw new MooringError('failed', `SQLite could not be loaded: ${problem}`, { cause: err });
  }
}

/**
 * What went wrong loading the native module, for people, or null when the error is not about loading
 * it (a damaged database file, say, is its caller's to explain).
 */
export function nativeLoadProblem(err: unknown, build: SqliteBuild = chosen): string | null {
  const message = errorMessage(err);
  const code = (err as { code?: unknown } | null)?.code;
  const abi =
    /compiled against a different Node\.js version using\s+NODE_MODULE_VERSION (\d+)\. This version of Node\.js requires\s+NODE_MODULE_VERSION (\d+)/.exec(
      message,
    );
  const fix = build.nativeBinding
    ? 'Run `node scripts/fetch-electron.mjs` with the internet reachable to fetch it, or `npx @electron/rebuild -w better-sqlite3` in a copy of the package; until then, `npm start` runs browser mode.'
    : 'Run `npm rebuild better-sqlite3` with the Node that runs Mooring.';
  if (abi)
    return `${build.label} was compiled for ABI ${abi[1]}, and this runtime needs ABI ${abi[2]}. ${fix}`;
  if (code === 'ERR_DLOPEN_FAILED' || code === 'MODULE_NOT_FOUND') {
    return `${build.label} did not load (${message.split('\n')[0]}). ${fix}`;
  }
  return null;
}
