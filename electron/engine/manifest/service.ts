// One compose service → a DesiredService with every default filled in. Unknown keys are errors, never
// ignored: a silently dropped `deploy:` or `secrets:` would deploy something other than what was asked.
import { isIP } from 'node:net';
import type { Node } from 'yaml';
import type { DependsCondition, DesiredService, Healthcheck, PortBinding } from '../../shared/model.ts';
import { parseDotenv, parseRawEnvFile } from './dotenv.ts';
import type { DotenvResult } from './dotenv.ts';
import { parseDurationNs } from './duration.ts';
import { checkFileSize, formatBytes } from './limits.ts';
import { normalizeTarget, readMounts, resolveRepoPath } from './mounts.ts';
import { readServiceFiles } from './secrets.ts';
import { networkName, readServiceNetworks } from './service-networks.ts';
import { readBuild } from './build.ts';
import { imageRefProblem } from './image-ref.ts';
import { readDeploy } from './deploy.ts';
import { passthroughKey, PASSTHROUGH_KEYS } from './passthrough.ts';
import { addApiSocket, CONTAINER_KEYS, readContainerKeys } from './service-keys.ts';
import { isProtocol, parsePortRange, parsePortSpec } from './ports.ts';
import { capAllowed, normalizeCap, refuse, refusedSecurityOpt, safetyMessages } from './safety.ts';
import { shellSplit } from './shell-split.ts';
import type { StackContext } from './types.ts';
import type { Entry, YamlFile } from './yaml-file.ts';
import { readKeyValues, readLabels } from './key-values.ts';

const SERVICE_KEYS = [
  'image',
  'command',
  'entrypoint',
  'environment',
  'env_file',
  'ports',
  'volumes',
  'networks',
  'labels',
  'restart',
  'healthcheck',
  'depends_on',
  'init',
  'working_dir',
  'user',
  'hostname',
  'stop_grace_period',
  'container_name',
  'extra_hosts',
  'privileged',
  'network_mode',
  'pid',
  'ipc',
  'cap_add',
  'cap_drop',
  'devices',
  'security_opt',
  'build',
  'deploy',
  'secrets',
  'configs',
  // Read by the loader: a service of an inactive profile is not part of the stack (compose-loader.ts).
  'profiles',
];

// Docker's own healthcheck defaults, written out so that leaving one out and spelling it compare equal.
const HEALTHCHECK_DEFAULTS = { intervalNs: 30e9, timeoutNs: 30e9, retries: 3, startPeriodNs: 0 };
export interface ServiceResult {
  service: DesiredService;
  /** Services this one waits for, with where each is named (for dependency errors). */
  dependsOn: Map<string, Node>;
  /** Top-level network keys the service uses ('default' included). */
  networkKeys: string[];
}

