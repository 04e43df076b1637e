// A service's `volumes:`. Three kinds of source: a named volume (declared at the top level), a host
// path (absolute or `~`, guarded by the safety policy), and a path relative to the stack folder, which
// is a file or folder of the config repo itself and is pinned to its git object id. The long syntax adds
// tmpfs and image mounts, and options for each kind (issue 11, item 5).
import { posix } from 'node:path';
import { isScalar, type Node } from 'yaml';
import type { BindPropagation, DesiredMount } from '../../shared/model.ts';
import { parseBytes } from './passthrough.ts';
import { exposesDockerSocket, normalizeHostPath, refuse, safetyMessages, underBindRoots } from './safety.ts';
import type { RepoReader, StackContext } from './types.ts';
import type { Entry } from './yaml-file.ts';

interface Where {
  node: Node | null;
  path: string;
}

/** What the short syntax's options and the long syntax's `bind:`, `volume:`, `tmpfs:`, `image:` say. */
interface MountOptions {
  readOnly: boolean;
  /** Make a missing host folder (bind mounts only). */
  createHostPath: boolean;
  selinux?: 'z' | 'Z';
  propagation?: BindPropagation;
  recursive?: 'disabled' | 'writable' | 'readonly';
  nocopy?: true;
  subpath?: string;
  sizeBytes?: number;
  mode?: number;
}

const PROPAGATIONS: readonly string[] = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];
/** Only tune file sharing on Docker Desktop for macOS; compose passes them on, engines ignore them. */
const CONSISTENCY = ['consistent', 'cached', 'delegated', 'default'];

/**
 * A target as the engine reports it: `/data/` and `/data/.` are mounted at `/data` (issue 11, item 8:
 * a trailing slash was drift right after a sync, and self-heal recreated the container in a loop).
 */
