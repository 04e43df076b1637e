#!/usr/bin/env node
// The `mooring` command: runs the CLI that `npm run build` (and `npm ci`, through postinstall) bundled
// into out/cli/ (scripts/build-cli.mjs says why and into which files). MOORING_CLI=tsx runs the
// TypeScript sources through tsx instead: a development aid, since tsx is a dev dependency.
//
// It starts the command tree (mooring.cjs: parsing and help, small), which requires the engine's bundle
// (mooring-engine.cjs, 3 MB) only when a command opens the engine; `--help` never does.
//
// Both bundles run through vm.Script with V8's code cache kept beside each: compiling 3 MB of
// JavaScript was a fifth of the start (Node 20 has no compile cache for modules of its own). V8
// compiles a function when it first runs, and a cache holds what was compiled before it was made: one
// made after `--help` leaves the compose parser out, and every `status` compiled it again (15-60 ms of
// a 100-service status, docs/benchmarks.md). So a bundle's cache is made again after the first run of
// each command that loaded it, with everything compiled until then.
import { isAscii } from 'node:buffer';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';

const OUT = path.resolve(import.meta.dirname, '../out/cli');
const ENTRY = 'mooring.cjs';
/** The bundles run with a code cache, by the name the command tree requires them with. */
const CACHED_BUNDLES = new Map([['./mooring-engine.cjs', 'mooring-engine.cjs']]);

/** Writes under a temporary name and renames: a process starting meanwhile sees all of it or none. */
function writeAtomically(file, data) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

/** The command word of this run (`status`, `sync`, …), skipping `--home DIR` and `--engine NAME`; `help` when there is none. */
function commandOf(argv) {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--home' || argv[i] === '--engine') i++;
    else if (!argv[i].startsWith('-')) return argv[i];
  }
  return 'help';
}

function readOrNull(file, encoding) {
  try {
    return fs.readFileSync(file, encoding);
  } catch {
    return null;
  }
}

/**
 * A bundle's text, and a stamp of the file it was read from (size, modification time, inode: a build
 * writes each bundle anew and renames it into place). The build writes bundles in ASCII
 * (scripts/build-cli.mjs), and Node 20 decodes ASCII as latin1 in under a millisecond where its UTF-8
 * path took 35-80 ms for the 3 MB engine bundle. A bundle that is not ASCII (built by something else)
 * is read as UTF-8.
 */
function readSource(file) {
  let fd;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const st = fs.fstatSync(fd);
    const bytes = fs.readFileSync(fd);
    return {
      code: bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8'),
      stamp: `${st.size}:${st.mtimeMs}:${st.ino}`,
    };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * What a bundle's code cache was saved for: the bundle's stamp, and the commands after whose run it
 * was saved. V8 checks a cache against the source's length only: a cache of another bundle of the same
 * length would be taken, and run that bundle's compiled functions. So a cache whose stamp is not this
 * bundle's is not used, and is made again.
 */
function cacheInfo(file) {
  try {
    const info = JSON.parse(readOrNull(file, 'utf8') ?? 'null');
    return info && typeof info.stamp === 'string' && Array.isArray(info.commands) ? info : null;
  } catch {
    return null;
  }
}

class MissingBundle extends Error {}

/** Bundles this process ran, by file name: their exports, and what is needed to save their cache. */
const loaded = new Map();

function runBundle(name) {
  const done = loaded.get(name);
  if (done) return done.exports;
  const file = path.join(OUT, name);
  const source = readSource(file);
  if (source === null) throw new MissingBundle(`${file} is missing: run \`npm run build\` first.`);
  const { code, stamp } = source;
  const cacheFile = file.replace(/\.cjs$/, '.v8cache');
  const info = cacheInfo(`${cacheFile}.json`);
  const cachedData = (info?.stamp === stamp && readOrNull(cacheFile)) || undefined;
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${code}\n})`, {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
  });
  const nodeRequire = createRequire(file);
  const bundleRequire = Object.assign(
    (id) => (CACHED_BUNDLES.has(id) ? runBundle(CACHED_BUNDLES.get(id)) : nodeRequire(id)),
    nodeRequire,
  );
  const module = { exports: {} };
  const entry = {
    exports: module.exports,
    script,
    cacheFile,
    stamp,
    covered: !cachedData || script.cachedDataRejected ? [] : info.commands,
  };
  // Before it runs: a bundle that requires this one while it loads gets the same (partial) exports.
  loaded.set(name, entry);
  script.runInThisContext()(module.exports, bundleRequire, module, file, OUT);
  entry.exports = module.exports;
  return module.exports;
}

/** After the command ran, so each cache also holds the functions it compiled on the way. */
function saveCodeCaches(command) {
  for (const { script, cacheFile, stamp, covered } of loaded.values()) {
    if (covered.includes(command)) continue;
    try {
      writeAtomically(cacheFile, script.createCachedData());
      writeAtomically(`${cacheFile}.json`, JSON.stringify({ stamp, commands: [...covered, command] }));
    } catch {
      // Only a cache (a read-only install, say): the next start compiles again.
    }
  }
}

async function runBundles() {
  try {
    const exitCode = await runBundle(ENTRY).main(process.argv);
    saveCodeCaches(commandOf(process.argv.slice(2)));
    return exitCode;
  } catch (err) {
    if (!(err instanceof MissingBundle)) throw err;
    process.stderr.write(`mooring: ${err.message}\n`);
    return 1;
  }
}

async function runSources() {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../electron/cli/main.ts');
  return main(process.argv);
}

process.exitCode = process.env.MOORING_CLI === 'tsx' ? await runSources() : await runBundles();
