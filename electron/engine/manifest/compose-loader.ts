// Loads one stack from the config repo at a revision: compose file + .env → DesiredStack, or every
// problem found, each with file, line and column. A stack with any error yields no desired state at all,
// so nothing half-understood is ever applied.
import { homedir } from 'node:os';
import { posix } from 'node:path';
import type { Node } from 'yaml';
import type { ManifestError, SafetySettings } from '../../shared/model.ts';
import { composeStack } from './composition.ts';
import { parseDotenv } from './dotenv.ts';
import { capErrors, checkFileSize } from './limits.ts';
import { projectName } from './project-name.ts';
import { linkBuiltImages } from './build.ts';
import { networkOf, readNetworks, readVolumes } from './resources.ts';
import { readFileDefinitions } from './secrets.ts';
import { readService } from './service.ts';
import type { ServiceResult } from './service.ts';
import type { LoadResult, RepoReader, StackContext } from './types.ts';
import type { Entry, YamlFile } from './yaml-file.ts';

const TOP_LEVEL_KEYS = ['version', 'name', 'services', 'networks', 'volumes', 'secrets', 'configs'];
/** Service names compose accepts (its schema's pattern). */
const SERVICE_NAME = /^[a-zA-Z0-9._-]+$/;
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
  /**
   * The compose profiles active for the stack of this name (mooring.yaml's `profiles`); undefined: the
   * stack's .env COMPOSE_PROFILES, as compose reads it, else none.
   */
  profiles?: (stack: string) => readonly string[] | undefined;
  /** The source's name: a refusal of the safety policy then names the command that trusts it alone. */
  source?: string;
  /**
   * Keys the hash of secrets and configs written inline or taken from a variable (secrets.ts); the
   * home folder's `content-key`. Without one, a fixed key: fine for tests, not for a home.
   */
  contentKey?: string | Uint8Array;
  /**
   * Where relative bind mounts that git does not hold are kept: a folder standing for the repo's root
   * (`<home>/state/<source>`). Compose makes such a folder beside the compose file and it outlives every
   * `up`; here it outlives every revision. Without one, such a mount is an error.
   */
  stateDir?: string;
}

export async function loadStack(opts: LoadStackOptions): Promise<LoadResult> {
  const { reader, stackDir, composeFile, safety } = opts;
  const folder = posix.basename(stackDir);
  const fallbackName = projectName(folder) || folder;

  const envPath = posix.join(stackDir, '.env');
  const envText = await reader.readFile(envPath);
  const envTooLarge = envText === null ? null : checkFileSize(envText, envPath, safety.maxManifestBytes);
  if (envTooLarge !== null) return failure(fallbackName, [envTooLarge]);
  // The stack's variables: its .env only, each value seeing the earlier ones (compose's dotenv rules);
  // nothing from this machine's environment, so that a commit means the same on every machine.
  const env = envText === null ? { vars: {}, errors: [], warnings: [] } : parseDotenv(envText, envPath);
  // A broken .env would make every value that uses it wrong in ways the errors below could not explain.
  if (env.errors.length > 0) return failure(fallbackName, env.errors);

  const budget = { envBytes: safety.maxManifestBytes, portBindings: MAX_PORT_BINDINGS };
  // The stack's compose file, its override (or COMPOSE_FILE), their includes and extends: one model.
  const composed = await composeStack({ reader, stackDir, composeFile, safety, vars: env.vars, budget });
  // A syntax error makes the tree unreliable: what follows would only add confusing errors.
  if (!composed.ok) return failure(composed.name, composed.errors);
  const { yaml, name } = composed;
  yaml.warnings.push(...env.warnings);

  let top: Entry[] = [];
  if (!yaml.isMap(yaml.root)) {
    yaml.errorAt(yaml.root, 'the compose file must be a map with a `services` key');
  } else {
    top = yaml.map(yaml.root, '') ?? [];
  }
  yaml.rejectUnknown(top, TOP_LEVEL_KEYS);
  const get = (key: string): Entry | undefined => top.find((e) => e.key === key);

  const resourceOptions = { stack: name, safety, homeDir: opts.homeDir ?? homedir() };
  const ctx: StackContext = {
    yaml,
    reader,
    stackDir,
    stack: name,
    safety,
    homeDir: opts.homeDir ?? homedir(),
    vars: composed.vars,
    networks: readNetworks(yaml, get('networks'), resourceOptions),
    volumes: readVolumes(yaml, get('volumes'), resourceOptions),
    envFiles: new Map(),
    budget,
    ...(opts.source !== undefined ? { source: opts.source } : {}),
    ...(opts.stateDir !== undefined ? { stateDir: opts.stateDir } : {}),
  };
  const fileContents = new Map<string, Uint8Array>();
  const fileCtx = { ...ctx, contentKey: opts.contentKey ?? 'mooring', fileContents };
  ctx.files = {
    secrets: await readFileDefinitions(fileCtx, get('secrets'), 'secrets'),
    configs: await readFileDefinitions(fileCtx, get('configs'), 'configs'),
  };

  const results: ServiceResult[] = [];
  const servicesEntry = get('services');
  const serviceEntries =
    servicesEntry === undefined || yaml.isNull(servicesEntry.value)
      ? []
      : (yaml.map(servicesEntry.value, 'services') ?? []);
  const inactive = inactiveServices(
    yaml,
    serviceEntries,
    activeProfiles(opts.profiles?.(name), composed.vars),
  );
  for (const entry of serviceEntries) {
    // A service of a profile that is not active is not part of the stack (compose's profiles).
    if (inactive.has(entry.key)) continue;
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
  dropInactiveDependencies(yaml, results, inactive, serviceEntries);
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
      ...(composed.files.length > 1 ? { files: composed.files } : {}),
      ...(fileContents.size > 0 ? { fileContents } : {}),
    },
  };
}

