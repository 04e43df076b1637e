// The pipeline stages as the engine offers them to the CLI and the UI: build, promote (write-back),
// deploy notes, rollback. Kept apart from engine.ts so the facade stays a list of one-line delegations.
import { hostname } from 'node:os';
import { WORKTREE, type ImagePin, type SourceConfig, type SourceState } from '../../shared/model.ts';
import type { DockerAdapter } from '../docker/docker-adapter.ts';
import type { FetchResult, LoadedStack, SyncOptions, SyncResult } from '../engine-common.ts';
import type { HistoryStore } from '../history/store.ts';
import type { Settings } from '../settings.ts';
import type { GitSource } from '../source/index.ts';
import { MooringError, errorMessage } from '../errors.ts';
import type { ProgressEvent } from '../reconcile/apply.ts';
import { DEFAULT_AUTHOR, type GitAuthor } from '../source/git-write.ts';
import { BUILD_LABELS, buildImage, type BuildEvent, type BuildOptions, type BuildResult } from './build.ts';
import { indexNotes, writeDeployNote, type NoteOutcome } from './deploy-notes.ts';
import { exactImages, pinImages } from './exact-images.ts';
import type { BuildRecord, DeployRecord, PipelineStore } from './pipeline-store.ts';
import { promote, type PromoteInput, type PromoteResult } from './promote.ts';
import { revertStack, type RevertResult } from './revert.ts';

export interface PromoteOptions extends PromoteInput {
  /** The source whose stack it is; default: the one source that has a stack of that name. */
  source?: string | null;
  /** Called with the commit right before it is published (see WriteBackOptions.beforePublish). */
  beforePublish?: (info: { commit: string; parent: string; attempt: number }) => Promise<void> | void;
}

export interface BuildAndPromoteOptions extends BuildOptions {
  /** Also write the built image into this stack's service and publish it (always pushed). */
  promote?: { stack: string; service: string; source?: string | null; message?: string | null } | null;
  beforePublish?: PromoteOptions['beforePublish'];
}

export interface BuildAndPromoteResult {
  build: BuildResult;
  promote: PromoteResult | null;
}

export type RollbackResult =
  | {
      mode: 'deploy';
      stack: string;
      source: string;
      revision: string;
      sync: SyncResult;
      /** Services deployed from the image that ran at that revision, their tag having moved since. */
      pinned: ImagePin[];
      /** Auto-sync is suspended for the stack until `mooring resume`. */
      suspended: true;
    }
  | {
      mode: 'revert';
      stack: string;
      source: string;
      revision: string;
      revert: RevertResult;
      /** The stack was (and stays) suspended, so the controller will not deploy the revert by itself. */
      suspended: boolean;
    };

/**
 * What the pipeline needs of the engine, which passes itself: an interface rather than an import of
 * engine.ts, so that the engine (which makes the pipeline) and the pipeline do not import each other.
 */
export interface PipelineHost {
  readonly settings: Settings;
  readonly history: HistoryStore;
  readonly docker: DockerAdapter;
  gitSource(config: SourceConfig): GitSource;
  fetch(name?: string): Promise<FetchResult[]>;
  loadStacks(opts: { stacks?: string[]; revision?: string | null }): Promise<LoadedStack[]>;
  listSuspended(): Map<string, { since: string; reason: string | null }>;
  setSuspended(stack: string, suspended: boolean, reason?: string | null): void;
  syncStack(stack: LoadedStack, opts: SyncOptions): Promise<SyncResult>;
}

export class Pipeline {
  constructor(
    private readonly engine: PipelineHost,
    readonly store: PipelineStore,
  ) {}

  private get author(): GitAuthor {
    return this.engine.settings.git?.author ?? DEFAULT_AUTHOR;
  }

  // ---- build ----

  async build(
    opts: BuildAndPromoteOptions,
    onEvent?: (e: BuildEvent) => void,
  ): Promise<BuildAndPromoteResult> {
    // A misspelt --source, or a source Mooring cannot commit to, should fail before a build that may
    // take minutes, not after it.
    if (opts.promote) {
      refuseUnsignedCommit(
        await this.sourceOfStack(opts.promote.stack, opts.promote.source ?? null),
        'promote',
      );
    }
    const build = await buildImage(
      { source: (config) => this.engine.gitSource(config), docker: this.engine.docker, recorder: this.store },
      opts,
      onEvent,
    );
    if (build.result !== 'succeeded' || !opts.promote || build.tag === null) return { build, promote: null };
    const result = await this.promote({
      stack: opts.promote.stack,
      service: opts.promote.service,
      image: build.tag,
      source: opts.promote.source ?? null,
      message: opts.promote.message ?? null,
      appCommit: build.commit,
      appRepo: build.appRepo,
      push: true,
      ...(opts.beforePublish ? { beforePublish: opts.beforePublish } : {}),
    });
    return { build, promote: result };
  }

