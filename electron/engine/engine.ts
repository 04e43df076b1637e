// The GitOps engine: the composition root that the CLI, the Electron main process and browser mode all
// open. It makes the services (./services: sources, safety policy, desired state, status, sync; the
// pipeline) over one home folder and offers them as one object; each method is a delegation or a
// composition of two. No electron import may appear at or below this folder. See docs/architecture.md.
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type {
  ContainerAction,
  ElsewhereView,
  FleetView,
  SafetySettings,
  SourceConfig,
  SourceState,
  StackStatus,
  TrustGrant,
  WorktreeInfo,
} from '../shared/model.ts';
import type { SourceTrustView } from '../shared/api.ts';
import type { DockerAdapter, EndpointOrigin } from './docker/docker-adapter.ts';
import type {
  CommitWithDeploys,
  FetchResult,
  LoadedStack,
  SyncOptions,
  SyncResult,
} from './engine-common.ts';
import { NAME } from './engine-common.ts';
import { MooringError } from './errors.ts';
import { HistoryStore, type EngineRecords } from './history/store.ts';
import { prepareHome, readOnlyHomeError } from './home.ts';
import type { ProgressEvent } from './reconcile/apply.ts';
import { loadSettings, type Settings } from './settings.ts';
import { NotifyService } from './services/notify.ts';
import { containerAction, type ContainerActionResult } from './services/container-actions.ts';
import type { BuildEvent } from './pipeline/build.ts';
import {
  Pipeline,
  type BuildAndPromoteOptions,
  type BuildAndPromoteResult,
  type PromoteOptions,
  type RollbackResult,
} from './pipeline/pipeline.ts';
import { PipelineStore, type BuildRecord, type DeployRecord } from './pipeline/pipeline-store.ts';
import type { PromoteResult } from './pipeline/promote.ts';
import type { GitSource } from './source/index.ts';
import { EngineContext } from './services/context.ts';
import { DesiredStateService, type Elsewhere } from './services/desired-state.ts';
import { EnginesService } from './services/engines.ts';
import { fleetView } from './services/fleet.ts';
import { recordDrift } from './services/drift.ts';
import { SafetyService } from './services/safety.ts';
import { SourceService } from './services/sources.ts';
import { StatusService } from './services/status.ts';
import { SyncService } from './services/sync.ts';

export type {
  CommitWithDeploys,
  FetchResult,
  LoadedStack,
  SyncOptions,
  SyncResult,
} from './engine-common.ts';
export { hashService } from './engine-common.ts';
export type { Elsewhere } from './services/desired-state.ts';

export interface EngineOptions {
  home: string;
  env?: NodeJS.ProcessEnv;
  /** Overrides settings.json's dockerHost and DOCKER_HOST. */
  dockerHost?: string;
}

/**
 * A random id per home folder, made once; `wx` keeps two first starts from making two. A read-only
 * home only reads it; without one, this process gets an id of its own that no container carries, so
 * nothing on the engine is taken for this home's.
 */
