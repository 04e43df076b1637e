// Drift records: when a service (or a declared network or volume) was first seen differing from git,
// and which run or look resolved it. Written after a run and by the looks that are asked to record.
import type { StackStatus } from '../../shared/model.ts';
import type { RunRepository } from '../history/runs.ts';
import type { EngineRecords } from '../history/store.ts';

/**
 * Opens, updates and resolves drift records. A service that is Missing counts only once the stack
 * was deployed: before the first sync, nothing has drifted, it just was never there.
 */
export function recordDrift(
  runs: RunRepository,
  records: Pick<EngineRecords, 'engine' | 'drifts'>,
  statuses: StackStatus[],
  resolution: string,
): void {
  for (const st of statuses) {
    if (st.sync === 'Unknown') continue;
    const deployed =
      st.services.some((s) => s.container !== null) ||
      runs.lastDeployedRevision(st.name, records.engine) !== null;
    const drifting = new Map(
      st.services
        .filter((s) => s.sync === 'OutOfSync' || s.sync === 'Orphaned' || (s.sync === 'Missing' && deployed))
        .map((s) => [
          s.name,
          s.sync === 'Missing' ? [{ path: 'container', desired: 'present', live: null }] : s.reasons,
        ]),
    );
    // A declared network or volume, under `network NAME` / `volume NAME` (no service has a space).
    for (const r of st.resources ?? []) {
      if (r.sync === 'OutOfSync' || deployed) drifting.set(`${r.kind} ${r.key}`, r.reasons);
    }
    records.drifts.observe(st.source, st.name, drifting, resolution);
  }
}
