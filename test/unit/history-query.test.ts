// The history page query (HistoryStore.runs.list, issue 6): a page is the newest matching runs by
// start time (then id), keyset paging goes on after a given run, also when runs were not written in
// time order (a clock set back, two processes). Checked against a filter and sort done in JS.
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../electron/shared/model.ts';
import { MIGRATIONS } from '../../electron/engine/history/migrations.ts';
import type { RunQuery } from '../../electron/engine/history/runs.ts';
import { HistoryStore } from '../../electron/engine/history/store.ts';

const RUNS = 3000;
const START = Date.parse('2025-01-01T00:00:00Z');
const HOUR = 3_600_000;

interface Row {
  id: number;
  stack: string;
  trigger: string;
  result: string;
  source: string;
  startedAt: string;
}

let dir: string;
let store: HistoryStore;
const rows: Row[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mooring-history-query-'));
  const file = path.join(dir, 'mooring.db');
  new HistoryStore(file).close();
  const db = new Database(file);
  const insert = db.prepare(
    "INSERT INTO runs (id, source, stack, revision, trigger, started_at, result, plan, host, pid) VALUES (?, ?, ?, 'rev', ?, ?, ?, '[]', 'h', 1)",
  );
  db.transaction(() => {
    for (let id = 1; id <= RUNS; id++) {
      // Mostly one run an hour in id order; every 37th is an hour and a half "early" (clock set back).
      const at = START + id * HOUR - (id % 37 === 0 ? 1.5 * HOUR : 0);
      const row = {
        id,
        stack: `s${id % 7}`,
        trigger: id % 5 === 0 ? 'rollback' : 'auto',
        result: id % 11 === 0 ? 'failed' : 'succeeded',
        source: id % 3 === 0 ? 'other' : 'main',
        startedAt: new Date(at).toISOString(),
      };
      rows.push(row);
      insert.run(id, row.source, row.stack, row.trigger, row.startedAt, row.result);
    }
  })();
  db.close();
  store = new HistoryStore(file);
});

