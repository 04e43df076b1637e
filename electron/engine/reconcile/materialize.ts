// Files and folders from the config repo that services bind-mount, written into the home folder.
// The path is content-addressed (the git oid), so a new revision writes a new copy and never
// changes what a running container sees; copies no container mounts any more are removed.
//
// The repo is untrusted input (issue 10, hole 1): a tree written by hand may hold a symbolic link `x`
// and a folder `x/` of one name, so that writing `x/file` after the link writes anywhere on the host.
// So every name is checked before anything is written; the copy is made in a fresh private folder,
// parents before children, each file with an exclusive create (an existing file or link is never
// written through) into a folder whose identity is checked just before; links come last, when nothing
// is written any more; and the finished folder is renamed into place under parents that are checked to
// be real folders. Node has no openat(), so "relative to the folder we made" is a dev/inode check of
// the parent right before each create; the private (0700) temporary folder keeps other local users
// from racing it, and the tree's own content cannot race at all.
import { constants, type Stats } from 'node:fs';
import {
  chmod,
  chown,
  lstat,
  mkdir,
  mkdtemp,
  open,
  readdir,
  rename,
  rm,
  rmdir,
  symlink,
} from 'node:fs/promises';
import path from 'node:path';
import type { DesiredFileMount, DesiredMount, DesiredService } from '../../shared/model.ts';
import {
  fileCopyId,
  fileCopyPath,
  parseFileCopyId,
  repoMountPath,
  type FileKind,
} from '../docker/mount-spec.ts';
import { MooringError, errorMessage } from '../errors.ts';
import {
  MAX_TREE_DEPTH,
  MAX_TREE_FILES,
  UnsafeTreeError,
  entryNameProblem,
  foldName,
  shortPath,
} from '../source/git-source.ts';

const SYMLINK = '120000';
const FILE_MODES: Record<string, number> = { '100644': 0o644, '100755': 0o755 };
/** PATH_MAX: a longer link target is no path. */
const MAX_LINK_TARGET = 4096;
/** Exclusive create that also refuses a link in the last component (O_NOFOLLOW is 0 on Windows). */
const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

export interface ObjectReader {
  readBlob(oid: string): Promise<Uint8Array>;
  listTree(oid: string): Promise<{ path: string; oid: string; mode: string }[]>;
}

export interface MaterializeLimits {
  /** Files and links in one mounted folder. */
  maxFiles: number;
  /** Bytes written for one mount. */
  maxBytes: number;
}

const DEFAULT_LIMITS: MaterializeLimits = { maxFiles: MAX_TREE_FILES, maxBytes: 1024 ** 3 };

type RepoMount = Extract<DesiredMount, { type: 'repo' }>;

/** A refusal: the entry (repo path) and why; the caller adds the service and says nothing was changed. */
class Refused extends Error {}

/** A refusal inside a listed tree, relative to it: placed under the mount's repo path by the caller. */
class RefusedEntry extends Error {
  constructor(
    readonly entry: string,
    readonly why: string,
  ) {
    super(`${entry}: ${why}`);
  }
}

/**
 * Writes every repo mount, secret and config of these services that is not written yet. Throws a
 * MooringError naming the service, the entry (repo path, or secret) and why when one cannot be written
 * safely; nothing is left behind in `home/mounts` for it, and nothing outside it is ever touched.
 * `contents` holds the bytes of secrets and configs written inline or taken from a variable
 * (DesiredStack.fileContents); no message ever quotes them.
 */
