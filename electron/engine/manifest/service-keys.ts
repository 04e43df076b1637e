// Service keys of the Compose Specification that are more than one create field each (issue 11): ports
// only exposed, links, volumes_from, label files, lifecycle hooks, the platform and pull policy of the
// image, the engine socket on request, and the keys that only the compose CLI (or a Windows engine, or
// a model runner) acts on, which are kept and said rather than refused.
import type { Node } from 'yaml';
import type { DesiredService, ServiceHook } from '../../shared/model.ts';
import type { DotenvResult } from './dotenv.ts';
import { resolveRepoPath } from './mounts.ts';
import { parsePortRange } from './ports.ts';
import { refuse, safetyMessages } from './safety.ts';
import type { StackContext } from './types.ts';
import { RESERVED_LABEL_PREFIXES } from './key-values.ts';
import type { Entry, YamlFile } from './yaml-file.ts';

export const CONTAINER_KEYS = [
  'expose',
  'links',
  'external_links',
  'volumes_from',
  'label_file',
  'post_start',
  'pre_stop',
  'pre_start',
  'use_api_socket',
  'platform',
  'pull_policy',
  'pull_refresh_after',
  'scale',
  'attach',
  'develop',
  'credential_spec',
  'models',
  'provider',
];

/** Readers of service.ts that these keys share (passed in: service.ts imports this file). */
export interface SharedReaders {
  command: (yaml: YamlFile, e: Entry) => string[] | null;
  keyValues: (yaml: YamlFile, e: Entry) => { key: string; value: string | null; node: Node }[];
  envFile: (ctx: StackContext, repoPath: string) => Promise<DotenvResult | null>;
}

const at = (e: Entry): Node | null => e.value ?? e.keyNode;

/**
 * Reads the keys of CONTAINER_KEYS into `service`. Services named by links and volumes_from become
 * dependencies in `dependsOn`, as compose makes them.
 */
