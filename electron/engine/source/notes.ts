// The deploy ledger in git: a note under refs/notes/mooring on each deployed commit, so a deploy is
// recorded in the config repo without changing any commit id. A note holds one JSON object per line
// (one per deploy), each starting with its time, so that notes from several machines merge the way git's
// own `cat_sort_uniq` strategy does: all lines of both sides, sorted, without duplicates.
import fs from 'node:fs';
import * as git from 'isomorphic-git';
import type { TreeEntry } from 'isomorphic-git';
import type { RanImage } from '../../shared/model.ts';
import { MooringError } from '../errors.ts';
import { imageRefProblem } from '../manifest/image-ref.ts';
import { compareAndSwapRef, writeBlob, writeCommit, type GitAuthor } from './git-write.ts';

export const NOTES_REF = 'refs/notes/mooring';

/** One deploy of a commit, as written in its note. */
export interface DeployNote {
  /** When the run finished (ISO). First key, so sorted lines are in time order. */
  time: string;
  /** The machine's host name. */
  host: string;
  stack: string;
  /** The named engine deployed to, where it is not `local` (issue 15). */
  engine?: string;
  /** The run's id in that machine's history. */
  runId: number;
  startedAt: string;
  trigger: string;
  result: string;
  /** What the stack's containers ran after the run. */
  images: RanImage[];
  error?: string;
}

/** Parses a note's text: one deploy per JSON line; lines that are not deploys (a note written by hand) are skipped. */
export function parseNote(text: string): DeployNote[] {
  const out: DeployNote[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const v = JSON.parse(line) as Partial<DeployNote>;
      if (
        typeof v.time === 'string' &&
        typeof v.host === 'string' &&
        typeof v.stack === 'string' &&
        typeof v.runId === 'number'
      ) {
        out.push({
          time: v.time,
          host: v.host,
          stack: v.stack,
          ...(typeof v.engine === 'string' ? { engine: v.engine } : {}),
          runId: v.runId,
          startedAt: typeof v.startedAt === 'string' ? v.startedAt : v.time,
          trigger: typeof v.trigger === 'string' ? v.trigger : 'unknown',
          result: typeof v.result === 'string' ? v.result : 'unknown',
          images: Array.isArray(v.images) ? v.images.filter(isImage).map(ranImage) : [],
          ...(typeof v.error === 'string' ? { error: v.error } : {}),
        });
      }
    } catch {
      // not JSON: someone else's note text, kept in the note but not a deploy
    }
  }
  return out;
}

function isImage(v: unknown): v is RanImage {
  const o = v as Record<string, unknown> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.service === 'string' &&
    typeof o.image === 'string' &&
    typeof o.id === 'string'
  );
}

/**
 * The image of a note, with only the keys a deploy has. A note may come from any machine that pushes
 * to the config repo, and a rollback pulls by its digest: one that is not `name@sha256:<64 hex>` is
 * left out.
 */
function ranImage(i: RanImage): RanImage {
  const digest = typeof i.digest === 'string' && isDigestRef(i.digest) ? i.digest : null;
  return { service: i.service, image: i.image, id: i.id, ...(digest ? { digest } : {}) };
}

/** `name@sha256:<64 hex>`, a reference by content that names one image (and nothing else). */
export function isDigestRef(ref: string): boolean {
  const at = ref.lastIndexOf('@');
  return at > 0 && /^sha256:[0-9a-f]{64}$/.test(ref.slice(at + 1)) && imageRefProblem(ref) === null;
}

/** The line a deploy is written as; keys in a fixed order, time first. */
export function noteLine(d: DeployNote): string {
  return JSON.stringify({
    time: d.time,
    host: d.host,
    stack: d.stack,
    ...(d.engine !== undefined ? { engine: d.engine } : {}),
    runId: d.runId,
    startedAt: d.startedAt,
    trigger: d.trigger,
    result: d.result,
    images: d.images.map((i) => ({
      service: i.service,
      image: i.image,
      id: i.id,
      ...(i.digest ? { digest: i.digest } : {}),
    })),
    ...(d.error !== undefined ? { error: d.error } : {}),
  });
}

/** Both texts' lines, sorted and without duplicates: git's cat_sort_uniq. */
export function mergeNoteText(a: string, b: string): string {
  const lines = new Set([...a.split('\n'), ...b.split('\n')].filter((l) => l.trim() !== ''));
  return `${[...lines].sort().join('\n')}\n`;
}

/** The notes commit the ref points at, or null. */
export async function notesTip(gitdir: string): Promise<string | null> {
  return git.resolveRef({ fs, gitdir, ref: NOTES_REF }).catch(() => null);
}

/**
 * Annotated commit → note blob, for the notes commit `notesCommit` (default: the ref). Reads git's
 * fan-out layout (`ab/cdef…`) as well as the flat one, since native git switches to fan-out once a
 * notes tree grows large.
 */
export async function listNotes(gitdir: string, notesCommit?: string | null): Promise<Map<string, string>> {
  const tip = notesCommit === undefined ? await notesTip(gitdir) : notesCommit;
  const out = new Map<string, string>();
  if (tip === null) return out;
  const { commit } = await git.readCommit({ fs, gitdir, oid: tip });
  const walk = async (tree: string, prefix: string): Promise<void> => {
    for (const e of (await git.readTree({ fs, gitdir, oid: tree })).tree) {
      const name = prefix + e.path;
      if (e.type === 'tree' && /^[0-9a-f]{2,38}$/.test(name)) await walk(e.oid, name);
      else if (e.type === 'blob' && /^[0-9a-f]{40}$/.test(name)) out.set(name, e.oid);
    }
  };
  await walk(commit.tree, '');
  return out;
}

