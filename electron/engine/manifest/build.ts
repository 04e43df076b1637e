// A service's `build:` (the Compose Build Specification), read from the config repo at the revision. The
// context is a folder of the repo, pinned by its git tree id, so the image's tag can be computed here,
// without the engine: equal inputs make an equal tag, an unchanged context is never built again, and a
// changed one is a new tag, which the status shows as the service's image changing.
//
// What the engine's classic builder (the only one reachable over the plain API, without a BuildKit
// session) cannot do is kept and said beside the plan (yaml.warnAt), never dropped in silence; what
// reaches the host (a host network for RUN steps, privileged steps) passes only where the local settings
// allow it, and nothing of this machine (a host folder, a shell variable, an SSH agent, a secret file)
// ever goes into a build from the repo.
import { createHash } from 'node:crypto';
import type { Node } from 'yaml';
import type { DesiredBuild, DesiredService } from '../../shared/model.ts';
import { imageRefProblem } from './image-ref.ts';
import { resolveRepoPath } from './mounts.ts';
import { parseBytes } from './passthrough.ts';
import { safetyMessages } from './safety.ts';
import { canonicalJson } from './spec-hash.ts';
import type { StackContext } from './types.ts';
import type { Entry, YamlFile } from './yaml-file.ts';

/** The repository every deterministic build tag lives under; names in it are Mooring's alone. */
export const BUILD_REPO = 'mooring-build';

const BUILD_KEYS = [
  'context',
  'dockerfile',
  'dockerfile_inline',
  'args',
  'target',
  'labels',
  'network',
  'shm_size',
  'extra_hosts',
  'ulimits',
  'platforms',
  'isolation',
  'cache_from',
  'cache_to',
  'no_cache',
  'pull',
  'tags',
  'privileged',
  'entitlements',
  'ssh',
  'secrets',
  'additional_contexts',
  'provenance',
  'sbom',
];

/**
 * Labels on an image built for a compose service (`build:`), besides the OCI revision. Few: the classic
 * builder adds each as a step of its own, which costs a container each.
 */
export const COMPOSE_BUILD_LABELS = {
  /** The whole hash of the build's inputs: the tag carries only its start, so this is checked too. */
  hash: 'dev.mooring.build-hash',
  /** The stack it was built for: only its builds may take a name that an image of it holds. */
  stack: 'dev.mooring.build-stack',
} as const;

/** The key/value readers of service.ts, passed in so that this module does not import it back. */
export interface BuildReaders {
  keyValues(yaml: YamlFile, e: Entry): { key: string; value: string | null; node: Node }[];
  labels(yaml: YamlFile, e: Entry): Record<string, string>;
  extraHosts(yaml: YamlFile, e: Entry): string[];
}

export interface BuildInput {
  /** The service's name, for compose's default image name `<project>-<service>`. */
  service: string;
  /** `image:` of the service, when it has one (already checked to be a non-empty string). */
  image: { name: string; node: Node | null } | null;
}

/**
 * Reads `build:`; returns the build with the deterministic tag the service runs, or null when it has
 * errors (reported).
 */
