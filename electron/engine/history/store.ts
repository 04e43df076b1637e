// The history store: sources, cached commits, runs, actions and drift, in one SQLite file.
// WAL with synchronous=NORMAL: every committed write survives a killed process, and readers
// (the UI, `mooring history`) never wait on a sync in progress.
import type Database from 'better-sqlite3';
import { hostname } from 'node:os';
import type {
  ActionKind,
  ActionRecord,
  CommitRecord,
  DriftReason,
  PlanAction,
  RunRecord,
  RunResult,
  SourceConfig,
  SourceState,
  Trigger,
} from '../../shared/model.ts';
import { MooringError } from '../errors.ts';
import type { RetryEntry, RetryStore } from '../reconcile/retry.ts';
import { readDriftReasons, readPlan, readStringList } from './json-columns.ts';
import { MIGRATIONS } from './migrations.ts';
import { openHistoryDb } from './open-db.ts';
import { splitUserinfo, tokenEnvName, withoutUserinfo } from '../source/url-credentials.ts';
import { OwnershipStore } from './ownership.ts';

interface RunRow {
  id: number;
  source: string;
  stack: string;
  revision: string;
  trigger: Trigger;
  started_at: string;
  finished_at: string | null;
  result: RunResult;
  error: string | null;
  plan: string;
}

interface SourceRow {
  name: string;
  url: string;
  kind: 'http' | 'local';
  branch: string | null;
  path: string;
  token_env: string | null;
  head: string | null;
  last_fetch_at: string | null;
  last_success_at: string | null;
  last_error: string | null;
  failing_since: string | null;
}

export interface DriftRecord {
  id: number;
  source: string;
  stack: string;
  service: string;
  firstSeen: string;
  resolvedAt: string | null;
  resolution: string | null;
  fields: DriftReason[];
}

const now = (): string => new Date().toISOString();

/** Brings a database to the newest schema this code knows; each migration in its own transaction. */
function applyMigrations(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  const applied = new Set(
    db
      .prepare<[], { version: number }>('SELECT version FROM migrations')
      .all()
      .map((r) => r.version),
  );
  for (const [index, sql] of MIGRATIONS.entries()) {
    const version = index + 1;
    if (applied.has(version)) continue;
    db.transaction(() => {
      db.exec(sql);
      db.prepare('INSERT INTO migrations (version, applied_at) VALUES (?, ?)').run(version, now());
    })();
  }
}

