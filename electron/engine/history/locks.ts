// Stack locks (the `locks` table): one run per stack at a time, across processes. A lock names its
// host and pid, so one left by a process that died is taken over rather than held forever. A lock is
// per (stack, engine): a stack can be synced on two engines at once.
import type Database from 'better-sqlite3';
import { isAlive } from './liveness.ts';
import { Statements } from './statements.ts';

interface LockRow {
  host: string;
  pid: number;
  owner: string;
  acquired_at: string;
}

export class StackLocks {
  private readonly sql: Statements;

  /** `host`: this machine's name; a lock of another host is never taken over (its pid means nothing here). */
  constructor(
    private readonly db: Database.Database,
    private readonly host: string,
    private readonly engine: string,
  ) {
    this.sql = new Statements(db);
  }

  /** Takes the stack's lock, or returns who holds it. A lock whose process is gone is taken over. */
  tryLock(
    source: string,
    stack: string,
    owner: string,
  ): { ok: true } | { ok: false; holder: string; since: string } {
    return this.db
      .transaction(() => {
        const row = this.sql
          .get<[string, string, string], LockRow>(
            'SELECT host, pid, owner, acquired_at FROM locks WHERE source = ? AND stack = ? AND engine = ?',
          )
          .get(source, stack, this.engine);
        if (row && !(row.host === this.host && !isAlive(row.pid))) {
          return {
            ok: false as const,
            holder: `${row.owner} (pid ${row.pid} on ${row.host})`,
            since: row.acquired_at,
          };
        }
        this.sql
          .get(
            'INSERT OR REPLACE INTO locks (source, stack, engine, host, pid, owner, acquired_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
          )
          .run(source, stack, this.engine, this.host, process.pid, owner, new Date().toISOString());
        return { ok: true as const };
      })
      .immediate();
  }

  unlock(source: string, stack: string): void {
    this.sql
      .get('DELETE FROM locks WHERE source = ? AND stack = ? AND engine = ? AND host = ? AND pid = ?')
      .run(source, stack, this.engine, this.host, process.pid);
  }

  /** Who holds a stack's lock, if anyone whose process is still there does. */
  holder(source: string, stack: string): { holder: string; since: string; ours: boolean } | undefined {
    const row = this.sql
      .get<[string, string, string], LockRow>(
        'SELECT host, pid, owner, acquired_at FROM locks WHERE source = ? AND stack = ? AND engine = ?',
      )
      .get(source, stack, this.engine);
    if (!row || (row.host === this.host && !isAlive(row.pid))) return undefined;
    return {
      holder: `${row.owner} (pid ${row.pid} on ${row.host})`,
      since: row.acquired_at,
      ours: row.host === this.host && row.pid === process.pid,
    };
  }
}

/** Drops the locks (on any engine) of this host's processes that are gone. */
export function clearDeadLocks(db: Database.Database, host: string): void {
  const pids = db
    .prepare<[string], { pid: number }>('SELECT DISTINCT pid FROM locks WHERE host = ?')
    .all(host);
  const drop = db.prepare('DELETE FROM locks WHERE host = ? AND pid = ?');
  for (const { pid } of pids) if (!isAlive(pid)) drop.run(host, pid);
}