export async function readBuild(
  ctx: StackContext,
  e: Entry,
  input: BuildInput,
  readers: BuildReaders,
): Promise<{ build: DesiredBuild; tag: string } | null> {
  const { yaml } = ctx;
  const errorsBefore = yaml.errors.length;
  const fields: Entry[] = yaml.isMap(e.value) ? (yaml.map(e.value, e.path) ?? []) : [];
  let contextText = '.';
  let contextNode: Node | null = e.value ?? e.keyNode;
  if (yaml.isMap(e.value)) {
    yaml.rejectUnknown(fields, BUILD_KEYS);
  } else {
    // `build: ./dir`, the short form: the context alone.
    const v = yaml.string(e.value, e.path);
    if (v === undefined) return null;
    contextText = v;
  }
  const get = (key: string): Entry | undefined => fields.find((f) => f.key === key);
  const at = (f: Entry): Node | null => f.value ?? f.keyNode;

  const contextEntry = get('context');
  if (contextEntry !== undefined) {
    const v = yaml.string(contextEntry.value, contextEntry.path);
    if (v === undefined) return null;
    contextText = v;
    contextNode = at(contextEntry);
  }
  const contextPath = yaml.isMap(e.value) ? `${e.path}.context` : e.path;
  const context = await readContext(ctx, contextText, contextNode, contextPath);

  // The Dockerfile: a file of the repo, relative to the context, or written inline.
  const dockerfileEntry = get('dockerfile');
  const inlineEntry = get('dockerfile_inline');
  let dockerfile: DesiredBuild['dockerfile'] | null = null;
  if (dockerfileEntry !== undefined && inlineEntry !== undefined) {
    yaml.errorAt(
      inlineEntry.keyNode,
      `${e.path}: set either dockerfile or dockerfile_inline, not both (compose refuses the two together)`,
    );
  } else if (inlineEntry !== undefined) {
    const text = yaml.string(inlineEntry.value, inlineEntry.path);
    if (text !== undefined && text.trim() === '') {
      yaml.errorAt(
        at(inlineEntry),
        `${inlineEntry.path} is empty; write the Dockerfile's instructions in it`,
      );
    } else if (text !== undefined) {
      dockerfile = { inline: text };
    }
  } else if (context !== null) {
    const name =
      dockerfileEntry === undefined ? 'Dockerfile' : yaml.string(dockerfileEntry.value, dockerfileEntry.path);
    if (name !== undefined) {
      dockerfile = await readDockerfile(
        ctx,
        context.path,
        name,
        dockerfileEntry === undefined ? contextNode : at(dockerfileEntry),
        dockerfileEntry?.path ?? contextPath,
        dockerfileEntry === undefined,
      );
    }
  }

  const build: Omit<DesiredBuild, 'hash'> = {
    context: context?.path ?? '',
    contextOid: context?.oid ?? '',
    dockerfile: dockerfile ?? { inline: '' },
    args: {},
    tags: [],
  };
  for (const f of fields) {
    switch (f.key) {
      case 'args':
        for (const { key, value } of readers.keyValues(yaml, f)) {
          // A bare name takes its value from the stack's .env, as `environment` does; never from this
          // machine's shell: build arguments end up in the image's history, for anyone who can pull it.
          const resolved = value ?? (Object.hasOwn(ctx.vars, key) ? ctx.vars[key] : undefined);
          if (resolved !== undefined) build.args[key] = resolved;
        }
        break;
      case 'target': {
        const v = yaml.string(f.value, f.path);
        if (v !== undefined && v.trim() !== '') build.target = v;
        else if (v !== undefined) yaml.errorAt(at(f), `${f.path} is empty; name a stage of the Dockerfile`);
        break;
      }
      case 'labels': {
        const labels = readers.labels(yaml, f);
        if (Object.keys(labels).length > 0) build.labels = labels;
        break;
      }
      case 'network': {
        const v = yaml.string(f.value, f.path);
        if (v !== undefined) readNetwork(ctx, f, v, build);
        break;
      }
      case 'shm_size': {
        const v = yaml.scalar(f.value);
        const n = typeof v === 'string' || typeof v === 'number' ? parseBytes(v) : null;
        if (n === null) yaml.errorAt(at(f), `${f.path} must be a size such as 64m, 1g or a number of bytes`);
        else if (n > 0) build.shmSize = n;
        break;
      }
      case 'extra_hosts': {
        const hosts = readers.extraHosts(yaml, f);
        if (hosts.length > 0) build.extraHosts = hosts;
        break;
      }
      case 'ulimits': {
        const limits = readUlimits(yaml, f);
        if (limits.length > 0) build.ulimits = limits;
        break;
      }
      case 'platforms': {
        const list = [...new Set(yaml.stringList(f.value, f.path) ?? [])];
        if (list.length > 1) {
          // Compose refuses several platforms where the image store cannot hold a multi-platform image;
          // the classic builder makes one image for one platform.
          yaml.errorAt(
            at(f),
            `${f.path}: the engine's classic builder makes an image for one platform, and this engine's image store holds no multi-platform image; list one platform (${list.join(', ')} were given)`,
          );
        } else if (list.length === 1) {
          build.platform = list[0]!;
        }
        break;
      }
      case 'isolation': {
        const v = yaml.string(f.value, f.path);
        if (v !== undefined && v !== '' && v !== 'default') build.isolation = v;
        break;
      }
      case 'cache_from': {
        const list = yaml.stringList(f.value, f.path) ?? [];
        // Plain image names are what the classic builder takes; the `type=…` caches are BuildKit's.
        const names = list.filter((x) => !x.includes('='));
        if (names.length > 0) build.cacheFrom = names;
        if (names.length < list.length) {
          yaml.warnAt(
            at(f),
            `${f.path}: ${list.length - names.length} cache source(s) of the form type=… are not used: the engine's classic builder reads its cache only from local images (compose ignores unsupported caches too)`,
          );
        }
        break;
      }
      case 'no_cache':
        if (yaml.bool(f.value, f.path) === true) build.noCache = true;
        break;
      case 'pull':
        if (yaml.bool(f.value, f.path) === true) build.pull = true;
        break;
      case 'tags':
        for (const item of yaml.seq(f.value, f.path) ?? []) {
          const v = yaml.string(item.node, item.path);
          if (v !== undefined && checkImageName(yaml, item.node, item.path, v)) build.tags.push(v);
        }
        break;
      case 'privileged':
        if (yaml.bool(f.value, f.path) === true) {
          if (!ctx.safety.allowPrivileged) yaml.errorAt(at(f), `${f.path}: ${buildSafety.privileged}`);
          else yaml.warnAt(at(f), `${f.path}: ${notUsed('privileged build steps')}`);
        }
        break;
      case 'entitlements':
        readEntitlements(ctx, f);
        break;
      case 'ssh':
        if (!yaml.isNull(f.value)) {
          yaml.warnAt(
            at(f),
            `${f.path} is kept but not used: the engine's classic builder forwards no SSH agent or key, and Mooring never lends this machine's SSH agent or keys to a build from the config repo (a RUN --mount=type=ssh step fails)`,
          );
        }
        break;
      case 'secrets':
        if (!yaml.isNull(f.value)) {
          yaml.warnAt(
            at(f),
            `${f.path} is kept but not used: the engine's classic builder has no build secrets (a RUN --mount=type=secret step fails); mount secrets into the running container with the service's secrets: instead`,
          );
        }
        break;
      case 'cache_to':
      case 'additional_contexts':
      case 'provenance':
      case 'sbom':
        yaml.warnAt(at(f), `${f.path}: ${notUsed(WHAT[f.key]!)}`);
        break;
    }
  }

  // The names the image gets besides its deterministic tag: compose names it after `image:`, or else
  // `<project>-<service>`.
  const composeName = input.image?.name ?? defaultImageName(ctx.stack, input.service);
  if (input.image !== null) {
    if (!checkImageName(yaml, input.image.node, `services.${input.service}.image`, input.image.name))
      return null;
  }
  build.tags = [...new Set([composeName, ...build.tags])];

  if (yaml.errors.length > errorsBefore || context === null || dockerfile === null) return null;
  const hash = buildHash(build);
  return { build: { ...build, hash }, tag: buildTag(ctx.stack, hash) };
}

