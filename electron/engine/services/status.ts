// Status of stacks: what the engine runs for them against what git declares, with the stacks this home
// deployed that git no longer declares.
import type { StackStatus } from '../../shared/model.ts';
import type { LiveNetwork, LiveVolume, ObservedContainer } from '../docker/docker-adapter.ts';
import type { ImageDefaults } from '../docker/fields.ts';
import { LABELS } from '../docker/labels.ts';
import { hashService, type LoadedStack } from '../engine-common.ts';
import { UnreachableError } from '../errors.ts';
import { DEFAULT_POLICY } from '../manifest/index.ts';
import { externalAsContainers } from '../manifest/secrets.ts';
import { markHeld } from '../reconcile/prune-guard.ts';
import { computeStatus, deployedRevision, type StackInput } from '../reconcile/status.ts';
import { madeHere, observeSwarmStack, type SwarmObservation } from '../swarm/deploy.ts';
import { swarmStack } from '../swarm/spec.ts';
import { swarmStatus } from '../swarm/status.ts';
import type { EngineContext } from './context.ts';
import type { DesiredStateService, Elsewhere } from './desired-state.ts';

/** What one look at the engine saw of some stacks: status, the plan and the apply all use it. */
export interface Observation {
  /** The stacks deployed as Swarm services on this engine (a manager), with what it has of each. */
  swarm?: Map<string, SwarmObservation>;
  containers: ObservedContainer[];
  reachable: boolean;
  /** Why the engine could not be asked, when it could not. */
  warning: string | null;
  /** The images the stacks name, with the defaults they give (undefined: not on the engine). */
  images: Map<string, ImageDefaults | undefined>;
  /** Every network and volume of the engine, listed when a stack declares any. */
  resources?: { networks: LiveNetwork[]; volumes: LiveVolume[] };
}

/**
 * Status, read-only: observe the engine, compare with desired state (reconcile/status.ts, pure). Drift
 * is recorded by the caller (drift.ts), so a look never writes unless asked to.
 */
export class StatusService {
  constructor(
    private readonly ctx: EngineContext,
    private readonly desired: DesiredStateService,
  ) {}

  /**
   * One look at the engine for `loaded`: the containers of `project`, or (without one) those that can
   * change the statuses of `loaded` (its stacks' and, with `orphans`, every one this home made; other
   * compose projects are not inspected, which was most of a status's cost on a busy engine), the images
   * they name, and the engine's networks and volumes when a stack declares any (one list call each).
   * A sync plans and applies from this same observation (`fresh`: the Swarm role asked now, not
   * cached): nothing is looked up twice.
   */
  async observe(
    loaded: LoadedStack[],
    opts: { project?: string; orphans?: boolean; fresh?: boolean } = {},
  ): Promise<Observation> {
    const names = new Set(loaded.map((s) => s.name));
    const wanted = (labels: Record<string, string>): boolean =>
      names.has(labels[LABELS.project] ?? '') ||
      (opts.orphans === true &&
        labels[LABELS.managed] === 'true' &&
        labels[LABELS.instance] === this.ctx.instanceId);
    const docker = this.ctx.docker;
    // Asked beside the containers (cached for a few seconds): whether stacks here are Swarm services.
    const candidates = loaded.filter(
      (s) => s.policy.mode !== 'containers' && (opts.project === undefined || s.name === opts.project),
    );
    const role =
      candidates.length > 0 || opts.orphans === true
        ? docker.swarmRole(opts.fresh).catch(() => 'none' as const)
        : Promise.resolve('none' as const);
    let containers: ObservedContainer[];
    try {
      containers = await docker.observe(this.ctx.home, opts.project, opts.project ? undefined : wanted);
    } catch (err) {
      if (!(err instanceof UnreachableError)) throw err;
      return { containers: [], reachable: false, warning: err.message, images: new Map() };
    }
    // A stack this home runs as containers stays so on an engine that became a manager, until its
    // policy says `mode: swarm`: an upgrade or a `docker swarm init` never redeploys it by itself.
    const asContainers = new Set(containers.filter((c) => c.ours && c.project).map((c) => c.project));
    const swarm =
      (await role) === 'manager'
        ? await this.observeSwarm(
            candidates
              .filter((s) => s.policy.mode === 'swarm' || !asContainers.has(s.name))
              .map((s) => s.name),
            opts.orphans === true ? names : null,
          )
        : new Map<string, SwarmObservation>();
    const declares = loaded.some(
      (s) => s.desired && s.desired.networks.length + s.desired.volumes.length > 0,
    );
    const [images, resources] = await Promise.all([
      docker.imagesFor(loaded.flatMap((s) => s.desired?.services.map((x) => x.image) ?? [])),
      declares
        ? Promise.all([docker.listNetworks(), docker.listVolumes()]).then(([networks, volumes]) => ({
            networks,
            volumes,
          }))
        : undefined,
    ]);
    return {
      containers,
      reachable: true,
      warning: null,
      images,
      ...(resources ? { resources } : {}),
      ...(swarm.size > 0 ? { swarm } : {}),
    };
  }

