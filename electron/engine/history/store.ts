// The history database: one SQLite file per home, opened here, read and written through one small
// repository per concern (docs/architecture.md, History). WAL with synchronous=NORMAL: every committed
// write survives a killed process, and readers (the UI, `mooring history`) never wait on a sync in
// progress.
import type Database from 'better-sqlite3';
import { hostname } from 'node:os';
import { CommitRepository } from './commits.ts';
import { ControllerLease, Retries, Suspensions } from './controller-state.ts';
import { DeliveryRepository, ToldRepository } from './deliveries.ts';
import { DriftRepository } from './drifts.ts';
import { StackLocks, clearDeadLocks } from './locks.ts';
import { MIGRATIONS } from './migrations.ts';
import { openHistoryDb } from './open-db.ts';
import { OwnershipStore } from './ownership.ts';
import { RunRepository } from './runs.ts';
import { SourceRepository } from './sources.ts';

export type { DriftRecord } from './drifts.ts';
export type { RunQuery } from './runs.ts';

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
      db.prepare('INSERT INTO migrations (version, applied_at) VALUES (?, ?)').run(
        version,
        new Date().toISOString(),
      );
    })();
  }
}

/**
 * What is kept per (stack, engine) (issue 15): each pair is its own deployment, so a stack on two
 * engines has a drift record, a lock, a suspension, retries and notices on each, apart.
 */
export interface EngineRecords {
  readonly engine: string;
  /** The controller's: one per home folder and engine. */
  readonly lease: ControllerLease;
  readonly drifts: DriftRepository;
  /** One run per (stack, engine) at a time, across processes. */
  readonly locks: StackLocks;
  readonly suspensions: Suspensions;
  /** The controller's retry bookkeeping, kept across restarts. */
  readonly retries: Retries;
  /** The drift or failure a webhook last told of each stack. */
  readonly told: ToldRepository;
}

/**
 * The one composition point of the history: opens (and migrates) the database and holds one repository
 * per concern over that connection. Callers take the repository they need (`history.runs`,
 * `history.sources`…), so a function that records drift depends on the drift records, not on all of it.
 */
export class HistoryStore {
  readonly db: Database.Database;

  /**
   * Opened read-only (the home cannot be written): nothing is migrated, closed or recorded, and any
   * write fails with SQLITE_READONLY, which the CLI and the API turn into "the home is read-only".
   */
  readonly readOnly: boolean;

  readonly sources: SourceRepository;
  readonly commits: CommitRepository;
  readonly runs: RunRepository;
  /** Webhook notices sent (issue 13, item 9). */
  readonly deliveries: DeliveryRepository;
  private readonly host = hostname();
  private readonly perEngine = new Map<string, EngineRecords>();

  constructor(file: string) {
    const opened = openHistoryDb(file, { schemaVersion: MIGRATIONS.length, initialize: applyMigrations });
    this.db = opened.db;
    this.readOnly = opened.readOnly;
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    const host = this.host;
    this.sources = new SourceRepository(this.db);
    this.commits = new CommitRepository(this.db);
    this.runs = new RunRepository(this.db, host);
    this.deliveries = new DeliveryRepository(this.db);
    if (this.readOnly) return;
    this.db.pragma('synchronous = NORMAL');
    applyMigrations(this.db);
    this.sources.scrubCredentials();
    this.markInterrupted();
  }

  close(): void {
    this.db.close();
  }

  /** The records of one named engine's deployments. */
  forEngine(engine: string): EngineRecords {
    let records = this.perEngine.get(engine);
    if (!records) {
      records = {
        engine,
        lease: new ControllerLease(this.db, this.host, engine),
        drifts: new DriftRepository(this.db, engine),
        locks: new StackLocks(this.db, this.host, engine),
        suspensions: new Suspensions(this.db, engine),
        retries: new Retries(this.db, engine),
        told: new ToldRepository(this.db, engine),
      };
      this.perEngine.set(engine, records);
    }
    return records;
  }

  /** What this home created on the engine (issue 10): checked before anything is removed. */
  get ownership(): OwnershipStore {
    return (this.ownershipStore ??= new OwnershipStore(this.db));
  }

  private ownershipStore: OwnershipStore | undefined;

  /**
   * Runs and stack locks left by this host's processes that are gone (killed, crashed, power lost):
   * the runs are marked interrupted, the locks dropped. Returns how many runs.
   */
  markInterrupted(): number {
    const count = this.runs.markInterrupted();
    clearDeadLocks(this.db, this.host);
    return count;
  }

  /**
   * A number that changes whenever another connection (another process) commits: the controller checks
   * it to notice `mooring suspend`, `mooring fetch` and new sources without re-reading every table.
   */
  dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }
}