export async function readService(ctx: StackContext, serviceEntry: Entry): Promise<ServiceResult | null> {
  const { yaml, stack } = ctx;
  const name = serviceEntry.key;
  const entries = yaml.map(serviceEntry.value, serviceEntry.path);
  if (entries === null) return null;
  yaml.rejectUnknown(entries, [...SERVICE_KEYS, ...PASSTHROUGH_KEYS, ...CONTAINER_KEYS]);
  const get = (key: string): Entry | undefined => entries.find((e) => e.key === key);

  const service: DesiredService = {
    name,
    image: '',
    command: null,
    entrypoint: null,
    environment: {},
    ports: [],
    mounts: [],
    networks: [],
    labels: {},
    restart: 'no',
    healthcheck: null,
    dependsOn: [],
    init: false,
    workingDir: null,
    user: null,
    hostname: null,
    stopGracePeriodSec: 10,
    containerName: `${stack}-${name}-1`,
    extraHosts: [],
    privileged: false,
    networkMode: null,
    pid: null,
    ipc: null,
    capAdd: [],
    capDrop: [],
    devices: [],
    securityOpt: [],
  };
  const dependsOn = new Map<string, Node>();

  const image = get('image');
  const build = get('build');
  let imageOk = true;
  if (image === undefined && build === undefined) {
    yaml.errorAt(
      serviceEntry.keyNode,
      `${serviceEntry.path}: set image (the image to run) or build (a folder of the config repo to build it from)`,
    );
  } else if (image !== undefined) {
    const v = yaml.string(image.value, image.path);
    const empty = v !== undefined && v.trim() === '';
    const problem = v === undefined || empty ? null : imageRefProblem(v);
    if (empty) {
      yaml.errorAt(image.value ?? image.keyNode, `${image.path} is empty`);
    } else if (problem !== null) {
      yaml.errorAt(
        image.value ?? image.keyNode,
        `${image.path}: "${v}" is not an image reference: ${problem}`,
      );
    } else if (v !== undefined) {
      service.image = v;
    }
    imageOk = v !== undefined && !empty && problem === null;
  }
  if (build !== undefined && imageOk) {
    // The service then runs the build's deterministic tag; `image:` becomes a name the result also gets.
    const built = await readBuild(
      ctx,
      build,
      { service: name, image: image === undefined ? null : { name: service.image, node: image.value } },
      { keyValues: readKeyValues, labels: readLabels, extraHosts: readExtraHosts },
    );
    if (built !== null) {
      service.build = built.build;
      service.image = built.tag;
    }
  }

  for (const e of entries) {
    const at = e.value ?? e.keyNode;
    const pass = passthroughKey(e.key);
    if (pass) {
      const value = pass.read(ctx, e);
      if (value === undefined) continue;
      const section = ((service.passthrough ??= {})[pass.target] ??= {});
      if (typeof pass.field === 'string') section[pass.field] = value;
      else Object.assign(section, value);
      continue;
    }
    switch (e.key) {
      case 'command':
      case 'entrypoint':
        service[e.key] = readCommand(yaml, e);
        break;
      case 'ports':
        service.ports = readPorts(yaml, e, ctx.budget);
        break;
      case 'labels':
        service.labels = readLabels(yaml, e);
        break;
      case 'restart': {
        const v = yaml.string(e.value, e.path);
        const m = v === undefined ? null : /^(no|always|unless-stopped|on-failure)(?::(\d+))?$/.exec(v);
        if (m !== null && (m[2] === undefined || m[1] === 'on-failure')) {
          service.restart = m[1] as DesiredService['restart'];
          if (m[2] !== undefined && Number(m[2]) > 0) service.restartMaxRetries = Number(m[2]);
        } else if (v !== undefined) {
          yaml.errorAt(at, `${e.path} must be no, always, on-failure[:N] or unless-stopped`);
        }
        break;
      }
      case 'healthcheck':
        service.healthcheck = readHealthcheck(yaml, e);
        break;
      case 'depends_on':
        service.dependsOn = readDependsOn(yaml, e, dependsOn);
        break;
      case 'init':
        service.init = yaml.bool(e.value, e.path) ?? false;
        break;
      case 'working_dir':
        service.workingDir = yaml.string(e.value, e.path) ?? null;
        break;
      case 'user':
        service.user = yaml.string(e.value, e.path) ?? null;
        break;
      case 'hostname':
        service.hostname = yaml.string(e.value, e.path) ?? null;
        break;
      case 'stop_grace_period': {
        const ns = readDuration(yaml, e);
        // Docker takes whole seconds; rounding up never shortens the time a service gets to stop.
        if (ns !== undefined) service.stopGracePeriodSec = Math.ceil(ns / 1e9);
        break;
      }
      case 'container_name': {
        const v = yaml.string(e.value, e.path);
        if (v !== undefined && /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(v)) service.containerName = v;
        else if (v !== undefined) yaml.errorAt(at, `${e.path}: "${v}" is not a valid container name`);
        break;
      }
      case 'extra_hosts':
        service.extraHosts = readExtraHosts(yaml, e);
        break;
      case 'privileged': {
        const v = yaml.bool(e.value, e.path);
        if (v === true && !ctx.safety.allowPrivileged) {
          refuse(ctx, at, e.path, safetyMessages.privileged, { setting: 'allowPrivileged' });
        }
        service.privileged = v ?? false;
        break;
      }
      case 'network_mode':
      case 'pid':
      case 'ipc': {
        const v = yaml.string(e.value, e.path);
        if (v === undefined) break;
        const shared = readNamespaceMode(ctx, e, v);
        // Sharing another service's namespace makes it a dependency, as in compose.
        if (shared !== null) dependsOn.set(shared, at);
        service[e.key === 'network_mode' ? 'networkMode' : e.key] = v;
        break;
      }
      case 'cap_add':
      case 'cap_drop': {
        const caps = readStrings(yaml, e).map(({ value, node }) => {
          const cap = normalizeCap(value);
          if (e.key === 'cap_add' && !capAllowed(cap, ctx.safety)) {
            refuse(ctx, node, e.path, safetyMessages.capAdd(cap), { setting: 'allowCapAdd', value: cap });
          }
          return cap;
        });
        service[e.key === 'cap_add' ? 'capAdd' : 'capDrop'] = [...new Set(caps)].sort();
        break;
      }
      case 'devices': {
        service.devices = readStrings(yaml, e).map(({ value }) => value);
        if (service.devices.length > 0 && !ctx.safety.allowDevices) {
          refuse(ctx, at, e.path, safetyMessages.devices, { setting: 'allowDevices' });
        }
        break;
      }
      case 'security_opt':
        service.securityOpt = readStrings(yaml, e).map(({ value, node }) => {
          const effect = refusedSecurityOpt(value, ctx.safety);
          if (effect !== null) {
            refuse(ctx, node, e.path, safetyMessages.securityOpt(value, effect), {
              setting: 'allowSecurityOpt',
              value,
            });
          }
          return value;
        });
        break;
    }
  }
  await readContainerKeys(ctx, entries, service, dependsOn, {
    command: readCommand,
    keyValues: readKeyValues,
    envFile: readEnvFile,
  });

  const listed = new Set(service.dependsOn.map((d) => d.service));
  for (const dep of dependsOn.keys()) {
    if (!listed.has(dep)) service.dependsOn.push({ service: dep, condition: 'service_started' });
  }
  service.dependsOn.sort(byKey((d) => d.service));

  // After the other keys: its limits must agree with theirs, and its restart policy wins over restart:.
  const deploy = get('deploy');
  if (deploy !== undefined) readDeploy(ctx, deploy, service);
  const container = get('container_name');
  if (container !== undefined && (service.replicas ?? 1) > 1) {
    yaml.errorAt(
      container.keyNode,
      `${container.path}: a fixed container name cannot be used with ${service.replicas} replicas; remove container_name or set one replica`,
    );
  }

  service.environment = await readEnvironment(ctx, get('env_file'), get('environment'));
  const volumes = get('volumes');
  if (volumes !== undefined) service.mounts = await readMounts(ctx, volumes);
  readSecretsAndConfigs(ctx, service, get);
  if (service.useApiSocket) addApiSocket(service);

  const networks = get('networks');
  let networkKeys: string[] = [];
  if (networks !== undefined && service.networkMode !== null) {
    yaml.errorAt(networks.keyNode, `${networks.path}: a service cannot have both network_mode and networks`);
  } else if (networks !== undefined) {
    networkKeys = readServiceNetworks(ctx, networks, service);
  } else if (service.networkMode === null) {
    networkKeys = ['default'];
    service.networks = [{ name: networkName(ctx, 'default'), aliases: [name] }];
  }
  return { service, dependsOn, networkKeys };
}