const WHAT: Record<string, string> = {
  cache_to: 'exporting the build cache',
  additional_contexts: 'named build contexts',
  provenance: 'provenance attestations',
  sbom: 'SBOM attestations',
};

const notUsed = (what: string): string =>
  `kept but not used: ${what} need BuildKit, and the engine's API gives Mooring only the classic builder`;

const REFUSED = 'refused by the safety policy';

const buildSafety = {
  privileged: `${REFUSED}: a privileged build runs its RUN steps with every capability and device of the host; allow privileged containers in settings.json safety.allowPrivileged`,
  hostNetwork: `${REFUSED}: \`network: host\` runs the build's RUN steps in the host's network namespace; allow host namespaces in settings.json safety.allowHostNamespaces`,
  insecure: `${REFUSED}: the security.insecure entitlement runs build steps without the sandbox; allow privileged containers in settings.json safety.allowPrivileged`,
  hostEntitlement: `${REFUSED}: the network.host entitlement runs build steps in the host's network namespace; allow host namespaces in settings.json safety.allowHostNamespaces`,
  outside: (p: string) =>
    `${p} is refused: a build context is a folder of the config repo, read from git at the revision, so that the image is pinned by the commit and nothing of this machine goes into it. Commit the folder into the config repo (a path relative to the stack folder), or build it apart with \`mooring build\` and name the result under image:`,
  remote: (p: string) =>
    `${p} is refused: a build context from a URL would have the engine fetch whatever the repo names (an address inside this network too), and the image would not be pinned by the config repo's commit. Build that repo with \`mooring build URL\` (it is tagged with its commit) and name the result under image:, or commit the context into the config repo`,
};

