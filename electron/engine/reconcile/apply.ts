// Plan → engine. Checks everything that can be checked before the first change (images, name
// conflicts, files to mount), then applies level by level, in parallel within a level, recording
// every action in history as it starts and ends.
import { existsSync } from 'node:fs';
import type { DesiredService, DesiredStack, PlanAction, Trigger } from '../../shared/model.ts';
import {
  containerOptions,
  endpointConfig,
  endpointLinks,
  extraNetworks,
  replicaName,
  type ContainerContext,
} from '../docker/container-spec.ts';
import type { DockerAdapter, ObservedContainer, StackWatch } from '../docker/docker-adapter.ts';
import { engineMakesSource } from '../docker/mount-spec.ts';
import { LABELS } from '../docker/labels.ts';
import { MooringError, errorMessage } from '../errors.ts';
import type { HistoryStore } from '../history/store.ts';
import { recreateNetwork } from './network-recreate.ts';
import { bindTest, fixedPort, portConflicts, type WantedPort } from './port-check.ts';
import { completedJobs } from './status.ts';
import { RecordedRun, type ProgressEvent, type Waiting } from './recorded-run.ts';

export type { ProgressEvent, Waiting } from './recorded-run.ts';

type OnWait = (w: Waiting) => void;
const NO_WAIT_REPORT: OnWait = () => undefined;

export interface ApplyInput {
  source: string;
  revision: string;
  /** The revision's verified signer, recorded with the run (a source that asks for signatures). */
  signer?: string | null;
  trigger: Trigger;
  desired: DesiredStack;
  hashes: Map<string, string>;
  observed: ObservedContainer[];
  actions: PlanAction[];
  home: string;
  /** This home's instance id, stamped on every container it creates. */
  instance: string;
  /** Where the stack's files are, for compose's project labels (a local folder, or the repo's URL). */
  workingDir?: string;
  configFiles?: string;
  /** Writes the repo files that services bind-mount into the home folder (idempotent). */
  materialize: (services: DesiredService[]) => Promise<void>;
  /**
   * Builds the image of a `build` action from the config repo at the revision; throws, naming the
   * failed step, when the build fails. Needed only when the plan has build actions.
   */
  build?: (action: PlanAction, onLine: (line: string) => void) => Promise<void>;
  /** Whether this home made a network (labels and the ownership record): only those are removed. */
  ownsNetwork: (n: { id: string; name: string; labels: Record<string, string>; created: string }) => boolean;
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

/** Actions that create containers for a service (and so need its names, ports and files). */
const MAKES_CONTAINERS = new Set(['create', 'recreate', 'scale']);

/** How long a replacement without a healthcheck must stay running before the old container goes. */
const SETTLE_MS = 500;

/** The name a replaced container waits under until its successor is up (issue 10, item 7). */
const parkedName = (c: ObservedContainer): string => `${c.name}_mooring-previous_${c.id.slice(0, 12)}`;

export class Applier {
  constructor(
    private readonly docker: DockerAdapter,
    private readonly history: HistoryStore,
    /** The named engine `docker` reaches, recorded with each run. */
    private readonly engine: string,
  ) {}

