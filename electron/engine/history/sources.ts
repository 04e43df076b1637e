// The config repos Mooring follows (the `sources` table): their settings and how their last fetch went.
import type Database from 'better-sqlite3';
import type { SourceConfig, SourceState } from '../../shared/model.ts';
import { MooringError } from '../errors.ts';
import { splitUserinfo, tokenEnvName, withoutUserinfo } from '../source/url-credentials.ts';
import { Statements } from './statements.ts';

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
  verify_format: 'ssh' | 'openpgp' | null;
  verify_keys: string | null;
}

const now = (): string => new Date().toISOString();

export class SourceRepository {
  private readonly sql: Statements;

  constructor(private readonly db: Database.Database) {
    this.sql = new Statements(db);
  }

  add(config: SourceConfig): void {
    try {
      this.sql
        .get(
          'INSERT INTO sources (name, url, kind, branch, path, token_env, verify_format, verify_keys, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(
          config.name,
          config.url,
          config.kind,
          config.branch,
          config.path,
          config.tokenEnv,
          config.verify?.format ?? null,
          config.verify?.keys ?? null,
          now(),
        );
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new MooringError('conflict', `A source named "${config.name}" already exists.`);
      }
      throw err;
    }
  }

  update(
    name: string,
    patch: {
      branch?: string | null;
      path?: string;
      tokenEnv?: string | null;
      verify?: SourceConfig['verify'];
    },
  ): void {
    if (patch.verify !== undefined) {
      this.sql
        .get('UPDATE sources SET verify_format = ?, verify_keys = ? WHERE name = ?')
        .run(patch.verify?.format ?? null, patch.verify?.keys ?? null, name);
    }
    if (patch.tokenEnv !== undefined) {
      this.sql.get('UPDATE sources SET token_env = ? WHERE name = ?').run(patch.tokenEnv, name);
    }
    if (patch.branch !== undefined)
      this.sql.get('UPDATE sources SET branch = ? WHERE name = ?').run(patch.branch, name);
    if (patch.path !== undefined)
      this.sql.get('UPDATE sources SET path = ? WHERE name = ?').run(patch.path, name);
  }

  remove(name: string): boolean {
    return this.sql.get('DELETE FROM sources WHERE name = ?').run(name).changes > 0;
  }

  list(): SourceState[] {
    return this.sql.get<[], SourceRow>('SELECT * FROM sources ORDER BY name').all().map(toSource);
  }

  get(name: string): SourceState | undefined {
    const row = this.sql.get<[string], SourceRow>('SELECT * FROM sources WHERE name = ?').get(name);
    return row ? toSource(row) : undefined;
  }

  recordFetch(name: string, result: { head: string } | { error: string }): void {
    const at = now();
    if ('head' in result) {
      this.sql
        .get(
          'UPDATE sources SET head = ?, last_fetch_at = ?, last_success_at = ?, last_error = NULL, failing_since = NULL WHERE name = ?',
        )
        .run(result.head, at, at, name);
    } else {
      this.sql
        .get(
          'UPDATE sources SET last_fetch_at = ?, last_error = ?, failing_since = COALESCE(failing_since, ?) WHERE name = ?',
        )
        .run(at, result.error, at, name);
    }
  }

  /**
   * Source URLs saved with credentials in them (`http://user:TOKEN@host/…`, accepted before issue 10)
   * lose them here, at every open, and the source says how to give the token instead. secure_delete
   * zeroes the freed text and VACUUM rewrites every page, so no old copy of the URL (each fetch rewrote
   * the row) lingers in free space; the TRUNCATE checkpoint empties the WAL that held them too.
   */
  scrubCredentials(): void {
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
}

function toSource(r: SourceRow): SourceState {
  return {
    name: r.name,
    // Scrubbed at open; a read-only home cannot be, so credentials are never shown from here either.
    url: withoutUserinfo(r.url),
    kind: r.kind,
    branch: r.branch,
    path: r.path,
    tokenEnv: r.token_env,
    verify: r.verify_format && r.verify_keys ? { format: r.verify_format, keys: r.verify_keys } : null,
    head: r.head,
    lastFetchAt: r.last_fetch_at,
    lastSuccessAt: r.last_success_at,
    lastError: r.last_error,
    failingSince: r.failing_since,
  };
}
