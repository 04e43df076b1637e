// Named engines (issue 15): the home's settings map names to endpoints, never the repo. `local` is the
// engine Mooring has always driven (settings' dockerHost, else DOCKER_HOST, else the socket) until it
// is removed. An engine is added only once it answers, and not when it is a daemon another name already
// reaches (same engine ID): nothing would then be deployed twice into one engine.
import { readFile, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ENGINE_NAME, LOCAL_ENGINE, type EngineProbe } from '../../shared/model.ts';
import { DockerAdapter, MIN_API_VERSION, apiOlderThan } from '../docker/docker-adapter.ts';
import { checkEngineConfig, type EngineConfig } from '../docker/endpoint.ts';
import { EngineTooOldError, MooringError, UnreachableError, errorMessage } from '../errors.ts';
import { updateSettingsFile } from '../settings.ts';
import type { EngineContext } from './context.ts';

/** How long a probe waits for an engine that does not answer. */
const PROBE_TIMEOUT_MS = 10_000;

/**
 * Why an engine did not answer, in its own words (ECONNREFUSED, a TLS or SSH refusal): the cause under
 * the adapter's "unreachable" sentence, whose advice each place that shows it gives as fits there.
 */
function reason(err: unknown): string {
  const cause =
    err instanceof UnreachableError && !(err instanceof EngineTooOldError) && err.cause !== undefined
      ? errorMessage(err.cause) || (err.cause as { code?: string }).code
      : undefined;
  return cause || errorMessage(err);
}

function transportOf(c: EngineConfig): EngineProbe['transport'] {
  if (c.endpoint.startsWith('ssh://')) return 'ssh';
  if (c.endpoint.startsWith('tcp://')) return c.tls ? 'tls' : 'tcp';
  return 'socket';
}

export class EnginesService {
  constructor(private readonly ctx: EngineContext) {}

  /** Every named engine, `local` first where it is there. */
  list(): { name: string; config: EngineConfig }[] {
    // `mooring engine add` in a terminal reaches a running app here.
    this.ctx.refreshSettings();
    const named = this.ctx.settings.engines ?? {};
    const out: { name: string; config: EngineConfig }[] = [];
    const local = named[LOCAL_ENGINE];
    if (local !== null)
      out.push({ name: LOCAL_ENGINE, config: local ?? { endpoint: this.ctx.localEndpoint } });
    for (const [name, config] of Object.entries(named).sort(([a], [b]) => a.localeCompare(b)))
      if (name !== LOCAL_ENGINE && config) out.push({ name, config });
    return out;
  }

  get(name: string): EngineConfig {
    const found = this.list().find((e) => e.name === name);
    if (!found)
      throw new MooringError(
        'not-found',
        `No engine named ${name} on this machine. \`mooring engine list\` shows them.`,
      );
    return found.config;
  }

