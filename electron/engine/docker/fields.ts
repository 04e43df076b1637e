// Desired and live containers projected onto one flat shape, `path → value`, so that drift is a
// plain comparison. Both projections live in this one file on purpose: every field must be
// normalized the same way on both sides, or a freshly synced stack shows false drift.
import type Docker from 'dockerode';
import type { DesiredService, DriftReason, Healthcheck, JsonValue } from '../../shared/model.ts';
import {
  PASSTHROUGH,
  passthroughFields,
  passthroughOfPath,
  passthroughSource,
} from '../manifest/passthrough.ts';
import { normalizeTarget } from '../manifest/mounts.ts';
import { desiredMountFields, liveMountFields } from './mount-fields.ts';
import { desiredEndpointFields, liveEndpointFields, skipEndpointField } from './network-fields.ts';

export type Fields = Record<string, string>;

/** What an image contributes to a container when the compose file leaves a field unset. */
export interface ImageDefaults {
  id: string;
  env: Record<string, string>;
  cmd: string[] | null;
  entrypoint: string[] | null;
  workingDir: string;
  user: string;
  labels: Record<string, string>;
  healthcheck: Healthcheck | null;
  /** The image's VOLUME paths, each an anonymous volume where the compose file mounts nothing. */
  volumes?: string[];
  /** The image's EXPOSE ports (`80/tcp`): a container has them whatever the compose file says. */
  exposed?: string[];
  /** os/arch[/variant] the image is for (compared with `platform:`). */
  platform?: string;
  /** When it was last tagged, by a pull or a build (pull_policy daily, weekly, every_…). */
  lastTagTime?: string;
}

/** Labels that belong to compose and Mooring bookkeeping, not to the user's desired labels. */
export function isBookkeepingLabel(key: string): boolean {
  return key.startsWith('com.docker.compose.') || key.startsWith('dev.mooring.');
}

export function imageDefaults(info: Docker.ImageInspectInfo): ImageDefaults {
  const config = info.Config as Docker.ImageInspectInfo['Config'] & { Healthcheck?: DockerHealthcheck };
  return {
    id: info.Id,
    env: parseEnv(config.Env ?? []),
    cmd: config.Cmd && config.Cmd.length > 0 ? config.Cmd : null,
    entrypoint: config.Entrypoint && config.Entrypoint.length > 0 ? (config.Entrypoint as string[]) : null,
    workingDir: config.WorkingDir ?? '',
    user: config.User ?? '',
    labels: config.Labels ?? {},
    healthcheck: fromDockerHealthcheck(config.Healthcheck),
    volumes: Object.keys((config as { Volumes?: Record<string, unknown> | null }).Volumes ?? {}),
    exposed: Object.keys(config.ExposedPorts ?? {}),
    platform: [info.Os, info.Architecture, (info as { Variant?: string }).Variant]
      .filter((x): x is string => typeof x === 'string' && x !== '')
      .join('/'),
    ...lastTagged(info as { Metadata?: { LastTagTime?: string } }),
  };
}

function lastTagged(info: { Metadata?: { LastTagTime?: string } }): { lastTagTime?: string } {
  const t = info.Metadata?.LastTagTime;
  return t ? { lastTagTime: t } : {};
}

interface DockerHealthcheck {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  Retries?: number;
  StartPeriod?: number;
}

function fromDockerHealthcheck(h: DockerHealthcheck | undefined | null): Healthcheck | null {
  if (!h?.Test || h.Test.length === 0) return null;
  return {
    test: h.Test,
    intervalNs: h.Interval ?? 0,
    timeoutNs: h.Timeout ?? 0,
    retries: h.Retries ?? 0,
    startPeriodNs: h.StartPeriod ?? 0,
  };
}

export function toDockerHealthcheck(h: Healthcheck): DockerHealthcheck {
  return {
    Test: h.test,
    Interval: h.intervalNs,
    Timeout: h.timeoutNs,
    Retries: h.retries,
    StartPeriod: h.startPeriodNs,
  };
}