export async function materializeMounts(
  home: string,
  services: DesiredService[],
  reader: ObjectReader,
  limits: MaterializeLimits = DEFAULT_LIMITS,
  contents: ReadonlyMap<string, Uint8Array> = new Map(),
): Promise<void> {
  for (const s of services) {
    for (const kind of ['secrets', 'configs'] as const) {
      for (const f of s[kind] ?? []) {
        if (f.from === 'host') continue; // mounted as it is, like a bind mount
        const what = `Service "${s.name}" mounts ${kind === 'secrets' ? 'secret' : 'config'} "${f.name}"`;
        try {
          await materializeFile(home, kind, f, async () => {
            if (f.from === 'repo') return reader.readBlob(f.digest);
            const bytes = contents.get(f.digest);
            if (bytes === undefined) throw new Error('its content was not loaded with the stack');
            return bytes;
          });
        } catch (err) {
          if (err instanceof MooringError) throw err;
          const why =
            err instanceof Refused
              ? `, which cannot be written out safely: ${err.message}. Refused before any change to the engine`
              : `; writing its copy failed: ${errorMessage(err)}`;
          throw new MooringError('failed', `${what}${why}.`, { cause: err });
        }
      }
    }
    for (const m of s.mounts) {
      if (m.type !== 'repo') continue;
      try {
        await materializeOne(home, m, reader, limits);
      } catch (err) {
        const what = `Service "${s.name}" bind-mounts ${m.repoPath === '' ? 'the repo root' : m.repoPath} from the config repo`;
        if (err instanceof Refused) {
          throw new MooringError(
            'failed',
            `${what}, which cannot be written out safely: ${err.message}. Refused before any change to the engine.`,
            { cause: err },
          );
        }
        throw new MooringError('failed', `${what}; writing its copy failed: ${errorMessage(err)}.`, {
          cause: err,
        });
      }
    }
  }
}

async function materializeOne(
  home: string,
  m: RepoMount,
  reader: ObjectReader,
  limits: MaterializeLimits,
): Promise<void> {
  const root = path.join(home, 'mounts');
  // Where the copy goes is built from the oid and the repo path: both come from the repo.
  if (!/^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(m.oid)) throw new Refused(`"${m.oid}" is not a git object id`);
  const segments = m.repoPath === '' ? [] : m.repoPath.split('/');
  for (const [i, name] of segments.entries()) {
    const why = entryNameProblem(name);
    if (why !== null) throw new Refused(`${segments.slice(0, i + 1).join('/')}: ${why}`);
  }
  const target = repoMountPath(home, m);
  const inside = path.relative(root, target);
  if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside)) {
    throw new Refused(`${m.repoPath}: its copy would be written outside ${root}`);
  }
  // The folders the copy goes in (none of them the copy itself, also for a mount of the repo root).
  const parents = segments.length === 0 ? [] : [m.oid, ...segments.slice(0, -1)];

  const existing = await lstatOrNull(target);
  if (existing !== null) {
    // Written by an earlier sync, whole (a copy is renamed into place only when finished) — unless a
    // parent is a link an earlier copy made (a folder of the repo, `a/link`, is a link in one commit and
    // a folder in the next): Docker would follow it to wherever it points.
    await checkParents(root, parents, m.repoPath);
    const wanted = m.objectType === 'tree' ? existing.isDirectory() : existing.isFile();
    if (wanted) return;
    throw new Refused(
      `${m.repoPath}: an earlier copy at ${target} is ${kindOf(existing)}, not a ${m.objectType === 'tree' ? 'folder' : 'file'}; remove ${path.join(root, m.oid)} and sync again`,
    );
  }

  const shown = (rel: string): string =>
    m.objectType === 'tree' ? [m.repoPath, rel].filter(Boolean).join('/') : m.repoPath;
  // Every name and path is checked before anything is written.
  let plan: Plan;
  try {
    plan =
      m.objectType === 'tree'
        ? planTree(await reader.listTree(m.oid), limits)
        : { dirs: [], files: [{ path: 'file', oid: m.oid, mode: '100644' }], links: [] };
  } catch (err) {
    if (err instanceof RefusedEntry || err instanceof UnsafeTreeError) {
      throw new Refused(`${shortPath(shown(err.entry)) || 'the repo root'}: ${err.why}`);
    }
    throw err;
  }

  await mkdir(root, { recursive: true }); // the home folder is ours; what is below mounts/ is not trusted
  const tmp = await mkdtemp(path.join(root, '.tmp-'));
  const made: string[] = []; // parents made for this copy, removed again if it fails
  try {
    const folders = new Map<string, Stats>([['', await lstat(tmp)]]);
    const inFolder = async (rel: string): Promise<string> => {
      const parent = parentOf(rel);
      await checkSame(path.join(tmp, parent), folders.get(parent), shown(rel));
      return path.join(tmp, rel);
    };
    for (const dir of plan.dirs) {
      const full = await inFolder(dir);
      await mkdir(full, 0o755);
      const info = await lstat(full);
      if (!info.isDirectory()) throw new Refused(`${shown(dir)}: not a folder just after it was made`);
      folders.set(dir, info);
    }
    let bytes = 0;
    for (const f of plan.files) {
      const data = await reader.readBlob(f.oid);
      bytes += data.length;
      if (bytes > limits.maxBytes) {
        throw new Refused(`${shown(f.path)}: the copy would be larger than ${limits.maxBytes} bytes`);
      }
      await writeNew(await inFolder(f.path), data, FILE_MODES[f.mode] ?? 0o644);
    }
    for (const l of plan.links) {
      const text = linkText(await reader.readBlob(l.oid));
      if (text === null) throw new Refused(`${shown(l.path)}: a symbolic link whose target is no path`);
      // A link stays a link, as in a checkout: inside the container it resolves in the container's own
      // file system. Nothing is written after this, so no write can pass through it.
      await symlink(text, await inFolder(l.path));
    }

    // The parents of the copy (mounts/<oid>/<repo folders>): made one at a time, each a real folder.
    await makeParents(root, parents, m.repoPath, made);
    if (m.objectType === 'tree') {
      // mkdtemp made it private while it was written; containers may run as any user.
      await chmod(tmp, 0o755);
      await placeFolder(tmp, target, m.repoPath);
    } else {
      await rename(path.join(tmp, 'file'), target);
      await rmdir(tmp);
    }
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    for (const dir of made.reverse()) await rmdir(dir).catch(() => undefined);
    throw err;
  }
}

