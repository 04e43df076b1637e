// Mounts (volumes:, secrets:, configs:) projected for drift, desired and live side by side in this one
// file, like fields.ts does for the rest: each option must read the same on both sides, or a freshly
// synced stack shows false drift. The live side reads the container's Mounts (what the engine made)
// and, for options those do not show, HostConfig.Mounts (what the create call asked for).
import type Docker from 'dockerode';
import path from 'node:path';
import type { DesiredMount, DesiredService } from '../../shared/model.ts';
import { normalizeTarget } from '../manifest/mounts.ts';
import { showBytes } from '../manifest/passthrough.ts';
import { parseFileCopyId, type FileKind } from './mount-spec.ts';

type Fields = Record<string, string>;

/** An anonymous volume: the engine names it with 64 hex digits of its own. */
const ANONYMOUS = 'volume (anonymous)';

function withOptions(base: string, options: (string | false | undefined)[]): string {
  const shown = options.filter((o): o is string => typeof o === 'string' && o !== '');
  return shown.length === 0 ? base : `${base} (${shown.join(', ')})`;
}

function mode(n: number): string {
  return `mode ${n.toString(8).padStart(4, '0')}`;
}

function desiredMountValue(m: DesiredMount): string {
  const ro = m.readOnly && 'ro';
  switch (m.type) {
    case 'volume':
      return withOptions(m.source === '' ? ANONYMOUS : `volume ${m.source}`, [
        ro,
        m.nocopy && 'nocopy',
        m.subpath !== undefined && `subpath ${m.subpath}`,
      ]);
    case 'bind':
      return withOptions(`bind ${m.source}`, [
        ro,
        m.selinux,
        m.propagation,
        m.recursive !== undefined && `recursive ${m.recursive}`,
      ]);
    case 'repo':
      return withOptions(`repo ${m.repoPath}@${m.oid.slice(0, 7)}`, [ro, m.selinux, m.propagation]);
    case 'tmpfs':
      return withOptions('tmpfs', [
        ro,
        m.sizeBytes !== undefined && `size ${showBytes(m.sizeBytes)}`,
        m.mode !== undefined && mode(m.mode),
      ]);
    case 'image':
      return withOptions(`image ${m.source}`, [m.subpath !== undefined && `subpath ${m.subpath}`]);
  }
}

/** A secret or config as drift shows it: where, and a short content hash, never the content. */
function fileValue(
  target: string,
  f: { digest: string; mode: number; uid?: string; gid?: string },
  readOnly: boolean,
): string {
  return withOptions(`${normalizeTarget(target)}, content ${f.digest.slice(0, 12)}`, [
    mode(f.mode),
    f.uid !== undefined && `uid ${f.uid}`,
    f.gid !== undefined && `gid ${f.gid}`,
    !readOnly && 'writable',
  ]);
}

/**
 * The desired mounts. `imageVolumes` are the image's own VOLUME paths: the engine gives each an
 * anonymous volume unless the compose file mounts something there.
 */
export function desiredMountFields(s: DesiredService, imageVolumes: readonly string[], f: Fields): void {
  for (const v of imageVolumes) f[`volumes.${normalizeTarget(v)}`] = ANONYMOUS;
  for (const m of s.mounts) f[`volumes.${normalizeTarget(m.target)}`] = desiredMountValue(m);
  const taken = new Set(s.mounts.map((m) => normalizeTarget(m.target)));
  for (const kind of ['secrets', 'configs'] as const) {
    for (const file of s[kind] ?? []) {
      const target = normalizeTarget(file.target);
      if (taken.has(target)) continue;
      taken.add(target);
      // A host file is a read-only bind mount of it, and reads back as one.
      if (file.from === 'host') f[`volumes.${target}`] = `bind ${file.digest} (ro)`;
      else f[`${kind}.${file.name}`] = fileValue(target, file, true);
    }
  }
}

/** The options the engine's Mounts list does not show, from what the create call asked for. */
interface RequestedMount {
  Target?: string;
  VolumeOptions?: { NoCopy?: boolean; Subpath?: string } | null;
  BindOptions?: {
    NonRecursive?: boolean;
    ReadOnlyNonRecursive?: boolean;
    ReadOnlyForceRecursive?: boolean;
  } | null;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number } | null;
  ImageOptions?: { Subpath?: string } | null;
}

export function liveMountFields(c: Docker.ContainerInspectInfo, home: string, f: Fields): void {
  const requested = new Map<string, RequestedMount>();
  const hostMounts = (c.HostConfig as { Mounts?: RequestedMount[] | null }).Mounts ?? [];
  for (const r of hostMounts) if (r.Target) requested.set(normalizeTarget(r.Target), r);
  const mountsRoot = path.join(home, 'mounts') + path.sep;
  for (const m of c.Mounts as (Docker.ContainerInspectInfo['Mounts'][number] & { Type: string })[]) {
    const target = normalizeTarget(m.Destination);
    const r = requested.get(target);
    const ro = !m.RW && 'ro';
    const modes = (m.Mode ?? '').split(',');
    if (m.Type === 'volume') {
      const anonymous = m.Name !== undefined && /^[0-9a-f]{64}$/.test(m.Name);
      f[`volumes.${target}`] = withOptions(anonymous ? ANONYMOUS : `volume ${m.Name ?? ''}`, [
        ro,
        (modes.includes('nocopy') || r?.VolumeOptions?.NoCopy === true) && 'nocopy',
        !!r?.VolumeOptions?.Subpath && `subpath ${r.VolumeOptions.Subpath}`,
      ]);
      continue;
    }
    if (m.Type === 'tmpfs') {
      const t = r?.TmpfsOptions;
      f[`volumes.${target}`] = withOptions('tmpfs', [
        ro,
        !!t?.SizeBytes && `size ${showBytes(t.SizeBytes)}`,
        t?.Mode !== undefined && t.Mode !== 0 && mode(t.Mode),
      ]);
      continue;
    }
    if (m.Type === 'image') {
      f[`volumes.${target}`] = withOptions(`image ${m.Source}`, [
        !!r?.ImageOptions?.Subpath && `subpath ${r.ImageOptions.Subpath}`,
      ]);
      continue;
    }
    const selinux = modes.find((x) => x === 'z' || x === 'Z');
    const propagation = m.Propagation && m.Propagation !== 'rprivate' ? m.Propagation : undefined;
    if (m.Type === 'bind' && m.Source.startsWith(mountsRoot)) {
      const rest = m.Source.slice(mountsRoot.length).split(path.sep);
      const id = rest.shift() ?? '';
      const file = parseFileCopyId(id);
      const kind = rest[0] as FileKind | undefined;
      if (file !== null && (kind === 'secrets' || kind === 'configs') && rest.length === 2) {
        f[`${kind}.${rest[1]!}`] = fileValue(target, file, !m.RW);
        continue;
      }
      f[`volumes.${target}`] = withOptions(`repo ${rest.join('/')}@${id.slice(0, 7)}`, [
        ro,
        selinux,
        propagation,
      ]);
      continue;
    }
    const b = r?.BindOptions;
    const recursive = b?.NonRecursive
      ? 'disabled'
      : b?.ReadOnlyNonRecursive
        ? 'writable'
        : b?.ReadOnlyForceRecursive
          ? 'readonly'
          : undefined;
    f[`volumes.${target}`] = withOptions(`${m.Type} ${m.Source}`, [
      ro,
      m.Type === 'bind' && selinux,
      m.Type === 'bind' && propagation,
      recursive !== undefined && `recursive ${recursive}`,
    ]);
  }
}
