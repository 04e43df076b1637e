// Desired and live containers projected onto one flat shape, `path → value`, so that drift is a
// plain comparison. Both projections live in this one file on purpose: every field must be
// normalized the same way on both sides, or a freshly synced stack shows false drift.
import type Docker from 'dockerode';
import path from 'node:path';
import type {
  DesiredMount,
  DesiredService,
  DriftReason,
  Healthcheck,
  JsonValue,
} from '../../shared/model.ts';
import { canonicalJson } from '../manifest/spec-hash.ts';
import { isUnset, PASSTHROUGH, type PassthroughKey } from '../manifest/passthrough.ts';

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
  };
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

/** Where a file or folder from the repo is materialized: content-addressed, so it never changes under a container. */
export function repoMountPath(home: string, m: { oid: string; repoPath: string }): string {
  return path.join(home, 'mounts', m.oid, m.repoPath);
}

function mountValue(m: DesiredMount): string {
  const ro = m.readOnly ? ' (ro)' : '';
  switch (m.type) {
    case 'volume':
      return `volume ${m.source}${ro}`;
    case 'bind':
      return `bind ${m.source}${ro}`;
    case 'repo':
      return `repo ${m.repoPath}@${m.oid.slice(0, 7)}${ro}`;
  }
}

/** The desired container, with the image's defaults filled in where the compose file is silent. */
export function projectDesired(s: DesiredService, image: ImageDefaults | undefined): Fields {
  const f: Fields = {};
  f.image = s.image;
  if (image) f['image.id'] = image.id;
  f.command = json(s.command ?? image?.cmd ?? null);
  f.entrypoint = json(s.entrypoint ?? image?.entrypoint ?? null);
  for (const [k, v] of Object.entries({ ...image?.env, ...s.environment })) f[`environment.${k}`] = v;
  f.ports = s.ports.map(portKey).sort().join(', ');
  for (const m of s.mounts) f[`volumes.${m.target}`] = mountValue(m);
  // `network_mode: bridge` is the engine's default network, which the engine reports as a network.
  if (!s.networkMode || s.networkMode === 'bridge')
    f.networks = s.networkMode
      ? 'bridge'
      : s.networks
          .map((n) => n.name)
          .sort()
          .join(', ');
  for (const [k, v] of Object.entries(s.labels)) f[`labels.${k}`] = v;
  f.restart = s.restart;
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
    const v = s.passthrough?.[p.target]?.[p.field];
    if (v !== undefined && !isUnset(p, v)) f[p.key] = passthroughValue(p, v);
  }
  return f;
}

/** A one-to-one field as drift shows it: the value itself, JSON for lists and maps. */
function passthroughValue(p: PassthroughKey, v: JsonValue): string {
  if (p.show) return p.show(v);
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && p.unordered) return canonicalJson([...(v as unknown[])].map(String).sort());
  return canonicalJson(v);
}

/** Keys compared only when git sets them: the engine fills them in from other fields or its own config. */
const WHEN_SET = new Set(['hostname', ...PASSTHROUGH.filter((p) => p.whenSet).map((p) => p.key)]);

/** The live container, normalized so that what the engine fills in by itself reads like the desired side. */
export function projectLive(
  c: Docker.ContainerInspectInfo,
  image: ImageDefaults | undefined,
  home: string,
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
    RestartPolicy?: { Name?: string };
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
  const mountsRoot = path.join(home, 'mounts') + path.sep;
  for (const m of c.Mounts) {
    const ro = m.RW ? '' : ' (ro)';
    if (m.Type === 'volume') {
      // Anonymous volumes declared by the image (VOLUME) are the engine's doing, not drift.
      if (m.Name && /^[0-9a-f]{64}$/.test(m.Name)) continue;
      f[`volumes.${m.Destination}`] = `volume ${m.Name ?? ''}${ro}`;
    } else if (m.Source.startsWith(mountsRoot)) {
      const rest = m.Source.slice(mountsRoot.length).split(path.sep);
      const oid = rest.shift() ?? '';
      f[`volumes.${m.Destination}`] = `repo ${rest.join('/')}@${oid.slice(0, 7)}${ro}`;
    } else {
      f[`volumes.${m.Destination}`] = `${m.Type} ${m.Source}${ro}`;
    }
  }
  const mode = host.NetworkMode ?? 'default';
  const isBridgeLike =
    !['host', 'none'].includes(mode) && !mode.startsWith('container:') && !mode.startsWith('service:');
  if (isBridgeLike) f.networks = Object.keys(c.NetworkSettings.Networks).sort().join(', ');
  for (const [k, v] of Object.entries(config.Labels ?? {})) {
    if (isBookkeepingLabel(k) || image?.labels[k] === v) continue;
    f[`labels.${k}`] = v;
  }
  f.restart = host.RestartPolicy?.Name || 'no';
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
  for (const p of PASSTHROUGH) {
    const v = (p.target === 'config' ? c.Config : c.HostConfig) as Record<string, JsonValue | undefined>;
    const value = v[p.field];
    if (value !== undefined && !isUnset(p, value)) f[p.key] = passthroughValue(p, value);
  }
  return f;
}

/** Newer engines report `CAP_NET_ADMIN` where the manifest (normalized) says `NET_ADMIN`. */
function normalizeCaps(caps: string[] | null | undefined): string {
  return [...new Set((caps ?? []).map((c) => c.toUpperCase().replace(/^CAP_/, '')))].sort().join(', ');
}

/** Field paths whose values differ. Some are compared only when the compose file sets them (WHEN_SET). */
export function diffFields(desired: Fields, live: Fields): DriftReason[] {
  const keys = new Set([...Object.keys(desired), ...Object.keys(live)]);
  const out: DriftReason[] = [];
  for (const key of [...keys].sort()) {
    if (WHEN_SET.has(key) && desired[key] === undefined) continue;
    // The image id is compared only when both sides name the same image: a different name already says it.
    if (key === 'image.id' && (desired.image !== live.image || desired['image.id'] === undefined)) continue;
    const d = desired[key] ?? null;
    const l = live[key] ?? null;
    if (d !== l) out.push({ path: key, desired: d, live: l });
  }
  return out;
}
