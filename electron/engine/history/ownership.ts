// What this home created on the engine: the only containers and networks Mooring ever removes
// (issue 10). Labels say whose a container is, but anyone who can reach the engine can copy them; the
// engine id of what Mooring created cannot be chosen, so it is recorded here and checked before every
// remove. Three cases make a container ours:
//  - its id is recorded (written right after the create);
//  - a create of that name was in flight (recorded before the call) and never confirmed, because the
//    process died in between: the container made within a minute after it is ours, and is then recorded;
//  - it was created before this record existed (a home from an earlier version), and carries this
//    home's instance id: nothing can be made in the past, so no look-alike made later qualifies.
import type Database from 'better-sqlite3';

export type OwnedKind = 'container' | 'network';

export interface OwnedObject {
  kind: OwnedKind;
  id: string;
  name: string;
  /** The engine's creation time (ISO). */
  created: string;
}

/** How long after an unconfirmed create its container may be created and still be recognized. */
const IN_FLIGHT_MS = 60_000;

export class OwnershipStore {
  private readonly since: number;
  private known: Database.Statement<[OwnedKind, string]> | undefined;
  private pending: Database.Statement<[OwnedKind, string]> | undefined;

  constructor(private readonly db: Database.Database) {
    // Migration 6 made the table: anything older than that cannot be in it.
    const row = db
      .prepare<[], { applied_at: string }>('SELECT applied_at FROM migrations WHERE version = 6')
      .get();
    this.since = row ? Date.parse(row.applied_at) : 0;
  }

  /** Records a create about to be made; `confirm` fills in the id once the engine answered. */
  intend(kind: OwnedKind, name: string, source: string, stack: string): number {
    return Number(
      this.db
        .prepare('INSERT INTO owned (kind, id, name, source, stack, created_at) VALUES (?, NULL, ?, ?, ?, ?)')
        .run(kind, name, source, stack, new Date().toISOString()).lastInsertRowid,
    );
  }

  confirm(intent: number, id: string): void {
    this.db.prepare('UPDATE owned SET id = ? WHERE rowid = ?').run(id, intent);
  }

  /** The create did not happen (the engine refused it). */
  abandon(intent: number): void {
    this.db.prepare('DELETE FROM owned WHERE rowid = ? AND id IS NULL').run(intent);
  }

  /**
   * A container docker compose made from the same file, taken over by a planned `adopt` (issue 11): it
   * carries none of Mooring's labels, so the record alone makes it ours.
   */
  adopt(id: string, name: string, source: string, stack: string): void {
    this.db
      .prepare('INSERT INTO owned (kind, id, name, source, stack, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run('container', id, name, source, stack, new Date().toISOString());
  }

  /** After a remove: the id is gone for good. */
  forget(kind: OwnedKind, id: string): void {
    this.db.prepare('DELETE FROM owned WHERE kind = ? AND id = ?').run(kind, id);
  }

  /**
   * Whether this home made (or adopted) `object`, see the top of this file. `labelled`: its labels name
   * this home; only then do the two rules for what was never recorded by id apply.
   */
  owns(object: OwnedObject, labelled = true): boolean {
    // Asked for every container of every status look: the statements are prepared once.
    this.known ??= this.db.prepare('SELECT 1 AS n FROM owned WHERE kind = ? AND id = ?');
    if (this.known.get(object.kind, object.id)) return true;
    if (!labelled) return false;
    const created = Date.parse(object.created);
    if (!Number.isFinite(created)) return false;
    if (created < this.since) return true;
    this.pending ??= this.db.prepare(
      'SELECT rowid, created_at FROM owned WHERE kind = ? AND name = ? AND id IS NULL ORDER BY rowid DESC',
    );
    const pending = this.pending.all(object.kind, object.name) as { rowid: number; created_at: string }[];
    for (const p of pending) {
      const intended = Date.parse(p.created_at);
      // Clocks of the engine and this process may differ a little: allow a second before the intent.
      if (created >= intended - 1000 && created <= intended + IN_FLIGHT_MS) {
        try {
          this.confirm(p.rowid, object.id);
        } catch {
          // A read-only home (status only) can still tell; the next writer records it.
        }
        return true;
      }
    }
    return false;
  }
}