export function normalizeTarget(target: string): string {
  const p = posix.normalize(target);
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

export async function readMounts(ctx: StackContext, entry: Entry): Promise<DesiredMount[]> {
  const { yaml } = ctx;
  const mounts: DesiredMount[] = [];
  const targets = new Set<string>();
  for (const item of yaml.seq(entry.value, entry.path) ?? []) {
    const mount = yaml.isMap(item.node) ? await readLong(ctx, item) : await readShort(ctx, item);
    if (mount === null) continue;
    const target = normalizeTarget(mount.target);
    if (targets.has(target)) {
      yaml.errorAt(item.node, `${item.path}: ${target} is mounted twice`);
      continue;
    }
    targets.add(target);
    mounts.push(mount);
  }
  return mounts;
}

/** `[SOURCE:]TARGET[:OPTIONS]`, options as compose reads them (ro, rw, z, Z, nocopy, propagation). */
async function readShort(ctx: StackContext, at: Where): Promise<DesiredMount | null> {
  const { yaml } = ctx;
  const spec = yaml.string(at.node, at.path);
  if (spec === undefined) return null;
  const parts = spec.split(':');
  if (parts.length > 3 || parts.some((p) => p === '')) {
    yaml.errorAt(at.node, `${at.path}: "${spec}" is not a mount; write SOURCE:TARGET[:ro]`);
    return null;
  }
  const [source, target] = parts.length === 1 ? ['', parts[0]!] : [parts[0]!, parts[1]!];
  const kind = source === '' ? 'volume' : isFilePath(source) ? 'bind' : 'volume';
  // compose-go: the short syntax always makes a missing host folder, for docker-compose v1's sake.
  const options: MountOptions = { readOnly: false, createHostPath: kind === 'bind' };
  for (const option of parts[2]?.split(',') ?? []) {
    if (option === 'ro' || option === 'rw') options.readOnly = option === 'ro';
    else if (option === 'z' || option === 'Z') options.selinux = option;
    else if (option === 'nocopy') options.nocopy = true;
    else if (PROPAGATIONS.includes(option)) options.propagation = option as BindPropagation;
    else if (!CONSISTENCY.includes(option)) {
      // compose ignores an option it does not know; so does Mooring, but it says so.
      yaml.warnAt(
        at.node,
        `${at.path}: mount option "${option}" means nothing to compose or Docker and is ignored (known: ro, rw, z, Z, nocopy, ${PROPAGATIONS.join(', ')})`,
      );
    }
  }
  if (kind === 'volume' && (options.selinux !== undefined || options.propagation !== undefined)) {
    yaml.warnAt(
      at.node,
      `${at.path}: ${options.selinux ?? options.propagation} applies to bind mounts only; a volume ignores it, as in compose`,
    );
    delete options.selinux;
    delete options.propagation;
  }
  if (kind === 'bind' && options.nocopy) {
    yaml.warnAt(
      at.node,
      `${at.path}: nocopy applies to volumes only; a bind mount ignores it, as in compose`,
    );
    delete options.nocopy;
  }
  return mountOf(ctx, at, kind, source, target, options);
}

const LONG_KEYS = [
  'type',
  'source',
  'target',
  'read_only',
  'consistency',
  'bind',
  'volume',
  'tmpfs',
  'image',
];
const TYPES = ['bind', 'volume', 'tmpfs', 'image', 'npipe', 'cluster'];

async function readLong(ctx: StackContext, at: Where): Promise<DesiredMount | null> {
  const { yaml } = ctx;
  const entries = yaml.map(at.node, at.path) ?? [];
  yaml.rejectUnknown(entries, LONG_KEYS);
  const get = (key: string): Entry | undefined => entries.find((e) => e.key === key);
  let type: string | undefined;
  let source = '';
  let target: string | undefined;
  const options: MountOptions = { readOnly: false, createHostPath: false };
  let ok = true;
  for (const e of entries) {
    const node = e.value ?? e.keyNode;
    if (e.key === 'type') {
      const v = yaml.scalar(e.value);
      if (typeof v === 'string' && TYPES.includes(v)) type = v;
      else {
        yaml.errorAt(node, `${e.path} must be one of ${TYPES.join(', ')}`);
        ok = false;
      }
    } else if (e.key === 'source') {
      source = yaml.string(e.value, e.path) ?? '';
    } else if (e.key === 'target') {
      target = yaml.string(e.value, e.path);
    } else if (e.key === 'read_only') {
      options.readOnly = yaml.bool(e.value, e.path) ?? false;
    } else if (e.key === 'consistency') {
      if (yaml.string(e.value, e.path) !== undefined) {
        yaml.warnAt(
          node,
          `${e.path}: only Docker Desktop for macOS ever read the consistency of a mount; this engine ignores it`,
        );
      }
    }
  }
  if (type === 'npipe') {
    yaml.errorAt(
      get('type')?.value,
      `${at.path}: type npipe mounts a Windows named pipe, which only a Windows engine running Windows containers has; use type bind for a Unix socket`,
    );
    return null;
  }
  if (type === 'cluster') {
    yaml.errorAt(
      get('type')?.value,
      `${at.path}: type cluster mounts a Swarm cluster (CSI) volume, which only a Swarm service can use; on one engine, use a named volume (type volume)`,
    );
    return null;
  }
  // Options for another type than the mount's: compose warns and leaves them out.
  for (const key of ['bind', 'volume', 'tmpfs', 'image'] as const) {
    const e = get(key);
    if (e === undefined) continue;
    if (type !== undefined && type !== key) {
      yaml.warnAt(
        e.keyNode,
        `${e.path} applies to a mount of type ${key}, not ${type}; it is ignored, as in compose`,
      );
      continue;
    }
    if (!readTypeOptions(ctx, e, key, options)) ok = false;
  }
  // A present but invalid type or target was reported above; only a missing one is reported here.
  if (type === undefined || target === undefined) {
    const missing = ['type', 'target'].filter((key) => !entries.some((e) => e.key === key));
    if (missing.length > 0) yaml.errorAt(at.node, `${at.path}: a mount needs ${missing.join(' and ')}`);
    return null;
  }
  if (!ok) return null;
  if (type === 'tmpfs') {
    if (source !== '') {
      yaml.errorAt(get('source')?.value, `${at.path}.source: a tmpfs mount has no source`);
      return null;
    }
    if (!absoluteTarget(ctx, at, target)) return null;
    return {
      type: 'tmpfs',
      target,
      readOnly: options.readOnly,
      ...(options.sizeBytes !== undefined ? { sizeBytes: options.sizeBytes } : {}),
      ...(options.mode !== undefined ? { mode: options.mode } : {}),
    };
  }
  if (type === 'image') {
    if (source === '') {
      yaml.errorAt(at.node, `${at.path}.source is required for an image mount: the image to mount`);
      return null;
    }
    if (!absoluteTarget(ctx, at, target)) return null;
    return {
      type: 'image',
      source,
      target,
      readOnly: true,
      ...(options.subpath !== undefined ? { subpath: options.subpath } : {}),
    };
  }
  if (type === 'bind' && source === '') {
    yaml.errorAt(at.node, `${at.path}.source is required for a bind mount`);
    return null;
  }
  return mountOf(ctx, at, type as 'bind' | 'volume', source, target, options);
}

/** `bind:`, `volume:`, `tmpfs:` or `image:` of the long syntax into `options`; false after an error. */
function readTypeOptions(
  ctx: StackContext,
  e: Entry,
  key: 'bind' | 'volume' | 'tmpfs' | 'image',
  options: MountOptions,
): boolean {
  const { yaml } = ctx;
  const fields = yaml.map(e.value, e.path);
  if (fields === null) return false;
  const known = {
    bind: ['propagation', 'create_host_path', 'recursive', 'selinux'],
    volume: ['nocopy', 'subpath', 'labels'],
    tmpfs: ['size', 'mode'],
    image: ['subpath'],
  }[key];
  yaml.rejectUnknown(fields, known);
  let ok = true;
  const fail = (node: Node | null, message: string): void => {
    yaml.errorAt(node, message);
    ok = false;
  };
  for (const f of fields) {
    const node = f.value ?? f.keyNode;
    const v = yaml.scalar(f.value);
    switch (`${key}.${f.key}`) {
      case 'bind.propagation':
        if (typeof v === 'string' && PROPAGATIONS.includes(v)) options.propagation = v as BindPropagation;
        else fail(node, `${f.path} must be one of ${PROPAGATIONS.join(', ')}`);
        break;
      case 'bind.create_host_path':
        options.createHostPath = yaml.bool(f.value, f.path) ?? false;
        break;
      case 'bind.recursive':
        if (v === 'enabled') break; // the engine's default
        if (v === 'disabled' || v === 'writable' || v === 'readonly') options.recursive = v;
        else fail(node, `${f.path} must be enabled, disabled, writable or readonly`);
        break;
      case 'bind.selinux':
        if (v === 'z' || v === 'Z') options.selinux = v;
        else fail(node, `${f.path} must be z (shared between containers) or Z (private to this one)`);
        break;
      case 'volume.nocopy':
        if (yaml.bool(f.value, f.path) === true) options.nocopy = true;
        break;
      case 'volume.subpath':
      case 'image.subpath': {
        const sub = yaml.string(f.value, f.path);
        if (sub === undefined) ok = false;
        else if (sub.startsWith('/') || sub.split('/').includes('..')) {
          fail(node, `${f.path}: "${sub}" must be a relative path inside the ${key}, without ..`);
        } else if (sub !== '') options.subpath = sub;
        break;
      }
      case 'volume.labels':
        // Labels of an anonymous volume made by this mount: kept for compose's sake, no effect on a
        // named volume (its labels are the top-level volume's).
        yaml.warnAt(
          f.keyNode,
          `${f.path}: labels of a volume are set under the top-level volumes; these are ignored`,
        );
        break;
      case 'tmpfs.size': {
        const n = typeof v === 'string' || typeof v === 'number' ? parseBytes(v) : null;
        if (n === null) fail(node, `${f.path} must be a size such as 64m, 1g or a number of bytes`);
        else if (n > 0) options.sizeBytes = n;
        break;
      }
      case 'tmpfs.mode': {
        const mode = readFileMode(ctx, f);
        if (mode === undefined) ok = false;
        else options.mode = mode;
        break;
      }
    }
  }
  return ok;
}

/**
 * A file mode as compose reads one: a number written with a leading 0 or 0o is octal (`0440`), other
 * numbers are taken as they are, and a string is octal (`"0440"`, `"440"`, after interpolation).
 */
export function readFileMode(ctx: StackContext, e: Entry): number | undefined {
  const { yaml } = ctx;
  const node = yaml.resolve(e.value);
  const v = yaml.scalar(node);
  let mode: number | undefined;
  if (typeof v === 'string' && /^[0-7]{1,6}$/.test(v)) mode = parseInt(v, 8);
  else if (typeof v === 'number' && Number.isInteger(v)) {
    // The text as written: the YAML 1.2 core schema reads `0440` as 440, go-yaml (compose) as octal.
    const source = isScalar(node) && typeof node.source === 'string' ? node.source : '';
    mode = /^0[0-7]+$/.test(source) ? parseInt(source, 8) : v;
  }
  if (mode === undefined || mode < 0 || mode > 0o7777) {
    yaml.errorAt(e.value ?? e.keyNode, `${e.path} must be a file mode such as 0440 (octal), up to 07777`);
    return undefined;
  }
  return mode;
}

function absoluteTarget(ctx: StackContext, at: Where, target: string): boolean {
  if (target.startsWith('/')) return true;
  ctx.yaml.errorAt(at.node, `${at.path}: the target "${target}" must be an absolute path in the container`);
  return false;
}

async function mountOf(
  ctx: StackContext,
  at: Where,
  kind: 'volume' | 'bind',
  source: string,
  target: string,
  options: MountOptions,
): Promise<DesiredMount | null> {
  if (!absoluteTarget(ctx, at, target)) return null;
  if (kind === 'bind') {
    if (options.propagation === 'shared' || options.propagation === 'rshared') {
      if (!ctx.safety.allowSharedPropagation) {
        refuse(ctx, at.node, at.path, safetyMessages.sharedPropagation(options.propagation), {
          setting: 'allowSharedPropagation',
        });
        return null;
      }
    }
    return isHostPath(source)
      ? hostBind(ctx, at, source, target, options)
      : repoBind(ctx, at, source, target, options);
  }
  const extra = {
    ...(options.nocopy ? { nocopy: true as const } : {}),
    ...(options.subpath !== undefined ? { subpath: options.subpath } : {}),
  };
  if (source === '') {
    if (options.subpath !== undefined) {
      ctx.yaml.errorAt(
        at.node,
        `${at.path}: an anonymous volume is empty; volume.subpath needs a named volume`,
      );
      return null;
    }
    return { type: 'volume', source: '', target, readOnly: options.readOnly, ...extra };
  }
  const volume = ctx.volumes.get(source);
  if (volume === undefined) {
    ctx.yaml.errorAt(
      at.node,
      `${at.path}: volume "${source}" is not declared; add it under the top-level volumes, or write ./${source} for a folder of the repo`,
    );
    return null;
  }
  return { type: 'volume', source: volume.name, target, readOnly: options.readOnly, ...extra };
}

/** What compose takes for a path rather than a volume name (Windows forms aside). */
function isFilePath(source: string): boolean {
  return source.startsWith('.') || source.startsWith('/') || source.startsWith('~');
}

function isHostPath(source: string): boolean {
  return source.startsWith('/') || source.startsWith('~');
}

/** Options of a bind mount, present only when set (spec-hash stability, model.ts). */
function bindOptions(options: MountOptions): {
  selinux?: 'z' | 'Z';
  propagation?: BindPropagation;
  recursive?: 'disabled' | 'writable' | 'readonly';
} {
  return {
    ...(options.selinux !== undefined ? { selinux: options.selinux } : {}),
    ...(options.propagation !== undefined && options.propagation !== 'rprivate'
      ? { propagation: options.propagation }
      : {}),
    ...(options.recursive !== undefined ? { recursive: options.recursive } : {}),
  };
}

function hostBind(
  ctx: StackContext,
  at: Where,
  source: string,
  target: string,
  options: MountOptions,
): DesiredMount | null {
  const { safety } = ctx;
  const path = hostPathOf(ctx, at, source);
  if (path === null) return null;
  const socket = exposesDockerSocket(path);
  if (socket !== null && !safety.allowDockerSocket) {
    refuse(ctx, at.node, at.path, safetyMessages.dockerSocket(path), { setting: 'allowDockerSocket' });
    return null;
  }
  // Allowing the socket is enough for the socket itself; a folder holding it must still be allowed.
  const underRoots = underBindRoots(path, safety);
  if (socket !== 'socket' && !underRoots) {
    refuse(ctx, at.node, at.path, safetyMessages.bindRoot(path, safety.bindRoots), {
      setting: 'bindRoots',
      value: path,
    });
    return null;
  }
  return {
    type: 'bind',
    source: path,
    target,
    readOnly: options.readOnly,
    // Only under an allowed folder: a missing socket must not become a folder of that name.
    ...(options.createHostPath && underRoots ? { createHostPath: true as const } : {}),
    ...bindOptions(options),
  };
}

/** An absolute host path from `/…` or `~/…`, lexically normalized; null after reporting. */
export function hostPathOf(ctx: StackContext, at: Where, source: string): string | null {
  if (source.startsWith('~') && source !== '~' && !source.startsWith('~/')) {
    ctx.yaml.errorAt(
      at.node,
      `${at.path}: "${source}": only ~ and ~/… are supported, not another user's home`,
    );
    return null;
  }
  // This check is lexical: a symlink below an allowed folder is the local owner's own doing.
  return normalizeHostPath(source.startsWith('~') ? ctx.homeDir + source.slice(1) : source);
}

async function repoBind(
  ctx: StackContext,
  at: Where,
  source: string,
  target: string,
  options: MountOptions,
): Promise<DesiredMount | null> {
  // Relative to the folder of the file it is written in (an included or extended file's own).
  const repoPath = resolveRepoPath(ctx.yaml.dirOf(at.node), source);
  if (repoPath === null) {
    ctx.yaml.errorAt(at.node, `${at.path}: ${source} points outside the config repo`);
    return null;
  }
  // Checked when the stack is loaded, not only when the copy is written before the first change: the
  // stack shows as invalid with the entry named, in status and preview, and is never planned.
  const problem = checksMounts(ctx.reader) ? await ctx.reader.mountProblem(repoPath) : null;
  if (problem !== null) {
    ctx.yaml.errorAt(at.node, `${at.path}: ${source} cannot be mounted from the config repo: ${problem}`);
    return null;
  }
  const object = await ctx.reader.stat(repoPath);
  if (object === null && ctx.stateDir !== undefined)
    return stateBind(ctx, at, source, repoPath, target, options);
  if (object === null) {
    ctx.yaml.errorAt(
      at.node,
      `${at.path}: ${source} (${repoPath === '' ? 'the repo root' : repoPath}) does not exist in the config repo at this revision; a relative bind mount must name a file or folder committed to the repo`,
    );
    return null;
  }
  const { selinux, propagation } = bindOptions(options);
  if (options.recursive !== undefined) {
    // A copy from git holds no mounts below it: recursive means nothing for it.
    ctx.yaml.warnAt(at.node, `${at.path}: bind.recursive has no effect on a copy from the config repo`);
  }
  return {
    type: 'repo',
    repoPath,
    oid: object.oid,
    objectType: object.type,
    target,
    readOnly: options.readOnly,
    ...(selinux !== undefined ? { selinux } : {}),
    ...(propagation !== undefined ? { propagation } : {}),
  };
}

/**
 * A relative bind mount of a path git does not hold: compose makes the folder beside the compose file
 * on the first `up` and keeps it (data a service writes, a folder listed in .gitignore). Here it is that
 * path's folder under the source's folder in the home's `state/`, made by the engine on first use and
 * kept across revisions: a new commit never replaces it, as it would a copy of what git holds. Two
 * stacks naming one path share it, as they would beside their compose files.
 */
function stateBind(
  ctx: StackContext,
  at: Where,
  source: string,
  repoPath: string,
  target: string,
  options: MountOptions,
): DesiredMount {
  // One flat folder per path (web/data → web%2Fdata), never one inside another: a container can make
  // links inside its own folder, and no other mount's path goes through it to follow them.
  const where = posix.join(ctx.stateDir!, encodeURIComponent(repoPath));
  ctx.yaml.warnAt(
    at.node,
    `${at.path}: ${source} is not in the config repo, so it is kept on this machine in ${where} across revisions (compose keeps it beside the compose file); commit it if its content belongs in git`,
  );
  const { selinux, propagation } = bindOptions(options);
  return {
    type: 'bind',
    source: where,
    target,
    readOnly: options.readOnly,
    createHostPath: true,
    ...(selinux !== undefined ? { selinux } : {}),
    ...(propagation !== undefined ? { propagation } : {}),
  };
}

/**
 * The git reader's own check of what a mount would write out (a link leaving the repo, a tree written
 * by hand that holds a link and a folder of one name, a name this file system cannot hold), memoized
 * by tree id there. Readers made by tests may not have it: the copy is checked again when written.
 */
interface MountChecker {
  mountProblem(path: string): Promise<string | null>;
}

function checksMounts(reader: RepoReader): reader is RepoReader & MountChecker {
  return typeof (reader as Partial<MountChecker>).mountProblem === 'function';
}

/** Repo-relative posix path of `relative` seen from the stack folder ('' is the root), or null if it escapes. */
export function resolveRepoPath(stackDir: string, relative: string): string | null {
  const p = posix.normalize(posix.join(stackDir, relative)).replace(/\/+$/, '');
  if (p === '..' || p.startsWith('../') || p.startsWith('/')) return null;
  return p === '.' ? '' : p;
}
