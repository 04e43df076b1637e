#!/usr/bin/env node
// The `mooring` command: runs the CLI that `npm run build` (and `npm ci`, through postinstall) bundled
// into out/cli/mooring.cjs (scripts/build-cli.mjs says why it is one file). MOORING_CLI=tsx runs the
// TypeScript sources through tsx instead: a development aid, since tsx is a dev dependency.
//
// The bundle runs through vm.Script with V8's code cache kept beside it: compiling 3 MB of JavaScript
// was a fifth of the start (Node 20 has no compile cache for modules of its own). V8 compiles a
// function when it first runs, and a cache holds what was compiled before it was made: one made after
// `--help` leaves the compose parser out, and every `status` compiled it again (15-60 ms of a
// 100-service status, docs/benchmarks.md). So the cache is made again after the first run of each
// command, with everything compiled until then.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';

const OUT = path.resolve(import.meta.dirname, '../out/cli');
const BUNDLE = path.join(OUT, 'mooring.cjs');
const CODE_CACHE = path.join(OUT, 'mooring.v8cache');
/** The commands whose run the code cache was saved after. */
const CODE_CACHE_COMMANDS = path.join(OUT, 'mooring.v8cache.json');

/** Writes under a temporary name and renames: a process starting meanwhile sees all of it or none. */
function writeAtomically(file, data) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

/** The command word of this run (`status`, `sync`, …), skipping `--home DIR`; `help` when there is none. */
function commandOf(argv) {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--home') i++;
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

function coveredCommands() {
  try {
    const list = JSON.parse(readOrNull(CODE_CACHE_COMMANDS, 'utf8') ?? '[]');
    return Array.isArray(list) ? list : [];
  } catch {
    return [];
  }
}

async function runBundle() {
  const code = readOrNull(BUNDLE, 'utf8');
  if (code === null) {
    process.stderr.write(`mooring: ${BUNDLE} is missing: run \`npm run build\` first.\n`);
    return 1;
  }
  const cachedData = readOrNull(CODE_CACHE) ?? undefined;
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${code}\n})`, {
    filename: BUNDLE,
    ...(cachedData ? { cachedData } : {}),
  });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(BUNDLE), module, BUNDLE, OUT);
  const covered = !cachedData || script.cachedDataRejected ? [] : coveredCommands();
  const exitCode = await module.exports.main(process.argv);
  // After the command ran, so the cache also holds the functions it compiled on the way.
  const command = commandOf(process.argv.slice(2));
  if (!covered.includes(command)) {
    try {
      writeAtomically(CODE_CACHE, script.createCachedData());
      writeAtomically(CODE_CACHE_COMMANDS, JSON.stringify([...covered, command]));
    } catch {
      // Only a cache (a read-only install, say): the next start compiles again.
    }
  }
  return exitCode;
}

async function runSources() {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../electron/cli/main.ts');
  return main(process.argv);
}

process.exitCode = process.env.MOORING_CLI === 'tsx' ? await runSources() : await runBundle();
