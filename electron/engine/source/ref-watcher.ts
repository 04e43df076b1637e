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
  const watchers: fs.FSWatcher[] = [];
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
  const watch = (target: string, recursive: boolean, filter: (f: string | null) => boolean): void => {
    try {
      const w = fs.watch(target, { recursive, persistent: false }, (_event, file) => {
        const name = typeof file === 'string' ? file : null;
        if (filter(name)) changed(name);
      });
      // A folder removed under the watcher (repo deleted) ends the watch; polling reports the rest.
      w.on('error', () => undefined);
      watchers.push(w);
    } catch {
      // No such folder (yet): polling covers it.
    }
  };
  const topLevel = new Set(['HEAD', 'HEAD.lock', 'packed-refs', 'packed-refs.lock']);
  watch(gitdir, false, (f) => f === null || topLevel.has(f));
  watch(path.join(gitdir, 'refs', 'heads'), true, () => true);
  return {
    close: () => {
      if (timer) clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