export async function readContainerKeys(
  ctx: StackContext,
  entries: Entry[],
  service: DesiredService,
  dependsOn: Map<string, Node>,
  readers: SharedReaders,
): Promise<void> {
  const { yaml } = ctx;
  for (const e of entries) {
    switch (e.key) {
      case 'expose': {
        const expose = readExpose(ctx, e);
        if (expose.length > 0) service.expose = expose;
        break;
      }
      case 'links':
      case 'external_links': {
        const links = readLinks(yaml, e, e.key === 'links' ? dependsOn : null);
        if (links.length > 0) service[e.key === 'links' ? 'links' : 'externalLinks'] = links;
        break;
      }
      case 'volumes_from': {
        const from = readVolumesFrom(ctx, e, dependsOn);
        if (from.length > 0) service.volumesFrom = from;
        break;
      }
      case 'label_file': {
        // The file's labels first, `labels:` over them, as compose merges them.
        const fromFiles = await readLabelFiles(ctx, e, readers);
        if (Object.keys(fromFiles).length > 0) service.labels = { ...fromFiles, ...service.labels };
        break;
      }
      case 'post_start':
      case 'pre_stop': {
        const hooks = readHooks(ctx, e, readers);
        if (hooks.length > 0) service[e.key === 'post_start' ? 'postStart' : 'preStop'] = hooks;
        break;
      }
      case 'pre_start':
        yaml.seq(e.value, e.path);
        yaml.warnAt(
          e.keyNode,
          `${e.path} applies to the compose CLI only (a container it runs to completion before the service starts): Mooring does not run it, so do what it does another way (a service with depends_on condition: service_completed_successfully)`,
        );
        break;
      case 'use_api_socket': {
        const on = yaml.bool(e.value, e.path);
        if (on !== true) break;
        if (!ctx.safety.allowDockerSocket) {
          refuse(ctx, at(e), e.path, safetyMessages.dockerSocket('/var/run/docker.sock'), {
            setting: 'allowDockerSocket',
          });
          break;
        }
        service.useApiSocket = true;
        yaml.warnAt(
          e.keyNode,
          `${e.path}: the engine's socket is mounted at /var/run/docker.sock; unlike docker compose, Mooring does not copy this machine's registry credentials into the container`,
        );
        break;
      }
      case 'platform': {
        const v = yaml.string(e.value, e.path);
        if (v === undefined) break;
        const platform = v.trim().toLowerCase();
        if (/^[a-z0-9_]+\/[a-z0-9_]+(\/[a-z0-9_]+)?$/.test(platform)) service.platform = platform;
        else yaml.errorAt(at(e), `${e.path}: "${v}" is not a platform such as linux/amd64 or linux/arm64/v8`);
        break;
      }
      case 'pull_policy': {
        const v = yaml.string(e.value, e.path);
        if (v === undefined) break;
        if (pullPolicyMs(v) === null) {
          yaml.errorAt(
            at(e),
            `${e.path} must be always, never, missing, if_not_present, build, daily, weekly, every_<duration> (every_12h) or refresh, not "${v}"`,
          );
          break;
        }
        if (v === 'build' && service.build === undefined) {
          yaml.errorAt(at(e), `${e.path}: build needs a build: section that says what to build`);
          break;
        }
        service.pullPolicy = v;
        break;
      }
      case 'pull_refresh_after': {
        const v = yaml.string(e.value, e.path);
        if (v !== undefined && parseGoDurationMs(v) === null) {
          yaml.errorAt(at(e), `${e.path} must be a duration such as 12h or 7d`);
        }
        break;
      }
      case 'scale': {
        const n = yaml.int(e.value, e.path, 0, 10_000);
        if (n === undefined) break;
        // deploy.replicas is read after this (deploy.ts): the two must agree, as compose requires.
        const replicas = deployReplicas(yaml, entries);
        if (replicas !== undefined && replicas !== n) {
          yaml.errorAt(
            at(e),
            `${e.path}: scale (${n}) and deploy.replicas (${replicas}) differ; set only one of them`,
          );
        } else if (n !== 1) {
          service.replicas = n;
        }
        break;
      }
      case 'attach':
        yaml.bool(e.value, e.path);
        yaml.warnAt(
          e.keyNode,
          `${e.path} applies to the compose CLI only (which services \`docker compose up\` shows the output of); nothing to do on an engine`,
        );
        break;
      case 'develop':
        if (!yaml.isNull(e.value)) yaml.map(e.value, e.path);
        yaml.warnAt(
          e.keyNode,
          `${e.path} applies to the compose CLI only (\`docker compose watch\`); Mooring deploys what is committed`,
        );
        break;
      case 'credential_spec': {
        const fields = yaml.map(e.value, e.path) ?? [];
        yaml.rejectUnknown(fields, ['config', 'file', 'registry']);
        yaml.warnAt(e.keyNode, `${e.path} applies to Windows engines only; a Linux engine ignores it`);
        break;
      }
      case 'models':
        yaml.warnAt(
          e.keyNode,
          `${e.path} is for Docker Model Runner, which the compose CLI drives; Mooring runs the containers only, so the model endpoint variables are not set`,
        );
        break;
      case 'provider':
        yaml.warnAt(
          e.keyNode,
          `${e.path} hands the service to a compose provider plugin, which only the compose CLI runs; Mooring deploys nothing for it`,
        );
        break;
    }
  }
  const policy = entries.find((e) => e.key === 'pull_policy');
  const after = entries.find((e) => e.key === 'pull_refresh_after');
  if (service.pullPolicy === 'refresh') {
    const v = after === undefined ? undefined : yaml.scalar(after.value);
    const ms = typeof v === 'string' ? parseGoDurationMs(v) : null;
    if (ms === null && after === undefined) {
      yaml.errorAt(at(policy!), `${policy!.path}: refresh needs pull_refresh_after (a duration such as 12h)`);
    } else if (ms !== null) {
      service.pullPolicy = `every_${v as string}`;
    }
  }
}

/**
 * `use_api_socket: true` (allowed by then): the engine's socket, bind-mounted where the Docker CLI looks
 * for it, as compose mounts it; unless the file mounts something there itself.
 */
export function addApiSocket(service: DesiredService): void {
  const socket = '/var/run/docker.sock';
  if (service.mounts.some((m) => m.target === socket)) return;
  service.mounts.push({ type: 'bind', source: socket, target: socket, readOnly: false });
}

/** deploy.replicas as written, when it is a whole number. */
function deployReplicas(yaml: YamlFile, entries: Entry[]): number | undefined {
  const deploy = entries.find((e) => e.key === 'deploy');
  if (deploy === undefined || !yaml.isMap(deploy.value)) return undefined;
  const replicas = (yaml.map(deploy.value, deploy.path) ?? []).find((f) => f.key === 'replicas');
  const v = replicas === undefined ? undefined : yaml.scalar(replicas.value);
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) ? n : undefined;
}

/**
 * How long a pulled image is kept before it is pulled again: 0 for always, Infinity for never, build and
 * missing; null when `policy` is not one compose knows.
 */
