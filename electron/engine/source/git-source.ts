// A config repo as the engine sees it: fetched into a bare mirror (http) or read in place (local path),
// and always read from git objects at a commit, never from a work tree, so any revision can be shown,
// diffed or redeployed offline.
import fs from 'node:fs';
import path from 'node:path';
import * as git from 'isomorphic-git';
import type { CommitObject, FetchResult, TreeEntry } from 'isomorphic-git';
import nodeHttp from 'isomorphic-git/http/node';
import type { HttpClient } from 'isomorphic-git/http/node';
import type { CommitRecord, SourceConfig } from '../../shared/model.ts';
import { MooringError, UnreachableError, errorMessage } from '../errors.ts';
import { compareAndSwapRef, DEFAULT_AUTHOR, type GitAuthor } from './git-write.ts';
import { mergeRemoteNotes, NOTES_REF, notesTip, type NotesMerge } from './notes.ts';

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
}

/** Reads files of one commit, by repo-relative posix path. */
export interface RepoReader {
  /** UTF-8 text of a file, or null when the path is missing or is a folder. */
  readFile(path: string): Promise<string | null>;
  stat(path: string): Promise<TreeStat | null>;
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

/** Where a publish ended: moved the branch, or found it moved by someone else (fetch and try again). */
export type PublishResult = 'ok' | 'rejected';

const REMOTE = 'origin';
const TRACKING = `refs/remotes/${REMOTE}/`;
const REMOTE_HEAD = `${TRACKING}HEAD`;
const SYMLINK_MODE = '120000';
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_LOG_LIMIT = 200;
// Parsed trees and commits are immutable (keyed by oid), so caching them is always correct; the bound
// only keeps a long-running app from growing without end.
const CACHE_LIMIT = 50_000;

/**
 * The file system isomorphic-git reads objects and refs through. Each object read costs it a few small
 * file operations (stat the git dir, try a loose object, list the packs); done as async calls, each
 * waits for a thread-pool round trip, which made log() of 1,000 commits take seconds. These are tiny
 * synchronous calls instead; the pack file itself is read once and kept in memory. Writes (fetch) use
 * the ordinary async fs.
 */
const readFs = {
  promises: {
    readFile: (file: string, options?: BufferEncoding | { encoding?: BufferEncoding | null }) =>
      sync(() => fs.readFileSync(file, options)),
    readdir: (dir: string) => sync(() => fs.readdirSync(dir)),
    stat: (file: string) => sync(() => fs.statSync(file)),
    lstat: (file: string) => sync(() => fs.lstatSync(file)),
    readlink: (file: string) => sync(() => fs.readlinkSync(file)),
    writeFile: fs.promises.writeFile,
    unlink: fs.promises.unlink,
    mkdir: fs.promises.mkdir,
    rmdir: fs.promises.rmdir,
    symlink: fs.promises.symlink,
  },
};

function sync<T>(read: () => T): Promise<T> {
  try {
    return Promise.resolve(read());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

/**
 * Fetches in progress, by git dir. Two fetches into one mirror at once would write the same pack and
 * refs twice over; sharing the running one is also what a caller wants (the same result, sooner). Keyed
 * by git dir rather than held per instance because callers may make a GitSource per request.
 */
const inflight = new Map<string, Promise<FetchOutcome>>();

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
   * mirror (from any instance) share one fetch.
   */
  fetch(): Promise<FetchOutcome> {
    let running = inflight.get(this.gitdir);
    if (!running) {
      running = (this.config.kind === 'http' ? this.fetchRemote() : this.checkLocal()).finally(() => {
        inflight.delete(this.gitdir);
      });
      inflight.set(this.gitdir, running);
    }
    return running;
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
    const oid = await this.lookup(rev);
    if (oid) return oid;
    const where = this.config.kind === 'http' ? ' as of its last fetch' : '';
    throw new MooringError(
      'not-found',
      `Revision "${rev}" was not found in ${this.label()}${where}: it is not a branch, a tag or a commit id there.`,
    );
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
    return {
      readFile: async (file) => {
        const p = normalizePath(file);
        const stat = p === null ? null : await this.statIn(await rootTree(), p);
        if (stat?.type !== 'blob') return null;
        return new TextDecoder().decode(await this.readBlob(stat.oid));
      },
      stat: async (file) => {
        const p = normalizePath(file);
        return p === null ? null : this.statIn(await rootTree(), p);
      },
    };
  }

  /** Raw bytes of a blob. */
  async readBlob(oid: string): Promise<Uint8Array> {
    try {
      const { blob } = await git.readBlob({ fs: readFs, gitdir: this.gitdir, oid, cache: this.gitCache });
      return blob;
    } catch (err) {
      const message = `File object ${oid} is not in ${this.label()}: ${errorMessage(err)}`;
      throw new MooringError('not-found', message, { cause: err });
    }
  }

  /** Every file below a tree (recursively; submodules skipped), paths relative to that tree, sorted. */
  async listTree(oid: string): Promise<TreeFile[]> {
    const files: TreeFile[] = [];
    const walk = async (treeOid: string, prefix: string): Promise<void> => {
      for (const entry of await this.tree(treeOid)) {
        const p = prefix === '' ? entry.path : `${prefix}/${entry.path}`;
        if (entry.type === 'tree') await walk(entry.oid, p);
        else if (entry.type === 'blob') files.push({ path: p, oid: entry.oid, mode: entry.mode });
      }
    };
    await walk(oid, '');
    return files.sort((a, b) => compare(a.path, b.path));
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
        ...(token === null ? {} : { onAuth: () => ({ username: 'x-access-token', password: token }) }),
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
        ...(token === null ? {} : { onAuth: () => ({ username: 'x-access-token', password: token }) }),
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
        ...(token === null ? {} : { onAuth: () => ({ username: 'x-access-token', password: token }) }),
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
    const cached = this.commits.get(oid);
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
    const cached = this.trees.get(oid);
    if (cached) return cached;
    let tree: TreeEntry[];
    try {
      ({ tree } = await git.readTree({ fs: readFs, gitdir: this.gitdir, oid, cache: this.gitCache }));
    } catch (err) {
      throw new MooringError(
        'not-found',
        `Folder object ${oid} is not in ${this.label()}: ${errorMessage(err)}`,
        {
          cause: err,
        },
      );
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
      if (entry.type !== 'tree' || entry.path.startsWith('.')) continue;
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
