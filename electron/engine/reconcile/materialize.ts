// Files and folders from the config repo that services bind-mount, written into the home folder.
// The path is content-addressed (the git oid), so a new revision writes a new copy and never
// changes what a running container sees; copies no container mounts any more are removed.
import { chmod, mkdir, readdir, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DesiredService } from '../../shared/model.ts';
import { repoMountPath } from '../docker/fields.ts';

const SYMLINK = '120000';

export interface ObjectReader {
  readBlob(oid: string): Promise<Uint8Array>;
  listTree(oid: string): Promise<{ path: string; oid: string; mode: string }[]>;
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function writeAtomically(file: string, data: Uint8Array, mode: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  if (mode === '100755') await chmod(tmp, 0o755);
  await rename(tmp, file);
}

export async function materializeMounts(
  home: string,
  services: DesiredService[],
  reader: ObjectReader,
): Promise<void> {
  for (const s of services) {
    for (const m of s.mounts) {
      if (m.type !== 'repo') continue;
      const target = repoMountPath(home, m);
      if (await exists(target)) continue;
      if (m.objectType === 'blob') {
        await writeAtomically(target, await reader.readBlob(m.oid), '100644');
      } else {
        // A folder is written under a temporary name and renamed into place, so a half-written
        // copy is never mistaken for a finished one.
        const tmp = `${target}.tmp-${process.pid}`;
        await rm(tmp, { recursive: true, force: true });
        await mkdir(tmp, { recursive: true });
        for (const entry of await reader.listTree(m.oid)) {
          const file = path.join(tmp, entry.path);
          if (entry.mode === SYMLINK) {
            // A link inside the repo stays a link (its target is the blob's text), as in a checkout.
            await mkdir(path.dirname(file), { recursive: true });
            await symlink(Buffer.from(await reader.readBlob(entry.oid)).toString('utf8'), file);
          } else {
            await writeAtomically(file, await reader.readBlob(entry.oid), entry.mode);
          }
        }
        await rename(tmp, target);
      }
    }
  }
}

/**
 * Removes materialized copies that none of the given mount sources (of existing containers) uses.
 * Recent copies are kept: another sync may have written them and not yet created its container.
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
    const info = await stat(path.join(root, oid)).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs < graceMs) continue;
    await rm(path.join(root, oid), { recursive: true, force: true });
    removed.push(oid);
  }
  return removed;
}