export async function readNoteText(gitdir: string, blob: string): Promise<string> {
  const { blob: bytes } = await git.readBlob({ fs, gitdir, oid: blob });
  return new TextDecoder().decode(bytes);
}

/** The deploys recorded on one commit, as the local notes ref has them. */
export async function deploysOf(gitdir: string, commit: string): Promise<DeployNote[]> {
  const blob = (await listNotes(gitdir)).get(commit);
  return blob === undefined ? [] : parseNote(await readNoteText(gitdir, blob));
}

// Note writes of this process, one at a time per repo; other processes are kept out by the ref lock.
const queues = new Map<string, Promise<unknown>>();

function serialized<T>(gitdir: string, work: () => Promise<T>): Promise<T> {
  const previous = queues.get(gitdir) ?? Promise.resolve();
  const next = previous.then(work, work);
  const settled = next.catch(() => undefined);
  queues.set(gitdir, settled);
  void settled.then(() => {
    if (queues.get(gitdir) === settled) queues.delete(gitdir);
  });
  return next;
}

/** Moves the notes ref from `expected` to a new commit built by `build`, retrying when another writer got there first. */
async function updateNotes(
  gitdir: string,
  build: (tip: string | null) => Promise<string | null>,
): Promise<string | null> {
  return serialized(gitdir, async () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      const tip = await notesTip(gitdir);
      const next = await build(tip);
      if (next === null || next === tip) return tip;
      if (await compareAndSwapRef(gitdir, NOTES_REF, tip, next)) return next;
    }
    throw new MooringError('conflict', `${NOTES_REF} kept changing while Mooring wrote to it; try again.`);
  });
}

/** A notes tree (flat, like `git notes add` writes while small) with some notes replaced. */
async function notesTree(
  gitdir: string,
  base: Map<string, string>,
  changes: Map<string, string>,
): Promise<string> {
  const all = new Map(base);
  for (const [commit, blob] of changes) all.set(commit, blob);
  const tree: TreeEntry[] = [...all].map(([commit, blob]) => ({
    mode: '100644',
    path: commit,
    oid: blob,
    type: 'blob',
  }));
  return git.writeTree({ fs, gitdir, tree });
}

/** Appends one deploy to the note on `commit`; returns the new notes commit. */
export async function appendDeployNote(
  gitdir: string,
  commit: string,
  deploy: DeployNote,
  author: GitAuthor,
): Promise<string> {
  const tip = await updateNotes(gitdir, async (current) => {
    const notes = await listNotes(gitdir, current);
    const existing = notes.get(commit);
    const before = existing === undefined ? '' : await readNoteText(gitdir, existing);
    const blob = await writeBlob(gitdir, mergeNoteText(before, noteLine(deploy)));
    if (blob === existing) return current;
    const tree = await notesTree(gitdir, notes, new Map([[commit, blob]]));
    return writeCommit(gitdir, {
      tree,
      parents: current === null ? [] : [current],
      message: `Deploy of ${deploy.stack} on ${deploy.host}: ${deploy.result} (run ${deploy.runId})`,
      author,
    });
  });
  return tip!;
}

export type NotesMerge = 'none' | 'new' | 'fast-forward' | 'merged' | 'local-ahead';

/**
 * Brings a notes commit fetched from the remote (isomorphic-git writes no ref for it) into the local
 * ref: taken as is when there is no local one or the local one is behind, kept when it is ahead, and
 * merged otherwise, so that neither the remote's notes (other machines' deploys) nor unpushed local
 * ones are lost.
 */
export async function mergeRemoteNotes(
  gitdir: string,
  remote: string,
  author: GitAuthor,
): Promise<{ tip: string; merge: NotesMerge }> {
  let merge: NotesMerge = 'none';
  const tip = await updateNotes(gitdir, async (local) => {
    if (local === null) {
      merge = 'new';
      return remote;
    }
    if (local === remote) {
      merge = 'none';
      return null;
    }
    if (await git.isDescendent({ fs, gitdir, oid: local, ancestor: remote, depth: -1 })) {
      merge = 'local-ahead';
      return null;
    }
    if (await git.isDescendent({ fs, gitdir, oid: remote, ancestor: local, depth: -1 })) {
      merge = 'fast-forward';
      return remote;
    }
    merge = 'merged';
    const ours = await listNotes(gitdir, local);
    const theirs = await listNotes(gitdir, remote);
    const changes = new Map<string, string>();
    for (const [commit, blob] of theirs) {
      const mine = ours.get(commit);
      if (mine === blob) continue;
      if (mine === undefined) {
        changes.set(commit, blob);
        continue;
      }
      const text = mergeNoteText(await readNoteText(gitdir, mine), await readNoteText(gitdir, blob));
      changes.set(commit, await writeBlob(gitdir, text));
    }
    const tree = await notesTree(gitdir, ours, changes);
    return writeCommit(gitdir, {
      tree,
      parents: [local, remote],
      message: 'Merge deploy notes from the remote',
      author,
    });
  });
  return { tip: tip ?? remote, merge };
}
