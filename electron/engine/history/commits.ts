// The commits of each source, cached from git at every fetch (the `commits` table): the Commits
// screen and the revision shown beside a stack read them without opening the repository.
import type Database from 'better-sqlite3';
import type { CommitRecord } from '../../shared/model.ts';
import { readStringList } from './json-columns.ts';
import { Statements } from './statements.ts';

type CommitRow = Omit<CommitRecord, 'parents' | 'stacks'> & { parents: string; stacks: string };

/** Revisions whose last changes are kept: the targets and deployed revisions of a home's stacks. */
const CHANGES_KEPT = 256;

export class CommitRepository {
  private readonly sql: Statements;
  /** A commit's ancestry never changes, so neither does what `lastChanges` finds for it. */
  private readonly changes = new Map<string, Map<string, string>>();

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

  /**
   * For each stack, the last commit at or before `revision` (following first parents, as each commit's
   * `stacks` is against its first parent) that changed its folder. A stack missing from the map was
   * not changed in the cached history; an uncached revision gives an empty map.
   */
  lastChanges(source: string, revision: string): Map<string, string> {
    const key = `${source}\0${revision}`;
    const kept = this.changes.get(key);
    if (kept) return kept;
    const rows = this.sql
      .get<[{ source: string; revision: string }], { stack: string; id: string }>(
        `WITH RECURSIVE chain(id, n) AS (
           SELECT @revision, 0
           UNION ALL
           SELECT json_extract(c.parents, '$[0]'), chain.n + 1
             FROM chain JOIN commits c ON c.source = @source AND c.id = chain.id
         )
         SELECT s.value AS stack, c.id AS id, MIN(chain.n) AS n
           FROM chain JOIN commits c ON c.source = @source AND c.id = chain.id, json_each(c.stacks) s
          GROUP BY s.value`,
      )
      .all({ source, revision });
    const found = new Map(rows.map((r) => [r.stack, r.id]));
    // Not kept before the revision is cached: a fetch may add it, and then the answer changes.
    if (rows.length > 0 || this.get(source, revision)) {
      if (this.changes.size >= CHANGES_KEPT) this.changes.delete(this.changes.keys().next().value!);
      this.changes.set(key, found);
    }
    return found;
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
