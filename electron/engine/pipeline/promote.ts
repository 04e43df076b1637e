// The write-back of a two-stage pipeline: a new image id goes into the config repo as a one-line commit
// on the service's `image:`, and the deploy follows from git (DESIGN.md, "Linear two stage").
import type { PromoteResult } from '../../shared/model.ts';
import { MooringError } from '../errors.ts';
import type { GitSource } from '../source/index.ts';
import { editTree, writeBlob, type GitAuthor } from '../source/git-write.ts';
import { writeBack, type WriteBackOptions } from '../source/write-back.ts';
import { readServiceImage, rewriteServiceImage } from './compose-edit.ts';
import { requireStack } from './stack-location.ts';

export interface PromoteInput {
  stack: string;
  service: string;
  image: string;
  /** Commit message template; see DEFAULT_PROMOTE_MESSAGE for the placeholders. */
  message?: string | null;
  /** The app commit the image was built from, when known: it goes into the message. */
  appCommit?: string | null;
  appRepo?: string | null;
  /**
   * Commit and publish. Without it an http source is left alone (the change is only worked out and
   * returned); a local source is always committed to, since there is nothing to push.
   */
  push?: boolean;
}

export type { PromoteResult };

/**
 * Placeholders: {stack} {service} {old} {new} {file} {appCommit} {appCommitShort} {appRepo}. Lines that
 * mention the app commit are left out when it is not known.
 */
export const DEFAULT_PROMOTE_MESSAGE = `Promote {stack}/{service} to {new}

{file}: {old} → {new}
App commit: {appCommit}
App repo: {appRepo}`;

export function expandMessage(template: string, values: Record<string, string | null>): string {
  const lines = template.split('\n').filter((line) => {
    // A line about something unknown says nothing: drop it rather than print "App commit: ".
    const used = [...line.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => m[1]!);
    return !used.some((k) => k in values && (values[k] === null || values[k] === ''));
  });
  return lines
    .join('\n')
    .replace(/\{([A-Za-z]+)\}/g, (whole, key: string) => (key in values ? (values[key] ?? '') : whole))
    .replace(/[ \t]+$/gm, '')
    .trimEnd();
}

export async function promote(
  source: GitSource,
  input: PromoteInput,
  opts: WriteBackOptions & { author: GitAuthor },
): Promise<PromoteResult> {
  const dryRun = source.config.kind === 'http' && input.push !== true;
  let seen: string | undefined;
  let info: { file: string; line: number; oldImage: string; message: string } | null = null;
  const result = await writeBack(
    source,
    async (tip) => {
      const stack = await requireStack(source, tip.commit, input.stack);
      const file = stack.composeFile;
      const bytes = await readFileBytes(source, tip.commit, file);
      const text = decodeExactly(bytes, file);
      const current = readServiceImage(text, file, input.service);
      if (seen === undefined) {
        seen = current;
      } else if (current !== seen) {
        if (current === input.image) return null; // someone else promoted the same image meanwhile
        throw new MooringError(
          'conflict',
          `The image of ${input.stack}/${input.service} changed upstream while promoting: ${file} had ${seen}, the branch now has ${current} (commit ${tip.commit.slice(0, 12)}). Nothing was pushed; look at that commit, then promote again.`,
        );
      }
      const edit = rewriteServiceImage(text, file, input.service, input.image);
      const message = expandMessage(input.message ?? DEFAULT_PROMOTE_MESSAGE, {
        stack: input.stack,
        service: input.service,
        old: edit.oldImage,
        new: edit.newImage,
        file,
        appCommit: input.appCommit ?? null,
        appCommitShort: input.appCommit ? input.appCommit.slice(0, 12) : null,
        appRepo: input.appRepo ?? null,
      });
      info = { file, line: edit.line, oldImage: edit.oldImage, message };
      if (!edit.changed || dryRun) return null;
      const blob = await writeBlob(source.gitdir, new TextEncoder().encode(edit.text));
      const tree = await editTree(source.gitdir, tip.tree, file, { type: 'blob', oid: blob });
      return { tree, message };
    },
    opts,
  );
  const done = info as { file: string; line: number; oldImage: string; message: string } | null;
  if (done === null) throw new MooringError('failed', 'Promote finished without reading the compose file.');
  return {
    source: source.config.name,
    stack: input.stack,
    service: input.service,
    file: done.file,
    line: done.line,
    oldImage: done.oldImage,
    newImage: input.image,
    commit: result.commit,
    parent: result.parent,
    branch: result.branch,
    pushed: result.commit !== null && source.config.kind === 'http',
    dryRun,
    message: done.message,
    attempts: result.attempts,
  };
}

async function readFileBytes(source: GitSource, commit: string, file: string): Promise<Uint8Array> {
  const stat = await source.reader(commit).stat(file);
  if (stat?.type !== 'blob') {
    throw new MooringError('not-found', `${file} is not a file at commit ${commit.slice(0, 12)}.`);
  }
  return source.readBlob(stat.oid);
}

/** UTF-8 text that encodes back to exactly these bytes (a byte-order mark included), or an error. */
export function decodeExactly(bytes: Uint8Array, file: string): string {
  const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
  const again = new TextEncoder().encode(text);
  if (again.length !== bytes.length || again.some((b, i) => b !== bytes[i])) {
    throw new MooringError(
      'manifest',
      `${file} is not valid UTF-8, so it cannot be rewritten without changing other bytes; fix its encoding in git first.`,
    );
  }
  return text;
}
