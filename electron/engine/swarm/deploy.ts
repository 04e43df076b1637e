// A stack onto a Swarm manager (issue 15): its services made, updated (a rolling update, as the
// service's update_config says) or removed through the Engine API, each recorded as an action of one
// run, and each waited on until Swarm has done it: the tasks of the new spec running, or the update
// paused or rolled back, which fails the run with Swarm's own reason.
import type { DesiredFileMount, DesiredStack, PlanAction, Trigger } from '../../shared/model.ts';
import type { DockerAdapter, LiveTask } from '../docker/docker-adapter.ts';
import { LABELS } from '../docker/labels.ts';
import type { HistoryStore } from '../history/store.ts';
import { canonicalJson } from '../manifest/spec-hash.ts';
import type { ProgressEvent } from '../reconcile/apply.ts';
import { RecordedRun } from '../reconcile/recorded-run.ts';
import {
  STACK_NAMESPACE,
  serviceName,
  specDrift,
  type LiveService,
  type SwarmFileKind,
  type SwarmServiceSpec,
  type SwarmStackSpec,
} from './spec.ts';

interface SeenObject {
  id: string;
  name: string;
  labels: Record<string, string>;
}

export interface SwarmObservation {
  services: LiveService[];
  tasks: LiveTask[];
  networks: SeenObject[];
  /** The stack's secrets and configs. */
  files: (SeenObject & { kind: SwarmFileKind })[];
}

/**
 * The external secrets and configs `spec` refers to, as the swarm has them (added to `seen`, whose ids
 * the services are given), and each one it lacks, in words with what to do.
 */
export async function findExternal(
  docker: DockerAdapter,
  spec: SwarmStackSpec,
  seen: SwarmObservation,
): Promise<{ seen: SwarmObservation; problems: string[] }> {
  const wanted = spec.external ?? [];
  if (wanted.length === 0) return { seen, problems: [] };
  const found = (
    await Promise.all(
      (['secrets', 'configs'] as const).map(async (kind) => {
        const names = wanted.filter((f) => f.kind === kind).map((f) => f.Name);
        const list = names.length > 0 ? await docker.swarmFilesNamed(kind, names) : [];
        return list.map((f) => ({ ...f, kind }));
      }),
    )
  ).flat();
  const problems = wanted.flatMap((f) => {
    const one = f.kind === 'secrets' ? 'secret' : 'config';
    const there = found.find((x) => x.kind === f.kind && x.name === f.Name);
    if (!there)
      return [
        `External ${one} "${f.Name}" is not on the swarm: create it first (docker ${one} create ${f.Name} FILE).`,
      ];
    // One Mooring made for a stack changes with its git and is removed when no longer used there.
    if (there.labels[LABELS.managed] === 'true')
      return [
        `External ${one} "${f.Name}" was made by Mooring for stack ${there.labels[STACK_NAMESPACE] ?? '?'}: it changes with that stack's files and goes when they change. Name a ${one} made by hand (docker ${one} create).`,
      ];
    return [];
  });
  return { seen: { ...seen, files: [...seen.files, ...found] }, problems };
}

export async function observeSwarmStack(docker: DockerAdapter, stack: string): Promise<SwarmObservation> {
  const [services, networks, secrets, configs] = await Promise.all([
    docker.stackServices(stack),
    docker.stackNetworks(stack),
    docker.stackFiles('secrets', stack),
    docker.stackFiles('configs', stack),
  ]);
  const tasks = await docker.serviceTasks(services.map((s) => s.id));
  return {
    services,
    tasks,
    networks,
    files: [
      ...secrets.map((f) => ({ ...f, kind: 'secrets' as const })),
      ...configs.map((f) => ({ ...f, kind: 'configs' as const })),
    ],
  };
}

const FILE_ACTIONS = {
  secrets: { create: 'create-secret', remove: 'remove-secret' },
  configs: { create: 'create-config', remove: 'remove-config' },
} as const;

/** The names of the secrets or configs a service spec refers to. */
function referenced(spec: SwarmServiceSpec): string[] {
  const c = spec.TaskTemplate.ContainerSpec as {
    Secrets?: { SecretName?: string }[];
    Configs?: { ConfigName?: string }[];
  };
  return [
    ...(c.Secrets ?? []).map((r) => r.SecretName ?? ''),
    ...(c.Configs ?? []).map((r) => r.ConfigName ?? ''),
  ];
}

