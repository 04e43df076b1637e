// The GitOps engine: one object that the CLI, the Electron main process and browser mode all call.
// It reads desired state from git at a revision, observes the Docker engine, and computes status,
// plans and runs. No electron import may appear at or below this folder.
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type {
  CommitRecord,
  DesiredStack,
  ManifestError,
  Plan,
  PlanAction,
  SafetySettings,
  SourceConfig,
  SourceState,
  StackPolicy,
  StackStatus,
  Trigger,
  TrustGrant,
} from '../shared/model.ts';
import type { SourceTrustView } from '../shared/api.ts';
import { DockerAdapter, type ObservedContainer } from './docker/docker-adapter.ts';
import { LABELS } from './docker/labels.ts';
import { MooringError, UnreachableError, errorMessage } from './errors.ts';
import { HistoryStore } from './history/store.ts';
import { prepareHome, readOnlyHomeError } from './home.ts';
import { DEFAULT_POLICY, loadStack, parsePolicyFile, specHash } from './manifest/index.ts';
import { safetyMessages } from './manifest/safety.ts';
import { Applier, type ProgressEvent } from './reconcile/apply.ts';
import { cleanupMounts, materializeMounts } from './reconcile/materialize.ts';
import { networkPlanChecks } from './reconcile/network-plan.ts';
import { buildsOf, misbuiltTags, planStack } from './reconcile/plan.ts';
import { planPulls } from './reconcile/pull-policy.ts';
import { markHeld, pruneHolds } from './reconcile/prune-guard.ts';
import { computeStatus } from './reconcile/status.ts';
import { loadSettings, parseSettings, settingsFile, updateSettingsFile, type Settings } from './settings.ts';
import { changeTrust, effectiveSafety, listTrust } from './trust.ts';
import { contentKeyOf } from './content-key.ts';
import { GitSource } from './source/index.ts';
import { credentialsInUrlMessage, splitUserinfo, tokenEnvProblem } from './source/url-credentials.ts';
import { buildPlannedImage, type BuildEvent } from './pipeline/build.ts';
import type { NoteOutcome } from './pipeline/deploy-notes.ts';
import {
  Pipeline,
  type BuildAndPromoteOptions,
  type BuildAndPromoteResult,
  type PromoteOptions,
  type RollbackResult,
} from './pipeline/pipeline.ts';
import { PipelineStore, type BuildRecord, type DeployRecord } from './pipeline/pipeline-store.ts';
import type { PromoteResult } from './pipeline/promote.ts';

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
  /** Repo-relative folder of the stack (its compose file is in it). */
  dir?: string;
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
  /** The remote's deploy notes could not be fetched (the fetch itself worked). */
  notesError?: string | null;
}

export interface SyncResult {
  stack: string;
  source: string;
  revision: string | null;
  plan: Plan | null;
  runId: number | null;
  result: 'succeeded' | 'failed' | 'invalid' | 'planned' | 'locked';
  error: string | null;
  /** The run was stopped part way by `signal` (result 'failed'; history says 'interrupted'). */
  interrupted?: boolean;
  /**
   * The stack's status as the run left it, looked at as soon as it ended (null: the engine could not
   * be asked). What happens after that (a person stopping a container again) is not the run's doing.
   */
  after?: StackStatus | null;
  /** The deploy note written on the revision after the run (refs/notes/mooring), and whether it was pushed. */
  note?: NoteOutcome | null;
}

/** A cached commit with every known deploy of it: this machine's runs and other machines' notes. */
export type CommitWithDeploys = CommitRecord & { deploys: DeployRecord[] };

export interface SyncOptions {
  prune?: boolean;
  dryRun?: boolean;
  trigger?: Trigger;
  onProgress?: (e: ProgressEvent) => void;
  /** Stops the run between levels; see ApplyInput.signal. */
  signal?: AbortSignal;
  /** Who holds the stack's lock, as a person reads it in "being synced by …". Default `mooring TRIGGER`. */
  owner?: string;
  /** Prune even a commit that deletes most of a source's stacks (see reconcile/prune-guard.ts). */
  allowEmpty?: boolean;
}

const ago = (iso: string): string => {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
};

/** A manifest warning as a note: where it is, then what it says. */
const placed = (w: ManifestError): string => `${w.file}:${w.line}:${w.column}: ${w.message}`;

