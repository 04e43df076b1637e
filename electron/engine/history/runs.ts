// Runs and their actions (the `runs` and `actions` tables): what each sync planned, did, and how it
// ended. The page query and the last run of each stack are index range reads (migrations 4 and 5).
import type Database from 'better-sqlite3';
import {
  LOCAL_ENGINE,
  type ActionKind,
  type ActionRecord,
  type PlanAction,
  type RunRecord,
  type RunResult,
  type Trigger,
} from '../../shared/model.ts';
import { readPlan } from './json-columns.ts';
import { isAlive } from './liveness.ts';
import { Statements } from './statements.ts';

/** A run's engine is this one: runs before migration 9 were on `local` and keep a NULL engine. */
const ON_ENGINE = `COALESCE(engine, '${LOCAL_ENGINE}') = ?`;

interface RunRow {
  id: number;
  source: string;
  stack: string;
  revision: string;
  signer: string | null;
  engine: string | null;
  trigger: Trigger;
  started_at: string;
  finished_at: string | null;
  result: RunResult;
  error: string | null;
  plan: string;
}

interface ActionRow {
  id: number;
  run_id: number;
  kind: ActionKind;
  target: string;
  reason: string;
  started_at: string | null;
  finished_at: string | null;
  result: ActionRecord['result'];
  error: string | null;
}

/** A history page: the newest runs matching every filter given. */
export interface RunQuery {
  source?: string;
  stack?: string;
  trigger?: Trigger;
  result?: RunResult;
  from?: string; // ISO time, inclusive
  to?: string; // ISO time, exclusive
  before?: number; // run id, for keyset paging
  limit?: number;
}

const now = (): string => new Date().toISOString();

export class RunRepository {
  private readonly sql: Statements;

  /** `host`: this machine's name, kept with each run so that only its own runs are checked for a dead pid. */
  constructor(
    db: Database.Database,
    private readonly host: string,
  ) {
    this.sql = new Statements(db);
  }

  start(input: {
    source: string;
    stack: string;
    revision: string;
    trigger: Trigger;
    plan: PlanAction[];
    /** The verified signer of the revision, where its source asks for signatures. */
    signer?: string | null;
    /** The named engine it acts on. */
    engine: string;
  }): number {
    const info = this.sql
      .get(
        "INSERT INTO runs (source, stack, revision, signer, engine, trigger, started_at, result, plan, host, pid) VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)",
      )
      .run(
        input.source,
        input.stack,
        input.revision,
        input.signer ?? null,
        input.engine,
        input.trigger,
        now(),
        JSON.stringify(input.plan),
        this.host,
        process.pid,
      );
    return Number(info.lastInsertRowid);
  }

  finish(id: number, result: Exclude<RunResult, 'running'>, error: string | null): void {
    this.sql
      .get('UPDATE runs SET result = ?, error = ?, finished_at = ? WHERE id = ?')
      .run(result, error, now(), id);
  }

  addAction(runId: number, action: PlanAction): number {
    const info = this.sql
      .get("INSERT INTO actions (run_id, kind, target, reason, result) VALUES (?, ?, ?, ?, 'pending')")
      .run(runId, action.kind, action.target, action.reason);
    return Number(info.lastInsertRowid);
  }

  updateAction(id: number, result: ActionRecord['result'], error: string | null = null): void {
    if (result === 'running') {
      this.sql.get("UPDATE actions SET result = 'running', started_at = ? WHERE id = ?").run(now(), id);
    } else {
      this.sql
        .get('UPDATE actions SET result = ?, error = ?, finished_at = ? WHERE id = ?')
        .run(result, error, now(), id);
    }
  }

  /** After a failure or a kill, what never started is marked skipped, what was cut off failed. */
  closeActions(runId: number, cutOff: string | null): void {
    this.sql.get("UPDATE actions SET result = 'skipped' WHERE run_id = ? AND result = 'pending'").run(runId);
    if (cutOff) {
      this.sql
        .get(
          "UPDATE actions SET result = 'failed', error = ?, finished_at = ? WHERE run_id = ? AND result = 'running'",
        )
        .run(cutOff, now(), runId);
    }
  }

  /**
   * A run left `running` by a process that no longer exists was cut off (killed, crashed, power lost):
   * say so, rather than leaving it running forever. Only this host's runs: the pid means nothing elsewhere.
   */
  markInterrupted(): number {
    const rows = this.sql
      .get<[string], { id: number; pid: number }>(
        "SELECT id, pid FROM runs WHERE result = 'running' AND host = ?",
      )
      .all(this.host);
    let count = 0;
    for (const row of rows) {
      if (row.pid === process.pid || isAlive(row.pid)) continue;
      const why = 'The process running this sync stopped before it finished.';
      this.closeActions(row.id, why);
      this.finish(row.id, 'interrupted', why);
      count++;
    }
    return count;
  }

