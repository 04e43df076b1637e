// Drift records (the `drifts` table): when a service of a stack started to differ from git, in which
// fields, and which run or look found it back in line. One repository per engine: a stack on two
// engines drifts on each apart.
import type Database from 'better-sqlite3';
import type { DriftReason, DriftRecord } from '../../shared/model.ts';
import { readDriftReasons } from './json-columns.ts';
import { Statements } from './statements.ts';

export type { DriftRecord };

interface DriftRow {
  id: number;
  source: string;
  stack: string;
  service: string;
  first_seen: string;
  resolved_at: string | null;
  resolution: string | null;
  fields: string;
}

export class DriftRepository {
  private readonly sql: Statements;

  constructor(
    private readonly db: Database.Database,
    private readonly engine: string,
  ) {
    this.sql = new Statements(db);
  }

  /**
   * Records what is drifting now for one stack: opens a drift for each newly drifting service,
   * updates the fields of open ones, and resolves those no longer drifting with the given reason.
   */
  observe(source: string, stack: string, drifting: Map<string, DriftReason[]>, resolution: string): void {
    const open = this.sql
      .get<[string, string, string], { id: number; service: string }>(
        'SELECT id, service FROM drifts WHERE source = ? AND stack = ? AND engine = ? AND resolved_at IS NULL',
      )
      .all(source, stack, this.engine);
    const at = new Date().toISOString();
    this.db.transaction(() => {
      const seen = new Set<string>();
      for (const row of open) {
        const fields = drifting.get(row.service);
        if (fields) {
          seen.add(row.service);
          this.sql.get('UPDATE drifts SET fields = ? WHERE id = ?').run(JSON.stringify(fields), row.id);
        } else {
          this.sql
            .get('UPDATE drifts SET resolved_at = ?, resolution = ? WHERE id = ?')
            .run(at, resolution, row.id);
        }
      }
      for (const [service, fields] of drifting) {
        if (seen.has(service)) continue;
        this.sql
          .get(
            'INSERT INTO drifts (source, stack, engine, service, first_seen, fields) VALUES (?, ?, ?, ?, ?, ?)',
          )
          .run(source, stack, this.engine, service, at, JSON.stringify(fields));
      }
    })();
  }

  /** Newest first; `open`: only those not resolved yet. */
  list(opts: { source?: string; stack?: string; open?: boolean; limit?: number }): DriftRecord[] {
    return this.sql
      .get<[string, string | null, string | null, string | null, string | null, number, number], DriftRow>(
        `SELECT * FROM drifts WHERE engine = ? AND (? IS NULL OR source = ?) AND (? IS NULL OR stack = ?)
         AND (? = 0 OR resolved_at IS NULL) ORDER BY id DESC LIMIT ?`,
      )
      .all(
        this.engine,
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
