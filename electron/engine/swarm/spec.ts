// A stack as Swarm services (issue 15), the way `docker stack deploy` makes them: a service
// `<stack>_<service>` per compose service, overlay networks, and the stack namespace label on all of
// it, so `docker stack ps|services STACK` see Mooring's stacks. Pure: desired state in, Engine API
// specs out, with what Swarm cannot do of the file said rather than dropped.
import type { DesiredFileMount, DesiredService, DesiredStack, DriftReason } from '../../shared/model.ts';
import { LABELS } from '../docker/labels.ts';
import { canonicalJson } from '../manifest/spec-hash.ts';

/** `docker stack`'s own label: which stack a service, network, secret or config belongs to. */
export const STACK_NAMESPACE = 'com.docker.stack.namespace';
/** `docker stack`'s label of the image as the file names it (the spec may carry a digest). */
export const STACK_IMAGE = 'com.docker.stack.image';

export interface SwarmServiceSpec {
  Name: string;
  Labels: Record<string, string>;
  TaskTemplate: {
    ContainerSpec: Record<string, unknown> & { Image: string; Labels: Record<string, string> };
    Resources?: {
      Limits?: { NanoCPUs?: number; MemoryBytes?: number; Pids?: number };
      Reservations?: { NanoCPUs?: number; MemoryBytes?: number };
    };
    RestartPolicy: {
      Condition: 'none' | 'on-failure' | 'any';
      MaxAttempts?: number;
      Delay?: number;
      Window?: number;
    };
    Placement?: Record<string, unknown>;
    Networks: { Target: string; Aliases: string[] }[];
  };
  Mode: { Replicated: { Replicas: number } } | { Global: Record<string, never> };
  UpdateConfig?: Record<string, unknown>;
  RollbackConfig?: Record<string, unknown>;
  EndpointSpec: {
    Mode: 'vip' | 'dnsrr';
    Ports: { Protocol: string; TargetPort: number; PublishedPort?: number; PublishMode: 'ingress' }[];
  };
}

export interface SwarmNetworkSpec {
  Name: string;
  Driver: string;
  Labels: Record<string, string>;
  Attachable: boolean;
  Internal: boolean;
}

export type SwarmFileKind = 'secrets' | 'configs';

/**
 * A secret or config as a Swarm object. Named by its content's hash (git's blob id, or the home's keyed
 * hash of inline and variable content), so a change makes a new one and rolls the services onto it:
 * Swarm cannot change a secret in place.
 */
export interface SwarmFileSpec {
  kind: SwarmFileKind;
  Name: string;
  Labels: Record<string, string>;
  /** Where its bytes come from, read at apply time (they are never part of the spec). */
  from: DesiredFileMount;
}

/** A service's reference to one, as the Engine API takes it (the id is filled in at apply time). */
interface FileReference {
  File: { Name: string; UID: string; GID: string; Mode: number };
  SecretName?: string;
  SecretID?: string;
  ConfigName?: string;
  ConfigID?: string;
}

export interface SwarmStackSpec {
  services: { name: string; spec: SwarmServiceSpec }[];
  networks: SwarmNetworkSpec[];
  /** Secrets and configs, each once however many services use it. */
  files: SwarmFileSpec[];
  /** External secrets and configs: made on the Swarm out of band, by their name there; never changed. */
  external?: { kind: SwarmFileKind; Name: string }[];
  /** What stops the stack from being deployed as services, each naming the service and what to do. */
  problems: string[];
  /** What Swarm does not act on, said in the plan (as `docker stack deploy` says "Ignoring …"). */
  notes: string[];
}

export const serviceName = (stack: string, service: string): string => `${stack}_${service}`;