/** The context folder, repo-relative, with its tree id; null after reporting. */
async function readContext(
  ctx: StackContext,
  text: string,
  node: Node | null,
  path: string,
): Promise<{ path: string; oid: string } | null> {
  const { yaml } = ctx;
  if (text.trim() === '') {
    yaml.errorAt(node, `${path} is empty; give a folder of the config repo, relative to the stack folder`);
    return null;
  }
  if (isRemote(text)) {
    yaml.errorAt(node, `${path}: "${text}" ${buildSafety.remote('as a build context')}`);
    return null;
  }
  const repoPath = isHostPath(text) ? null : resolveRepoPath(ctx.yaml.dirOf(node), text);
  if (repoPath === null) {
    yaml.errorAt(
      node,
      `${path}: "${text}" leads outside the config repo, and ${buildSafety.outside('that')}`,
    );
    return null;
  }
  const object = await ctx.reader.stat(repoPath);
  if (object?.type !== 'tree') {
    const what = repoPath === '' ? 'the repo root' : repoPath;
    yaml.errorAt(
      node,
      object === null
        ? `${path}: ${text} (${what}) does not exist in the config repo at this revision (or is a link leading out of it); a build context must be a folder committed to the repo`
        : `${path}: ${text} (${what}) is a file; a build context is a folder`,
    );
    return null;
  }
  return { path: repoPath, oid: object.oid };
}

async function readDockerfile(
  ctx: StackContext,
  context: string,
  name: string,
  node: Node | null,
  path: string,
  isDefault: boolean,
): Promise<DesiredBuild['dockerfile'] | null> {
  const { yaml } = ctx;
  if (name.trim() === '') {
    yaml.errorAt(node, `${path} is empty; give the Dockerfile's path relative to the build context`);
    return null;
  }
  if (isRemote(name) || isHostPath(name)) {
    yaml.errorAt(
      node,
      `${path}: "${name}" must be a file of the config repo, relative to the build context (an absolute path or URL would read this machine's files or the network)`,
    );
    return null;
  }
  const repoPath = resolveRepoPath(context, name);
  if (repoPath === null || repoPath === '') {
    yaml.errorAt(
      node,
      `${path}: "${name}" leads outside the config repo; the Dockerfile must be a file of the repo`,
    );
    return null;
  }
  const object = await ctx.reader.stat(repoPath);
  if (object?.type !== 'blob') {
    const hint = isDefault
      ? `; commit a Dockerfile there, or name another file with build.dockerfile (or write it in build.dockerfile_inline)`
      : '; commit it, or correct the path (it is relative to the build context)';
    yaml.errorAt(
      node,
      object === null
        ? `${path}: ${repoPath} does not exist in the config repo at this revision${hint}`
        : `${path}: ${repoPath} is a folder, not a Dockerfile`,
    );
    return null;
  }
  return { path: repoPath, oid: object.oid };
}

function isRemote(text: string): boolean {
  return (
    /^[a-z][a-z0-9+.-]*:\/\//i.test(text) || /^[^/\s]+@[^:/\s]+:/.test(text) || /^github\.com\//i.test(text)
  );
}

