// bin/mooring.mjs runs the CLI's bundles with V8's code cache kept beside each. V8 checks a cache
// against the length of the source only: a bundle rebuilt (or upgraded) to the same length took the old
// bundle's cache, and ran the old bundle's compiled functions. Found when a two-line swap in the engine
// bundle kept running the old order. Here, on a tree of bin/mooring.mjs and a one-function bundle, the
// bundle is replaced by one of the same length that says something else: the new one must run.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '../../bin/mooring.mjs');
const bundle = (word: string): string =>
  `exports.main = async () => { process.stdout.write(${JSON.stringify(`${word}\n`)}); return 0; };\n`;

describe("the CLI's code cache", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'mooring-codecache-'));
    await mkdir(path.join(root, 'bin'));
    await mkdir(path.join(root, 'out/cli'), { recursive: true });
    await copyFile(BIN, path.join(root, 'bin/mooring.mjs'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** Writes the bundle as the build does: a new file renamed into place. */
  const build = async (word: string): Promise<void> => {
    const tmp = path.join(root, 'out/cli/mooring.cjs.tmp');
    await writeFile(tmp, bundle(word));
    await rename(tmp, path.join(root, 'out/cli/mooring.cjs'));
  };
  const mooring = async (): Promise<string> =>
    (await run(process.execPath, [path.join(root, 'bin/mooring.mjs'), 'status'])).stdout;

  it('runs the bundle that is there, not the one its cache was made from', async () => {
    expect(bundle('alpha').length).toBe(bundle('omega').length);
    await build('alpha');
    expect(await mooring()).toBe('alpha\n');
    // The run left a cache, and a second run takes it.
    expect((await readdir(path.join(root, 'out/cli'))).sort()).toEqual([
      'mooring.cjs',
      'mooring.v8cache',
      'mooring.v8cache.json',
    ]);
    expect(await mooring()).toBe('alpha\n');

    await build('omega');
    expect(await mooring()).toBe('omega\n');
    expect(await mooring()).toBe('omega\n');
  });
});
