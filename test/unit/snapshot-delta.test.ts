// Pushes carry deltas (issue 12): a window that applies every delta to the snapshot it holds ends with
// the snapshot it would have fetched, and one that missed a delta notices.
import { describe, expect, it } from 'vitest';
import type { Snapshot, SnapshotDelta } from '../../electron/shared/api.ts';
import type { RunRecord, StackStatus } from '../../electron/shared/model.ts';
import { applyDelta, diffSnapshot } from '../../electron/shared/snapshot-delta.ts';

function stack(name: string, sync: StackStatus['sync'] = 'Synced', source = 'cfg'): StackStatus {
  return {
    source,
    name,
    revision: 'abc',
    sync,
    health: 'Healthy',
    services: [
      {
        name: 'web',
        sync,
        health: 'Healthy',
        container: `${name}-web-1`,
        containerId: null,
        image: { desired: 'busybox', live: 'busybox' },
        state: 'running',
        ports: [],
        startedAt: null,
        reasons: [],
      },
    ],
    errors: [],
    warnings: [],
    policy: { sync: 'manual', selfHeal: false, prune: false },
    suspended: false,
  };
}

function run(id: number, stackName: string): RunRecord {
  return {
    id,
    source: 'cfg',
    stack: stackName,
    revision: 'abc',
    trigger: 'manual',
    startedAt: '2026-12-01T00:00:00.000Z',
    finishedAt: null,
    result: 'running',
    error: null,
    plan: [],
  };
}

function snapshot(
  version: number,
  stacks: StackStatus[],
  lastRuns: Record<string, RunRecord> = {},
): Snapshot {
  return {
    version,
    host: 'here',
    stacks,
    sources: [],
    engine: { reachable: true, endpoint: 'unix:///var/run/docker.sock', error: null },
    controller: { enabled: true, running: true },
    lastRuns,
    revisions: { abc: { message: 'first', time: '2026-12-01T00:00:00.000Z' } },
    changedIn: { 'cfg/a': { target: 'abc' } },
    elsewhere: [],
  };
}

/** The push the service would send from `prev` to `next`. */
function push(prev: Snapshot, next: Snapshot): SnapshotDelta {
  const d = diffSnapshot(prev, next);
  if (!d) throw new Error('nothing changed');
  return { base: prev.version, version: prev.version + 1, ...d };
}

describe('snapshot deltas', () => {
  const a = stack('a');
  const b = stack('b');
  const c = stack('c');
  const before = snapshot(3, [a, b, c], { a: run(1, 'a') });

  it('nothing changed: no push', () => {
    expect(diffSnapshot(before, snapshot(3, [stack('a'), stack('b'), stack('c')], { a: run(1, 'a') }))).toBe(
      null,
    );
  });

  it('one stack changed: the push holds that stack only, and the others stay the same objects', () => {
    const after = snapshot(3, [a, stack('b', 'OutOfSync'), c], { a: run(1, 'a') });
    const d = push(before, after);
    expect(Object.keys(d).sort()).toEqual(['base', 'stacks', 'version']);
    expect(d.stacks!.map((s) => s.name)).toEqual(['b']);
    const applied = applyDelta(before, d)!;
    expect(applied).toEqual({ ...after, version: 4 });
    expect(applied.stacks[0]).toBe(a);
    expect(applied.stacks[2]).toBe(c);
  });

  it('stacks added, removed and reordered, with their last runs, end as the new snapshot', () => {
    const d2 = stack('d');
    const after = snapshot(3, [d2, c, a], { a: run(2, 'a'), d: run(3, 'd') });
    const d = push(before, after);
    expect(d.stackOrder).toEqual(['cfg/d', 'cfg/c', 'cfg/a']);
    expect(d.stacks!.map((s) => s.name)).toEqual(['d']);
    expect(applyDelta(before, d)).toEqual({ ...after, version: 4 });
  });

  it('two sources may hold a stack of the same name', () => {
    const after = snapshot(3, [a, b, c, stack('a', 'Missing', 'other')], { a: run(1, 'a') });
    expect(applyDelta(before, push(before, after))).toEqual({ ...after, version: 4 });
  });

  it('the engine, sources and controller travel only when they changed', () => {
    const after: Snapshot = { ...before, engine: { ...before.engine, reachable: false, error: 'gone' } };
    const d = push(before, after);
    expect(Object.keys(d).sort()).toEqual(['base', 'engine', 'version']);
    expect(applyDelta(before, d)).toEqual({ ...after, version: 4 });
  });

  it('which commit last changed each stack travels when it changed', () => {
    const after: Snapshot = { ...before, changedIn: { 'cfg/a': { target: 'abd', deployed: 'abc' } } };
    const d = push(before, after);
    expect(Object.keys(d).sort()).toEqual(['base', 'changedIn', 'version']);
    expect(applyDelta(before, d)).toEqual({ ...after, version: 4 });
  });

  it('a delta that does not follow the snapshot held asks for a whole one', () => {
    const after = snapshot(3, [a, stack('b', 'OutOfSync'), c]);
    expect(applyDelta(snapshot(2, [a, b, c]), push(before, after))).toBe(null);
    // A delta naming a stack the window does not hold cannot be applied either.
    expect(applyDelta(before, { base: 3, version: 4, stackOrder: ['cfg/a', 'cfg/zz'] })).toBe(null);
  });
});