function parseEnv(list: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of list) {
    const eq = entry.indexOf('=');
    if (eq < 0) env[entry] = '';
    else env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

const json = (value: unknown): string => JSON.stringify(value);

function healthcheckValue(h: Healthcheck | null): string {
  if (!h) return 'none';
  if (h.test[0] === 'NONE') return 'disabled';
  return json(h);
}

/** `/dev/x`, `/dev/x:/dev/y`, `/dev/x:/dev/y:rw` → the engine's device mapping. */
export function parseDevice(spec: string): {
  PathOnHost: string;
  PathInContainer: string;
  CgroupPermissions: string;
} {
  const [host = '', container, perms] = spec.split(':');
  return { PathOnHost: host, PathInContainer: container ?? host, CgroupPermissions: perms ?? 'rwm' };
}

function deviceValue(d: {
  PathOnHost?: string;
  PathInContainer?: string;
  CgroupPermissions?: string;
}): string {
  const perms = d.CgroupPermissions && d.CgroupPermissions !== 'rwm' ? `:${d.CgroupPermissions}` : '';
  return `${d.PathOnHost ?? ''}:${d.PathInContainer ?? ''}${perms}`;
}

export function portKey(p: {
  hostIp: string;
  hostPort: string;
  containerPort: number;
  protocol: string;
}): string {
  const host = [p.hostIp, p.hostPort].filter((x) => x !== '').join(':');
  return `${host ? `${host}:` : ''}${p.containerPort}/${p.protocol}`;
}

export { repoMountPath } from './mount-spec.ts';

/** The desired container, with the image's defaults filled in where the compose file is silent. */
export function projectDesired(s: DesiredService, image: ImageDefaults | undefined): Fields {
  const f: Fields = {};
  f.image = s.image;
  if (image) f['image.id'] = image.id;
  f.command = json(s.command ?? image?.cmd ?? null);
  f.entrypoint = json(s.entrypoint ?? image?.entrypoint ?? null);
  for (const [k, v] of Object.entries({ ...image?.env, ...s.environment })) f[`environment.${k}`] = v;
  f.ports = s.ports.map(portKey).sort().join(', ');
  desiredMountFields(s, image?.volumes ?? [], f);
  // `network_mode: bridge` is the engine's default network, which the engine reports as a network.
  if (!s.networkMode || s.networkMode === 'bridge')
    f.networks = s.networkMode
      ? 'bridge'
      : s.networks
          .map((n) => n.name)
          .sort()
          .join(', ');
  desiredEndpointFields(s, f);
  for (const [k, v] of Object.entries(s.labels)) f[`labels.${k}`] = v;
  f.restart = s.restartMaxRetries ? `${s.restart}:${s.restartMaxRetries}` : s.restart;
  f.healthcheck = healthcheckValue(s.healthcheck ?? image?.healthcheck ?? null);
  f.init = String(s.init);
  f.working_dir = s.workingDir ?? image?.workingDir ?? '';
  f.user = s.user ?? image?.user ?? '';
  if (s.hostname) f.hostname = s.hostname;
  f.stop_grace_period = `${s.stopGracePeriodSec}s`;
  f.extra_hosts = [...s.extraHosts].sort().join(', ');
  f.privileged = String(s.privileged);
  f.network_mode = s.networkMode === null || s.networkMode === 'bridge' ? 'default' : s.networkMode;
  f.pid = s.pid ?? '';
  // `private` is the engine's default (since 20.10), and what a container without ipc: reports.
  f.ipc = s.ipc === null || s.ipc === 'private' ? '' : s.ipc;
  f.cap_add = [...s.capAdd].sort().join(', ');
  f.cap_drop = [...s.capDrop].sort().join(', ');
  f.devices = s.devices
    .map((d) => deviceValue(parseDevice(d)))
    .sort()
    .join(', ');
  f.security_opt = [...s.securityOpt].sort().join(', ');
  for (const p of PASSTHROUGH) {
    Object.assign(f, passthroughFields(p, passthroughSource(p, s.passthrough?.[p.target])));
  }
  const expose = exposeValue(
    s.expose ?? [],
    s.ports.map((p) => `${p.containerPort}/${p.protocol}`),
    image?.exposed,
  );
  if (expose !== '') f.expose = expose;
  if (s.links) f.links = [...s.links].sort().join(', ');
  if (s.externalLinks) f.external_links = [...s.externalLinks].sort().join(', ');
  if (s.volumesFrom) f.volumes_from = [...s.volumesFrom].sort().join(', ');
  return f;
}

/**
 * The ports a container exposes beyond its published ones and its image's EXPOSE: what `expose:`
 * says. The engine merges all three into one list.
 */
function exposeValue(exposed: string[], published: string[], image: string[] | undefined): string {
  const others = new Set([...published, ...(image ?? [])]);
  return [...new Set(exposed)]
    .filter((p) => !others.has(p))
    .sort((a, b) => parseInt(a, 10) - parseInt(b, 10) || (a < b ? -1 : a > b ? 1 : 0))
    .join(', ');
}

/** Another container of the engine, by name and by id: what links and volumes_from name. */
export interface Peer {
  project: string | null;
  service: string | null;
}

/**
 * A container a link or volumes_from names, in compose's terms: `SERVICE` when it is a container of the
 * same stack (Mooring names it, compose by its id), else null (a container outside the stack).
 */
function peerService(
  nameOrId: string,
  project: string | undefined,
  peers: ReadonlyMap<string, Peer> | undefined,
): string | null {
  const p = peers?.get(nameOrId.replace(/^\//, ''));
  return p !== undefined && p.service !== null && project !== undefined && p.project === project
    ? p.service
    : null;
}

/** Keys compared only when git sets them: the engine fills them in from other fields or its own config. */
const WHEN_SET = new Set(['hostname', ...PASSTHROUGH.filter((p) => p.whenSet).map((p) => p.key)]);

/** The live container, normalized so that what the engine fills in by itself reads like the desired side. */
export function projectLive(
  c: Docker.ContainerInspectInfo,
  image: ImageDefaults | undefined,
  home: string,
  peers?: ReadonlyMap<string, Peer>,
): Fields {
  const f: Fields = {};
  const config = c.Config as Docker.ContainerInspectInfo['Config'] & {
    Healthcheck?: DockerHealthcheck;
    StopTimeout?: number;
  };
  // The typings leave these as `any`; name the shapes we read.
  const host = c.HostConfig as {
    Init?: boolean | null;
    NetworkMode?: string;
    PortBindings?: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null;
    RestartPolicy?: { Name?: string; MaximumRetryCount?: number };
    ExtraHosts?: string[] | null;
    Privileged?: boolean;
    PidMode?: string;
    IpcMode?: string;
    CapAdd?: string[] | null;
    CapDrop?: string[] | null;
    Devices?: { PathOnHost?: string; PathInContainer?: string; CgroupPermissions?: string }[] | null;
    SecurityOpt?: string[] | null;
  };
  f.image = config.Image;
  f['image.id'] = c.Image;
  f.command = json(config.Cmd && config.Cmd.length > 0 ? config.Cmd : null);
  const entrypoint = config.Entrypoint as string[] | string | null | undefined;
  f.entrypoint = json(
    Array.isArray(entrypoint) && entrypoint.length > 0
      ? entrypoint
      : typeof entrypoint === 'string'
        ? [entrypoint]
        : null,
  );
  for (const [k, v] of Object.entries(parseEnv(config.Env ?? []))) f[`environment.${k}`] = v;
  const ports: string[] = [];
  for (const [key, bindings] of Object.entries(host.PortBindings ?? {})) {
    const [port, protocol] = key.split('/');
    for (const b of bindings ?? []) {
      ports.push(
        portKey({
          hostIp: b.HostIp ?? '',
          hostPort: b.HostPort ?? '',
          containerPort: Number(port),
          protocol: protocol ?? 'tcp',
        }),
      );
    }
  }
  f.ports = ports.sort().join(', ');
  liveMountFields(c, home, f);
  const mode = host.NetworkMode ?? 'default';
  const isBridgeLike =
    !['host', 'none'].includes(mode) && !mode.startsWith('container:') && !mode.startsWith('service:');
  if (isBridgeLike) f.networks = Object.keys(c.NetworkSettings.Networks).sort().join(', ');
  if (isBridgeLike) liveEndpointFields(c, f);
  for (const [k, v] of Object.entries(config.Labels ?? {})) {
    if (isBookkeepingLabel(k) || image?.labels[k] === v) continue;
    f[`labels.${k}`] = v;
  }
  const retries = host.RestartPolicy?.MaximumRetryCount ?? 0;
  f.restart = `${host.RestartPolicy?.Name || 'no'}${retries > 0 ? `:${retries}` : ''}`;
  f.healthcheck = healthcheckValue(fromDockerHealthcheck(config.Healthcheck));
  f.init = String(host.Init ?? false);
  f.working_dir = config.WorkingDir ?? '';
  f.user = config.User ?? '';
  f.hostname = config.Hostname;
  f.stop_grace_period = `${config.StopTimeout ?? 10}s`;
  f.extra_hosts = [...(host.ExtraHosts ?? [])].sort().join(', ');
  f.privileged = String(host.Privileged ?? false);
  // A container we create on a named network reports that network as its mode; compose's own default too.
  f.network_mode = isBridgeLike ? 'default' : mode;
  f.pid = host.PidMode ?? '';
  f.ipc = host.IpcMode === 'private' ? '' : (host.IpcMode ?? '');
  f.cap_add = normalizeCaps(host.CapAdd);
  f.cap_drop = normalizeCaps(host.CapDrop);
  f.devices = (host.Devices ?? []).map(deviceValue).sort().join(', ');
  f.security_opt = [...(host.SecurityOpt ?? [])].sort().join(', ');
  liveContainerKeys(c, image, peers, f);
  for (const p of PASSTHROUGH) {
    const section = (p.target === 'config' ? c.Config : c.HostConfig) as Record<
      string,
      JsonValue | undefined
    >;
    Object.assign(f, passthroughFields(p, passthroughSource(p, section)));
  }
  return f;
}

/** expose, links, external_links and volumes_from of a live container, in compose's terms. */
function liveContainerKeys(
  c: Docker.ContainerInspectInfo,
  image: ImageDefaults | undefined,
  peers: ReadonlyMap<string, Peer> | undefined,
  f: Fields,
): void {
  const host = c.HostConfig as {
    PortBindings?: Record<string, unknown> | null;
    VolumesFrom?: string[] | null;
    Mounts?: { Target?: string }[] | null;
    Binds?: string[] | null;
  };
  const project = c.Config.Labels?.['com.docker.compose.project'];
  const expose = exposeValue(
    Object.keys(c.Config.ExposedPorts ?? {}),
    Object.keys(host.PortBindings ?? {}),
    image?.exposed,
  );
  if (expose !== '') f.expose = expose;
  // On a user-defined network the engine keeps links on each endpoint (and none in HostConfig.Links).
  const links = new Set<string>();
  const external = new Set<string>();
  for (const n of Object.values(c.NetworkSettings.Networks ?? {})) {
    for (const link of (n as { Links?: string[] | null }).Links ?? []) {
      const colon = link.indexOf(':');
      const name = colon < 0 ? link : link.slice(0, colon);
      const alias = colon < 0 ? name : link.slice(colon + 1).replace(/^.*\//, '');
      const service = peerService(name, project, peers);
      if (service !== null) links.add(`${service}:${alias}`);
      else external.add(`${name.replace(/^\//, '')}:${alias}`);
    }
  }
  if (links.size > 0) f.links = [...links].sort().join(', ');
  if (external.size > 0) f.external_links = [...external].sort().join(', ');
  const from = (host.VolumesFrom ?? []).map((v) => {
    const [name = '', mode] = v.split(':');
    const service = peerService(name, project, peers);
    const ro = mode === 'ro' ? ':ro' : '';
    return service !== null ? `${service}${ro}` : `container:${name}${ro}`;
  });
  if (from.length > 0) {
    f.volumes_from = from.sort().join(', ');
    // What it mounts from the other container is that container's to show: only this container's own
    // mounts (asked for in its create call) and its image's volumes are compared here.
    const own = new Set([
      ...(host.Mounts ?? []).map((m) => normalizeTarget(m.Target ?? '')),
      ...(host.Binds ?? []).map((b) => normalizeTarget(b.split(':')[1] ?? '')),
      ...(image?.volumes ?? []).map(normalizeTarget),
    ]);
    const inherited = Object.keys(f).filter(
      (key) => key.startsWith('volumes.') && !own.has(key.slice('volumes.'.length)),
    );
    for (const key of inherited) Reflect.deleteProperty(f, key);
  }
}

/** Newer engines report `CAP_NET_ADMIN` where the manifest (normalized) says `NET_ADMIN`. */
function normalizeCaps(caps: string[] | null | undefined): string {
  return [...new Set((caps ?? []).map((c) => c.toUpperCase().replace(/^CAP_/, '')))].sort().join(', ');
}

/**
 * Field paths whose values differ. Some are compared only when the compose file sets them (WHEN_SET, and
 * each part of a passthrough key with `whenSet`), some only when the engine kept a value (`discardable`).
 */
export function diffFields(desired: Fields, live: Fields): DriftReason[] {
  const keys = new Set([...Object.keys(desired), ...Object.keys(live)]);
  const out: DriftReason[] = [];
  for (const key of [...keys].sort()) {
    if (WHEN_SET.has(key) && desired[key] === undefined) continue;
    if (skipEndpointField(key, desired, live)) continue;
    const pass = passthroughOfPath(key);
    if (pass?.whenSet && desired[key] === undefined) continue;
    if (pass?.discardable && live[key] === undefined) continue;
    // The image id is compared only when both sides name the same image: a different name already says it.
    if (key === 'image.id' && (desired.image !== live.image || desired['image.id'] === undefined)) continue;
    const d = desired[key] ?? null;
    const l = live[key] ?? null;
    if (d !== l) out.push({ path: key, desired: d, live: l });
  }
  return out;
}
