// A config repo as the engine sees it: fetched into a bare mirror (http) or read in place (local path),
// and always read from git objects at a commit, never from a work tree, so any revision can be shown,
// diffed or redeployed offline.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as git from 'isomorphic-git';
import type { CommitObject, FetchResult, ServerRef, TreeEntry } from 'isomorphic-git';
import nodeHttp from 'isomorphic-git/http/node';
import type { HttpClient } from 'isomorphic-git/http/node';
import {
  WORKTREE,
  type CommitRecord,
  type CommitVerify,
  type SourceConfig,
  type WorktreeInfo,
} from '../../shared/model.ts';
import { MooringError, UnreachableError, errorMessage } from '../errors.ts';
import { compareAndSwapRef, DEFAULT_AUTHOR, type GitAuthor } from './git-write.ts';
import { mergeRemoteNotes, NOTES_REF, notesTip, type NotesMerge } from './notes.ts';
import { verifyCommit, type Verification } from './signatures.ts';
import { syncReads } from './sync-reads.ts';
import { snapshotWorktree, type WorktreeObject, type WorktreeSnapshot } from './worktree.ts';

/** File names that make a folder a stack, in order of precedence. */
export const COMPOSE_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'];

export interface StackLocation {
  /** The folder's base name. */
  name: string;
  /** Repo-relative posix path of the stack folder. */
  dir: string;
  /** Repo-relative posix path of the compose file. */
  composeFile: string;
}

export interface TreeStat {
  type: 'blob' | 'tree';
  oid: string;
  /** The tree entry's mode (100644, 100755, 040000); absent for the root tree. */
  mode?: string;
}

/**
 * Reads files of one commit, by repo-relative posix path. A symbolic link in the repo is followed while
 * it stays inside the repo, as a checkout would show it; one that leads out of the repo (an absolute
 * target, too many `..`), or a name that appears twice in its folder, reads as missing. Nothing is ever
 * read from the machine's own files: a link is resolved among git objects only.
 */
export interface RepoReader {
  /** UTF-8 text of a file, or null when the path is missing or is a folder. */
  readFile(path: string): Promise<string | null>;
  stat(path: string): Promise<TreeStat | null>;
  /**
   * Why the file or folder at a path cannot be written out as files on this machine (a link out of
   * the repo, a folder holding a link and a folder of one name, a name this file system cannot hold…),
   * naming the entry; null when it can, or when the path is simply missing. Cheap: folders are checked
   * once per object id.
   */
  mountProblem(path: string): Promise<string | null>;
}

export interface TreeFile {
  /** Posix path relative to the listed tree. */
  path: string;
  oid: string;
  /** Git file mode: '100644', '100755' or '120000' (symlink). */
  mode: string;
}

export interface GitSourceOptions {
  /** The app's data folder; http sources are mirrored under `${home}/mirrors`. */
  home: string;
  config: SourceConfig;
  /** Where the token named by config.tokenEnv is read, at fetch time. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Give up on an HTTP request after this long without data. Default 30 s. */
  timeoutMs?: number;
  /** Who Mooring's own commits (deploy notes merges) are by. Default "Mooring <mooring@localhost>". */
  author?: GitAuthor;
}

/** What a fetch did: the branch tip, and the deploy notes brought in from the remote (http only). */
export interface FetchOutcome {
  head: string;
  branch: string;
  /**
   * What happened to the remote's deploy notes (http only), when anything did: brought in, merged, or
   * failed. Absent when there was nothing new, and for a local source (its notes are already in place).
   */
  notes?: { merge: NotesMerge; error: string | null };
}

/** The first entry below a tree that cannot be written out as a file here, and why. */
export interface TreeProblem {
  /** Path relative to the checked tree ('' is the tree itself). */
  path: string;
  why: string;
}

export interface TreeCheck {
  problem: TreeProblem | null;
  /** Levels of folders, the tree itself included. */
  depth: number;
  /** Files and links below it, recursively. */
  files: number;
}

/**
 * A tree that must not be written out or packed as it is: two entries of one path, or a path segment
 * that is empty, "." or "..". `entry` is relative to the listed tree, for the caller to place.
 */
export class UnsafeTreeError extends MooringError {
  constructor(
    readonly entry: string,
    readonly why: string,
  ) {
    super('failed', `${entry}: ${why}`);
    this.name = 'UnsafeTreeError';
  }
}

type Resolved =
  | { kind: 'found'; stat: TreeStat }
  /** Nothing there; `submodule` names a submodule on the way, which has no objects in this repo. */
  | { kind: 'missing'; submodule?: string }
  | { kind: 'refused'; why: string };
const MISSING: Resolved = { kind: 'missing' };

/** Where a publish ended: moved the branch, or found it moved by someone else (fetch and try again). */
export type PublishResult = 'ok' | 'rejected';

const REMOTE = 'origin';
const TRACKING = `refs/remotes/${REMOTE}/`;
const REMOTE_HEAD = `${TRACKING}HEAD`;
const SYMLINK_MODE = '120000';
/** Links followed while resolving one path, as Linux's own limit (ELOOP). */
const MAX_LINKS = 40;
/** A link target longer than PATH_MAX is no target any file system takes. */
const MAX_LINK_TARGET = 4096;
/** Folders nested deeper than this are refused when written out: no repo of config files needs it. */
export const MAX_TREE_DEPTH = 256;
/** Files in one mounted folder (a disk-filling commit is refused before anything is written). */
export const MAX_TREE_FILES = 100_000;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_LOG_LIMIT = 200;
// Parsed trees and commits are immutable (keyed by oid), so caching them is always correct; the bound
// only keeps a long-running app from growing without end.
const CACHE_LIMIT = 50_000;
/** A work tree whose uncommitted files hold more than this is refused (they are held in memory). */
const MAX_WORKTREE_BYTES = 256 * 2 ** 20;

/**
 * The file system isomorphic-git reads objects and refs through: synchronous reads (sync-reads.ts; the
 * pack file itself is read once and kept in memory). Writes (fetch) use the ordinary async fs.
 */
const readFs = {
  promises: {
    ...syncReads,
    writeFile: fs.promises.writeFile,
    unlink: fs.promises.unlink,
    mkdir: fs.promises.mkdir,
    rmdir: fs.promises.rmdir,
    symlink: fs.promises.symlink,
  },
};

/**
 * Fetches by git dir: the one running, and the one asked for meanwhile. Two fetches into one mirror at
 * once would write the same pack and refs twice over, so they take turns. A caller that comes while one
 * runs cannot share it (it began before whatever the caller was told was pushed): it waits for it and
 * shares the next one with every other caller that came meanwhile. Keyed by git dir rather than held per
 * instance because callers may make a GitSource per request.
 */
const fetches = new Map<string, { running: Promise<FetchOutcome>; next: Promise<FetchOutcome> | null }>();

/** A stack found inside some tree, paths relative to that tree. */
interface FoundStack {
  dir: string;
  composeFile: string;
  /** Tree oid of the stack folder: equal oids mean nothing in the stack changed. */
  oid: string;
}