// The modes Docker knows besides `container:NAME` (and compose's `service:NAME`); `''` is Docker's default.
const NAMESPACE_MODES: Record<string, readonly string[]> = {
  network_mode: ['none', 'bridge', 'default', 'host'],
  pid: ['', 'host'],
  ipc: ['', 'none', 'private', 'shareable', 'host'],
};

/**
 * Checks a network_mode, pid or ipc value against the safety policy; returns the service it shares, if
 * any. Anything but the known modes is refused: for network_mode Docker would take it as the name of a
 * network, or as a prefix of any network's id, so a guessed prefix of the host network's id would bring
 * host networking past the `host` check (issue 10).
 */
function readNamespaceMode(ctx: StackContext, e: Entry, v: string): string | null {
  const { yaml, safety } = ctx;
  const at = e.value ?? e.keyNode;
  const m = /^(service|container):(.*)$/.exec(v);
  if (m !== null) {
    const kind = m[1]!;
    const name = m[2]!;
    if (name === '') {
      yaml.errorAt(at, `${e.path}: ${kind}: must be followed by a ${kind} name`);
    } else if (kind === 'service') {
      return name;
    } else if (!safety.allowContainerNamespaces) {
      refuse(ctx, at, e.path, safetyMessages.containerNamespace(e.key, name), {
        setting: 'allowContainerNamespaces',
      });
    }
    return null;
  }
  const known = NAMESPACE_MODES[e.key]!;
  if (v === 'host') {
    if (!safety.allowHostNamespaces) {
      refuse(ctx, at, e.path, safetyMessages.hostNamespace(e.key), { setting: 'allowHostNamespaces' });
    }
  } else if (!known.includes(v)) {
    const modes = [...known.filter((k) => k !== '' && k !== 'default'), 'service:NAME', 'container:NAME'];
    const hint = e.key === 'network_mode' ? "; to join a network, list it under the service's networks" : '';
    yaml.errorAt(at, `${e.path}: "${v}" is not one of ${modes.join(', ')}${hint}`);
  }
  return null;
}

