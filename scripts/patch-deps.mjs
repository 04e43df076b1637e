// Runs after `npm ci` / `npm install` (the "postinstall" script): measured fixes to isomorphic-git's
// Node build, each the same result by a faster path (docs/benchmarks.md, "Git"). Idempotent; if a new
// version of the file no longer has a patched passage, it says so and leaves that passage as it is.
//
// 1. SHA-1: isomorphic-git hashes every git object with `crypto.subtle.digest` wherever that exists. In
//    the browser that was its fast path; in Node 20 it is an asynchronous job on the thread pool per
//    object, and mirroring a 10,000-commit repo spent most of its time waiting on them (4.8 s; 2.1 s
//    with Node's synchronous SHA-1, which isomorphic-git already has as its fallback).
// 2. Inflating a fetched pack: each object was inflated by a new pako (JavaScript zlib) inflater, whose
//    set-up cost more than the object (30,000 small objects: 0.96 s; Node's zlib, one call per object
//    with an output buffer of the object's stated size: 0.27 s). Node's zlib says how many bytes the
//    object took, which is where the next one starts. An object that goes on past the reader's buffer
//    (never, for the one-buffer pack isomorphic-git passes) or that zlib refuses takes pako's path as
//    before, so a corrupt pack fails as it did.
// 3. Writing the pack index: the fanout table counted, for each of 256 first bytes, every object of
//    the pack (256 × 30,000 parseInt calls, ~0.45 s); one pass over the objects gives the same counts.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const DIR = path.join(ROOT, 'node_modules/isomorphic-git');

const PATCHES = [
  {
    files: ['index.cjs', 'index.js'],
    from: '    supportsSubtleSHA1 = await testSubtleSHA1();',
    to: '    supportsSubtleSHA1 = false; // mooring: scripts/patch-deps.mjs (Node: synchronous SHA-1)',
  },
  {
    // Node's build only: the browser build (index.js) has no zlib.
    files: ['index.cjs'],
    from: `    const { type, length, ofs, reference } = await parseHeader(reader);
    const inflator = new pako.Inflate();`,
    to: `    const { type, length, ofs, reference } = await parseHeader(reader);
    // mooring: scripts/patch-deps.mjs (Node's zlib, one call per object)
    const fast = await inflateObjectWithZlib(reader, length);
    if (fast) {
      await onData({ data: fast.data, type, num: numObjects, offset, end: fast.end, reference, ofs });
      continue
    }
    const inflator = new pako.Inflate();`,
  },
  {
    files: ['index.cjs'],
    from: `async function parseHeader(reader) {`,
    to: `// mooring: scripts/patch-deps.mjs. The object at the reader's cursor, inflated by Node's zlib, and
// the reader moved past it; null (the reader where it was) when zlib cannot finish it in this buffer.
async function inflateObjectWithZlib(reader, length) {
  const chunk = await reader.chunk();
  if (!chunk) return null
  let out;
  try {
    out = require('zlib').inflateSync(chunk, { info: true, chunkSize: Math.max(64, length) });
  } catch (err) {
    await reader.undo();
    return null
  }
  if (out.buffer.length !== length) {
    throw new InternalError(
      \`Inflated object size is different from that stated in packfile.\`
    )
  }
  await reader.undo();
  await reader.read(out.engine.bytesWritten);
  return { data: out.buffer, end: reader.tell() }
}

async function parseHeader(reader) {`,
  },
  {
    files: ['index.cjs', 'index.js'],
    from: `    for (let i = 0; i < 256; i++) {
      let count = 0;
      for (const hash of this.hashes) {
        if (parseInt(hash.slice(0, 2), 16) <= i) count++;
      }
      fanoutBuffer.writeUInt32BE(count);
    }`,
    to: `    // mooring: scripts/patch-deps.mjs (one pass over the objects)
    const byFirstByte = new Array(256).fill(0);
    for (const hash of this.hashes) byFirstByte[parseInt(hash.slice(0, 2), 16)]++;
    for (let i = 0, count = 0; i < 256; i++) {
      count += byFirstByte[i];
      fanoutBuffer.writeUInt32BE(count);
    }`,
  },
];

const texts = new Map();
for (const patch of PATCHES) {
  for (const name of patch.files) {
    const file = path.join(DIR, name);
    if (!existsSync(file)) continue;
    const text = texts.get(file) ?? readFileSync(file, 'utf8');
    if (text.includes(patch.to)) {
      texts.set(file, text);
      continue;
    }
    if (!text.includes(patch.from)) {
      const first = patch.from.trim().split('\n')[0];
      console.warn(`patch-deps: ${path.relative(ROOT, file)} has changed (no "${first}"); left as it is`);
      continue;
    }
    texts.set(file, text.replace(patch.from, patch.to));
  }
}
for (const [file, text] of texts) {
  if (readFileSync(file, 'utf8') !== text) writeFileSync(file, text);
}
