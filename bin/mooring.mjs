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
 * A bundle's text. The build writes bundles in ASCII (scripts/build-cli.mjs), and Node 20 decodes
 * ASCII as latin1 in under a millisecond where its UTF-8 path took 35-80 ms for the 3 MB engine bundle.
 * A bundle that is not ASCII (built by something else) is read as UTF-8.
 */
function readSource(file) {
  const bytes = readOrNull(file);
  if (bytes === null) return null;
  return bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8');
}

/** The commands whose run a bundle's code cache was saved after. */
function coveredCommands(file) {
  try {
    const list = JSON.parse(readOrNull(file, 'utf8') ?? '[]');
    return Array.isArray(list) ? list : [];
  } catch {
    return [];
  }
}

class MissingBundle extends Error {}

/** Bundles this process ran, by file name: their exports, and what is needed to save their cache. */
const loaded = new Map();

function runBundle(name) {
  const done = loaded.get(name);
  if (done) return done.exports;
  const file = path.join(OUT, name);
  const code = readSource(file);
  if (code === null) throw new MissingBundle(`${file} is missing: run \`npm run build\` first.`);
  const cacheFile = file.replace(/\.cjs$/, '.v8cache');
  const cachedData = readOrNull(cacheFile) ?? undefined;
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
    covered: !cachedData || script.cachedDataRejected ? [] : coveredCommands(`${cacheFile}.json`),
  };
  // Before it runs: a bundle that requires this one while it loads gets the same (partial) exports.
  loaded.set(name, entry);
  script.runInThisContext()(module.exports, bundleRequire, module, file, OUT);
  entry.exports = module.exports;
  return module.exports;
}

/** After the command ran, so each cache also holds the functions it compiled on the way. */
function saveCodeCaches(command) {
  for (const { script, cacheFile, covered } of loaded.values()) {
    if (covered.includes(command)) continue;
    try {
      writeAtomically(cacheFile, script.createCachedData());
      writeAtomically(`${cacheFile}.json`, JSON.stringify([...covered, command]));
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