/** Options a container takes that a Swarm service has no field for. */
function ignored(s: DesiredService): string[] {
  const out: string[] = [];
  if (s.privileged) out.push('privileged');
  if (s.networkMode) out.push('network_mode');
  if (s.pid) out.push('pid');
  if (s.ipc) out.push('ipc');
  if (s.devices.length) out.push('devices');
  if (s.securityOpt.length) out.push('security_opt');
  if (s.dependsOn.length) out.push('depends_on');
  if (s.links?.length) out.push('links');
  if (s.externalLinks?.length) out.push('external_links');
  if (s.volumesFrom?.length) out.push('volumes_from');
  if (s.postStart?.length) out.push('post_start');
  if (s.preStop?.length) out.push('pre_stop');
  const host = s.passthrough?.hostConfig ?? {};
  for (const key of Object.keys(host))
    if (!['NanoCpus', 'Memory', 'MemoryReservation', 'PidsLimit'].includes(key)) out.push(key);
  for (const key of Object.keys(s.passthrough?.config ?? {})) out.push(key);
  return out;
}

function ports(
  stack: string,
  s: DesiredService,
  problems: string[],
): SwarmServiceSpec['EndpointSpec']['Ports'] {
  const out: SwarmServiceSpec['EndpointSpec']['Ports'] = [];
  for (const p of s.ports) {
    if (p.hostIp !== '' && p.hostIp !== '0.0.0.0') {
      problems.push(
        `${stack}/${s.name}: port ${p.hostIp}:${p.hostPort}:${p.containerPort} is bound to one address, and Swarm publishes on every address of every node; publish "${p.hostPort}:${p.containerPort}", or set \`mode: containers\` for the stack in mooring.yaml`,
      );
      continue;
    }
    // A range was expanded by the manifest reader: one entry per port.
    out.push({
      Protocol: p.protocol,
      TargetPort: p.containerPort,
      ...(p.hostPort !== '' ? { PublishedPort: Number(p.hostPort) } : {}),
      PublishMode: 'ingress',
    });
  }
  return out;
}

function mounts(stack: string, s: DesiredService, problems: string[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const m of s.mounts) {
    if (m.type === 'volume') {
      out.push({
        Type: 'volume',
        ...(m.source ? { Source: m.source } : {}),
        Target: m.target,
        ReadOnly: m.readOnly,
        VolumeOptions: { Labels: { [STACK_NAMESPACE]: stack }, ...(m.nocopy ? { NoCopy: true } : {}) },
      });
    } else if (m.type === 'bind') {
      out.push({ Type: 'bind', Source: m.source, Target: m.target, ReadOnly: m.readOnly });
    } else if (m.type === 'tmpfs') {
      out.push({ Type: 'tmpfs', Target: m.target });
    } else {
      problems.push(
        `${stack}/${s.name}: ${m.type === 'repo' ? `the file ${m.repoPath} from git` : `a ${m.type} mount`} at ${m.target} is not placed on Swarm nodes yet; set \`mode: containers\` for the stack in mooring.yaml`,
      );
    }
  }
  return out;
}

/** Swarm's longest object name. */
const MAX_NAME = 64;

/**
 * The service's secrets or configs as references, each object added to `files` once. A host file is
 * refused: its name would not change with its content, so a change would never reach the services.
 */
function fileReferences(
  stack: string,
  s: DesiredService,
  kind: SwarmFileKind,
  files: Map<string, SwarmFileSpec>,
  external: Map<string, { kind: SwarmFileKind; Name: string }>,
  labels: Record<string, string>,
  problems: string[],
): FileReference[] {
  const out: FileReference[] = [];
  const one = kind === 'secrets' ? 'secret' : 'config';
  const reference = (m: DesiredFileMount, name: string): FileReference => ({
    File: { Name: m.target, UID: m.uid ?? '0', GID: m.gid ?? '0', Mode: m.mode },
    ...(kind === 'secrets' ? { SecretName: name } : { ConfigName: name }),
  });
  for (const m of s[kind] ?? []) {
    if (m.from === 'external') {
      external.set(`${kind} ${m.digest}`, { kind, Name: m.digest });
      out.push(reference(m, m.digest));
      continue;
    }
    if (m.from === 'host') {
      problems.push(
        `${stack}/${s.name}: ${one} "${m.name}" is a file of this machine (${m.digest}), which Swarm would not see change; commit it to the repo, or give it \`environment:\``,
      );
      continue;
    }
    const name = `${stack}_${m.name}_${m.digest.slice(0, 12)}`;
    if (name.length > MAX_NAME) {
      problems.push(
        `${stack}/${s.name}: ${one} "${m.name}" would be named ${name}, longer than Swarm's ${MAX_NAME} characters; give it a shorter name`,
      );
      continue;
    }
    files.set(`${kind} ${name}`, { kind, Name: name, Labels: labels, from: m });
    out.push(reference(m, name));
  }
  return out.sort((a, b) => a.File.Name.localeCompare(b.File.Name));
}

