// `npm run lint`'s import check: no import cycle anywhere in our TypeScript, and the layers of STYLE.md
// and docs/architecture.md that hold today. Type-only imports count: a cycle of types still ties two
// modules together (issue 12: electron/cli/main.ts and its command files imported each other for `Io`).
// Prints each cycle and each crossing, and exits 1 if there is any.
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(import.meta.dirname, '..');
const DIRS = ['electron', 'renderer/src', 'test', 'scripts'];

/** Which folders a layer may import from (besides itself); `null` means anything. */
const LAYERS = [
  // The API contract: imported by every side, imports none of them.
  { layer: 'electron/shared/', may: ['electron/shared/'] },
  // The UI reaches the engine only through the contract (and the preload's bridge at run time).
  { layer: 'renderer/', may: ['renderer/', 'electron/shared/'] },
  // Plain Node, below every adapter: none of main, preload, cli, server.
  { layer: 'electron/engine/', may: ['electron/engine/', 'electron/shared/'] },
];
/** Package imports a layer may not make. */
const FORBIDDEN_PACKAGES = [
  { layer: 'electron/engine/', name: 'electron' },
  { layer: 'electron/shared/', name: 'electron' },
  { layer: 'electron/cli/', name: 'electron' },
  { layer: 'renderer/', name: 'electron' },
];

function sourceFiles(dir) {
  const out = [];
  for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'fixtures') out.push(...sourceFiles(rel));
    } else if (/\.(?:ts|tsx|mts)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** The file a relative specifier names, as a path from ROOT; null for packages and node: modules. */
function resolve(from, specifier) {
  if (!specifier.startsWith('.')) return null;
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  const candidates = [base, base.replace(/\.js$/, '.ts'), `${base}.ts`, `${base}.tsx`, `${base}/index.ts`];
  return candidates.find(
    (c) => fs.existsSync(path.join(ROOT, c)) && fs.statSync(path.join(ROOT, c)).isFile(),
  );
}

const files = DIRS.flatMap(sourceFiles);
const graph = new Map();
const problems = [];
for (const file of files) {
  const { importedFiles } = ts.preProcessFile(fs.readFileSync(path.join(ROOT, file), 'utf8'), true, true);
  const targets = [];
  for (const { fileName } of importedFiles) {
    const target = resolve(file, fileName);
    if (target) targets.push(target);
    const layer = LAYERS.find((l) => file.startsWith(l.layer));
    if (target && layer && !layer.may.some((m) => target.startsWith(m)))
      problems.push(`${file} imports ${target}: ${layer.layer} may import only ${layer.may.join(', ')}`);
    const pkg = FORBIDDEN_PACKAGES.find((p) => file.startsWith(p.layer) && fileName === p.name);
    if (pkg) problems.push(`${file} imports '${pkg.name}': ${pkg.layer} is plain Node`);
  }
  graph.set(file, targets);
}

// Tarjan's strongly connected components: every component of more than one file is a cycle (and a
// file importing itself is one too).
let index = 0;
const state = new Map();
const stack = [];
function visit(file) {
  const s = { index, low: index, onStack: true };
  index++;
  state.set(file, s);
  stack.push(file);
  for (const next of graph.get(file) ?? []) {
    const t = state.get(next);
    if (!t) {
      visit(next);
      s.low = Math.min(s.low, state.get(next).low);
    } else if (t.onStack) s.low = Math.min(s.low, t.index);
  }
  if (s.low !== s.index) return;
  const component = [];
  let member;
  do {
    member = stack.pop();
    state.get(member).onStack = false;
    component.push(member);
  } while (member !== file);
  if (component.length > 1 || (graph.get(file) ?? []).includes(file))
    cycles.push(component.sort().join(', '));
}
const cycles = [];
for (const file of files) if (!state.has(file)) visit(file);
for (const cycle of cycles) problems.push(`import cycle among: ${cycle}`);

for (const p of problems) console.error(p);
if (problems.length) {
  console.error(`${problems.length} import problem(s): see scripts/check-imports.mjs for the rules.`);
  process.exit(1);
}
