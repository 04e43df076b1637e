// The work tree of a local path source as a revision of its own (issue 17, item 1): the files as they
// are on disk (staged, unstaged and untracked ones that .gitignore does not exclude) turned into git
// objects held in memory, so a preview or a deploy of uncommitted work reads them through the same
// loader, link rules and checks as any commit, and nothing is written to the user's repository.
import { createHash } from 'node:crypto';
import path from 'node:path';
import * as git from 'isomorphic-git';
import type { CommitObject, TreeEntry, WalkerEntry } from 'isomorphic-git';
import type { WorktreeInfo } from '../../shared/model.ts';
import { MooringError } from '../errors.ts';
import { syncReads } from './sync-reads.ts';

/** Objects the work tree has that git's object store may not (changed and untracked files, folders). */
export type WorktreeObject =
  | { type: 'blob'; blob: Uint8Array }
  | { type: 'tree'; tree: TreeEntry[] }
  | { type: 'commit'; commit: CommitObject };

export interface WorktreeSnapshot extends Omit<WorktreeInfo, 'source' | 'dir'> {
  objects: Map<string, WorktreeObject>;
}

export interface WorktreeLimits {
  /** Refuse a work tree with more files than this. */
  maxFiles: number;
  /** Refuse a work tree whose uncommitted files hold more bytes than this (they are held in memory). */
  maxBytes: number;
}

const AUTHOR = { name: 'Mooring work tree', email: 'mooring@localhost', timestamp: 0, timezoneOffset: 0 };

/** Reads only (sync-reads.ts): nothing of the walk may write to the user's repository, its index included. */
const readOnlyFs = {
  promises: {
    ...syncReads,
    writeFile: refuse,
    unlink: refuse,
    mkdir: refuse,
    rmdir: refuse,
    symlink: refuse,
  },
};

function refuse(): Promise<never> {
  return Promise.reject(new Error('a work tree preview writes nothing'));
}

interface FileEntry {
  oid: string;
  mode: string;
}

/**
 * The work tree of `dir` (whose git dir is `gitdir`) as git objects. Files whose content git already
 * holds (unchanged, or staged as they are) are named by their object id; the others are read into
 * memory. Ignored untracked files and folders are left out, as `git add -A` would.
 */
export async function snapshotWorktree(
  dir: string,
  gitdir: string,
  limits: WorktreeLimits,
): Promise<WorktreeSnapshot> {
  const cache = {};
  const head = await git.resolveRef({ fs: readOnlyFs, gitdir, ref: 'HEAD' }).catch(() => null);
  const branch = (await git.currentBranch({ fs: readOnlyFs, gitdir }).catch(() => undefined)) ?? null;
  const files = new Map<string, FileEntry>();
  const objects = new Map<string, WorktreeObject>();
  const changed: WorktreeInfo['changed'] = [];
  let bytes = 0;
  const trees = head
    ? [git.TREE({ ref: head }), git.WORKDIR({ refresh: false }), git.STAGE()]
    : [git.WORKDIR({ refresh: false }), git.STAGE()];
  await git.walk({
    fs: readOnlyFs,
    dir,
    gitdir,
    cache,
    trees,
    map: async (filepath: string, entries: (WalkerEntry | null)[]) => {
      const [inHead, work, staged] = head ? entries : [null, ...entries];
      if (filepath === '.') return true;
      if (path.posix.basename(filepath) === '.git') return null;
      if (!work || (await work.type()) === 'special') {
        if (inHead) changed.push({ path: filepath, change: 'D' });
        return null;
      }
      if (!inHead && !staged && (await git.isIgnored({ fs: readOnlyFs, dir, gitdir, filepath }))) return null;
      // A submodule stays the commit git records for it: its files are another repository's.
      for (const e of [staged, inHead]) {
        if (e && (await e.type()) === 'commit') {
          files.set(filepath, { oid: await e.oid(), mode: '160000' });
          return null;
        }
      }
      if ((await work.type()) === 'tree') return true;
      const mode = (await work.mode()).toString(8);
      const oid = await work.oid();
      const headOid = inHead && (await inHead.type()) === 'blob' ? await inHead.oid() : null;
      if (oid !== headOid || (inHead && (await inHead.mode()).toString(8) !== mode)) {
        changed.push({ path: filepath, change: headOid === null ? 'A' : 'M' });
      }
      if (oid !== headOid && oid !== (staged ? await staged.oid() : null)) {
        const blob = (await work.content())!;
        bytes += blob.byteLength;
        if (bytes > limits.maxBytes) {
          throw new MooringError(
            'usage',
            `The uncommitted files of ${dir} hold more than ${Math.round(limits.maxBytes / 2 ** 20)} MiB (reached at ${filepath}); commit them, or add what is not part of the config to .gitignore.`,
          );
        }
        objects.set(oid, { type: 'blob', blob });
      }
      files.set(filepath, { oid, mode });
      if (files.size > limits.maxFiles) {
        throw new MooringError(
          'usage',
          `The work tree of ${dir} holds more than ${limits.maxFiles} files; add what is not part of the config to .gitignore.`,
        );
      }
      return true;
    },
  });
  const tree = writeTree(files, objects);
  const commit: CommitObject = {
    message: 'Uncommitted changes in the work tree\n',
    tree,
    parent: head ? [head] : [],
    author: AUTHOR,
    committer: AUTHOR,
  };
  const commitOid = hashObject('commit', Buffer.from(commitText(commit)));
  objects.set(commitOid, { type: 'commit', commit });
  changed.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { commit: commitOid, head, branch, changed, objects };
}