const RESTART: Record<
  DesiredService['restart'],
  SwarmServiceSpec['TaskTemplate']['RestartPolicy']['Condition']
> = {
  no: 'none',
  'on-failure': 'on-failure',
  always: 'any',
  'unless-stopped': 'any',
};

/**
 * The services and networks of `desired` on a Swarm. `instance` is this home's id, `source` and
 * `revision` what the services are labelled with (as containers are).
 */
export function swarmStack(
  desired: DesiredStack,
  label: { source: string; revision: string; instance: string },
): SwarmStackSpec {
  const stack = desired.name;
  const problems: string[] = [];
  const notes: string[] = [];
  const own = { [STACK_NAMESPACE]: stack, [LABELS.managed]: 'true', [LABELS.instance]: label.instance };
  const networks: SwarmNetworkSpec[] = desired.networks
    .filter((n) => !n.external)
    .map((n) => ({
      Name: n.name,
      // Compose's default driver on one engine is bridge; on a Swarm, overlay (as docker stack does).
      Driver: n.driver === '' || n.driver === 'bridge' ? 'overlay' : n.driver,
      Labels: { ...n.labels, ...own, [LABELS.project]: stack },
      Attachable: n.attachable ?? false,
      Internal: n.internal ?? false,
    }));
  const files = new Map<string, SwarmFileSpec>();
  const external = new Map<string, { kind: SwarmFileKind; Name: string }>();
  const services = desired.services.map((s) => {
    const skipped = ignored(s);
    if (skipped.length > 0) notes.push(`${s.name}: ${skipped.join(', ')} ignored on Swarm`);
    const secrets = fileReferences(stack, s, 'secrets', files, external, own, problems);
    const configs = fileReferences(stack, s, 'configs', files, external, own, problems);
    const host = s.passthrough?.hostConfig ?? {};
    const limits = {
      ...(typeof host.NanoCpus === 'number' ? { NanoCPUs: host.NanoCpus } : {}),
      ...(typeof host.Memory === 'number' ? { MemoryBytes: host.Memory } : {}),
      ...(typeof host.PidsLimit === 'number' ? { Pids: host.PidsLimit } : {}),
    };
    const reservations = {
      ...(s.swarm?.cpuReservation !== undefined ? { NanoCPUs: s.swarm.cpuReservation } : {}),
      ...(typeof host.MemoryReservation === 'number' ? { MemoryBytes: host.MemoryReservation } : {}),
    };
    const hc = s.healthcheck;
    const spec: SwarmServiceSpec = {
      Name: serviceName(stack, s.name),
      Labels: {
        ...s.swarm?.labels,
        ...own,
        [STACK_IMAGE]: s.image,
        [LABELS.project]: stack,
        [LABELS.service]: s.name,
        [LABELS.source]: label.source,
        [LABELS.revision]: label.revision,
      },
      TaskTemplate: {
        ContainerSpec: {
          Image: s.image,
          // Compose's project label too: the controller's event stream follows the stack's tasks by it.
          Labels: { ...s.labels, [STACK_NAMESPACE]: stack, [LABELS.project]: stack },
          ...(s.entrypoint ? { Command: s.entrypoint } : {}),
          ...(s.command ? { Args: s.command } : {}),
          ...(s.hostname ? { Hostname: s.hostname } : {}),
          Env: Object.entries(s.environment)
            .map(([k, v]) => `${k}=${v}`)
            .sort(),
          ...(s.workingDir ? { Dir: s.workingDir } : {}),
          ...(s.user ? { User: s.user } : {}),
          ...(s.init ? { Init: true } : {}),
          StopGracePeriod: s.stopGracePeriodSec * 1e9,
          ...(hc
            ? {
                Healthcheck: {
                  Test: hc.test,
                  Interval: hc.intervalNs,
                  Timeout: hc.timeoutNs,
                  Retries: hc.retries,
                  StartPeriod: hc.startPeriodNs,
                },
              }
            : {}),
          Mounts: mounts(stack, s, problems),
          ...(s.extraHosts.length
            ? { Hosts: s.extraHosts.map((h) => h.replace(/^(.*):([^:]+)$/, '$2 $1')) }
            : {}),
          ...(s.capAdd.length ? { CapabilityAdd: s.capAdd } : {}),
          ...(s.capDrop.length ? { CapabilityDrop: s.capDrop } : {}),
          ...(secrets.length ? { Secrets: secrets } : {}),
          ...(configs.length ? { Configs: configs } : {}),
        },
        ...(Object.keys(limits).length + Object.keys(reservations).length > 0
          ? {
              Resources: {
                ...(Object.keys(limits).length ? { Limits: limits } : {}),
                ...(Object.keys(reservations).length ? { Reservations: reservations } : {}),
              },
            }
          : {}),
        RestartPolicy: {
          Condition: RESTART[s.restart],
          ...(s.restartMaxRetries ? { MaxAttempts: s.restartMaxRetries } : {}),
          ...(s.swarm?.restartDelay !== undefined ? { Delay: s.swarm.restartDelay } : {}),
          ...(s.swarm?.restartWindow !== undefined ? { Window: s.swarm.restartWindow } : {}),
        },
        ...(s.swarm?.placement ? { Placement: s.swarm.placement } : {}),
        Networks: s.networks.map((n) => ({
          Target: n.name,
          Aliases: [s.name, ...n.aliases.filter((a) => a !== s.name)],
        })),
      },
      Mode: s.swarm?.global ? { Global: {} } : { Replicated: { Replicas: s.replicas ?? 1 } },
      ...(s.swarm?.update ? { UpdateConfig: { ...s.swarm.update } } : {}),
      ...(s.swarm?.rollback ? { RollbackConfig: { ...s.swarm.rollback } } : {}),
      EndpointSpec: { Mode: s.swarm?.endpointMode ?? 'vip', Ports: ports(stack, s, problems) },
    };
    if (spec.EndpointSpec.Mode === 'dnsrr' && spec.EndpointSpec.Ports.length > 0)
      problems.push(`${stack}/${s.name}: endpoint_mode dnsrr cannot publish ports through the routing mesh`);
    return { name: s.name, spec };
  });
  return {
    services,
    networks,
    files: [...files.values()],
    ...(external.size > 0 ? { external: [...external.values()] } : {}),
    problems,
    notes,
  };
}