export class GitSource {
  readonly config: SourceConfig;
  /** Where the objects are: the bare mirror for http sources, the repo's own git dir for local ones. */
  readonly gitdir: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly http: HttpClient;
  private readonly author: GitAuthor;
  /** isomorphic-git's own cache (pack indexes): passing the same object to every call saves re-reading them. */
  private readonly gitCache: object = {};
  private readonly trees = new Map<string, TreeEntry[]>();
  private readonly commits = new Map<string, CommitObject>();
  private readonly stacksByTree = new Map<string, Promise<FoundStack[]>>();
  private readonly checkedTrees = new Map<string, Promise<TreeCheck>>();
  private readonly verifications = new Map<string, Promise<Verification>>();
  /** The last few work tree snapshots (a preview may still be reading one while the next is taken). */
  private readonly worktrees: WorktreeSnapshot[] = [];

  constructor(opts: GitSourceOptions) {
    this.config = opts.config;
    this.env = opts.env ?? process.env;
    this.author = opts.author ?? DEFAULT_AUTHOR;
    const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // simple-get (under isomorphic-git's node client) aborts a request idle for `timeout` ms; without it a
    // server that accepts the connection and never answers would hang the fetch forever.
    this.http = {
      request: (req) =>
        nodeHttp.request({ ...req, fetchOptions: { ...(req.fetchOptions as object | undefined), timeout } }),
    };
    if (opts.config.kind === 'http') {
      // The name becomes a folder name: keep it from pointing outside the mirrors folder.
      if (!/^[^/\\\0]+$/.test(opts.config.name) || opts.config.name.startsWith('.')) {
        throw new MooringError(
          'usage',
          `Source name "${opts.config.name}" cannot be used as a folder name: use letters, digits, - and _.`,
        );
      }
      this.gitdir = path.join(opts.home, 'mirrors', `${opts.config.name}.git`);
    } else {
      this.gitdir = localGitdir(opts.config.url);
    }
  }

  /**
   * http: clone (init bare + fetch, no checkout) on first use, fetch afterwards; local: nothing to
   * transfer, just resolves. Returns the tip of the tracked branch. Concurrent calls for the same
   * mirror (from any instance) take turns; see `fetches`.
   */
  fetch(): Promise<FetchOutcome> {
    const start = (): Promise<FetchOutcome> => {
      const running = (this.config.kind === 'http' ? this.fetchRemote() : this.checkLocal()).finally(() => {
        const slot = fetches.get(this.gitdir);
        if (slot?.running === running && slot.next === null) fetches.delete(this.gitdir);
      });
      return running;
    };
    const slot = fetches.get(this.gitdir);
    if (!slot) {
      const running = start();
      fetches.set(this.gitdir, { running, next: null });
      return running;
    }
    if (slot.next) return slot.next;
    const next = slot.running
      .catch(() => undefined)
      .then(() => {
        const running = start();
        fetches.set(this.gitdir, { running, next: null });
        return running;
      });
    slot.next = next;
    return next;
  }

  /**
   * http: whether the remote's followed branch (or default branch) is no longer where the last fetch
   * left it, asked with one small request (the ref advertisement, no objects), so that it can be asked
   * every few seconds and a fetch made only when something moved. Local: false (its refs are watched
   * on disk). Errors as a fetch's.
   */
  async remoteMoved(): Promise<boolean> {
    if (this.config.kind !== 'http') return false;
    const token = this.token();
    const want = this.config.branch ? `refs/heads/${this.config.branch}` : 'HEAD';
    let refs: ServerRef[];
    try {
      refs = await git.listServerRefs({
        http: this.http,
        url: this.config.url,
        prefix: want,
        symrefs: true,
        protocolVersion: 2,
        ...withToken(token),
      });
    } catch (err) {
      throw this.fetchError(err, token, true);
    }
    const remote = refs.find((r) => r.ref === want);
    // Gone, or never fetched: a fetch says which, in its own words.
    if (!remote) return true;
    const branch = await this.branch().catch(() => null);
    if (branch === null) return true;
    if (!this.config.branch && remote.target !== undefined && remote.target !== `refs/heads/${branch}`)
      return true;
    return remote.oid !== (await this.tip(branch).catch(() => null));
  }

  /**
   * The branch being followed: config.branch, else the remote's default branch as last fetched, or the
   * local repo's current branch.
   */
  async branch(): Promise<string> {
    if (this.config.branch) return this.config.branch;
    if (this.config.kind === 'local') {
      const current = await git.currentBranch({ fs: readFs, gitdir: this.gitdir }).catch(() => undefined);
      if (current) return current;
      throw new MooringError(
        'not-found',
        `${this.label()} has no current branch (detached HEAD or not a git repository); set a branch in the source config.`,
      );
    }
    // depth 2 stops at the name the symbolic ref points to instead of following it to a commit id.
    const target = await git
      .resolveRef({ fs, gitdir: this.gitdir, ref: REMOTE_HEAD, depth: 2 })
      .catch(() => null);
    if (target?.startsWith(TRACKING)) return target.slice(TRACKING.length);
    throw new MooringError(
      'not-found',
      `${this.label()} has no known default branch: it has not been fetched yet, or the remote has no default branch. Fetch it, or set a branch in the source config.`,
    );
  }

  /**
   * Commit id for a revision: null/undefined/'' is the tip of the tracked branch as last fetched (works
   * offline); otherwise a full or abbreviated commit id, a branch or a tag name, or a full ref name.
   */
  async resolve(rev?: string | null): Promise<string> {
    if (rev === null || rev === undefined || rev === '') return this.tip(await this.branch());
    if (rev === WORKTREE) return (await this.worktree()).commit;
    const oid = await this.lookup(rev);
    if (oid) return oid;
    const where = this.config.kind === 'http' ? ' as of its last fetch' : '';
    throw new MooringError(
      'not-found',
      `Revision "${rev}" was not found in ${this.label()}${where}: it is not a branch, a tag or a commit id there.`,
    );
  }

  /**
   * The work tree of a local source as a commit of its own (`resolve('worktree')` gives its id), read
   * afresh on every call: uncommitted files are held in memory, nothing is written to the repository.
   * A branch named "worktree" is still reached as refs/heads/worktree.
   */
  async worktree(): Promise<WorktreeInfo> {
    if (this.config.kind !== 'local') {
      throw new MooringError(
        'usage',
        `${this.label()} is mirrored from a remote and has no work tree here; --worktree previews a source added by its local path.`,
      );
    }
    const dir = this.config.url;
    if (path.resolve(this.gitdir) === path.resolve(dir)) {
      throw new MooringError(
        'usage',
        `${this.label()} is a bare repository: it has no work tree to preview.`,
      );
    }
    const snapshot = await snapshotWorktree(dir, this.gitdir, {
      maxFiles: MAX_TREE_FILES,
      maxBytes: MAX_WORKTREE_BYTES,
    });
    const kept = this.worktrees.findIndex((w) => w.commit === snapshot.commit);
    if (kept >= 0) this.worktrees.splice(kept, 1);
    this.worktrees.unshift(snapshot);
    this.worktrees.length = Math.min(this.worktrees.length, 3);
    const { commit, head, branch, changed } = snapshot;
    return { source: this.config.name, dir, commit, head, branch, changed };
  }

