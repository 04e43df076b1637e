// What the controller keeps in the home's database, so that it survives a restart and is shared with
// the CLI: its lease on the home (one controller per home folder and engine), the suspended stacks, and
// the retry bookkeeping (backoff, give-up) that keeps a crash loop from retrying forever. Suspensions and
// retries are per (stack, engine).
import type Database from 'better-sqlite3';
import type { RetryEntry, RetryStore } from '../reconcile/retry.ts';
import { isAlive } from './liveness.ts';
import { Statements } from './statements.ts';

const now = (): string => new Date().toISOString();

/** The `controller_lease` table: at most one row per engine. */
export class ControllerLease {
  private readonly sql: Statements;

  constructor(
    private readonly db: Database.Database,
    private readonly host: string,
    private readonly engine: string,
  ) {
    this.sql = new Statements(db);
  }

  /**
   * Takes the home folder's controller lease on this engine for `token`, or says who holds it. A lease whose process
   * is gone (killed, crashed) is taken over; a lease from another host is never taken over, since its
   * pid cannot be checked from here.
   */
  acquire(token: string): { ok: true } | { ok: false; pid: number; host: string; since: string } {
    return this.db
      .transaction(() => {
        const row = this.sql
          .get<[string], { host: string; pid: number; token: string; started_at: string }>(
            'SELECT host, pid, token, started_at FROM controller_lease WHERE engine = ?',
          )
          .get(this.engine);
        if (row && row.token !== token && !(row.host === this.host && !isAlive(row.pid))) {
          return { ok: false as const, pid: row.pid, host: row.host, since: row.started_at };
        }
        this.sql
          .get(
            'INSERT OR REPLACE INTO controller_lease (engine, host, pid, token, started_at) VALUES (?, ?, ?, ?, ?)',
          )
          .run(this.engine, this.host, process.pid, token, now());
        return { ok: true as const };
      })
      .immediate();
  }

  release(token: string): void {
    this.sql.get('DELETE FROM controller_lease WHERE engine = ? AND token = ?').run(this.engine, token);
  }
}

/** The `suspensions` table: per stack name and engine, as a compose project name is global to an engine. */
export class Suspensions {
  private readonly sql: Statements;

  constructor(
    db: Database.Database,
    private readonly engine: string,
  ) {
    this.sql = new Statements(db);
  }

  suspend(stack: string, reason: string | null): void {
    this.sql
      .get('INSERT OR IGNORE INTO suspensions (stack, engine, since, reason) VALUES (?, ?, ?, ?)')
      .run(stack, this.engine, now(), reason);
  }

  /** Returns whether the stack was suspended. */
  resume(stack: string): boolean {
    return (
      this.sql.get('DELETE FROM suspensions WHERE stack = ? AND engine = ?').run(stack, this.engine).changes >
      0
    );
  }

  list(): Map<string, { since: string; reason: string | null }> {
    return new Map(
      this.sql
        .get<[string], { stack: string; since: string; reason: string | null }>(
          'SELECT stack, since, reason FROM suspensions WHERE engine = ? ORDER BY stack',
        )
        .all(this.engine)
        .map((r) => [r.stack, { since: r.since, reason: r.reason }]),
    );
  }
}

interface RetryRow {
  key: string;
  attempts: number;
  transient: number;
  last_transient: number;
  next_at: number;
  last_error: string | null;
  gave_up: number;
}

/** The `retries` table, as the controller's RetryStore for one engine. */
export class Retries implements RetryStore {
  private readonly sql: Statements;

  constructor(
    db: Database.Database,
    private readonly engine: string,
  ) {
    this.sql = new Statements(db);
  }

  get(stack: string): RetryEntry | undefined {
    const r = this.sql
      .get<[string, string], RetryRow>('SELECT * FROM retries WHERE stack = ? AND engine = ?')
      .get(stack, this.engine);
    if (!r) return undefined;
    return {
      key: r.key,
      attempts: r.attempts,
      transient: r.transient,
      lastTransient: r.last_transient === 1,
      nextAt: r.next_at,
      lastError: r.last_error,
      gaveUp: r.gave_up === 1,
    };
  }

  set(stack: string, e: RetryEntry): void {
    this.sql
      .get(
        `INSERT OR REPLACE INTO retries (stack, engine, key, attempts, transient, last_transient, next_at, last_error, gave_up)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        stack,
        this.engine,
        e.key,
        e.attempts,
        e.transient,
        e.lastTransient ? 1 : 0,
        e.nextAt,
        e.lastError,
        e.gaveUp ? 1 : 0,
      );
  }

  delete(stack: string): void {
    this.sql.get('DELETE FROM retries WHERE stack = ? AND engine = ?').run(stack, this.engine);
  }
}