function readCommand(yaml: YamlFile, e: Entry): string[] | null {
  if (yaml.isNull(e.value)) return null;
  if (yaml.isSeq(e.value)) return yaml.stringList(e.value, e.path) ?? null;
  const text = yaml.scalar(e.value);
  if (typeof text !== 'string') {
    yaml.errorAt(e.value, `${e.path} must be a string or a list of strings`);
    return null;
  }
  const split = shellSplit(text);
  if (split.ok) return split.words;
  yaml.errorAt(e.value, `${e.path} ${split.error}`);
  return null;
}

/** Items of a list of strings, each with its node for errors. */
function readStrings(yaml: YamlFile, e: Entry): { value: string; node: Node | null }[] {
  const out: { value: string; node: Node | null }[] = [];
  for (const item of yaml.seq(e.value, e.path) ?? []) {
    const value = yaml.string(item.node, item.path);
    if (value !== undefined) out.push({ value, node: item.node });
  }
  return out;
}

/**
 * `env_file` and `environment`, as compose resolves them (compose-go's WithServicesEnvironmentResolved):
 * a bare name in `environment` takes the stack's variable of that name, or is unset; each env file is
 * read over what came before, its `${VAR}` looking first at the stack's variables, then at
 * `environment`, then at its own earlier lines; `environment` wins over every env file, an unset bare
 * name included (compose then unsets the variable in the container).
 */
async function readEnvironment(
  ctx: StackContext,
  envFile: Entry | undefined,
  environment: Entry | undefined,
): Promise<Record<string, string>> {
  const { yaml } = ctx;
  const own = new Map<string, string | null>();
  if (environment !== undefined) {
    for (const { key, value, node } of readKeyValues(yaml, environment)) {
      // A bare name takes its value from the variables the file was read with (the stack's .env, or an
      // include's); compose would also read the shell of whoever runs it, which would make the desired
      // state depend on the machine.
      const vars = yaml.varsOf(node);
      own.set(key, value ?? (Object.hasOwn(vars, key) ? vars[key]! : null));
    }
  }
  let env: Record<string, string> = {};
  for (const [key, value] of own) if (value !== null) env[key] = value;
  if (envFile !== undefined) {
    const lookup = (name: string): string | undefined =>
      Object.hasOwn(ctx.vars, name) ? ctx.vars[name] : (own.get(name) ?? undefined);
    for (const file of readEnvFileList(yaml, envFile)) {
      const repoPath =
        file.path.startsWith('/') || file.path.startsWith('~')
          ? null
          : resolveRepoPath(yaml.dirOf(file.node), file.path);
      if (repoPath === null) {
        yaml.errorAt(
          file.node,
          `${envFile.path}: ${file.path} must be a path inside the config repo, relative to ${relativeTo(ctx, yaml.dirOf(file.node))}`,
        );
        continue;
      }
      const text = await readEnvFileText(ctx, repoPath);
      if (text === null) {
        if (file.required) {
          yaml.errorAt(
            file.node,
            `${envFile.path}: ${repoPath} does not exist in the config repo at this revision; commit it or mark it required: false`,
          );
        }
        continue;
      }
      const parsed =
        file.format === 'raw'
          ? parseRawEnvFile(text, repoPath, { lookup, initial: env })
          : parseDotenv(text, repoPath, { lookup, initial: env });
      reportOnce(ctx, parsed);
      env = parsed.vars;
    }
  }
  const unset = new Set([...own].filter(([, value]) => value === null).map(([key]) => key));
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (!unset.has(key)) out[key] = value;
  for (const [key, value] of own) if (value !== null) out[key] = value;
  return out;
}

