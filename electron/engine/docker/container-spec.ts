// A desired service turned into the engine's create options.
import type Docker from 'dockerode';
import type { DesiredService } from '../../shared/model.ts';
import { parseDevice, repoMountPath, toDockerHealthcheck } from './fields.ts';
import { LABELS } from './labels.ts';

export interface ContainerContext {
  stack: string;
  source: string;
  revision: string;
  specHash: string;
  home: string;
  instance: string;
  /** Container name of each service of the stack: `service:NAME` namespaces join that container. */
  containerNames: ReadonlyMap<string, string>;
}

/**
 * `service:NAME` is compose's way to share another service's namespace; the engine knows only
 * `container:NAME`. (It stores the target's id, which observe maps back: docker-adapter.ts.)
 */
function namespace(mode: string, ctx: ContainerContext): string {
  const service = /^service:(.+)$/.exec(mode)?.[1];
  return service === undefined ? mode : `container:${ctx.containerNames.get(service) ?? service}`;
}

export function containerOptions(s: DesiredService, ctx: ContainerContext): Docker.ContainerCreateOptions {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of s.ports) {
    const key = `${p.containerPort}/${p.protocol}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: p.hostIp, HostPort: p.hostPort });
  }
  const mounts: Docker.MountSettings[] = s.mounts.map((m) => {
    switch (m.type) {
      case 'volume':
        return { Type: 'volume', Source: m.source, Target: m.target, ReadOnly: m.readOnly };
      case 'bind':
        return { Type: 'bind', Source: m.source, Target: m.target, ReadOnly: m.readOnly };
      case 'repo':
        return { Type: 'bind', Source: repoMountPath(ctx.home, m), Target: m.target, ReadOnly: m.readOnly };
    }
  });
  const [first] = s.networks;
  const labels: Record<string, string> = {
    ...s.labels,
    [LABELS.project]: ctx.stack,
    [LABELS.service]: s.name,
    [LABELS.containerNumber]: '1',
    [LABELS.oneoff]: 'False',
    [LABELS.managed]: 'true',
    [LABELS.source]: ctx.source,
    [LABELS.revision]: ctx.revision,
    [LABELS.specHash]: ctx.specHash,
    [LABELS.instance]: ctx.instance,
  };
  const options: Docker.ContainerCreateOptions & { StopTimeout?: number } = {
    name: s.containerName,
    Image: s.image,
    Env: Object.entries(s.environment).map(([k, v]) => `${k}=${v}`),
    Labels: labels,
    ExposedPorts: exposed,
    StopTimeout: s.stopGracePeriodSec,
    HostConfig: {
      PortBindings: bindings,
      Mounts: mounts,
      RestartPolicy: { Name: s.restart === 'no' ? '' : s.restart },
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
  if (s.command) options.Cmd = s.command;
  if (s.entrypoint) options.Entrypoint = s.entrypoint;
  if (s.workingDir) options.WorkingDir = s.workingDir;
  if (s.user) options.User = s.user;
  if (s.hostname) options.Hostname = s.hostname;
  if (s.healthcheck) options.Healthcheck = toDockerHealthcheck(s.healthcheck);
  if (!s.networkMode && first) {
    // The engine attaches one network at create time; the others are connected before start.
    options.NetworkingConfig = { EndpointsConfig: { [first.name]: { Aliases: first.aliases } } };
  }
  return options;
}

/** Networks beyond the first, connected after create (the create API takes only one). */
export function extraNetworks(s: DesiredService): { name: string; aliases: string[] }[] {
  return s.networkMode ? [] : s.networks.slice(1);
}
