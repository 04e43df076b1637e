// The one place that talks to the Docker engine (dockerode). Everything above it works on
// ObservedContainer and plain option objects.
import Docker from 'dockerode';
import { EngineTooOldError, UnreachableError, errorMessage } from '../errors.ts';
import type {
  DesiredNetwork,
  DesiredVolume,
  IpamPool,
  LogLine,
  RanImage,
  SwarmRole,
} from '../../shared/model.ts';
import type { EndpointConfig } from './container-spec.ts';
import { connectionOptions, type EngineConfig } from './endpoint.ts';
import { imageDefaults, projectLive, type Fields, type ImageDefaults, type Peer } from './fields.ts';
import { COMPOSE_VERSION, LABELS } from './labels.ts';
import { LogLineReader } from './log-lines.ts';
import {
  STACK_NAMESPACE,
  type LiveService,
  type SwarmFileKind,
  type SwarmNetworkSpec,
  type SwarmServiceSpec,
} from '../swarm/spec.ts';

interface RawService {
  ID: string;
  Version?: { Index?: number };
  Spec: SwarmServiceSpec;
  UpdateStatus?: { State?: string; Message?: string; StartedAt?: string };
}

interface RawTask {
  ID: string;
  ServiceID: string;
  DesiredState?: string;
  UpdatedAt?: string;
  Spec?: { ContainerSpec?: unknown };
  Status?: {
    State?: string;
    Err?: string;
    Timestamp?: string;
  };
}

/** A task of a Swarm service: where one replica runs, or ran. */
export interface LiveTask {
  id: string;
  serviceId: string;
  /** Status.State: new, pending, running, complete, failed, shutdown, rejected, … */
  state: string;
  /** What Swarm wants of it: running, shutdown. */
  desired: string;
  error: string | null;
  at: string;
  /** The container spec it runs: the service's at the time the task was made. */
  containerSpec: unknown;
}

function liveService(raw: RawService): LiveService {
  return {
    id: raw.ID,
    version: raw.Version?.Index ?? 0,
    spec: raw.Spec,
    update: raw.UpdateStatus?.State
      ? {
          state: raw.UpdateStatus.State,
          message: raw.UpdateStatus.Message ?? '',
          startedAt: raw.UpdateStatus.StartedAt ?? '',
        }
      : null,
  };
}

export interface ObservedContainer {
  id: string;
  name: string;
  project: string | null;
  service: string | null;
  /** Which replica of its service (com.docker.compose.container-number), 1 when unlabelled. */
  number: number;
  /** The container carries dev.mooring.managed=true: it says Mooring made it (anyone can write that). */
  managed: boolean;
  /**
   * This home made it: its instance label and the ownership record agree (history/ownership.ts). Only
   * such a container is ever stopped, removed or taken for an orphan.
   */
  ours: boolean;
  /** When the engine created it (ISO). */
  created: string;
  source: string | null;
  revision: string | null;
  specHash: string | null;
  instance: string | null;
  /** created, running, paused, restarting, removing, exited, dead */
  state: string;
  exitCode: number;
  /** healthcheck status: starting, healthy, unhealthy; null without a healthcheck */
  health: string | null;
  startedAt: string | null;
  ports: string[];
  mountSources: string[];
  fields: Fields;
}

/** Runs promises with a concurrency limit, keeping order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Container actions that can change a stack's status (`docker events` names). */
const CONTAINER_EVENTS = [
  'create',
  'start',
  'restart',
  'stop',
  'die',
  'kill',
  'oom',
  'pause',
  'unpause',
  'destroy',
  'rename',
  'update',
  'health_status',
];

function isNotFound(err: unknown): boolean {
  return (err as { statusCode?: number }).statusCode === 404;
}

/** Connection-level failures (socket missing, refused, reset) as opposed to API errors. */
export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return ['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EACCES', 'EHOSTUNREACH'].includes(
    code ?? '',
  );
}

/** Where the endpoint came from: the error that says it is unreachable says what to change. */
export type EndpointOrigin = 'settings' | 'DOCKER_HOST' | 'default' | 'given';

/** The oldest Docker Engine API Mooring drives: Docker 20.10's, the oldest its tests run against. */
export const MIN_API_VERSION = '1.41';

/** Whether API version `v` ("1.40") is older than `min` ("1.41"); one it cannot read is not refused. */
export function apiOlderThan(v: string, min: string): boolean {
  const [a = NaN, b = NaN] = v.split('.').map(Number);
  const [c = 0, d = 0] = min.split('.').map(Number);
  if (Number.isNaN(a) || Number.isNaN(b)) return false;
  return a < c || (a === c && b < d);
}

const WHAT_TO_CHANGE: Record<EndpointOrigin, string> = {
  settings:
    'Start Docker, or change the endpoint (Settings in the app, or dockerHost in settings.json in the home folder).',
  DOCKER_HOST: 'Start Docker, or set DOCKER_HOST to the right endpoint.',
  default:
    "Start Docker, or name the endpoint (Settings in the app, dockerHost in the home's settings.json, or DOCKER_HOST).",
  given: 'Start Docker, or give the right endpoint.',
};

const FROM: Record<EndpointOrigin, string> = {
  settings: 'from settings.json',
  DOCKER_HOST: 'from DOCKER_HOST',
  default: 'the default socket',
  given: 'as given',
};

export function describeEndpoint(endpoint: string | undefined): string {
  return endpoint ?? process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
}

