// Status of stacks: what the engine runs for them against what git declares, with the stacks this home
// deployed that git no longer declares.
import type { StackStatus } from '../../shared/model.ts';
import type { ObservedContainer } from '../docker/docker-adapter.ts';
import { LABELS } from '../docker/labels.ts';
import { hashService, type LoadedStack } from '../engine-common.ts';
import { UnreachableError } from '../errors.ts';
import { DEFAULT_POLICY } from '../manifest/index.ts';
import { markHeld } from '../reconcile/prune-guard.ts';
import { computeStatus } from '../reconcile/status.ts';
import type { EngineContext } from './context.ts';
import type { DesiredStateService } from './desired-state.ts';

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
      (orphans && labels[LABELS.managed] === 'true' && labels[LABELS.instance] === this.ctx.instanceId);
    try {
      const observed = await this.ctx.docker.observe(this.ctx.home, project, project ? undefined : wanted);
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
      onUnreadable?: (source: string, error: string) => void;
    } = {},
  ): Promise<StackStatus[]> {
    let loaded: LoadedStack[];
    let unreadable = new Map<string, string>();
    if (opts.revision) loaded = await this.desired.loadStacks(opts);
    else ({ loaded, unreadable } = await this.desired.loadEachSource(opts));
    for (const [source, error] of unreadable) opts.onUnreadable?.(source, error);
    const { statuses } = await this.statusOfLoaded(loaded, {
      orphans: !opts.stacks?.length,
      unreadable: new Set(unreadable.keys()),
    });
    if (!opts.stacks?.length) markHeld(statuses, this.ctx.settings.pruneConfirmShare ?? 1);
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
    const suspended = this.ctx.history.listSuspended();
    const statuses = await this.statusOf(stacks, observed, reachable, warning, suspended);
    if (opts.orphans && reachable) {
      const known = new Set(loaded.map((s) => s.name));
      const sources = new Map(this.ctx.history.listSources().map((s) => [s.name, s]));
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

  async statusOf(
    loaded: LoadedStack[],
    observed: ObservedContainer[],
    reachable: boolean,
    warning: string | null,
    suspended: Map<string, unknown> = this.ctx.history.listSuspended(),
  ): Promise<StackStatus[]> {
    // Declared networks and volumes are compared too (issue 11, item 8): one list call each for all stacks.
    const declares = loaded.some(
      (s) => s.desired && s.desired.networks.length + s.desired.volumes.length > 0,
    );
    const [images, liveResources] = await Promise.all([
      reachable
        ? this.ctx.docker.imagesFor(loaded.flatMap((s) => s.desired?.services.map((x) => x.image) ?? []))
        : new Map<string, undefined>(),
      reachable && declares
        ? Promise.all([this.ctx.docker.listNetworks(), this.ctx.docker.listVolumes()]).then(
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
}
