// `deploy:` on one engine (issue 11, item 3), as docker compose v2 applies it to plain containers:
// replicas become N containers, resources become the container's limits, restart_policy its restart
// policy when `restart:` is not set. What only Swarm acts on (placement, update_config, …) is kept
// and named, so the plan can say it applies on Swarm only, never silently dropped.
import type { DesiredService, JsonValue, SwarmDeploy, SwarmUpdateConfig } from '../../shared/model.ts';
import { parseDurationNs } from './duration.ts';
import { bytes, nanoCpus, type ReadContext } from './passthrough.ts';
import { safetyMessages } from './safety.ts';
import type { Entry } from './yaml-file.ts';

const SWARM_ONLY = ['endpoint_mode', 'labels', 'placement', 'update_config', 'rollback_config'];

/**
 * Reads `deploy` into the service. The caller reads it after the service's other keys: its limits must
 * agree with mem_limit and the like, and its restart policy replaces `restart:`.
 */
export function readDeploy(ctx: ReadContext, e: Entry, service: DesiredService): void {
  const { yaml } = ctx;
  const fields = yaml.map(e.value, e.path);
  if (fields === null) return;
  yaml.rejectUnknown(fields, ['mode', 'replicas', 'resources', 'restart_policy', ...SWARM_ONLY]);
  const swarmOnly: string[] = [];
  let mode: unknown = 'replicated';
  for (const f of fields) {
    switch (f.key) {
      case 'mode': {
        mode = yaml.scalar(f.value);
        if (
          mode !== 'replicated' &&
          mode !== 'global' &&
          mode !== 'replicated-job' &&
          mode !== 'global-job'
        ) {
          yaml.errorAt(f.value ?? f.keyNode, `${f.path} must be replicated or global`);
        } else if (mode !== 'replicated') {
          // One engine is one node: `global` runs one container, as compose does without Swarm.
          swarmOnly.push(`${f.path}: ${mode} (one container on one engine)`);
          if (mode === 'global') swarm(service).global = true;
        }
        break;
      }
      case 'replicas': {
        const n = yaml.int(f.value, f.path, 0, 1000);
        if (n !== undefined) service.replicas = n;
        break;
      }
      case 'resources':
        readResources(ctx, f, service, swarmOnly);
        break;
      case 'restart_policy':
        readRestartPolicy(ctx, f, service, swarmOnly);
        break;
      case 'placement':
        readPlacement(ctx, f, service);
        swarmOnly.push(f.path);
        break;
      case 'update_config':
      case 'rollback_config': {
        const config = readUpdateConfig(ctx, f);
        if (config) swarm(service)[f.key === 'update_config' ? 'update' : 'rollback'] = config;
        swarmOnly.push(f.path);
        break;
      }
      case 'endpoint_mode': {
        const v = choice(ctx, f, ENDPOINT_MODES);
        if (v) swarm(service).endpointMode = v;
        swarmOnly.push(f.path);
        break;
      }
      case 'labels': {
        const labels = readLabels(ctx, f);
        if (labels) swarm(service).labels = labels;
        swarmOnly.push(f.path);
        break;
      }
      default:
        swarmOnly.push(f.path);
    }
  }
  if (mode === 'global' && service.replicas !== undefined) {
    yaml.errorAt(e.keyNode, `${e.path}: replicas cannot be set with mode: global`);
  }
  if (swarmOnly.length > 0) service.swarmOnly = [...(service.swarmOnly ?? []), ...swarmOnly];
}

function swarm(service: DesiredService): SwarmDeploy {
  return (service.swarm ??= {});
}

/** A duration field of `deploy` (`10s`, `1m30s`) in nanoseconds, as the Engine API takes it. */
function duration(ctx: ReadContext, e: Entry): number | undefined {
  const v = ctx.yaml.scalar(e.value);
  const ns = typeof v === 'string' ? parseDurationNs(v) : typeof v === 'number' && v >= 0 ? v * 1e9 : null;
  if (ns === null)
    ctx.yaml.errorAt(e.value ?? e.keyNode, `${e.path} must be a duration such as 10s or 1m30s`);
  return ns ?? undefined;
}

/** `deploy.labels`, as a map or a list of KEY=VALUE. */
function readLabels(ctx: ReadContext, e: Entry): Record<string, string> | undefined {
  const { yaml } = ctx;
  const labels: Record<string, string> = {};
  if (yaml.isSeq(e.value)) {
    for (const item of yaml.stringList(e.value, e.path) ?? []) {
      const at = item.indexOf('=');
      labels[at < 0 ? item : item.slice(0, at)] = at < 0 ? '' : item.slice(at + 1);
    }
  } else {
    for (const l of yaml.map(e.value, e.path) ?? []) {
      const v = yaml.scalar(l.value);
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') labels[l.key] = String(v);
      else if (v === null || v === undefined) labels[l.key] = '';
      else yaml.errorAt(l.value, `${l.path} must be a string`);
    }
  }
  return Object.keys(labels).length > 0 ? labels : undefined;
}