export interface NamedContainer {
  id: string;
  labels: Record<string, string>;
  ours: boolean;
}

/** A published host port as the engine's list shows it. */
export interface PortHolder {
  container: string;
  id: string;
  hostIp: string;
  hostPort: number;
  protocol: string;
}

/** Tells what this home made (Engine: instance label + ownership record). */
export type IsOurs = (c: {
  id: string;
  name: string;
  labels: Record<string, string>;
  created: string;
}) => boolean;

/** An open follow stream of one container's output (DockerAdapter.followLogs). */
export interface LogFollow {
  close(): void;
  /** Resolves once the engine's connection is released. */
  closed: Promise<void>;
}

/**
 * The engine's events for one stack's containers, kept open across a wait: `changed` resolves at the
 * next event (or one that came since the last call), or when `ms` have passed. Waits for a container's
 * health or a dependency look again only when the engine says something changed, instead of asking it
 * every 250 ms. Where the engine's stream cannot be had, it degrades to a look every half second.
 */
export interface StackWatch {
  changed(ms: number): Promise<void>;
  close(): void;
}

/** Without an event stream, how often a wait looks again. */
const WATCH_FALLBACK_MS = 500;

export class DockerAdapter {
  private readonly docker: Docker;
  readonly endpoint: string;

  private readonly closeConnection: () => void;

  /**
   * `endpoint` like DOCKER_HOST: unix:///path, tcp://host:port, ssh://user@host, or a named engine's
   * settings (TLS files, SSH key); default DOCKER_HOST, else the local socket. `engineName`: the named
   * engine it reaches (issue 15), which its errors name, with how to change it.
   */
  constructor(
    endpoint?: string | EngineConfig,
    private readonly isOurs: IsOurs = () => false,
    private readonly origin: EndpointOrigin = endpoint
      ? 'given'
      : process.env.DOCKER_HOST
        ? 'DOCKER_HOST'
        : 'default',
    private readonly engineName?: string,
  ) {
    this.endpoint = describeEndpoint(typeof endpoint === 'string' ? endpoint : endpoint?.endpoint);
    const { options, close } = connectionOptions(
      typeof endpoint === 'object' ? endpoint : { endpoint: this.endpoint },
    );
    this.docker = new Docker(options);
    this.closeConnection = close;
  }

  /** Ends what the connection holds open (an SSH session); a later call opens it again where it can. */
  close(): void {
    this.closeConnection();
  }

  /** Whether the engine runs on this machine, so that its host paths and ports are this machine's. */
  get isLocal(): boolean {
    return this.endpoint.startsWith('unix://') || this.endpoint.startsWith('/');
  }

  /** Wraps a connection failure into an error that says what to check. */
  unreachable(err: unknown): UnreachableError {
    const name = this.engineName;
    return new UnreachableError(
      name
        ? `Engine ${name} (${this.endpoint}) is unreachable (${errorMessage(err)}). Start Docker there, or check the engine: \`mooring engine list\` says how each answers; to change it, \`mooring engine remove ${name}\` and add it again (Settings → Engines in the app).`
        : `Docker engine at ${this.endpoint} (${FROM[this.origin]}) is unreachable (${errorMessage(err)}). ${WHAT_TO_CHANGE[this.origin]}`,
      { cause: err },
    );
  }