  /** Everything that can fail before a change is made; throws with what to do. */
  async preflight(input: ApplyInput, runId?: number): Promise<void> {
    const nothing = `nothing of stack "${input.desired.name}" was changed`;
    const emit = runId !== undefined ? input.onProgress : undefined;
    for (const [index, a] of input.actions.entries()) {
      if (a.kind !== 'pull') continue;
      // platform: pulls the image for it (a service that names none takes the engine's own).
      const platform = input.desired.services.find((s) => s.image === a.target && s.platform)?.platform;
      const started = Date.now();
      emit?.({ type: 'action-started', runId: runId!, index, action: a });
      try {
        await this.docker.pull(a.target, platform);
        emit?.({
          type: 'action-finished',
          runId: runId!,
          index,
          action: a,
          error: null,
          ms: Date.now() - started,
        });
      } catch (err) {
        const why =
          a.reason === 'image is not in the engine'
            ? 'is not in the engine and'
            : `is pulled (${a.reason}) but`;
        const error = `Image "${a.target}"${platform ? ` for ${platform}` : ''} ${why} cannot be pulled (${errorMessage(err)}). Build or load it first, or correct its name in git; ${nothing}.`;
        emit?.({ type: 'action-finished', runId: runId!, index, action: a, error, ms: Date.now() - started });
        throw new MooringError('failed', error);
      }
    }
    const byName = new Map(input.desired.services.map((s) => [s.name, s]));
    const creates = input.actions.filter((x) => MAKES_CONTAINERS.has(x.kind));
    const services = creates.map((a) => byName.get(a.target)!);
    // Every container name the plan may create; one engine call for all of them, not one per service.
    const names = services.flatMap((s) =>
      Array.from({ length: s.replicas ?? 1 }, (_, i) => ({ s, name: replicaName(s, i + 1) })),
    );
    const holders = await this.docker.findByNames(names.map((n) => n.name));
    for (const { s, name } of names) {
      const existing = holders.get(name);
      if (!existing) continue;
      if (!existing.ours || existing.labels[LABELS.project] !== input.desired.name) {
        const whose = !existing.ours
          ? existing.labels[LABELS.managed] === 'true'
            ? "is labelled as Mooring's, but this home has no record of making it"
            : 'was not made by Mooring'
          : `belongs to stack "${existing.labels[LABELS.project] ?? '?'}"`;
        throw new MooringError(
          'conflict',
          `A container named "${name}" exists and ${whose}: not ours, left alone. Remove or rename it, or set container_name for service "${s.name}"; ${nothing}.`,
        );
      }
    }
    const problems = [
      ...(await this.checkPorts(input, services)),
      ...this.checkBindSources(services),
      ...(await this.checkMountOptions(services)),
    ];
    if (problems.length > 0) {
      throw new MooringError(
        'conflict',
        `${problems.join('; ')}. ${nothing[0]!.toUpperCase()}${nothing.slice(1)}.`,
      );
    }
    await input.materialize(services);
  }

  /**
   * Host ports the new containers publish, against every running container that the plan does not
   * replace, and (on a local engine) against this machine's other programs.
   */
  private async checkPorts(input: ApplyInput, services: DesiredService[]): Promise<string[]> {
    // Every replica publishes the service's ports: a fixed host port on two replicas is a conflict.
    // A replica that a scale keeps holds its ports already and is not asked again.
    const wanted: WantedPort[] = services.flatMap((s) => {
      const kept = new Set(
        input.actions.some((a) => a.kind === 'scale' && a.target === s.name)
          ? input.observed.filter((c) => c.service === s.name && c.ours).map((c) => c.number)
          : [],
      );
      return Array.from({ length: s.replicas ?? 1 }, (_, i) => i + 1)
        .filter((n) => !kept.has(n))
        .flatMap(() => s.ports.map((binding) => ({ service: s.name, binding })));
    });
    if (!wanted.some((w) => fixedPort(w.binding) !== null)) return [];
    const replaced = new Set(
      input.actions
        .filter((a) => a.kind === 'create' || a.kind === 'recreate' || a.kind === 'remove')
        .flatMap((a) => input.observed.filter((c) => c.service === a.target && c.ours).map((c) => c.id)),
    );
    const holders = (await this.docker.portHolders()).filter((h) => !replaced.has(h.id));
    const problems = portConflicts(wanted, holders);
    if (problems.length > 0 || !this.docker.isLocal) return problems;
    // A port the replaced containers hold now is theirs to give back: only the others are tried.
    const replacedPorts = new Set(
      input.observed
        .filter((c) => replaced.has(c.id))
        .flatMap((c) => c.ports.map((p) => p.split(':').at(-1)?.split('->')[0])),
    );
    for (const { binding } of wanted) {
      const port = fixedPort(binding);
      if (port === null || replacedPorts.has(String(port))) continue;
      const problem = await bindTest(binding, port);
      if (problem) problems.push(problem);
    }
    return problems;
  }

