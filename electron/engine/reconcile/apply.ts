// Plan → engine. Checks everything that can be checked before the first change (images, name
// conflicts, files to mount), then applies level by level, in parallel within a level, recording
// every action in history as it starts and ends.
import type { DesiredService, DesiredStack, PlanAction, Trigger } from '../../shared/model.ts';
import { containerOptions, type ContainerContext } from '../docker/container-spec.ts';
import type { DockerAdapter, ObservedContainer } from '../docker/docker-adapter.ts';
import { LABELS } from '../docker/labels.ts';
import { MooringError, errorMessage } from '../errors.ts';
import type { HistoryStore } from '../history/store.ts';

export type ProgressEvent =
  | { type: 'run-started'; runId: number; stack: string; revision: string; actions: PlanAction[] }
  | { type: 'action-started'; runId: number; index: number; action: PlanAction }
  | {
      type: 'action-finished';
      runId: number;
      index: number;
      action: PlanAction;
      error: string | null;
      ms: number;
    }
  | {
      type: 'run-finished';
      runId: number;
      stack: string;
      result: 'succeeded' | 'failed' | 'interrupted';
      error: string | null;
    };

export interface ApplyInput {
  source: string;
  revision: string;
  trigger: Trigger;
  desired: DesiredStack;
  hashes: Map<string, string>;
  observed: ObservedContainer[];
  actions: PlanAction[];
  home: string;
  /** This home's instance id, stamped on every container it creates. */
  instance: string;
  /** Writes the repo files that services bind-mount into the home folder (idempotent). */
  materialize: (services: DesiredService[]) => Promise<void>;
  onProgress?: (event: ProgressEvent) => void;
  /** How long to wait for a dependency's healthcheck or completion. */
  dependencyTimeoutMs?: number;
  /**
   * Stops the run between levels (and while waiting on a dependency): the actions in flight finish, the
   * rest are skipped, and the run is recorded as interrupted. The controller aborts on shutdown.
   */
  signal?: AbortSignal;
}

const STOPPED =
  'Stopped before it finished: Mooring was shut down while this run was applying; what was not done is left for the next run.';