/** Names safe to use as folder names and compose project names. */
const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function hashService(s: DesiredStack['services'][number]): string {
  // depends_on orders the apply and replicas is how many there are: changing either must not recreate
  // the containers that are there; swarmOnly is what this engine does not act on.
  return specHash({ ...s, dependsOn: [], replicas: undefined, swarmOnly: undefined });
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
  docker: DockerAdapter;
  private applier: Applier;
  private readonly gitSources = new Map<string, GitSource>();
  /** The key secrets and configs are hashed with (content-key.ts), read once. */
  private contentKey: Promise<Buffer> | null = null;
  /** When settings.json was last read: another process (the CLI's `source trust`) may change it. */
  private settingsMtime: number | null = null;
  /** Build, promote, rollback and deploy notes (issue 5). */
  readonly pipeline: Pipeline;

  private constructor(
    readonly home: string,
    readonly history: HistoryStore,
    readonly settings: Settings,
    private readonly env: NodeJS.ProcessEnv,
    dockerHost: string | undefined,
    /** Stamped on every container this home creates (dev.mooring.instance). */
    readonly instanceId: string,
  ) {
    this.docker = new DockerAdapter(dockerHost, this.isOurs);
    this.applier = new Applier(this.docker, history);
    this.pipeline = new Pipeline(this, new PipelineStore(history.db));
  }

  /**
   * Whether this home made a container (issue 10), or adopted it from compose (issue 11): the ownership
   * record says so (for what was never recorded by id, the instance label must agree too). Anything else
   * is never stopped, removed or pruned, whatever its labels claim.
   */
  private readonly isOurs = (c: {
    id: string;
    name: string;
    labels: Record<string, string>;
    created: string;
  }): boolean =>
    this.history.ownership.owns(
      { kind: 'container', id: c.id, name: c.name, created: c.created },
      c.labels[LABELS.managed] === 'true' && c.labels[LABELS.instance] === this.instanceId,
    );

  /** The same for a network; those made before instance labels were put on networks carry none. */
  private readonly ownsNetwork = (n: {
    id: string;
    name: string;
    labels: Record<string, string>;
    created: string;
  }): boolean => {
    const instance = n.labels[LABELS.instance];
    return this.history.ownership.owns(
      { kind: 'network', id: n.id, name: n.name, created: n.created },
      n.labels[LABELS.managed] === 'true' && (instance === undefined || instance === this.instanceId),
    );
  };

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
    return new Engine(
      opts.home,
      history,
      settings,
      env,
      opts.dockerHost ?? settings.dockerHost ?? env.DOCKER_HOST,
      instanceId,
    );
  }

  /** The home could not be written: status and history can be read, nothing can be changed. */
  get readOnly(): boolean {
    return this.history.readOnly;
  }

  /** Fails a command that must write, before it changes anything, when the home is read-only. */
  assertWritable(what: string): void {
    if (this.history.readOnly) throw readOnlyHomeError(this.home, what);
  }

  close(): void {
    this.history.close();
  }

  /**
   * One GitSource per source config, kept for the engine's life: its caches (parsed trees and commits,
   * pack indexes and the pack itself) are what make a re-read of the same repo cheap. A new one per
   * call re-read the pack for every look the controller took (docs/benchmarks.md, issue 6). Everything
   * it caches is keyed by object id, so a fetch in between never leaves it stale.
   */
  gitSource(config: SourceConfig): GitSource {
    const { name, url, kind, branch, path: subPath, tokenEnv } = config;
    const author = this.settings.git?.author;
    const key = JSON.stringify([name, url, kind, branch, subPath, tokenEnv, author]);
    let git = this.gitSources.get(key);
    if (!git) {
      git = new GitSource({
        home: this.home,
        config: { name, url, kind, branch, path: subPath, tokenEnv },
        env: this.env,
        author,
      });
      this.gitSources.set(key, git);
    }
    return git;
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
    this.assertWritable('add a source');
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

  updateSource(
    name: string,
    patch: { branch?: string | null; path?: string; tokenEnv?: string | null },
  ): SourceState {
    this.source(name);
    const tokenProblem = patch.tokenEnv ? tokenEnvProblem(patch.tokenEnv) : null;
    if (tokenProblem) throw new MooringError('usage', tokenProblem);
    this.assertWritable('change a source');
    const path = patch.path?.replace(/^\/+|\/+$/g, '');
    if (path?.split('/').includes('..'))
      throw new MooringError('usage', `The sub-path must stay inside the repo (got "${patch.path ?? ''}").`);
    this.history.updateSource(name, { ...patch, ...(path !== undefined ? { path } : {}) });
    return this.source(name);
  }

  /** Points the engine at another Docker endpoint (from the settings screen). */
  setDockerHost(endpoint: string | undefined): void {
    this.docker = new DockerAdapter(endpoint ?? this.env.DOCKER_HOST, this.isOurs);
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
    this.assertWritable('remove a source');
    this.history.removeSource(name);
  }

  listSources(): SourceState[] {
    return this.history.listSources();
  }

  /** Fetches one or every source, caches new commits, records success or the error. Never throws for a remote. */
  async fetch(name?: string): Promise<FetchResult[]> {
    this.assertWritable('fetch');
    const sources = name ? [this.source(name)] : this.history.listSources();
    const results: FetchResult[] = [];
    for (const s of sources) {
      const git = this.gitSource(s);
      try {
        const { head, notes } = await git.fetch();
        const commits = await git.log({ known: this.history.knownCommits(s.name), limit: 500 });
        this.history.addCommits(commits.map((c) => ({ ...c, source: s.name })));
        this.history.recordFetch(s.name, { head });
        // Deploys from notes (other machines' too) are a cache: failing to read them fails nothing.
        const indexed = await this.pipeline.indexNotes(s.name).then(
          () => null,
          (err: unknown) => `Reading the deploy notes failed: ${errorMessage(err)}`,
        );
        const notesError = notes?.error ?? indexed;
        results.push({
          source: s.name,
          head,
          newCommits: commits.length,
          error: null,
          ...(notesError ? { notesError } : {}),
        });
      } catch (err) {
        this.history.recordFetch(s.name, { error: errorMessage(err) });
        if (!(err instanceof UnreachableError) && !(err instanceof MooringError)) throw err;
        results.push({ source: s.name, head: null, newCommits: 0, error: errorMessage(err) });
      }
    }
    return results;
  }

  // ---- trust per source (issue 11, item 6) ----

  /** What a source's stacks are checked against: the global safety settings and its own trust. */
  safetyFor(source: { name: string; url: string }): SafetySettings {
    this.refreshSettings();
    return effectiveSafety(this.settings, source);
  }

  /**
   * settings.json again if it changed since it was read: `mooring source trust` in a terminal takes
   * effect in the running app at its next look. Only the safety parts are taken over; the engine
   * endpoint and the controller's settings stay as they were when the app started.
   */
  private refreshSettings(): void {
    let mtime: number;
    try {
      mtime = statSync(settingsFile(this.home)).mtimeMs;
    } catch {
      return;
    }
    if (mtime === this.settingsMtime) return;
    this.settingsMtime = mtime;
    try {
      const fresh = parseSettings(readFileSync(settingsFile(this.home), 'utf8'), settingsFile(this.home));
      this.settings.safety = fresh.safety;
      this.settings.sources = fresh.sources;
    } catch {
      // A file being edited by hand may be invalid for a moment: what was read before stays.
    }
  }

  /**
   * Grants (or with `revoke`, takes back) allowances of the safety policy for one source, in
   * settings.json (read, changed and written again, so what another process wrote is kept). Never from
   * the repo: only a person, through the CLI or the app.
   */
  async trust(
    name: string,
    grants: TrustGrant[],
    opts: { revoke?: boolean } = {},
  ): Promise<SourceTrustView[]> {
    this.assertWritable('change what a source is trusted with');
    const source = this.history.getSource(name);
    if (!source && !opts.revoke) this.source(name); // throws, naming the known sources
    const written = await updateSettingsFile(this.home, (settings) => {
      changeTrust(settings, { name, url: source?.url ?? null }, grants, opts.revoke ?? false);
    });
    this.settings.safety = written.safety;
    this.settings.sources = written.sources;
    this.settingsMtime = null;
    return this.trustList();
  }

  /** Every source's allowances, and whether each still applies (its source exists with that URL). */
  trustList(): SourceTrustView[] {
    this.refreshSettings();
    return listTrust(this.settings, this.history.listSources());
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
    for (const s of sources) out.push(...(await this.loadSource(s, opts)));
    this.rejectDuplicateNames(out);
    if (opts.stacks?.length) {
      const missing = opts.stacks.filter((n) => !out.some((s) => s.name === n));
      if (missing.length > 0 && opts.revision) {
        throw new MooringError('not-found', `No stack ${missing.join(', ')} at revision ${opts.revision}.`);
      }
    }
    return out;
  }

  /**
   * The stacks of every source at its branch tip, where a source that cannot be read there (its
   * folder gone at the new tip, say) does not stop the others: it is named in `unreadable` with why.
   */
  async loadEachSource(
    opts: { stacks?: string[] } = {},
  ): Promise<{ loaded: LoadedStack[]; unreadable: Map<string, string> }> {
    const loaded: LoadedStack[] = [];
    const unreadable = new Map<string, string>();
    for (const s of this.history.listSources()) {
      try {
        loaded.push(...(await this.loadSource(s, opts)));
      } catch (err) {
        unreadable.set(s.name, errorMessage(err));
      }
    }
    this.rejectDuplicateNames(loaded);
    return { loaded, unreadable };
  }

  private async loadSource(
    s: SourceState,
    opts: { stacks?: string[]; revision?: string | null },
  ): Promise<LoadedStack[]> {
    const git = this.gitSource(s);
    const warnings = this.sourceWarnings(s);
    let commit: string;
    try {
      commit = await git.resolve(opts.revision ?? null);
    } catch (err) {
      // The revision may belong to another source; only an error if no source has the stack.
      if (opts.revision && opts.stacks?.length) return [];
      if (opts.revision) throw err;
      warnings.push(
        `Source "${s.name}" has no revision to read yet (${errorMessage(err)}). Run \`mooring fetch ${s.name}\`.`,
      );
      return [];
    }
    const policyFile = [s.path, 'mooring.yaml'].filter(Boolean).join('/');
    const reader = git.reader(commit);
    const policyText = await reader.readFile(policyFile);
    let policies: Record<string, StackPolicy> = {};
    if (policyText !== null) {
      const parsed = parsePolicyFile(policyText, policyFile, this.settings.safety.maxManifestBytes);
      if (parsed.ok) policies = parsed.stacks;
      else {
        warnings.push(
          `${policyFile} is invalid, so every stack of "${s.name}" falls back to manual sync: ${parsed.errors
            .map((e) => `${e.file}:${e.line}:${e.column} ${e.message}`)
            .join('; ')}`,
        );
      }
    }
    const out: LoadedStack[] = [];
    for (const entry of await git.listStacks(commit)) {
      const loaded = await loadStack({
        reader,
        stackDir: entry.dir,
        composeFile: entry.composeFile,
        safety: this.safetyFor(s),
        source: s.name,
        stateDir: path.join(this.home, 'state', s.name),
        contentKey: await (this.contentKey ??= contentKeyOf(this.home, this.readOnly)),
        // mooring.yaml's compose profiles for the stack, found by the name the compose files give it.
        profiles: (stack) => (policies[stack] ?? policies[entry.name])?.profiles,
      });
      const name = loaded.ok ? loaded.stack.name : loaded.name;
      if (opts.stacks?.length && !opts.stacks.includes(name)) continue;
      out.push({
        source: s.name,
        name,
        dir: entry.dir,
        revision: commit,
        desired: loaded.ok ? loaded.stack : null,
        errors: loaded.ok ? [] : loaded.errors,
        policy: policies[name] ?? policies[entry.name] ?? DEFAULT_POLICY,
        // Keys kept without (full) effect on this engine are said beside the status, at their place.
        warnings:
          loaded.ok && loaded.stack.warnings ? [...warnings, ...loaded.stack.warnings.map(placed)] : warnings,
      });
    }
    return out;
  }

  /**
   * A compose project name is global to the engine: two stacks of one name would fight over it, and
   * the second would redeploy the first with its own content (a folder `aaa/` with `name: victim`, or
   * `My App/` beside `myapp/`). Every stack of a shared name is an error, naming all of them: which
   * one is meant is for a person to say (issue 10).
   */
  private rejectDuplicateNames(stacks: LoadedStack[]): void {
    const byName = new Map<string, LoadedStack[]>();
    for (const s of stacks) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
    for (const [name, group] of byName) {
      if (group.length < 2) continue;
      const where = (s: LoadedStack): string => `${s.dir ?? s.name}/ of source "${s.source}"`;
      for (const s of group) {
        const others = group.filter((o) => o !== s).map(where);
        s.errors = [
          ...s.errors,
          {
            file: s.desired?.file ?? (s.dir ? `${s.dir}/` : s.name),
            line: 1,
            column: 1,
            message: `stack name "${name}" is also the name of ${others.join(' and ')}; nothing of either is applied until each has its own compose \`name:\` (or folder name)`,
          },
        ];
        s.desired = null;
      }
    }
  }

  // ---- status ----

  /**
   * The containers of `project`, or (without one) those that can change the statuses of `loaded`: its
   * stacks' and, with `orphans`, every one this home made. Other compose projects on the engine are
   * not inspected, which was most of a status's cost on a busy engine (docs/benchmarks.md).
   */
  private async observeAll(
    project: string | undefined,
    loaded: LoadedStack[],
    orphans: boolean,
  ): Promise<{
    observed: ObservedContainer[];
    reachable: boolean;
    warning: string | null;
  }> {
    const names = new Set(loaded.map((s) => s.name));
    const wanted = (labels: Record<string, string>): boolean =>
      names.has(labels[LABELS.project] ?? '') ||
      (orphans && labels[LABELS.managed] === 'true' && labels[LABELS.instance] === this.instanceId);
    try {
      const observed = await this.docker.observe(this.home, project, project ? undefined : wanted);
      return { observed, reachable: true, warning: null };
    } catch (err) {
      if (err instanceof UnreachableError) return { observed: [], reachable: false, warning: err.message };
      throw err;
    }
  }

  /**
   * Status of every stack (or of the named ones). At the branch tips, a source that cannot be read
   * does not hide the others: it is passed to `onUnreadable`, and its containers are not taken for
   * stacks deleted in git. At an explicit revision, any failure to read is the answer.
   */
  async status(
    opts: {
      stacks?: string[];
      revision?: string | null;
      recordDrift?: boolean;
      onUnreadable?: (source: string, error: string) => void;
    } = {},
  ): Promise<StackStatus[]> {
    let loaded: LoadedStack[];
    let unreadable = new Map<string, string>();
    if (opts.revision) loaded = await this.loadStacks(opts);
    else ({ loaded, unreadable } = await this.loadEachSource(opts));
    for (const [source, error] of unreadable) opts.onUnreadable?.(source, error);
    const { statuses } = await this.statusOfLoaded(loaded, {
      orphans: !opts.stacks?.length,
      unreadable: new Set(unreadable.keys()),
    });
    if (!opts.stacks?.length) markHeld(statuses, this.settings.pruneConfirmShare ?? 1);
    // A read-only home shows status without recording drift (issue 10).
    if ((opts.recordDrift ?? true) && !this.readOnly)
      this.recordDrift(statuses, 'no longer drifting (seen by status)');
    return statuses.sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Status of stacks already read from git (the controller keeps them between fetches, so an engine
   * event costs no git read). `project` limits the engine query to that one stack; `orphans` adds the
   * stacks Mooring deployed that no source declares any more (folder deleted in git).
   */
  async statusOfLoaded(
    loaded: LoadedStack[],
    opts: { project?: string; orphans?: boolean; unreadable?: ReadonlySet<string> } = {},
  ): Promise<{ statuses: StackStatus[]; reachable: boolean; error: string | null }> {
    const stacks = opts.project ? loaded.filter((s) => s.name === opts.project) : loaded;
    const { observed, reachable, warning } = await this.observeAll(
      opts.project,
      loaded,
      opts.orphans ?? false,
    );
    const suspended = this.history.listSuspended();
    const statuses = await this.statusOf(stacks, observed, reachable, warning, suspended);
    if (opts.orphans && reachable) {
      const known = new Set(loaded.map((s) => s.name));
      const sources = new Map(this.history.listSources().map((s) => [s.name, s]));
      const orphans = new Map<string, ObservedContainer[]>();
      for (const c of observed) {
        if (!c.ours || !c.project || known.has(c.project)) continue;
        // A source that could not be read says nothing about what it declares: absence is no deletion.
        if (!c.source || !sources.has(c.source) || opts.unreadable?.has(c.source)) continue;
        orphans.set(c.project, [...(orphans.get(c.project) ?? []), c]);
      }
      for (const [name, containers] of orphans) {
        statuses.push({
          ...computeStatus({
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
            suspended: suspended.has(name),
          }),
          deletedInGit: true,
        });
      }
    }
    return { statuses, reachable, error: warning };
  }

  private async statusOf(
    loaded: LoadedStack[],
    observed: ObservedContainer[],
    reachable: boolean,
    warning: string | null,
    suspended: Map<string, unknown> = this.history.listSuspended(),
  ): Promise<StackStatus[]> {
    // Declared networks and volumes are compared too (issue 11, item 8): one list call each for all stacks.
    const declares = loaded.some(
      (s) => s.desired && s.desired.networks.length + s.desired.volumes.length > 0,
    );
    const [images, liveResources] = await Promise.all([
      reachable
        ? this.docker.imagesFor(loaded.flatMap((s) => s.desired?.services.map((x) => x.image) ?? []))
        : new Map<string, undefined>(),
      reachable && declares
        ? Promise.all([this.docker.listNetworks(), this.docker.listVolumes()]).then(
            ([networks, volumes]) => ({
              networks,
              volumes,
            }),
          )
        : undefined,
    ]);
    return loaded.map((s) =>
      computeStatus({
        ...s,
        warnings: warning ? [...s.warnings, warning] : s.warnings,
        observed: observed.filter((c) => c.project === s.name),
        images,
        hashes: new Map(s.desired?.services.map((x) => [x.name, hashService(x)]) ?? []),
        engineReachable: reachable,
        suspended: suspended.has(s.name),
        ...(liveResources ? { liveResources } : {}),
      }),
    );
  }

  /**
   * Opens, updates and resolves drift records. A service that is Missing counts only once the stack
   * was deployed: before the first sync, nothing has drifted, it just was never there.
   */
  recordDrift(statuses: StackStatus[], resolution: string): void {
    for (const st of statuses) {
      if (st.sync === 'Unknown') continue;
      const deployed =
        st.services.some((s) => s.container !== null) || this.history.lastDeployedRevision(st.name) !== null;
      const drifting = new Map(
        st.services
          .filter(
            (s) => s.sync === 'OutOfSync' || s.sync === 'Orphaned' || (s.sync === 'Missing' && deployed),
          )
          .map((s) => [
            s.name,
            s.sync === 'Missing' ? [{ path: 'container', desired: 'present', live: null }] : s.reasons,
          ]),
      );
      // A declared network or volume, under `network NAME` / `volume NAME` (no service has a space).
      for (const r of st.resources ?? []) {
        if (r.sync === 'OutOfSync' || deployed) drifting.set(`${r.kind} ${r.key}`, r.reasons);
      }
      this.history.observeDrift(st.source, st.name, drifting, resolution);
    }
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
      this.history.suspend(stack, reason);
      return;
    }
    this.history.resume(stack);
    // A person resumed it: whatever the controller gave up on gets a fresh set of tries.
    this.history.retryStore().delete(stack);
  }

  listSuspended(): Map<string, { since: string; reason: string | null }> {
    return this.history.listSuspended();
  }

  // ---- plan and sync ----

  private async planFor(stack: LoadedStack, status: StackStatus, prune: boolean): Promise<Plan> {
    const desired = stack.desired!;
    const images = await this.docker.imagesFor(desired.services.map((s) => s.image));
    const misbuilt = misbuiltTags(desired, images);
    // What exists already: a declared network or volume that Mooring did not make for this stack is
    // used as it is, and the plan says so (issue 10) rather than adopting it in silence.
    const notes: string[] = desired.services.flatMap((s) =>
      s.swarmOnly?.length ? [`${s.name}: ${s.swarmOnly.join(', ')} kept, applies on Swarm only`] : [],
    );
    const madeHere = (labels: Record<string, string>): boolean =>
      labels[LABELS.managed] === 'true' && labels[LABELS.project] === stack.name;
    const existingNetworks = new Set<string>();
    const ownNetworks = new Set<string>();
    for (const n of desired.networks) {
      const found = await this.docker.network(n.name);
      if (!found) continue;
      // Named by its id, the host network would slip past the manifest's check of the name `host`.
      if (found.driver === 'host' && !this.safetyFor(this.source(stack.source)).allowHostNamespaces) {
        throw new MooringError(
          'failed',
          `Network "${n.name}" is the engine's host network: ${safetyMessages.hostNamespace('network_mode')}.`,
        );
      }
      existingNetworks.add(n.name);
      if (!n.external && !madeHere(found.labels)) {
        notes.push(`uses existing network ${n.name}, not created by Mooring for this stack`);
      } else if (!n.external && this.ownsNetwork(found)) {
        ownNetworks.add(n.name);
      }
    }
    const existingVolumes = new Set<string>();
    for (const v of desired.volumes) {
      const found = await this.docker.volume(v.name);
      if (!found) continue;
      existingVolumes.add(v.name);
      if (!v.external && !madeHere(found.labels)) {
        notes.push(`uses existing volume ${v.name}, not created by Mooring for this stack`);
      }
    }
    for (const n of desired.networks.filter((x) => x.external && !existingNetworks.has(x.name))) {
      throw new MooringError(
        'failed',
        `External network "${n.name}" does not exist; create it first (docker network create ${n.name}).`,
      );
    }
    notes.push(...(desired.warnings ?? []).map(placed), ...(await this.engineNotes(desired)));
    const net = networkPlanChecks(
      desired,
      status.resources ?? [],
      ownNetworks,
      (await this.docker.engineVersion()).apiVersion,
    );
    if (net.problems.length > 0) throw new MooringError('failed', net.problems.join(' '));
    notes.push(...net.notes);
    // pull_policy and platform decide what is pulled; a build's tag is built instead (planStack).
    const builtTags = new Set(buildsOf(desired).keys());
    const pulls = planPulls(desired.services, images, builtTags, Date.now());
    if (pulls.problems.length > 0) throw new MooringError('failed', pulls.problems.join(' '));
    return {
      source: stack.source,
      stack: stack.name,
      revision: stack.revision!,
      ...(notes.length > 0 ? { notes } : {}),
      actions: planStack({
        desired,
        status,
        missingImages: new Set([
          ...[...images]
            .filter(([name, info]) => builtTags.has(name) && (!info || misbuilt.has(name)))
            .map(([name]) => name),
          ...pulls.pulls.map((p) => p.image),
        ]),
        pullReasons: new Map(pulls.pulls.map((p) => [p.image, p.reason])),
        misbuilt,
        existingNetworks,
        existingVolumes,
        ownNetworks,
        prune,
      }),
    };
  }

  /** What this engine cannot do of a stack, and applies without: said in the plan rather than dropped in silence. */
  private async engineNotes(desired: DesiredStack): Promise<string[]> {
    const annotated = desired.services.filter((s) => s.passthrough?.hostConfig?.Annotations !== undefined);
    if (annotated.length === 0) return [];
    const { apiVersion } = await this.docker.engineVersion();
    const [major = 0, minor = 0] = apiVersion.split('.').map(Number);
    if (major > 1 || (major === 1 && minor >= 43)) return [];
    return [
      `annotations of ${annotated.map((s) => s.name).join(', ')} are not applied: this engine speaks API ${apiVersion}, and annotations need 1.43 (Docker Engine 24) or later`,
    ];
  }

  /**
   * Syncs stacks one at a time. An invalid stack is recorded as a failed run with its errors and
   * nothing of it is applied; the other stacks go on.
   */
  async sync(
    opts: {
      stacks?: string[];
      revision?: string | null;
    } & SyncOptions = {},
  ): Promise<SyncResult[]> {
    if (!opts.dryRun) this.assertWritable('sync');
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
    // `--prune` of everything also removes the stacks whose folder was deleted in git; a commit that
    // deletes most of a source waits for `allowEmpty` (checked before anything is applied).
    const deleted = opts.prune && !opts.stacks?.length ? await this.deletedStacks(loaded, opts) : [];
    const results: SyncResult[] = [];
    for (const stack of loaded) results.push(await this.syncLoaded(stack, opts));
    for (const d of deleted) {
      results.push(await this.pruneRemovedStack(d, { ...opts, trigger: opts.trigger ?? 'cli' }));
    }
    if (!opts.dryRun) await this.cleanup();
    return results;
  }

  /**
   * Removes the stacks of `source` whose folder was deleted in git: what a person confirms when a
   * commit deleted all (or most) of a source and the controller holds the prune (issue 10).
   */
  async pruneDeleted(source: string, opts: SyncOptions = {}): Promise<SyncResult[]> {
    this.assertWritable('prune');
    this.source(source);
    const { loaded, unreadable } = await this.loadEachSource();
    const why = unreadable.get(source);
    if (why !== undefined) {
      throw new MooringError(
        'failed',
        `Source "${source}" cannot be read at its tip (${why}): nothing is pruned.`,
      );
    }
    const results: SyncResult[] = [];
    for (const d of await this.deletedStacks(loaded, { ...opts, allowEmpty: true }, source)) {
      results.push(await this.pruneRemovedStack(d, { ...opts, trigger: opts.trigger ?? 'manual' }));
    }
    if (!opts.dryRun) await this.cleanup();
    return results;
  }

  /** Stacks Mooring deployed that git no longer declares, each at its source's tip; refuses a held prune. */
  private async deletedStacks(
    loaded: LoadedStack[],
    opts: SyncOptions,
    source?: string,
  ): Promise<{ source: string; stack: string; revision: string }[]> {
    const { statuses } = await this.statusOfLoaded(loaded, { orphans: true });
    const holds = pruneHolds(statuses, this.settings.pruneConfirmShare ?? 1);
    if (holds.length > 0 && !opts.allowEmpty && !opts.dryRun) {
      throw new MooringError(
        'conflict',
        `${holds.map((h) => h.message.replace('run `mooring sync --prune --allow-empty`', 'add --allow-empty')).join('\n')}\nNothing was changed.`,
      );
    }
    const out: { source: string; stack: string; revision: string }[] = [];
    for (const st of statuses.filter(
      (x) => x.deletedInGit && (source === undefined || x.source === source),
    )) {
      out.push({
        source: st.source,
        stack: st.name,
        revision: await this.gitSource(this.source(st.source)).resolve(),
      });
    }
    return out;
  }

  /** Syncs one stack already read from git (the controller keeps them), under the stack's lock. */
  async syncStack(stack: LoadedStack, opts: SyncOptions = {}): Promise<SyncResult> {
    const result = await this.syncLoaded(stack, opts);
    // Cleaning up is housekeeping: an engine gone at this point must not turn a finished run into an error.
    if (!opts.dryRun && result.runId !== null) await this.cleanup().catch(() => undefined);
    return result;
  }

  private async syncLoaded(stack: LoadedStack, opts: SyncOptions): Promise<SyncResult> {
    const trigger = opts.trigger ?? 'cli';
    const base = { stack: stack.name, source: stack.source, revision: stack.revision };
    if (!stack.desired) {
      const error = stack.errors.map((e) => `${e.file}:${e.line}:${e.column}: ${e.message}`).join('\n');
      const runId = opts.dryRun
        ? null
        : this.recordNotApplied(stack, trigger, `Invalid manifest, nothing applied:\n${error}`);
      return { ...base, plan: null, runId, result: 'invalid', error };
    }
    if (opts.dryRun) return this.syncOne(stack, { ...opts, trigger });
    return this.underLock(base, opts.owner ?? `mooring ${trigger}`, () =>
      this.syncOne(stack, { ...opts, trigger }),
    );
  }

  /**
   * Runs `fn` holding the stack's lock (shared with every other process of this home); another holder
   * makes it a 'locked' result. The deploy note of the run is written after the lock is released: a
   * slow push must not hold up the next run of the stack.
   */
  private async underLock(
    base: { stack: string; source: string; revision: string | null },
    owner: string,
    fn: () => Promise<SyncResult>,
  ): Promise<SyncResult> {
    const lock = this.history.tryLock(base.source, base.stack, owner);
    if (!lock.ok) {
      return {
        ...base,
        plan: null,
        runId: null,
        result: 'locked',
        error: `Stack "${base.stack}" is being synced by ${lock.holder} since ${lock.since}. Wait for it to finish, then try again.`,
      };
    }
    let result: SyncResult;
    try {
      result = await fn();
    } finally {
      this.history.unlock(base.source, base.stack);
    }
    return result.runId === null ? result : { ...result, note: await this.pipeline.afterRun(result.runId) };
  }

  /** A failed run with no actions: the stack could not be planned, so nothing of it was applied. */
  private recordNotApplied(stack: LoadedStack, trigger: Trigger, error: string): number {
    const runId = this.history.startRun({
      source: stack.source,
      stack: stack.name,
      revision: stack.revision ?? '',
      trigger,
      plan: [],
    });
    this.history.finishRun(runId, 'failed', error);
    return runId;
  }

  private async syncOne(stack: LoadedStack, opts: SyncOptions & { trigger: Trigger }): Promise<SyncResult> {
    const observed = await this.docker.observe(this.home, stack.name);
    const [status] = await this.statusOf([stack], observed, true, null);
    let plan: Plan;
    try {
      plan = await this.planFor(stack, status!, opts.prune ?? false);
    } catch (err) {
      // A plan that cannot be made (an external network missing) is a failed run like any other, in
      // history and in the UI; an engine gone away is the caller's to report.
      if (!(err instanceof MooringError) || err.code !== 'failed') throw err;
      const runId = opts.dryRun ? null : this.recordNotApplied(stack, opts.trigger, err.message);
      return {
        stack: stack.name,
        source: stack.source,
        revision: stack.revision,
        plan: null,
        runId,
        result: 'failed',
        error: err.message,
      };
    }
    const base = { stack: stack.name, source: stack.source, revision: stack.revision, plan };
    if (opts.dryRun) return { ...base, runId: null, result: 'planned', error: null };
    const source = this.source(stack.source);
    const git = this.gitSource(source);
    // Compose's project labels name the files: a local source's folder is on this disk; an http
    // source's files are in git only, named by the repo's URL.
    const dir = path.posix.dirname(stack.desired!.file);
    const where =
      source.kind === 'local'
        ? path.join(source.url, dir)
        : `${source.url}#${stack.revision!.slice(0, 12)}:${dir}`;
    const { runId, error, interrupted } = await this.applier.apply({
      source: stack.source,
      revision: stack.revision!,
      trigger: opts.trigger,
      desired: stack.desired!,
      hashes: new Map(stack.desired!.services.map((s) => [s.name, hashService(s)])),
      observed,
      actions: plan.actions,
      home: this.home,
      instance: this.instanceId,
      workingDir: where,
      configFiles:
        source.kind === 'local'
          ? path.join(source.url, stack.desired!.file)
          : `${where}/${path.posix.basename(stack.desired!.file)}`,
      materialize: (services) =>
        materializeMounts(this.home, services, git, undefined, stack.desired!.fileContents),
      build: async (action, onLine) => {
        const input = {
          git,
          commit: stack.revision!,
          sourceDisplay: source.url,
          stack: stack.name,
          tag: action.target,
          services: stack.desired!.services,
          ...(opts.signal ? { signal: opts.signal } : {}),
        };
        await buildPlannedImage({ docker: this.docker, recorder: this.pipeline.store }, input, onLine);
      },
      ownsNetwork: this.ownsNetwork,
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    // The run is recorded either way; an engine that went away during it only costs the drift update.
    const after = await this.docker
      .observe(this.home, stack.name)
      .then((o) => this.statusOf([stack], o, true, null))
      .catch(() => null);
    if (after) this.recordDrift(after, `run ${runId}`);
    return {
      ...base,
      runId,
      result: error ? 'failed' : 'succeeded',
      error,
      ...(interrupted ? { interrupted } : {}),
      after: after?.[0] ?? null,
    };
  }

  /**
   * Removes the containers of a stack whose folder was deleted in git (the controller does this only
   * when the stack's last policy said `sync: auto` and `prune: true`). Recorded as a run at `revision`,
   * the commit that no longer has the stack.
   */
  async pruneRemovedStack(
    input: { source: string; stack: string; revision: string },
    opts: SyncOptions = {},
  ): Promise<SyncResult> {
    const trigger = opts.trigger ?? 'auto';
    const base = { stack: input.stack, source: input.source, revision: input.revision };
    const removal = async (): Promise<SyncResult> => {
      // Only what this home made from this source: a look-alike is never ours to remove.
      const observed = (await this.docker.observe(this.home, input.stack)).filter(
        (c) => c.ours && c.source === input.source,
      );
      const services = [...new Set(observed.flatMap((c) => (c.service ? [c.service] : [])))].sort();
      const reason =
        trigger === 'auto'
          ? 'the stack folder was deleted in git and its last policy said prune'
          : 'the stack folder was deleted in git (prune)';
      const networks = (
        await this.docker.unusedStackNetworks(input.stack, new Set(observed.map((c) => c.id)))
      ).filter(this.ownsNetwork);
      const actions: PlanAction[] = [
        ...services.map((service) => ({
          kind: 'remove' as const,
          target: service,
          reason,
          diff: [],
          level: 1,
        })),
        // Volumes stay: they hold data, and nothing in git says to drop it.
        ...networks.map(({ name }) => ({
          kind: 'remove-network' as const,
          target: name,
          reason,
          diff: [],
          level: 2,
        })),
      ];
      const plan: Plan = { source: input.source, stack: input.stack, revision: input.revision, actions };
      if (opts.dryRun) return { ...base, plan, runId: null, result: 'planned', error: null };
      const { runId, error, interrupted } = await this.applier.apply({
        source: input.source,
        revision: input.revision,
        trigger,
        desired: { name: input.stack, file: '', services: [], networks: [], volumes: [] },
        hashes: new Map(),
        observed,
        actions,
        home: this.home,
        instance: this.instanceId,
        materialize: () => Promise.resolve(),
        ownsNetwork: this.ownsNetwork,
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      if (!error) this.history.observeDrift(input.source, input.stack, new Map(), `run ${runId}`);
      return {
        ...base,
        plan,
        runId,
        result: error ? 'failed' : 'succeeded',
        error,
        ...(interrupted ? { interrupted } : {}),
      };
    };
    return opts.dryRun ? removal() : this.underLock(base, opts.owner ?? `mooring ${trigger}`, removal);
  }

  /**
   * The policy a stack had at the last commit that declared it, or null when no cached commit of the
   * source did. Looks back through the commits that changed some stack, newest first: the first whose
   * parent declares the stack is the one that deleted it.
   */
  async lastPolicyOf(
    source: string,
    stack: string,
    limit = 50,
  ): Promise<{ policy: StackPolicy; revision: string } | null> {
    // Read from git itself, not the commit cache: just after a restart the cache may not yet hold the
    // commit that deleted the stack, and the first look would then see no policy where the second saw
    // one (issue 10, item 9).
    const commits = (await this.gitSource(this.source(source)).log({ limit: 500 })).filter(
      (c) => c.stacks.length > 0,
    );
    for (const c of commits.slice(0, limit)) {
      const parent = c.parents[0];
      if (!parent) continue;
      const at = await this.loadStacks({ source, revision: parent }).catch(() => []);
      const found = at.find((s) => s.name === stack);
      if (found) return { policy: found.policy, revision: parent };
    }
    return null;
  }

  /** Removes materialized mount copies that no container uses any more. */
  private async cleanup(): Promise<void> {
    // The engine's list has every container's mounts: no need to inspect each (a cold process
    // inspected every compose container on the engine here after every sync).
    await cleanupMounts(this.home, await this.docker.mountSources());
  }

  /** Containers of a stack, for tests and the UI's container list. */
  async containers(stack: string): Promise<ObservedContainer[]> {
    return this.docker.observe(this.home, stack);
  }

  /**
   * Cached commits, newest first, each with its deploys (this machine's runs and every machine's deploy
   * notes). Local sources are re-read first: that needs no network.
   */
  async log(opts: { source?: string; limit?: number } = {}): Promise<CommitWithDeploys[]> {
    for (const s of this.history.listSources()) {
      // A read-only home shows what it has cached: re-reading would record.
      if (s.kind === 'local' && !this.readOnly && (!opts.source || opts.source === s.name))
        await this.fetch(s.name);
    }
    const commits = this.history.listCommits(opts);
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

  /** Deploys a past revision and suspends auto-sync of the stack, or (`revert`) commits it instead. */
  rollback(
    stack: string,
    revision: string,
    opts: { revert?: boolean; onProgress?: (e: ProgressEvent) => void } = {},
  ): Promise<RollbackResult> {
    if (this.readOnly) return Promise.reject(readOnlyHomeError(this.home, 'roll back'));
    return this.pipeline.rollback(stack, revision, opts);
  }

  /** Every known deploy of these commits, newest first: what ran where and when. */
  deploysOf(commits: string[], source?: string): Map<string, DeployRecord[]> {
    return this.pipeline.deploysOf(commits, source);
  }
}