  /**
   * The stacks that run as Swarm services here (issue 15), on a manager: those whose policy does not
   * say `mode: containers`, and (given `known`, the stacks git declares) those of this home that git
   * no longer declares. Each has its services, tasks, networks, secrets and configs looked at.
   */
  private async observeSwarm(
    stacks: string[],
    known: ReadonlySet<string> | null,
  ): Promise<Map<string, SwarmObservation>> {
    const deleted = known
      ? [...(await this.ctx.docker.swarmStacksOf(this.ctx.instanceId))].filter((s) => !known.has(s))
      : [];
    const out = new Map<string, SwarmObservation>();
    await Promise.all(
      [...stacks, ...deleted].map(async (name) => {
        out.set(name, await observeSwarmStack(this.ctx.docker, name));
      }),
    );
    return out;
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
      onUnreadable?: (source: string, error: string) => void;
      /** Collects the stacks that go to other engines (mooring.yaml `engines:`). */
      elsewhere?: Elsewhere[];
    } = {},
  ): Promise<StackStatus[]> {
    let loaded: LoadedStack[];
    let unreadable = new Map<string, string>();
    const elsewhere = opts.elsewhere ?? [];
    if (opts.revision) loaded = await this.desired.loadStacks(opts);
    else ({ loaded, unreadable } = await this.desired.loadEachSource({ ...opts, elsewhere }));
    for (const [source, error] of unreadable) opts.onUnreadable?.(source, error);
    // Stacks deleted in git that this home still runs are looked for too: a name may be one of them.
    const { statuses: all } = await this.statusOfLoaded(loaded, {
      orphans: true,
      unreadable: new Set(unreadable.keys()),
      elsewhere,
    });
    markHeld(all, this.ctx.settings.pruneConfirmShare ?? 1);
    const wanted = opts.stacks?.length ? new Set(opts.stacks) : null;
    const statuses = wanted ? all.filter((s) => wanted.has(s.name)) : all;
    return statuses.sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Status of stacks already read from git (the controller keeps them between fetches, so an engine
   * event costs no git read). `project` limits the engine query to that one stack; `orphans` adds the
   * stacks Mooring deployed that no source declares any more (folder deleted in git), or that go to
   * other engines now (`elsewhere`, as the read of git collected them).
   */
  async statusOfLoaded(
    loaded: LoadedStack[],
    opts: {
      project?: string;
      orphans?: boolean;
      unreadable?: ReadonlySet<string>;
      elsewhere?: readonly Elsewhere[];
    } = {},
  ): Promise<{ statuses: StackStatus[]; reachable: boolean; error: string | null }> {
    const stacks = opts.project ? loaded.filter((s) => s.name === opts.project) : loaded;
    const observation = await this.observe(loaded, opts);
    const { containers: observed, reachable, warning } = observation;
    const suspended = this.ctx.records.suspensions.list();
    const lastGood = await this.lastGoodOf(stacks, observation);
    const statuses = this.compare(stacks, observation, suspended, lastGood);
    if (opts.orphans && reachable) {
      const known = new Set(loaded.map((s) => s.name));
      const gone = (name: string): string => {
        const moved = opts.elsewhere?.find((x) => x.stack === name);
        return moved
          ? `Stack "${name}" goes to ${moved.engines.join(', ')} now, not ${this.ctx.engineName}: a prune removes it here.`
          : `Stack "${name}" is no longer declared in git.`;
      };
      const sources = new Map(this.ctx.history.sources.list().map((s) => [s.name, s]));
      const orphans = new Map<string, ObservedContainer[]>();
      for (const c of observed) {
        if (!c.ours || !c.project || known.has(c.project)) continue;
        // A source that could not be read says nothing about what it declares: absence is no deletion.
        if (!c.source || !sources.has(c.source) || opts.unreadable?.has(c.source)) continue;
        orphans.set(c.project, [...(orphans.get(c.project) ?? []), c]);
      }
      // Stacks deployed as Swarm services: their services carry the source, as containers do.
      for (const [name, seen] of observation.swarm ?? []) {
        const source = seen.services.find((x) => madeHere(x.spec.Labels, this.ctx.instanceId))?.spec.Labels[
          LABELS.source
        ];
        if (known.has(name) || orphans.has(name) || !source || !sources.has(source)) continue;
        if (opts.unreadable?.has(source)) continue;
        statuses.push({
          ...swarmStatus({
            base: {
              source,
              name,
              revision: null,
              errors: [],
              warnings: [gone(name)],
              policy: DEFAULT_POLICY,
              suspended: suspended.has(name),
            },
            spec: null,
            seen,
            instance: this.ctx.instanceId,
          }),
          deletedInGit: true,
        });
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
            warnings: [gone(name)],
            engineReachable: true,
            suspended: suspended.has(name),
          }),
          deletedInGit: true,
        });
      }
    }
    return { statuses, reachable, error: warning };
  }

  /**
   * For each stack whose target is invalid and that runs another revision: the stack as it was at that
   * revision, which its services are compared with instead (so what runs is not shown as orphans). A
   * stack at a commit never changes, so each is read from git once; the images it names are added to
   * the observation.
   */
  private async lastGoodOf(
    stacks: LoadedStack[],
    observation: Observation,
  ): Promise<Map<string, NonNullable<StackInput['lastGood']>>> {
    const found = new Map<string, NonNullable<StackInput['lastGood']>>();
    if (!observation.reachable) return found;
    for (const s of stacks) {
      if (s.desired || s.errors.length === 0) continue;
      const revision = deployedRevision(observation.containers.filter((c) => c.project === s.name));
      if (!revision || revision === s.revision) continue;
      const key = `${s.source}\0${s.name}\0${revision}`;
      let good = this.lastGoodCache.get(key);
      if (good === undefined) {
        const [at] = await this.desired
          .loadStacks({ source: s.source, stacks: [s.name], revision })
          .catch(() => []);
        good = at?.desired
          ? {
              revision,
              desired: at.desired,
              hashes: new Map(at.desired.services.map((x) => [x.name, hashService(x)])),
            }
          : null;
        if (this.lastGoodCache.size >= 64) this.lastGoodCache.clear();
        this.lastGoodCache.set(key, good);
      }
      if (good) found.set(s.name, good);
    }
    const missing = [...found.values()]
      .flatMap((g) => g.desired.services.map((x) => x.image))
      .filter((image) => !observation.images.has(image));
    if (missing.length > 0) {
      for (const [image, defaults] of await this.ctx.docker
        .imagesFor(missing)
        .catch(() => new Map<string, ImageDefaults | undefined>()))
        observation.images.set(image, defaults);
    }
    return found;
  }

  /** Stacks at revisions that runs, read once (see lastGoodOf); null: not readable as valid there. */
  private readonly lastGoodCache = new Map<string, NonNullable<StackInput['lastGood']> | null>();

  /** The statuses of `loaded` from one observation (reconcile/status.ts: pure). */
  compare(
    loaded: LoadedStack[],
    observation: Observation,
    suspended: Map<string, unknown> = this.ctx.records.suspensions.list(),
    lastGood: Map<string, NonNullable<StackInput['lastGood']>> = new Map(),
  ): StackStatus[] {
    const { containers, reachable, warning, images, resources } = observation;
    const lastRuns = this.ctx.history.runs.lastPerStack(
      loaded.map((s) => s.name),
      this.ctx.engineName,
    );
    return loaded.map((s) => {
      const seen = observation.swarm?.get(s.name);
      if (seen && reachable) {
        return swarmStatus({
          base: {
            source: s.source,
            name: s.name,
            revision: s.revision,
            errors: s.errors,
            warnings: s.warnings,
            policy: s.policy,
            suspended: suspended.has(s.name),
          },
          spec: s.desired
            ? swarmStack(s.desired, {
                source: s.source,
                revision: s.revision ?? '',
                instance: this.ctx.instanceId,
              })
            : null,
          seen,
          instance: this.ctx.instanceId,
        });
      }
      const notManager =
        s.policy.mode === 'swarm' && reachable
          ? [`mode: swarm, and this engine is not a Swarm manager: nothing of the stack is deployed here.`]
          : [];
      return computeStatus({
        ...s,
        warnings: [
          ...s.warnings,
          ...(warning ? [warning] : []),
          ...notManager,
          ...(s.desired && reachable && s.policy.mode !== 'swarm' ? externalAsContainers(s.desired) : []),
        ],
        observed: containers.filter((c) => c.project === s.name),
        images,
        hashes: new Map(s.desired?.services.map((x) => [x.name, hashService(x)]) ?? []),
        engineReachable: reachable,
        suspended: suspended.has(s.name),
        ...(resources ? { liveResources: resources } : {}),
        ...(lastGood.has(s.name) ? { lastGood: lastGood.get(s.name)! } : {}),
        ...(lastRuns.has(s.name) ? { lastRunResult: lastRuns.get(s.name)!.result } : {}),
      });
    });
  }
}