/** Whether this home made it: Mooring's labels with this home's instance. */
export function madeHere(labels: Record<string, string>, instance: string): boolean {
  return labels[LABELS.managed] === 'true' && labels[LABELS.instance] === instance;
}

/**
 * The stack's services that are on the swarm already and that this home did not make (`docker stack
 * deploy` by hand, another Mooring home): never updated or taken over. Each in words, with what to do.
 */
export function foreignServices(spec: SwarmStackSpec, seen: SwarmObservation, instance: string): string[] {
  return spec.services.flatMap((s) => {
    const live = seen.services.find((x) => x.spec.Name === s.spec.Name);
    return live && !madeHere(live.spec.Labels, instance)
      ? [
          `Service ${s.spec.Name} is on the swarm and was not made by this Mooring home (docker stack deploy, or another home): remove it (docker service rm ${s.spec.Name}) or rename the stack.`,
        ]
      : [];
  });
}

/**
 * What to do: builds first (level -1), then networks, secrets and configs (level 0), then every
 * service at once (level 1), removals last. Older copies of the stack's secrets and configs that no
 * service will use are removed with or without prune: they are what a change of content left behind,
 * not something git declares.
 */
export function planSwarm(
  spec: SwarmStackSpec,
  seen: SwarmObservation,
  opts: { prune: boolean; instance: string; builds?: ReadonlyMap<string, string[]> },
): PlanAction[] {
  const actions: PlanAction[] = [];
  // Images built from git (their tag, the services that run it), before anything of the stack changes.
  for (const [tag, services] of opts.builds ?? [])
    actions.push({
      kind: 'build',
      target: tag,
      reason: `not built on this engine: built from the config repo for ${services.join(', ')}`,
      diff: [],
      level: -1,
    });
  for (const n of spec.networks)
    if (!seen.networks.some((x) => x.name === n.Name))
      actions.push({
        kind: 'create-network',
        target: n.Name,
        reason: 'not on the swarm',
        diff: [],
        level: 0,
      });
  for (const f of spec.files)
    if (!seen.files.some((x) => x.kind === f.kind && x.name === f.Name && madeHere(x.labels, opts.instance)))
      actions.push({
        kind: FILE_ACTIONS[f.kind].create,
        target: f.Name,
        reason: `${f.kind === 'secrets' ? 'secret' : 'config'} "${f.from.name}" with this content is not on the swarm`,
        diff: [],
        level: 0,
      });
  for (const s of spec.services) {
    const live = seen.services.find((x) => x.spec.Name === s.spec.Name);
    if (!live) {
      actions.push({
        kind: 'create',
        target: s.name,
        reason: 'no such service on the swarm',
        diff: [],
        level: 1,
      });
      continue;
    }
    const diff = specDrift(s.spec, live.spec);
    if (diff.length === 0) continue;
    const onlyReplicas = diff.every((d) => d.path === 'replicas');
    actions.push({
      kind: onlyReplicas ? 'scale' : 'recreate',
      target: s.name,
      reason: onlyReplicas
        ? `replicas ${diff[0]!.live} → ${diff[0]!.desired}`
        : `rolling update: ${diff.map((d) => d.path).join(', ')}`,
      diff,
      level: 1,
    });
  }
  const declared = new Set(spec.services.map((s) => s.spec.Name));
  const pruned = (live: LiveService): boolean =>
    opts.prune && !declared.has(live.spec.Name) && madeHere(live.spec.Labels, opts.instance);
  // What services git does not declare and that stay keep using: never removed under them.
  const used = new Set([
    ...spec.files.map((f) => f.Name),
    ...(spec.external ?? []).map((f) => f.Name),
    ...seen.services
      .filter((l) => !declared.has(l.spec.Name) && !pruned(l))
      .flatMap((l) => referenced(l.spec)),
  ]);
  for (const f of seen.files)
    if (!used.has(f.name) && madeHere(f.labels, opts.instance))
      actions.push({
        kind: FILE_ACTIONS[f.kind].remove,
        target: f.name,
        reason: 'an older copy that no service uses any more',
        diff: [],
        level: 3,
      });
  if (opts.prune) {
    for (const live of seen.services)
      if (pruned(live))
        actions.push({
          kind: 'remove',
          target: live.spec.Labels[LABELS.service] ?? live.spec.Name,
          reason: 'no longer declared in git (prune)',
          diff: [],
          level: 2,
        });
    const networks = new Set(spec.networks.map((n) => n.Name));
    for (const n of seen.networks)
      if (!networks.has(n.name) && madeHere(n.labels, opts.instance))
        actions.push({
          kind: 'remove-network',
          target: n.name,
          reason: 'no longer declared in git (prune)',
          diff: [],
          level: 3,
        });
  }
  return actions;
}

