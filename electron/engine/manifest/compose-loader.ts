// Loads one stack from the config repo at a revision: compose file + .env → DesiredStack, or every
// problem found, each with file, line and column. A stack with any error yields no desired state at all,
// so nothing half-understood is ever applied.
import { homedir } from 'node:os';
import { posix } from 'node:path';
import type { Node } from 'yaml';
import type { DesiredNetwork, DesiredVolume, ManifestError, SafetySettings } from '../../shared/model.ts';
import { parseDotenv } from './dotenv.ts';
import { interpolateDocument } from './interpolate.ts';
import { capErrors, checkFileSize } from './limits.ts';
import { projectName } from './project-name.ts';
import { safetyMessages } from './safety.ts';
import { linkBuiltImages } from './build.ts';
import { readLabels, readService } from './service.ts';
import type { ServiceResult } from './service.ts';
import type { LoadResult, RepoReader, StackContext } from './types.ts';
import { YamlFile } from './yaml-file.ts';
import type { Entry } from './yaml-file.ts';

const TOP_LEVEL_KEYS = ['version', 'name', 'services', 'networks', 'volumes'];
const SERVICE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** One container may publish every port, once per protocol; a stack needs no more than that. */
export const MAX_PORT_BINDINGS = 65_535;

export interface LoadStackOptions {
  reader: RepoReader;
  /** Repo-relative folder of the stack. */
  stackDir: string;
  /** Repo-relative path of the compose file. */
  composeFile: string;
  safety: SafetySettings;
  /** What `~` means in a bind mount; defaults to the home folder of this process. */
  homeDir?: string;
}

export async function loadStack(opts: LoadStackOptions): Promise<LoadResult> {
  const { reader, stackDir, composeFile, safety } = opts;
  const folder = posix.basename(stackDir);
  const fallbackName = projectName(folder) || folder;

  const text = await reader.readFile(composeFile);
  if (text === null) {
    const message = `${composeFile} does not exist in the config repo at this revision`;
    return { ok: false, name: fallbackName, errors: [{ file: composeFile, line: 1, column: 1, message }] };
  }
  const tooLarge = checkFileSize(text, composeFile, safety.maxManifestBytes);
  if (tooLarge !== null) return failure(fallbackName, [tooLarge]);
  const envPath = posix.join(stackDir, '.env');
  const envText = await reader.readFile(envPath);
  const envTooLarge = envText === null ? null : checkFileSize(envText, envPath, safety.maxManifestBytes);
  if (envTooLarge !== null) return failure(fallbackName, [envTooLarge]);
  const env = envText === null ? { vars: {}, errors: [] } : parseDotenv(envText, envPath);

  const yaml = YamlFile.parse(text, composeFile);
  yaml.errors.push(...env.errors);
  // A syntax error makes the tree unreliable: what follows would only add confusing errors.
  if (yaml.errors.length > env.errors.length) return failure(fallbackName, yaml.errors);
  // Most compose files have no variable at all: walking every node for a `$` is then not needed.
  if (text.includes('$')) interpolateDocument(yaml, env.vars);

  let top: Entry[] = [];
  if (!yaml.isMap(yaml.root)) {
    yaml.errorAt(yaml.root, 'the compose file must be a map with a `services` key');
  } else {
    top = yaml.map(yaml.root, '') ?? [];
  }
  yaml.rejectUnknown(top, TOP_LEVEL_KEYS);
  const get = (key: string): Entry | undefined => top.find((e) => e.key === key);

  const name = readStackName(yaml, get('name'), folder);
  if (name === null) return failure(fallbackName, yaml.errors);

  const ctx: StackContext = {
    yaml,
    reader,
    stackDir,
    stack: name,
    safety,
    homeDir: opts.homeDir ?? homedir(),
    vars: env.vars,
    networks: readNetworks(yaml, get('networks'), name, safety),
    volumes: readVolumes(yaml, get('volumes'), name),
    envFiles: new Map(),
    budget: { envBytes: safety.maxManifestBytes, portBindings: MAX_PORT_BINDINGS },
  };

  const results: ServiceResult[] = [];
  const servicesEntry = get('services');
  const serviceEntries =
    servicesEntry === undefined || yaml.isNull(servicesEntry.value)
      ? []
      : (yaml.map(servicesEntry.value, 'services') ?? []);
  for (const entry of serviceEntries) {
    if (!SERVICE_NAME.test(entry.key)) {
      yaml.errorAt(
        entry.keyNode,
        `${entry.path}: "${entry.key}" is not a valid service name (letters, digits, _ . -)`,
      );
      continue;
    }
    const result = await readService(ctx, entry);
    if (result !== null) results.push(result);
  }
  // A service whose image: is what another one builds runs that build (compose's way to share one).
  linkBuiltImages(
    yaml,
    results.map((r) => r.service),
    new Map(serviceEntries.map((e) => [e.key, e.keyNode])),
  );
  checkDependencies(yaml, results);
  checkContainerNames(yaml, results, serviceEntries);

  const used = new Set(results.flatMap((r) => r.networkKeys));
  const networks = [...ctx.networks.values()].filter((n) => n.key !== 'default' || used.has('default'));
  if (used.has('default') && !ctx.networks.has('default')) {
    networks.unshift(networkOf(name, 'default', null));
  }

  if (yaml.errors.length > 0) return failure(name, yaml.errors);
  return {
    ok: true,
    stack: {
      name,
      file: composeFile,
      services: results.map((r) => r.service),
      networks,
      volumes: [...ctx.volumes.values()],
      ...(yaml.warnings.length > 0 ? { warnings: sortedByPlace(yaml.warnings) } : {}),
    },
  };
}