/** A live service's spec, as the engine reports it, in the same terms as the one sent. */
export interface LiveService {
  id: string;
  version: number;
  spec: SwarmServiceSpec;
  /** `UpdateStatus` of the last update: updating, paused, completed, rollback_started, … */
  update: { state: string; message: string; startedAt: string } | null;
}

/** The fields the issue names as drift, each in a form where Swarm's defaults and reordering vanish. */
const DRIFT_FIELDS: { path: string; of: (s: SwarmServiceSpec) => unknown }[] = [
  // The engine may pin the image by digest (`image@sha256:…`) where it could resolve one.
  { path: 'image', of: (s) => s.TaskTemplate.ContainerSpec.Image.replace(/@sha256:[0-9a-f]{64}$/, '') },
  { path: 'command', of: (s) => s.TaskTemplate.ContainerSpec.Command ?? null },
  { path: 'args', of: (s) => s.TaskTemplate.ContainerSpec.Args ?? null },
  {
    path: 'environment',
    of: (s) => [...((s.TaskTemplate.ContainerSpec.Env as string[] | undefined) ?? [])].sort(),
  },
  {
    path: 'replicas',
    of: (s) => ('Replicated' in s.Mode ? (s.Mode.Replicated.Replicas ?? 1) : 'global'),
  },
  {
    path: 'resources',
    of: (s) => {
      const r = s.TaskTemplate.Resources ?? {};
      return {
        limits: {
          cpus: r.Limits?.NanoCPUs ?? 0,
          memory: r.Limits?.MemoryBytes ?? 0,
          pids: r.Limits?.Pids ?? 0,
        },
        reservations: { cpus: r.Reservations?.NanoCPUs ?? 0, memory: r.Reservations?.MemoryBytes ?? 0 },
      };
    },
  },
  {
    path: 'ports',
    of: (s) =>
      (s.EndpointSpec?.Ports ?? [])
        .map(
          (p) =>
            `${p.PublishedPort ?? ''}:${p.TargetPort}/${p.Protocol ?? 'tcp'} ${p.PublishMode ?? 'ingress'}`,
        )
        .sort(),
  },
  {
    path: 'mounts',
    of: (s) =>
      (
        (s.TaskTemplate.ContainerSpec.Mounts as
          { Type?: string; Source?: string; Target?: string; ReadOnly?: boolean }[] | undefined) ?? []
      )
        .map((m) => `${m.Type ?? ''} ${m.Source ?? ''}:${m.Target ?? ''}${m.ReadOnly ? ':ro' : ''}`)
        .sort(),
  },
  ...(['secrets', 'configs'] as const).map((kind) => ({
    // By name (which carries the content's hash) and where it is put; the id is the engine's.
    path: kind,
    of: (s: SwarmServiceSpec) =>
      (
        (s.TaskTemplate.ContainerSpec[kind === 'secrets' ? 'Secrets' : 'Configs'] as
          FileReference[] | undefined) ?? []
      )
        .map(
          (r) =>
            `${r.SecretName ?? r.ConfigName ?? ''} at ${r.File.Name} ${r.File.UID}:${r.File.GID} ${r.File.Mode.toString(8)}`,
        )
        .sort(),
  })),
  {
    // The revision a service was last updated at is history, not drift.
    path: 'labels',
    of: (s) => ({
      service: { ...s.Labels, [LABELS.revision]: undefined },
      container: s.TaskTemplate.ContainerSpec.Labels ?? {},
    }),
  },
];