  /** A host folder that is not there fails the create after the networks were made: say so first. */
  // One the engine makes (the short syntax, or `bind.create_host_path: true`, under an allowed folder:
  // mount-spec.ts passes it as a Binds entry) is not asked about (issue 11, item 5).
  private checkBindSources(services: DesiredService[]): string[] {
    // Files from git are placed on this machine and bind-mounted from here: another machine's engine
    // would mount an empty folder of its own (issue 15). Refused before anything changes.
    if (!this.docker.isLocal) {
      const away = `this machine, not where the engine at ${this.docker.endpoint} runs; give it in a volume or an image instead`;
      return services.flatMap((s) => [
        ...s.mounts.flatMap((m) =>
          m.type === 'repo'
            ? [
                `service "${s.name}" mounts ${m.repoPath} from the config repo, which Mooring places on ${away}`,
              ]
            : [],
        ),
        ...(['secrets', 'configs'] as const).flatMap((kind) =>
          (s[kind] ?? []).flatMap((f) =>
            f.from === 'host'
              ? []
              : [`${kind}.${f.name} of service "${s.name}" is a file Mooring places on ${away}`],
          ),
        ),
      ]);
    }
    return services.flatMap((s) => [
      ...s.mounts.flatMap((m) =>
        m.type === 'bind' && !engineMakesSource(m) && !existsSync(m.source)
          ? [
              `bind mount source ${m.source} of service "${s.name}" does not exist on this machine; create it (mkdir -p ${m.source})${m.createHostPath ? '' : ', or set bind.create_host_path: true to have it made'}`,
            ]
          : [],
      ),
      ...(['secrets', 'configs'] as const).flatMap((kind) =>
        (s[kind] ?? []).flatMap((f) =>
          f.from === 'host' && !existsSync(f.digest)
            ? [
                `${kind}.${f.name} of service "${s.name}" reads ${f.digest}, which does not exist on this machine`,
              ]
            : [],
        ),
      ),
    ]);
  }

  /** Mount options an older engine would silently drop (it ignores fields it does not know). */
  private async checkMountOptions(services: DesiredService[]): Promise<string[]> {
    const needs: { what: string; api: string; engine: string }[] = [];
    for (const s of services) {
      for (const m of s.mounts) {
        const at = `service "${s.name}" mounts ${m.target} with`;
        if (m.type === 'volume' && m.subpath !== undefined)
          needs.push({ what: `${at} volume.subpath`, api: '1.45', engine: '26' });
        if (m.type === 'image') needs.push({ what: `${at} type image`, api: '1.48', engine: '28' });
        if (m.type === 'bind' && (m.recursive === 'writable' || m.recursive === 'readonly'))
          needs.push({ what: `${at} bind.recursive: ${m.recursive}`, api: '1.44', engine: '25' });
      }
    }
    if (needs.length === 0) return [];
    const { apiVersion } = await this.docker.engineVersion();
    return needs
      .filter((n) => apiBelow(apiVersion, n.api))
      .map(
        (n) =>
          `${n.what}, which needs Docker Engine ${n.engine} (API ${n.api}) or later; this engine speaks API ${apiVersion} and would ignore it. Upgrade the engine or leave the option out`,
      );
  }

