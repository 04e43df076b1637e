// The ownership record (issue 10) on a real SQLite file: what this home made is recognized by id, a
// create cut off before its id was recorded is recognized once, and nothing made later qualifies.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HistoryStore } from '../../electron/engine/history/store.ts';

const id = (n: number): string => n.toString(16).padStart(64, '0');
const at = (ms: number): string => new Date(ms).toISOString();

describe('OwnershipStore', () => {
  let dir: string;
  let history: HistoryStore;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mooring-owned-'));
    history = new HistoryStore(path.join(dir, 'mooring.db'));
  });
  afterEach(async () => {
    history.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('knows what it recorded, and forgets what was removed', () => {
    const o = history.ownership;
    const intent = o.intend('container', 'web-app-1', 'cfg', 'web');
    o.confirm(intent, id(1));
    const c = { kind: 'container' as const, id: id(1), name: 'web-app-1', created: at(Date.now()) };
    expect(o.owns(c)).toBe(true);
    // Another container of that name made later (by hand, copying the labels) is not ours.
    expect(o.owns({ ...c, id: id(2) })).toBe(false);
    o.forget('container', id(1));
    expect(o.owns(c)).toBe(false);
  });

  it('takes a container whose create was cut off before its id was recorded, once', () => {
    const o = history.ownership;
    o.intend('container', 'web-app-1', 'cfg', 'web');
    const now = Date.now();
    expect(o.owns({ kind: 'container', id: id(3), name: 'web-app-1', created: at(now + 200) })).toBe(true);
    // The intent is used up: it now names that container, and a second look-alike gets nothing.
    expect(o.owns({ kind: 'container', id: id(4), name: 'web-app-1', created: at(now + 300) })).toBe(false);
    expect(o.owns({ kind: 'container', id: id(3), name: 'web-app-1', created: at(now + 200) })).toBe(true);
  });

  it('does not take what was made long after a create was intended, or under another name', () => {
    const o = history.ownership;
    o.intend('network', 'web_default', 'cfg', 'web');
    const now = Date.now();
    expect(o.owns({ kind: 'network', id: id(5), name: 'web_default', created: at(now + 120_000) })).toBe(
      false,
    );
    expect(o.owns({ kind: 'network', id: id(6), name: 'other', created: at(now) })).toBe(false);
    expect(o.owns({ kind: 'container', id: id(7), name: 'web_default', created: at(now) })).toBe(false);
  });

  it('takes what existed before the record was kept (a home from an earlier version)', () => {
    const o = history.ownership;
    expect(o.owns({ kind: 'container', id: id(8), name: 'x', created: '2020-01-01T00:00:00Z' })).toBe(true);
    expect(o.owns({ kind: 'container', id: id(9), name: 'x', created: 'not a time' })).toBe(false);
  });
});