function readPlacement(ctx: ReadContext, e: Entry, service: DesiredService): void {
  const { yaml } = ctx;
  const placement: NonNullable<SwarmDeploy['placement']> = {};
  for (const f of yaml.map(e.value, e.path) ?? []) {
    switch (f.key) {
      case 'constraints': {
        const list = yaml.stringList(f.value, f.path);
        if (list?.length) placement.Constraints = list;
        break;
      }
      case 'preferences': {
        const prefs: { Spread: { SpreadDescriptor: string } }[] = [];
        for (const item of yaml.seq(f.value, f.path) ?? []) {
          for (const p of yaml.map(item.node, item.path) ?? []) {
            const v = p.key === 'spread' ? yaml.string(p.value, p.path) : undefined;
            if (v !== undefined) prefs.push({ Spread: { SpreadDescriptor: v } });
            else if (p.key !== 'spread')
              yaml.errorAt(p.keyNode, `${p.path}: a placement preference is spread`);
          }
        }
        if (prefs.length) placement.Preferences = prefs;
        break;
      }
      case 'max_replicas_per_node': {
        const n = yaml.int(f.value, f.path, 0, 1_000_000);
        if (n !== undefined) placement.MaxReplicas = n;
        break;
      }
      default:
        yaml.errorAt(
          f.keyNode,
          `${f.path}: placement has constraints, preferences and max_replicas_per_node`,
        );
    }
  }
  if (Object.keys(placement).length > 0) swarm(service).placement = placement;
}

const FAILURE_ACTIONS = ['continue', 'pause', 'rollback'] as const;
const ORDERS = ['stop-first', 'start-first'] as const;
const ENDPOINT_MODES = ['vip', 'dnsrr'] as const;

/** One of a few words (`order: start-first`); anything else is an error naming them. */
function choice<T extends string>(ctx: ReadContext, e: Entry, options: readonly T[]): T | undefined {
  const v = ctx.yaml.scalar(e.value);
  const ok = options.find((o) => o === v);
  if (ok === undefined)
    ctx.yaml.errorAt(
      e.value ?? e.keyNode,
      `${e.path} must be ${options.length === 2 ? options.join(' or ') : options.join(', ')}`,
    );
  return ok;
}

function readUpdateConfig(ctx: ReadContext, e: Entry): SwarmUpdateConfig | undefined {
  const { yaml } = ctx;
  const config: SwarmUpdateConfig = {};
  for (const f of yaml.map(e.value, e.path) ?? []) {
    switch (f.key) {
      case 'parallelism': {
        const n = yaml.int(f.value, f.path, 0, 1_000_000);
        if (n !== undefined) config.Parallelism = n;
        break;
      }
      case 'delay':
      case 'monitor': {
        const ns = duration(ctx, f);
        if (ns !== undefined) config[f.key === 'delay' ? 'Delay' : 'Monitor'] = ns;
        break;
      }
      case 'failure_action': {
        const v = choice(ctx, f, FAILURE_ACTIONS);
        if (v) config.FailureAction = v;
        break;
      }
      case 'max_failure_ratio': {
        const v = Number(yaml.scalar(f.value));
        if (Number.isFinite(v) && v >= 0 && v <= 1) config.MaxFailureRatio = v;
        else yaml.errorAt(f.value ?? f.keyNode, `${f.path} must be a number from 0 to 1`);
        break;
      }
      case 'order': {
        const v = choice(ctx, f, ORDERS);
        if (v) config.Order = v;
        break;
      }
      default:
        yaml.errorAt(
          f.keyNode,
          `${f.path}: ${e.key} has parallelism, delay, failure_action, monitor, max_failure_ratio and order`,
        );
    }
  }
  return Object.keys(config).length > 0 ? config : undefined;
}

/** Sets a HostConfig field, refusing a second, different value for it (mem_limit vs the deploy limit). */
function setHost(ctx: ReadContext, e: Entry, service: DesiredService, field: string, value: JsonValue): void {
  const host = ((service.passthrough ??= {}).hostConfig ??= {});
  const before = host[field];
  if (before !== undefined && JSON.stringify(before) !== JSON.stringify(value)) {
    ctx.yaml.errorAt(
      e.value ?? e.keyNode,
      `${e.path} differs from the service's own setting of the same limit; keep one of them`,
    );
    return;
  }
  host[field] = value;
}