  /**
   * Runs a plan as one recorded run. Returns the run id. A failure in preflight is recorded as a
   * failed run with no change made; a failure during apply stops at the end of that level.
   */
  async apply(input: ApplyInput): Promise<{ runId: number; error: string | null; interrupted: boolean }> {
    const run = new RecordedRun(
      this.history,
      { ...input, stack: input.desired.name, actions: input.actions, engine: this.engine },
      input.onProgress,
    );
    let error: string | null = null;
    let interrupted = false;
    try {
      await this.preflight(input, run.id);
      await this.runBuilds(input, run);
      const levels = [...new Set(input.actions.map((a) => a.level))].sort((a, b) => a - b);
      for (const level of levels) {
        if (input.signal?.aborted) throw new Stopped();
        // Builds ran before the first level, in runBuilds.
        const indexes = input.actions.flatMap((a, i) => (a.level === level && a.kind !== 'build' ? [i] : []));
        await this.waitForDependencies(input, indexes, (i, w) => {
          run.emit({ type: 'action-waiting', runId: run.id, index: i, action: input.actions[i]!, ...w });
        });
        // A pull was done, and reported, before any change: its events are not sent twice.
        error = await run.level(indexes, (i, onWait) => this.run(input.actions[i]!, input, onWait), {
          report: (i) => input.actions[i]!.kind !== 'pull',
        });
        if (error) break;
      }
    } catch (err) {
      error = errorMessage(err);
      interrupted = err instanceof Stopped;
    }
    run.finish(error, interrupted);
    return { runId: run.id, error, interrupted };
  }

  /**
   * The plan's builds, one at a time, after the checks and before the first change: a Dockerfile that
   * fails leaves everything of the stack as it was. Each is recorded as its action, with its output.
   */
  private async runBuilds(input: ApplyInput, run: RecordedRun): Promise<void> {
    for (const [i, action] of input.actions.entries()) {
      if (action.kind !== 'build') continue;
      if (input.signal?.aborted) throw new Stopped();
      try {
        await run.action(i, async () => {
          if (!input.build) throw new MooringError('failed', 'this run cannot build images');
          await input.build(action, (line) => {
            run.emit({ type: 'action-output', runId: run.id, index: i, action, line });
          });
        });
      } catch (err) {
        throw new MooringError(
          'failed',
          `build ${action.target}: ${errorMessage(err)}; nothing of stack "${input.desired.name}" was changed`,
          { cause: err },
        );
      }
    }
  }

  private context(input: ApplyInput, service: string): ContainerContext {
    return {
      stack: input.desired.name,
      source: input.source,
      revision: input.revision,
      specHash: input.hashes.get(service) ?? '',
      home: input.home,
      instance: input.instance,
      containerNames: new Map(input.desired.services.map((s) => [s.name, s.containerName])),
      ...(input.workingDir ? { workingDir: input.workingDir } : {}),
      ...(input.configFiles ? { configFiles: input.configFiles } : {}),
    };
  }

