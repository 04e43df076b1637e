// Watches a git dir's refs on disk, so that a commit to a local source (or a `mooring fetch` into a
// mirror, from another process) is noticed within a second instead of at the next poll. Git moves a
// ref by writing `NAME.lock` and renaming it over NAME, HEAD and packed-refs the same way: a rename of
// HEAD, packed-refs or anything below refs/heads/ is the signal. Only branches: Mooring's own deploy
// notes (refs/notes/mooring, written after every run) must not look like a new commit. Polling stays the safety net: a file system that
// does not report changes (some network mounts) only makes this slower, never wrong.
import fs from 'node:fs';
import path from 'node:path';

export interface RefWatcher {
  close(): void;
}

export function watchRefs(gitdir: string, onChange: () => void, settleMs = 50): RefWatcher {
  let timer: NodeJS.Timeout | null = null;
  const changed = (file: string | null): void => {
    // Lock files come and go during an update; the rename onto the ref itself is what counts.
    if (file?.endsWith('.lock')) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      onChange();
    }, settleMs);
    timer.unref();
  };
  /** Watches one folder; `counts` says whether an entry's event is a ref change. */
  const watch = (target: string, counts: (f: string | null) => boolean): fs.FSWatcher | null => {
    try {
      const w = fs.watch(target, { persistent: false }, (_event, file) => {
        const name = typeof file === 'string' ? file : null;
        if (counts(name)) changed(name);
      });
      // A folder removed under the watcher (repo deleted) ends the watch; polling reports the rest.
      w.on('error', () => undefined);
      return w;
    } catch {
      // No such folder (yet): polling covers it.
      return null;
    }
  };
  // Branch refs: every folder below refs/heads watched on its own, not with `recursive: true`, which on
  // Linux (Node 20) watches each file: git replaces a ref's file at every commit, and after the first
  // the watch was on a file that no longer existed (measured: 6 of 10 kinds of ref update missed).
  // A folder made later (a first branch named feature/…) is found when its parent changes. One git
  // removed (its last branch deleted) and made again (`branch -D` then `checkout -b` in the same
  // folder) is another folder under the same name, possibly before the parent's event is handled on a
  // loaded machine, and possibly with the same inode: so at each event of a folder its subfolders are
  // watched anew (a few watches; whatever moved meanwhile is read by the change that follows).
  const folders = new Map<string, fs.FSWatcher>();
  const watchFolder = (dir: string): void => {
    if (folders.has(dir)) return;
    const w = watch(dir, () => {
      scan(dir);
      return true;
    });
    if (!w) return;
    folders.set(dir, w);
    scan(dir);
  };
  const scan = (dir: string): void => {
    for (const [folder, w] of folders) {
      if (path.dirname(folder) === dir) {
        w.close();
        folders.delete(folder);
      }
    }
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) watchFolder(path.join(dir, e.name));
  };
  const topLevel = new Set(['HEAD', 'HEAD.lock', 'packed-refs', 'packed-refs.lock']);
  const top = watch(gitdir, (f) => f === null || topLevel.has(f));
  watchFolder(path.join(gitdir, 'refs', 'heads'));
  return {
    close: () => {
      if (timer) clearTimeout(timer);
      top?.close();
      for (const w of folders.values()) w.close();
      folders.clear();
    },
  };
}
