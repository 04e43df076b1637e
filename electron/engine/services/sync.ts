// Sync: plan (reconcile/plan.ts, pure, with what only the engine can tell: existing networks and
// volumes, images, the engine's version), apply (reconcile/apply.ts) under the stack's lock, record the
// run and the drift it left, and prune stacks deleted in git.
import path from 'node:path';
import {
  WORKTREE,
  type DesiredFileMount,
  type DesiredStack,
  type Plan,
  type PlanAction,
  type StackStatus,
  type Trigger,
} from '../../shared/model.ts';
import { LABELS } from '../docker/labels.ts';
import {
  hashService,
  placed,
  type LoadedStack,
  type SyncOptions,
  type SyncResult,
} from '../engine-common.ts';
import { MooringError, UnreachableError } from '../errors.ts';
import { safetyMessages } from '../manifest/safety.ts';
import { externalAsContainers } from '../manifest/secrets.ts';
import type { BuildRecorder } from '../pipeline/build.ts';
import { buildPlannedImage } from '../pipeline/build.ts';
import type { NoteOutcome } from '../pipeline/deploy-notes.ts';
import { cleanupMounts, materializeMounts } from '../reconcile/materialize.ts';
import { networkPlanChecks } from '../reconcile/network-plan.ts';
import { buildsOf, misbuiltTags, planRemoval, planStack } from '../reconcile/plan.ts';
import { planPulls } from '../reconcile/pull-policy.ts';
import { pruneHolds } from '../reconcile/prune-guard.ts';
import type { EngineContext } from './context.ts';
import type { DesiredStateService } from './desired-state.ts';
import { recordDrift } from './drift.ts';
import type { SafetyService } from './safety.ts';
import type { SourceService } from './sources.ts';
import type { Observation, StatusService } from './status.ts';
import {
  applySwarm,
  foreignServices,
  madeHere,
  findExternal,
  observeSwarmStack,
  planSwarm,
  type SwarmObservation,
} from '../swarm/deploy.ts';
import { swarmStack, type SwarmStackSpec } from '../swarm/spec.ts';
import type { LiveNetwork, LiveVolume } from '../docker/docker-adapter.ts';

/** What a sync needs of the pipeline (which itself calls sync: hence callbacks, not an import). */
export interface SyncHooks {
  /** Writes (and pushes) the deploy note of a finished run. */
  afterRun(runId: number): Promise<NoteOutcome | null>;
  /** Where the builds a plan asks for are recorded, like `mooring build`'s. */
  buildRecorder: BuildRecorder;
}

/** Plan and sync: a stack's plan from its status, applied under the stack's lock and recorded. */
export class SyncService {
  constructor(
    private readonly ctx: EngineContext,
    private readonly sources: SourceService,
    private readonly safety: SafetyService,
    private readonly desired: DesiredStateService,
    private readonly status: StatusService,
    private readonly hooks: SyncHooks,
  ) {}