  private async run(action: PlanAction, input: ApplyInput, onWait: OnWait = NO_WAIT_REPORT): Promise<void> {
    const { desired } = input;
    const containersOf = (service: string): ObservedContainer[] =>
      input.observed.filter((c) => c.service === service);
    switch (action.kind) {
      case 'build': // done in runBuilds, before any change
      case 'pull':
        return; // done in preflight, before any change
      case 'create-network': {
        const n = desired.networks.find((x) => x.name === action.target)!;
        const labels = { ...n.labels, [LABELS.instance]: input.instance };
        const intent = this.history.ownership.intend('network', n.name, input.source, desired.name);
        const id = await this.docker.ensureNetwork(n, labels).catch((err: unknown) => {
          this.history.ownership.abandon(intent);
          throw err;
        });
        if (id) this.history.ownership.confirm(intent, id);
        else this.history.ownership.abandon(intent); // it existed: not ours to remove later
        return;
      }
      case 'recreate-network':
        return recreateNetwork(this.docker, this.history, input, action);
      case 'remove-network': {
        const n = await this.docker.network(action.target);
        if (!n) return;
        if (!input.ownsNetwork(n))
          throw new MooringError('conflict', `network ${n.name} is not ours: left alone`);
        await this.docker.removeNetwork(n.id);
        this.history.ownership.forget('network', n.id);
        return;
      }
      case 'create-volume': {
        const v = desired.volumes.find((x) => x.name === action.target)!;
        await this.docker.ensureVolume(v, v.labels);
        return;
      }
      case 'remove':
      case 'stop':
        for (const c of containersOf(action.target).filter((x) => x.ours)) {
          const service = desired.services.find((s) => s.name === action.target);
          if (service && c.state === 'running') await this.runHooks(c.id, service, 'preStop', input);
          if (action.kind === 'stop') await this.docker.stop(c.id, 10);
          else await this.removeContainer(c.id);
        }
        return;
      case 'start': {
        const stopped = containersOf(action.target).filter((x) => x.ours && x.state !== 'running');
        if (stopped.length === 0)
          throw new MooringError('failed', `no container to start for service "${action.target}"`);
        const service = desired.services.find((s) => s.name === action.target);
        for (const c of stopped) {
          await this.docker.start(c.id);
          if (service) await this.runHooks(c.id, service, 'postStart', input);
        }
        return;
      }
      case 'adopt':
        // Compose made it from this file and it matches git: from now on it is this home's to manage.
        for (const c of containersOf(action.target).filter((x) => !x.managed && !x.ours)) {
          this.history.ownership.adopt(c.id, c.name, input.source, desired.name);
        }
        return;
      case 'recreate':
      case 'create':
      case 'scale': {
        const service = desired.services.find((s) => s.name === action.target)!;
        const mine = containersOf(service.name).filter((c) => c.ours);
        const want = service.replicas ?? 1;
        for (let n = 1; n <= want; n++) {
          const old = mine.filter((c) => c.number === n);
          if (action.kind === 'scale' && old.length > 0) {
            // Kept as it is; only a stopped one is started again.
            for (const c of old.filter((x) => x.state !== 'running')) await this.docker.start(c.id);
            continue;
          }
          await this.replace(service, n, old, input, onWait);
        }
        // Scaled down, or a number beyond what is declared: the highest go.
        for (const c of mine.filter((x) => x.number < 1 || x.number > want)) await this.removeContainer(c.id);
        return;
      }
    }
  }

  /**
   * compose's lifecycle hooks: `post_start` commands run in the container once it has started,
   * `pre_stop` ones before it is stopped; one that fails fails the action, as in compose.
   */
  private async runHooks(
    id: string,
    service: DesiredService,
    which: 'postStart' | 'preStop',
    input: ApplyInput,
  ): Promise<void> {
    const key = which === 'postStart' ? 'post_start' : 'pre_stop';
    for (const [i, hook] of (service[which] ?? []).entries()) {
      let result: { exitCode: number; output: string };
      try {
        result = await this.docker.exec(id, hook, input.dependencyTimeoutMs ?? 120_000);
      } catch (err) {
        // A container that stopped or went meanwhile has nothing left to run a pre_stop hook in.
        const status = (err as { statusCode?: number }).statusCode;
        if (which === 'preStop' && (status === 404 || status === 409)) return;
        throw new MooringError(
          'failed',
          `${key}[${i}] hook of "${service.name}" failed: ${errorMessage(err)}`,
        );
      }
      if (result.exitCode !== 0) {
        const tail = result.output.trim().split('\n').slice(-5).join(' | ');
        throw new MooringError(
          'failed',
          `${key}[${i}] hook of "${service.name}" exited with ${result.exitCode}${tail ? ` (last output: ${tail})` : ''}`,
        );
      }
    }
  }

  private async removeContainer(id: string): Promise<void> {
    await this.docker.remove(id);
    this.history.ownership.forget('container', id);
  }

