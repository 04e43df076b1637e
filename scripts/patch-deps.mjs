// Runs after `npm ci` / `npm install` (the "postinstall" script): one measured fix to a dependency.
//
// isomorphic-git hashes every git object with `crypto.subtle.digest` wherever that exists. In the
// browser that was its fast path; in Node 20 it is an asynchronous job on the thread pool per object,
// and mirroring a 10,000-commit repo spent most of its time waiting on them (4.8 s; 2.1 s with Node's
// synchronous SHA-1, which isomorphic-git already has as its fallback: docs/benchmarks.md). The same
// hash either way, so this only makes it take its fallback. Idempotent; if a new version of the file
// no longer has the line, it says so and changes nothing.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const FROM = '    supportsSubtleSHA1 = await testSubtleSHA1();';
const TO = '    supportsSubtleSHA1 = false; // mooring: scripts/patch-deps.mjs (Node: synchronous SHA-1)';

for (const file of ['index.cjs', 'index.js'].map((f) => path.join(ROOT, 'node_modules/isomorphic-git', f))) {
  if (!existsSync(file)) continue;
  const text = readFileSync(file, 'utf8');
  if (text.includes(TO)) continue;
  if (!text.includes(FROM)) {
    console.warn(`patch-deps: ${path.relative(ROOT, file)} has changed; its SHA-1 is left as it is`);
    continue;
  }
  writeFileSync(file, text.replace(FROM, TO));
}