  list(opts: RunQuery): RunRecord[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    for (const [col, value] of [
      ['source', opts.source],
      ['stack', opts.stack],
      ['trigger', opts.trigger],
      ['result', opts.result],
    ] as const) {
      if (value !== undefined) {
        where.push(`${col} = ?`);
        args.push(value);
      }
    }
    if (opts.from !== undefined) {
      where.push('started_at >= ?');
      args.push(opts.from);
    }
    if (opts.to !== undefined) {
      where.push('started_at < ?');
      args.push(opts.to);
    }
    if (opts.before !== undefined) {
      // Keyset paging in the page order: after the run with that id.
      const at = this.sql
        .get<[number], { started_at: string }>('SELECT started_at FROM runs WHERE id = ?')
        .get(opts.before)?.started_at;
      if (at === undefined) {
        where.push('id < ?');
        args.push(opts.before);
      } else {
        where.push('(started_at, id) < (?, ?)');
        args.push(at, opts.before);
      }
    }
    const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
    args.push(opts.limit ?? 50);
    // Newest first by start time, which is the id order unless the clock went back; every filter's
    // index is (filter, started_at, id, ...), so a page is one index range read from its newest end.
    // One statement per combination of filters (a few dozen at most), each prepared once.
    return this.sql
      .get<(string | number)[], RunRow>(
        `SELECT * FROM runs ${filter} ORDER BY started_at DESC, id DESC LIMIT ?`,
      )
      .all(...args)
      .map(toRun);
  }

  /**
   * The newest run on this engine of each of these stacks (by name, from any source), in the page
   * order of `list`: one statement for all of them, each stack's run found at the newest end of its
   * range of the runs_by_stack index (stack, started_at, id), read back past runs on other engines.
   * Stacks that never ran there are not in the map.
   */
  lastPerStack(stacks: readonly string[], engine: string): Map<string, RunRecord> {
    const rows = this.sql
      .get<[string, string], RunRow>(
        `SELECT * FROM runs WHERE id IN (
           SELECT (SELECT id FROM runs WHERE stack = s.value AND ${ON_ENGINE} ORDER BY started_at DESC, id DESC LIMIT 1)
           FROM json_each(?) AS s
         )`,
      )
      .all(engine, JSON.stringify(stacks));
    return new Map(rows.map((r) => [r.stack, toRun(r)]));
  }

  get(id: number): { run: RunRecord; actions: ActionRecord[] } | undefined {
    const row = this.sql.get<[number], RunRow>('SELECT * FROM runs WHERE id = ?').get(id);
    if (!row) return undefined;
    const actions = this.sql
      .get<[number], ActionRow>('SELECT * FROM actions WHERE run_id = ? ORDER BY id')
      .all(id)
      .map((a) => ({
        id: a.id,
        runId: a.run_id,
        kind: a.kind,
        target: a.target,
        reason: a.reason,
        startedAt: a.started_at,
        finishedAt: a.finished_at,
        result: a.result,
        error: a.error,
      }));
    return { run: toRun(row), actions };
  }

  /**
   * Whether an earlier run than this one deployed the same stack from the same commit successfully on
   * the same engine.
   */
  deployedBefore(run: RunRecord): boolean {
    return (
      this.sql
        .get<[string, string, string, string, number], { id: number }>(
          `SELECT id FROM runs WHERE revision = ? AND source = ? AND stack = ? AND ${ON_ENGINE}
           AND result = 'succeeded' AND id < ? LIMIT 1`,
        )
        .get(run.revision, run.source, run.stack, run.engine ?? LOCAL_ENGINE, run.id) !== undefined
    );
  }

  /**
   * The revision of the stack's last successful run on this engine: what was deployed there last. A
   * person's restart, stop or start (`out-of-band`) deploys nothing.
   */
  lastDeployedRevision(stack: string, engine: string): string | null {
    const row = this.sql
      .get<[string, string], { revision: string }>(
        `SELECT revision FROM runs WHERE stack = ? AND ${ON_ENGINE} AND result = 'succeeded'
         AND trigger != 'out-of-band' ORDER BY started_at DESC, id DESC LIMIT 1`,
      )
      .get(stack, engine);
    return row?.revision ?? null;
  }
}

function toRun(r: RunRow): RunRecord {
  return {
    id: r.id,
    source: r.source,
    stack: r.stack,
    revision: r.revision,
    signer: r.signer,
    engine: r.engine ?? LOCAL_ENGINE,
    trigger: r.trigger,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    result: r.result,
    error: r.error,
    plan: readPlan(r.plan, 'runs.plan'),
  };
}