  /**
   * A new container for `service` in place of `old`, undoably: the old ones are stopped and renamed,
   * not removed, until the new one runs (and is healthy, where it has a healthcheck). If it does not
   * get there, it is removed and the old ones get their names back and are started again.
   */
  private async replace(
    service: DesiredService,
    replica: number,
    old: ObservedContainer[],
    input: ApplyInput,
    onWait: OnWait,
  ): Promise<void> {
    const parked: ObservedContainer[] = [];
    let id: string | null = null;
    try {
      for (const c of old) {
        if (c.state === 'running') await this.runHooks(c.id, service, 'preStop', input);
        // Stopped first: it holds the service's ports, which the new one needs.
        await this.docker.stop(c.id, service.stopGracePeriodSec);
        await this.docker.rename(c.id, parkedName(c));
        parked.push(c);
      }
      const intent = this.history.ownership.intend(
        'container',
        replicaName(service, replica),
        input.source,
        input.desired.name,
      );
      try {
        id = await this.docker.create(containerOptions(service, this.context(input, service.name), replica));
      } catch (err) {
        this.history.ownership.abandon(intent);
        throw err;
      }
      this.history.ownership.confirm(intent, id);
      const created = id;
      for (const n of extraNetworks(service)) {
        await this.docker.connect(n.name, created, {
          ...endpointConfig(n, replicaName(service, replica)),
          ...endpointLinks(service, this.context(input, service.name)),
        });
      }
      await this.docker.start(id);
      await this.runHooks(id, service, 'postStart', input);
      await this.waitUntilUp(id, service, input, parked.length > 0, onWait);
    } catch (err) {
      const undo: string[] = [];
      if (id !== null)
        await this.removeContainer(id).catch((e: unknown) =>
          undo.push(`removing the new container failed: ${errorMessage(e)}`),
        );
      for (const c of parked) {
        try {
          await this.docker.rename(c.id, c.name);
          if (c.state === 'running') await this.docker.start(c.id);
        } catch (e) {
          undo.push(`restoring ${c.name} failed: ${errorMessage(e)} (it is stopped as ${parkedName(c)})`);
        }
      }
      const restored =
        parked.length === 0
          ? ''
          : undo.length === 0
            ? '; restored the previous container'
            : `; ${undo.join('; ')}`;
      throw new MooringError('failed', `${errorMessage(err)}${restored}`, { cause: err });
    }
    for (const c of parked) await this.removeContainer(c.id);
  }

  /**
   * After start: the container must be running (a one-shot job may also have exited 0), and healthy
   * where it has a healthcheck, before the container it replaces is let go.
   */
  private async waitUntilUp(
    id: string,
    service: DesiredService,
    input: ApplyInput,
    replacing: boolean,
    onWait: OnWait,
  ): Promise<void> {
    const isJob = completedJobs(input.desired).has(service.name);
    // Without a healthcheck, "up" is running; one that dies a moment after it started (a bad command
    // in a shell script) would still read as running at once. Where a previous container waits to be
    // let go, it is given this long to prove it stays up.
    const settleUntil = replacing ? Date.now() + SETTLE_MS : 0;
    const h = service.healthcheck;
    // As long as the healthcheck may take to say healthy (the engine's defaults where unset), plus a
    // margin; an image's own healthcheck gets the dependency timeout.
    const started = Date.now();
    const deadline =
      started +
      (h && h.test[0] !== 'NONE'
        ? (h.startPeriodNs + (h.intervalNs || 30e9) * (h.retries + 1) + (h.timeoutNs || 30e9)) / 1e6 + 5_000
        : (input.dependencyTimeoutMs ?? 120_000));
    // Looks again when the engine reports a change (start, die, health_status…), not on a timer.
    const watch = await this.docker.watchStack(input.desired.name);
    try {
      for (;;) {
        const st = await this.docker.state(id);
        if (st.status === 'exited' && isJob && st.exitCode === 0) return;
        if (st.status !== 'running' && st.status !== 'restarting') {
          const logs = await this.docker.logs(id, 5).catch(() => '');
          throw new MooringError(
            'failed',
            `the new container ${st.status === 'exited' ? `exited with code ${st.exitCode}` : `is ${st.status}`} right after it started${logs.trim() ? ` (last output: ${logs.trim().split('\n').slice(-5).join(' | ')})` : ''}`,
          );
        }
        if (st.status === 'restarting') {
          throw new MooringError('failed', `the new container keeps restarting (exit code ${st.exitCode})`);
        }
        if (st.health === 'healthy' || (st.health === null && Date.now() >= settleUntil)) return;
        if (st.health === 'unhealthy') {
          throw new MooringError(
            'failed',
            `the new container is unhealthy${st.healthOutput ? ` (healthcheck said: ${st.healthOutput})` : ''}`,
          );
        }
        // Shutting down: what runs stays; its health is the next look's to judge.
        if (input.signal?.aborted) return;
        onWait({
          for: `${service.name} ${st.health === null ? 'to stay up' : 'to be healthy'}`,
          detail: st.healthOutput,
        });
        const now = Date.now();
        if (now > deadline) {
          throw new MooringError(
            'failed',
            `the new container was not healthy after ${Math.round((now - started) / 1000)} s${st.healthOutput ? ` (healthcheck said: ${st.healthOutput})` : ''}`,
          );
        }
        await this.changed(
          watch,
          (st.health === null ? Math.min(settleUntil, deadline) : deadline) - now + 1,
          input,
        );
      }
    } finally {
      watch.close();
    }
  }

