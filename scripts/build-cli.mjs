// Builds the `mooring` CLI into one file, out/cli/mooring.cjs, that bin/mooring.mjs runs. Part of
// `npm run build`, and of the install step (postinstall), so a fresh clone has a working CLI after
// `npm ci`; the tests build it again before they run (test/helpers/build-cli.ts), so they never run a
// stale one.
//
// Why a bundle: running the TypeScript sources through tsx costs about a second before any work, since
// every one of a few hundred modules (ours and node_modules') goes through its loader; one file loads
// in a fraction of it (issue 6, docs/benchmarks.md). Why at build time: bundling on the first run meant
// a bundler and tsx at run time, and a stamp of every source file checked at each start (issue 12).
//
// CommonJS, so that bin/mooring.mjs can run it through vm.Script with V8's code cache (Node 20 has no
// compile cache for modules). Native modules (better-sqlite3) and optional native ones stay external.
// `import.meta.dirname` becomes the bundle's own folder: out/cli/ sits two levels below the package
// root, as electron/cli/ does, so paths relative to it (serve's out/renderer) hold from either.
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
export const BUNDLE = path.join(ROOT, 'out/cli/mooring.cjs');
const EXTERNAL = ['better-sqlite3', 'electron', 'ssh2', 'cpu-features'];

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

export async function buildCli() {
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [path.join(ROOT, 'electron/cli/main.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: EXTERNAL,
    define: { 'import.meta.dirname': '__dirname', 'import.meta.filename': '__filename' },
    plugins: [fromNodeModules],
    write: false,
    logLevel: 'warning',
    outfile: BUNDLE,
  });
  fs.mkdirSync(path.dirname(BUNDLE), { recursive: true });
  // Under a temporary name, then renamed: a CLI starting meanwhile (or a parallel build) sees all of
  // one bundle or all of the other. The code cache of the old bundle is rejected by V8 and made again.
  const tmp = `${BUNDLE}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, result.outputFiles[0].contents);
  fs.renameSync(tmp, BUNDLE);
}

if (process.argv[1] === import.meta.filename) await buildCli();
