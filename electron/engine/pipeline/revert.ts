// `mooring rollback STACK REV --revert`: instead of deploying an old revision behind git's back, commit
// it. The new commit's tree is the tip's with the stack's folder as it was at REV, so the changes made
// to other stacks since then stay, and the normal sync deploys it: git stays the truth.
import type { RevertResult } from '../../shared/model.ts';
import { MooringError } from '../errors.ts';
import type { GitSource } from '../source/index.ts';
import { editTree, type GitAuthor } from '../source/git-write.ts';
import { writeBack, type WriteBackOptions } from '../source/write-back.ts';
import { findStack, requireStack } from './stack-location.ts';

export type { RevertResult };

export async function revertStack(
  source: GitSource,
  input: { stack: string; revision: string },
  opts: WriteBackOptions & { author: GitAuthor },
): Promise<RevertResult> {
  const rev = await source.resolve(input.revision);
  const at = await requireStack(source, rev, input.stack);
  const old = await source.reader(rev).stat(at.dir);
  if (old?.type !== 'tree')
    throw new MooringError('not-found', `${at.dir} is not a folder at ${rev.slice(0, 12)}.`);
  let firstSeen: string | null | undefined;
  let undone: { id: string; subject: string }[] = [];
  let message = '';
  const result = await writeBack(
    source,
    async (tip) => {
      const now = await findStack(source, tip.commit, input.stack);
      if (now !== null && now.dir !== at.dir) {
        throw new MooringError(
          'conflict',
          `Stack "${input.stack}" lives in ${now.dir} at the tip but was in ${at.dir} at ${rev.slice(0, 12)}; a revert would leave two copies. Move it back by hand, or roll back without --revert.`,
        );
      }
      const current = await source.reader(tip.commit).stat(at.dir);
      const currentOid = current?.type === 'tree' ? current.oid : null;
      if (firstSeen === undefined) {
        firstSeen = currentOid;
      } else if (currentOid !== firstSeen) {
        if (currentOid === old.oid) return null;
        throw new MooringError(
          'conflict',
          `Stack "${input.stack}" changed upstream while reverting (commit ${tip.commit.slice(0, 12)}). Nothing was pushed; look at that commit, then try again.`,
        );
      }
      undone = await changesSince(source, rev, at.dir.split('/').pop()!);
      message = revertMessage(input.stack, at.dir, rev, undone);
      if (currentOid === old.oid) return null;
      const tree = await editTree(source.gitdir, tip.tree, at.dir, { type: 'tree', oid: old.oid });
      return { tree, message };
    },
    opts,
  );
  return {
    source: source.config.name,
    stack: input.stack,
    dir: at.dir,
    revision: rev,
    commit: result.commit,
    parent: result.parent,
    branch: result.branch,
    pushed: result.commit !== null && source.config.kind === 'http',
    undone,
    message,
    attempts: result.attempts,
  };
}

/** Commits on the branch after `rev` that changed the stack, newest first (bounded: a message, not an audit). */
async function changesSince(
  source: GitSource,
  rev: string,
  folder: string,
): Promise<{ id: string; subject: string }[]> {
  const out: { id: string; subject: string }[] = [];
  for (const c of await source.log({ limit: 500, known: new Set([rev]) })) {
    if (c.stacks.includes(folder)) out.push({ id: c.id, subject: c.message.split('\n')[0] ?? '' });
  }
  return out;
}

function revertMessage(
  stack: string,
  dir: string,
  rev: string,
  undone: { id: string; subject: string }[],
): string {
  const lines = [`Revert stack ${stack} to ${rev.slice(0, 12)}`, '', `Restores ${dir}/ as it was at ${rev}.`];
  if (undone.length > 0) {
    lines.push('', 'This undoes:');
    for (const c of undone.slice(0, 50)) lines.push(`- ${c.id.slice(0, 12)} ${c.subject}`);
    if (undone.length > 50) lines.push(`- … and ${undone.length - 50} more`);
  }
  return lines.join('\n');
}