export interface SwarmApplyInput {
  source: string;
  /** The named engine the swarm is reached through, recorded with the run. */
  engine: string;
  revision: string;
  signer?: string | null;
  trigger: Trigger;
  desired: DesiredStack;
  spec: SwarmStackSpec;
  seen: SwarmObservation;
  actions: PlanAction[];
  /** The bytes of a secret or config (from git, or the stack's inline and variable content). */
  readFile: (from: DesiredFileMount) => Promise<Uint8Array>;
  /** Builds a `build` action's image (its tag the target), each line of output passed on. */
  build?: (action: PlanAction, onLine: (line: string) => void) => Promise<void>;
  onProgress?: (event: ProgressEvent) => void;
  signal?: AbortSignal;
  /** How long a service may take to have its new tasks running. */
  timeoutMs?: number;
}

const POLL_MS = 300;

/** Runs a Swarm plan as one recorded run, as the container applier does (reconcile/apply.ts). */
export async function applySwarm(
  docker: DockerAdapter,
  history: HistoryStore,
  input: SwarmApplyInput,
): Promise<{ runId: number; error: string | null }> {
  const run = new RecordedRun(
    history,
    { ...input, stack: input.desired.name, actions: input.actions },
    input.onProgress,
  );
  // Services refer to secrets and configs by id: those on the swarm, and those this run makes.
  const fileIds = new Map(input.seen.files.map((f) => [`${f.kind} ${f.name}`, f.id] as const));
  let error: string | null = null;
  const levels = [...new Set(input.actions.map((a) => a.level))].sort((a, b) => a - b);
  for (const level of levels) {
    const indexes = input.actions.flatMap((a, i) => (a.level === level ? [i] : []));
    error = await run.level(indexes, (i, onWait) => {
      const action = input.actions[i]!;
      if (action.kind === 'build') {
        if (!input.build) throw new Error('this run cannot build images');
        return input.build(action, (line) => {
          run.emit({ type: 'action-output', runId: run.id, index: i, action, line });
        });
      }
      return runAction(docker, input, action, fileIds, (what) => {
        onWait({ for: what, detail: null });
      });
    });
    if (error) break;
  }
  run.finish(error);
  return { runId: run.id, error };
}

/** The spec with the id of each secret and config it refers to. */
function withFileIds(spec: SwarmServiceSpec, fileIds: Map<string, string>): SwarmServiceSpec {
  const c = spec.TaskTemplate.ContainerSpec as {
    Secrets?: { SecretName: string }[];
    Configs?: { ConfigName: string }[];
  };
  const id = (kind: SwarmFileKind, name: string): string => {
    const found = fileIds.get(`${kind} ${name}`);
    if (found === undefined) throw new Error(`${name} is not on the swarm`);
    return found;
  };
  return {
    ...spec,
    TaskTemplate: {
      ...spec.TaskTemplate,
      ContainerSpec: {
        ...spec.TaskTemplate.ContainerSpec,
        ...(c.Secrets
          ? { Secrets: c.Secrets.map((r) => ({ ...r, SecretID: id('secrets', r.SecretName) })) }
          : {}),
        ...(c.Configs
          ? { Configs: c.Configs.map((r) => ({ ...r, ConfigID: id('configs', r.ConfigName) })) }
          : {}),
      },
    },
  };
}