  /** An object of a work tree snapshot, when `oid` is one git's store may not hold. */
  private worktreeObject<T extends WorktreeObject['type']>(
    oid: string,
    type: T,
  ): Extract<WorktreeObject, { type: T }> | undefined {
    for (const w of this.worktrees) {
      const found = w.objects.get(oid);
      if (found?.type === type) return found as Extract<WorktreeObject, { type: T }>;
    }
    return undefined;
  }

  /**
   * Stacks at a commit: every folder below config.path holding a compose file (not looking inside a
   * stack folder, skipping dot-folders), sorted by dir. The config.path folder itself is not a stack.
   */
  async listStacks(commit: string): Promise<StackLocation[]> {
    const root = await this.rootTree(commit);
    const base = normalizePath(this.config.path);
    const baseStat = base === null ? null : await this.statIn(root, base);
    if (base === null || baseStat?.type !== 'tree') {
      // Failing (rather than returning no stacks) keeps a mistyped path from looking like "every stack
      // was deleted", which a prune would act on.
      throw new MooringError(
        'not-found',
        `Folder "${this.config.path}" does not exist at commit ${commit.slice(0, 12)} of ${this.label()}; check the source's path.`,
      );
    }
    const found = await this.stacksIn(baseStat.oid);
    return found.map((s) => ({
      name: path.posix.basename(s.dir),
      dir: joinPath(base, s.dir),
      composeFile: joinPath(base, s.composeFile),
    }));
  }

  /** A reader of the files at a commit. Trees are cached, so reading a whole stack is cheap. */
  reader(commit: string): RepoReader {
    // Resolved on first use, so an unknown commit fails in the read, not as an unhandled rejection.
    let root: Promise<string> | null = null;
    const rootTree = (): Promise<string> => (root ??= this.rootTree(commit));
    const resolve = async (file: string): Promise<Resolved> => {
      const p = normalizePath(file);
      if (p === null) return { kind: 'refused', why: `${file} leads outside the config repo` };
      return this.resolveIn(await rootTree(), p);
    };
    return {
      readFile: async (file) => {
        const found = await resolve(file);
        if (found.kind !== 'found' || found.stat.type !== 'blob') return null;
        try {
          return new TextDecoder().decode(await this.readBlob(found.stat.oid));
        } catch (err) {
          if (!(err instanceof MooringError)) throw err;
          throw new MooringError(err.code, `${file}: ${err.message}`, { cause: err });
        }
      },
      stat: async (file) => {
        const found = await resolve(file);
        return found.kind === 'found' ? found.stat : null;
      },
      mountProblem: async (file) => {
        const found = await resolve(file);
        if (found.kind === 'refused') return found.why;
        if (found.kind === 'missing' && found.submodule !== undefined) {
          return `${found.submodule} is a git submodule, whose files are in another repo that Mooring does not fetch; commit the files to this repo instead`;
        }
        if (found.kind === 'missing' || found.stat.type !== 'tree') return null;
        let check: TreeCheck;
        try {
          check = await this.checkTree(found.stat.oid);
        } catch (err) {
          // An entry whose mode lies (a folder mode on a file object): this stack's problem, not the
          // whole source's, so it is reported here rather than thrown.
          if (!(err instanceof MooringError)) throw err;
          return `${file}: ${err.message}`;
        }
        // Named by the path the compose file wrote, even when a link led elsewhere.
        const p = normalizePath(file)!;
        if (check.problem !== null) {
          return `${shortPath(joinPath(p, check.problem.path))}: ${check.problem.why}`;
        }
        if (check.depth > MAX_TREE_DEPTH) {
          return `${p}: folders nest ${check.depth} levels deep in it, more than ${MAX_TREE_DEPTH}`;
        }
        if (check.files > MAX_TREE_FILES) {
          return `${p}: it holds ${check.files} files, more than ${MAX_TREE_FILES}`;
        }
        return null;
      },
    };
  }

  /**
   * Whether a commit is signed by a key `policy` allows (issue 17, item 3), read from the raw commit
   * object. Remembered per commit and keys: a commit never changes.
   */
  verification(oid: string, policy: CommitVerify): Promise<Verification> {
    const key = `${oid}\0${policy.format}\0${createHash('sha256').update(policy.keys).digest('hex')}`;
    let found = this.verifications.get(key);
    if (!found) {
      found = this.rawCommit(oid).then((raw) => verifyCommit(policy, raw));
      found.catch(() => this.verifications.delete(key));
      if (this.verifications.size >= CACHE_LIMIT) this.verifications.clear();
      this.verifications.set(key, found);
    }
    return found;
  }