  /** Asks an engine who it is, within PROBE_TIMEOUT_MS; never throws. */
  async probe(name: string, config: EngineConfig): Promise<EngineProbe> {
    const base = { name, endpoint: config.endpoint, transport: transportOf(config) };
    let docker: DockerAdapter | null = null;
    let timer: NodeJS.Timeout | undefined;
    try {
      docker = new DockerAdapter(config, undefined, 'given', name);
      const d = docker;
      const answer = (async () => {
        const t0 = performance.now();
        await d.ping();
        const latencyMs = Math.round((performance.now() - t0) * 10) / 10;
        return { ...(await d.identity()), apiVersion: (await d.engineVersion()).apiVersion, latencyMs };
      })();
      const { id, version, swarm, apiVersion, latencyMs } = await Promise.race([
        answer,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            reject(new Error(`no answer in ${PROBE_TIMEOUT_MS / 1000} s`));
          }, PROBE_TIMEOUT_MS);
        }),
      ]);
      return { ...base, reachable: true, id, version, swarm, latencyMs, error: null, apiVersion };
    } catch (err) {
      return {
        ...base,
        reachable: false,
        id: null,
        version: null,
        swarm: null,
        latencyMs: null,
        error: reason(err),
        ...(err instanceof EngineTooOldError ? { apiVersion: err.apiVersion } : {}),
      };
    } finally {
      clearTimeout(timer);
      docker?.close();
    }
  }

  probeAll(): Promise<EngineProbe[]> {
    return Promise.all(this.list().map((e) => this.probe(e.name, e.config)));
  }

  /** Adds an engine that answers and is not a daemon another name reaches. */
  async add(name: string, config: EngineConfig): Promise<EngineProbe> {
    this.ctx.assertWritable('add an engine');
    if (!ENGINE_NAME.test(name))
      throw new MooringError(
        'usage',
        `Engine name "${name}": letters, digits, '.', '_' and '-', at most 63.`,
      );
    if (this.list().some((e) => e.name === name))
      throw new MooringError(
        'conflict',
        `An engine named ${name} exists: remove it first (\`mooring engine remove ${name}\`).`,
      );
    checkEngineConfig(config);
    const probe = await this.probe(name, config);
    if (probe.apiVersion && apiOlderThan(probe.apiVersion, MIN_API_VERSION))
      throw new MooringError(
        'unreachable',
        `Engine ${name} (${config.endpoint}) speaks Docker API ${probe.apiVersion}, older than ${MIN_API_VERSION} (Docker 20.10), the oldest Mooring drives: upgrade Docker there. Nothing was added.`,
      );
    if (!probe.reachable)
      throw new MooringError(
        'unreachable',
        `Engine ${name} (${config.endpoint}) does not answer: ${(probe.error ?? 'no reason given').replace(/\.\s*$/, '')}. Nothing was added.`,
      );
    for (const other of await this.probeAll()) {
      if (other.id && other.id === probe.id)
        throw new MooringError(
          'conflict',
          `${config.endpoint} reaches the same Docker daemon (ID ${probe.id}) as engine ${other.name} (${other.endpoint}): one daemon takes one name, so nothing is deployed into it twice. Use ${other.name}, or remove it first (\`mooring engine remove ${other.name}\`).`,
        );
    }
    await this.write((engines) => {
      engines[name] = config;
    });
    return probe;
  }

  async remove(name: string): Promise<void> {
    this.ctx.assertWritable('remove an engine');
    this.get(name); // says so when there is none
    await this.write((engines) => {
      if (name === LOCAL_ENGINE) engines[name] = null;
      else Reflect.deleteProperty(engines, name);
    });
  }

  /**
   * The docker CLI's contexts (~/.docker/contexts, or DOCKER_CONFIG's) as engines, each checked and
   * probed like `add`; the `default` context is `local`. What was added and what was not, with why.
   */
  async importContexts(
    dockerConfig = this.ctx.env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker'),
  ): Promise<{ name: string; endpoint: string; added: boolean; reason: string | null }[]> {
    const meta = path.join(dockerConfig, 'contexts', 'meta');
    let dirs: string[];
    try {
      dirs = await readdir(meta);
    } catch {
      return [];
    }
    const out: { name: string; endpoint: string; added: boolean; reason: string | null }[] = [];
    for (const dir of dirs.sort()) {
      let ctx: { Name?: unknown; Endpoints?: { docker?: { Host?: unknown; SkipTLSVerify?: unknown } } };
      try {
        ctx = JSON.parse(await readFile(path.join(meta, dir, 'meta.json'), 'utf8')) as typeof ctx;
      } catch {
        continue;
      }
      const name = typeof ctx.Name === 'string' ? ctx.Name : dir;
      const host = ctx.Endpoints?.docker?.Host;
      if (typeof host !== 'string' || !host) continue;
      if (ctx.Endpoints?.docker?.SkipTLSVerify === true) {
        out.push({
          name,
          endpoint: host,
          added: false,
          reason: 'it skips TLS verification, which Mooring does not do',
        });
        continue;
      }
      const tlsDir = path.join(dockerConfig, 'contexts', 'tls', dir, 'docker');
      const tlsFiles = {
        ca: path.join(tlsDir, 'ca.pem'),
        cert: path.join(tlsDir, 'cert.pem'),
        key: path.join(tlsDir, 'key.pem'),
      };
      const hasTls = await readFile(tlsFiles.ca).then(
        () => true,
        () => false,
      );
      const config: EngineConfig = { endpoint: host, ...(hasTls ? { tls: tlsFiles } : {}) };
      try {
        await this.add(name.replace(/[^A-Za-z0-9_.-]/g, '-'), config);
        out.push({ name, endpoint: host, added: true, reason: null });
      } catch (err) {
        out.push({ name, endpoint: host, added: false, reason: errorMessage(err) });
      }
    }
    return out;
  }

  private async write(change: (engines: Record<string, EngineConfig | null>) => void): Promise<void> {
    const written = await updateSettingsFile(this.ctx.home, (settings) => {
      settings.engines ??= {};
      change(settings.engines);
    });
    this.ctx.takeOver(written);
  }
}
