// 7. History (issue 6): 1,000,000 runs and 5,000,000 actions in mooring.db (made with one
// transaction of prepared inserts), then the latency of opening the store and of the history page
// query (HistoryStore.runs.list, 200 rows as the UI asks) with and without filters and with keyset
// paging, and of one run's detail.
import Database from 'better-sqlite3';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { RunResult, Trigger } from '../../electron/shared/model.ts';
import type { RunQuery } from '../../electron/engine/history/runs.ts';
import { HistoryStore } from '../../electron/engine/history/store.ts';
import { PipelineStore } from '../../electron/engine/pipeline/pipeline-store.ts';
import {
  check,
  mooring,
  ms,
  percentile,
  progress,
  removeDir,
  stats,
  table,
  tempDir,
  timedSync,
  type BenchOutput,
  type Size,
} from './lib.ts';

const PLAN: Record<Size, { runs: number; actionsPerRun: number; reps: number }> = {
  full: { runs: 1_000_000, actionsPerRun: 5, reps: 50 },
  small: { runs: 10_000, actionsPerRun: 5, reps: 3 },
};

/** The page size the History screen asks for. */
const PAGE = 200;
const STACKS = Array.from({ length: 50 }, (_, i) => `stack${String(i + 1).padStart(2, '0')}`);
const START = Date.parse('2024-01-01T00:00:00Z');
/** One run a minute: 1,000,000 runs span about 23 months. */
const STEP_MS = 60_000;

const revisionOf = (i: number): string => (i * 2654435761).toString(16).padStart(40, '0').slice(-40);
/** ISO time `days` after `at`. */
const iso = (at: number, days: number): string => new Date(at + days * 86_400_000).toISOString();

/** 0..99, spread evenly and independently of the stack (which is i mod 50). */
function hash100(i: number, salt: number): number {
  let h = Math.imul(i ^ salt, 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca77);
  h ^= h >>> 13;
  return (h >>> 0) % 100;
}

/** A deterministic mix: mostly auto and succeeded, some of everything. */
function triggerOf(i: number): Trigger {
  const k = hash100(i, 0x51ed);
  return k < 50 ? 'auto' : k < 70 ? 'self-heal' : k < 85 ? 'cli' : k < 95 ? 'manual' : 'rollback';
}
function resultOf(i: number): RunResult {
  const k = hash100(i, 0x2f1a);
  return k < 93 ? 'succeeded' : k < 98 ? 'failed' : 'interrupted';
}

/**
 * Fills the database the way years of use would: runs in time order (ids follow started_at), 95 % from
 * one source, spread over 50 stacks; each run with its plan and `actionsPerRun` actions.
 */
