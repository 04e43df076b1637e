// The GitOps engine: one object that the CLI, the Electron main process and browser mode all call.
// It reads desired state from git at a revision, observes the Docker engine, and computes status,
// plans and runs. No electron import may appear at or below this folder.
import { mkdir } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type {
  CommitRecord,
  DesiredStack,
  ManifestError,
  Plan,
  SourceConfig,
  SourceState,
  StackPolicy,
  StackStatus,
  Trigger,
} from '../shared/model.ts';
import { DockerAdapter, type ObservedContainer } from './docker/docker-adapter.ts';
import { MooringError, UnreachableError, errorMessage } from './errors.ts';
import { HistoryStore } from './history/store.ts';
import { DEFAULT_POLICY, loadStack, parsePolicyFile, specHash } from './manifest/index.ts';
import { Applier, type ProgressEvent } from './reconcile/apply.ts';
import { cleanupMounts, materializeMounts } from './reconcile/materialize.ts';
import { planStack } from './reconcile/plan.ts';
import { computeStatus } from './reconcile/status.ts';
import { loadSettings, type Settings } from './settings.ts';
import { GitSource } from './source/index.ts';

export interface EngineOptions {
  home: string;
  env?: NodeJS.ProcessEnv;
  /** Overrides settings.json's dockerHost and DOCKER_HOST. */
  dockerHost?: string;
}

/** One stack as read from git at a revision. */
export interface LoadedStack {
  source: string;
  name: string;
  revision: string | null;
  desired: DesiredStack | null;
  errors: ManifestError[];
  policy: StackPolicy;
  warnings: string[];
}

export interface FetchResult {
  source: string;
  head: string | null;
  newCommits: number;
  error: string | null;
}

export interface SyncResult {
  stack: string;
  source: string;
  revision: string | null;
  plan: Plan | null;
  runId: number | null;
  result: 'succeeded' | 'failed' | 'invalid' | 'planned' | 'locked';
  error: string | null;
}

const ago = (iso: string): string => {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
};

/** Names safe to use as folder names and compose project names. */
const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function hashService(s: DesiredStack['services'][number]): string {
  // depends_on orders the apply; changing it must not recreate the container.
  return specHash({ ...s, dependsOn: [] });
}

export class Engine {
  docker: DockerAdapter;
  private applier: Applier;

  private constructor(
    readonly home: string,
    readonly history: HistoryStore,
    readonly settings: Settings,
    private readonly env: NodeJS.ProcessEnv,
    dockerHost: string | undefined,
  ) {
    this.docker = new DockerAdapter(dockerHost);
    this.applier = new Applier(this.docker, history);
  }

  static async open(opts: EngineOptions): Promise<Engine> {
    await mkdir(opts.home, { recursive: true });
    const settings = await loadSettings(opts.home);
    const history = new HistoryStore(path.join(opts.home, 'mooring.db'));
    const env = opts.env ?? process.env;
    return new Engine(
      opts.home,
      history,
      settings,
      env,
      opts.dockerHost ?? settings.dockerHost ?? env.DOCKER_HOST,
    );
  }

  close(): void {
    this.history.close();
  }

  gitSource(config: SourceConfig): GitSource {
    return new GitSource({ home: this.home, config, env: this.env });
  }

  private source(name: string): SourceState {
    const s = this.history.getSource(name);
    if (!s) {
      const known = this.history.listSources().map((x) => x.name);
      throw new MooringError(
        'not-found',
        `No source named "${name}". ${known.length ? `Known sources: ${known.join(', ')}.` : 'Add one with `mooring source add NAME URL_OR_PATH`.'}`,
      );
    }
    return s;
  }

  // ---- sources ----