  private async rawCommit(oid: string): Promise<Buffer> {
    try {
      // The raw object, as git signed it: readCommit's payload finds an SSH signature's end wrongly.
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- the one call that gives the bytes
      const { type, object } = await git.readObject({
        fs: readFs,
        gitdir: this.gitdir,
        oid,
        format: 'content',
        cache: this.gitCache,
      });
      if (type !== 'commit') throw new Error(`it is a ${type}`);
      return Buffer.from(object as Uint8Array);
    } catch (err) {
      throw new MooringError('not-found', `Commit ${oid} is not in ${this.label()}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
  }

  /** Raw bytes of a blob. */
  async readBlob(oid: string): Promise<Uint8Array> {
    const fromWorktree = this.worktreeObject(oid, 'blob');
    if (fromWorktree) return fromWorktree.blob;
    try {
      const { blob } = await git.readBlob({ fs: readFs, gitdir: this.gitdir, oid, cache: this.gitCache });
      return blob;
    } catch (err) {
      // A tree entry may claim a file mode for a folder object (written by hand): say so, not "missing".
      const message =
        errorCode(err) === 'ObjectTypeError'
          ? `Object ${oid} of ${this.label()} is listed as a file but is not one (${errorMessage(err)}); the commit was written by hand or the repository is damaged.`
          : `File object ${oid} is not in ${this.label()}: ${errorMessage(err)}`;
      throw new MooringError('not-found', message, { cause: err });
    }
  }

  /**
   * Every file below a tree (recursively; submodules skipped), paths relative to that tree, sorted.
   * What is listed is written out as files or packed into an archive, so a tree that would make two
   * entries of one path (a name twice in a folder, a link and a folder of one name) or a path with an
   * empty, "." or ".." segment is refused with an UnsafeTreeError naming the entry: git never writes
   * such a tree, only a hand-made commit does.
   */
  async listTree(oid: string): Promise<TreeFile[]> {
    const files: TreeFile[] = [];
    const walk = async (treeOid: string, prefix: string): Promise<void> => {
      const entries = await this.tree(treeOid);
      const twice = duplicateEntry(entries);
      if (twice !== null) throw new UnsafeTreeError(joinPath(prefix, twice.name), twice.why);
      for (const entry of entries) {
        const p = joinPath(prefix, entry.path);
        const bad = portableNameProblem(entry.path);
        if (bad !== null) throw new UnsafeTreeError(p, bad);
        if (entry.type === 'tree') await walk(entry.oid, p);
        else if (entry.type === 'blob') files.push({ path: p, oid: entry.oid, mode: entry.mode });
      }
    };
    await walk(oid, '');
    return files.sort((a, b) => compare(a.path, b.path));
  }

  /**
   * Whether a tree can be written out as files here: every name valid on this platform, no two that
   * one file system would take for the same file, not too deep, not too many files. Memoized by oid (a
   * tree's check is its entries' and its subtrees'), so a stack's load pays for a folder once.
   */
  checkTree(oid: string): Promise<TreeCheck> {
    let check = this.checkedTrees.get(oid);
    if (!check) {
      check = this.checkTreeUncached(oid);
      check.catch(() => {
        this.checkedTrees.delete(oid);
      });
      if (this.checkedTrees.size >= CACHE_LIMIT) this.checkedTrees.clear();
      this.checkedTrees.set(oid, check);
    }
    return check;
  }

  private async checkTreeUncached(oid: string): Promise<TreeCheck> {
    const entries = await this.tree(oid);
    const clash = duplicateEntry(entries) ?? siblingProblem(entries.map((e) => e.path));
    if (clash !== null) return { problem: { path: clash.name, why: clash.why }, depth: 1, files: 0 };
    let depth = 1;
    let files = 0;
    for (const entry of entries) {
      const bad = entryNameProblem(entry.path);
      if (bad !== null) return { problem: { path: entry.path, why: bad }, depth, files };
      if (entry.type === 'blob') files += 1;
      if (entry.type !== 'tree') continue;
      const inner = await this.checkTree(entry.oid);
      if (inner.problem !== null) {
        const where = joinPath(entry.path, inner.problem.path);
        return { problem: { path: where, why: inner.problem.why }, depth, files };
      }
      // Depth and size are judged by the caller, for the folder it mounts: a subtree is not too deep
      // on its own, only under that folder.
      depth = Math.max(depth, inner.depth + 1);
      files += inner.files;
    }
    return { problem: null, depth, files };
  }

  /**
   * Commits reachable from the tracked branch tip, newest first (by committer time, like `git log`), up
   * to `limit`. Each lists the stacks whose folder changed against its first parent (added, modified or
   * removed). The walk does not go past a commit in `known`: a caller that caches history only gets
   * what is new.
   */
  async log(opts: { limit?: number; known?: Set<string> } = {}): Promise<CommitRecord[]> {
    const limit = opts.limit ?? DEFAULT_LOG_LIMIT;
    const known = opts.known ?? new Set<string>();
    const tip = await this.resolve();
    const records: CommitRecord[] = [];
    if (known.has(tip) || limit <= 0) return records;
    // Commits waiting to be listed, newest first; ties keep the order they were found in.
    const queue: { oid: string; time: number }[] = [];
    const seen = new Set<string>([tip]);
    queue.push({ oid: tip, time: (await this.commit(tip)).committer.timestamp });
    while (queue.length > 0 && records.length < limit) {
      const { oid } = queue.shift()!;
      const commit = await this.commit(oid);
      records.push(await this.commitRecord(oid, commit));
      for (const parent of commit.parent) {
        if (seen.has(parent) || known.has(parent)) continue;
        seen.add(parent);
        const parentCommit = await this.commitOrNull(parent);
        if (!parentCommit) continue; // not in this repo (a shallow history): the walk ends there
        const time = parentCommit.committer.timestamp;
        const at = queue.findIndex((q) => q.time < time);
        queue.splice(at === -1 ? queue.length : at, 0, { oid: parent, time });
      }
    }
    return records;
  }

  // ── fetching ──────────────────────────────────────────────────────────────────────────────────────

  private async fetchRemote(): Promise<FetchOutcome> {
    const token = this.token();
    await this.ensureMirror();
    const before = await this.snapshotRefs();
    let result: FetchResult;
    try {
      result = await git.fetch({
        fs,
        http: this.http,
        gitdir: this.gitdir,
        url: this.config.url,
        remote: REMOTE,
        // 'HEAD' when following the default branch; the remote tells which branch that is.
        ref: this.config.branch ?? 'HEAD',
        // Every branch and tag, so resolve() can find any of them offline; later fetches send what we
        // have, so only new objects travel.
        singleBranch: false,
        tags: true,
        prune: true,
        pruneTags: true,
        cache: this.gitCache,
        ...withToken(token),
      });
    } catch (err) {
      // isomorphic-git moves the refs before it has written the objects they point at: a transfer that
      // breaks half way would leave refs to missing commits. Put the last good refs back.
      await this.restoreRefs(before).catch(() => undefined);
      throw this.fetchError(err, token, before.size > 0);
    }
    if (result.defaultBranch?.startsWith('refs/heads/')) {
      await git.writeRef({
        fs,
        gitdir: this.gitdir,
        ref: REMOTE_HEAD,
        value: TRACKING + result.defaultBranch.slice('refs/heads/'.length),
        symbolic: true,
        force: true,
      });
    }
    const branch = await this.branch();
    const head = await this.tip(branch);
    // Deploy notes ride along, but a failure to get them must not fail the fetch of the desired state.
    const notes = await this.fetchNotes(token).then(
      (merge) => ({ merge, error: null }),
      (err: unknown) => ({ merge: 'none' as const, error: scrub(errorMessage(err), token) }),
    );
    return notes.merge === 'none' && notes.error === null ? { head, branch } : { head, branch, notes };
  }

  private async checkLocal(): Promise<FetchOutcome> {
    if (!fs.existsSync(path.join(this.gitdir, 'HEAD')) || !fs.existsSync(path.join(this.gitdir, 'objects'))) {
      throw new UnreachableError(
        `${this.label()} is unreachable: there is no git repository at ${this.config.url}. Check the path; status keeps using the last read revision.`,
      );
    }
    const branch = await this.branch();
    return { head: await this.tip(branch), branch };
  }

  /**
   * Fetches the remote's deploy notes and merges them into the local notes ref. isomorphic-git writes no
   * local ref for a notes fetch, so the fetched commit is taken from fetchHead.
   */
  private async fetchNotes(token: string | null): Promise<NotesMerge> {
    let fetched: string | null;
    try {
      const result = await git.fetch({
        fs,
        http: this.http,
        gitdir: this.gitdir,
        url: this.config.url,
        remote: REMOTE,
        ref: NOTES_REF,
        remoteRef: NOTES_REF,
        singleBranch: true,
        tags: false,
        cache: this.gitCache,
        ...withToken(token),
      });
      fetched = result.fetchHead;
    } catch (err) {
      // The remote has no notes yet: nothing to merge.
      if (errorCode(err) === 'NotFoundError') return 'none';
      throw err;
    }
    if (fetched === null) return 'none';
    return (await mergeRemoteNotes(this.gitdir, fetched, this.author)).merge;
  }

  // ── writing ───────────────────────────────────────────────────────────────────────────────────────

  /**
   * Moves the tracked branch from `expected` to `commit` (whose objects are already in gitdir): a push
   * for an http source, a compare-and-swap of the branch ref for a local one. 'rejected' means the
   * branch moved meanwhile: fetch, redo the change on the new tip and publish again.
   */
  async publishCommit(
    commit: string,
    expected: string,
    branch: string,
    reflogMessage = 'mooring: commit',
  ): Promise<PublishResult> {
    if (this.config.kind === 'local') {
      const ok = await compareAndSwapRef(this.gitdir, `refs/heads/${branch}`, expected, commit, {
        author: this.author,
        message: reflogMessage,
      });
      return ok ? 'ok' : 'rejected';
    }
    // isomorphic-git pushes a ref, not an object id: a ref of our own, removed afterwards.
    const temp = `refs/mooring/outgoing/${process.pid}-${Date.now()}`;
    await git.writeRef({ fs, gitdir: this.gitdir, ref: temp, value: commit, force: true });
    try {
      return await this.push(temp, `refs/heads/${branch}`);
    } finally {
      await git.deleteRef({ fs, gitdir: this.gitdir, ref: temp }).catch(() => undefined);
    }
  }

  /**
   * Publishes the local deploy notes: pushed for an http source (merging the remote's first when the
   * push is rejected, a few times), nothing to do for a local one (the notes are written in place).
   * Returns whether anything was pushed.
   */
  async publishNotes(): Promise<boolean> {
    if (this.config.kind === 'local') return false;
    if ((await notesTip(this.gitdir)) === null) return false;
    const token = this.token();
    for (let attempt = 1; ; attempt++) {
      const result = await this.push(NOTES_REF, NOTES_REF);
      // push() updates a remote-tracking copy named after the ref, which no one reads: drop it.
      await git.deleteRef({ fs, gitdir: this.gitdir, ref: `${TRACKING}${NOTES_REF}` }).catch(() => undefined);
      if (result === 'ok') return true;
      if (attempt >= 4) {
        throw new MooringError(
          'conflict',
          `${this.label()} kept rejecting ${NOTES_REF} (another machine is writing deploy notes); they will be pushed with the next deploy.`,
        );
      }
      await this.fetchNotes(token);
    }
  }

  private async push(localRef: string, remoteRef: string): Promise<PublishResult> {
    const token = this.token();
    try {
      await git.push({
        fs,
        http: this.http,
        gitdir: this.gitdir,
        url: this.config.url,
        remote: REMOTE,
        ref: localRef,
        remoteRef,
        cache: this.gitCache,
        ...withToken(token),
      });
      return 'ok';
    } catch (err) {
      const code = errorCode(err);
      // Client side: the remote's tip is not an ancestor of ours. Server side: the ref moved between
      // the ref advertisement and the update (a concurrent push) or the server wants a fast-forward.
      if (code === 'PushRejectedError') return 'rejected';
      if (
        code === 'GitPushError' &&
        /non-fast-forward|fetch first|failed to (update|lock)|stale/i.test(errorMessage(err))
      ) {
        return 'rejected';
      }
      throw this.pushError(err, token, remoteRef);
    }
  }

  private pushError(err: unknown, token: string | null, remoteRef: string): MooringError {
    const status = httpStatus(err);
    if (status === 401 || status === 403) {
      const advice = this.config.tokenEnv
        ? `check that the token in ${this.config.tokenEnv} may write to this repository`
        : "the server wants credentials: set the source's token variable (tokenEnv) to the name of an environment variable that holds an access token with write access";
      return new MooringError(
        'unreachable',
        scrub(`Pushing ${remoteRef} to ${this.label()} was refused (HTTP ${status}): ${advice}.`, token),
        { cause: err },
      );
    }
    const code = errorCode(err);
    if (
      status !== null ||
      (code !== null && /^E[A-Z]+$/.test(code)) ||
      errorMessage(err) === 'Request timed out'
    ) {
      const why = status !== null ? `the server answered HTTP ${status}` : errorMessage(err);
      return new UnreachableError(
        scrub(
          `Pushing ${remoteRef} to ${this.label()} failed: ${why}. Check the URL and that the server is up.`,
          token,
        ),
        { cause: err },
      );
    }
    return new MooringError(
      'failed',
      scrub(`Pushing ${remoteRef} to ${this.label()} failed: ${errorMessage(err)}`, token),
      { cause: err },
    );
  }

  /** The token named by config.tokenEnv, read now (never stored); null when the source uses none. */
  private token(): string | null {
    const name = this.config.tokenEnv;
    if (!name) return null;
    const value = this.env[name];
    if (value === undefined || value === '') {
      throw new UnreachableError(
        `${this.label()} needs a token, but the environment variable ${name} is not set. Set ${name} to an access token for this repository and fetch again.`,
      );
    }
    return value;
  }

  private async ensureMirror(): Promise<void> {
    if (!fs.existsSync(path.join(this.gitdir, 'config'))) {
      await fs.promises.mkdir(this.gitdir, { recursive: true });
      await git.init({ fs, gitdir: this.gitdir, bare: true, defaultBranch: 'main' });
    }
    // The remote's refspec tells isomorphic-git where to keep remote-tracking refs. The URL is passed to
    // every fetch; the one in the config is for people looking at the mirror, so it holds no credentials.
    const url = displayUrl(this.config.url);
    const current = (await git.getConfig({
      fs,
      gitdir: this.gitdir,
      path: `remote.${REMOTE}.url`,
    })) as unknown;
    if (current !== url) await git.addRemote({ fs, gitdir: this.gitdir, remote: REMOTE, url, force: true });
  }

  /** Remote-tracking branches and tags (not the HEAD symref), ref name → object id. */
  private async snapshotRefs(): Promise<Map<string, string>> {
    const refs = new Map<string, string>();
    for (const prefix of [TRACKING.slice(0, -1), 'refs/tags']) {
      for (const name of await git.listRefs({ fs, gitdir: this.gitdir, filepath: prefix })) {
        const ref = `${prefix}/${name}`;
        if (ref === REMOTE_HEAD) continue;
        refs.set(ref, await git.resolveRef({ fs, gitdir: this.gitdir, ref }));
      }
    }
    return refs;
  }

  private async restoreRefs(before: Map<string, string>): Promise<void> {
    const now = await this.snapshotRefs();
    for (const [ref, oid] of before) {
      if (now.get(ref) !== oid) await git.writeRef({ fs, gitdir: this.gitdir, ref, value: oid, force: true });
    }
    for (const ref of now.keys()) {
      if (!before.has(ref)) await git.deleteRef({ fs, gitdir: this.gitdir, ref });
    }
  }

  /** Turn a failed fetch into an error a person can act on, without the token in it. */
  private fetchError(err: unknown, token: string | null, fetchedBefore: boolean): MooringError {
    const code = errorCode(err);
    const status = httpStatus(err);
    const fetched = fetchedBefore
      ? 'status keeps using the last fetched revision'
      : 'nothing was fetched yet';
    const unreachable = (cause: string, advice: string): MooringError =>
      new UnreachableError(scrub(`${this.label()} is unreachable: ${cause}. ${advice}; ${fetched}.`, token), {
        cause: err,
      });

    if (status === 401 || status === 403) {
      const advice = this.config.tokenEnv
        ? `Check the token in the environment variable ${this.config.tokenEnv} (is it valid, and may it read this repository?)`
        : "The server wants credentials: set the source's token variable (tokenEnv) to the name of an environment variable that holds an access token";
      return unreachable(`the server refused access (HTTP ${status})`, advice);
    }
    if (status === 404) return unreachable('the repository was not found (HTTP 404)', 'Check the URL');
    if (status !== null) {
      return unreachable(`the server answered HTTP ${status}`, 'Check that the server is working');
    }
    const network: Record<string, string> = {
      ECONNREFUSED: 'connection refused',
      ECONNRESET: 'the connection was reset',
      EPIPE: 'the connection was closed',
      ETIMEDOUT: 'the connection timed out',
      EHOSTUNREACH: 'the host cannot be reached',
      ENETUNREACH: 'the network cannot be reached',
      ENOTFOUND: 'the host name was not found',
      EAI_AGAIN: 'the host name could not be looked up',
    };
    if (code !== null && network[code] !== undefined) {
      return unreachable(network[code], 'Check the URL and that the server is up');
    }
    if (errorMessage(err) === 'Request timed out') {
      return unreachable('the server did not answer in time', 'Check that the server is up');
    }
    if (code !== null && /CERT|SSL|TLS/.test(code)) {
      return unreachable(
        `the TLS certificate was not accepted (${code})`,
        'Check the URL and the server certificate',
      );
    }
    if (code === 'SmartHttpError') {
      return unreachable(
        'the URL answered, but not as a git smart-HTTP server',
        'Check the URL (it usually ends in .git)',
      );
    }
    if (code === 'UrlParseError' || code === 'UnknownTransportError') {
      return new MooringError('usage', `${this.label()} has a URL that is not an http(s) git URL.`, {
        cause: err,
      });
    }
    if (code === 'NotFoundError' && this.config.branch) {
      return new MooringError(
        'not-found',
        `Branch "${this.config.branch}" does not exist in ${this.label()}; check the branch in the source config.`,
        { cause: err },
      );
    }
    if (code === 'NotFoundError') {
      return new MooringError(
        'not-found',
        `${this.label()} has no default branch (its HEAD names no branch); set a branch in the source config.`,
        { cause: err },
      );
    }
    return new MooringError('failed', scrub(`Fetching ${this.label()} failed: ${errorMessage(err)}`, token), {
      cause: err,
    });
  }

  // ── reading ───────────────────────────────────────────────────────────────────────────────────────

  /** The tip of a branch as last fetched (http) or as it is now (local). */
  private async tip(branch: string): Promise<string> {
    const ref = this.config.kind === 'http' ? TRACKING + branch : `refs/heads/${branch}`;
    const oid = await this.peel(ref);
    if (oid) return oid;
    const why =
      this.config.kind === 'http'
        ? 'it was not on the remote at the last fetch, or the source has not been fetched yet'
        : 'the local repository has no such branch';
    throw new MooringError('not-found', `Branch "${branch}" of ${this.label()} is not known: ${why}.`);
  }

  private async lookup(rev: string): Promise<string | null> {
    if (!isRefLike(rev)) return null;
    if (/^[0-9a-f]{40}$/i.test(rev)) return this.peel(rev.toLowerCase());
    // An http mirror keeps branches as remote-tracking refs, so "HEAD" there is the remote's HEAD.
    const candidates = rev.startsWith('refs/')
      ? [rev]
      : this.config.kind === 'http'
        ? [TRACKING + rev, `refs/tags/${rev}`]
        : rev === 'HEAD'
          ? ['HEAD']
          : [`refs/heads/${rev}`, `refs/tags/${rev}`, `refs/remotes/${rev}`];
    for (const ref of candidates) {
      const oid = await this.peel(ref);
      if (oid) return oid;
    }
    if (/^[0-9a-f]{4,39}$/i.test(rev)) {
      let full: string;
      try {
        full = await git.expandOid({
          fs: readFs,
          gitdir: this.gitdir,
          oid: rev.toLowerCase(),
          cache: this.gitCache,
        });
      } catch (err) {
        if (errorCode(err) === 'AmbiguousError') {
          throw new MooringError(
            'usage',
            `Revision "${rev}" is ambiguous in ${this.label()}: more than one object id starts with it. Give more digits.`,
            { cause: err },
          );
        }
        return null;
      }
      return this.peel(full);
    }
    return null;
  }

  /** The commit a ref or object id names (following annotated tags), or null when there is none. */
  private async peel(refOrOid: string): Promise<string | null> {
    if (this.worktreeObject(refOrOid, 'commit')) return refOrOid;
    try {
      const oid = /^[0-9a-f]{40}$/.test(refOrOid)
        ? refOrOid
        : await git.resolveRef({ fs: readFs, gitdir: this.gitdir, ref: refOrOid });
      const { oid: commit } = await git.readCommit({
        fs: readFs,
        gitdir: this.gitdir,
        oid,
        cache: this.gitCache,
      });
      return commit;
    } catch {
      return null;
    }
  }

  private async commit(oid: string): Promise<CommitObject> {
    const cached = this.commits.get(oid) ?? this.worktreeObject(oid, 'commit')?.commit;
    if (cached) return cached;
    let commit: CommitObject;
    try {
      ({ commit } = await git.readCommit({ fs: readFs, gitdir: this.gitdir, oid, cache: this.gitCache }));
    } catch (err) {
      throw new MooringError('not-found', `Commit ${oid} is not in ${this.label()}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    if (this.commits.size >= CACHE_LIMIT) this.commits.clear();
    this.commits.set(oid, commit);
    return commit;
  }

  private async commitOrNull(oid: string): Promise<CommitObject | null> {
    try {
      return await this.commit(oid);
    } catch {
      return null;
    }
  }

  private async rootTree(commit: string): Promise<string> {
    return (await this.commit(commit)).tree;
  }

  private async tree(oid: string): Promise<TreeEntry[]> {
    const cached = this.trees.get(oid) ?? this.worktreeObject(oid, 'tree')?.tree;
    if (cached) return cached;
    let tree: TreeEntry[];
    try {
      ({ tree } = await git.readTree({ fs: readFs, gitdir: this.gitdir, oid, cache: this.gitCache }));
    } catch (err) {
      const code = errorCode(err);
      // A tree holding "..", "/" or ".git" (isomorphic-git refuses to parse it), or an entry that claims
      // a folder mode for a file object: both only come from a commit written by hand.
      const message =
        code === 'UnsafeFilepathError'
          ? `Folder object ${oid} of ${this.label()} holds an entry whose name git refuses (${errorMessage(err)}); the commit was written by hand.`
          : code === 'ObjectTypeError'
            ? `Object ${oid} of ${this.label()} is listed as a folder but is not one (${errorMessage(err)}); the commit was written by hand or the repository is damaged.`
            : `Folder object ${oid} is not in ${this.label()}: ${errorMessage(err)}`;
      throw new MooringError('not-found', message, { cause: err });
    }
    if (this.trees.size >= CACHE_LIMIT) this.trees.clear();
    this.trees.set(oid, tree);
    return tree;
  }

  /** What a normalized repo-relative path names below a tree ('' is the tree itself). */
  private async statIn(treeOid: string, p: string): Promise<TreeStat | null> {
    let current: TreeStat = { type: 'tree', oid: treeOid };
    if (p === '') return current;
    for (const segment of p.split('/')) {
      if (current.type !== 'tree') return null;
      const entry = (await this.tree(current.oid)).find((e) => e.path === segment);
      // A submodule ('commit') has no objects here: as good as missing.
      if (!entry || entry.type === 'commit') return null;
      current = { type: entry.type, oid: entry.oid };
    }
    return current;
  }

  /**
   * What a normalized repo-relative path names below a root tree, following symbolic links among the
   * commit's own objects while they stay inside the repo (a checkout would show the target's content).
   */
  private async resolveIn(rootOid: string, p: string): Promise<Resolved> {
    let rest = p === '' ? [] : p.split('/');
    let walked: string[] = [];
    let current: TreeStat = { type: 'tree', oid: rootOid };
    let links = 0;
    while (rest.length > 0) {
      const [segment, ...more] = rest as [string, ...string[]];
      rest = more;
      if (current.type !== 'tree') return MISSING;
      const shown = [...walked, segment].join('/');
      const matches = (await this.tree(current.oid)).filter((e) => e.path === segment);
      if (matches.length > 1) {
        return { kind: 'refused', why: `${shown}: ${duplicateEntry(matches)!.why}` };
      }
      const entry = matches[0];
      // A submodule ('commit') has no objects here: as good as missing, but said so where it matters.
      if (entry === undefined) return MISSING;
      if (entry.type === 'commit') return { kind: 'missing', submodule: shown };
      if (entry.mode !== SYMLINK_MODE) {
        walked.push(segment);
        current = { type: entry.type, oid: entry.oid, mode: entry.mode };
        continue;
      }
      if (++links > MAX_LINKS) {
        return {
          kind: 'refused',
          why: `${shown}: more than ${MAX_LINKS} symbolic links on the way (a loop?)`,
        };
      }
      const target = await this.linkTarget(entry.oid);
      const landing =
        target === null || target.startsWith('/')
          ? null
          : normalizePath(path.posix.join(walked.join('/'), target));
      if (landing === null) {
        const to = target === null ? 'an unreadable target' : `"${target}"`;
        return {
          kind: 'refused',
          why: `${shown} is a symbolic link to ${to}, which leads outside the config repo; Mooring reads only the repo's own files`,
        };
      }
      rest = [...(landing === '' ? [] : landing.split('/')), ...rest];
      walked = [];
      current = { type: 'tree', oid: rootOid };
    }
    return { kind: 'found', stat: current };
  }

  /** A link's target text, or null when it is no path (too long, a NUL, empty). */
  private async linkTarget(oid: string): Promise<string | null> {
    // A link entry whose object is a folder (its mode lies) has no target either.
    const bytes = await this.readBlob(oid).catch((err: unknown) => {
      if (err instanceof MooringError) return null;
      throw err;
    });
    if (bytes === null) return null;
    if (bytes.length === 0 || bytes.length > MAX_LINK_TARGET) return null;
    const text = new TextDecoder().decode(bytes);
    return text.includes('\0') ? null : text;
  }

  /** Stacks below a tree, paths relative to it. Memoized by tree oid: unchanged folders cost nothing. */
  private stacksIn(treeOid: string): Promise<FoundStack[]> {
    let found = this.stacksByTree.get(treeOid);
    if (!found) {
      found = this.findStacks(treeOid);
      // A failed read must not stay cached.
      found.catch(() => {
        this.stacksByTree.delete(treeOid);
      });
      if (this.stacksByTree.size >= CACHE_LIMIT) this.stacksByTree.clear();
      this.stacksByTree.set(treeOid, found);
    }
    return found;
  }

  private async findStacks(treeOid: string): Promise<FoundStack[]> {
    const stacks: FoundStack[] = [];
    for (const entry of await this.tree(treeOid)) {
      // An empty name (a tree written by hand) would make the stack's paths those of its parent.
      if (entry.type !== 'tree' || entry.path.startsWith('.') || portableNameProblem(entry.path) !== null)
        continue;
      const children = await this.tree(entry.oid);
      const compose = COMPOSE_FILES.find((name) =>
        children.some((c) => c.path === name && c.type === 'blob' && c.mode !== SYMLINK_MODE),
      );
      if (compose) {
        stacks.push({ dir: entry.path, composeFile: `${entry.path}/${compose}`, oid: entry.oid });
        continue;
      }
      for (const inner of await this.stacksIn(entry.oid)) {
        stacks.push({
          dir: `${entry.path}/${inner.dir}`,
          composeFile: `${entry.path}/${inner.composeFile}`,
          oid: inner.oid,
        });
      }
    }
    return stacks.sort((a, b) => compare(a.dir, b.dir));
  }

  /** Stack folders (dir below config.path → folder oid) at a root tree; none when the path is missing. */
  private async stackFolders(rootTree: string): Promise<Map<string, FoundStack>> {
    const base = normalizePath(this.config.path);
    const stat = base === null ? null : await this.statIn(rootTree, base);
    if (stat?.type !== 'tree') return new Map();
    return new Map((await this.stacksIn(stat.oid)).map((s) => [s.dir, s]));
  }

  private async commitRecord(oid: string, commit: CommitObject): Promise<CommitRecord> {
    const firstParent = commit.parent[0];
    const parent = firstParent === undefined ? null : await this.commitOrNull(firstParent);
    const changed = new Set<string>();
    if (commit.tree !== parent?.tree) {
      const now = await this.stackFolders(commit.tree);
      const before = parent ? await this.stackFolders(parent.tree) : new Map<string, FoundStack>();
      for (const [dir, stack] of now) {
        if (before.get(dir)?.oid !== stack.oid) changed.add(path.posix.basename(dir));
      }
      for (const dir of before.keys()) {
        if (!now.has(dir)) changed.add(path.posix.basename(dir));
      }
    }
    return {
      source: this.config.name,
      id: oid,
      parents: commit.parent,
      author: commit.author.name,
      email: commit.author.email,
      time: new Date(commit.committer.timestamp * 1000).toISOString(),
      message: commit.message.trimEnd(),
      stacks: [...changed].sort(compare),
    };
  }

  private label(): string {
    return `Source "${this.config.name}" (${displayUrl(this.config.url)})`;
  }
}

/** The options that send a source's token to the remote (as the password), for every transfer. */
function withToken(token: string | null): { onAuth?: () => { username: string; password: string } } {
  return token === null ? {} : { onAuth: () => ({ username: 'x-access-token', password: token }) };
}

// ── names from a tree written by hand ──────────────────────────────────────────────────────────────
// git itself never writes a tree whose entries collide, but a tree made with `git mktree` or
// `git hash-object -t tree --literally` may hold any name but one with a NUL or "/", twice over, and a
// symbolic link beside a folder of the same name (issue 10, hole 1). Whatever writes a tree out as
// files or packs it checks it with these.

/** A path for a message: a hand-made tree may nest thousands of folders, a message needs the ends. */
export function shortPath(p: string, max = 200): string {
  if (p.length <= max) return p;
  const half = Math.floor((max - 3) / 2);
  return `${p.slice(0, half)}…${p.slice(p.length - half)}`;
}

/** Windows' device names: a file of that name (with any extension) is the device, not a file. */
const WINDOWS_DEVICE =
  /^(con|prn|aux|nul|conin\$|conout\$|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3])(\..*)?$/i;
/** Code points that HFS+ ignores in names (git's is_hfs_dotgit strips the same ones). */
const HFS_IGNORED = /[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]/g;

/** Why a name can never be a path segment, on any platform (empty, ".", "..", "/" or NUL). */
export function portableNameProblem(name: string): string | null {
  if (name === '') return 'an entry has an empty name';
  if (name === '.' || name === '..') return `an entry is named "${name}", which would leave its folder`;
  if (name.includes('/') || name.includes('\0')) return 'the name holds "/" or NUL';
  return null;
}

/**
 * Why a tree entry's name cannot be a file name on this platform, or null. Windows' rules apply only
 * there: on Linux and macOS "a:b" is an ordinary name that a config repo may well hold.
 */
export function entryNameProblem(name: string, platform: NodeJS.Platform = process.platform): string | null {
  const portable = portableNameProblem(name);
  if (portable !== null) return portable;
  // ext4, APFS and NTFS all stop at 255 (bytes, or UTF-16 units on NTFS: never more than bytes).
  if (Buffer.byteLength(name, 'utf8') > 255) return 'the name is longer than 255 bytes';
  if (platform === 'win32') {
    // "\" is a separator there ("a\..\..\x" would leave the folder), ":" names an alternate data stream.
    if (/[\\:<>"|?*]/.test(name) || hasControlCharacter(name)) {
      return 'the name holds a character Windows does not take in a file name (\\ : < > " | ? * or a control character)';
    }
    if (/[. ]$/.test(name)) return 'the name ends in a dot or a space, which Windows drops';
    if (WINDOWS_DEVICE.test(name)) return 'the name is a device name on Windows (CON, NUL, COM1…)';
  }
  return null;
}

function hasControlCharacter(name: string): boolean {
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) < 0x20) return true;
  return false;
}