  listBuilds(opts: { appRepo?: string; limit?: number; before?: number } = {}): BuildRecord[] {
    return this.store.listBuilds(opts);
  }

  getBuild(id: number): (BuildRecord & { log: string }) | undefined {
    return this.store.getBuild(id);
  }

  // ---- promote ----

  async promote(input: PromoteOptions): Promise<PromoteResult> {
    const source = refuseUnsignedCommit(
      await this.sourceOfStack(input.stack, input.source ?? null),
      'promote',
    );
    const known = input.appCommit ? null : await this.imageOrigin(input.image);
    const git = this.engine.gitSource(source);
    const result = await promote(
      git,
      {
        ...input,
        appCommit: input.appCommit ?? known?.commit ?? null,
        appRepo: input.appRepo ?? known?.repo ?? null,
      },
      { author: this.author, ...(input.beforePublish ? { beforePublish: input.beforePublish } : {}) },
    );
    // Cache the new commit now, so `log` and the UI show it before the next poll.
    if (result.commit !== null) await this.engine.fetch(source.name);
    return result;
  }

  /** Where an image was built from: its labels in the local engine, else the build history. */
  private async imageOrigin(image: string): Promise<{ commit: string; repo: string | null } | null> {
    try {
      const labels = (await this.engine.docker.imageInfo(image))?.labels ?? {};
      const commit = labels[BUILD_LABELS.appCommit] ?? labels[BUILD_LABELS.revision];
      if (commit)
        return { commit, repo: labels[BUILD_LABELS.appRepo] ?? labels[BUILD_LABELS.source] ?? null };
    } catch {
      // not in this engine, or the engine is away: the history may still know
    }
    const build = this.store.buildOfImage(image);
    return build?.commit ? { commit: build.commit, repo: build.appRepo } : null;
  }

  // ---- rollback ----

