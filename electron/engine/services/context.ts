// What every service of the engine shares, made once by the composition root (engine.ts): the home
// folder, its history database and settings, this home's instance id, and the Docker endpoint. The
// endpoint can change while the app runs (the settings screen), so services read `ctx.docker` at each
// use rather than keeping their own.
import { LOCAL_ENGINE } from '../../shared/model.ts';
import { LABELS } from '../docker/labels.ts';
import { DockerAdapter, type EndpointOrigin } from '../docker/docker-adapter.ts';
import type { EngineConfig } from '../docker/endpoint.ts';
import type { EngineRecords, HistoryStore } from '../history/store.ts';
import { readOnlyHomeError } from '../home.ts';
import { Applier } from '../reconcile/apply.ts';
import { readFileSync, statSync } from 'node:fs';
import { parseSettings, settingsFile, type Settings } from '../settings.ts';

export class EngineContext {
  docker: DockerAdapter;
  applier: Applier;
  /** The `local` engine's endpoint (settings, DOCKER_HOST or the socket), whichever engine is in use. */
  localEndpoint: string;
  /** The named engine in use: `local` unless another is asked for (`--engine NAME`). */
  engineName = LOCAL_ENGINE;

  constructor(
    readonly home: string,
    readonly history: HistoryStore,
    readonly settings: Settings,
    readonly env: NodeJS.ProcessEnv,
    dockerHost: { endpoint: string | undefined; origin: EndpointOrigin },
    /** Stamped on every container this home creates (dev.mooring.instance). */
    readonly instanceId: string,
  ) {
    this.docker = new DockerAdapter(dockerHost.endpoint, this.isOurs, dockerHost.origin);
    this.localEndpoint = this.docker.endpoint;
    this.applier = new Applier(this.docker, history, this.engineName);
  }

  /** settings.json as last read here (mtime, inode, size); null: read it again at the next look. */
  private settingsStamp: string | null = null;

  /**
   * settings.json again if it changed since it was read: `mooring source trust`, `webhook set` or
   * `engine add` in a terminal takes effect in the running app at its next look. The safety parts, the
   * webhook and the named engines are taken over; the endpoint of the engine in use and the
   * controller's settings stay as they were when the app started.
   */
  refreshSettings(): void {
    const file = settingsFile(this.home);
    let stamp: string;
    try {
      // Every write renames a new file over the old one: a new inode, even within one mtime tick.
      const st = statSync(file);
      stamp = `${st.mtimeMs} ${st.ino} ${st.size}`;
    } catch {
      return;
    }
    if (stamp === this.settingsStamp) return;
    this.settingsStamp = stamp;
    try {
      this.takeOver(parseSettings(readFileSync(file, 'utf8'), file));
    } catch {
      // A file being edited by hand may be invalid for a moment: what was read before stays.
    }
  }

  /** What was just written to settings.json, in the parts a running engine follows (`refreshSettings`). */
  takeOver(fresh: Settings): void {
    this.settings.safety = fresh.safety;
    this.settings.sources = fresh.sources;
    this.settings.webhook = fresh.webhook;
    this.settings.engines = fresh.engines;
    this.settingsStamp = null;
  }

  /** The records of the engine in use: its drift, locks, suspensions, retries and notices. */
  get records(): EngineRecords {
    return this.history.forEngine(this.engineName);
  }

  /** Points every service at a named engine (`--engine NAME`, issue 15). */
  useEngine(name: string, config: EngineConfig): void {
    this.docker.close();
    this.docker = new DockerAdapter(config, this.isOurs, 'given', name);
    this.engineName = name;
    this.applier = new Applier(this.docker, this.history, name);
  }

  /** The same home acting on another named engine: its own docker and applier over this history. */
  sibling(name: string, config: EngineConfig): EngineContext {
    const ctx = new EngineContext(
      this.home,
      this.history,
      this.settings,
      this.env,
      { endpoint: this.localEndpoint, origin: 'given' },
      this.instanceId,
    );
    ctx.useEngine(name, config);
    return ctx;
  }

  /** Points every service at another Docker endpoint (from the settings screen). */
  setDockerHost(endpoint: string | undefined): void {
    this.docker.close();
    this.docker = endpoint
      ? new DockerAdapter(endpoint, this.isOurs, 'settings')
      : new DockerAdapter(
          this.env.DOCKER_HOST,
          this.isOurs,
          this.env.DOCKER_HOST ? 'DOCKER_HOST' : 'default',
        );
    this.localEndpoint = this.docker.endpoint;
    this.engineName = LOCAL_ENGINE;
    this.applier = new Applier(this.docker, this.history, this.engineName);
  }

  /** The home could not be written: status and history can be read, nothing can be changed. */
  get readOnly(): boolean {
    return this.history.readOnly;
  }

  /** Fails a command that must write, before it changes anything, when the home is read-only. */
  assertWritable(what: string): void {
    if (this.history.readOnly) throw readOnlyHomeError(this.home, what);
  }

  /**
   * Whether this home made a container (issue 10), or adopted it from compose (issue 11): the ownership
   * record says so (for what was never recorded by id, the instance label must agree too). Anything else
   * is never stopped, removed or pruned, whatever its labels claim.
   */
  readonly isOurs = (c: {
    id: string;
    name: string;
    labels: Record<string, string>;
    created: string;
  }): boolean =>
    this.history.ownership.owns(
      { kind: 'container', id: c.id, name: c.name, created: c.created },
      c.labels[LABELS.managed] === 'true' && c.labels[LABELS.instance] === this.instanceId,
    );

  /** The same for a network; those made before instance labels were put on networks carry none. */
  readonly ownsNetwork = (n: {
    id: string;
    name: string;
    labels: Record<string, string>;
    created: string;
  }): boolean => {
    const instance = n.labels[LABELS.instance];
    return this.history.ownership.owns(
      { kind: 'network', id: n.id, name: n.name, created: n.created },
      n.labels[LABELS.managed] === 'true' && (instance === undefined || instance === this.instanceId),
    );
  };
}
