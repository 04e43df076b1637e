// A service's `volumes:`. Three kinds of source: a named volume (declared at the top level), a host
// path (absolute or `~`, guarded by the safety policy), and a path relative to the stack folder, which
// is a file or folder of the config repo itself and is pinned to its git object id.
import { posix } from 'node:path';
import type { Node } from 'yaml';
import type { DesiredMount } from '../../shared/model.ts';
import { exposesDockerSocket, normalizeHostPath, safetyMessages, underBindRoots } from './safety.ts';
import type { RepoReader, StackContext } from './types.ts';
import type { Entry } from './yaml-file.ts';

interface Where {
  node: Node | null;
  path: string;
}

export async function readMounts(ctx: StackContext, entry: Entry): Promise<DesiredMount[]> {
  const { yaml } = ctx;
  const mounts: DesiredMount[] = [];
  const targets = new Set<string>();
  for (const item of yaml.seq(entry.value, entry.path) ?? []) {
    const mount = yaml.isMap(item.node) ? await readLong(ctx, item) : await readShort(ctx, item);
    if (mount === null) continue;
    if (targets.has(mount.target)) {
      yaml.errorAt(item.node, `${item.path}: ${mount.target} is mounted twice`);
      continue;
    }
    targets.add(mount.target);
    mounts.push(mount);
  }
  return mounts;
}

/** `[SOURCE:]TARGET[:MODE]` */
async function readShort(ctx: StackContext, at: Where): Promise<DesiredMount | null> {
  const spec = ctx.yaml.string(at.node, at.path);
  if (spec === undefined) return null;
  const parts = spec.split(':');
  if (parts.length > 3 || parts.some((p) => p === '')) {
    ctx.yaml.errorAt(at.node, `${at.path}: "${spec}" is not a mount; write SOURCE:TARGET[:ro]`);
    return null;
  }
  const [source, target] = parts.length === 1 ? ['', parts[0]!] : [parts[0]!, parts[1]!];
  let readOnly = false;
  for (const option of parts[2]?.split(',') ?? []) {
    if (option === 'ro') readOnly = true;
    // cached/delegated/consistent only tune file sharing on Docker Desktop for macOS: no effect here.
    else if (!['rw', 'cached', 'delegated', 'consistent'].includes(option)) {
      ctx.yaml.errorAt(at.node, `${at.path}: mount option "${option}" is not supported; use ro or rw`);
      return null;
    }
  }
  const kind =
    source === '' ? 'volume' : isHostPath(source) ? 'bind' : source.startsWith('.') ? 'bind' : 'volume';
  return mountOf(ctx, at, kind, source, target, readOnly);
}

async function readLong(ctx: StackContext, at: Where): Promise<DesiredMount | null> {
  const { yaml } = ctx;
  const entries = yaml.map(at.node, at.path) ?? [];
  yaml.rejectUnknown(entries, ['type', 'source', 'target', 'read_only']);
  let type: 'volume' | 'bind' | undefined;
  let source = '';
  let target: string | undefined;
  let readOnly = false;
  for (const e of entries) {
    if (e.key === 'type') {
      const v = yaml.scalar(e.value);
      if (v === 'volume' || v === 'bind') type = v;
      else yaml.errorAt(e.value ?? e.keyNode, `${e.path}: Mooring supports mount types volume and bind`);
    } else if (e.key === 'source') {
      source = yaml.string(e.value, e.path) ?? '';
    } else if (e.key === 'target') {
      target = yaml.string(e.value, e.path);
    } else if (e.key === 'read_only') {
      readOnly = yaml.bool(e.value, e.path) ?? false;
    }
  }
  // A present but invalid type or target was reported above; only a missing one is reported here.
  if (type === undefined || target === undefined) {
    const missing = ['type', 'target'].filter((key) => !entries.some((e) => e.key === key));
    if (missing.length > 0) yaml.errorAt(at.node, `${at.path}: a mount needs ${missing.join(' and ')}`);
    return null;
  }
  if (type === 'bind' && source === '') {
    yaml.errorAt(at.node, `${at.path}.source is required for a bind mount`);
    return null;
  }
  return mountOf(ctx, at, type, source, target, readOnly);
}

async function mountOf(
  ctx: StackContext,
  at: Where,
  kind: 'volume' | 'bind',
  source: string,
  target: string,
  readOnly: boolean,
): Promise<DesiredMount | null> {
  if (!target.startsWith('/')) {
    ctx.yaml.errorAt(at.node, `${at.path}: the target "${target}" must be an absolute path in the container`);
    return null;
  }
  if (kind === 'bind') {
    return isHostPath(source)
      ? hostBind(ctx, at, source, target, readOnly)
      : repoBind(ctx, at, source, target, readOnly);
  }
  if (source === '') return { type: 'volume', source: '', target, readOnly };
  const volume = ctx.volumes.get(source);
  if (volume === undefined) {
    ctx.yaml.errorAt(
      at.node,
      `${at.path}: volume "${source}" is not declared; add it under the top-level volumes, or write ./${source} for a folder of the repo`,
    );
    return null;
  }
  return { type: 'volume', source: volume.name, target, readOnly };
}

function isHostPath(source: string): boolean {
  return source.startsWith('/') || source.startsWith('~');
}

function hostBind(
  ctx: StackContext,
  at: Where,
  source: string,
  target: string,
  readOnly: boolean,
): DesiredMount | null {
  const { yaml, safety } = ctx;
  if (source.startsWith('~') && source !== '~' && !source.startsWith('~/')) {
    yaml.errorAt(at.node, `${at.path}: "${source}": only ~ and ~/… are supported, not another user's home`);
    return null;
  }
  // This check is lexical: a symlink below an allowed folder is the local owner's own doing.
  const path = normalizeHostPath(source.startsWith('~') ? ctx.homeDir + source.slice(1) : source);
  const socket = exposesDockerSocket(path);
  if (socket !== null && !safety.allowDockerSocket) {
    yaml.errorAt(at.node, `${at.path}: ${safetyMessages.dockerSocket(path)}`);
    return null;
  }
  // Allowing the socket is enough for the socket itself; a folder holding it must still be allowed.
  if (socket !== 'socket' && !underBindRoots(path, safety)) {
    yaml.errorAt(at.node, `${at.path}: ${safetyMessages.bindRoot(path, safety.bindRoots)}`);
    return null;
  }
  return { type: 'bind', source: path, target, readOnly };
}

async function repoBind(
  ctx: StackContext,
  at: Where,
  source: string,
  target: string,
  readOnly: boolean,
): Promise<DesiredMount | null> {
  const repoPath = resolveRepoPath(ctx.stackDir, source);
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
  if (object === null) {
    ctx.yaml.errorAt(
      at.node,
      `${at.path}: ${source} (${repoPath === '' ? 'the repo root' : repoPath}) does not exist in the config repo at this revision; a relative bind mount must name a file or folder committed to the repo`,
    );
    return null;
  }
  return { type: 'repo', repoPath, oid: object.oid, objectType: object.type, target, readOnly };
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
