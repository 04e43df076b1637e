// The CLI as one bundled file, built on first use and rebuilt whenever a source file changes.
//
// Why: running the TypeScript sources through tsx costs about a second before any work, since every
// one of a few hundred modules (ours and node_modules') goes through tsx's loader; a no-op
// `mooring sync` was mostly that (issue 6, docs/benchmarks.md). One file bundled with esbuild (which
// tsx brings along) loads in a fraction of it. Building takes a few hundred milliseconds and happens on
// the first run after `npm ci` or after a source file changed, so a checkout still needs no build step,
// and an edited source is never run stale.
//
// The bundle lives in node_modules/.cache/mooring-cli/ beside a stamp: the size and mtime of every
// source file that went into it, and of node_modules/.package-lock.json (npm rewrites it on every
// install). Native modules (better-sqlite3) and optional native ones stay external. Files are bundled
// as if they were where they are: __dirname, __filename and import.meta.dirname/filename/url keep
// their original values (dockerode reads .proto files beside itself; `serve` finds out/renderer).
// It is CommonJS, run through vm.Script with V8's code cache kept beside it: compiling 3 MB of
// JavaScript was a fifth of the start (Node 20 has no compile cache for modules of its own).
//
// Anything that fails here (no esbuild, a read-only node_modules) returns null: the caller runs the
// sources through tsx as before. MOORING_CLI=tsx forces that path.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';

const ROOT = path.resolve(import.meta.dirname, '..');
const ENTRY = path.join(ROOT, 'electron/cli/main.ts');
const CACHE = path.join(ROOT, 'node_modules/.cache/mooring-cli');
const BUNDLE = path.join(CACHE, 'cli.cjs');
const CODE_CACHE = path.join(CACHE, 'cli.v8cache');
const STAMP = path.join(CACHE, 'cli.json');
/** The commands whose run the code cache was saved after (V8 caches what a run compiled). */
const CODE_CACHE_COMMANDS = path.join(CACHE, 'cli.v8cache.json');
const INSTALL = path.join(ROOT, 'node_modules/.package-lock.json');
const FORMAT = 2;
const EXTERNAL = ['better-sqlite3', 'electron', 'ssh2', 'cpu-features'];
/**
 * Modules each exporting one function that few commands call, loaded from node_modules on the first
 * call instead of at every start: dockerode's BuildKit session (gRPC and protobuf, ~30 ms) and
 * docker-modem's ssh transport (ssh2, ~40 ms).
 */
const LAZY = ['node_modules/dockerode/lib/session.js', 'node_modules/docker-modem/lib/ssh.js'].map((p) =>
  path.join(ROOT, p),
);

function signature(file) {
  const s = fs.statSync(file);
  return `${s.size}:${s.mtimeMs}`;
}

/** Writes under a temporary name and renames: a process starting meanwhile sees all of it or none. */
function writeAtomically(file, data) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

/** Whether the bundle was built from exactly the files that are there now. */
function fresh() {
  try {
    const stamp = JSON.parse(fs.readFileSync(STAMP, 'utf8'));
    if (stamp.format !== FORMAT || stamp.root !== ROOT) return false;
    for (const [file, sig] of Object.entries(stamp.inputs)) if (signature(file) !== sig) return false;
    return true;
  } catch {
    return false;
  }
}

/** esbuild plugin: each file sees its own location, not the bundle's; LAZY modules load on first use. */
const originalLocations = {
  name: 'original-locations',
  setup(build) {
    build.onLoad({ filter: /\.(?:[cm]?js|ts)$/ }, async (args) => {
      if (LAZY.includes(args.path)) {
        const real = JSON.stringify(args.path);
        return {
          contents: `module.exports = function () { return require(${real}).apply(this, arguments); };`,
        };
      }
      let text = await fs.promises.readFile(args.path, 'utf8');
      const loader = args.path.endsWith('.ts') ? 'ts' : 'js';
      const dir = JSON.stringify(path.dirname(args.path));
      const file = JSON.stringify(args.path);
      if (text.includes('import.meta.')) {
        text = text
          .replaceAll('import.meta.dirname', dir)
          .replaceAll('import.meta.filename', file)
          .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href));
      }
      if (/\b__(?:dirname|filename)\b/.test(text)) {
        const body = text.startsWith('#!') ? text.slice(text.indexOf('\n') + 1) : text;
        text = `var __dirname = ${dir}, __filename = ${file};\n${body}`;
      }
      return { contents: text, loader };
    });
  },
};