/** Where relative paths start, for a message: the stack folder, or the folder of an included file. */
function relativeTo(ctx: StackContext, dir: string): string {
  return dir === ctx.stackDir ? 'the stack folder' : dir === '' ? 'the repo root' : dir;
}

/** What each stack has read of its env files: the texts by path, and the problems already reported. */
const envFileState = new WeakMap<
  StackContext,
  { texts: Map<string, string | null>; reported: Set<string> }
>();

function envState(ctx: StackContext): { texts: Map<string, string | null>; reported: Set<string> } {
  let state = envFileState.get(ctx);
  if (state === undefined) {
    state = { texts: new Map(), reported: new Set() };
    envFileState.set(ctx, state);
  }
  return state;
}

/** An env file is read by every service that names it: each of its problems is said once. */
function reportOnce(ctx: StackContext, parsed: DotenvResult): void {
  const { reported } = envState(ctx);
  for (const [list, into] of [
    [parsed.errors, ctx.yaml.errors],
    [parsed.warnings, ctx.yaml.warnings],
  ] as const) {
    for (const problem of list) {
      const key = `${problem.file}:${problem.line}:${problem.column}:${problem.message}`;
      if (reported.has(key)) continue;
      reported.add(key);
      into.push(problem);
    }
  }
}

/**
 * The text of an env file of the repo, or null when absent. Each path is read once per stack, and all
 * of them together may not exceed the size limit of one file: otherwise a short compose file could name
 * one large blob under thousands of paths.
 */
async function readEnvFileText(ctx: StackContext, repoPath: string): Promise<string | null> {
  const { texts } = envState(ctx);
  if (texts.has(repoPath)) return texts.get(repoPath)!;
  // Past the budget the stack has failed already: no more reading, nor one more error per entry.
  if (ctx.budget.envBytes < 0) return '';
  const text = await ctx.reader.readFile(repoPath);
  let kept: string | null = text;
  if (text !== null) {
    const max = ctx.safety.maxManifestBytes;
    const tooLarge = checkFileSize(text, repoPath, max);
    // A string has no more UTF-16 units than UTF-8 bytes: the byte count is needed only when it fits.
    const bytes =
      tooLarge === null && text.length <= ctx.budget.envBytes ? Buffer.byteLength(text, 'utf8') : null;
    if (tooLarge !== null) {
      ctx.yaml.errors.push(tooLarge);
      kept = '';
    } else if (bytes === null || bytes > ctx.budget.envBytes) {
      ctx.budget.envBytes = -1;
      const message = `${repoPath} brings the env files of this stack past ${formatBytes(max)} in all, the limit of safety.maxManifestBytes in settings.json`;
      ctx.yaml.errors.push({ file: repoPath, line: 1, column: 1, message });
      kept = '';
    } else {
      ctx.budget.envBytes -= bytes;
    }
  }
  texts.set(repoPath, kept);
  return kept;
}

/**
 * An env file of the repo read as compose reads a label_file (no variables but its own earlier ones),
 * or null when absent; parsed once per stack.
 */