afterAll(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

const iso = (hours: number): string => new Date(START + hours * HOUR).toISOString();

/** The page order: newest start first, then the higher id. */
const newestFirst = (a: Row, b: Row): number =>
  a.startedAt === b.startedAt ? b.id - a.id : a.startedAt < b.startedAt ? 1 : -1;

function expected(q: RunQuery): number[] {
  const after = q.before === undefined ? undefined : rows.find((r) => r.id === q.before);
  return rows
    .filter(
      (r) =>
        (q.stack === undefined || r.stack === q.stack) &&
        (q.trigger === undefined || r.trigger === q.trigger) &&
        (q.result === undefined || r.result === q.result) &&
        (q.source === undefined || r.source === q.source) &&
        (q.from === undefined || r.startedAt >= q.from) &&
        (q.to === undefined || r.startedAt < q.to) &&
        (after === undefined || newestFirst(after, r) < 0),
    )
    .sort(newestFirst)
    .slice(0, q.limit ?? 50)
    .map((r) => r.id);
}

const ids = (runs: RunRecord[]): number[] => runs.map((r) => r.id);

describe('HistoryStore.runs.list', () => {
  const cases: [string, RunQuery][] = [
    ['no filter', { limit: 200 }],
    ['a narrow range far back (index)', { from: iso(100), to: iso(130), limit: 200 }],
    [
      'a narrow range far back with a disordered run at its edge',
      { from: iso(110), to: iso(111), limit: 200 },
    ],
    ['a wide range ending recently (walk)', { from: iso(10), to: iso(2990), limit: 200 }],
    ['from only', { from: iso(2500), limit: 200 }],
    ['to only, far back', { to: iso(300), limit: 200 }],
    ['a range with keyset paging', { from: iso(100), to: iso(2000), before: 1500, limit: 100 }],
    ['a range after the last run', { from: iso(5000), limit: 200 }],
    ['a range before the first run', { to: iso(0), limit: 200 }],
    ['stack + result', { stack: 's3', result: 'failed', limit: 200 }],
    [
      'stack + trigger + result + range',
      { stack: 's3', trigger: 'rollback', result: 'failed', from: iso(50), to: iso(2800) },
    ],
    ['source + range + before', { source: 'other', from: iso(500), to: iso(900), before: 800 }],
    ['before a run that started early', { before: 37 * 20, limit: 5 }],
  ];
  for (const [name, q] of cases) {
    it(`gives exactly the newest matching runs: ${name}`, () => {
      expect(ids(store.runs.list(q))).toEqual(expected(q));
    });
  }

  it('pages through every run exactly once, disordered ones included', () => {
    const seen: number[] = [];
    let page = store.runs.list({ limit: 170 });
    while (page.length > 0) {
      seen.push(...ids(page));
      page = store.runs.list({ limit: 170, before: page[page.length - 1]!.id });
    }
    expect(seen).toEqual([...rows].sort(newestFirst).map((r) => r.id));
  });
});

describe('HistoryStore.runs.lastPerStack', () => {
  it('gives each stack the run its first history page starts with, in one index read per stack', () => {
    const stacks = ['s0', 's1', 's2', 's3', 's4', 's5', 's6', 'never-ran', 's3'];
    const latest = store.runs.lastPerStack(stacks, 'local');
    expect([...latest.keys()].sort()).toEqual(['s0', 's1', 's2', 's3', 's4', 's5', 's6']);
    for (const stack of ['s0', 's1', 's2', 's3', 's4', 's5', 's6']) {
      expect(latest.get(stack)).toEqual(store.runs.list({ stack, limit: 1 })[0]);
    }
    expect(store.runs.lastPerStack([], 'local').size).toBe(0);
    const plan = store.db
      .prepare<[], { detail: string }>(
        `EXPLAIN QUERY PLAN SELECT * FROM runs WHERE id IN (
           SELECT (SELECT id FROM runs WHERE stack = s.value AND COALESCE(engine, 'local') = 'local'
                   ORDER BY started_at DESC, id DESC LIMIT 1)
           FROM json_each('["s1"]') AS s)`,
      )
      .all()
      .map((r) => r.detail)
      .join('; ');
    expect(plan).toMatch(/SEARCH runs USING INDEX runs_by_stack \(stack=\?\)/);
    expect(plan).not.toMatch(/TEMP B-TREE|SCAN runs/);
  });

  it('breaks a tie of start times by the higher id, as a page does', async () => {
    const tie = await mkdtemp(path.join(os.tmpdir(), 'mooring-history-tie-'));
    const file = path.join(tie, 'mooring.db');
    const h = new HistoryStore(file);
    try {
      const at = iso(1);
      const insert = h.db.prepare(
        "INSERT INTO runs (id, source, stack, revision, trigger, started_at, result, plan, host, pid) VALUES (?, 'a', ?, 'rev', 'cli', ?, 'succeeded', '[]', 'h', 1)",
      );
      insert.run(5, 'web', at);
      insert.run(9, 'web', at);
      insert.run(7, 'web', iso(0)); // a later id that started earlier (clock set back)
      insert.run(8, 'db', iso(2));
      const latest = h.runs.lastPerStack(['web', 'db'], 'local');
      expect(latest.get('web')?.id).toBe(9);
      expect(latest.get('db')?.id).toBe(8);
    } finally {
      h.close();
      await rm(tie, { recursive: true, force: true });
    }
  });
});

describe('the history file of an earlier version', () => {
  it('is upgraded in place: its runs are kept, and pages are read from an index range', async () => {
    const old = await mkdtemp(path.join(os.tmpdir(), 'mooring-history-upgrade-'));
    try {
      const file = path.join(old, 'mooring.db');
      // What a version with migrations 1-4 left behind.
      const db = new Database(file);
      db.exec('CREATE TABLE migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
      for (const [i, sql] of MIGRATIONS.slice(0, 4).entries()) {
        db.exec(sql);
        db.prepare('INSERT INTO migrations (version, applied_at) VALUES (?, ?)').run(i + 1, iso(0));
      }
      const insert = db.prepare(
        "INSERT INTO runs (source, stack, revision, trigger, started_at, result, plan, host, pid) VALUES ('main', ?, 'rev', 'cli', ?, ?, '[]', 'h', 1)",
      );
      for (let h = 1; h <= 30; h++) insert.run(`s${h % 3}`, iso(h), h % 4 === 0 ? 'failed' : 'succeeded');
      db.close();

      const upgraded = new HistoryStore(file);
      try {
        expect(upgraded.runs.list({ limit: 100 })).toHaveLength(30);
        expect(ids(upgraded.runs.list({ from: iso(10), to: iso(13) }))).toEqual([12, 11, 10]);
        const plan = (sql: string): string =>
          upgraded.db
            .prepare<[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
            .all()
            .map((r) => r.detail)
            .join('; ');
        // A date range, and a stack with a result: one index range each, no sort of the matches.
        const range = plan(
          `SELECT * FROM runs WHERE started_at >= '${iso(10)}' AND started_at < '${iso(13)}' ORDER BY started_at DESC, id DESC LIMIT 200`,
        );
        expect(range).toMatch(/SEARCH runs USING (COVERING )?INDEX runs_by_started/);
        expect(range).not.toMatch(/TEMP B-TREE/);
        const failures = plan(
          "SELECT * FROM runs WHERE stack = 's1' AND result = 'failed' ORDER BY started_at DESC, id DESC LIMIT 200",
        );
        expect(failures).toMatch(/SEARCH runs USING (COVERING )?INDEX runs_by_stack_result/);
        expect(failures).not.toMatch(/TEMP B-TREE/);
      } finally {
        upgraded.close();
      }
    } finally {
      await rm(old, { recursive: true, force: true });
    }
  });
});