class Stopped extends Error {
  constructor() {
    super(STOPPED);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Applier {
  constructor(
    private readonly docker: DockerAdapter,
    private readonly history: HistoryStore,
  ) {}

  /** Everything that can fail before a change is made; throws with what to do. */
  async preflight(input: ApplyInput): Promise<void> {
    for (const a of input.actions.filter((x) => x.kind === 'pull')) {
      try {
        await this.docker.pull(a.target);
      } catch (err) {
        throw new MooringError(
          'failed',
          `Image "${a.target}" is not in the engine and cannot be pulled (${errorMessage(err)}). Build or load it first; nothing of stack "${input.desired.name}" was changed.`,
        );
      }
    }
    const byName = new Map(input.desired.services.map((s) => [s.name, s]));
    const creates = input.actions.filter((x) => x.kind === 'create' || x.kind === 'recreate');
    // One engine call for every name, not one per service.
    const holders = await this.docker.findByNames(creates.map((a) => byName.get(a.target)!.containerName));
    for (const a of creates) {
      const s = byName.get(a.target)!;
      const existing = holders.get(s.containerName);
      if (existing && existing.labels[LABELS.project] !== input.desired.name) {
        throw new MooringError(
          'conflict',
          `A container named "${s.containerName}" exists and does not belong to stack "${input.desired.name}". Mooring never touches containers it does not manage: remove or rename it, or set container_name for service "${s.name}". Nothing was changed.`,
        );
      }
    }
    await input.materialize(
      input.actions.flatMap((a) =>
        a.kind === 'create' || a.kind === 'recreate' ? [byName.get(a.target)!] : [],
      ),
    );
  }

  /**
   * Runs a plan as one recorded run. Returns the run id. A failure in preflight is recorded as a
   * failed run with no change made; a failure during apply stops at the end of that level.
   */
  async apply(input: ApplyInput): Promise<{ runId: number; error: string | null; interrupted: boolean }> {
    const { desired } = input;
    const runId = this.history.startRun({
      source: input.source,
      stack: desired.name,
      revision: input.revision,
      trigger: input.trigger,
      plan: input.actions,
    });
    const emit = input.onProgress ?? ((): void => undefined);
    emit({
      type: 'run-started',
      runId,
      stack: desired.name,
      revision: input.revision,
      actions: input.actions,
    });
    const actionIds = input.actions.map((a) => this.history.addAction(runId, a));
    let error: string | null = null;
    let interrupted = false;
    try {
      await this.preflight(input);
      const levels = [...new Set(input.actions.map((a) => a.level))].sort((a, b) => a - b);
      for (const level of levels) {
        if (input.signal?.aborted) throw new Stopped();
        const indexes = input.actions.flatMap((a, i) => (a.level === level ? [i] : []));
        await this.waitForDependencies(
          input,
          indexes.map((i) => input.actions[i]!),
        );
        const results = await Promise.allSettled(
          indexes.map(async (i) => {
            const action = input.actions[i]!;
            const started = Date.now();
            this.history.updateAction(actionIds[i]!, 'running');
            emit({ type: 'action-started', runId, index: i, action });
            try {
              await this.run(action, input);
              this.history.updateAction(actionIds[i]!, 'succeeded');
              emit({
                type: 'action-finished',
                runId,
                index: i,
                action,
                error: null,
                ms: Date.now() - started,
              });
            } catch (err) {
              const message = errorMessage(err);
              this.history.updateAction(actionIds[i]!, 'failed', message);
              emit({
                type: 'action-finished',
                runId,
                index: i,
                action,
                error: message,
                ms: Date.now() - started,
              });
              throw err;
            }
          }),
        );
        const failed = results.flatMap((r, k) =>
          r.status === 'rejected'
            ? [
                `${input.actions[indexes[k]!]!.kind} ${input.actions[indexes[k]!]!.target}: ${errorMessage(r.reason)}`,
              ]
            : [],
        );
        if (failed.length > 0) {
          error = failed.join('; ');
          break;
        }
      }
    } catch (err) {
      error = errorMessage(err);
      interrupted = err instanceof Stopped;
    }
    if (error) this.history.closeActions(runId, null);
    const result = interrupted ? 'interrupted' : error ? 'failed' : 'succeeded';
    this.history.finishRun(runId, result, error);
    emit({ type: 'run-finished', runId, stack: desired.name, result, error });
    return { runId, error, interrupted };
  }

  private context(input: ApplyInput, service: string): ContainerContext {
    return {
      stack: input.desired.name,
      source: input.source,
      revision: input.revision,
      specHash: input.hashes.get(service) ?? '',
      home: input.home,
      instance: input.instance,
    };
  }

  private async run(action: PlanAction, input: ApplyInput): Promise<void> {
    const { desired } = input;
    const containersOf = (service: string): ObservedContainer[] =>
      input.observed.filter((c) => c.service === service);
    switch (action.kind) {
      case 'pull':
        return; // done in preflight, before any change
      case 'create-network': {
        const n = desired.networks.find((x) => x.name === action.target)!;
        await this.docker.ensureNetwork(n.name, n.driver, n.labels);
        return;
      }
      case 'remove-network':
        await this.docker.removeNetwork(action.target);
        return;
      case 'create-volume': {
        const v = desired.volumes.find((x) => x.name === action.target)!;
        await this.docker.ensureVolume(v.name, v.driver, v.labels);
        return;
      }
      case 'remove':
      case 'stop':
        for (const c of containersOf(action.target).filter((x) => x.managed)) {
          if (action.kind === 'stop') await this.docker.stop(c.id, 10);
          else await this.docker.remove(c.id);
        }
        return;
      case 'start': {
        const c = containersOf(action.target).find((x) => x.managed);
        if (!c) throw new MooringError('failed', `no container to start for service "${action.target}"`);
        await this.docker.start(c.id);
        return;
      }
      case 'recreate':
      case 'create': {
        const service = desired.services.find((s) => s.name === action.target)!;
        // Old containers of the service go first: they hold its name and ports.
        for (const c of containersOf(service.name)) {
          await this.docker.stop(c.id, service.stopGracePeriodSec);
          await this.docker.remove(c.id);
        }
        const id = await this.docker.create(containerOptions(service, this.context(input, service.name)));
        for (const n of service.networkMode ? [] : service.networks.slice(1)) {
          await this.docker.call(() =>
            this.docker.docker
              .getNetwork(n.name)
              .connect({ Container: id, EndpointConfig: { Aliases: n.aliases } }),
          );
        }
        await this.docker.start(id);
        return;
      }
    }
  }

  /** Before a level starts, the conditions its services' depends_on ask for must hold. */
  private async waitForDependencies(input: ApplyInput, actions: PlanAction[]): Promise<void> {
    const timeout = input.dependencyTimeoutMs ?? 120_000;
    const services = actions.flatMap((a) =>
      a.kind === 'create' || a.kind === 'recreate' || a.kind === 'start'
        ? input.desired.services.filter((s) => s.name === a.target)
        : [],
    );
    for (const s of services) {
      for (const dep of s.dependsOn) {
        if (dep.condition === 'service_started') continue;
        const depService = input.desired.services.find((x) => x.name === dep.service);
        if (!depService) continue;
        const deadline = Date.now() + timeout;
        for (;;) {
          if (input.signal?.aborted) throw new Stopped();
          const observed = await this.docker.observe(input.home, input.desired.name);
          const c = observed.find((x) => x.service === dep.service && x.managed);
          if (dep.condition === 'service_healthy' && c?.state === 'running' && c.health === 'healthy') break;
          if (dep.condition === 'service_completed_successfully' && c?.state === 'exited') {
            if (c.exitCode === 0) break;
            throw new MooringError(
              'failed',
              `"${s.name}" waits for "${dep.service}" to complete, but it exited with ${c.exitCode}`,
            );
          }
          if (dep.condition === 'service_healthy' && c?.health === 'unhealthy') {
            throw new MooringError(
              'failed',
              `"${s.name}" waits for "${dep.service}" to be healthy, but it is unhealthy`,
            );
          }
          if (Date.now() > deadline) {
            throw new MooringError(
              'failed',
              `"${s.name}" waited ${Math.round(timeout / 1000)} s for "${dep.service}" (${dep.condition}); it did not get there`,
            );
          }
          await sleep(250);
        }
      }
    }
  }
}