/** Makes `root/parents…` one at a time, each checked to be a real folder; records what it made. */
async function makeParents(root: string, parents: string[], entry: string, made: string[]): Promise<void> {
  let at = root;
  for (const name of parents) {
    at = path.join(at, name);
    const created = await mkdir(at).then(
      () => true,
      (err: unknown) => {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw err;
      },
    );
    if (created) made.push(at);
    const info = await lstat(at);
    if (!info.isDirectory()) {
      throw new Refused(
        `${entry}: ${at} is ${kindOf(info)} left by an earlier copy, not a folder; remove ${path.join(root, parents[0]!)} and sync again`,
      );
    }
  }
}

/**
 * One secret or config as a file of its own, `mounts/f-<digest>-<mode>-<uid>-<gid>/<kind>/<name>`,
 * written with its mode and owner (issue 11, item 4). Like a repo copy: made in a private temporary
 * folder with an exclusive create, then renamed into place under parents checked to be real folders.
 */
async function materializeFile(
  home: string,
  kind: FileKind,
  f: DesiredFileMount,
  bytes: () => Promise<Uint8Array>,
): Promise<void> {
  const root = path.join(home, 'mounts');
  const id = fileCopyId(f);
  // The folder's name is built from the manifest (digest, owner) and the file's from its name: both
  // checked, though the loader let through only what passes these.
  if (parseFileCopyId(id) === null) throw new Refused(`"${id}" is not a copy's name`);
  const why = entryNameProblem(f.name);
  if (why !== null || f.name === '.' || f.name === '..')
    throw new Refused(`"${f.name}": ${why ?? 'not a name'}`);
  const target = fileCopyPath(home, kind, f);
  const parents = [id, kind];
  const existing = await lstatOrNull(target);
  if (existing !== null) {
    // Written whole by an earlier sync (renamed into place only when finished).
    await checkParents(root, parents, f.name);
    if (existing.isFile()) return;
    throw new Refused(
      `${target} is ${kindOf(existing)}, not a file; remove ${path.join(root, id)} and sync again`,
    );
  }
  const data = await bytes();
  await mkdir(root, { recursive: true });
  const tmp = await mkdtemp(path.join(root, '.tmp-'));
  const made: string[] = [];
  try {
    const file = path.join(tmp, 'file');
    await writeNew(file, data, f.mode);
    if (f.uid !== undefined || f.gid !== undefined) await giveTo(file, f);
    await makeParents(root, parents, f.name, made);
    await rename(file, target);
    await rmdir(tmp);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    for (const dir of made.reverse()) await rmdir(dir).catch(() => undefined);
    throw err;
  }
}