/**
 * A name as a case-insensitive, normalization-insensitive file system compares it (APFS and HFS+ by
 * default, NTFS, ext4 with casefold): two names of one fold are one file there. Upper then lower case
 * approximates Unicode case folding closely enough to refuse, which is all it is used for.
 */
export function foldName(name: string): string {
  return name
    .replace(HFS_IGNORED, '')
    .normalize('NFD')
    .toUpperCase()
    .toLowerCase()
    .normalize('NFC')
    .replace(/[. ]+$/, '');
}

/**
 * Two names of one folder that would be one file: exactly equal, or equal to a file system that
 * ignores case and Unicode normalization. Refused on every platform, so one commit behaves the same on
 * every machine of a team (and ext4 folders can be case-insensitive too).
 */
export function siblingProblem(names: readonly string[]): { name: string; why: string } | null {
  const seen = new Map<string, string>();
  for (const name of names) {
    const key = foldName(name);
    const other = seen.get(key);
    if (other === name)
      return {
        name,
        why: 'the name appears twice in its folder (a tree written by hand; git never makes one)',
      };
    if (other !== undefined) {
      return {
        name,
        why: `"${name}" and "${other}" are one name on a case-insensitive file system (macOS, Windows), so one would be written over the other`,
      };
    }
    seen.set(key, name);
  }
  return null;
}

