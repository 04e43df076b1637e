// Small display helpers for times and ids.
import type { Snapshot } from '../../electron/shared/api.ts';
import type { StackStatus } from '../../electron/shared/model.ts';

export function ago(iso: string | null | undefined): string {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86_400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86_400)}d ago`;
}

export function shortId(id: string | null | undefined): string {
  return id ? id.slice(0, 7) : '—';
}

/**
 * What an image that ran is, beside its tag: its registry digest, else (built or loaded here) its id,
 * 12 hex digits each as the docker CLI shows them.
 */
export function ranImageId(i: { id: string; digest?: string }): string {
  if (i.digest)
    return `digest ${i.digest.slice(i.digest.lastIndexOf('@') + 1, i.digest.lastIndexOf('@') + 20)}`;
  return `id ${i.id.replace(/^sha256:/, '').slice(0, 12)}`;
}

export function firstLine(text: string | null | undefined): string {
  return (text ?? '').split('\n')[0] ?? '';
}

export function duration(from: string | null, to: string | null): string {
  if (!from || !to) return '—';
  const ms = Date.parse(to) - Date.parse(from);
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * The commits a stack's Revision shows: the one its content is from at the target revision (the last
 * that changed its folder; a commit to another stack moves every target) and, when the containers run
 * other content, the one that content is from. The branch tip and the deployed revision when the
 * stack's history is not cached.
 */
export function stackRevisions(
  s: Pick<StackStatus, 'revision' | 'deployed'>,
  changed: Snapshot['changedIn'][string] | undefined,
): { target: string | null; deployed: string | null } {
  if (changed) return { target: changed.target, deployed: changed.deployed ?? null };
  return { target: s.revision, deployed: s.deployed && s.deployed !== s.revision ? s.deployed : null };
}