  async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isConnectionError(err)) throw this.unreachable(err);
      throw err;
    }
  }

  /** The engine answers, and speaks an API Mooring drives (MIN_API_VERSION or later). */
  async ping(): Promise<void> {
    await this.call(() => this.docker.ping());
    await this.checkApiVersion();
  }

  /**
   * Refuses an engine older than MIN_API_VERSION as one that cannot be reached, naming its version and
   * what to do: its containers would be made without fields Mooring sets, and read without ones it
   * compares. Asked once per connection (the version is kept), with its first ping or look.
   */
  private async checkApiVersion(): Promise<void> {
    const { apiVersion } = await this.engineVersion();
    if (apiOlderThan(apiVersion, MIN_API_VERSION)) {
      throw new EngineTooOldError(
        `${this.engineName ? `Engine ${this.engineName} (${this.endpoint})` : `Docker engine at ${this.endpoint}`} speaks API ${apiVersion}, older than ${MIN_API_VERSION} (Docker 20.10), the oldest Mooring drives: upgrade Docker there.`,
        apiVersion,
      );
    }
  }

  /** Who the engine is: its daemon's ID (the same for every way of reaching it), version, Swarm role. */
  async identity(): Promise<{ id: string; version: string; swarm: SwarmRole }> {
    const info = (await this.call(() => this.docker.info())) as {
      ID?: string;
      ServerVersion?: string;
      Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean };
    };
    const state = info.Swarm?.LocalNodeState;
    return {
      id: info.ID ?? '',
      version: info.ServerVersion ?? '',
      swarm: state === 'active' ? (info.Swarm?.ControlAvailable ? 'manager' : 'worker') : 'none',
    };
  }

  /** How many nodes the swarm has, as its manager knows them. */
  async swarmNodes(): Promise<number> {
    const info = (await this.call(() => this.docker.info())) as { Swarm?: { Nodes?: number } };
    return info.Swarm?.Nodes ?? 0;
  }

  // Swarm (issue 15): a stack's services, tasks and networks, by docker stack's namespace label.

  private role: { at: number; value: Promise<SwarmRole> } | null = null;

  /**
   * The engine's Swarm role, asked again after 5 s (every look at the engine needs it), or now when
   * `fresh`: what is about to change the engine must not act on a role older than a `swarm init`.
   */
  swarmRole(fresh = false): Promise<SwarmRole> {
    if (fresh || !this.role || Date.now() - this.role.at > 5000) {
      const value = this.identity().then((i) => i.swarm);
      value.catch(() => {
        this.role = null;
      });
      this.role = { at: Date.now(), value };
    }
    return this.role.value;
  }

  async stackServices(stack: string): Promise<LiveService[]> {
    const list = (await this.call(() =>
      this.docker.listServices({ filters: { label: [`${STACK_NAMESPACE}=${stack}`] } }),
    )) as unknown as RawService[];
    return list.map(liveService);
  }

  /** The stacks (namespaces) with a service made by this instance: what a deleted stack leaves behind. */
  async swarmStacksOf(instance: string): Promise<Set<string>> {
    const list = (await this.call(() =>
      this.docker.listServices({ filters: { label: [`${LABELS.instance}=${instance}`] } }),
    )) as unknown as RawService[];
    return new Set(
      list.flatMap((s) =>
        s.Spec.Labels[LABELS.managed] === 'true' && s.Spec.Labels[STACK_NAMESPACE]
          ? [s.Spec.Labels[STACK_NAMESPACE]]
          : [],
      ),
    );
  }

  async inspectService(id: string): Promise<LiveService> {
    const raw = (await this.call(() => this.docker.getService(id).inspect())) as RawService;
    return liveService(raw);
  }

  /** The tasks of these services (ids), newest first. */
  async serviceTasks(ids: string[]): Promise<LiveTask[]> {
    if (ids.length === 0) return [];
    const list = (await this.call(() =>
      this.docker.listTasks({ filters: { service: ids } }),
    )) as unknown as RawTask[];
    return list
      .map((t) => ({
        id: t.ID,
        serviceId: t.ServiceID,
        state: t.Status?.State ?? 'unknown',
        desired: t.DesiredState ?? 'unknown',
        error: t.Status?.Err ?? null,
        at: t.Status?.Timestamp ?? t.UpdatedAt ?? '',
        containerSpec: t.Spec?.ContainerSpec ?? null,
      }))
      .sort((a, b) => b.at.localeCompare(a.at));
  }

  async createService(spec: SwarmServiceSpec): Promise<string> {
    const created = (await this.call(() =>
      this.docker.createService(spec as unknown as Docker.CreateServiceOptions),
    )) as unknown as { id?: string; ID?: string };
    return created.id ?? created.ID ?? '';
  }

  async updateService(id: string, version: number, spec: SwarmServiceSpec): Promise<void> {
    await this.call(() => this.docker.getService(id).update({ version, ...spec }));
  }

  async removeService(id: string): Promise<void> {
    await this.call(() => this.docker.getService(id).remove());
  }

  async stackNetworks(
    stack: string,
  ): Promise<{ id: string; name: string; labels: Record<string, string> }[]> {
    const list = await this.call(() =>
      this.docker.listNetworks({ filters: { label: [`${STACK_NAMESPACE}=${stack}`] } }),
    );
    return list.map((n) => ({ id: n.Id, name: n.Name, labels: n.Labels ?? {} }));
  }

  async createSwarmNetwork(spec: SwarmNetworkSpec): Promise<void> {
    await this.call(() => this.docker.createNetwork({ ...spec, CheckDuplicate: true }));
  }

  async removeNetworkById(id: string): Promise<void> {
    await this.call(() => this.docker.getNetwork(id).remove());
  }

  /** The stack's secrets or configs on the swarm (their content is never asked for). */
  async stackFiles(
    kind: SwarmFileKind,
    stack: string,
  ): Promise<{ id: string; name: string; labels: Record<string, string> }[]> {
    return this.swarmFiles(kind, { label: [`${STACK_NAMESPACE}=${stack}`] });
  }

  /** The secrets or configs of exactly these names (the API's name filter also matches prefixes). */
  async swarmFilesNamed(
    kind: SwarmFileKind,
    names: string[],
  ): Promise<{ id: string; name: string; labels: Record<string, string> }[]> {
    return (await this.swarmFiles(kind, { name: names })).filter((f) => names.includes(f.name));
  }

  private async swarmFiles(
    kind: SwarmFileKind,
    filters: Record<string, string[]>,
  ): Promise<{ id: string; name: string; labels: Record<string, string> }[]> {
    const list = (await this.call<unknown>(() =>
      kind === 'secrets' ? this.docker.listSecrets({ filters }) : this.docker.listConfigs({ filters }),
    )) as { ID: string; Spec?: { Name?: string; Labels?: Record<string, string> } }[];
    return list.map((f) => ({ id: f.ID, name: f.Spec?.Name ?? '', labels: f.Spec?.Labels ?? {} }));
  }

  /** Makes a secret or config of these bytes; its id. */
  async createSwarmFile(
    kind: SwarmFileKind,
    spec: { Name: string; Labels: Record<string, string> },
    data: Uint8Array,
  ): Promise<string> {
    const body = { ...spec, Data: Buffer.from(data).toString('base64') };
    const made = (await this.call(() =>
      kind === 'secrets' ? this.docker.createSecret(body) : this.docker.createConfig(body),
    )) as { id: string };
    return made.id;
  }

  async removeSwarmFile(kind: SwarmFileKind, id: string): Promise<void> {
    await this.call(() =>
      kind === 'secrets' ? this.docker.getSecret(id).remove() : this.docker.getConfig(id).remove(),
    );
  }

  private version: Promise<{ apiVersion: string; os: string; arch: string }> | null = null;

  /** The engine's API version, OS and architecture, asked once (`annotations` need API 1.43). */
  async engineVersion(): Promise<{ apiVersion: string; os: string; arch: string }> {
    this.version ??= this.call(() => this.docker.version()).then((v) => ({
      apiVersion: v.ApiVersion,
      os: v.Os,
      arch: v.Arch,
    }));
    return this.version.catch((err: unknown) => {
      this.version = null;
      throw err;
    });
  }

  async imageDefaults(name: string): Promise<ImageDefaults | undefined> {
    try {
      return imageDefaults(await this.call(() => this.docker.getImage(name).inspect()));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Images by name, looked up once each. */
  async imagesFor(names: Iterable<string>): Promise<Map<string, ImageDefaults | undefined>> {
    const unique = [...new Set(names)];
    const found = await mapLimit(unique, 8, (n) => this.imageDefaults(n));
    return new Map(unique.map((n, i) => [n, found[i]]));
  }

  /** Pulls an image; the error says plainly that it is neither here nor pullable. */
  async pull(name: string, platform?: string): Promise<void> {
    const stream = await this.call(() => this.docker.pull(name, platform ? { platform } : {}));
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(stream, (err: Error | null) => {
        if (err) reject(err);
        else resolve();
      });
    });
  }

  /**
   * Containers that belong to Mooring or carry a compose project label (a container recreated by hand
   * with compose's labels is still the stack's, and shows as drift). Inspected for the live fields.
   * `wanted` picks by labels which of the listed containers to inspect: an engine also runs other
   * tools' compose projects, and inspecting those is most of a status's cost (docs/benchmarks.md).
   */
  async observe(
    home: string,
    project?: string,
    wanted?: (labels: Record<string, string>) => boolean,
  ): Promise<ObservedContainer[]> {
    await this.checkApiVersion();
    const label = project ? [`${LABELS.project}=${project}`] : [LABELS.project];
    const listed = await this.call(() => this.docker.listContainers({ all: true, filters: { label } }));
    // Links and volumes_from name other containers of the stack, by name (Mooring) or id (compose).
    const peers = new Map<string, Peer>();
    for (const c of listed) {
      const peer = { project: c.Labels[LABELS.project] ?? null, service: c.Labels[LABELS.service] ?? null };
      peers.set(c.Id, peer);
      for (const n of c.Names) peers.set(n.replace(/^\//, ''), peer);
    }
    const list = wanted ? listed.filter((c) => wanted(c.Labels)) : listed;
    const inspected = await mapLimit(list, 16, async (c) => {
      try {
        return await this.call(() => this.docker.getContainer(c.Id).inspect());
      } catch (err) {
        if (isNotFound(err)) return undefined; // removed between list and inspect
        throw err;
      }
    });
    const images = await this.imagesFor(inspected.flatMap((c) => (c ? [c.Config.Image] : [])));
    const out: ObservedContainer[] = [];
    for (const c of inspected) {
      if (!c) continue;
      const labels = c.Config.Labels ?? {};
      const ports: string[] = [];
      for (const [key, bindings] of Object.entries(c.NetworkSettings.Ports ?? {})) {
        for (const b of bindings ?? []) ports.push(`${b.HostIp}:${b.HostPort}->${key}`);
      }
      const name = c.Name.replace(/^\//, '');
      out.push({
        id: c.Id,
        name,
        project: labels[LABELS.project] ?? null,
        service: labels[LABELS.service] ?? null,
        number: Number(labels[LABELS.containerNumber] ?? '1') || 1,
        managed: labels[LABELS.managed] === 'true',
        ours: this.isOurs({ id: c.Id, name, labels, created: c.Created }),
        created: c.Created,
        source: labels[LABELS.source] ?? null,
        revision: labels[LABELS.revision] ?? null,
        specHash: labels[LABELS.specHash] ?? null,
        instance: labels[LABELS.instance] ?? null,
        state: c.State.Status,
        exitCode: c.State.ExitCode,
        health: (c.State as { Health?: { Status?: string } }).Health?.Status ?? null,
        startedAt: c.State.Running ? c.State.StartedAt : null,
        ports,
        mountSources: c.Mounts.map((m) => m.Source),
        fields: projectLive(c, images.get(c.Config.Image), home, peers),
      });
    }
    // A namespace shared with another service is stored as `container:<its id>`: said as compose says it.
    const serviceOf = new Map(out.flatMap((c) => (c.service ? [[c.id, c.service] as const] : [])));
    for (const c of out) {
      for (const key of ['network_mode', 'pid', 'ipc']) {
        const id = /^container:([0-9a-f]{64})$/.exec(c.fields[key] ?? '')?.[1];
        const service = id === undefined ? undefined : serviceOf.get(id);
        if (service !== undefined) c.fields[key] = `service:${service}`;
      }
    }
    return out;
  }

  /**
   * Containers by exact name, labelled or not, in one engine call (a cold sync of 100 services made 100
   * calls): to refuse to clobber what is not ours.
   */
  async findByNames(names: string[]): Promise<Map<string, NamedContainer>> {
    const found = new Map<string, NamedContainer>();
    if (names.length === 0) return found;
    const list = await this.call(() =>
      this.docker.listContainers({ all: true, filters: { name: names.map((n) => `^/${escapeRegExp(n)}$`) } }),
    );
    const wanted = new Set(names);
    for (const c of list) {
      for (const n of c.Names) {
        const name = n.replace(/^\//, '');
        if (!wanted.has(name)) continue;
        const created = new Date(c.Created * 1000).toISOString();
        found.set(name, {
          id: c.Id,
          labels: c.Labels,
          ours: this.isOurs({ id: c.Id, name, labels: c.Labels, created }),
        });
      }
    }
    return found;
  }

  /**
   * The host paths mounted by containers with a compose project label, from the engine's list alone
   * (no inspect each): what the cleanup of materialized mounts needs to keep.
   */
  async mountSources(): Promise<string[]> {
    const list = await this.call(() =>
      this.docker.listContainers({ all: true, filters: { label: [LABELS.project] } }),
    );
    return list.flatMap((c) => c.Mounts.map((m) => m.Source));
  }

  /**
   * Creates the network unless one of that name exists; returns the new network's id, or null. Only
   * what the compose file sets is sent: the engine's defaults apply to the rest, as with compose.
   */
  async ensureNetwork(n: DesiredNetwork, labels: Record<string, string>): Promise<string | null> {
    if (await this.network(n.name)) return null;
    // compose's own version label too, so that `docker compose` (1.x and 2) reads it as its own.
    const all = { [LABELS.version]: COMPOSE_VERSION, ...labels };
    const network = await this.call(() => this.docker.createNetwork(networkCreateOptions(n, all)));
    return network.id;
  }

  /** Connects a container to a network with its endpoint settings (aliases, addresses…). */
  async connect(network: string, container: string, endpoint: EndpointConfig): Promise<void> {
    await this.call(() =>
      this.docker.getNetwork(network).connect({ Container: container, EndpointConfig: endpoint }),
    );
  }

  /** Disconnects a container from a network (forced: a stopped container too); gone already is fine. */
  async disconnect(network: string, container: string): Promise<void> {
    try {
      await this.call(() =>
        this.docker.getNetwork(network).disconnect({ Container: container, Force: true }),
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** The containers a network lists (running ones; a stopped container is not listed). */
  async networkContainers(id: string): Promise<string[]> {
    const info = await this.call(() => this.docker.getNetwork(id).inspect());
    return Object.keys(info.Containers ?? {});
  }

  /** Every network of the engine with its settings, in one call: what declared networks are compared with. */
  async listNetworks(): Promise<LiveNetwork[]> {
    const list = await this.call(() => this.docker.listNetworks());
    return list.map((n) => liveNetwork(n as unknown as NetworkInfo));
  }

  /** Every volume of the engine with its driver, options and labels, in one call. */
  async listVolumes(): Promise<LiveVolume[]> {
    const reply = await this.call(() => this.docker.listVolumes());
    return (reply.Volumes ?? []).map((v) => liveVolume(v as unknown as VolumeInfo));
  }

  /**
   * The networks labelled as Mooring's for a stack that no container outside `leaving` is attached
   * to: what could go once those containers are removed (the caller keeps only what this home made).
   */
  async unusedStackNetworks(
    stack: string,
    leaving: ReadonlySet<string>,
  ): Promise<{ id: string; name: string; labels: Record<string, string>; created: string }[]> {
    const list = await this.call(() =>
      this.docker.listNetworks({
        filters: { label: [`${LABELS.project}=${stack}`, `${LABELS.managed}=true`] },
      }),
    );
    const unused: { id: string; name: string; labels: Record<string, string>; created: string }[] = [];
    for (const n of list) {
      const info = await this.call(() => this.docker.getNetwork(n.Id).inspect()).catch((err: unknown) => {
        if (isNotFound(err)) return null;
        throw err;
      });
      if (info && Object.keys(info.Containers ?? {}).every((id) => leaving.has(id))) {
        unused.push({ id: info.Id, name: info.Name, labels: info.Labels ?? {}, created: info.Created });
      }
    }
    return unused.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * A network by its exact name or full id, or null when there is none. The engine also answers to a
   * prefix of an id (`e2` may be the host network): such an answer is no network of that name.
   */
  async network(nameOrId: string): Promise<LiveNetwork | null> {
    try {
      const info = (await this.call(() => this.docker.getNetwork(nameOrId).inspect())) as NetworkInfo;
      if (info.Name !== nameOrId && info.Id !== nameOrId) return null;
      return liveNetwork(info);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** Removes a network by id (a name could have been taken over by another network meanwhile). */
  async removeNetwork(id: string): Promise<void> {
    try {
      await this.call(() => this.docker.getNetwork(id).remove());
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** A volume with its settings, or null when there is no volume of that name. */
  async volume(name: string): Promise<LiveVolume | null> {
    try {
      const info = await this.call(() => this.docker.getVolume(name).inspect());
      return liveVolume(info);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** Creates the volume unless one of that name exists; true when it was created. */
  async ensureVolume(v: DesiredVolume, labels: Record<string, string>): Promise<boolean> {
    if (await this.volume(v.name)) return false;
    await this.call(() =>
      this.docker.createVolume({
        Name: v.name,
        Driver: v.driver,
        Labels: { [LABELS.version]: COMPOSE_VERSION, ...labels },
        ...(v.driverOpts ? { DriverOpts: v.driverOpts } : {}),
      }),
    );
    return true;
  }

  /** Every host port published by a running container, from the engine's list (no inspect each). */
  async portHolders(): Promise<PortHolder[]> {
    const list = await this.call(() => this.docker.listContainers({ all: false }));
    return list.flatMap((c) =>
      c.Ports.flatMap((p) =>
        p.PublicPort
          ? [
              {
                container: (c.Names[0] ?? c.Id).replace(/^\//, ''),
                id: c.Id,
                hostIp: p.IP ?? '',
                hostPort: p.PublicPort,
                protocol: p.Type,
              },
            ]
          : [],
      ),
    );
  }

  async rename(id: string, name: string): Promise<void> {
    await this.call(() => this.docker.getContainer(id).rename({ name }));
  }

  /** A container's state now: what a recreate waits on before it lets the old container go. */
  async state(id: string): Promise<{
    status: string;
    exitCode: number;
    health: string | null;
    /** The healthcheck's last output, trimmed: what a person needs when it fails. */
    healthOutput: string | null;
  }> {
    const info = await this.call(() => this.docker.getContainer(id).inspect());
    const health = (info.State as { Health?: { Status?: string; Log?: { Output?: string }[] } }).Health;
    const last = health?.Log?.[health.Log.length - 1]?.Output?.trim();
    return {
      status: info.State.Status,
      exitCode: info.State.ExitCode,
      health: health?.Status ?? null,
      healthOutput: last ? last.slice(-500) : null,
    };
  }

  async create(options: Docker.ContainerCreateOptions): Promise<string> {
    const c = await this.call(() => this.docker.createContainer(options));
    return c.id;
  }

  async start(id: string): Promise<void> {
    try {
      await this.call(() => this.docker.getContainer(id).start());
    } catch (err) {
      // 304: already running, which is what we want.
      if ((err as { statusCode?: number }).statusCode !== 304) throw err;
    }
  }

  async stop(id: string, timeoutSec: number): Promise<void> {
    try {
      await this.call(() => this.docker.getContainer(id).stop({ t: timeoutSec }));
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      if (status !== 304 && status !== 404) throw err;
    }
  }

  async restart(id: string, timeoutSec: number): Promise<void> {
    await this.call(() => this.docker.getContainer(id).restart({ t: timeoutSec }));
  }

  /**
   * This home's containers of one service of a stack (every replica): what a person restarts or stops.
   * By the ownership record, not the labels, which anyone can copy.
   */
  async serviceContainers(
    project: string,
    service: string,
  ): Promise<{ id: string; name: string; state: string }[]> {
    const list = await this.call(() =>
      this.docker.listContainers({
        all: true,
        filters: { label: [`${LABELS.project}=${project}`, `${LABELS.service}=${service}`] },
      }),
    );
    return list
      .map((c) => ({
        id: c.Id,
        name: c.Names[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12),
        state: c.State,
        labels: c.Labels,
        created: new Date(c.Created * 1000).toISOString(),
      }))
      .filter((c) => this.isOurs(c))
      .map(({ id, name, state }) => ({ id, name, state }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async remove(id: string): Promise<void> {
    try {
      await this.call(() => this.docker.getContainer(id).remove({ force: true, v: false }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /**
   * Runs a command in a running container and waits for it (compose's post_start / pre_stop hooks): its
   * exit code and the end of its output. Stopped waiting after `timeoutMs`, as a failure.
   */
  async exec(
    id: string,
    hook: {
      command: string[];
      user?: string;
      privileged?: boolean;
      workingDir?: string;
      environment?: Record<string, string>;
    },
    timeoutMs: number,
  ): Promise<{ exitCode: number; output: string }> {
    const exec = await this.call(() =>
      this.docker.getContainer(id).exec({
        Cmd: hook.command,
        AttachStdout: true,
        AttachStderr: true,
        ...(hook.user ? { User: hook.user } : {}),
        ...(hook.privileged ? { Privileged: true } : {}),
        ...(hook.workingDir ? { WorkingDir: hook.workingDir } : {}),
        ...(hook.environment ? { Env: Object.entries(hook.environment).map(([k, v]) => `${k}=${v}`) } : {}),
      }),
    );
    const stream = await this.call(() => exec.start({ hijack: true, stdin: false }));
    const chunks: Buffer[] = [];
    let size = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        stream.destroy();
        reject(new Error(`it did not finish within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      stream.on('data', (chunk: Buffer) => {
        // Only the end is kept: a chatty hook must not fill memory.
        chunks.push(chunk);
        size += chunk.length;
        while (size > 64 * 1024 && chunks.length > 1) size -= chunks.shift()!.length;
      });
      stream.on('end', () => {
        clearTimeout(timer);
        resolve();
      });
      stream.on('error', (err: Error) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    const info = await this.call(() => exec.inspect());
    return { exitCode: info.ExitCode ?? -1, output: demux(Buffer.concat(chunks)) };
  }

  /** The last lines of a container's output, stdout and stderr interleaved as the engine stored them. */
  async logs(id: string, tail: number): Promise<string> {
    const container = this.docker.getContainer(id);
    const [info, raw] = await Promise.all([
      this.call(() => container.inspect()),
      this.call(() => container.logs({ stdout: true, stderr: true, tail, timestamps: false, follow: false })),
    ]);
    // Without a TTY the engine frames each chunk with an 8-byte header (stream, size).
    return info.Config.Tty ? raw.toString('utf8') : demux(raw);
  }

  /**
   * A container's output as it comes (the engine's follow stream), after the last `tail` lines, cut into
   * lines with the engine's timestamps. `onLines` gets each chunk's whole lines; `onEnd` is called once,
   * when the stream ends (the container stopped or was removed: null) or fails. `close` ends it and
   * releases the engine's connection; `closed` resolves once that connection is gone.
   */
  async followLogs(
    id: string,
    tail: number,
    on: { lines(lines: LogLine[]): void; end(error: string | null): void },
  ): Promise<LogFollow> {
    const container = this.docker.getContainer(id);
    const info = await this.call(() => container.inspect());
    const stream = await this.call(() =>
      container.logs({ stdout: true, stderr: true, tail, timestamps: true, follow: true }),
    );
    const reader = new LogLineReader(!info.Config.Tty);
    let ended = false;
    const end = (error: string | null): void => {
      if (ended) return;
      ended = true;
      const rest = reader.end();
      if (rest.length) on.lines(rest);
      on.end(error);
    };
    stream.on('data', (chunk: Buffer) => {
      const lines = reader.push(chunk);
      if (lines.length) on.lines(lines);
    });
    stream.on('end', () => {
      end(null);
    });
    stream.on('error', (err: Error) => {
      end(ended ? null : errorMessage(err));
    });
    const readable = stream as NodeJS.ReadableStream & { destroy(): void; destroyed?: boolean };
    const closed = new Promise<void>((resolve) => {
      if (readable.destroyed) resolve();
      else
        stream.once('close', () => {
          resolve();
        });
    });
    return {
      close: () => {
        ended = true; // a close asked for is no end to report
        readable.destroy();
      },
      closed,
    };
  }

  /**
   * The engine's live events for containers that carry a compose project label, as a stream of JSON
   * lines. Only the actions that can change a status: exec_* (every healthcheck probe) would otherwise
   * wake the controller several times a second for nothing.
   */
  async containerEvents(): Promise<NodeJS.ReadableStream> {
    return this.events(LABELS.project, CONTAINER_EVENTS);
  }

  /** The engine's container events of what carries `label` (`key` or `key=value`), of these kinds. */
  private events(label: string, kinds: string[]): Promise<NodeJS.ReadableStream> {
    return this.call(() =>
      this.docker.getEvents({ filters: { type: ['container'], label: [label], event: kinds } }),
    );
  }

  /**
   * Watches one stack's containers (see StackWatch). Opened before the first look, so that nothing
   * that happens between the look and the wait is missed.
   */
  async watchStack(project: string): Promise<StackWatch> {
    let stream: NodeJS.ReadableStream | null = null;
    try {
      // exec_die ends each healthcheck probe: a wait shows the probe's output as it comes.
      stream = await this.events(`${LABELS.project}=${project}`, [...CONTAINER_EVENTS, 'exec_die']);
    } catch {
      stream = null; // looks again every WATCH_FALLBACK_MS instead
    }
    let pending = false;
    let wake: (() => void) | null = null;
    let live = stream !== null;
    const fire = (): void => {
      if (wake) wake();
      else pending = true;
    };
    stream?.on('data', fire);
    const lost = (): void => {
      live = false;
      fire();
    };
    stream?.on('error', lost);
    stream?.on('end', lost);
    return {
      changed(ms) {
        if (pending) {
          pending = false;
          return Promise.resolve();
        }
        return new Promise<void>((resolve) => {
          const timer = setTimeout(done, live ? ms : Math.min(ms, WATCH_FALLBACK_MS));
          function done(): void {
            clearTimeout(timer);
            if (wake === done) wake = null;
            resolve();
          }
          wake = done;
        });
      },
      close() {
        live = false;
        wake?.();
        const s = stream;
        stream = null;
        s?.removeAllListeners();
        s?.on('error', () => undefined);
        (s as { destroy?: () => void } | null)?.destroy?.();
      },
    };
  }

  async inspect(id: string): Promise<Docker.ContainerInspectInfo> {
    return this.call(() => this.docker.getContainer(id).inspect());
  }

  /** An image's id and labels, or null when this engine does not have it. */
  async imageInfo(name: string): Promise<{ id: string; labels: Record<string, string> } | null> {
    try {
      const info = await this.call(() => this.docker.getImage(name).inspect());
      return { id: info.Id, labels: info.Config.Labels ?? {} };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async tagImage(id: string, repo: string, tag: string): Promise<void> {
    await this.call(() => this.docker.getImage(id).tag({ repo, tag }));
  }

  /**
   * Starts a build; the stream carries the engine's JSON messages. Not wrapped: the caller tells a
   * refused build (the engine's message) from an unreachable engine.
   */
  buildImage(
    context: NodeJS.ReadableStream,
    options: Docker.ImageBuildOptions,
  ): Promise<NodeJS.ReadableStream> {
    return this.docker.buildImage(context, options);
  }

  /** Each container of a stack (by its project label) with the image reference and id it runs. */
  async stackImages(project: string): Promise<RanImage[]> {
    const list = await this.call(() =>
      this.docker.listContainers({ all: true, filters: { label: [`${LABELS.project}=${project}`] } }),
    );
    const digests = new Map<string, string[]>();
    for (const id of new Set(list.map((c) => c.ImageID))) {
      digests.set(id, (await this.imageIdentity(id))?.digests ?? []);
    }
    return list.map((c) => {
      const digest = digestFor(c.Image, digests.get(c.ImageID) ?? []);
      return {
        service: c.Labels[LABELS.service] ?? c.Names[0]?.replace(/^\//, '') ?? '',
        image: c.Image,
        id: c.ImageID,
        ...(digest ? { digest } : {}),
      };
    });
  }

  /** An image's id and registry digests (`name@sha256:…`), by any reference; undefined when absent. */
  async imageIdentity(ref: string): Promise<{ id: string; digests: string[] } | undefined> {
    try {
      const info = await this.call(() => this.docker.getImage(ref).inspect());
      return { id: info.Id, digests: info.RepoDigests ?? [] };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}

/**
 * The digest of `image`'s repository among an image's RepoDigests (an image pulled under two names has
 * one per name), else the first; none for an image only built or loaded here.
 */
export function digestFor(image: string, digests: string[]): string | undefined {
  const name = (ref: string): string => {
    const at = ref.indexOf('@');
    const base = at === -1 ? ref : ref.slice(0, at);
    const slash = base.lastIndexOf('/');
    const colon = base.lastIndexOf(':');
    return colon > slash ? base.slice(0, colon) : base;
  };
  return digests.find((d) => name(d) === name(image)) ?? digests[0];
}

/** A network as the engine reports it (list and inspect), the parts compared with the compose file. */
export interface LiveNetwork {
  id: string;
  name: string;
  driver: string;
  labels: Record<string, string>;
  created: string;
  options: Record<string, string>;
  ipam: { driver: string; config: IpamPool[]; options: Record<string, string> };
  internal: boolean;
  attachable: boolean;
  enableIpv6: boolean;
  /** Only engines of API 1.47 and later report it (and can turn IPv4 off). */
  enableIpv4?: boolean;
}

export interface LiveVolume {
  name: string;
  driver: string;
  labels: Record<string, string>;
  options: Record<string, string>;
}

interface NetworkInfo {
  Id: string;
  Name: string;
  Driver: string;
  Created: string;
  Labels?: Record<string, string> | null;
  Options?: Record<string, string> | null;
  IPAM?: {
    Driver?: string;
    Options?: Record<string, string> | null;
    Config?:
      | { Subnet?: string; IPRange?: string; Gateway?: string; AuxiliaryAddresses?: Record<string, string> }[]
      | null;
  };
  Internal?: boolean;
  Attachable?: boolean;
  EnableIPv6?: boolean;
  EnableIPv4?: boolean;
}

interface VolumeInfo {
  Name: string;
  Driver: string;
  Labels?: Record<string, string> | null;
  Options?: Record<string, string> | null;
}

function liveNetwork(n: NetworkInfo): LiveNetwork {
  return {
    id: n.Id,
    name: n.Name,
    driver: n.Driver,
    labels: n.Labels ?? {},
    created: n.Created,
    options: n.Options ?? {},
    ipam: {
      driver: n.IPAM?.Driver ?? 'default',
      config: (n.IPAM?.Config ?? []).map((c) => ({
        ...(c.Subnet ? { subnet: c.Subnet } : {}),
        ...(c.IPRange ? { ipRange: c.IPRange } : {}),
        ...(c.Gateway ? { gateway: c.Gateway } : {}),
        ...(c.AuxiliaryAddresses && Object.keys(c.AuxiliaryAddresses).length > 0
          ? { auxAddresses: c.AuxiliaryAddresses }
          : {}),
      })),
      options: n.IPAM?.Options ?? {},
    },
    internal: n.Internal ?? false,
    attachable: n.Attachable ?? false,
    enableIpv6: n.EnableIPv6 ?? false,
    ...(n.EnableIPv4 === undefined ? {} : { enableIpv4: n.EnableIPv4 }),
  };
}

function liveVolume(v: VolumeInfo): LiveVolume {
  return { name: v.Name, driver: v.Driver, labels: v.Labels ?? {}, options: v.Options ?? {} };
}

/** The create call for a network: what the compose file sets, nothing else (compose sends the same). */
export function networkCreateOptions(
  n: DesiredNetwork,
  labels: Record<string, string>,
): Docker.NetworkCreateOptions & { EnableIPv4?: boolean } {
  const ipam = n.ipam;
  return {
    Name: n.name,
    Driver: n.driver,
    Labels: labels,
    CheckDuplicate: true,
    ...(n.driverOpts ? { Options: n.driverOpts } : {}),
    ...(ipam
      ? {
          IPAM: {
            Driver: ipam.driver ?? 'default',
            ...(ipam.config
              ? {
                  Config: ipam.config.map((p) => ({
                    ...(p.subnet ? { Subnet: p.subnet } : {}),
                    ...(p.ipRange ? { IPRange: p.ipRange } : {}),
                    ...(p.gateway ? { Gateway: p.gateway } : {}),
                    ...(p.auxAddresses ? { AuxiliaryAddresses: p.auxAddresses } : {}),
                  })),
                }
              : {}),
            ...(ipam.options ? { Options: ipam.options } : {}),
          },
        }
      : {}),
    ...(n.internal !== undefined ? { Internal: n.internal } : {}),
    ...(n.attachable !== undefined ? { Attachable: n.attachable } : {}),
    ...(n.enableIpv6 !== undefined ? { EnableIPv6: n.enableIpv6 } : {}),
    ...(n.enableIpv4 !== undefined ? { EnableIPv4: n.enableIpv4 } : {}),
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function demux(buf: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const size = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}
