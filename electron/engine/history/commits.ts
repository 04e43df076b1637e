// The commits of each source, cached from git at every fetch (the `commits` table): the Commits
// screen and the revision shown beside a stack read them without opening the repository.
import type Database from 'better-sqlite3';
import type { CommitRecord } from '../../shared/model.ts';
import { readStringList } from './json-columns.ts';
import { Statements } from './statements.ts';

type CommitRow = Omit<CommitRecord, 'parents' | 'stacks'> & { parents: string; stacks: string };

export class CommitRepository {
  private readonly sql: Statements;

  constructor(private readonly db: Database.Database) {
    this.sql = new Statements(db);
  }

  /** The ids cached for a source: what a fetch need not read from git again. */
  known(source: string): Set<string> {
    return new Set(
      this.sql
        .get<[string], { id: string }>('SELECT id FROM commits WHERE source = ?')
        .all(source)
        .map((r) => r.id),
    );
  }

  add(commits: CommitRecord[]): void {
    const insert = this.sql.get(
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

  /** Newest first, of one source or all. */
  list(opts: { source?: string; limit?: number }): CommitRecord[] {
    return this.sql
      .get<[string | null, string | null, number], CommitRow>(
        'SELECT * FROM commits WHERE (? IS NULL OR source = ?) ORDER BY time DESC, rowid DESC LIMIT ?',
      )
      .all(opts.source ?? null, opts.source ?? null, opts.limit ?? 50)
      .map(toCommit);
  }

  get(source: string, id: string): CommitRecord | undefined {
    const row = this.sql
      .get<[string, string], CommitRow>('SELECT * FROM commits WHERE source = ? AND id = ?')
      .get(source, id);
    return row ? toCommit(row) : undefined;
  }
}

function toCommit(r: CommitRow): CommitRecord {
  return {
    ...r,
    parents: readStringList(r.parents, 'commits.parents'),
    stacks: readStringList(r.stacks, 'commits.stacks'),
  };
}
