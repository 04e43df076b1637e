// Builds the `mooring` CLI into out/cli/, which bin/mooring.mjs runs. Part of `npm run build`, and of
// the install step (postinstall), so a fresh clone has a working CLI after `npm ci`; the tests build it
// again before they run (test/helpers/build-cli.ts), so they never run a stale one.
//
// Why bundles: running the TypeScript sources through tsx costs about a second before any work, since
// every one of a few hundred modules (ours and node_modules') goes through its loader; a bundle loads
// in a fraction of it (issue 6, docs/benchmarks.md). Why at build time: bundling on the first run meant
// a bundler and tsx at run time, and a stamp of every source file checked at each start (issue 12).
//
// Why three files:
//   mooring.cjs          the command tree (electron/cli/main.ts and the command files) and commander:
//                        parsing, help and usage errors. About 150 kB.
//   mooring-engine.cjs   electron/cli/engine-side.ts: the engine, dockerode, isomorphic-git, the zod
//                        schemas (about 3 MB), required by the first command that opens the engine.
//                        Loading it at start was three quarters of `mooring --help` (docs/benchmarks.md,
//                        cli-start). esbuild cannot split a CommonJS build, so it is a build of its own.
//   mooring-errors.cjs   electron/engine/errors.ts alone, required by both: the command tree throws
//                        MooringError and maps the engine's errors to exit codes with `instanceof`, which
//                        holds only if both bundles share one class.
// The command tree may bundle nothing else of the engine nor any package but commander: the build fails
// if it does (an import added to main.ts at the top would otherwise quietly bring the engine back into
// every start).
//
// CommonJS, so that bin/mooring.mjs can run the two big ones through vm.Script with V8's code cache
// (Node 20 has no compile cache for modules). Native modules (better-sqlite3) and optional native ones
// stay external. `import.meta.dirname` becomes the bundle's own folder: out/cli/ sits two levels below
// the package root, as electron/cli/ does, so paths relative to it (serve's out/renderer) hold from
// either.
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const OUT = path.join(ROOT, 'out/cli');
/** The bundle bin/mooring.mjs starts: the command tree. */
export const BUNDLE = path.join(OUT, 'mooring.cjs');
/** The engine side, and the module both share, as the command tree requires them (beside it). */
const ENGINE_BUNDLE = './mooring-engine.cjs';
const ERRORS_BUNDLE = './mooring-errors.cjs';
const ENGINE_SIDE = path.join(ROOT, 'electron/cli/engine-side.ts');
const ERRORS = path.join(ROOT, 'electron/engine/errors.ts');
/** What the command tree may bundle besides electron/cli and electron/shared: pure, with no imports. */
const COMMAND_TREE_MAY_BUNDLE = ['electron/engine/source/url-credentials.ts'];
const COMMAND_TREE_PACKAGES = ['commander'];
// openpgp: about 400 kB that only a source verifying OpenPGP signatures loads (source/signatures.ts).
const EXTERNAL = ['better-sqlite3', 'electron', 'ssh2', 'cpu-features', 'openpgp'];

/**
 * Modules each exporting one function that few commands call, loaded from node_modules on the first
 * call instead of at every start: dockerode's BuildKit session (gRPC and protobuf, ~30 ms) and
 * docker-modem's ssh transport (ssh2, ~40 ms). gRPC also reads .proto files beside itself, which only
 * works from node_modules.
 */
const LAZY_FUNCTIONS = ['dockerode/lib/session.js', 'docker-modem/lib/ssh.js'];
/** Required only inside a function already, and reads .proto files beside itself: left in node_modules. */
const LEFT_IN_NODE_MODULES = ['dockerode/lib/buildkit.js'];

const packagePath = (file) => {
  const i = file.lastIndexOf(`node_modules${path.sep}`);
  return i < 0
    ? null
    : file
        .slice(i + 'node_modules/'.length)
        .split(path.sep)
        .join('/');
};

const fromNodeModules = {
  name: 'from-node-modules',
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/].*\.js$/ }, (args) => {
      const id = packagePath(args.path);
      if (!LAZY_FUNCTIONS.includes(id)) return undefined;
      const real = JSON.stringify(id);
      return {
        contents: `module.exports = function () { return require(${real}).apply(this, arguments); };`,
      };
    });
    build.onResolve({ filter: /^\.\/buildkit$/ }, (args) => {
      const id = packagePath(path.join(args.resolveDir, 'buildkit.js'));
      return LEFT_IN_NODE_MODULES.includes(id) ? { path: id, external: true } : undefined;
    });
    // The lazy stubs' own require() of the real module must not be bundled back in.
    build.onResolve({ filter: /^(?:dockerode|docker-modem)\/lib\// }, (args) =>
      LAZY_FUNCTIONS.includes(args.path) ? { path: args.path, external: true } : undefined,
    );
  },
};