/** Folders for the files, written as git tree objects (same bytes, same ids as `git write-tree`). */
function writeTree(files: Map<string, FileEntry>, objects: Map<string, WorktreeObject>): string {
  interface Folder {
    files: Map<string, FileEntry>;
    folders: Map<string, Folder>;
  }
  const root: Folder = { files: new Map(), folders: new Map() };
  for (const [p, entry] of files) {
    const parts = p.split('/');
    let folder = root;
    for (const part of parts.slice(0, -1)) {
      let next = folder.folders.get(part);
      if (!next) folder.folders.set(part, (next = { files: new Map(), folders: new Map() }));
      folder = next;
    }
    folder.files.set(parts.at(-1)!, entry);
  }
  const write = (folder: Folder): string => {
    const entries: TreeEntry[] = [
      ...[...folder.files].map(([name, f]): TreeEntry => ({
        mode: f.mode,
        path: name,
        oid: f.oid,
        type: f.mode === '160000' ? 'commit' : 'blob',
      })),
      ...[...folder.folders].map(([name, sub]): TreeEntry => ({
        mode: '040000',
        path: name,
        oid: write(sub),
        type: 'tree',
      })),
    ];
    // git's order: a folder sorts as if its name ended in "/".
    const key = (e: TreeEntry): Buffer => Buffer.from(e.type === 'tree' ? `${e.path}/` : e.path);
    entries.sort((a, b) => Buffer.compare(key(a), key(b)));
    const body = Buffer.concat(
      entries.flatMap((e) => [
        Buffer.from(`${e.mode.replace(/^0/, '')} ${e.path}\0`),
        Buffer.from(e.oid, 'hex'),
      ]),
    );
    const oid = hashObject('tree', body);
    objects.set(oid, { type: 'tree', tree: entries });
    return oid;
  };
  return write(root);
}

function commitText(c: CommitObject): string {
  const who = (p: CommitObject['author']): string => `${p.name} <${p.email}> ${p.timestamp} +0000`;
  const parents = c.parent.map((p) => `parent ${p}\n`).join('');
  return `tree ${c.tree}\n${parents}author ${who(c.author)}\ncommitter ${who(c.committer)}\n\n${c.message}`;
}

function hashObject(type: 'tree' | 'commit', body: Buffer): string {
  return createHash('sha1').update(`${type} ${body.length}\0`).update(body).digest('hex');
}
