// Pushes carry what changed, not the whole snapshot (issue 12): with 1,000 services a snapshot is
// about 230 KiB, and a change is usually one stack. The service diffs what it last published against
// what it would publish now; every window applies the delta to the snapshot it holds. Versions make a
// missed or reordered push visible, and the window then asks for a whole snapshot again (resync).
import type { Snapshot, SnapshotDelta } from './api.ts';
import type { StackStatus } from './model.ts';

/** What a holder has before the first push: version 0, which the first delta (base 0) builds on. */
export const EMPTY_SNAPSHOT: Snapshot = {
  version: 0,
  host: '',
  stacks: [],
  sources: [],
  engine: { reachable: false, endpoint: '', error: null },
  controller: { enabled: false, running: false },
  lastRuns: {},
  revisions: {},
  changedIn: {},
  elsewhere: [],
};

/** Stacks of two sources may share a name; a source's name holds no '/'. */
export function stackKey(s: Pick<StackStatus, 'source' | 'name'>): string {
  return `${s.source}/${s.name}`;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * Each stack's JSON, kept with the object: a snapshot's stacks are not changed once built, and the
 * stacks published last time were stringified when they were new, so a diff stringifies each stack
 * once (with 1,000 services that halves the diff, a third of a push's time on the server).
 */
const stackJson = new WeakMap<StackStatus, string>();
function jsonOf(s: StackStatus): string {
  let json = stackJson.get(s);
  if (json === undefined) {
    json = JSON.stringify(s);
    stackJson.set(s, json);
  }
  return json;
}

/** What changed from `prev` (at `prev.version`) to `next`; null when nothing did. */
export function diffSnapshot(prev: Snapshot, next: Snapshot): Omit<SnapshotDelta, 'base' | 'version'> | null {
  const delta: Omit<SnapshotDelta, 'base' | 'version'> = {};
  const before = new Map(prev.stacks.map((s) => [stackKey(s), jsonOf(s)]));
  const changed = next.stacks.filter((s) => before.get(stackKey(s)) !== jsonOf(s));
  if (changed.length) delta.stacks = changed;
  const order = next.stacks.map(stackKey);
  if (!same(order, prev.stacks.map(stackKey))) delta.stackOrder = order;
  // Sources are few and small: the whole list when one of them changed.
  if (!same(prev.sources, next.sources)) delta.sources = next.sources;
  if (!same(prev.engine, next.engine)) delta.engine = next.engine;
  if (!same(prev.controller, next.controller)) delta.controller = next.controller;
  const runs = Object.entries(next.lastRuns).filter(([k, r]) => !same(prev.lastRuns[k], r));
  if (runs.length) delta.lastRuns = Object.fromEntries(runs);
  if (!same(prev.revisions, next.revisions)) delta.revisions = next.revisions;
  if (!same(prev.changedIn, next.changedIn)) delta.changedIn = next.changedIn;
  if (!same(prev.elsewhere, next.elsewhere)) delta.elsewhere = next.elsewhere;
  if (prev.host !== next.host) delta.host = next.host;
  return Object.keys(delta).length ? delta : null;
}

/**
 * The snapshot after the delta, sharing every unchanged stack object with `s` (so a view of one stack
 * can skip its render); null when the delta does not follow `s` and a whole snapshot is needed.
 */
export function applyDelta(s: Snapshot, d: SnapshotDelta): Snapshot | null {
  if (d.base !== s.version) return null;
  let stacks = s.stacks;
  if (d.stacks || d.stackOrder) {
    const byKey = new Map(s.stacks.map((x) => [stackKey(x), x]));
    for (const x of d.stacks ?? []) byKey.set(stackKey(x), x);
    const order = d.stackOrder ?? s.stacks.map(stackKey);
    const next = order.map((k) => byKey.get(k));
    if (next.some((x) => x === undefined)) return null;
    stacks = next.filter((x) => x !== undefined);
  }
  let lastRuns = s.lastRuns;
  if (d.lastRuns || d.stackOrder) {
    // A removed stack's last run goes with it, as in a snapshot built afresh.
    const names = new Set(stacks.map((x) => x.name));
    lastRuns = Object.fromEntries(
      Object.entries({ ...s.lastRuns, ...d.lastRuns }).filter(([name]) => names.has(name)),
    );
  }
  return {
    version: d.version,
    host: d.host ?? s.host,
    stacks,
    sources: d.sources ?? s.sources,
    engine: d.engine ?? s.engine,
    controller: d.controller ?? s.controller,
    lastRuns,
    revisions: d.revisions ?? s.revisions,
    changedIn: d.changedIn ?? s.changedIn,
    elsewhere: d.elsewhere ?? s.elsewhere,
  };
}