async function build() {
  const esbuild = await import('esbuild');
  const started = Date.now();
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: EXTERNAL,
    plugins: [originalLocations],
    metafile: true,
    write: false,
    logLevel: 'silent',
    outfile: BUNDLE,
  });
  const inputs = {};
  let settled = true;
  for (const input of Object.keys(result.metafile.inputs)) {
    const file = path.resolve(ROOT, input);
    if (file.includes(`${path.sep}node_modules${path.sep}`)) continue;
    const s = fs.statSync(file);
    inputs[file] = `${s.size}:${s.mtimeMs}`;
    // Edited while (or just before) the build read it: the bundle may hold either text, so it gets no
    // stamp, and the next run builds again.
    if (s.mtimeMs >= started - 1000) settled = false;
  }
  if (fs.existsSync(INSTALL)) inputs[INSTALL] = signature(INSTALL);
  fs.mkdirSync(CACHE, { recursive: true });
  // The old stamp must not vouch for the new bundle, nor the old code cache go with it.
  fs.rmSync(STAMP, { force: true });
  fs.rmSync(CODE_CACHE, { force: true });
  fs.rmSync(CODE_CACHE_COMMANDS, { force: true });
  writeAtomically(BUNDLE, result.outputFiles[0].contents);
  if (settled) writeAtomically(STAMP, JSON.stringify({ format: FORMAT, root: ROOT, inputs }));
}

/** The command word of this run (`status`, `sync`, …), skipping `--home DIR`; `help` when there is none. */
function commandOf(argv) {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--home') i++;
    else if (!argv[i].startsWith('-')) return argv[i];
  }
  return 'help';
}

function readCovered() {
  try {
    const list = JSON.parse(fs.readFileSync(CODE_CACHE_COMMANDS, 'utf8'));
    return Array.isArray(list) ? list : [];
  } catch {
    return [];
  }
}

/**
 * Runs the CommonJS bundle with V8's code cache; returns its exports and a function that saves the
 * cache. V8 compiles a function when it first runs, and the cache holds what was compiled before it
 * was made: a cache made after `--help` leaves the compose parser out, and every `status` compiled it
 * again (15-60 ms of a 100-service status here, docs/benchmarks.md). So the cache is made again after
 * the first run of each command, with everything compiled until then.
 */
function load() {
  const code = fs.readFileSync(BUNDLE, 'utf8');
  let cachedData;
  try {
    cachedData = fs.readFileSync(CODE_CACHE);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${code}\n})`, {
    filename: BUNDLE,
    ...(cachedData ? { cachedData } : {}),
  });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(BUNDLE), module, BUNDLE, CACHE);
  const fresh = !cachedData || script.cachedDataRejected;
  const covered = fresh ? [] : readCovered();
  const command = commandOf(process.argv.slice(2));
  return {
    exports: module.exports,
    // After the command ran, so the cache also holds the functions it compiled on the way.
    saveCache: () => {
      if (covered.includes(command)) return;
      try {
        writeAtomically(CODE_CACHE, script.createCachedData());
        writeAtomically(CODE_CACHE_COMMANDS, JSON.stringify([...covered, command]));
      } catch {
        // Only a cache: the next start compiles again.
      }
    },
  };
}

/**
 * The CLI's main() from the bundle (built if needed) and a function to call once it returned, or
 * null when the bundle cannot be had.
 */
export async function loadBundledCli() {
  if (process.env.MOORING_CLI === 'tsx') return null;
  try {
    if (!fresh()) await build();
    const { exports, saveCache } = load();
    return { main: exports.main, done: saveCache };
  } catch (err) {
    if (process.env.MOORING_DEBUG)
      process.stderr.write(`mooring: bundled CLI unavailable (${err}); using tsx\n`);
    return null;
  }
}