/** The first name that appears more than once among a tree's entries, and what the copies are. */
function duplicateEntry(entries: readonly TreeEntry[]): { name: string; why: string } | null {
  const byName = new Map<string, TreeEntry>();
  for (const e of entries) {
    const other = byName.get(e.path);
    if (other === undefined) {
      byName.set(e.path, e);
      continue;
    }
    const kinds = new Set([other, e].map((x) => (x.mode === SYMLINK_MODE ? 'link' : x.type)));
    const why =
      kinds.has('link') && kinds.has('tree')
        ? 'a symbolic link and a folder share this name (a tree written by hand; git never makes one), so the folder would be written through the link'
        : 'the name appears twice in its folder (a tree written by hand; git never makes one)';
    return { name: e.path, why };
  }
  return null;
}

/** The git dir of a local repo: `path/.git` for a repo with a work tree, the path itself for a bare one. */
function localGitdir(repo: string): string {
  const dotGit = path.join(repo, '.git');
  return fs.existsSync(dotGit) && fs.statSync(dotGit).isDirectory() ? dotGit : repo;
}

/**
 * A repo-relative posix path in canonical form ('' for the root), or null when it would leave the repo.
 * Accepts './a', '/a', 'a/', 'a//b' and 'a/../b'.
 */
function normalizePath(p: string): string | null {
  const normalized = path.posix.normalize(p.replace(/^\/+/, '')).replace(/\/+$/, '');
  if (normalized === '.' || normalized === '') return '';
  if (normalized === '..' || normalized.startsWith('../')) return null;
  return normalized;
}

