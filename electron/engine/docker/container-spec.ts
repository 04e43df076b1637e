// A desired service turned into the engine's create options.
import type Docker from 'dockerode';
import type { DesiredService, ServiceNetwork } from '../../shared/model.ts';
import { parseDevice, toDockerHealthcheck } from './fields.ts';
import { COMPOSE_VERSION, LABELS } from './labels.ts';
import { mountSpec } from './mount-spec.ts';

export interface ContainerContext {
  stack: string;
  source: string;
  revision: string;
  specHash: string;
  home: string;
  instance: string;
  /** Container name of each service of the stack: `service:NAME` namespaces join that container. */
  containerNames: ReadonlyMap<string, string>;
  /** Where the stack's files are (compose's project working_dir and config_files labels). */
  workingDir?: string;
  configFiles?: string;
}

/**
 * `service:NAME` is compose's way to share another service's namespace; the engine knows only
 * `container:NAME`. (It stores the target's id, which observe maps back: docker-adapter.ts.)
 */
function namespace(mode: string, ctx: ContainerContext): string {
  const service = /^service:(.+)$/.exec(mode)?.[1];
  return service === undefined ? mode : `container:${ctx.containerNames.get(service) ?? service}`;
}

/**
 * The container of replica `n` (1-based) of a service: `container_name` or `<stack>-<service>-1` for the
 * first, `<stack>-<service>-N` for the others (compose refuses container_name with more than one).
 */
export function replicaName(s: DesiredService, n: number): string {
  return n === 1 ? s.containerName : s.containerName.replace(/-1$/, `-${n}`);
}

