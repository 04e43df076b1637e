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
//
// Anything that fails here (no esbuild, a read-only node_modules) returns null: the caller runs the
// sources through tsx as before. MOORING_CLI=tsx forces that path.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = path.resolve(import.meta.dirname, '..');
const ENTRY = path.join(ROOT, 'electron/cli/main.ts');
const CACHE = path.join(ROOT, 'node_modules/.cache/mooring-cli');
const BUNDLE = path.join(CACHE, 'cli.mjs');
const STAMP = path.join(CACHE, 'cli.json');
const INSTALL = path.join(ROOT, 'node_modules/.package-lock.json');
const FORMAT = 1;
const EXTERNAL = ['better-sqlite3', 'electron', 'ssh2', 'cpu-features'];

function signature(file) {
  const s = fs.statSync(file);
  return `${s.size}:${s.mtimeMs}`;
}

/** The bundle's path when it was built from exactly the files that are there now, else null. */
function freshBundle() {
  try {
    const stamp = JSON.parse(fs.readFileSync(STAMP, 'utf8'));
    if (stamp.format !== FORMAT || stamp.root !== ROOT) return null;
    for (const [file, sig] of Object.entries(stamp.inputs)) if (signature(file) !== sig) return null;
    return BUNDLE;
  } catch {
    return null;
  }
}

/** esbuild plugin: each file sees its own location, not the bundle's. */
const originalLocations = {
  name: 'original-locations',
  setup(build) {
    build.onLoad({ filter: /\.(?:[cm]?js|ts)$/ }, async (args) => {
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

async function buildBundle() {
  const esbuild = await import('esbuild');
  const started = Date.now();
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: EXTERNAL,
    // CommonJS dependencies call require(); an ES module has none of its own.
    banner: {
      js: `import { createRequire as __mooringRequire } from 'node:module'; const require = __mooringRequire(${JSON.stringify(ENTRY)});`,
    },
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
  // The old stamp must not vouch for the new bundle. Each file is written under a temporary name and
  // renamed: another process starting meanwhile sees a whole bundle, never half of one.
  fs.rmSync(STAMP, { force: true });
  const tmp = `${BUNDLE}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, result.outputFiles[0].contents);
  fs.renameSync(tmp, BUNDLE);
  if (settled) {
    fs.writeFileSync(`${STAMP}.${process.pid}.tmp`, JSON.stringify({ format: FORMAT, root: ROOT, inputs }));
    fs.renameSync(`${STAMP}.${process.pid}.tmp`, STAMP);
  }
  return BUNDLE;
}

/** The CLI's main(), from the bundle (built if needed), or null when the bundle cannot be had. */
export async function loadBundledCli() {
  if (process.env.MOORING_CLI === 'tsx') return null;
  try {
    const bundle = freshBundle() ?? (await buildBundle());
    return (await import(pathToFileURL(bundle).href)).main;
  } catch (err) {
    if (process.env.MOORING_DEBUG)
      process.stderr.write(`mooring: bundled CLI unavailable (${err}); using tsx\n`);
    return null;
  }
}