function sortedByPlace(list: ManifestError[]): ManifestError[] {
  return [...list].sort(
    (a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.line - b.line || a.column - b.column,
  );
}

function failure(name: string, errors: ManifestError[]): LoadResult {
  // A value read by several merges (an extended service, an included file) may be reported more than once.
  const seen = new Set<string>();
  const once = errors.filter((e) => {
    const key = `${e.file}\0${e.line}\0${e.column}\0${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return { ok: false, name, errors: capErrors(sortedByPlace(once)) };
}

/** The profiles active for the stack: mooring.yaml's, else COMPOSE_PROFILES of its .env, as compose. */
function activeProfiles(
  fromPolicy: readonly string[] | undefined,
  vars: Readonly<Record<string, string>>,
): Set<string> {
  if (fromPolicy !== undefined) return new Set(fromPolicy);
  const listed = vars.COMPOSE_PROFILES ?? '';
  return new Set(
    listed
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== ''),
  );
}

/**
 * Services that name profiles none of which is active, with their profiles: compose leaves them out
 * of the project. Their other keys are not read: a service nobody runs is not refused for what it
 * would do.
 */
function inactiveServices(yaml: YamlFile, entries: Entry[], active: Set<string>): Map<string, string[]> {
  const inactive = new Map<string, string[]>();
  for (const entry of entries) {
    if (!yaml.isMap(entry.value)) continue;
    const field = (yaml.map(entry.value, entry.path) ?? []).find((e) => e.key === 'profiles');
    if (field === undefined || yaml.isNull(field.value)) continue;
    const profiles = yaml.stringList(field.value, field.path);
    if (profiles === undefined || profiles.length === 0) continue;
    if (active.has('*') || profiles.some((p) => active.has(p))) continue;
    inactive.set(entry.key, profiles);
  }
  return inactive;
}

/**
 * A dependency on a service of an inactive profile: dropped when it says `required: false`, else an
 * error that says which profile to activate (compose refuses it too).
 */
function dropInactiveDependencies(
  yaml: YamlFile,
  results: ServiceResult[],
  inactive: Map<string, string[]>,
  entries: Entry[],
): void {
  if (inactive.size === 0) return;
  const entryOf = new Map(entries.map((e) => [e.key, e]));
  for (const r of results) {
    for (const [dep, node] of [...r.dependsOn]) {
      const profiles = inactive.get(dep);
      if (profiles === undefined) continue;
      if (!dependencyRequired(yaml, entryOf.get(r.service.name), dep)) {
        r.dependsOn.delete(dep);
        r.service.dependsOn = r.service.dependsOn.filter((d) => d.service !== dep);
        continue;
      }
      const which =
        profiles.length === 1 ? `profile ${profiles[0]}` : `one of the profiles ${profiles.join(', ')}`;
      yaml.errorAt(
        node,
        `services.${r.service.name}: depends on "${dep}", which runs only with ${which}, not active for this stack; activate it in mooring.yaml (stacks: <stack>: profiles: [${profiles[0]}]) or COMPOSE_PROFILES in its .env, or mark the dependency required: false`,
      );
      r.dependsOn.delete(dep);
    }
  }
}

/** Whether `service`'s depends_on entry for `dep` is required (compose's default: yes). */
function dependencyRequired(yaml: YamlFile, service: Entry | undefined, dep: string): boolean {
  if (service === undefined || !yaml.isMap(service.value)) return true;
  const dependsOn = (yaml.map(service.value, service.path) ?? []).find((e) => e.key === 'depends_on');
  if (dependsOn === undefined || !yaml.isMap(dependsOn.value)) return true;
  const entry = (yaml.map(dependsOn.value, dependsOn.path) ?? []).find((e) => e.key === dep);
  if (entry === undefined || !yaml.isMap(entry.value)) return true;
  const required = (yaml.map(entry.value, entry.path) ?? []).find((e) => e.key === 'required');
  if (required === undefined) return true;
  const v = yaml.scalar(required.value);
  return !(v === false || (typeof v === 'string' && v.toLowerCase() === 'false'));
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