async function instanceIdOf(home: string, readOnly: boolean): Promise<string> {
  const file = path.join(home, 'instance-id');
  if (readOnly) return (await readFile(file, 'utf8').catch(() => randomUUID())).trim();
  try {
    await writeFile(file, randomUUID(), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return (await readFile(file, 'utf8')).trim();
}

export class Engine {
  private readonly ctx: EngineContext;
  readonly sources: SourceService;
  readonly safety: SafetyService;
  /** The home's webhook (issue 13, item 9). */
  readonly notify: NotifyService;
  readonly desired: DesiredStateService;
  readonly statuses: StatusService;
  readonly syncs: SyncService;
  /** Build, promote, rollback and deploy notes (issue 5). */
  readonly pipeline: Pipeline;
  /** Named engines: local, TLS, SSH (issue 15). */
  readonly engines: EnginesService;

  /** `parent`: the engine this one is a view of on another named engine; its sources are shared. */
  private constructor(ctx: EngineContext, parent?: Engine) {
    this.ctx = ctx;
    this.pipeline = new Pipeline(this, parent?.pipeline.store ?? new PipelineStore(ctx.history.db));
    this.sources = parent?.sources ?? new SourceService(ctx, (source) => this.pipeline.indexNotes(source));
    this.safety = parent?.safety ?? new SafetyService(ctx, this.sources);
    this.notify = new NotifyService(ctx);
    this.desired = new DesiredStateService(ctx, this.sources, this.safety);
    this.statuses = new StatusService(ctx, this.desired);
    this.engines = new EnginesService(ctx);
    this.syncs = new SyncService(ctx, this.sources, this.safety, this.desired, this.statuses, {
      afterRun: (runId) => this.pipeline.afterRun(runId),
      buildRecorder: this.pipeline.store,
    });
  }

  static async open(opts: EngineOptions): Promise<Engine> {
    // 0700 home, 0600 files (issue 10); a home that cannot be written is opened read-only.
    await prepareHome(opts.home);
    const settings = await loadSettings(opts.home);
    const history = new HistoryStore(path.join(opts.home, 'mooring.db'));
    const env = opts.env ?? process.env;
    let instanceId: string;
    try {
      instanceId = await instanceIdOf(opts.home, history.readOnly);
    } catch (err) {
      history.close();
      throw err;
    }
    const dockerHost: { endpoint: string | undefined; origin: EndpointOrigin } = opts.dockerHost
      ? { endpoint: opts.dockerHost, origin: 'given' }
      : settings.dockerHost
        ? { endpoint: settings.dockerHost, origin: 'settings' }
        : { endpoint: env.DOCKER_HOST, origin: env.DOCKER_HOST ? 'DOCKER_HOST' : 'default' };
    return new Engine(new EngineContext(opts.home, history, settings, env, dockerHost, instanceId));
  }

  get home(): string {
    return this.ctx.home;
  }

  get history(): HistoryStore {
    return this.ctx.history;
  }

  get settings(): Settings {
    return this.ctx.settings;
  }

  get instanceId(): string {
    return this.ctx.instanceId;
  }

  get docker(): DockerAdapter {
    return this.ctx.docker;
  }

  /** The home could not be written: status and history can be read, nothing can be changed. */
  get readOnly(): boolean {
    return this.ctx.readOnly;
  }

  /** Fails a command that must write, before it changes anything, when the home is read-only. */
  assertWritable(what: string): void {
    this.ctx.assertWritable(what);
  }

  close(): void {
    for (const s of this.siblings.values()) s.engine.ctx.docker.close();
    this.ctx.docker.close();
    this.ctx.history.close();
  }

  /** Views of this home on other named engines (`onEngine`), by name, with the config they were made for. */
  private readonly siblings = new Map<string, { config: string; engine: Engine }>();

  /**
   * This home acting on a named engine: this engine when it is the one in use, else a view with its own
   * docker, applier and services over the same history and settings (closed with this one).
   */
  onEngine(name: string): Engine {
    if (name === this.engineName) return this;
    const config = this.engines.get(name);
    const key = JSON.stringify(config);
    let sibling = this.siblings.get(name);
    if (sibling?.config !== key) {
      sibling?.engine.ctx.docker.close();
      sibling = { config: key, engine: new Engine(this.ctx.sibling(name, config), this) };
      this.siblings.set(name, sibling);
    }
    return sibling.engine;
  }

  /**
   * Every stack × every engine it goes to, with its sync and health there, and each engine's own health
   * (issue 15). Read-only: no drift is recorded.
   */
  async fleet(): Promise<FleetView> {
    const found: Elsewhere[] = [];
    const [probes, here] = await Promise.all([
      this.engines.probeAll(),
      this.status({ recordDrift: false, elsewhere: found }),
    ]);
    return fleetView({
      current: this.engineName,
      probes,
      here,
      elsewhere: found,
      statusOn: (name) => this.onEngine(name).status({ recordDrift: false }),
    });
  }

  // ---- sources (services/sources.ts) and the safety policy (services/safety.ts) ----

  gitSource(config: SourceConfig): GitSource {
    return this.sources.gitSource(config);
  }

  addSource(
    input: Parameters<SourceService['addSource']>[0],
  ): Promise<{ source: SourceState; fetch: FetchResult }> {
    return this.sources.addSource(input);
  }

  updateSource(name: string, patch: Parameters<SourceService['updateSource']>[1]): Promise<SourceState> {
    return this.sources.updateSource(name, patch);
  }

  /** Who may sign a source's commits, and whether its tip is signed by one of them; null: not asked. */
  verifyTip(name: string): ReturnType<SourceService['verifyTip']> {
    return this.sources.verifyTip(name);
  }

  removeSource(name: string): void {
    this.sources.removeSource(name);
  }

  listSources(): SourceState[] {
    return this.sources.listSources();
  }

  /** The work tree of each local source (or of one) as a revision: what differs from HEAD, and its id. */
  worktrees(name?: string): Promise<WorktreeInfo[]> {
    return this.sources.worktrees(name);
  }

  /** Fetches one or every source, caches new commits, records success or the error. Never throws for a remote. */
  fetch(name?: string): Promise<FetchResult[]> {
    return this.sources.fetch(name);
  }

  /** Acts on a named engine from now on (`mooring --engine NAME`); an unknown name is refused. */
  useEngine(name: string): void {
    this.ctx.useEngine(name, this.engines.get(name));
  }

  /** The named engine in use (`local` unless `useEngine` chose another). */
  get engineName(): string {
    return this.ctx.engineName;
  }

  /** The records of this engine's deployments (drift, locks, suspensions, retries, notices). */
  get records(): EngineRecords {
    return this.ctx.records;
  }

  /**
   * The stacks mooring.yaml sends to other engines than the one in use (as `loadEachSource` or
   * `status` collected them), each engine with whether this machine maps its name to an endpoint.
   */
  elsewhere(found: Elsewhere[]): ElsewhereView[] {
    const configured = new Set(this.engines.list().map((e) => e.name));
    return found.map((f) => ({
      ...f,
      engines: f.engines.map((name) => ({ name, configured: configured.has(name) })),
    }));
  }

  /** Points the engine at another Docker endpoint (from the settings screen). */
  setDockerHost(endpoint: string | undefined): void {
    this.ctx.setDockerHost(endpoint);
  }

  async engineState(): Promise<{ reachable: boolean; endpoint: string; error: string | null }> {
    return this.ctx.docker.ping().then(
      () => ({ reachable: true, endpoint: this.ctx.docker.endpoint, error: null }),
      (err: unknown) => ({
        reachable: false,
        endpoint: this.ctx.docker.endpoint,
        error: err instanceof Error ? err.message : String(err),
      }),
    );
  }

  safetyFor(source: { name: string; url: string }): SafetySettings {
    return this.safety.safetyFor(source);
  }

  trust(name: string, grants: TrustGrant[], opts: { revoke?: boolean } = {}): Promise<SourceTrustView[]> {
    return this.safety.trust(name, grants, opts);
  }

  trustList(): SourceTrustView[] {
    return this.safety.trustList();
  }

  // ---- desired state (services/desired-state.ts) ----

  loadStacks(opts: Parameters<DesiredStateService['loadStacks']>[0] = {}): Promise<LoadedStack[]> {
    return this.desired.loadStacks(opts);
  }

  loadEachSource(
    opts: Parameters<DesiredStateService['loadEachSource']>[0] = {},
  ): Promise<{ loaded: LoadedStack[]; unreadable: Map<string, string> }> {
    return this.desired.loadEachSource(opts);
  }

  lastPolicyOf(
    source: string,
    stack: string,
    limit?: number,
  ): ReturnType<DesiredStateService['lastPolicyOf']> {
    return this.desired.lastPolicyOf(source, stack, limit);
  }

  // ---- status (services/status.ts, read-only) and drift (services/drift.ts) ----

  /**
   * Status of every stack (or of the named ones), and, unless `recordDrift: false` or the home is
   * read-only (issue 10), the drift it shows recorded: `mooring status` is also a look that counts.
   */
  async status(
    opts: Parameters<StatusService['status']>[0] & { recordDrift?: boolean } = {},
  ): Promise<StackStatus[]> {
    const statuses = await this.statuses.status(opts);
    if ((opts.recordDrift ?? true) && !this.readOnly) {
      recordDrift(this.ctx.history.runs, this.ctx.records, statuses, 'no longer drifting (seen by status)');
    }
    return statuses;
  }

  statusOfLoaded(
    loaded: LoadedStack[],
    opts: Parameters<StatusService['statusOfLoaded']>[1] = {},
  ): ReturnType<StatusService['statusOfLoaded']> {
    return this.statuses.statusOfLoaded(loaded, opts);
  }

  recordDrift(statuses: StackStatus[], resolution: string): void {
    recordDrift(this.ctx.history.runs, this.ctx.records, statuses, resolution);
  }

  // ---- suspend: the controller leaves the stack alone ----

  /** Suspends a stack on this machine, or resumes it. Any stack name may be suspended, known or not yet. */
  setSuspended(stack: string, suspended: boolean, reason: string | null = null): void {
    if (!NAME.test(stack)) {
      throw new MooringError(
        'usage',
        `"${stack}" is not a stack name: use lowercase letters, digits, - and _ (run \`mooring status\` to see them).`,
      );
    }
    this.assertWritable(suspended ? 'suspend a stack' : 'resume a stack');
    if (suspended) {
      this.records.suspensions.suspend(stack, reason);
      return;
    }
    this.records.suspensions.resume(stack);
    // A person resumed it: whatever the controller gave up on gets a fresh set of tries.
    this.records.retries.delete(stack);
  }

  listSuspended(): Map<string, { since: string; reason: string | null }> {
    return this.records.suspensions.list();
  }

  // ---- plan and sync (services/sync.ts) ----

  sync(opts: { stacks?: string[]; revision?: string | null } & SyncOptions = {}): Promise<SyncResult[]> {
    return this.syncs.sync(opts);
  }

  pruneDeleted(source: string, opts: SyncOptions = {}): Promise<SyncResult[]> {
    return this.syncs.pruneDeleted(source, opts);
  }

  /**
   * A person's restart, stop or start of one service (issue 13, item 12), recorded as an `out-of-band`
   * run. Throws for an unknown stack or service, or while a run holds the stack.
   */
  async containerAction(q: {
    stack: string;
    service: string;
    action: ContainerAction;
  }): Promise<ContainerActionResult> {
    const [stack] = await this.status({ stacks: [q.stack], recordDrift: false });
    if (!stack) throw new MooringError('not-found', `No stack "${q.stack}" is declared or running here.`);
    return containerAction(this.ctx, stack, q.service, q.action);
  }

  syncStack(stack: LoadedStack, opts: SyncOptions = {}): Promise<SyncResult> {
    return this.syncs.syncStack(stack, opts);
  }

  pruneRemovedStack(
    input: { source: string; stack: string; revision: string },
    opts: SyncOptions = {},
  ): Promise<SyncResult> {
    return this.syncs.pruneRemovedStack(input, opts);
  }

  /**
   * Cached commits, newest first, each with its deploys (this machine's runs and every machine's deploy
   * notes). Local sources are re-read first: that needs no network.
   */
  async log(opts: { source?: string; limit?: number } = {}): Promise<CommitWithDeploys[]> {
    for (const s of this.history.sources.list()) {
      // A read-only home shows what it has cached: re-reading would record.
      if (s.kind === 'local' && !this.readOnly && (!opts.source || opts.source === s.name))
        await this.fetch(s.name);
    }
    const commits = this.history.commits.list(opts);
    const deploys = this.pipeline.deploysOf(
      commits.map((c) => c.id),
      opts.source,
    );
    return commits.map((c) => ({
      ...c,
      deploys: (deploys.get(c.id) ?? []).filter((d) => d.source === c.source),
    }));
  }

  // ---- pipeline stages (issue 5): thin delegations, the work is in ./pipeline ----

  /** Builds an image from an app repo; `onEvent` gets the live output and steps. Recorded in history. */
  build(opts: BuildAndPromoteOptions, onEvent?: (e: BuildEvent) => void): Promise<BuildAndPromoteResult> {
    if (this.readOnly) return Promise.reject(readOnlyHomeError(this.home, 'build'));
    return this.pipeline.build(opts, onEvent);
  }

  listBuilds(opts: { appRepo?: string; limit?: number; before?: number } = {}): BuildRecord[] {
    return this.pipeline.listBuilds(opts);
  }

  /** One build with its log. */
  getBuild(id: number): (BuildRecord & { log: string }) | undefined {
    return this.pipeline.getBuild(id);
  }

  /** Writes an image into a service's `image:` as a commit on the source's branch (pushed with `push`). */
  promote(input: PromoteOptions): Promise<PromoteResult> {
    // Before the commit: it would be made, and then not recorded nor fetched.
    if (this.readOnly) return Promise.reject(readOnlyHomeError(this.home, 'promote'));
    return this.pipeline.promote(input);
  }

  /**
   * Deploys a past revision and suspends auto-sync of the stack, or (`revert`) commits it instead. A
   * deploy runs the images that ran then (by id or digest) where a tag has moved; `byTag` takes the tags
   * as they are now.
   */
  rollback(
    stack: string,
    revision: string,
    opts: { revert?: boolean; byTag?: boolean; run?: number; onProgress?: (e: ProgressEvent) => void } = {},
  ): Promise<RollbackResult> {
    if (this.readOnly) return Promise.reject(readOnlyHomeError(this.home, 'roll back'));
    return this.pipeline.rollback(stack, revision, opts);
  }

  /** Every known deploy of these commits, newest first: what ran where and when. */
  deploysOf(commits: string[], source?: string): Map<string, DeployRecord[]> {
    return this.pipeline.deploysOf(commits, source);
  }
}
