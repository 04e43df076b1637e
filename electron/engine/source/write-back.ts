// Commit a change to the tracked branch of a config repo and publish it (push for http, the branch ref
// for a local repo), redoing the change on the new tip when someone else's commit got there first. The
// change itself is a function of the tip, so it can tell a harmless concurrent commit (another file:
// apply again) from a real conflict (what it changes was changed upstream: it throws).
import fs from 'node:fs';
import * as git from 'isomorphic-git';
import { MooringError } from '../errors.ts';
import type { GitSource } from './git-source.ts';
import { writeCommit, type GitAuthor } from './git-write.ts';

export interface WriteBackTip {
  /** The commit the change is made on. */
  commit: string;
  /** Its root tree. */
  tree: string;
  branch: string;
  /** 1 for the first try, 2 after the first rejection, … */
  attempt: number;
}

export interface WriteBackChange {
  /** The new root tree. */
  tree: string;
  message: string;
}

export interface WriteBackOptions {
  author: GitAuthor;
  /** Tries before giving up when the branch keeps moving. Default 5. */
  attempts?: number;
  /**
   * Called once the commit is made, right before it is published. The UI can say "pushing"; the tests
   * use it to land a concurrent commit at exactly the wrong moment.
   */
  beforePublish?: (info: { commit: string; parent: string; attempt: number }) => Promise<void> | void;
}

export interface WriteBackResult {
  /** The new commit, or null when the change was already there (nothing to commit). */
  commit: string | null;
  /** The commit it was made on (the branch tip it replaced). */
  parent: string;
  branch: string;
  attempts: number;
}

export async function writeBack(
  source: GitSource,
  change: (tip: WriteBackTip) => Promise<WriteBackChange | null>,
  opts: WriteBackOptions,
): Promise<WriteBackResult> {
  const attempts = opts.attempts ?? 5;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    // http: fetch, so the change is made on what the remote has now; local: the branch as it is now.
    const tip = source.config.kind === 'http' ? (await source.fetch()).head : await source.resolve(null);
    const branch = await source.branch();
    const { commit: tipCommit } = await git.readCommit({ fs, gitdir: source.gitdir, oid: tip });
    const next = await change({ commit: tip, tree: tipCommit.tree, branch, attempt });
    if (next === null) return { commit: null, parent: tip, branch, attempts: attempt };
    const commit = await writeCommit(source.gitdir, {
      tree: next.tree,
      parents: [tip],
      message: next.message,
      author: opts.author,
    });
    await opts.beforePublish?.({ commit, parent: tip, attempt });
    const subject = next.message.split('\n')[0] ?? '';
    if ((await source.publishCommit(commit, tip, branch, `mooring: ${subject}`)) === 'ok') {
      return { commit, parent: tip, branch, attempts: attempt };
    }
  }
  throw new MooringError(
    'conflict',
    `Branch of source "${source.config.name}" kept moving: ${attempts} tries to publish the change were each overtaken by another commit. Try again when it is quieter.`,
  );
}