/** chown to the uid/gid the compose file asks for; only root may give a file to another user. */
async function giveTo(file: string, f: DesiredFileMount): Promise<void> {
  const uid = f.uid === undefined ? -1 : Number(f.uid);
  const gid = f.gid === undefined ? -1 : Number(f.gid);
  try {
    await chown(file, uid, gid);
    // chown clears the setuid and setgid bits: the mode asked for is set again after it.
    await chmod(file, f.mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    const me = process.getuid?.() ?? -1;
    throw new MooringError(
      'failed',
      `${f.name} is to be owned by uid ${f.uid ?? '(unchanged)'} gid ${f.gid ?? '(unchanged)'}, and Mooring runs as uid ${me}, which may not give a file to another user. Run Mooring as root, or leave uid and gid out (the file is then owned by uid ${me}, readable as its mode ${f.mode.toString(8).padStart(4, '0')} says). Nothing was changed.`,
      { cause: err },
    );
  }
}

interface Plan {
  /** Folders, parents before children. */
  dirs: string[];
  files: { path: string; oid: string; mode: string }[];
  links: { path: string; oid: string; mode: string }[];
}

/**
 * The folders, files and links of a listed tree, or a RefusedEntry naming the first entry that is not
 * a plain path of its own: a bad name, a path that is both a file (or link) and a folder, two names of
 * one folder that a case-insensitive file system takes for one.
 */
function planTree(
  listed: { path: string; oid: string; mode: string }[],
  limits: Pick<MaterializeLimits, 'maxFiles'> = DEFAULT_LIMITS,
): Plan {
  if (listed.length > limits.maxFiles) {
    throw new RefusedEntry('', `the folder holds ${listed.length} files, more than ${limits.maxFiles}`);
  }
  const kinds = new Map<string, 'dir' | 'file' | 'link'>();
  const folded = new Map<string, string>(); // parent + folded name → the name first seen
  const plan: Plan = { dirs: [], files: [], links: [] };
  for (const f of listed) {
    const segments = f.path.split('/');
    if (segments.length > MAX_TREE_DEPTH) {
      throw new RefusedEntry(
        f.path,
        `folders nest ${segments.length - 1} levels deep, more than ${MAX_TREE_DEPTH}`,
      );
    }
    let parent = '';
    for (const [i, name] of segments.entries()) {
      const rel = parent === '' ? name : `${parent}/${name}`;
      const why = entryNameProblem(name);
      if (why !== null) throw new RefusedEntry(rel, why);
      const last = i === segments.length - 1;
      const kind = !last ? 'dir' : f.mode === SYMLINK ? 'link' : 'file';
      const had = kinds.get(rel);
      if (had === 'dir' && kind === 'dir') {
        parent = rel;
        continue;
      }
      if (had !== undefined) throw new RefusedEntry(rel, clash(had, kind));
      const key = `${parent}/${foldName(name)}`;
      const other = folded.get(key);
      if (other !== undefined) {
        throw new RefusedEntry(
          rel,
          `"${name}" and "${other}" are one name on a case-insensitive file system (macOS, Windows)`,
        );
      }
      folded.set(key, name);
      kinds.set(rel, kind);
      if (kind === 'dir') plan.dirs.push(rel);
      else if (kind === 'link') plan.links.push(f);
      else if (FILE_MODES[f.mode] !== undefined) plan.files.push(f);
      else throw new RefusedEntry(rel, `file mode ${f.mode} is not one git writes`);
      parent = rel;
    }
  }
  return plan;
}

function clash(had: 'dir' | 'file' | 'link', kind: 'dir' | 'file' | 'link'): string {
  const kinds = new Set([had, kind]);
  if (kinds.has('link') && kinds.has('dir')) {
    return 'a symbolic link and a folder share this name (a tree written by hand; git never makes one), so the folder would be written through the link';
  }
  if (kinds.has('dir')) return 'a file and a folder share this name (a tree written by hand)';
  return 'the name appears twice in its folder (a tree written by hand; git never makes one)';
}

/** The finished copy into place; a copy another sync placed first (same oid, same content) wins. */
async function placeFolder(tmp: string, target: string, repoPath: string): Promise<void> {
  try {
    await rename(tmp, target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const now = await lstatOrNull(target);
    if ((code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'EPERM') && now?.isDirectory()) {
      await rm(tmp, { recursive: true, force: true });
      return;
    }
    if (now !== null && !now.isDirectory()) {
      throw new Refused(`${repoPath}: ${target} appeared as ${kindOf(now)} while the copy was written`);
    }
    throw err;
  }
}

/** Each parent below `root` is a real folder (not a link, not a file). */
async function checkParents(root: string, parents: string[], repoPath: string): Promise<void> {
  let at = root;
  for (const name of parents) {
    at = path.join(at, name);
    const info = await lstat(at);
    if (!info.isDirectory()) {
      throw new Refused(
        `${repoPath}: ${at} is ${kindOf(info)} left by an earlier copy, not a folder; remove ${path.join(root, parents[0]!)} and sync again`,
      );
    }
  }
}

/** The folder is still the one made a moment ago: same device and inode, a folder, not a link. */
async function checkSame(dir: string, made: Stats | undefined, entry: string): Promise<void> {
  const now = await lstat(dir);
  if (made === undefined || !now.isDirectory() || now.dev !== made.dev || now.ino !== made.ino) {
    throw new Refused(`${entry}: its folder changed while the copy was written`);
  }
}

/** Creates a file that did not exist (never writing through a link or over a file) and fills it. */
async function writeNew(file: string, data: Uint8Array, mode: number): Promise<void> {
  const handle = await open(file, CREATE_NEW, mode);
  try {
    await handle.writeFile(data);
    // The umask may have taken bits away: the repo's mode is what the container should see.
    await handle.chmod(mode);
  } finally {
    await handle.close();
  }
}

function linkText(bytes: Uint8Array): string | null {
  if (bytes.length === 0 || bytes.length > MAX_LINK_TARGET) return null;
  const text = new TextDecoder().decode(bytes);
  return text.includes('\0') ? null : text;
}

function parentOf(rel: string): string {
  const at = rel.lastIndexOf('/');
  return at === -1 ? '' : rel.slice(0, at);
}

function kindOf(info: Stats): string {
  if (info.isSymbolicLink()) return 'a symbolic link';
  if (info.isDirectory()) return 'a folder';
  if (info.isFile()) return 'a file';
  return 'a special file';
}

async function lstatOrNull(p: string): Promise<Stats | null> {
  try {
    return await lstat(p);
  } catch (err) {
    // ENOTDIR: a file where a parent folder should be; the parents are checked one by one after this.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
}

/**
 * Removes materialized copies that none of the given mount sources (of existing containers) uses.
 * Recent copies are kept: another sync may have written them and not yet created its container.
 * Temporary folders of copies that never finished (`.tmp-…`, a crash) go the same way.
 */
export async function cleanupMounts(home: string, inUse: string[], graceMs = 10 * 60_000): Promise<string[]> {
  const root = path.join(home, 'mounts');
  let oids: string[];
  try {
    oids = await readdir(root);
  } catch {
    return [];
  }
  const used = new Set(
    inUse
      .filter((p) => p.startsWith(root + path.sep))
      .map((p) => p.slice(root.length + 1).split(path.sep)[0]),
  );
  const removed: string[] = [];
  for (const oid of oids) {
    if (used.has(oid)) continue;
    // lstat: whatever is in mounts/ is never followed anywhere.
    const info = await lstat(path.join(root, oid)).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs < graceMs) continue;
    await rm(path.join(root, oid), { recursive: true, force: true });
    removed.push(oid);
  }
  return removed;
}