export function fillHistory(file: string, runs: number, actionsPerRun: number): void {
  new HistoryStore(file).close(); // the schema, by the store's own migrations
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const insertRun = db.prepare(
    'INSERT INTO runs (id, source, stack, revision, trigger, started_at, finished_at, result, error, plan, host, pid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const insertAction = db.prepare(
    'INSERT INTO actions (run_id, kind, target, reason, started_at, finished_at, result, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const kinds = ['create', 'recreate', 'start', 'remove', 'create-network'];
  db.transaction(() => {
    for (let i = 1; i <= runs; i++) {
      const at = START + i * STEP_MS;
      const started = new Date(at).toISOString();
      const finished = new Date(at + 1500 + (i % 7) * 300).toISOString();
      const result = resultOf(i);
      const actions = Array.from({ length: actionsPerRun }, (_, k) => ({
        kind: kinds[(i + k) % kinds.length]!,
        target: `s${String(((i + k) % 10) + 1).padStart(3, '0')}`,
        reason: 'differs from git: environment.REVISION',
        diff: [],
        level: 2,
      }));
      insertRun.run(
        i,
        hash100(i, 0x7c3) < 5 ? 'other' : 'bench',
        STACKS[i % STACKS.length]!,
        revisionOf(i),
        triggerOf(i),
        started,
        finished,
        result,
        result === 'failed'
          ? 'recreate s003: Bind for 127.0.0.1:8080 failed: port is already allocated'
          : null,
        JSON.stringify(actions),
        'bench-host',
        1,
      );
      for (const a of actions) {
        insertAction.run(
          i,
          a.kind,
          a.target,
          a.reason,
          started,
          finished,
          result === 'failed' ? 'failed' : 'succeeded',
          null,
        );
      }
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

export async function history(size: Size): Promise<BenchOutput> {
  const plan = PLAN[size];
  const dir = await tempDir('history');
  const file = path.join(dir, 'mooring.db');
  const rows: string[][] = [];
  const numbers: Record<string, number[]> = {};
  const targets: BenchOutput['targets'] = [];
  let fillMs: number;
  let sizeMiB: number;
  try {
    fillMs = timedSync(() => {
      fillHistory(file, plan.runs, plan.actionsPerRun);
    }).ms;
    sizeMiB = (await stat(file)).size / 2 ** 20;
    progress(
      `history: ${plan.runs} runs, ${plan.runs * plan.actionsPerRun} actions written in ${ms(fillMs)} (${sizeMiB.toFixed(0)} MiB)`,
    );

    const open: number[] = [];
    for (let r = 0; r < plan.reps; r++) {
      open.push(
        timedSync(() => {
          new HistoryStore(file).close();
        }).ms,
      );
    }
    numbers['open (new HistoryStore)'] = open;

    const store = new HistoryStore(file);
    const mid = Math.floor(plan.runs / 2);
    // A day in the middle of the history, as the History screen's date filter sends it.
    const day = new Date(START + mid * STEP_MS);
    day.setUTCHours(0, 0, 0, 0);
    const from = day.toISOString();
    const to = new Date(day.getTime() + 86_400_000).toISOString();
    const queries: [string, RunQuery][] = [
      ['newest page, no filter', {}],
      ['stack', { stack: 'stack07' }],
      ['source (the 5 % one)', { source: 'other' }],
      ['trigger = rollback (5 %)', { trigger: 'rollback' }],
      ['result = failed (5 %)', { result: 'failed' }],
      ['stack + result = failed', { stack: 'stack07', result: 'failed' }],
      [
        'stack + trigger + result (rare: 0.25 % of a stack)',
        { stack: 'stack07', trigger: 'rollback', result: 'failed' },
      ],
      ['one day (from/to), mid-history', { from, to }],
      ['one month, early in the history', { from: iso(START, 30), to: iso(START, 61) }],
      ['the first half of the history (from/to)', { from: iso(START, 0), to: iso(START + mid * STEP_MS, 0) }],
      ['stack + one day', { stack: 'stack07', from, to }],
      ['keyset page: before = middle id', { before: mid }],
      ['keyset page: stack, before = middle id', { stack: 'stack07', before: mid }],
      ['keyset page: result = failed, before = middle id', { result: 'failed', before: mid }],
    ];
    /** One row of the table: what, how many rows it gave, p50, p95 and max of its samples. */
    const row = (what: string, count: string, samples: number[]): string[] => [
      what,
      count,
      ms(stats(samples).median),
      ms(percentile(samples, 95)),
      ms(stats(samples).max),
    ];
    try {
      for (const [name, q] of queries) {
        const samples: number[] = [];
        let count = 0;
        for (let r = 0; r < plan.reps; r++) {
          const t = timedSync(() => store.runs.list({ ...q, limit: PAGE }));
          samples.push(t.ms);
          count = t.value.length;
        }
        numbers[`listRuns: ${name}`] = samples;
        const p95 = percentile(samples, 95);
        rows.push(row(name, `${count}`, samples));
        targets.push(check(`history page query: ${name}`, '< 10 ms (p95)', ms(p95), p95 < 10));
      }
      // The Commits screen: the deploys of 500 commits of one source, as Engine.log asks them of the
      // pipeline store (this home's runs of each, and every machine's deploy notes).
      const revisions = Array.from({ length: 500 }, (_, k) => revisionOf(plan.runs - k * 97));
      const pipelineStore = new PipelineStore(store.db);
      const deploys: number[] = [];
      for (let r = 0; r < plan.reps; r++)
        deploys.push(timedSync(() => pipelineStore.deploysOf(revisions, 'bench')).ms);
      numbers['PipelineStore.deploysOf 500 commits'] = deploys;
      rows.push(
        row('deploys of 500 commits (`PipelineStore.deploysOf`, the Commits screen)', '500', deploys),
      );
      // The snapshot every push is built from needs each stack's latest run.
      const perStack: number[] = [];
      for (let r = 0; r < plan.reps; r++)
        perStack.push(
          timedSync(() => {
            for (const stack of STACKS) store.runs.list({ stack, limit: 1 });
          }).ms,
        );
      numbers['last run of 50 stacks: listRuns per stack'] = perStack;
      rows.push(row('last run of each of 50 stacks: one `runs.list` per stack', '50', perStack));
      const oneQuery: number[] = [];
      for (let r = 0; r < plan.reps; r++)
        oneQuery.push(timedSync(() => store.runs.lastPerStack(STACKS, 'local')).ms);
      numbers['last run of 50 stacks: runs.lastPerStack'] = oneQuery;
      rows.push(row('last run of each of 50 stacks: one `runs.lastPerStack` (the snapshot)', '50', oneQuery));
      const detail: number[] = [];
      for (let r = 0; r < plan.reps; r++) detail.push(timedSync(() => store.runs.get(mid - r)).ms);
      numbers['getRun (run + its actions)'] = detail;
      rows.push(row('one run with its actions (`runs.get`)', '1', detail));
    } finally {
      store.close();
    }
    const cli: number[] = [];
    for (let r = 0; r < Math.min(plan.reps, 5); r++)
      cli.push((await mooring(dir, ['history', '--limit', '20'])).ms);
    numbers['mooring history (CLI, new process)'] = cli;
    rows.push(row('`mooring history` (new process, 20 rows)', '20', cli));
    rows.unshift(
      row('open the store (`new HistoryStore`: open, migrations check, interrupted runs)', '—', open),
    );
  } finally {
    await removeDir(dir);
  }
  const section = `## 7. History: ${plan.runs.toLocaleString('en')} runs, ${(plan.runs * plan.actionsPerRun).toLocaleString('en')} actions

Written with one transaction of prepared inserts in ${ms(fillMs)} (${sizeMiB.toFixed(0)} MiB file): one run a
minute over ${Math.round((plan.runs * STEP_MS) / 86_400_000 / 30)} months, 50 stacks, two sources (95 % / 5 %), a realistic mix of
triggers and results, each run with its plan and ${plan.actionsPerRun} actions. Page queries ask for ${PAGE} rows, as the History
screen does; ${plan.reps} repetitions each.

${table(['query', 'rows', 'p50', 'p95', 'max'], rows)}

Target: under 10 ms per page query.
`;
  return { id: 'history', title: 'History', section, numbers, targets };
}
