// The one place that talks to the Docker engine (dockerode). Everything above it works on
// ObservedContainer and plain option objects.
import Docker from 'dockerode';
import { UnreachableError, errorMessage } from '../errors.ts';
import { imageDefaults, projectLive, type Fields, type ImageDefaults } from './fields.ts';
import { LABELS } from './labels.ts';

export interface ObservedContainer {
  id: string;
  name: string;
  project: string | null;
  service: string | null;
  managed: boolean;
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

export function describeEndpoint(endpoint: string | undefined): string {
  return endpoint ?? process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
}

export class DockerAdapter {
  readonly docker: Docker;
  readonly endpoint: string;

  /** `endpoint` like DOCKER_HOST: unix:///path, tcp://host:port; default DOCKER_HOST, else the local socket. */
  constructor(endpoint?: string) {
    this.endpoint = describeEndpoint(endpoint);
    this.docker = new Docker(endpointOptions(this.endpoint));
  }

  /** Wraps a connection failure into an error that says what to check. */
  unreachable(err: unknown): UnreachableError {
    return new UnreachableError(
      `Docker engine at ${this.endpoint} is unreachable (${errorMessage(err)}). Start Docker, or set DOCKER_HOST to the right endpoint.`,
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

  async ping(): Promise<void> {
    await this.call(() => this.docker.ping());
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
  async pull(name: string): Promise<void> {
    const stream = await this.call(() => this.docker.pull(name));
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
    const label = project ? [`${LABELS.project}=${project}`] : [LABELS.project];
    const listed = await this.call(() => this.docker.listContainers({ all: true, filters: { label } }));
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
      out.push({
        id: c.Id,
        name: c.Name.replace(/^\//, ''),
        project: labels[LABELS.project] ?? null,
        service: labels[LABELS.service] ?? null,
        managed: labels[LABELS.managed] === 'true',
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
        fields: projectLive(c, images.get(c.Config.Image), home),
      });
    }
    return out;
  }

  /** Any container by exact name, labelled or not: to refuse to clobber what is not ours. */
  async findByName(name: string): Promise<{ id: string; labels: Record<string, string> } | undefined> {
    return (await this.findByNames([name])).get(name);
  }

  /** findByName for many names in one engine call (a cold sync of 100 services made 100 of them). */
  async findByNames(names: string[]): Promise<Map<string, { id: string; labels: Record<string, string> }>> {
    const found = new Map<string, { id: string; labels: Record<string, string> }>();
    if (names.length === 0) return found;
    const list = await this.call(() =>
      this.docker.listContainers({ all: true, filters: { name: names.map((n) => `^/${escapeRegExp(n)}$`) } }),
    );
    const wanted = new Set(names);
    for (const c of list) {
      for (const n of c.Names) {
        const name = n.replace(/^\//, '');
        if (wanted.has(name)) found.set(name, { id: c.Id, labels: c.Labels });
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

  async ensureNetwork(name: string, driver: string, labels: Record<string, string>): Promise<boolean> {
    try {
      await this.call(() => this.docker.getNetwork(name).inspect());
      return false;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    await this.call(() =>
      this.docker.createNetwork({ Name: name, Driver: driver, Labels: labels, CheckDuplicate: true }),
    );
    return true;
  }

  /**
   * The networks Mooring created for a stack (by their labels) that no container outside `leaving`
   * is attached to: what can go once those containers are removed.
   */
  async unusedStackNetworks(stack: string, leaving: ReadonlySet<string>): Promise<string[]> {
    const list = await this.call(() =>
      this.docker.listNetworks({
        filters: { label: [`${LABELS.project}=${stack}`, `${LABELS.managed}=true`] },
      }),
    );
    const unused: string[] = [];
    for (const n of list) {
      const info = await this.call(() => this.docker.getNetwork(n.Id).inspect()).catch((err: unknown) => {
        if (isNotFound(err)) return null;
        throw err;
      });
      if (info && Object.keys(info.Containers ?? {}).every((id) => leaving.has(id))) unused.push(info.Name);
    }
    return unused.sort();
  }

  async removeNetwork(name: string): Promise<void> {
    try {
      await this.call(() => this.docker.getNetwork(name).remove());
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async networkExists(name: string): Promise<boolean> {
    try {
      await this.call(() => this.docker.getNetwork(name).inspect());
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async volumeExists(name: string): Promise<boolean> {
    try {
      await this.call(() => this.docker.getVolume(name).inspect());
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async ensureVolume(name: string, driver: string, labels: Record<string, string>): Promise<boolean> {
    if (await this.volumeExists(name)) return false;
    await this.call(() => this.docker.createVolume({ Name: name, Driver: driver, Labels: labels }));
    return true;
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

  async remove(id: string): Promise<void> {
    try {
      await this.call(() => this.docker.getContainer(id).remove({ force: true, v: false }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
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
   * The engine's live events for containers that carry a compose project label, as a stream of JSON
   * lines. Only the actions that can change a status: exec_* (every healthcheck probe) would otherwise
   * wake the controller several times a second for nothing.
   */
  async containerEvents(): Promise<NodeJS.ReadableStream> {
    return this.call(() =>
      this.docker.getEvents({
        filters: {
          type: ['container'],
          label: [LABELS.project],
          event: CONTAINER_EVENTS,
        },
      }),
    );
  }

  async inspect(id: string): Promise<Docker.ContainerInspectInfo> {
    return this.call(() => this.docker.getContainer(id).inspect());
  }
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

function endpointOptions(endpoint: string): Docker.DockerOptions {
  if (endpoint.startsWith('unix://')) return { socketPath: endpoint.slice('unix://'.length) };
  if (endpoint.startsWith('/')) return { socketPath: endpoint };
  const url = new URL(endpoint.replace(/^tcp:/, 'http:'));
  return {
    host: url.hostname,
    port: Number(url.port || 2375),
    protocol: url.protocol === 'https:' ? 'https' : 'http',
  };
}