  async addSource(input: {
    name: string;
    url: string;
    branch?: string | null;
    path?: string | null;
    tokenEnv?: string | null;
  }): Promise<{ source: SourceState; fetch: FetchResult }> {
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
    };
    this.history.addSource(config);
    const [fetch] = await this.fetch(config.name);
    return { source: this.source(config.name), fetch: fetch! };
  }

  updateSource(name: string, patch: { branch?: string | null; path?: string }): SourceState {
    this.source(name);
    const path = patch.path?.replace(/^\/+|\/+$/g, '');
    if (path?.split('/').includes('..'))
      throw new MooringError('usage', `The sub-path must stay inside the repo (got "${patch.path ?? ''}").`);
    this.history.updateSource(name, { ...patch, ...(path !== undefined ? { path } : {}) });
    return this.source(name);
  }

  /** Points the engine at another Docker endpoint (from the settings screen). */
  setDockerHost(endpoint: string | undefined): void {
    this.docker = new DockerAdapter(endpoint ?? this.env.DOCKER_HOST);
    this.applier = new Applier(this.docker, this.history);
  }

  async engineState(): Promise<{ reachable: boolean; endpoint: string; error: string | null }> {
    try {
      await this.docker.ping();
      return { reachable: true, endpoint: this.docker.endpoint, error: null };
    } catch (err) {
      return { reachable: false, endpoint: this.docker.endpoint, error: errorMessage(err) };
    }
  }

  removeSource(name: string): void {
    this.source(name);
    this.history.removeSource(name);
  }

  listSources(): SourceState[] {
    return this.history.listSources();
  }

  /** Fetches one or every source, caches new commits, records success or the error. Never throws for a remote. */
  async fetch(name?: string): Promise<FetchResult[]> {
    const sources = name ? [this.source(name)] : this.history.listSources();
    const results: FetchResult[] = [];
    for (const s of sources) {
      const git = this.gitSource(s);
      try {
        const { head } = await git.fetch();
        const commits = await git.log({ known: this.history.knownCommits(s.name), limit: 500 });
        this.history.addCommits(commits.map((c) => ({ ...c, source: s.name })));
        this.history.recordFetch(s.name, { head });
        results.push({ source: s.name, head, newCommits: commits.length, error: null });
      } catch (err) {
        this.history.recordFetch(s.name, { error: errorMessage(err) });
        if (!(err instanceof UnreachableError) && !(err instanceof MooringError)) throw err;
        results.push({ source: s.name, head: null, newCommits: 0, error: errorMessage(err) });
      }
    }
    return results;
  }

  // ---- desired state ----

  private sourceWarnings(s: SourceState): string[] {
    if (!s.lastError) return [];
    const since = s.failingSince ? ` since ${s.failingSince} (${ago(s.failingSince)})` : '';
    const stale = s.lastSuccessAt
      ? `showing the revision fetched ${ago(s.lastSuccessAt)}`
      : 'it was never fetched, so nothing is known of its stacks';
    return [`Source "${s.name}" is unreachable${since}: ${s.lastError} — ${stale}.`];
  }

  /** Every stack of every source (or of the named ones) read from git at a revision. */
  async loadStacks(
    opts: { stacks?: string[]; revision?: string | null; source?: string } = {},
  ): Promise<LoadedStack[]> {
    const sources = opts.source ? [this.source(opts.source)] : this.history.listSources();
    const out: LoadedStack[] = [];
    for (const s of sources) {
      const git = this.gitSource(s);
      const warnings = this.sourceWarnings(s);
      let commit: string;
      try {
        commit = await git.resolve(opts.revision ?? null);
      } catch (err) {
        if (opts.revision && opts.stacks?.length) {
          // The revision may belong to another source; only an error if no source has the stack.
          continue;
        }
        if (opts.revision) throw err;
        warnings.push(
          `Source "${s.name}" has no revision to read yet (${errorMessage(err)}). Run \`mooring fetch ${s.name}\`.`,
        );
        continue;
      }
      const policyFile = [s.path, 'mooring.yaml'].filter(Boolean).join('/');
      const reader = git.reader(commit);
      const policyText = await reader.readFile(policyFile);
      let policies: Record<string, StackPolicy> = {};
      if (policyText !== null) {
        const parsed = parsePolicyFile(policyText, policyFile);
        if (parsed.ok) policies = parsed.stacks;
        else {
          warnings.push(
            `${policyFile} is invalid, so every stack of "${s.name}" falls back to manual sync: ${parsed.errors
              .map((e) => `${e.file}:${e.line}:${e.column} ${e.message}`)
              .join('; ')}`,
          );
        }
      }
      for (const entry of await git.listStacks(commit)) {
        const loaded = await loadStack({
          reader,
          stackDir: entry.dir,
          composeFile: entry.composeFile,
          safety: this.settings.safety,
        });
        const name = loaded.ok ? loaded.stack.name : loaded.name;
        if (opts.stacks?.length && !opts.stacks.includes(name)) continue;
        out.push({
          source: s.name,
          name,
          revision: commit,
          desired: loaded.ok ? loaded.stack : null,
          errors: loaded.ok ? [] : loaded.errors,
          policy: policies[name] ?? policies[entry.name] ?? DEFAULT_POLICY,
          warnings,
        });
      }
    }
    this.rejectDuplicateNames(out);
    if (opts.stacks?.length) {
      const missing = opts.stacks.filter((n) => !out.some((s) => s.name === n));
      if (missing.length > 0 && opts.revision) {
        throw new MooringError('not-found', `No stack ${missing.join(', ')} at revision ${opts.revision}.`);
      }
    }
    return out;
  }

  /** A compose project name is global to the engine: two stacks of one name would fight over it. */
  private rejectDuplicateNames(stacks: LoadedStack[]): void {
    const first = new Map<string, LoadedStack>();
    for (const s of stacks) {
      const other = first.get(s.name);
      if (!other) {
        first.set(s.name, s);
        continue;
      }
      s.errors = [
        ...s.errors,
        {
          file: s.desired?.file ?? s.name,
          line: 1,
          column: 1,
          message: `stack name "${s.name}" is also used by source "${other.source}"; set a different compose \`name:\``,
        },
      ];
      s.desired = null;
    }
  }

  // ---- status ----

  private async observeAll(): Promise<{
    observed: ObservedContainer[];
    reachable: boolean;
    warning: string | null;
  }> {
    try {
      return { observed: await this.docker.observe(this.home), reachable: true, warning: null };
    } catch (err) {
      if (err instanceof UnreachableError) return { observed: [], reachable: false, warning: err.message };
      throw err;
    }
  }

  async status(
    opts: { stacks?: string[]; revision?: string | null; recordDrift?: boolean } = {},
  ): Promise<StackStatus[]> {
    const loaded = await this.loadStacks(opts);
    const { observed, reachable, warning } = await this.observeAll();
    const statuses = await this.statusOf(loaded, observed, reachable, warning);
    // Stacks Mooring deployed that no source declares any more (folder deleted in git).
    if (!opts.stacks?.length && reachable) {
      const known = new Set(loaded.map((s) => s.name));
      const sources = new Map(this.history.listSources().map((s) => [s.name, s]));
      const orphans = new Map<string, ObservedContainer[]>();
      for (const c of observed) {
        if (!c.managed || !c.project || known.has(c.project) || !c.source || !sources.has(c.source)) continue;
        orphans.set(c.project, [...(orphans.get(c.project) ?? []), c]);
      }
      for (const [name, containers] of orphans) {
        statuses.push(
          computeStatus({
            source: containers[0]!.source!,
            name,
            revision: null,
            desired: null,
            errors: [],
            policy: DEFAULT_POLICY,
            observed: containers,
            images: new Map(),
            hashes: new Map(),
            warnings: [`Stack "${name}" is no longer declared in git.`],
            engineReachable: true,
          }),
        );
      }
    }
    if (opts.recordDrift ?? true) this.recordDrift(statuses, 'no longer drifting (seen by status)');
    return statuses.sort((a, b) => a.name.localeCompare(b.name));
  }

  private async statusOf(
    loaded: LoadedStack[],
    observed: ObservedContainer[],
    reachable: boolean,
    warning: string | null,
  ): Promise<StackStatus[]> {
    const images = reachable
      ? await this.docker.imagesFor(loaded.flatMap((s) => s.desired?.services.map((x) => x.image) ?? []))
      : new Map<string, undefined>();
    return loaded.map((s) =>
      computeStatus({
        ...s,
        warnings: warning ? [...s.warnings, warning] : s.warnings,
        observed: observed.filter((c) => c.project === s.name),
        images,
        hashes: new Map(s.desired?.services.map((x) => [x.name, hashService(x)]) ?? []),
        engineReachable: reachable,
      }),
    );
  }

  private recordDrift(statuses: StackStatus[], resolution: string): void {
    for (const st of statuses) {
      if (st.sync === 'Unknown') continue;
      const drifting = new Map(
        st.services
          .filter((s) => s.sync === 'OutOfSync' || s.sync === 'Orphaned')
          .map((s) => [s.name, s.reasons]),
      );
      this.history.observeDrift(st.source, st.name, drifting, resolution);
    }
  }

  // ---- plan and sync ----

  private async planFor(stack: LoadedStack, status: StackStatus, prune: boolean): Promise<Plan> {
    const desired = stack.desired!;
    const images = await this.docker.imagesFor(desired.services.map((s) => s.image));
    const existingNetworks = new Set<string>();
    for (const n of desired.networks)
      if (await this.docker.networkExists(n.name)) existingNetworks.add(n.name);
    const existingVolumes = new Set<string>();
    for (const v of desired.volumes) if (await this.docker.volumeExists(v.name)) existingVolumes.add(v.name);
    for (const n of desired.networks.filter((x) => x.external && !existingNetworks.has(x.name))) {
      throw new MooringError(
        'failed',
        `External network "${n.name}" does not exist; create it first (docker network create ${n.name}).`,
      );
    }
    return {
      source: stack.source,
      stack: stack.name,
      revision: stack.revision!,
      actions: planStack({
        desired,
        status,
        missingImages: new Set([...images].filter(([, info]) => !info).map(([name]) => name)),
        existingNetworks,
        existingVolumes,
        prune,
      }),
    };
  }

  /**
   * Syncs stacks one at a time. An invalid stack is recorded as a failed run with its errors and
   * nothing of it is applied; the other stacks go on.
   */
  async sync(
    opts: {
      stacks?: string[];
      revision?: string | null;
      prune?: boolean;
      dryRun?: boolean;
      trigger?: Trigger;
      onProgress?: (e: ProgressEvent) => void;
    } = {},
  ): Promise<SyncResult[]> {
    const loaded = await this.loadStacks(opts);
    if (opts.stacks?.length) {
      const missing = opts.stacks.filter((n) => !loaded.some((s) => s.name === n));
      if (missing.length > 0) {
        throw new MooringError(
          'not-found',
          `No stack named ${missing.join(', ')} in any source. Run \`mooring status\` to see them.`,
        );
      }
    }
    await this.docker.ping().catch((err: unknown) => {
      throw err instanceof UnreachableError ? err : this.docker.unreachable(err);
    });
    const trigger = opts.trigger ?? 'cli';
    const results: SyncResult[] = [];
    for (const stack of loaded) {
      const base = { stack: stack.name, source: stack.source, revision: stack.revision };
      if (!stack.desired) {
        const error = stack.errors.map((e) => `${e.file}:${e.line}:${e.column}: ${e.message}`).join('\n');
        const runId = opts.dryRun ? null : this.recordInvalid(stack, trigger, error);
        results.push({ ...base, plan: null, runId, result: 'invalid', error });
        continue;
      }
      const owner = `mooring ${trigger}`;
      const lock = opts.dryRun
        ? { ok: true as const }
        : this.history.tryLock(stack.source, stack.name, owner);
      if (!lock.ok) {
        results.push({
          ...base,
          plan: null,
          runId: null,
          result: 'locked',
          error: `Stack "${stack.name}" is being synced by ${lock.holder} since ${lock.since}. Wait for it to finish, then try again.`,
        });
        continue;
      }
      try {
        results.push(await this.syncOne(stack, { ...opts, trigger }));
      } finally {
        if (!opts.dryRun) this.history.unlock(stack.source, stack.name);
      }
    }
    if (!opts.dryRun) await this.cleanup();
    return results;
  }

  private recordInvalid(stack: LoadedStack, trigger: Trigger, error: string): number {
    const runId = this.history.startRun({
      source: stack.source,
      stack: stack.name,
      revision: stack.revision ?? '',
      trigger,
      plan: [],
    });
    this.history.finishRun(runId, 'failed', `Invalid manifest, nothing applied:\n${error}`);
    return runId;
  }

  private async syncOne(
    stack: LoadedStack,
    opts: { prune?: boolean; dryRun?: boolean; trigger: Trigger; onProgress?: (e: ProgressEvent) => void },
  ): Promise<SyncResult> {
    const observed = await this.docker.observe(this.home, stack.name);
    const [status] = await this.statusOf([stack], observed, true, null);
    const plan = await this.planFor(stack, status!, opts.prune ?? false);
    const base = { stack: stack.name, source: stack.source, revision: stack.revision, plan };
    if (opts.dryRun) return { ...base, runId: null, result: 'planned', error: null };
    const source = this.source(stack.source);
    const git = this.gitSource(source);
    const { runId, error } = await this.applier.apply({
      source: stack.source,
      revision: stack.revision!,
      trigger: opts.trigger,
      desired: stack.desired!,
      hashes: new Map(stack.desired!.services.map((s) => [s.name, hashService(s)])),
      observed,
      actions: plan.actions,
      home: this.home,
      materialize: (services) => materializeMounts(this.home, services, git),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
    const after = await this.statusOf([stack], await this.docker.observe(this.home, stack.name), true, null);
    this.recordDrift(after, `run ${runId}`);
    return { ...base, runId, result: error ? 'failed' : 'succeeded', error };
  }

  /** Removes materialized mount copies that no container uses any more. */
  private async cleanup(): Promise<void> {
    const all = await this.docker.observe(this.home);
    await cleanupMounts(
      this.home,
      all.flatMap((c) => c.mountSources),
    );
  }

  /** Containers of a stack, for tests and the UI's container list. */
  async containers(stack: string): Promise<ObservedContainer[]> {
    return this.docker.observe(this.home, stack);
  }

  /** Cached commits, newest first. Local sources are re-read first: that needs no network. */
  async log(opts: { source?: string; limit?: number } = {}): Promise<CommitRecord[]> {
    for (const s of this.history.listSources()) {
      if (s.kind === 'local' && (!opts.source || opts.source === s.name)) await this.fetch(s.name);
    }
    return this.history.listCommits(opts);
  }
}