/**
 * Roughly git's rules for a ref name: no "..", no spaces or control characters, no ~^:?*[\, no leading
 * "-" or "/". Anything else is no ref, and must not become a file path inside the git dir.
 */
function isRefLike(rev: string): boolean {
  if (rev.includes('..') || rev.startsWith('-') || rev.startsWith('/')) return false;
  for (const ch of rev) {
    const code = ch.codePointAt(0)!;
    if (code <= 0x20 || code === 0x7f || '~^:?*[\\'.includes(ch)) return false;
  }
  return true;
}

function joinPath(base: string, rel: string): string {
  return base === '' ? rel : `${base}/${rel}`;
}

/** Plain code-unit order: stable across locales, like git's own sorting of paths. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The URL without any user name or password in it, for messages and the mirror's config. */
function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === '' && parsed.password === '') return url;
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url;
  }
}

function scrub(message: string, token: string | null): string {
  return token ? message.split(token).join('***') : message;
}

/** `code` of an error, looking inside an AggregateError (Node tries IPv4 and IPv6 addresses in turn). */
function errorCode(err: unknown): string | null {
  if (typeof err !== 'object' || err === null) return null;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  const inner = (err as { errors?: unknown }).errors;
  return Array.isArray(inner) && inner.length > 0 ? errorCode(inner[0]) : null;
}

/** The HTTP status of isomorphic-git's HttpError, else null. */
function httpStatus(err: unknown): number | null {
  if (errorCode(err) !== 'HttpError') return null;
  const data = (err as { data?: { statusCode?: unknown } }).data;
  return typeof data?.statusCode === 'number' ? data.statusCode : null;
}