export function containerOptions(
  s: DesiredService,
  ctx: ContainerContext,
  replica = 1,
): Docker.ContainerCreateOptions {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of s.ports) {
    const key = `${p.containerPort}/${p.protocol}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: p.hostIp, HostPort: p.hostPort });
  }
  const { mounts, binds } = mountSpec(s, ctx.home);
  const [first] = s.networks;
  const labels: Record<string, string> = {
    ...s.labels,
    [LABELS.project]: ctx.stack,
    [LABELS.service]: s.name,
    [LABELS.containerNumber]: String(replica),
    [LABELS.oneoff]: 'False',
    // Compose's own labels, complete, so `docker compose ps/logs/down` work on what Mooring made.
    [LABELS.version]: COMPOSE_VERSION,
    [LABELS.configHash]: ctx.specHash,
    [LABELS.dependsOn]: s.dependsOn.map((d) => `${d.service}:${d.condition}:false`).join(','),
    ...(ctx.workingDir ? { [LABELS.workingDir]: ctx.workingDir } : {}),
    ...(ctx.configFiles ? { [LABELS.configFiles]: ctx.configFiles } : {}),
    [LABELS.managed]: 'true',
    [LABELS.source]: ctx.source,
    [LABELS.revision]: ctx.revision,
    [LABELS.specHash]: ctx.specHash,
    [LABELS.instance]: ctx.instance,
  };
  const options: Docker.ContainerCreateOptions & { StopTimeout?: number } = {
    name: replicaName(s, replica),
    Image: s.image,
    Env: Object.entries(s.environment).map(([k, v]) => `${k}=${v}`),
    Labels: labels,
    ExposedPorts: exposed,
    StopTimeout: s.stopGracePeriodSec,
    HostConfig: {
      PortBindings: bindings,
      Mounts: mounts,
      ...(binds.length > 0 ? { Binds: binds } : {}),
      RestartPolicy: {
        Name: s.restart === 'no' ? '' : s.restart,
        ...(s.restartMaxRetries ? { MaximumRetryCount: s.restartMaxRetries } : {}),
      },
      Init: s.init,
      ExtraHosts: s.extraHosts,
      Privileged: s.privileged,
      CapAdd: s.capAdd,
      CapDrop: s.capDrop,
      Devices: s.devices.map(parseDevice),
      SecurityOpt: s.securityOpt,
      ...(s.networkMode
        ? { NetworkMode: namespace(s.networkMode, ctx) }
        : first
          ? { NetworkMode: first.name }
          : {}),
      ...(s.pid ? { PidMode: namespace(s.pid, ctx) } : {}),
      ...(s.ipc ? { IpcMode: namespace(s.ipc, ctx) } : {}),
    },
  };
  // Keys that map one-to-one (manifest/passthrough.ts); the fields above are never among them.
  Object.assign(options, s.passthrough?.config);
  Object.assign(options.HostConfig!, s.passthrough?.hostConfig);
  // `expose`: exposed beside the published ports, as compose merges them.
  for (const port of s.expose ?? []) exposed[port] = {};
  if (s.volumesFrom) options.HostConfig!.VolumesFrom = s.volumesFrom.map((v) => volumesFrom(v, ctx));
  // The engine checks the image against it (API 1.41: a query parameter, which dockerode takes from here).
  if (s.platform) (options as { platform?: string }).platform = s.platform;
  if (s.command) options.Cmd = s.command;
  if (s.entrypoint) options.Entrypoint = s.entrypoint;
  if (s.workingDir) options.WorkingDir = s.workingDir;
  if (s.user) options.User = s.user;
  if (s.hostname) options.Hostname = s.hostname;
  if (s.healthcheck) options.Healthcheck = toDockerHealthcheck(s.healthcheck);
  if (!s.networkMode && first) {
    // The engine attaches one network at create time; the others are connected before start.
    options.NetworkingConfig = {
      EndpointsConfig: {
        [first.name]: { ...endpointConfig(first, options.name!), ...endpointLinks(s, ctx) },
      },
    };
    // Before API 1.44 the engine takes a MAC address only from the container's config, for the
    // network it is created on (as compose sends it there); later ones take it from either.
    if (first.macAddress && !options.MacAddress) options.MacAddress = first.macAddress;
  }
  return options;
}

/** `volumes_from: SERVICE[:ro]` names that service's (first) container; `container:NAME[:ro]` the container. */
function volumesFrom(entry: string, ctx: ContainerContext): string {
  const external = /^container:(.+)$/.exec(entry)?.[1];
  if (external !== undefined) return external;
  const [service = '', mode] = entry.split(':');
  return `${ctx.containerNames.get(service) ?? service}${mode ? `:${mode}` : ''}`;
}

/**
 * `links` and `external_links` as the engine takes them on a user-defined network: Links of each endpoint
 * (`CONTAINER:ALIAS`), as compose sends them. A linked service is named by its first container.
 */
export function endpointLinks(s: DesiredService, ctx: ContainerContext): { Links?: string[] } {
  const links = [
    ...(s.links ?? []).map((l) => {
      const [service = '', alias = service] = l.split(':');
      return `${ctx.containerNames.get(service) ?? service}:${alias}`;
    }),
    ...(s.externalLinks ?? []),
  ];
  return links.length > 0 ? { Links: links } : {};
}

/** Networks beyond the first, connected after create (the create API takes only one). */
export function extraNetworks(s: DesiredService): ServiceNetwork[] {
  return s.networkMode ? [] : s.networks.slice(1);
}

/** The engine's endpoint settings (API 1.41, and GwPriority from 1.48). */
export interface EndpointConfig {
  Aliases: string[];
  Links?: string[];
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] };
  MacAddress?: string;
  DriverOpts?: Record<string, string>;
  GwPriority?: number;
}

/**
 * What a container asks of one network, at create or connect. Its aliases are compose's: the container's
 * name, the service's, then the file's own (the engine adds the short id).
 */
export function endpointConfig(n: ServiceNetwork, containerName: string): EndpointConfig {
  const ep: EndpointConfig = { Aliases: [...new Set([containerName, ...n.aliases])] };
  if (n.ipv4Address || n.ipv6Address || n.linkLocalIps) {
    ep.IPAMConfig = {
      ...(n.ipv4Address ? { IPv4Address: n.ipv4Address } : {}),
      ...(n.ipv6Address ? { IPv6Address: n.ipv6Address } : {}),
      ...(n.linkLocalIps ? { LinkLocalIPs: n.linkLocalIps } : {}),
    };
  }
  if (n.macAddress) ep.MacAddress = n.macAddress;
  if (n.driverOpts) ep.DriverOpts = n.driverOpts;
  if (n.gwPriority !== undefined) ep.GwPriority = n.gwPriority;
  return ep;
}