function isHostPath(text: string): boolean {
  return (
    text.startsWith('/') || text.startsWith('~') || /^[a-zA-Z]:[\\/]/.test(text) || text.startsWith('\\')
  );
}

/**
 * `network:` of the RUN steps. Docker reads any other word as a network's name (or a prefix of its id),
 * so a name is checked again when the build runs: it must name a network exactly, and not the host one.
 */
function readNetwork(ctx: StackContext, f: Entry, v: string, build: Omit<DesiredBuild, 'hash'>): void {
  const { yaml, safety } = ctx;
  const at = f.value ?? f.keyNode;
  if (v === '' || v === 'default') return;
  if (v === 'host') {
    if (!safety.allowHostNamespaces) {
      yaml.errorAt(at, `${f.path}: ${buildSafety.hostNetwork}`);
      return;
    }
  } else if (v.startsWith('container:')) {
    if (!safety.allowContainerNamespaces) {
      yaml.errorAt(at, `${f.path}: ${safetyMessages.containerNamespace('build.network', v.slice(10))}`);
      return;
    }
  } else if (v.startsWith('service:')) {
    yaml.errorAt(
      at,
      `${f.path}: a build runs before the stack's containers; use default, none, host or a network's name`,
    );
    return;
  }
  build.network = v;
}

function readEntitlements(ctx: StackContext, f: Entry): void {
  const { yaml, safety } = ctx;
  for (const item of yaml.seq(f.value, f.path) ?? []) {
    const v = yaml.string(item.node, item.path);
    if (v === undefined) continue;
    if (v === 'security.insecure' && !safety.allowPrivileged) {
      yaml.errorAt(item.node, `${item.path}: ${buildSafety.insecure}`);
    } else if (v === 'network.host' && !safety.allowHostNamespaces) {
      yaml.errorAt(item.node, `${item.path}: ${buildSafety.hostEntitlement}`);
    } else {
      yaml.warnAt(item.node, `${item.path} (${v}): ${notUsed('build entitlements')}`);
    }
  }
}

const ULIMIT_NAME = /^[a-z]+$/;