async function readEnvFile(ctx: StackContext, repoPath: string): Promise<DotenvResult | null> {
  const known = ctx.envFiles.get(repoPath);
  if (known !== undefined) return known;
  const text = await readEnvFileText(ctx, repoPath);
  const parsed = text === null ? null : parseDotenv(text, repoPath);
  if (parsed !== null) reportOnce(ctx, parsed);
  ctx.envFiles.set(repoPath, parsed);
  return parsed;
}

interface EnvFileEntry {
  path: string;
  required: boolean;
  format?: 'raw';
  node: Node | null;
}

/** `env_file`: a path, a list of paths, or a list of `{path, required, format}` (compose's forms). */
function readEnvFileList(yaml: YamlFile, e: Entry): EnvFileEntry[] {
  if (!yaml.isSeq(e.value)) {
    const path = yaml.string(e.value, e.path);
    return path === undefined ? [] : [{ path, required: true, node: e.value }];
  }
  const out: EnvFileEntry[] = [];
  for (const item of yaml.seq(e.value, e.path) ?? []) {
    if (!yaml.isMap(item.node)) {
      const path = yaml.string(item.node, item.path);
      if (path !== undefined) out.push({ path, required: true, node: item.node });
      continue;
    }
    const fields = yaml.map(item.node, item.path) ?? [];
    yaml.rejectUnknown(fields, ['path', 'required', 'format']);
    const pathEntry = fields.find((f) => f.key === 'path');
    const requiredEntry = fields.find((f) => f.key === 'required');
    const formatEntry = fields.find((f) => f.key === 'format');
    const path = pathEntry === undefined ? undefined : yaml.string(pathEntry.value, pathEntry.path);
    if (pathEntry === undefined) yaml.errorAt(item.node, `${item.path}.path is required`);
    const required = requiredEntry === undefined ? true : yaml.bool(requiredEntry.value, requiredEntry.path);
    let format: 'raw' | undefined;
    let formatOk = true;
    if (formatEntry !== undefined) {
      const v = yaml.string(formatEntry.value, formatEntry.path);
      // compose knows its own format (the default) and docker run's `raw`, and refuses any other.
      if (v === 'raw') format = 'raw';
      else if (v !== undefined && v !== '') {
        yaml.errorAt(
          formatEntry.value,
          `${formatEntry.path}: unsupported env_file format "${v}"; leave it out, or write raw`,
        );
        formatOk = false;
      }
    }
    if (path !== undefined && required !== undefined && formatOk) {
      out.push({ path, required, node: item.node, ...(format ? { format } : {}) });
    }
  }
  return out;
}

/** `budget.portBindings` bounds what port ranges of the whole stack expand to, one binding per port. */
function readPorts(yaml: YamlFile, e: Entry, budget: StackContext['budget']): PortBinding[] {
  const ports: PortBinding[] = [];
  for (const item of yaml.seq(e.value, e.path) ?? []) {
    if (yaml.isMap(item.node)) {
      const binding = readLongPort(yaml, item.node!, item.path);
      if (binding !== null) ports.push(binding);
      continue;
    }
    const spec = yaml.string(item.node, item.path);
    if (spec === undefined) continue;
    const parsed = parsePortSpec(spec, budget.portBindings);
    if (parsed.ok) {
      budget.portBindings -= parsed.bindings.length;
      for (const binding of parsed.bindings) ports.push(binding);
    } else {
      yaml.errorAt(item.node, `${item.path}: ${parsed.error}`);
    }
  }
  return ports;
}