export function pullPolicyMs(policy: string): number | null {
  switch (policy) {
    case 'always':
      return 0;
    case 'never':
    case 'build':
    case 'missing':
    case 'if_not_present':
    case 'refresh':
      return Infinity;
    case 'daily':
      return 24 * 3600e3;
    case 'weekly':
      return 7 * 24 * 3600e3;
  }
  if (!policy.startsWith('every_')) return null;
  return parseGoDurationMs(policy.slice('every_'.length));
}

const DURATION_UNIT_MS: Record<string, number> = {
  w: 7 * 24 * 3600e3,
  d: 24 * 3600e3,
  h: 3600e3,
  m: 60e3,
  s: 1e3,
  ms: 1,
};

/** `12h`, `1d12h`, `2w`: the durations compose accepts after every_ (days and weeks too); > 0. */
export function parseGoDurationMs(text: string): number | null {
  const re = /(\d+(?:\.\d+)?)(ms|w|d|h|m|s)/y;
  let total = 0;
  let matched = 0;
  while (re.lastIndex < text.length) {
    const m = re.exec(text);
    if (m === null) return null;
    total += Number(m[1]) * DURATION_UNIT_MS[m[2]!]!;
    matched++;
  }
  return matched > 0 && total > 0 ? total : null;
}

/** `80`, `8080/udp`, `9000-9001`: each port once, `N/proto`, sorted; ranges count against the stack's budget. */
function readExpose(ctx: StackContext, e: Entry): string[] {
  const { yaml } = ctx;
  const ports = new Set<string>();
  for (const item of yaml.seq(e.value, e.path) ?? []) {
    const text = yaml.string(item.node, item.path);
    if (text === undefined) continue;
    const m = /^(\d+(?:-\d+)?)(?:\/(tcp|udp|sctp))?$/.exec(text.trim());
    const range = m === null ? null : parsePortRange(m[1]!);
    if (m === null || range === null || typeof range === 'string') {
      const why = typeof range === 'string' ? `: ${range}` : '';
      yaml.errorAt(
        item.node,
        `${item.path}: "${text}" is not a port such as 80, 8080/udp or 9000-9010${why}`,
      );
      continue;
    }
    const [first, last] = range;
    if (last - first + 1 > ctx.budget.portBindings) {
      yaml.errorAt(item.node, `${item.path}: "${text}" exposes more ports than a container can have`);
      continue;
    }
    ctx.budget.portBindings -= last - first + 1;
    for (let p = first; p <= last; p++) ports.add(`${p}/${m[2] ?? 'tcp'}`);
  }
  return [...ports].sort(byPort);
}

