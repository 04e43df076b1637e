// Sources: the config repos this home follows, each a GitSource (mirror, log, reader at a revision).
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { CommitVerify, SourceConfig, SourceState, WorktreeInfo } from '../../shared/model.ts';
import type { FetchResult } from '../engine-common.ts';
import { NAME } from '../engine-common.ts';
import { MooringError, UnreachableError, errorMessage } from '../errors.ts';
import { GitSource } from '../source/index.ts';
import { describeKeys, type Verification } from '../source/signatures.ts';
import { credentialsInUrlMessage, splitUserinfo, tokenEnvProblem } from '../source/url-credentials.ts';
import type { EngineContext } from './context.ts';

/** The config repos: adding, changing and removing them, their git mirrors, and fetching them. */
export class SourceService {
  private readonly gitSources = new Map<string, GitSource>();

  constructor(
    private readonly ctx: EngineContext,
    /** Reads a source's deploy notes into the history after a fetch (the pipeline's). */
    private readonly indexNotes: (source: string) => Promise<unknown>,
  ) {}

  /**
   * One GitSource per source config, kept for the engine's life: its caches (parsed trees and commits,
   * pack indexes and the pack itself) are what make a re-read of the same repo cheap. A new one per
   * call re-read the pack for every look the controller took (docs/benchmarks.md, issue 6). Everything
   * it caches is keyed by object id, so a fetch in between never leaves it stale.
   */
  gitSource(config: SourceConfig): GitSource {
    const { name, url, kind, branch, path: subPath, tokenEnv } = config;
    const author = this.ctx.settings.git?.author;
    const key = JSON.stringify([name, url, kind, branch, subPath, tokenEnv, author]);
    let git = this.gitSources.get(key);
    if (!git) {
      git = new GitSource({
        home: this.ctx.home,
        config: { name, url, kind, branch, path: subPath, tokenEnv },
        env: this.ctx.env,
        author,
      });
      this.gitSources.set(key, git);
    }
    return git;
  }

  source(name: string): SourceState {
    const s = this.ctx.history.sources.get(name);
    if (!s) {
      const known = this.ctx.history.sources.list().map((x) => x.name);
      throw new MooringError(
        'not-found',
        `No source named "${name}". ${known.length ? `Known sources: ${known.join(', ')}.` : 'Add one with `mooring source add NAME URL_OR_PATH`.'}`,
      );
    }
    return s;
  }