function readLongPort(yaml: YamlFile, node: Node, path: string): PortBinding | null {
  const fields = yaml.map(node, path) ?? [];
  yaml.rejectUnknown(fields, ['target', 'published', 'host_ip', 'protocol', 'mode']);
  const binding: PortBinding = { hostIp: '', hostPort: '', containerPort: 0, protocol: 'tcp' };
  let ok = true;
  for (const f of fields) {
    const at = f.value ?? f.keyNode;
    if (f.key === 'target') {
      const v = yaml.int(f.value, f.path, 1, 65535);
      if (v === undefined) ok = false;
      else binding.containerPort = v;
    } else if (f.key === 'published') {
      const text = yaml.string(f.value, f.path);
      const range = text === undefined ? null : parsePortRange(text);
      if (range === null || typeof range === 'string') {
        if (typeof range === 'string') yaml.errorAt(at, `${f.path}: ${range}`);
        ok = false;
      } else {
        binding.hostPort = range[0] === range[1] ? String(range[0]) : text!;
      }
    } else if (f.key === 'host_ip') {
      const v = yaml.string(f.value, f.path);
      if (v !== undefined && isIP(v) !== 0) binding.hostIp = v;
      else {
        if (v !== undefined) yaml.errorAt(at, `${f.path}: "${v}" is not an IP address`);
        ok = false;
      }
    } else if (f.key === 'protocol') {
      const v = yaml.string(f.value, f.path);
      if (v !== undefined && isProtocol(v)) binding.protocol = v;
      else {
        if (v !== undefined) yaml.errorAt(at, `${f.path} must be tcp, udp or sctp`);
        ok = false;
      }
    } else if (f.key === 'mode') {
      // A single engine has no routing mesh: both modes publish on this host.
      const v = yaml.scalar(f.value);
      if (v !== 'host' && v !== 'ingress') {
        yaml.errorAt(at, `${f.path} must be host or ingress`);
        ok = false;
      }
    }
  }
  if (!fields.some((f) => f.key === 'target')) {
    yaml.errorAt(node, `${path}.target is required`);
    ok = false;
  }
  return ok ? binding : null;
}

function readDuration(yaml: YamlFile, e: Entry): number | undefined {
  const v = yaml.scalar(e.value);
  const ns = typeof v === 'string' ? parseDurationNs(v) : null;
  if (ns === null) {
    yaml.errorAt(e.value ?? e.keyNode, `${e.path} must be a duration such as 10s, 1m30s or 500ms`);
    return undefined;
  }
  return ns;
}

function readHealthcheck(yaml: YamlFile, e: Entry): Healthcheck | null {
  const fields = yaml.map(e.value, e.path);
  if (fields === null) return null;
  yaml.rejectUnknown(fields, ['test', 'interval', 'timeout', 'start_period', 'retries', 'disable']);
  // No test keeps the image's own test (an empty list tells Docker so) with the intervals given here.
  const check: Healthcheck = { test: [], ...HEALTHCHECK_DEFAULTS };
  let disable = false;
  for (const f of fields) {
    switch (f.key) {
      case 'test': {
        if (yaml.isSeq(f.value)) {
          const test = yaml.stringList(f.value, f.path) ?? [];
          if (test.length > 0 && !['NONE', 'CMD', 'CMD-SHELL'].includes(test[0]!)) {
            yaml.errorAt(f.value, `${f.path}: a test list starts with CMD, CMD-SHELL or NONE`);
          }
          check.test = test;
        } else {
          const text = yaml.string(f.value, f.path);
          if (text !== undefined) check.test = ['CMD-SHELL', text];
        }
        break;
      }
      case 'interval':
        check.intervalNs = readDuration(yaml, f) ?? check.intervalNs;
        break;
      case 'timeout':
        check.timeoutNs = readDuration(yaml, f) ?? check.timeoutNs;
        break;
      case 'start_period':
        check.startPeriodNs = readDuration(yaml, f) ?? check.startPeriodNs;
        break;
      case 'retries':
        check.retries = yaml.int(f.value, f.path, 0, 1_000_000) ?? check.retries;
        break;
      case 'disable':
        disable = yaml.bool(f.value, f.path) ?? false;
        break;
    }
  }
  if (!disable) return check;
  if (fields.some((f) => f.key === 'test')) {
    yaml.errorAt(e.value, `${e.path}: set either test or disable: true, not both`);
  }
  return { test: ['NONE'], intervalNs: 0, timeoutNs: 0, retries: 0, startPeriodNs: 0 };
}

const CONDITIONS: readonly string[] = [
  'service_started',
  'service_healthy',
  'service_completed_successfully',
];