function byPort(a: string, b: string): number {
  return parseInt(a, 10) - parseInt(b, 10) || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * `SERVICE[:ALIAS]` (links) or `CONTAINER[:ALIAS]` (external_links) → `NAME:ALIAS`, sorted. A link names
 * a service it depends on, as in compose.
 */
function readLinks(yaml: YamlFile, e: Entry, dependsOn: Map<string, Node> | null): string[] {
  const out = new Set<string>();
  for (const item of yaml.seq(e.value, e.path) ?? []) {
    const text = yaml.string(item.node, item.path);
    if (text === undefined) continue;
    const [name = '', alias = name, ...rest] = text.split(':');
    const valid = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
    if (rest.length > 0 || !valid.test(name) || !valid.test(alias)) {
      const what = dependsOn === null ? 'CONTAINER' : 'SERVICE';
      yaml.errorAt(item.node, `${item.path}: "${text}" must be ${what} or ${what}:ALIAS`);
      continue;
    }
    if (dependsOn !== null && item.node !== null) dependsOn.set(name, item.node);
    out.add(`${name}:${alias}`);
  }
  return [...out].sort();
}

/**
 * `SERVICE[:ro|rw]` or `container:NAME[:ro|rw]` → the same with `:rw` left out. Another service's
 * volumes were checked by the safety policy with it; a container outside the stack may hold anything
 * (the Docker socket, a host folder), so it is guarded like joining its namespaces.
 */
function readVolumesFrom(ctx: StackContext, e: Entry, dependsOn: Map<string, Node>): string[] {
  const { yaml, safety } = ctx;
  const out: string[] = [];
  for (const item of yaml.seq(e.value, e.path) ?? []) {
    const text = yaml.string(item.node, item.path);
    if (text === undefined) continue;
    const m = /^(container:)?([a-zA-Z0-9][a-zA-Z0-9_.-]*)(?::(ro|rw))?$/.exec(text);
    if (m === null) {
      yaml.errorAt(item.node, `${item.path}: "${text}" must be SERVICE, SERVICE:ro or container:NAME[:ro]`);
      continue;
    }
    const [, container, name, mode] = m;
    if (container !== undefined && !safety.allowContainerNamespaces) {
      refuse(ctx, item.node, item.path, safetyMessages.containerVolumes(name!), {
        setting: 'allowContainerNamespaces',
      });
      continue;
    }
    if (container === undefined && item.node !== null) dependsOn.set(name!, item.node);
    out.push(`${container ?? ''}${name!}${mode === 'ro' ? ':ro' : ''}`);
  }
  return out;
}

/** Labels from files of the repo (`KEY=VALUE` lines, like an env file), in order: a later file wins. */
async function readLabelFiles(
  ctx: StackContext,
  e: Entry,
  readers: SharedReaders,
): Promise<Record<string, string>> {
  const { yaml } = ctx;
  const files: { path: string; node: Node | null; itemPath: string }[] = [];
  if (yaml.isSeq(e.value)) {
    for (const item of yaml.seq(e.value, e.path) ?? []) {
      const path = yaml.string(item.node, item.path);
      if (path !== undefined) files.push({ path, node: item.node, itemPath: item.path });
    }
  } else {
    const path = yaml.string(e.value, e.path);
    if (path !== undefined) files.push({ path, node: at(e), itemPath: e.path });
  }
  const labels: Record<string, string> = {};
  for (const file of files) {
    const repoPath =
      file.path.startsWith('/') || file.path.startsWith('~')
        ? null
        : resolveRepoPath(ctx.yaml.dirOf(file.node), file.path);
    if (repoPath === null) {
      yaml.errorAt(
        file.node,
        `${file.itemPath}: ${file.path} must be a path inside the config repo, relative to the stack folder`,
      );
      continue;
    }
    const parsed = await readers.envFile(ctx, repoPath);
    if (parsed === null) {
      yaml.errorAt(
        file.node,
        `${file.itemPath}: ${repoPath} does not exist in the config repo at this revision`,
      );
      continue;
    }
    for (const [key, value] of Object.entries(parsed.vars)) {
      if (RESERVED_LABEL_PREFIXES.some((p) => key.startsWith(p))) {
        yaml.errorAt(
          file.node,
          `${file.itemPath}: label ${key} in ${repoPath} is reserved; Mooring sets the com.docker.compose.* and dev.mooring.* labels itself`,
        );
        continue;
      }
      labels[key] = value;
    }
  }
  return labels;
}

/** post_start / pre_stop: commands run in the service's container after it starts, before it stops. */
function readHooks(ctx: StackContext, e: Entry, readers: SharedReaders): ServiceHook[] {
  const { yaml } = ctx;
  const hooks: ServiceHook[] = [];
  for (const item of yaml.seq(e.value, e.path) ?? []) {
    const fields = yaml.map(item.node, item.path);
    if (fields === null) continue;
    yaml.rejectUnknown(fields, ['command', 'user', 'privileged', 'working_dir', 'environment']);
    const hook: ServiceHook = { command: [] };
    for (const f of fields) {
      switch (f.key) {
        case 'command':
          hook.command = readers.command(yaml, f) ?? [];
          break;
        case 'user': {
          const v = yaml.string(f.value, f.path);
          if (v !== undefined && v !== '') hook.user = v;
          break;
        }
        case 'working_dir': {
          const v = yaml.string(f.value, f.path);
          if (v !== undefined && v !== '') hook.workingDir = v;
          break;
        }
        case 'privileged': {
          if (yaml.bool(f.value, f.path) !== true) break;
          if (!ctx.safety.allowPrivileged) {
            refuse(ctx, at(f), f.path, safetyMessages.hookPrivileged, { setting: 'allowPrivileged' });
            break;
          }
          hook.privileged = true;
          break;
        }
        case 'environment': {
          const env: Record<string, string> = {};
          for (const { key, value } of readers.keyValues(yaml, f)) {
            const resolved = value ?? (Object.hasOwn(ctx.vars, key) ? ctx.vars[key] : undefined);
            if (resolved !== undefined) env[key] = resolved;
          }
          if (Object.keys(env).length > 0) hook.environment = env;
          break;
        }
      }
    }
    if (!fields.some((f) => f.key === 'command')) {
      yaml.errorAt(item.node, `${item.path}.command is required`);
      continue;
    }
    if (hook.command.length === 0) {
      yaml.errorAt(item.node, `${item.path}.command is empty`);
      continue;
    }
    hooks.push(hook);
  }
  return hooks;
}