  /** Waits for the watch's next event, the time given, or a stop, whichever comes first. */
  private async changed(watch: StackWatch, ms: number, input: ApplyInput): Promise<void> {
    const signal = input.signal;
    if (!signal) return watch.changed(Math.max(0, ms));
    if (signal.aborted) return;
    let onAbort = (): void => undefined;
    const stopped = new Promise<void>((resolve) => {
      onAbort = resolve;
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([watch.changed(Math.max(0, ms)), stopped]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Before a level starts, the conditions its services' depends_on ask for must hold. `indexes` are the
   * level's actions (by their index in the plan); `onWait` says which one waits for what.
   */
  private async waitForDependencies(
    input: ApplyInput,
    indexes: number[],
    onWait: (index: number, w: Waiting) => void,
  ): Promise<void> {
    const timeout = input.dependencyTimeoutMs ?? 120_000;
    for (const i of indexes) {
      const a = input.actions[i]!;
      if (a.kind !== 'create' && a.kind !== 'recreate' && a.kind !== 'start') continue;
      const s = input.desired.services.find((x) => x.name === a.target);
      if (!s) continue;
      for (const dep of s.dependsOn) {
        if (dep.condition === 'service_started') continue;
        const depService = input.desired.services.find((x) => x.name === dep.service);
        if (!depService) continue;
        const deadline = Date.now() + timeout;
        const watch = await this.docker.watchStack(input.desired.name);
        try {
          for (;;) {
            if (input.signal?.aborted) throw new Stopped();
            const observed = await this.docker.observe(input.home, input.desired.name);
            const c = observed.find((x) => x.service === dep.service && x.ours);
            if (dep.condition === 'service_healthy' && c?.state === 'running' && c.health === 'healthy')
              break;
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
            onWait(i, {
              for: `${dep.service} to ${dep.condition === 'service_healthy' ? 'be healthy' : 'complete'}`,
              detail: null,
            });
            const now = Date.now();
            if (now > deadline) {
              throw new MooringError(
                'failed',
                `"${s.name}" waited ${Math.round(timeout / 1000)} s for "${dep.service}" (${dep.condition}); it did not get there`,
              );
            }
            await this.changed(watch, deadline - now + 1, input);
          }
        } finally {
          watch.close();
        }
      }
    }
  }
}

/** API versions compare as numbers per part: 1.9 < 1.41. */
function apiBelow(version: string, wanted: string): boolean {
  const [a = 0, b = 0] = version.split('.').map(Number);
  const [c = 0, d = 0] = wanted.split('.').map(Number);
  return a < c || (a === c && b < d);
}
