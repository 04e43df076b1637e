// Writing to a config repo without a work tree: new blobs, trees and commits go straight into the object
// store (the http mirror, or a local repo's git dir), and a branch moves only by compare-and-swap. The
// work tree and index of a local repo are never touched: they may hold someone's uncommitted work.
import fs from 'node:fs';
import path from 'node:path';
import * as git from 'isomorphic-git';
import type { TreeEntry } from 'isomorphic-git';
import { MooringError } from '../errors.ts';

export interface GitAuthor {
  name: string;
  email: string;
}

export const DEFAULT_AUTHOR: GitAuthor = { name: 'Mooring', email: 'mooring@localhost' };

/** What a path becomes in a tree: a blob or a tree by oid, or null to remove it. */
export type TreeEdit = { type: 'blob'; oid: string; mode?: string } | { type: 'tree'; oid: string } | null;

export async function writeBlob(gitdir: string, content: Uint8Array | string): Promise<string> {
  const blob = typeof content === 'string' ? new TextEncoder().encode(content) : content;
  return git.writeBlob({ fs, gitdir, blob });
}

/**
 * A new root tree: `rootTree` with the entry at a repo-relative posix path replaced (or added, or
 * removed when `edit` is null). Folders on the way are created as needed; a folder left empty by a
 * removal is removed too, as git itself cannot hold an empty folder.
 */
export async function editTree(
  gitdir: string,
  rootTree: string | null,
  filePath: string,
  edit: TreeEdit,
): Promise<string> {
  const segments = filePath.split('/').filter((s) => s !== '');
  if (segments.length === 0) {
    if (edit?.type !== 'tree')
      throw new MooringError('usage', 'Only a folder can replace the root of a repo.');
    return edit.oid;
  }
  const result = await editLevel(gitdir, rootTree, segments, edit);
  return result ?? (await git.writeTree({ fs, gitdir, tree: [] }));
}

async function editLevel(
  gitdir: string,
  treeOid: string | null,
  segments: string[],
  edit: TreeEdit,
): Promise<string | null> {
  const entries: TreeEntry[] =
    treeOid === null ? [] : (await git.readTree({ fs, gitdir, oid: treeOid })).tree.map((e) => ({ ...e }));
  const [name, ...rest] = segments as [string, ...string[]];
  const index = entries.findIndex((e) => e.path === name);
  const existing = index === -1 ? undefined : entries[index];
  let next: TreeEntry | null;
  if (rest.length === 0) {
    next =
      edit === null
        ? null
        : edit.type === 'tree'
          ? { mode: '040000', path: name, oid: edit.oid, type: 'tree' }
          : {
              mode: edit.mode ?? (existing?.type === 'blob' ? existing.mode : '100644'),
              path: name,
              oid: edit.oid,
              type: 'blob',
            };
  } else {
    const child = existing?.type === 'tree' ? existing.oid : null;
    const oid = await editLevel(gitdir, child, rest, edit);
    next = oid === null ? null : { mode: '040000', path: name, oid, type: 'tree' };
  }
  if (next === null) {
    if (index !== -1) entries.splice(index, 1);
  } else if (index === -1) {
    entries.push(next);
  } else {
    entries[index] = next;
  }
  if (entries.length === 0) return null;
  // isomorphic-git sorts entries the way git does (folders compare as if they ended in "/").
  return git.writeTree({ fs, gitdir, tree: entries });
}

export async function writeCommit(
  gitdir: string,
  input: { tree: string; parents: string[]; message: string; author: GitAuthor; time?: Date },
): Promise<string> {
  const when = input.time ?? new Date();
  const person = {
    name: input.author.name,
    email: input.author.email,
    timestamp: Math.floor(when.getTime() / 1000),
    timezoneOffset: when.getTimezoneOffset(),
  };
  const message = input.message.endsWith('\n') ? input.message : `${input.message}\n`;
  return git.writeCommit({
    fs,
    gitdir,
    commit: { tree: input.tree, parent: input.parents, author: person, committer: person, message },
  });
}

const ZERO = '0'.repeat(40);

/**
 * Moves a ref from `expected` (null: the ref must not exist) to `value`, the way git does: take
 * `<ref>.lock` exclusively, check the current value, write, rename over the ref. Native git and other
 * Mooring processes respect the lock, so nothing is lost to a concurrent commit. Returns false when the
 * ref had moved (the caller re-reads and tries again).
 */
export async function compareAndSwapRef(
  gitdir: string,
  ref: string,
  expected: string | null,
  value: string,
  reflog?: { author: GitAuthor; message: string },
): Promise<boolean> {
  if (!/^refs\/[A-Za-z0-9._/-]+$/.test(ref) || ref.includes('..') || ref.endsWith('.lock')) {
    throw new MooringError('usage', `"${ref}" is not a ref name Mooring writes.`);
  }
  const file = path.join(gitdir, ref);
  const lock = `${file}.lock`;
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  let handle: fs.promises.FileHandle | undefined;
  for (let attempt = 0; handle === undefined; attempt++) {
    try {
      handle = await fs.promises.open(lock, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (attempt >= 50) {
        throw new MooringError(
          'conflict',
          `${lock} exists: another git process is updating ${ref}. If none is running, delete that file and try again.`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  let renamed = false;
  try {
    const current = await git.resolveRef({ fs, gitdir, ref }).catch(() => null);
    if ((current ?? ZERO) !== (expected ?? ZERO)) return false;
    await handle.writeFile(`${value}\n`);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.promises.rename(lock, file);
    renamed = true;
    if (reflog) await appendReflog(gitdir, ref, expected ?? ZERO, value, reflog).catch(() => undefined);
    return true;
  } finally {
    await handle?.close().catch(() => undefined);
    if (!renamed) await fs.promises.unlink(lock).catch(() => undefined);
  }
}

/**
 * One line in the ref's reflog, where git keeps one (a repo with a work tree does for its branches), so
 * `git reflog` shows what Mooring did and how to undo it.
 */
async function appendReflog(
  gitdir: string,
  ref: string,
  from: string,
  to: string,
  entry: { author: GitAuthor; message: string },
): Promise<void> {
  const file = path.join(gitdir, 'logs', ref);
  if (!fs.existsSync(file)) return;
  const when = new Date();
  const offset = -when.getTimezoneOffset();
  const tz = `${offset < 0 ? '-' : '+'}${String(Math.floor(Math.abs(offset) / 60)).padStart(2, '0')}${String(Math.abs(offset) % 60).padStart(2, '0')}`;
  const message = entry.message.split('\n')[0]!.replace(/\t/g, ' ');
  const line = `${from} ${to} ${entry.author.name} <${entry.author.email}> ${Math.floor(when.getTime() / 1000)} ${tz}\t${message}\n`;
  await fs.promises.appendFile(file, line);
}