function readResources(ctx: ReadContext, e: Entry, service: DesiredService, swarmOnly: string[]): void {
  const { yaml } = ctx;
  for (const part of yaml.map(e.value, e.path) ?? []) {
    if (part.key !== 'limits' && part.key !== 'reservations') {
      yaml.errorAt(part.keyNode, `${part.path}: resources hold limits and reservations`);
      continue;
    }
    for (const r of yaml.map(part.value, part.path) ?? []) {
      const limits = part.key === 'limits';
      switch (r.key) {
        case 'cpus': {
          const v = nanoCpus(ctx, r);
          // The engine has no CPU reservation for a container: only Swarm schedules by it.
          if (v !== undefined && limits) setHost(ctx, r, service, 'NanoCpus', v);
          else if (v !== undefined) {
            swarmOnly.push(r.path);
            swarm(service).cpuReservation = v;
          }
          break;
        }
        case 'memory': {
          const v = bytes(ctx, r);
          if (v !== undefined) setHost(ctx, r, service, limits ? 'Memory' : 'MemoryReservation', v);
          break;
        }
        case 'pids': {
          const v = yaml.int(r.value, r.path, -1, 2 ** 31);
          if (v !== undefined && limits) setHost(ctx, r, service, 'PidsLimit', v);
          else if (v !== undefined) yaml.errorAt(r.keyNode, `${r.path}: pids is a limit, not a reservation`);
          break;
        }
        case 'devices':
          if (limits) yaml.errorAt(r.keyNode, `${r.path}: devices are reserved, not limited`);
          else readDeviceRequests(ctx, r, service);
          break;
        case 'generic_resources':
          swarmOnly.push(r.path);
          break;
        default:
          yaml.errorAt(
            r.keyNode,
            `${r.path}: ${part.key} hold cpus, memory, pids, devices and generic_resources`,
          );
      }
    }
  }
}

/** `reservations.devices`: GPUs and the like, handed to the container by the engine's device drivers. */
function readDeviceRequests(ctx: ReadContext, e: Entry, service: DesiredService): void {
  const { yaml } = ctx;
  const requests: JsonValue[] = [];
  for (const item of yaml.seq(e.value, e.path) ?? []) {
    const request: Record<string, JsonValue> = { Driver: '', Count: 0, DeviceIDs: [], Capabilities: [] };
    for (const f of yaml.map(item.node, item.path) ?? []) {
      if (f.key === 'driver') request.Driver = yaml.string(f.value, f.path) ?? '';
      else if (f.key === 'count') {
        const v = yaml.scalar(f.value);
        request.Count = v === 'all' ? -1 : (yaml.int(f.value, f.path, 0, 1024) ?? 0);
      } else if (f.key === 'device_ids') request.DeviceIDs = yaml.stringList(f.value, f.path) ?? [];
      else if (f.key === 'capabilities') request.Capabilities = [yaml.stringList(f.value, f.path) ?? []];
      else if (f.key === 'options') {
        const options: Record<string, string> = {};
        for (const o of yaml.map(f.value, f.path) ?? []) options[o.key] = yaml.string(o.value, o.path) ?? '';
        request.Options = options;
      } else
        yaml.errorAt(
          f.keyNode,
          `${f.path}: a device request has driver, count, device_ids, capabilities and options`,
        );
    }
    requests.push(request);
  }
  if (requests.length === 0) return;
  if (!ctx.safety.allowDevices) yaml.errorAt(e.keyNode, `${e.path}: ${safetyMessages.devices}`);
  setHost(ctx, e, service, 'DeviceRequests', requests);
}

// The spec's conditions, and (as compose passes the condition on to the engine as the policy name)
// the engine's own names, which real files use.
const CONDITIONS: Record<string, DesiredService['restart']> = {
  none: 'no',
  'on-failure': 'on-failure',
  any: 'always',
  no: 'no',
  always: 'always',
  'unless-stopped': 'unless-stopped',
};

function readRestartPolicy(ctx: ReadContext, e: Entry, service: DesiredService, swarmOnly: string[]): void {
  const { yaml } = ctx;
  for (const f of yaml.map(e.value, e.path) ?? []) {
    switch (f.key) {
      case 'condition': {
        const v = yaml.scalar(f.value);
        const restart = typeof v === 'string' ? CONDITIONS[v] : undefined;
        if (restart === undefined)
          yaml.errorAt(
            f.value ?? f.keyNode,
            `${f.path} must be none, on-failure or any (or the engine's always, unless-stopped, no)`,
          );
        // As in compose, the deploy policy wins over the service's own `restart:`.
        else service.restart = restart;
        break;
      }
      case 'max_attempts': {
        const n = yaml.int(f.value, f.path, 0, 1_000_000);
        if (n !== undefined && n > 0) service.restartMaxRetries = n;
        break;
      }
      case 'delay':
      case 'window': {
        const ns = duration(ctx, f);
        if (ns !== undefined) swarm(service)[f.key === 'delay' ? 'restartDelay' : 'restartWindow'] = ns;
        swarmOnly.push(f.path);
        break;
      }
      default:
        yaml.errorAt(f.keyNode, `${f.path}: restart_policy has condition, delay, max_attempts and window`);
    }
  }
}