  async rollback(
    stack: string,
    revision: string,
    opts: {
      revert?: boolean;
      /** Deploy what the revision's tags point to now, not the images that ran then. */
      byTag?: boolean;
      /** The run (of this home, at that revision) whose images to deploy; default: its last good deploy. */
      run?: number;
      onProgress?: (e: ProgressEvent) => void;
      beforePublish?: PromoteOptions['beforePublish'];
    } = {},
  ): Promise<RollbackResult> {
    const fromWorktree =
      revision === WORKTREE ||
      (opts.run !== undefined && this.engine.history.runs.get(opts.run)?.run.trigger === 'worktree');
    if (fromWorktree) {
      throw new MooringError(
        'usage',
        'Uncommitted files are in no commit, so they cannot be rolled back to: commit them and deploy the commit, or preview and deploy the work tree with `mooring sync --worktree`.',
      );
    }
    const loaded = await this.engine.loadStacks({ stacks: [stack], revision });
    const found = loaded.find((s) => s.name === stack);
    if (!found?.revision) {
      throw new MooringError(
        'not-found',
        `No stack "${stack}" at revision ${revision}. Run \`mooring log\` to see the commits.`,
      );
    }
    const source = this.requireSource(found.source);
    if (opts.revert) {
      refuseUnsignedCommit(source, 'revert');
      const revert = await revertStack(
        this.engine.gitSource(source),
        { stack, revision: found.revision },
        { author: this.author, ...(opts.beforePublish ? { beforePublish: opts.beforePublish } : {}) },
      );
      if (revert.commit !== null) await this.engine.fetch(source.name);
      return {
        mode: 'revert',
        stack,
        source: source.name,
        revision: found.revision,
        revert,
        suspended: this.engine.listSuspended().has(stack),
      };
    }
    // The images that ran at that revision, where a tag has moved since; found before any change, so
    // a rollback that cannot have them changes nothing (unless asked to take the tags as they are).
    const pinned = opts.byTag ? [] : await this.exactImagesOf(found, opts.run);
    const wasSuspended = this.engine.listSuspended().get(stack);
    // Suspended before the deploy, so a running controller cannot put the tip back in between.
    this.engine.setSuspended(
      stack,
      true,
      `rolled back to ${found.revision.slice(0, 12)}; \`mooring resume ${stack}\` returns it to the branch tip`,
    );
    let sync: SyncResult;
    try {
      sync = await this.engine.syncStack(
        found.desired ? { ...found, desired: pinImages(found.desired, pinned) } : found,
        { trigger: 'rollback', ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) },
      );
    } catch (err) {
      // Nothing was deployed: leave the stack as it was.
      if (!wasSuspended) this.engine.setSuspended(stack, false);
      throw err;
    }
    return {
      mode: 'deploy',
      stack,
      source: source.name,
      revision: found.revision,
      sync,
      pinned,
      suspended: true,
    };
  }

  /**
   * The pins that give a stack the images a deploy of that revision ran: the given run of this home,
   * else the last successful deploy (this machine's first, else another's: an image id is the same
   * everywhere). Throws, naming each service, when an image that ran can be neither found here nor
   * pulled by digest.
   */
  private async exactImagesOf(found: LoadedStack, run: number | undefined): Promise<ImagePin[]> {
    if (!found.desired || !found.revision) return [];
    const deploys = (this.store.deploysOf([found.revision], found.source).get(found.revision) ?? []).filter(
      (d) => d.stack === found.name && d.images.length > 0,
    );
    const deploy =
      run === undefined
        ? (deploys.find((d) => d.result === 'succeeded' && d.host === hostname()) ??
          deploys.find((d) => d.result === 'succeeded'))
        : deploys.find((d) => d.local && d.runId === run);
    if (!deploy) return [];
    const { pins, problems } = await exactImages(this.engine.docker, found.desired, deploy.images);
    if (problems.length > 0) {
      const rev = found.revision.slice(0, 12);
      throw new MooringError(
        'failed',
        `Cannot roll back ${found.name} to the images that ran at ${rev} (run ${deploy.runId} on ${deploy.host}): ${problems.join('; ')}. Nothing was changed. \`mooring rollback ${found.name} ${rev} --by-tag\` deploys what the tags point to now.`,
      );
    }
    return pins;
  }

  // ---- deploy notes ----

  /** Writes (and pushes, for http) the note of a finished run. Never throws: problems come back in the outcome. */
  async afterRun(runId: number | null): Promise<NoteOutcome | null> {
    if (runId === null) return null;
    const { run, actions } = this.engine.history.runs.get(runId) ?? {};
    if (!run || !actions || run.result === 'running') return null;
    // A work tree's files are in no commit: there is nothing to hang a note on.
    if (run.trigger === 'worktree') return null;
    // A sync that found nothing to do deployed nothing: after this home's earlier deploy of the same
    // commit (and its note), another note line and push on every press of Sync would bury the deploys.
    if (actions.length === 0 && run.result === 'succeeded' && this.engine.history.runs.deployedBefore(run))
      return { commit: run.revision, written: false, pushed: null, error: null };
    const source = this.engine.history.sources.get(run.source);
    if (!source) return null;
    try {
      return await writeDeployNote({
        source: this.engine.gitSource(source),
        docker: this.engine.docker,
        store: this.store,
        run,
        author: this.author,
      });
    } catch (err) {
      return { commit: run.revision, written: false, pushed: null, error: errorMessage(err) };
    }
  }

  /** Reads a source's notes ref into the deploys cache (after a fetch). Returns how many notes changed. */
  async indexNotes(sourceName: string): Promise<number> {
    const source = this.engine.history.sources.get(sourceName);
    if (!source) return 0;
    return indexNotes(this.engine.gitSource(source), this.store);
  }

  /** Deploys of these commits, every machine's (from notes) and this one's (from its runs), newest first. */
  deploysOf(commits: string[], source?: string): Map<string, DeployRecord[]> {
    return this.store.deploysOf(commits, source);
  }

  // ---- helpers ----

  private requireSource(name: string): SourceState {
    const s = this.engine.history.sources.get(name);
    if (!s)
      throw new MooringError(
        'not-found',
        `No source named "${name}". Run \`mooring source list\` to see them.`,
      );
    return s;
  }

  private async sourceOfStack(stack: string, name: string | null): Promise<SourceState> {
    if (name !== null) return this.requireSource(name);
    const loaded = (await this.engine.loadStacks({ stacks: [stack] })).filter((s) => s.name === stack);
    const sources = [...new Set(loaded.map((s) => s.source))];
    if (sources.length === 1) return this.requireSource(sources[0]!);
    if (sources.length === 0) {
      throw new MooringError(
        'not-found',
        `No source has a stack "${stack}". Run \`mooring status\` to see the stacks.`,
      );
    }
    throw new MooringError(
      'usage',
      `Stack "${stack}" is in several sources (${sources.join(', ')}); say which with --source.`,
    );
  }
}

/**
 * Mooring signs nothing: a commit it made (a promote, a revert) in a source that deploys signed commits
 * only would never be deployed. Said before anything is built or written.
 */
function refuseUnsignedCommit(source: SourceState, what: 'promote' | 'revert'): SourceState {
  if (source.verify) {
    throw new MooringError(
      'usage',
      `Source "${source.name}" deploys only commits signed by a key it allows, and Mooring signs nothing: a ${what} commit made here would never be deployed. Make and sign the change in git yourself${what === 'revert' ? ', or roll back without --revert' : ''}.`,
    );
  }
  return source;
}