/** Whether a process of this host still runs: what tells a crashed run or a stale lock from a live one. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM means it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class HistoryStore {
  readonly db: Database.Database;
  private readonly host = hostname();

  /**
   * Opened read-only (the home cannot be written): nothing is migrated, closed or recorded, and any
   * write fails with SQLITE_READONLY, which the CLI and the API turn into "the home is read-only".
   */
  readonly readOnly: boolean;

  constructor(file: string) {
    const opened = openHistoryDb(file, { schemaVersion: MIGRATIONS.length, initialize: applyMigrations });
    this.db = opened.db;
    this.readOnly = opened.readOnly;
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    if (this.readOnly) return;
    this.db.pragma('synchronous = NORMAL');
    this.migrate();
    this.scrubSourceCredentials();
    this.markInterrupted();
  }

  close(): void {
    this.db.close();
  }

  private migrate(): void {
    applyMigrations(this.db);
  }

  /**
   * Source URLs saved with credentials in them (`http://user:TOKEN@host/…`, accepted before issue 10)
   * lose them here, at every open, and the source says how to give the token instead. secure_delete
   * zeroes the freed text and VACUUM rewrites every page, so no old copy of the URL (each fetch rewrote
   * the row) lingers in free space; the TRUNCATE checkpoint empties the WAL that held them too.
   */
  private scrubSourceCredentials(): void {
    const rows = this.db
      .prepare<[], { name: string; url: string }>("SELECT name, url FROM sources WHERE url LIKE '%@%'")
      .all()
      .flatMap((r) => {
        const split = splitUserinfo(r.url);
        return split ? [{ name: r.name, url: split.url }] : [];
      });
    if (rows.length === 0) return;
    this.db.pragma('secure_delete = ON');
    const at = now();
    const update = this.db.prepare(
      'UPDATE sources SET url = ?, last_error = ?, failing_since = COALESCE(failing_since, ?) WHERE name = ?',
    );
    this.db.transaction(() => {
      for (const r of rows) {
        const advice =
          `Its URL held a user name or password, which Mooring no longer keeps in its files: they were removed. ` +
          `Give the token through an environment variable: mooring source update ${r.name} --token-env ${tokenEnvName(r.name)} ` +
          `(with that variable set to the token), or type it into the source's settings in the desktop app.`;
        update.run(r.url, advice, at, r.name);
      }
    })();
    try {
      this.db.exec('VACUUM');
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // Another process held the file for longer than busy_timeout (SQLITE_BUSY): the URLs are clean
      // already, and the old copies stay in free space until SQLite reuses it. Opening must not fail.
    }
  }

  /**
   * A run left `running` by a process that no longer exists was cut off (killed, crashed, power lost):
   * say so, rather than leaving it running forever. Only this host's runs: the pid means nothing elsewhere.
   */
  markInterrupted(): number {
    const rows = this.db
      .prepare<[string], { id: number; pid: number }>(
        "SELECT id, pid FROM runs WHERE result = 'running' AND host = ?",
      )
      .all(this.host);
    let count = 0;
    for (const row of rows) {
      if (row.pid === process.pid || isAlive(row.pid)) continue;
      const why = 'The process running this sync stopped before it finished.';
      this.closeActions(row.id, why);
      this.finishRun(row.id, 'interrupted', why);
      count++;
    }
    const locks = this.db
      .prepare<[string], { pid: number }>('SELECT DISTINCT pid FROM locks WHERE host = ?')
      .all(this.host);
    for (const lock of locks) {
      if (!isAlive(lock.pid))
        this.db.prepare('DELETE FROM locks WHERE host = ? AND pid = ?').run(this.host, lock.pid);
    }
    return count;
  }

  // ---- sources ----

  addSource(config: SourceConfig): void {
    try {
      this.db
        .prepare(
          'INSERT INTO sources (name, url, kind, branch, path, token_env, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(config.name, config.url, config.kind, config.branch, config.path, config.tokenEnv, now());
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new MooringError('conflict', `A source named "${config.name}" already exists.`);
      }
      throw err;
    }
  }

  updateSource(
    name: string,
    patch: { branch?: string | null; path?: string; tokenEnv?: string | null },
  ): void {
    if (patch.tokenEnv !== undefined) {
      this.db.prepare('UPDATE sources SET token_env = ? WHERE name = ?').run(patch.tokenEnv, name);
    }
    if (patch.branch !== undefined)
      this.db.prepare('UPDATE sources SET branch = ? WHERE name = ?').run(patch.branch, name);
    if (patch.path !== undefined)
      this.db.prepare('UPDATE sources SET path = ? WHERE name = ?').run(patch.path, name);
  }

  removeSource(name: string): boolean {
    return this.db.prepare('DELETE FROM sources WHERE name = ?').run(name).changes > 0;
  }

  listSources(): SourceState[] {
    return this.db
      .prepare<[], SourceRow>('SELECT * FROM sources ORDER BY name')
      .all()
      .map((r) => ({
        name: r.name,
        // Scrubbed at open; a read-only home cannot be, so credentials are never shown from here either.
        url: withoutUserinfo(r.url),
        kind: r.kind,
        branch: r.branch,
        path: r.path,
        tokenEnv: r.token_env,
        head: r.head,
        lastFetchAt: r.last_fetch_at,
        lastSuccessAt: r.last_success_at,
        lastError: r.last_error,
        failingSince: r.failing_since,
      }));
  }

  getSource(name: string): SourceState | undefined {
    return this.listSources().find((s) => s.name === name);
  }

  recordFetch(name: string, result: { head: string } | { error: string }): void {
    const at = now();
    if ('head' in result) {
      this.db
        .prepare(
          'UPDATE sources SET head = ?, last_fetch_at = ?, last_success_at = ?, last_error = NULL, failing_since = NULL WHERE name = ?',
        )
        .run(result.head, at, at, name);
    } else {
      this.db
        .prepare(
          'UPDATE sources SET last_fetch_at = ?, last_error = ?, failing_since = COALESCE(failing_since, ?) WHERE name = ?',
        )
        .run(at, result.error, at, name);
    }
  }

  // ---- commits ----

  knownCommits(source: string): Set<string> {
    return new Set(
      this.db
        .prepare<[string], { id: string }>('SELECT id FROM commits WHERE source = ?')
        .all(source)
        .map((r) => r.id),
    );
  }

  addCommits(commits: CommitRecord[]): void {
    const insert = this.db.prepare(
      'INSERT OR IGNORE INTO commits (source, id, parents, author, email, time, message, stacks) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.db.transaction(() => {
      for (const c of commits) {
        insert.run(
          c.source,
          c.id,
          JSON.stringify(c.parents),
          c.author,
          c.email,
          c.time,
          c.message,
          JSON.stringify(c.stacks),
        );
      }
    })();
  }

  listCommits(opts: { source?: string; limit?: number }): CommitRecord[] {
    const rows = this.db
      .prepare<
        [string | null, string | null, number],
        Omit<CommitRecord, 'parents' | 'stacks'> & { parents: string; stacks: string }
      >('SELECT * FROM commits WHERE (? IS NULL OR source = ?) ORDER BY time DESC, rowid DESC LIMIT ?')
      .all(opts.source ?? null, opts.source ?? null, opts.limit ?? 50);
    return rows.map((r) => ({
      ...r,
      parents: readStringList(r.parents, 'commits.parents'),
      stacks: readStringList(r.stacks, 'commits.stacks'),
    }));
  }

  getCommit(source: string, id: string): CommitRecord | undefined {
    const row = this.db
      .prepare<
        [string, string],
        Omit<CommitRecord, 'parents' | 'stacks'> & { parents: string; stacks: string }
      >('SELECT * FROM commits WHERE source = ? AND id = ?')
      .get(source, id);
    return row
      ? {
          ...row,
          parents: readStringList(row.parents, 'commits.parents'),
          stacks: readStringList(row.stacks, 'commits.stacks'),
        }
      : undefined;
  }

  // ---- locks: one run per stack at a time, across processes ----

  /** Takes the stack's lock, or returns who holds it. A lock whose process is gone is taken over. */
  tryLock(
    source: string,
    stack: string,
    owner: string,
  ): { ok: true } | { ok: false; holder: string; since: string } {
    return this.db
      .transaction(() => {
        const row = this.db
          .prepare<[string, string], { host: string; pid: number; owner: string; acquired_at: string }>(
            'SELECT host, pid, owner, acquired_at FROM locks WHERE source = ? AND stack = ?',
          )
          .get(source, stack);
        if (row && !(row.host === this.host && !isAlive(row.pid))) {
          return {
            ok: false as const,
            holder: `${row.owner} (pid ${row.pid} on ${row.host})`,
            since: row.acquired_at,
          };
        }
        this.db
          .prepare(
            'INSERT OR REPLACE INTO locks (source, stack, host, pid, owner, acquired_at) VALUES (?, ?, ?, ?, ?, ?)',
          )
          .run(source, stack, this.host, process.pid, owner, now());
        return { ok: true as const };
      })
      .immediate();
  }

  unlock(source: string, stack: string): void {
    this.db
      .prepare('DELETE FROM locks WHERE source = ? AND stack = ? AND host = ? AND pid = ?')
      .run(source, stack, this.host, process.pid);
  }

  /** Who holds a stack's lock, if anyone whose process is still there does. */
  lockHolder(source: string, stack: string): { holder: string; since: string; ours: boolean } | undefined {
    const row = this.db
      .prepare<[string, string], { host: string; pid: number; owner: string; acquired_at: string }>(
        'SELECT host, pid, owner, acquired_at FROM locks WHERE source = ? AND stack = ?',
      )
      .get(source, stack);
    if (!row || (row.host === this.host && !isAlive(row.pid))) return undefined;
    return {
      holder: `${row.owner} (pid ${row.pid} on ${row.host})`,
      since: row.acquired_at,
      ours: row.host === this.host && row.pid === process.pid,
    };
  }

  // ---- the controller: one per home folder, suspensions, retry bookkeeping ----

  /**
   * Takes the home folder's controller lease for `token`, or says who holds it. A lease whose process
   * is gone (killed, crashed) is taken over; a lease from another host is never taken over, since its
   * pid cannot be checked from here.
   */
  acquireControllerLease(
    token: string,
  ): { ok: true } | { ok: false; pid: number; host: string; since: string } {
    return this.db
      .transaction(() => {
        const row = this.db
          .prepare<[], { host: string; pid: number; token: string; started_at: string }>(
            'SELECT host, pid, token, started_at FROM controller_lease WHERE id = 1',
          )
          .get();
        if (row && row.token !== token && !(row.host === this.host && !isAlive(row.pid))) {
          return { ok: false as const, pid: row.pid, host: row.host, since: row.started_at };
        }
        this.db
          .prepare(
            'INSERT OR REPLACE INTO controller_lease (id, host, pid, token, started_at) VALUES (1, ?, ?, ?, ?)',
          )
          .run(this.host, process.pid, token, now());
        return { ok: true as const };
      })
      .immediate();
  }

  releaseControllerLease(token: string): void {
    this.db.prepare('DELETE FROM controller_lease WHERE id = 1 AND token = ?').run(token);
  }

  /** What this home created on the engine (issue 10): checked before anything is removed. */
  get ownership(): OwnershipStore {
    return (this.ownershipStore ??= new OwnershipStore(this.db));
  }

  private ownershipStore: OwnershipStore | undefined;

  suspend(stack: string, reason: string | null): void {
    this.db
      .prepare('INSERT OR IGNORE INTO suspensions (stack, since, reason) VALUES (?, ?, ?)')
      .run(stack, now(), reason);
  }

  /** Returns whether the stack was suspended. */
  resume(stack: string): boolean {
    return this.db.prepare('DELETE FROM suspensions WHERE stack = ?').run(stack).changes > 0;
  }

  listSuspended(): Map<string, { since: string; reason: string | null }> {
    return new Map(
      this.db
        .prepare<[], { stack: string; since: string; reason: string | null }>(
          'SELECT stack, since, reason FROM suspensions ORDER BY stack',
        )
        .all()
        .map((r) => [r.stack, { since: r.since, reason: r.reason }]),
    );
  }

  /** The retry bookkeeping as a RetryStore, kept in the database. */
  retryStore(): RetryStore {
    return {
      get: (stack) => {
        const r = this.db
          .prepare<
            [string],
            {
              key: string;
              attempts: number;
              transient: number;
              last_transient: number;
              next_at: number;
              last_error: string | null;
              gave_up: number;
            }
          >('SELECT * FROM retries WHERE stack = ?')
          .get(stack);
        if (!r) return undefined;
        const entry: RetryEntry = {
          key: r.key,
          attempts: r.attempts,
          transient: r.transient,
          lastTransient: r.last_transient === 1,
          nextAt: r.next_at,
          lastError: r.last_error,
          gaveUp: r.gave_up === 1,
        };
        return entry;
      },
      set: (stack, e) => {
        this.db
          .prepare(
            `INSERT OR REPLACE INTO retries (stack, key, attempts, transient, last_transient, next_at, last_error, gave_up)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            stack,
            e.key,
            e.attempts,
            e.transient,
            e.lastTransient ? 1 : 0,
            e.nextAt,
            e.lastError,
            e.gaveUp ? 1 : 0,
          );
      },
      delete: (stack) => {
        this.db.prepare('DELETE FROM retries WHERE stack = ?').run(stack);
      },
    };
  }

  /**
   * A number that changes whenever another connection (another process) commits: the controller checks
   * it to notice `mooring suspend`, `mooring fetch` and new sources without re-reading every table.
   */
  dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  // ---- runs and actions ----

  startRun(input: {
    source: string;
    stack: string;
    revision: string;
    trigger: Trigger;
    plan: PlanAction[];
  }): number {
    const info = this.db
      .prepare(
        "INSERT INTO runs (source, stack, revision, trigger, started_at, result, plan, host, pid) VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?)",
      )
      .run(
        input.source,
        input.stack,
        input.revision,
        input.trigger,
        now(),
        JSON.stringify(input.plan),
        this.host,
        process.pid,
      );
    return Number(info.lastInsertRowid);
  }

  finishRun(id: number, result: Exclude<RunResult, 'running'>, error: string | null): void {
    this.db
      .prepare('UPDATE runs SET result = ?, error = ?, finished_at = ? WHERE id = ?')
      .run(result, error, now(), id);
  }

  addAction(runId: number, action: PlanAction): number {
    const info = this.db
      .prepare("INSERT INTO actions (run_id, kind, target, reason, result) VALUES (?, ?, ?, ?, 'pending')")
      .run(runId, action.kind, action.target, action.reason);
    return Number(info.lastInsertRowid);
  }

  updateAction(id: number, result: ActionRecord['result'], error: string | null = null): void {
    if (result === 'running') {
      this.db.prepare("UPDATE actions SET result = 'running', started_at = ? WHERE id = ?").run(now(), id);
    } else {
      this.db
        .prepare('UPDATE actions SET result = ?, error = ?, finished_at = ? WHERE id = ?')
        .run(result, error, now(), id);
    }
  }

  /** After a failure or a kill, what never started is marked skipped, what was cut off failed. */
  closeActions(runId: number, cutOff: string | null): void {
    this.db
      .prepare("UPDATE actions SET result = 'skipped' WHERE run_id = ? AND result = 'pending'")
      .run(runId);
    if (cutOff) {
      this.db
        .prepare(
          "UPDATE actions SET result = 'failed', error = ?, finished_at = ? WHERE run_id = ? AND result = 'running'",
        )
        .run(cutOff, now(), runId);
    }
  }

  listRuns(opts: {
    source?: string;
    stack?: string;
    trigger?: Trigger;
    result?: RunResult;
    from?: string; // ISO time, inclusive
    to?: string; // ISO time, exclusive
    before?: number; // run id, for keyset paging
    limit?: number;
  }): RunRecord[] {
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
      const at = this.db
        .prepare<[number], { started_at: string }>('SELECT started_at FROM runs WHERE id = ?')
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
    return this.db
      .prepare<(string | number)[], RunRow>(
        `SELECT * FROM runs ${filter} ORDER BY started_at DESC, id DESC LIMIT ?`,
      )
      .all(...args)
      .map(toRun);
  }

  getRun(id: number): { run: RunRecord; actions: ActionRecord[] } | undefined {
    const row = this.db.prepare<[number], RunRow>('SELECT * FROM runs WHERE id = ?').get(id);
    if (!row) return undefined;
    const actions = this.db
      .prepare<
        [number],
        {
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
      >('SELECT * FROM actions WHERE run_id = ? ORDER BY id')
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

  /** Whether an earlier run than this one deployed the same stack from the same commit successfully. */
  deployedBefore(run: RunRecord): boolean {
    return (
      this.db
        .prepare<[string, string, string, number], { id: number }>(
          "SELECT id FROM runs WHERE revision = ? AND source = ? AND stack = ? AND result = 'succeeded' AND id < ? LIMIT 1",
        )
        .get(run.revision, run.source, run.stack, run.id) !== undefined
    );
  }

  /** The revision of the stack's last successful run (any trigger): what was deployed last. */
  lastDeployedRevision(stack: string): string | null {
    const row = this.db
      .prepare<[string], { revision: string }>(
        "SELECT revision FROM runs WHERE stack = ? AND result = 'succeeded' ORDER BY started_at DESC, id DESC LIMIT 1",
      )
      .get(stack);
    return row?.revision ?? null;
  }

  // ---- drift ----

  /**
   * Records what is drifting now for one stack: opens a drift for each newly drifting service,
   * updates the fields of open ones, and resolves those no longer drifting with the given reason.
   */
  observeDrift(
    source: string,
    stack: string,
    drifting: Map<string, DriftReason[]>,
    resolution: string,
  ): void {
    const open = this.db
      .prepare<[string, string], { id: number; service: string }>(
        'SELECT id, service FROM drifts WHERE source = ? AND stack = ? AND resolved_at IS NULL',
      )
      .all(source, stack);
    const at = now();
    this.db.transaction(() => {
      const seen = new Set<string>();
      for (const row of open) {
        const fields = drifting.get(row.service);
        if (fields) {
          seen.add(row.service);
          this.db.prepare('UPDATE drifts SET fields = ? WHERE id = ?').run(JSON.stringify(fields), row.id);
        } else {
          this.db
            .prepare('UPDATE drifts SET resolved_at = ?, resolution = ? WHERE id = ?')
            .run(at, resolution, row.id);
        }
      }
      for (const [service, fields] of drifting) {
        if (seen.has(service)) continue;
        this.db
          .prepare('INSERT INTO drifts (source, stack, service, first_seen, fields) VALUES (?, ?, ?, ?, ?)')
          .run(source, stack, service, at, JSON.stringify(fields));
      }
    })();
  }

  listDrifts(opts: { source?: string; stack?: string; open?: boolean; limit?: number }): DriftRecord[] {
    return this.db
      .prepare<
        [string | null, string | null, string | null, string | null, number, number],
        {
          id: number;
          source: string;
          stack: string;
          service: string;
          first_seen: string;
          resolved_at: string | null;
          resolution: string | null;
          fields: string;
        }
      >(
        `SELECT * FROM drifts WHERE (? IS NULL OR source = ?) AND (? IS NULL OR stack = ?)
         AND (? = 0 OR resolved_at IS NULL) ORDER BY id DESC LIMIT ?`,
      )
      .all(
        opts.source ?? null,
        opts.source ?? null,
        opts.stack ?? null,
        opts.stack ?? null,
        opts.open ? 1 : 0,
        opts.limit ?? 100,
      )
      .map((r) => ({
        id: r.id,
        source: r.source,
        stack: r.stack,
        service: r.service,
        firstSeen: r.first_seen,
        resolvedAt: r.resolved_at,
        resolution: r.resolution,
        fields: readDriftReasons(r.fields, 'drifts.fields'),
      }));
  }
}

function toRun(r: RunRow): RunRecord {
  return {
    id: r.id,
    source: r.source,
    stack: r.stack,
    revision: r.revision,
    trigger: r.trigger,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    result: r.result,
    error: r.error,
    plan: readPlan(r.plan, 'runs.plan'),
  };
}
