// A service's mounts (volumes:, secrets:, configs:) as the engine's create call takes them. Most go
// through the Mount API; a bind mount whose host folder may be made, or that is relabeled for SELinux,
// goes through the older Binds list, the only form in which the engine does either (compose v2 does the
// same: moby/moby#43483).
import type Docker from 'dockerode';
import path from 'node:path';
import type { DesiredFileMount, DesiredMount, DesiredService } from '../../shared/model.ts';

/** What a kind of file mount is called in compose, and the folder its copies are kept under. */
export type FileKind = 'secrets' | 'configs';

/**
 * Where a repo file is materialized: content-addressed (the git oid), so a new revision never changes
 * what a running container sees.
 */
export function repoMountPath(home: string, m: { oid: string; repoPath: string }): string {
  return path.join(home, 'mounts', m.oid, m.repoPath);
}

/**
 * The copy of one secret or config: `mounts/f-<digest>-<mode>-<uid>-<gid>/<kind>/<name>`. Everything the
 * file is made with is in the folder's name, so a change of content, mode or owner is a new copy (and
 * shows as drift), and the live side can be read back from the path alone (fields.ts).
 */
export function fileCopyPath(home: string, kind: FileKind, f: DesiredFileMount): string {
  return path.join(home, 'mounts', fileCopyId(f), kind, f.name);
}

export function fileCopyId(f: Pick<DesiredFileMount, 'digest' | 'mode' | 'uid' | 'gid'>): string {
  return `f-${f.digest}-${f.mode.toString(8).padStart(4, '0')}-${f.uid ?? 'x'}-${f.gid ?? 'x'}`;
}

/** The inverse of fileCopyId; null for anything else (a repo copy's folder is a bare oid). */
export function parseFileCopyId(
  id: string,
): { digest: string; mode: number; uid?: string; gid?: string } | null {
  const m = /^f-([0-9a-f]{40}|[0-9a-f]{64})-([0-7]{4})-(\d+|x)-(\d+|x)$/.exec(id);
  if (m === null) return null;
  return {
    digest: m[1]!,
    mode: parseInt(m[2]!, 8),
    ...(m[3] !== 'x' ? { uid: m[3]! } : {}),
    ...(m[4] !== 'x' ? { gid: m[4]! } : {}),
  };
}

/** Where a secret or config is mounted from: its copy, or a host file (allowed by the policy) itself. */
export function fileSource(home: string, kind: FileKind, f: DesiredFileMount): string {
  return f.from === 'host' ? f.digest : fileCopyPath(home, kind, f);
}

type BindLike = Extract<DesiredMount, { type: 'bind' | 'repo' }>;

/** Whether a mount can be a Binds entry: that form cannot say `recursive`, nor a path with a colon. */
function bindable(source: string, m: BindLike): boolean {
  return (
    !(m.type === 'bind' && m.recursive !== undefined) && !source.includes(':') && !m.target.includes(':')
  );
}

/** Whether the engine makes this bind mount's missing host folder (else preflight says it is missing). */
export function engineMakesSource(m: DesiredMount): boolean {
  return m.type === 'bind' && m.createHostPath === true && bindable(m.source, m);
}

/** Bind mounts the engine must be given as a Binds string: it makes a missing folder, or relabels. */
function bindString(source: string, m: BindLike): string | null {
  const create = m.type === 'bind' && m.createHostPath === true;
  if ((!create && m.selinux === undefined) || !bindable(source, m)) return null;
  const options = [m.readOnly ? 'ro' : 'rw', m.selinux, m.propagation].filter(Boolean);
  return `${source}:${m.target}:${options.join(',')}`;
}

export function mountSpec(
  s: DesiredService,
  home: string,
): { mounts: Docker.MountSettings[]; binds: string[] } {
  const mounts: Docker.MountSettings[] = [];
  const binds: string[] = [];
  for (const m of s.mounts) {
    switch (m.type) {
      case 'volume':
        mounts.push({
          Type: 'volume',
          Source: m.source,
          Target: m.target,
          ReadOnly: m.readOnly,
          ...(m.nocopy || m.subpath !== undefined
            ? {
                VolumeOptions: {
                  ...(m.nocopy ? { NoCopy: true } : {}),
                  ...(m.subpath !== undefined ? { Subpath: m.subpath } : {}),
                } as Docker.MountSettings['VolumeOptions'],
              }
            : {}),
        });
        break;
      case 'bind':
      case 'repo': {
        const source = m.type === 'bind' ? m.source : repoMountPath(home, m);
        const bind = bindString(source, m);
        if (bind !== null) {
          binds.push(bind);
          break;
        }
        const recursive = m.type === 'bind' ? m.recursive : undefined;
        const options = {
          ...(m.propagation !== undefined ? { Propagation: m.propagation } : {}),
          ...(recursive === 'disabled' ? { NonRecursive: true } : {}),
          ...(recursive === 'writable' ? { ReadOnlyNonRecursive: true } : {}),
          ...(recursive === 'readonly' ? { ReadOnlyForceRecursive: true } : {}),
        };
        mounts.push({
          Type: 'bind',
          Source: source,
          Target: m.target,
          ReadOnly: m.readOnly,
          ...(Object.keys(options).length > 0
            ? { BindOptions: options as Docker.MountSettings['BindOptions'] }
            : {}),
        });
        break;
      }
      case 'tmpfs':
        mounts.push({
          Type: 'tmpfs',
          Source: '',
          Target: m.target,
          ReadOnly: m.readOnly,
          ...(m.sizeBytes !== undefined || m.mode !== undefined
            ? {
                // Either may be left out: the engine's defaults (half the memory, 1777) then apply.
                TmpfsOptions: {
                  ...(m.sizeBytes !== undefined ? { SizeBytes: m.sizeBytes } : {}),
                  ...(m.mode !== undefined ? { Mode: m.mode } : {}),
                } as NonNullable<Docker.MountSettings['TmpfsOptions']>,
              }
            : {}),
        });
        break;
      case 'image':
        mounts.push({
          Type: 'image',
          Source: m.source,
          Target: m.target,
          ReadOnly: true,
          ...(m.subpath !== undefined ? { ImageOptions: { Subpath: m.subpath } } : {}),
        });
        break;
    }
  }
  // Secrets and configs: read-only files where compose puts them; a volume at the same target wins,
  // as in compose.
  const taken = new Set(s.mounts.map((m) => m.target));
  for (const kind of ['secrets', 'configs'] as const) {
    for (const f of s[kind] ?? []) {
      if (taken.has(f.target)) continue;
      taken.add(f.target);
      mounts.push({ Type: 'bind', Source: fileSource(home, kind, f), Target: f.target, ReadOnly: true });
    }
  }
  return { mounts, binds };
}