function show(v: unknown): string {
  return typeof v === 'string' ? v : canonicalJson(v);
}

/** Where a live service's spec differs from git's, field by field. */
export function specDrift(desired: SwarmServiceSpec, live: SwarmServiceSpec): DriftReason[] {
  const reasons: DriftReason[] = [];
  // A port git publishes without a number gets one from Swarm (30000 and up): that one is not drift.
  const chosen = new Set(
    (desired.EndpointSpec.Ports ?? [])
      .filter((p) => p.PublishedPort === undefined)
      .map((p) => `${p.TargetPort}/${p.Protocol}`),
  );
  const seen: SwarmServiceSpec = {
    ...live,
    EndpointSpec: {
      ...live.EndpointSpec,
      Ports: (live.EndpointSpec?.Ports ?? []).map((p) => {
        if (!chosen.has(`${p.TargetPort}/${p.Protocol ?? 'tcp'}`)) return p;
        const rest = { ...p };
        delete rest.PublishedPort;
        return rest;
      }),
    },
  };
  for (const f of DRIFT_FIELDS) {
    const want = f.of(desired);
    const have = f.of(seen);
    if (canonicalJson(want) !== canonicalJson(have))
      reasons.push({ path: f.path, desired: show(want), live: show(have) });
  }
  return reasons;
}