function sortedByPlace(list: ManifestError[]): ManifestError[] {
  return [...list].sort(
    (a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.line - b.line || a.column - b.column,
  );
}

function failure(name: string, errors: ManifestError[]): LoadResult {
  return { ok: false, name, errors: capErrors(sortedByPlace(errors)) };
}

function readStackName(yaml: YamlFile, entry: Entry | undefined, folder: string): string | null {
  const raw = entry === undefined ? folder : yaml.string(entry.value, entry.path);
  if (raw === undefined) return null;
  const name = projectName(raw);
  if (name !== '') return name;
  if (entry === undefined) {
    yaml.errorAt(null, `the folder name "${folder}" has no letters or digits; set a top-level name:`);
  } else {
    yaml.errorAt(entry.value ?? entry.keyNode, `name: "${raw}" has no letters or digits`);
  }
  return null;
}

interface Resource {
  name: string;
  external: boolean;
  driver: string | null;
  labels: Record<string, string>;
  /** Where `name:` and `driver:` are written, for errors about them. */
  at: { name?: Node | null; driver?: Node | null };
}

/** The fields shared by top-level networks and volumes: name, external, driver, labels. */
function readResource(yaml: YamlFile, e: Entry, kind: 'network' | 'volume'): Resource | null {
  const resource: Resource = { name: '', external: false, driver: null, labels: {}, at: {} };
  if (yaml.isNull(e.value)) return resource;
  const fields = yaml.map(e.value, e.path);
  if (fields === null) return null;
  yaml.rejectUnknown(fields, ['name', 'external', 'driver', 'labels']);
  for (const f of fields) {
    if (f.key === 'name' || f.key === 'driver') resource.at[f.key] = f.value ?? f.keyNode;
    if (f.key === 'name') resource.name = yaml.string(f.value, f.path) ?? '';
    else if (f.key === 'external') resource.external = yaml.bool(f.value, f.path) ?? false;
    else if (f.key === 'driver') resource.driver = yaml.string(f.value, f.path) ?? null;
    else if (f.key === 'labels') resource.labels = readLabels(yaml, f);
  }
  const extra = fields.find((f) => f.key === 'driver' || f.key === 'labels');
  if (resource.external && extra !== undefined) {
    yaml.errorAt(
      extra.keyNode,
      `${extra.path}: an external ${kind} is not created by Mooring, so it cannot set ${extra.key}`,
    );
  }
  return resource;
}

function readNetworks(
  yaml: YamlFile,
  entry: Entry | undefined,
  stack: string,
  safety: SafetySettings,
): Map<string, DesiredNetwork> {
  const networks = new Map<string, DesiredNetwork>();
  if (entry === undefined || yaml.isNull(entry.value)) return networks;
  for (const e of yaml.map(entry.value, entry.path) ?? []) {
    const resource = readResource(yaml, e, 'network');
    if (resource === null) continue;
    const network = networkOf(stack, e.key, resource);
    // A refused network stays declared, so that the services using it are not also told it is not.
    checkNetwork(yaml, e, network, resource, safety);
    networks.set(e.key, network);
  }
  return networks;
}

/**
 * Docker's predefined networks cannot be joined through `networks:` as compose means it: the host
 * network shares the host's network namespace (so it is the safety policy's business, like
 * `network_mode: host`), and none of them takes the aliases every service gets, so Docker would fail
 * only after creating the container. Nor can another network with their drivers be created.
 */
function checkNetwork(
  yaml: YamlFile,
  e: Entry,
  network: DesiredNetwork,
  resource: Resource,
  safety: SafetySettings,
): void {
  const at = (key: 'name' | 'driver'): Node | null => resource.at[key] ?? e.keyNode;
  // Docker's names are case-sensitive, but nothing is lost by refusing `HOST` too.
  const name = network.name.toLowerCase();
  if (name === 'host') {
    const message = safety.allowHostNamespaces
      ? `network "${network.name}" is Docker's host network, which takes no aliases; write network_mode: host on the service instead`
      : safetyMessages.hostNetwork(network.name);
    yaml.errorAt(at('name'), `${e.path}: ${message}`);
    return;
  }
  if (name === 'bridge' || name === 'none' || name === 'default') {
    const mode = name === 'none' ? 'none' : 'bridge';
    yaml.errorAt(
      at('name'),
      `${e.path}: network "${network.name}" is Docker's predefined ${mode} network, which takes no aliases; write network_mode: ${mode} on the service instead`,
    );
    return;
  }
  if (network.driver === 'host' || network.driver === 'null') {
    yaml.errorAt(
      at('driver'),
      `${e.path}: Docker has one network with driver ${network.driver} and creates no other; write network_mode: ${network.driver === 'host' ? 'host' : 'none'} on the service instead`,
    );
  }
}

function networkOf(stack: string, key: string, r: Resource | null): DesiredNetwork {
  const external = r?.external ?? false;
  return {
    key,
    name: r?.name || (external ? key : `${stack}_${key}`),
    external,
    driver: external ? '' : (r?.driver ?? 'bridge'),
    labels: external
      ? {}
      : {
          ...r?.labels,
          'com.docker.compose.project': stack,
          'com.docker.compose.network': key,
          'dev.mooring.managed': 'true',
        },
  };
}

function readVolumes(yaml: YamlFile, entry: Entry | undefined, stack: string): Map<string, DesiredVolume> {
  const volumes = new Map<string, DesiredVolume>();
  if (entry === undefined || yaml.isNull(entry.value)) return volumes;
  for (const e of yaml.map(entry.value, entry.path) ?? []) {
    const r = readResource(yaml, e, 'volume');
    if (r === null) continue;
    volumes.set(e.key, {
      key: e.key,
      name: r.name || (r.external ? e.key : `${stack}_${e.key}`),
      external: r.external,
      driver: r.external ? '' : (r.driver ?? 'local'),
      labels: r.external
        ? {}
        : {
            ...r.labels,
            'com.docker.compose.project': stack,
            'com.docker.compose.volume': e.key,
            'dev.mooring.managed': 'true',
          },
    });
  }
  return volumes;
}

function checkContainerNames(yaml: YamlFile, results: ServiceResult[], entries: Entry[]): void {
  const owner = new Map<string, string>();
  const entryOf = new Map(entries.map((e) => [e.key, e]));
  for (const { service } of results) {
    const other = owner.get(service.containerName);
    if (other === undefined) {
      owner.set(service.containerName, service.name);
      continue;
    }
    const entry = entryOf.get(service.name);
    yaml.errorAt(
      entry?.keyNode,
      `services.${service.name}: container name ${service.containerName} is already used by ${other}`,
    );
  }
}

/** Every dependency names a service of the stack, and none of them loops back. */
function checkDependencies(yaml: YamlFile, results: ServiceResult[]): void {
  const byName = new Map(results.map((r) => [r.service.name, r]));
  for (const r of results) {
    for (const [dep, node] of r.dependsOn) {
      if (byName.has(dep)) continue;
      yaml.errorAt(
        node,
        `services.${r.service.name}: depends on "${dep}", which is not a service of this stack`,
      );
    }
  }
  // Depth-first, with its own stack: a chain of thousands of services must not overflow the call stack,
  // nor copy the path at every step.
  const done = new Set<string>();
  const onPath = new Map<string, number>();
  const path: { name: string; deps: Iterator<string> }[] = [];
  let cycles = 0;
  const enter = (name: string): void => {
    onPath.set(name, path.length);
    path.push({ name, deps: byName.get(name)!.dependsOn.keys() });
  };
  for (const r of results) {
    if (done.has(r.service.name)) continue;
    enter(r.service.name);
    while (path.length > 0) {
      const top = path[path.length - 1]!;
      const next = top.deps.next();
      if (next.done === true) {
        path.pop();
        onPath.delete(top.name);
        done.add(top.name);
        continue;
      }
      const dep = next.value;
      if (done.has(dep) || !byName.has(dep)) continue;
      const index = onPath.get(dep);
      if (index === undefined) {
        enter(dep);
        continue;
      }
      // Each cycle is reported once, where it closes; a hostile file could hold very many.
      if (++cycles > MAX_CYCLES_REPORTED) continue;
      const cycle = [...path.slice(index).map((p) => p.name), dep];
      const shown =
        cycle.length > 12
          ? [...cycle.slice(0, 6), `… ${cycle.length - 12} more …`, ...cycle.slice(-6)]
          : cycle;
      const node: Node | undefined = byName.get(top.name)!.dependsOn.get(dep);
      yaml.errorAt(node, `services.${top.name}: dependency cycle ${shown.join(' → ')}`);
    }
  }
}

const MAX_CYCLES_REPORTED = 20;
