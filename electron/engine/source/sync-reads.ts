// The read calls isomorphic-git makes, done synchronously under a promise. Each object read (or, in a
// work tree walk, each file) costs it a few small file operations; as async calls each waits for a
// thread-pool round trip, which made log() of 1,000 commits take seconds and a work tree walk twice as
// long. Both file systems handed to isomorphic-git (git-source.ts, worktree.ts) read through these.
import fs from 'node:fs';

function sync<T>(read: () => T): Promise<T> {
  try {
    return Promise.resolve(read());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

export const syncReads = {
  readFile: (file: string, options?: BufferEncoding | { encoding?: BufferEncoding | null }) =>
    sync(() => fs.readFileSync(file, options)),
  readdir: (dir: string) => sync(() => fs.readdirSync(dir)),
  stat: (file: string) => sync(() => fs.statSync(file)),
  lstat: (file: string) => sync(() => fs.lstatSync(file)),
  readlink: (file: string) => sync(() => fs.readlinkSync(file)),
};