  async addSource(input: {
    name: string;
    url: string;
    branch?: string | null;
    path?: string | null;
    tokenEnv?: string | null;
    verify?: CommitVerify | null;
  }): Promise<{ source: SourceState; fetch: FetchResult }> {
    // First: every message below quotes the URL, and none may quote a password (issue 10).
    const credentials = splitUserinfo(input.url);
    if (credentials) {
      throw new MooringError(
        'usage',
        credentialsInUrlMessage({
          name: input.name,
          url: credentials.url,
          branch: input.branch,
          path: input.path,
        }),
      );
    }
    const tokenProblem = input.tokenEnv ? tokenEnvProblem(input.tokenEnv) : null;
    if (tokenProblem) throw new MooringError('usage', tokenProblem);
    if (input.verify) await describeKeys(input.verify);
    this.ctx.assertWritable('add a source');
    if (!NAME.test(input.name)) {
      throw new MooringError(
        'usage',
        `Source name "${input.name}" is not valid: use lowercase letters, digits, - and _.`,
      );
    }
    const isHttp = /^https?:\/\//i.test(input.url);
    let url = input.url;
    if (!isHttp) {
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) || /^[^/]+@[^:]+:/.test(url)) {
        throw new MooringError(
          'usage',
          `Only http(s) URLs and local paths are supported (not "${url}"): Mooring speaks git over HTTP.`,
        );
      }
      url = path.resolve(url);
      if (!existsSync(url) || !statSync(url).isDirectory()) {
        throw new MooringError('usage', `Local source path ${url} does not exist or is not a folder.`);
      }
    }
    const subPath = (input.path ?? '').replace(/^\/+|\/+$/g, '');
    if (subPath.split('/').includes('..'))
      throw new MooringError('usage', `--path must stay inside the repo (got "${input.path ?? ''}").`);
    const config: SourceConfig = {
      name: input.name,
      url,
      kind: isHttp ? 'http' : 'local',
      branch: input.branch ?? null,
      path: subPath,
      tokenEnv: input.tokenEnv ?? null,
      verify: input.verify ?? null,
    };
    this.ctx.history.sources.add(config);
    const [fetch] = await this.fetch(config.name);
    return { source: this.source(config.name), fetch: fetch! };
  }

  async updateSource(
    name: string,
    patch: { branch?: string | null; path?: string; tokenEnv?: string | null; verify?: CommitVerify | null },
  ): Promise<SourceState> {
    this.source(name);
    if (patch.verify) await describeKeys(patch.verify);
    const tokenProblem = patch.tokenEnv ? tokenEnvProblem(patch.tokenEnv) : null;
    if (tokenProblem) throw new MooringError('usage', tokenProblem);
    this.ctx.assertWritable('change a source');
    const path = patch.path?.replace(/^\/+|\/+$/g, '');
    if (path?.split('/').includes('..'))
      throw new MooringError('usage', `The sub-path must stay inside the repo (got "${patch.path ?? ''}").`);
    this.ctx.history.sources.update(name, { ...patch, ...(path !== undefined ? { path } : {}) });
    return this.source(name);
  }

  /**
   * For a source that asks for signatures: who may sign, and whether its branch tip is signed by one of
   * them (as last fetched); null for a source that does not ask.
   */
  async verifyTip(
    name: string,
  ): Promise<{ signers: string[]; tip: string; verification: Verification } | null> {
    const s = this.source(name);
    if (!s.verify) return null;
    const git = this.gitSource(s);
    const tip = await git.resolve();
    return {
      signers: await describeKeys(s.verify),
      tip,
      verification: await git.verification(tip, s.verify),
    };
  }

  removeSource(name: string): void {
    this.source(name);
    this.ctx.assertWritable('remove a source');
    this.ctx.history.sources.remove(name);
  }

  listSources(): SourceState[] {
    return this.ctx.history.sources.list();
  }

  /**
   * The work tree of each local source (or of the named one) as a revision of its own: what it
   * differs in from HEAD and the id a preview or deploy of it carries (issue 17, item 1).
   */
  async worktrees(name?: string): Promise<WorktreeInfo[]> {
    const sources = name ? [this.source(name)] : this.worktreeSources();
    const out: WorktreeInfo[] = [];
    for (const s of sources) out.push(await this.gitSource(s).worktree());
    return out;
  }

  /** The sources that have a work tree on this machine (added by a local path); none is an error. */
  worktreeSources(): SourceState[] {
    const local = this.ctx.history.sources.list().filter((s) => s.kind === 'local');
    if (local.length === 0) {
      throw new MooringError(
        'usage',
        'No source has a work tree here: --worktree previews a source added by its local path (`mooring source add NAME /path/to/repo`).',
      );
    }
    return local;
  }

  /** Fetches one or every source, caches new commits, records success or the error. Never throws for a remote. */
  async fetch(name?: string): Promise<FetchResult[]> {
    this.ctx.assertWritable('fetch');
    const sources = name ? [this.source(name)] : this.ctx.history.sources.list();
    const results: FetchResult[] = [];
    for (const s of sources) results.push(await this.fetchInTurn(s));
    return results;
  }

  /**
   * The last fetch asked for, by source: fetches of one source run one after the other, so that the
   * controllers of several engines in one process never write its mirror at once. (A fetch asked for
   * while one runs fetches again after it: a commit pushed meanwhile is not missed.)
   */
  private readonly fetching = new Map<string, Promise<unknown>>();

  private fetchInTurn(s: SourceState): Promise<FetchResult> {
    const next = (this.fetching.get(s.name) ?? Promise.resolve()).then(() => this.fetchOne(s));
    const settled = next.catch(() => undefined);
    this.fetching.set(s.name, settled);
    void settled.then(() => {
      if (this.fetching.get(s.name) === settled) this.fetching.delete(s.name);
    });
    return next;
  }

  private async fetchOne(s: SourceState): Promise<FetchResult> {
    const git = this.gitSource(s);
    try {
      const { head, notes } = await git.fetch();
      const commits = await git.log({ known: this.ctx.history.commits.known(s.name), limit: 500 });
      this.ctx.history.commits.add(commits.map((c) => ({ ...c, source: s.name })));
      this.ctx.history.sources.recordFetch(s.name, { head });
      // Deploys from notes (other machines' too) are a cache: failing to read them fails nothing.
      const indexed = await this.indexNotes(s.name).then(
        () => null,
        (err: unknown) => `Reading the deploy notes failed: ${errorMessage(err)}`,
      );
      const notesError = notes?.error ?? indexed;
      return {
        source: s.name,
        head,
        newCommits: commits.length,
        error: null,
        ...(notesError ? { notesError } : {}),
      };
    } catch (err) {
      this.ctx.history.sources.recordFetch(s.name, { error: errorMessage(err) });
      if (!(err instanceof UnreachableError) && !(err instanceof MooringError)) throw err;
      return { source: s.name, head: null, newCommits: 0, error: errorMessage(err) };
    }
  }
}