function readUlimits(yaml: YamlFile, f: Entry): { name: string; soft: number; hard: number }[] {
  const out: { name: string; soft: number; hard: number }[] = [];
  for (const u of yaml.map(f.value, f.path) ?? []) {
    if (!ULIMIT_NAME.test(u.key)) {
      yaml.errorAt(u.keyNode, `${u.path}: "${u.key}" is not a ulimit name (nofile, nproc, core, …)`);
      continue;
    }
    if (!yaml.isMap(u.value)) {
      const n = yaml.int(u.value, u.path, -1, Number.MAX_SAFE_INTEGER);
      if (n !== undefined) out.push({ name: u.key, soft: n, hard: n });
      continue;
    }
    const parts = yaml.map(u.value, u.path) ?? [];
    yaml.rejectUnknown(parts, ['soft', 'hard']);
    const soft = parts.find((p) => p.key === 'soft');
    const hard = parts.find((p) => p.key === 'hard');
    if (soft === undefined || hard === undefined) {
      yaml.errorAt(u.value, `${u.path} needs both soft and hard (or one number for both)`);
      continue;
    }
    const s = yaml.int(soft.value, soft.path, -1, Number.MAX_SAFE_INTEGER);
    const h = yaml.int(hard.value, hard.path, -1, Number.MAX_SAFE_INTEGER);
    if (s === undefined || h === undefined) continue;
    if (h !== -1 && (s === -1 || s > h)) {
      yaml.errorAt(u.value, `${u.path}: soft (${s}) must not be above hard (${h})`);
      continue;
    }
    out.push({ name: u.key, soft: s, hard: h });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Whether `name` can tag an image; reports why not. */
function checkImageName(yaml: YamlFile, node: Node | null, path: string, name: string): boolean {
  if (name.includes('@')) {
    yaml.errorAt(
      node,
      `${path}: "${name}" names an image by digest, which cannot be the name of a build's result; give a name (and tag) instead`,
    );
    return false;
  }
  const problem = imageRefProblem(name);
  if (problem !== null) {
    yaml.errorAt(node, `${path}: "${name}" is not an image name a build can be tagged with: ${problem}`);
    return false;
  }
  const repo = repoOf(name);
  if (repo === BUILD_REPO || repo.startsWith(`${BUILD_REPO}/`)) {
    yaml.errorAt(
      node,
      `${path}: names under ${BUILD_REPO}/ are Mooring's own deterministic build tags; give the image another name`,
    );
    return false;
  }
  return true;
}

/** The name without its tag. */
function repoOf(name: string): string {
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  return colon > slash ? name.slice(0, colon) : name;
}

/** Compose's name for a service's built image: `<project>-<service>`, lowercased. */
export function defaultImageName(stack: string, service: string): string {
  return `${stack}-${service}`.toLowerCase();
}

/** A reference as the engine resolves it, so that `app` and `app:latest` compare equal. */
export function normalizeImageRef(name: string): string {
  let n = name;
  for (const prefix of ['docker.io/library/', 'index.docker.io/library/', 'docker.io/', 'index.docker.io/']) {
    if (n.startsWith(prefix)) {
      n = n.slice(prefix.length);
      break;
    }
  }
  const slash = n.lastIndexOf('/');
  return n.includes('@') || n.slice(slash + 1).includes(':') ? n : `${n}:latest`;
}

/**
 * The hash of what shapes the image: the context's tree, the Dockerfile, args, target and the options of
 * the build's steps. Not the extra names (a new name is no new image), nor cache and pull options
 * (which change how, not what, is built).
 */
export function buildHash(b: Omit<DesiredBuild, 'hash'>): string {
  const inputs = {
    v: 1,
    context: b.contextOid,
    dockerfile: 'inline' in b.dockerfile ? { inline: b.dockerfile.inline } : b.dockerfile,
    // The Dockerfile's place relative to the context decides its name in the archive.
    contextPath: b.context,
    args: b.args,
    target: b.target,
    labels: b.labels,
    network: b.network,
    shmSize: b.shmSize,
    extraHosts: b.extraHosts,
    ulimits: b.ulimits,
    platform: b.platform,
    isolation: b.isolation,
  };
  return createHash('sha256').update(canonicalJson(inputs)).digest('hex');
}

/** Length of the hash in the tag; the image's label carries all of it, and is checked before use. */
export const BUILD_TAG_HASH = 12;

/**
 * `mooring-build/<stack>:<hash>`: one per stack and distinct inputs, so two services with the same build
 * share one image, built once.
 */
export function buildTag(stack: string, hash: string): string {
  const repo = stack
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')
    .replace(/([._-])[._-]+/g, '$1');
  return `${BUILD_REPO}/${repo || 'stack'}:${hash.slice(0, BUILD_TAG_HASH)}`;
}

/**
 * Compose's way to share one build: a service without `build:` whose `image:` is the name another
 * service builds runs that build's result. Such a service runs the deterministic tag too, so it changes
 * (and is recreated) with the build.
 */
export function linkBuiltImages(
  yaml: YamlFile,
  services: DesiredService[],
  keyNodes: ReadonlyMap<string, Node | null>,
): void {
  const byName = new Map<string, DesiredService>();
  for (const s of services) {
    if (s.build === undefined) continue;
    const name = normalizeImageRef(s.build.tags[0]!);
    const other = byName.get(name);
    if (other !== undefined && other.build!.hash !== s.build.hash) {
      yaml.errorAt(
        keyNodes.get(s.name) ?? null,
        `services.${s.name}: builds image ${s.build.tags[0]!} from other inputs than service ${other.name} does, so which one the name holds would depend on the order of the builds; give one of them another image: name`,
      );
      continue;
    }
    if (other === undefined) byName.set(name, s);
  }
  for (const s of services) {
    if (s.build !== undefined) continue;
    const builder = byName.get(normalizeImageRef(s.image));
    if (builder !== undefined) s.image = builder.image;
  }
}