  private async planFor(
    stack: LoadedStack,
    status: StackStatus,
    observation: Observation,
    prune: boolean,
  ): Promise<Plan> {
    const desired = stack.desired!;
    const { images } = observation;
    // An external secret or config is an object of a Swarm: containers have nothing to mount.
    const external = externalAsContainers(desired);
    if (external.length > 0) throw new MooringError('failed', external.join('\n'));
    // By name, or by id as the engine also resolves it (the host network named by its id is refused).
    const network = (name: string): LiveNetwork | undefined =>
      observation.resources?.networks.find((n) => n.name === name) ??
      observation.resources?.networks.find((n) => n.id === name);
    const volume = (name: string): LiveVolume | undefined =>
      observation.resources?.volumes.find((v) => v.name === name);
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
      const found = network(n.name);
      if (!found) continue;
      // Named by its id, the host network would slip past the manifest's check of the name `host`.
      if (
        found.driver === 'host' &&
        !this.safety.safetyFor(this.sources.source(stack.source)).allowHostNamespaces
      ) {
        throw new MooringError(
          'failed',
          `Network "${n.name}" is the engine's host network: ${safetyMessages.hostNamespace('network_mode')}.`,
        );
      }
      existingNetworks.add(n.name);
      if (!n.external && !madeHere(found.labels)) {
        notes.push(`uses existing network ${n.name}, not created by Mooring for this stack`);
      } else if (!n.external && this.ctx.ownsNetwork(found)) {
        ownNetworks.add(n.name);
      }
    }
    const existingVolumes = new Set<string>();
    for (const v of desired.volumes) {
      const found = volume(v.name);
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
      (await this.ctx.docker.engineVersion()).apiVersion,
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
    const { apiVersion } = await this.ctx.docker.engineVersion();
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
    if (!opts.dryRun) this.ctx.assertWritable('sync');
    // Uncommitted files are deployed only when a person asks for exactly that (`sync --worktree`), and
    // never from a source that deploys signed commits only.
    if ((opts.revision === WORKTREE) !== (opts.trigger === 'worktree') && !opts.dryRun) {
      throw new MooringError(
        'usage',
        opts.revision === WORKTREE
          ? 'The work tree is deployed only when asked for as such: `mooring sync --worktree`. Commit the files to deploy them otherwise.'
          : 'A worktree run deploys the work tree: give revision "worktree".',
      );
    }
    const signedOnly =
      opts.revision === WORKTREE && !opts.dryRun
        ? this.sources.worktreeSources().filter((s) => s.verify)
        : [];
    if (signedOnly.length > 0) {
      throw new MooringError(
        'usage',
        `Source "${signedOnly[0]!.name}" deploys only commits signed by a key it allows, and a work tree is not signed: commit and sign the files, or preview them with --dry-run.`,
      );
    }
    const loaded = await this.desired.loadStacks(opts);
    if (opts.stacks?.length) {
      const missing = opts.stacks.filter((n) => !loaded.some((s) => s.name === n));
      if (missing.length > 0) {
        throw new MooringError(
          'not-found',
          `No stack named ${missing.join(', ')} in any source. Run \`mooring status\` to see them.`,
        );
      }
    }
    await this.ctx.docker.ping().catch((err: unknown) => {
      throw err instanceof UnreachableError ? err : this.ctx.docker.unreachable(err);
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
    this.ctx.assertWritable('prune');
    this.sources.source(source);
    const { loaded, unreadable } = await this.desired.loadEachSource();
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
    const { statuses } = await this.status.statusOfLoaded(loaded, { orphans: true });
    const holds = pruneHolds(statuses, this.ctx.settings.pruneConfirmShare ?? 1);
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
        revision: await this.sources.gitSource(this.sources.source(st.source)).resolve(),
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
      const what = stack.errors.some((e) => e.unverified) ? 'Unverified commit' : 'Invalid manifest';
      const runId = opts.dryRun
        ? null
        : this.recordNotApplied(stack, trigger, `${what}, nothing applied:\n${error}`);
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
    const lock = this.ctx.records.locks.tryLock(base.source, base.stack, owner);
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
      this.ctx.records.locks.unlock(base.source, base.stack);
    }
    return result.runId === null ? result : { ...result, note: await this.hooks.afterRun(result.runId) };
  }

  /** A failed run with no actions: the stack could not be planned, so nothing of it was applied. */
  private recordNotApplied(stack: LoadedStack, trigger: Trigger, error: string): number {
    const runId = this.ctx.history.runs.start({
      source: stack.source,
      stack: stack.name,
      revision: stack.revision ?? '',
      trigger,
      plan: [],
      engine: this.ctx.engineName,
    });
    this.ctx.history.runs.finish(runId, 'failed', error);
    return runId;
  }

  private async syncOne(stack: LoadedStack, opts: SyncOptions & { trigger: Trigger }): Promise<SyncResult> {
    // One look at the engine: the status, the plan and the apply all work from it.
    const observation = await this.status.observe([stack], { project: stack.name, fresh: true });
    if (!observation.reachable)
      throw new UnreachableError(observation.warning ?? 'The Docker engine did not answer.');
    const observed = observation.containers;
    const seen = observation.swarm?.get(stack.name);
    if (seen) return this.syncSwarm(stack, observation, seen, opts);
    if (stack.policy.mode === 'swarm') {
      return this.notPlanned(
        stack,
        opts,
        `Stack "${stack.name}" says mode: swarm, and this engine is not a Swarm manager: run \`docker swarm init\` there, or deploy it with --engine NAME to an engine that is one. Nothing was changed.`,
      );
    }
    const [status] = this.status.compare([stack], observation);
    let plan: Plan;
    try {
      plan = await this.planFor(stack, status!, observation, opts.prune ?? false);
    } catch (err) {
      // A plan that cannot be made (an external network missing) is a failed run like any other, in
      // history and in the UI; an engine gone away is the caller's to report.
      if (!(err instanceof MooringError) || err.code !== 'failed') throw err;
      return this.notPlanned(stack, opts, err.message);
    }
    const base = { stack: stack.name, source: stack.source, revision: stack.revision, plan };
    if (opts.dryRun) return { ...base, runId: null, result: 'planned', error: null };
    const source = this.sources.source(stack.source);
    const git = this.sources.gitSource(source);
    // Compose's project labels name the files: a local source's folder is on this disk; an http
    // source's files are in git only, named by the repo's URL.
    const dir = path.posix.dirname(stack.desired!.file);
    const where =
      source.kind === 'local'
        ? path.join(source.url, dir)
        : `${source.url}#${stack.revision!.slice(0, 12)}:${dir}`;
    const { runId, error, interrupted } = await this.ctx.applier.apply({
      source: stack.source,
      revision: stack.revision!,
      signer: stack.signer ?? null,
      trigger: opts.trigger,
      desired: stack.desired!,
      hashes: new Map(stack.desired!.services.map((s) => [s.name, hashService(s)])),
      observed,
      actions: plan.actions,
      home: this.ctx.home,
      instance: this.ctx.instanceId,
      workingDir: where,
      configFiles:
        source.kind === 'local'
          ? path.join(source.url, stack.desired!.file)
          : `${where}/${path.posix.basename(stack.desired!.file)}`,
      materialize: (services) =>
        materializeMounts(this.ctx.home, services, git, undefined, stack.desired!.fileContents),
      build: this.builder(stack, opts),
      ownsNetwork: this.ctx.ownsNetwork,
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const after = await this.lookAfter(stack, runId);
    return {
      ...base,
      runId,
      result: error ? 'failed' : 'succeeded',
      error,
      ...(interrupted ? { interrupted } : {}),
      after: after?.[0] ?? null,
    };
  }

  /** A stack that cannot be planned: a failed run like any other, in history and in the UI. */
  private notPlanned(
    stack: LoadedStack,
    opts: SyncOptions & { trigger: Trigger },
    error: string,
  ): SyncResult {
    const runId = opts.dryRun ? null : this.recordNotApplied(stack, opts.trigger, error);
    return {
      stack: stack.name,
      source: stack.source,
      revision: stack.revision,
      plan: null,
      runId,
      result: 'failed',
      error,
    };
  }

  /** Builds a planned image (`build` action, its tag the target) from the stack's revision. */
  private builder(
    stack: LoadedStack,
    opts: SyncOptions,
  ): (action: PlanAction, onLine: (line: string) => void) => Promise<void> {
    const source = this.sources.source(stack.source);
    return async (action, onLine) => {
      const input = {
        git: this.sources.gitSource(source),
        commit: stack.revision!,
        sourceDisplay: source.url,
        stack: stack.name,
        tag: action.target,
        services: stack.desired!.services,
        ...(opts.signal ? { signal: opts.signal } : {}),
      };
      await buildPlannedImage({ docker: this.ctx.docker, recorder: this.hooks.buildRecorder }, input, onLine);
    };
  }

  /** A secret's or config's bytes: a blob of the stack's revision, or its inline or variable content. */
  private async fileBytes(stack: LoadedStack, m: DesiredFileMount): Promise<Uint8Array> {
    if (m.from === 'repo')
      return this.sources.gitSource(this.sources.source(stack.source)).readBlob(m.digest);
    const bytes = stack.desired!.fileContents?.get(m.digest);
    if (bytes === undefined) throw new Error(`the content of ${m.name} was not read with the stack`);
    return bytes;
  }

  /**
   * A stack as Swarm services (issue 15): planned from the services the manager has, applied as one
   * run, each service waited on until Swarm has rolled it out.
   */
  private async syncSwarm(
    stack: LoadedStack,
    observation: Observation,
    observed: SwarmObservation,
    opts: SyncOptions & { trigger: Trigger },
  ): Promise<SyncResult> {
    const desired = stack.desired!;
    const spec = swarmStack(desired, {
      source: stack.source,
      revision: stack.revision!,
      instance: this.ctx.instanceId,
    });
    const { seen, problems: missing } = await findExternal(this.ctx.docker, spec, observed);
    const problems = [...spec.problems, ...missing, ...foreignServices(spec, seen, this.ctx.instanceId)];
    const containers = observation.containers.filter((c) => c.project === stack.name && c.ours);
    // Only with `mode: swarm`: without it, a stack running as containers stays containers (status.ts).
    if (containers.length > 0)
      problems.push(
        `Stack "${stack.name}" says mode: swarm and runs as containers on this engine: remove them first (docker compose -p ${stack.name} down), so that its services do not run twice.`,
      );
    // An image built from git is on this node only: a swarm of one node (a manager alone) runs it.
    const builds = buildsOf(desired);
    if (builds.size > 0) {
      const nodes = await this.ctx.docker.swarmNodes();
      if (nodes > 1)
        problems.push(
          `${stack.name}/${[...builds.values()].flat().join(', ')}: an image built from git would be on this node only, and the swarm has ${nodes} nodes; build and push it to a registry, and name it in \`image:\``,
        );
    }
    if (problems.length > 0)
      return this.notPlanned(stack, opts, `${problems.join('\n')}\nNothing was changed.`);
    const misbuilt = misbuiltTags(desired, observation.images);
    const actions = planSwarm(spec, seen, {
      prune: opts.prune ?? false,
      instance: this.ctx.instanceId,
      builds: new Map(
        [...builds].filter(([tag]) => observation.images.get(tag) === undefined || misbuilt.has(tag)),
      ),
    });
    const notes = [...spec.notes, ...(desired.warnings ?? []).map(placed)];
    const plan: Plan = {
      source: stack.source,
      stack: stack.name,
      revision: stack.revision!,
      actions,
      ...(notes.length > 0 ? { notes } : {}),
    };
    const base = { stack: stack.name, source: stack.source, revision: stack.revision, plan };
    if (opts.dryRun) return { ...base, runId: null, result: 'planned', error: null };
    const { runId, error } = await applySwarm(this.ctx.docker, this.ctx.history, {
      engine: this.ctx.engineName,
      source: stack.source,
      revision: stack.revision!,
      signer: stack.signer ?? null,
      trigger: opts.trigger,
      desired,
      spec,
      seen,
      actions,
      readFile: (m) => this.fileBytes(stack, m),
      build: this.builder(stack, opts),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const after = await this.lookAfter(stack, runId);
    return { ...base, runId, result: error ? 'failed' : 'succeeded', error, after: after?.[0] ?? null };
  }

  /**
   * The stack's status after run `runId`, with the drift it left recorded. The run is recorded either
   * way; an engine that went away during it only costs the drift update (null).
   */
  private async lookAfter(stack: LoadedStack, runId: number): Promise<StackStatus[] | null> {
    const after = await this.status
      .observe([stack], { project: stack.name })
      .then((o) => (o.reachable ? this.status.compare([stack], o) : null))
      .catch(() => null);
    if (after) recordDrift(this.ctx.history.runs, this.ctx.records, after, `run ${runId}`);
    return after;
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
      const reason =
        trigger === 'auto'
          ? 'the stack folder was deleted in git and its last policy said prune'
          : 'the stack folder was deleted in git (prune)';
      const swarm = await this.removeSwarmStack(input, reason, { ...opts, trigger });
      if (swarm) return swarm;
      // Only what this home made from this source: a look-alike is never ours to remove.
      const observed = (await this.ctx.docker.observe(this.ctx.home, input.stack)).filter(
        (c) => c.ours && c.source === input.source,
      );
      const services = [...new Set(observed.flatMap((c) => (c.service ? [c.service] : [])))].sort();
      const networks = (
        await this.ctx.docker.unusedStackNetworks(input.stack, new Set(observed.map((c) => c.id)))
      ).filter(this.ctx.ownsNetwork);
      const actions = planRemoval(
        services,
        networks.map((n) => n.name),
        reason,
      );
      const plan: Plan = { source: input.source, stack: input.stack, revision: input.revision, actions };
      if (opts.dryRun) return { ...base, plan, runId: null, result: 'planned', error: null };
      const { runId, error, interrupted } = await this.ctx.applier.apply({
        source: input.source,
        revision: input.revision,
        trigger,
        desired: { name: input.stack, file: '', services: [], networks: [], volumes: [] },
        hashes: new Map(),
        observed,
        actions,
        home: this.ctx.home,
        instance: this.ctx.instanceId,
        materialize: () => Promise.resolve(),
        ownsNetwork: this.ctx.ownsNetwork,
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      if (!error) this.ctx.records.drifts.observe(input.source, input.stack, new Map(), `run ${runId}`);
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
   * A deleted stack that runs as Swarm services of this home, from this source: its services, networks,
   * secrets and configs removed as one run. Null when it has none here (or the engine is no manager).
   */
  private async removeSwarmStack(
    input: { source: string; stack: string; revision: string },
    reason: string,
    opts: SyncOptions & { trigger: Trigger },
  ): Promise<SyncResult | null> {
    if ((await this.ctx.docker.swarmRole(true).catch(() => 'none')) !== 'manager') return null;
    const all = await observeSwarmStack(this.ctx.docker, input.stack);
    const seen = {
      ...all,
      services: all.services.filter((s) => s.spec.Labels[LABELS.source] === input.source),
    };
    if (!seen.services.some((s) => madeHere(s.spec.Labels, this.ctx.instanceId))) return null;
    const spec: SwarmStackSpec = { services: [], networks: [], files: [], problems: [], notes: [] };
    const actions = planSwarm(spec, seen, { prune: true, instance: this.ctx.instanceId }).map((a) => ({
      ...a,
      reason,
    }));
    const plan: Plan = { source: input.source, stack: input.stack, revision: input.revision, actions };
    const base = { stack: input.stack, source: input.source, revision: input.revision, plan };
    if (opts.dryRun) return { ...base, runId: null, result: 'planned', error: null };
    const { runId, error } = await applySwarm(this.ctx.docker, this.ctx.history, {
      engine: this.ctx.engineName,
      source: input.source,
      revision: input.revision,
      trigger: opts.trigger,
      desired: { name: input.stack, file: '', services: [], networks: [], volumes: [] },
      spec,
      seen,
      actions,
      readFile: () => Promise.reject(new Error('nothing is made for a deleted stack')),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (!error) this.ctx.records.drifts.observe(input.source, input.stack, new Map(), `run ${runId}`);
    return { ...base, runId, result: error ? 'failed' : 'succeeded', error };
  }

  /** Removes materialized mount copies that no container uses any more. */
  private async cleanup(): Promise<void> {
    // The engine's list has every container's mounts: no need to inspect each (a cold process
    // inspected every compose container on the engine here after every sync).
    await cleanupMounts(this.ctx.home, await this.ctx.docker.mountSources());
  }
}