function readDependsOn(yaml: YamlFile, e: Entry, where: Map<string, Node>): DesiredService['dependsOn'] {
  const out: DesiredService['dependsOn'] = [];
  if (yaml.isSeq(e.value)) {
    for (const item of yaml.seq(e.value, e.path) ?? []) {
      const service = yaml.string(item.node, item.path);
      if (service === undefined) continue;
      where.set(service, item.node!);
      out.push({ service, condition: 'service_started' });
    }
  } else {
    for (const dep of yaml.map(e.value, e.path) ?? []) {
      where.set(dep.key, dep.keyNode);
      let condition: DependsCondition = 'service_started';
      if (!yaml.isNull(dep.value)) {
        const fields = yaml.map(dep.value, dep.path) ?? [];
        yaml.rejectUnknown(fields, ['condition', 'restart', 'required']);
        for (const f of fields) {
          if (f.key === 'condition') {
            const v = yaml.scalar(f.value);
            if (typeof v === 'string' && CONDITIONS.includes(v)) condition = v as DependsCondition;
            else yaml.errorAt(f.value ?? f.keyNode, `${f.path} must be one of ${CONDITIONS.join(', ')}`);
          } else {
            // restart/required only matter to `docker compose` itself; they are checked, not used.
            yaml.bool(f.value, f.path);
          }
        }
      }
      out.push({ service: dep.key, condition });
    }
  }
  return out;
}

function readExtraHosts(yaml: YamlFile, e: Entry): string[] {
  const pairs: { host: string; ip: string; node: Node | null }[] = [];
  if (yaml.isMap(e.value)) {
    for (const kv of yaml.map(e.value, e.path) ?? []) {
      const ip = yaml.string(kv.value, kv.path);
      if (ip !== undefined) pairs.push({ host: kv.key, ip, node: kv.value });
    }
  } else if (!yaml.isSeq(e.value)) {
    yaml.errorAt(e.value ?? e.keyNode, `${e.path} must be a list or a map`);
  } else {
    for (const item of yaml.seq(e.value, e.path) ?? []) {
      const text = yaml.string(item.node, item.path);
      if (text === undefined) continue;
      // `host=ip` is unambiguous with IPv6; `host:ip` splits at the first colon.
      const sep = text.includes('=') ? text.indexOf('=') : text.indexOf(':');
      if (sep <= 0) {
        yaml.errorAt(item.node, `${item.path}: "${text}" must be host:ip or host=ip`);
        continue;
      }
      pairs.push({ host: text.slice(0, sep), ip: text.slice(sep + 1), node: item.node });
    }
  }
  const hosts = new Set<string>();
  for (const { host, ip, node } of pairs) {
    const bare = ip.replace(/^\[(.*)\]$/, '$1');
    if (isIP(bare) === 0 && bare !== 'host-gateway') {
      yaml.errorAt(node, `${e.path}: "${ip}" is not an IP address (or host-gateway)`);
      continue;
    }
    hosts.add(`${host}:${bare}`);
  }
  return [...hosts].sort();
}

/** Sorting by a string key: arrays whose order means nothing are sorted so that equal specs hash equal. */
function byKey<T>(key: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
}

/**
 * `secrets:` and `configs:` (secrets.ts), left undefined when the service has none (spec-hash
 * stability). Where a volume is mounted at the same path, the volume is what the container gets, as in
 * compose; the file is left out and that is said.
 */
function readSecretsAndConfigs(
  ctx: StackContext,
  service: DesiredService,
  get: (key: string) => Entry | undefined,
): void {
  const taken = new Set(service.mounts.map((m) => normalizeTarget(m.target)));
  for (const kind of ['secrets', 'configs'] as const) {
    const e = get(kind);
    if (e === undefined || ctx.files === undefined) continue;
    const files = readServiceFiles(ctx, e, kind, ctx.files[kind]).filter((f) => {
      if (!taken.has(f.target)) {
        taken.add(f.target);
        return true;
      }
      ctx.yaml.warnAt(
        e.keyNode,
        `${e.path}: ${f.name} is not mounted: ${f.target} is already mounted by the service`,
      );
      return false;
    });
    if (files.length > 0) service[kind] = files;
  }
}