async function runAction(
  docker: DockerAdapter,
  input: SwarmApplyInput,
  action: PlanAction,
  fileIds: Map<string, string>,
  onWait: (what: string) => void,
): Promise<void> {
  const stack = input.desired.name;
  switch (action.kind) {
    case 'create-secret':
    case 'create-config': {
      const f = input.spec.files.find((x) => x.Name === action.target)!;
      const id = await docker.createSwarmFile(
        f.kind,
        { Name: f.Name, Labels: f.Labels },
        await input.readFile(f.from),
      );
      fileIds.set(`${f.kind} ${f.Name}`, id);
      return;
    }
    case 'remove-secret':
    case 'remove-config': {
      const kind = action.kind === 'remove-secret' ? 'secrets' : 'configs';
      const f = input.seen.files.find((x) => x.kind === kind && x.name === action.target)!;
      await docker.removeSwarmFile(kind, f.id);
      return;
    }
    case 'create-network': {
      const n = input.spec.networks.find((x) => x.Name === action.target)!;
      await docker.createSwarmNetwork(n);
      return;
    }
    case 'create': {
      const s = input.spec.services.find((x) => x.name === action.target)!;
      const id = await docker.createService(withFileIds(s.spec, fileIds));
      await converge(docker, id, null, input, onWait);
      return;
    }
    case 'recreate':
    case 'scale': {
      const s = input.spec.services.find((x) => x.name === action.target)!;
      const live = input.seen.services.find((x) => x.spec.Name === s.spec.Name)!;
      await docker.updateService(live.id, live.version, withFileIds(s.spec, fileIds));
      await converge(docker, live.id, live.update?.startedAt ?? null, input, onWait);
      return;
    }
    case 'remove': {
      const live = input.seen.services.find(
        (x) => x.spec.Name === serviceName(stack, action.target) || x.spec.Name === action.target,
      )!;
      await docker.removeService(live.id);
      return;
    }
    case 'remove-network': {
      const n = input.seen.networks.find((x) => x.name === action.target)!;
      await docker.removeNetworkById(n.id);
      return;
    }
    default:
      throw new Error(`${action.kind} is not an action on a Swarm`);
  }
}

/** Update states in which Swarm stopped an update: it failed. */
const STOPPED_UPDATE: Record<string, string> = {
  paused: 'the update failed and Swarm paused it',
  rollback_paused: 'the update failed, and so did its rollback (paused)',
  rollback_completed: 'the update failed and Swarm rolled it back',
};

/**
 * Waits until the service runs its current spec: as many tasks of it running as it asks for (one per
 * node for a global service, here: at least one), and no update in progress. An update Swarm stops
 * (paused, rolled back) fails with its message; so does waiting past the timeout, with the last
 * task's error. `before`: the start of the update already there, not this one.
 */
async function converge(
  docker: DockerAdapter,
  id: string,
  before: string | null,
  input: SwarmApplyInput,
  onWait: (what: string) => void,
): Promise<void> {
  const deadline = Date.now() + (input.timeoutMs ?? 120_000);
  let said = '';
  for (;;) {
    const live = await docker.inspectService(id);
    const name = live.spec.Labels[LABELS.service] ?? live.spec.Name;
    const fresh = live.update && live.update.startedAt !== before ? live.update : null;
    if (fresh && STOPPED_UPDATE[fresh.state])
      throw new Error(`${STOPPED_UPDATE[fresh.state]}: ${fresh.message || 'no reason given'}`);
    const tasks = await docker.serviceTasks([id]);
    const current = canonicalJson(live.spec.TaskTemplate.ContainerSpec);
    const running = tasks.filter(
      (t) => t.desired === 'running' && t.state === 'running' && canonicalJson(t.containerSpec) === current,
    ).length;
    const want = 'Replicated' in live.spec.Mode ? live.spec.Mode.Replicated.Replicas : Math.max(1, running);
    // A rollback under way is waited for: the run says how it ended.
    const updating = fresh !== null && (fresh.state === 'updating' || fresh.state === 'rollback_started');
    if (running >= want && !updating && (want > 0 || tasks.every((t) => t.state !== 'running'))) return;
    const failedTask = tasks.find((t) => t.error);
    const what = `${name}: ${running} of ${want} running${updating ? `, ${fresh.state === 'updating' ? 'updating' : 'rolling back'}` : ''}`;
    if (what !== said) {
      onWait(what);
      said = what;
    }
    if (input.signal?.aborted) throw new Error('Stopped before Swarm finished; it goes on by itself.');
    if (Date.now() > deadline)
      throw new Error(
        `${running} of ${want} tasks running after ${Math.round((input.timeoutMs ?? 120_000) / 1000)} s${failedTask ? `; the last failed: ${failedTask.error}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
