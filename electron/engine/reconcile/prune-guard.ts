// A commit that deletes every stack of a source (a bad merge, a moved folder, a force-push) would,
// with `prune: true`, remove everything it deployed. Like Argo CD's deletion confirmation, removing at
// least a set share of a source's stacks at once waits for a person (issue 10, item 8). Pure.
import type { StackStatus } from '../../shared/model.ts';

export interface PruneHold {
  source: string;
  /** The source's stacks that git no longer declares. */
  deleted: string[];
  /** The source's stacks known here: declared, plus deleted ones that still run. */
  total: number;
  message: string;
}

/** Holds, one per source, where the deleted share reaches `share` (0 < share ≤ 1; 1: all of them). */
export function pruneHolds(statuses: StackStatus[], share: number): PruneHold[] {
  const bySource = new Map<string, StackStatus[]>();
  for (const st of statuses) bySource.set(st.source, [...(bySource.get(st.source) ?? []), st]);
  const holds: PruneHold[] = [];
  for (const [source, stacks] of bySource) {
    const deleted = stacks.filter((s) => s.deletedInGit).map((s) => s.name);
    if (deleted.length === 0 || deleted.length < share * stacks.length) continue;
    const what =
      deleted.length === stacks.length
        ? `every stack of source "${source}" (${deleted.join(', ')})`
        : `${deleted.length} of the ${stacks.length} stacks of source "${source}" (${deleted.join(', ')})`;
    holds.push({
      source,
      deleted,
      total: stacks.length,
      message: `Pruning waits for a person: git no longer declares ${what}. If that is intended, confirm it in the app or run \`mooring sync --prune --allow-empty\`; otherwise restore them in git. (settings.json pruneConfirmShare sets when this asks.)`,
    });
  }
  return holds;
}

/** Marks the deleted stacks that a hold keeps (their `pruneHold` says why). */
export function markHeld(statuses: StackStatus[], share: number): PruneHold[] {
  const holds = pruneHolds(statuses, share);
  for (const hold of holds) {
    for (const st of statuses) {
      if (st.source === hold.source && st.deletedInGit) st.pruneHold = hold.message;
    }
  }
  return holds;
}