/** The file an import names, with the `.ts` the sources leave out at times. */
const target = (args) => {
  const file = path.resolve(args.resolveDir, args.path);
  return file.endsWith('.ts') ? file : `${file}.ts`;
};

/** Imports of `file` become a require of `bundle`, beside the requiring one. */
const requireOf = (name, file, bundle) => ({
  name,
  setup(build) {
    const base = path.basename(file, '.ts');
    build.onResolve({ filter: new RegExp(`/${base}(?:\\.ts)?$`) }, (args) =>
      target(args) === file ? { path: bundle, external: true } : undefined,
    );
  },
});

const sharedErrors = requireOf('shared-errors', ERRORS, ERRORS_BUNDLE);

/** Everything a build's output bundled, as paths from ROOT (node_modules' as `node_modules/<package>/…`). */
function bundled(metafile) {
  return Object.keys(metafile.inputs).map((input) => {
    const file = path.resolve(ROOT, input);
    return packagePath(file) !== null ? `node_modules/${packagePath(file)}` : path.relative(ROOT, file);
  });
}

/** Fails when the command tree bundled more than parsing and help need (see the top of this file). */
function checkCommandTree(metafile) {
  const extra = bundled(metafile).filter((input) => {
    if (input.startsWith('node_modules/'))
      return !COMMAND_TREE_PACKAGES.some((p) => input.startsWith(`node_modules/${p}/`));
    if (input.startsWith('electron/cli/') || input.startsWith('electron/shared/')) return false;
    return !COMMAND_TREE_MAY_BUNDLE.includes(input);
  });
  if (extra.length > 0) {
    throw new Error(
      `out/cli/mooring.cjs (the command tree) bundled ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? `, and ${extra.length - 5} more` : ''}: ` +
        'every start would load it. Reach the engine through loadEngineSide() (electron/cli/engine-loader.ts) ' +
        'inside the command that needs it, or import it as a type.',
    );
  }
}

const common = {
  absWorkingDir: ROOT,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: EXTERNAL,
  define: { 'import.meta.dirname': '__dirname', 'import.meta.filename': '__filename' },
  // An `import()` of another bundle must become a require(): bin/mooring.mjs runs the command tree
  // through vm.Script, where a real import() has no loader to call.
  supported: { 'dynamic-import': false },
  write: false,
  logLevel: 'warning',
};

/**
 * A bundle's text in ASCII: esbuild escapes strings already, but leaves comments and regular
 * expressions as written (`µs`, `—`, `…`). Each other UTF-16 unit becomes `\uXXXX`, which means the
 * same character in a comment, a string, a regular expression (with or without the u flag, a
 * surrogate pair of escapes is one code point) and an identifier. bin/mooring.mjs then reads the
 * bundle as latin1: Node 20 decoded the 3 MB engine bundle as UTF-8 in 35-80 ms, as latin1 in < 1 ms.
 */
export function asciiOnly(text) {
  return text.replace(/[^\0-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Writes a bundle under a temporary name, then renames it: a CLI starting meanwhile (or a parallel
 * build) sees all of one file or all of the other. The code cache of an old bundle is not used (it
 * names the bundle it was made for: bin/mooring.mjs) and is made again.
 */
function writeBundle(file, output) {
  const contents = asciiOnly(output.text);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, contents);
  fs.renameSync(tmp, file);
}

export async function buildCli() {
  const [errors, engine, commands] = await Promise.all([
    esbuild.build({ ...common, entryPoints: [ERRORS], outfile: path.join(OUT, ERRORS_BUNDLE) }),
    esbuild.build({
      ...common,
      entryPoints: [ENGINE_SIDE],
      plugins: [fromNodeModules, sharedErrors],
      outfile: path.join(OUT, ENGINE_BUNDLE),
    }),
    esbuild.build({
      ...common,
      entryPoints: [path.join(ROOT, 'electron/cli/main.ts')],
      plugins: [sharedErrors, requireOf('engine-side', ENGINE_SIDE, ENGINE_BUNDLE)],
      metafile: true,
      outfile: BUNDLE,
    }),
  ]);
  checkCommandTree(commands.metafile);
  fs.mkdirSync(OUT, { recursive: true });
  // The command tree last: until it is written, a CLI that starts runs the previous one.
  writeBundle(path.join(OUT, ERRORS_BUNDLE), errors.outputFiles[0]);
  writeBundle(path.join(OUT, ENGINE_BUNDLE), engine.outputFiles[0]);
  writeBundle(BUNDLE, commands.outputFiles[0]);
}

if (process.argv[1] === import.meta.filename) await buildCli();
