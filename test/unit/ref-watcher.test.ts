// The ref watcher (source/ref-watcher.ts) on a real folder: a branch folder removed and made again
// before the watcher hears of it (what `git branch -D feature/x; git checkout -b feature/y` does on a
// loaded machine) is a new folder, and a ref written in it later must still be seen.
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, it } from 'vitest';
import { watchRefs, type RefWatcher } from '../../electron/engine/source/ref-watcher.ts';

let watcher: RefWatcher | null = null;
let dir: string | null = null;
afterEach(() => {
  watcher?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Resolves at the next change the watcher reports, or says what was not seen. */
function nextChange(changes: { n: number }, what: string): Promise<void> {
  const start = changes.n;
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 5_000;
    const tick = setInterval(() => {
      if (changes.n > start) {
        clearInterval(tick);
        resolve();
      } else if (Date.now() > deadline) {
        clearInterval(tick);
        reject(new Error(`not seen: ${what}`));
      }
    }, 10);
  });
}

/** A ref written as git writes it: NAME.lock, renamed over NAME. */
function writeRef(file: string, oid: string): void {
  writeFileSync(`${file}.lock`, `${oid}\n`);
  renameSync(`${file}.lock`, file);
}

it('a branch folder removed and made again before its event is watched anew', async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mooring-refs-'));
  const heads = path.join(dir, 'refs', 'heads');
  mkdirSync(path.join(heads, 'feature'), { recursive: true });
  writeFileSync(path.join(dir, 'HEAD'), 'ref: refs/heads/main\n');
  writeRef(path.join(heads, 'main'), 'a'.repeat(40));
  writeRef(path.join(heads, 'feature', 'x'), 'b'.repeat(40));
  const changes = { n: 0 };
  watcher = watchRefs(dir, () => changes.n++, 20);

  writeRef(path.join(heads, 'feature', 'x'), 'c'.repeat(40));
  await nextChange(changes, 'a ref in the folder');

  // Removed and made again in one go: the watcher hears of it only afterwards.
  const removed = nextChange(changes, 'the folder made again');
  rmSync(path.join(heads, 'feature'), { recursive: true });
  mkdirSync(path.join(heads, 'feature'));
  writeRef(path.join(heads, 'feature', 'y'), 'd'.repeat(40));
  await removed;
  await new Promise((r) => setTimeout(r, 100)); // the events of that burst are over

  writeRef(path.join(heads, 'feature', 'y'), 'e'.repeat(40));
  await nextChange(changes, 'a commit in the folder made again');
});
