// Webhook deliveries (the `deliveries` table): each notice sent, with the answer or the error, newest
// first in Settings; and (`told`) the drift or failure last told per (stack, engine), so that it is
// told once.
import type Database from 'better-sqlite3';
import type { WebhookDelivery, WebhookEvent } from '../../shared/model.ts';
import { Statements } from './statements.ts';

interface DeliveryRow {
  id: number;
  at: string;
  event: string;
  stack: string | null;
  format: string;
  status: number | null;
  error: string | null;
}

export class DeliveryRepository {
  private readonly sql: Statements;

  constructor(db: Database.Database) {
    this.sql = new Statements(db);
  }

  add(d: Omit<WebhookDelivery, 'id'>): number {
    return Number(
      this.sql
        .get('INSERT INTO deliveries (at, event, stack, format, status, error) VALUES (?, ?, ?, ?, ?, ?)')
        .run(d.at, d.event, d.stack, d.format, d.status, d.error).lastInsertRowid,
    );
  }

  /** Newest first. */
  list(limit = 10): WebhookDelivery[] {
    return this.sql
      .get<[number], DeliveryRow>('SELECT * FROM deliveries ORDER BY id DESC LIMIT ?')
      .all(limit)
      .map((r) => ({ ...r, event: r.event as WebhookEvent }));
  }
}

/** The `told` table for one engine. */
export class ToldRepository {
  private readonly sql: Statements;

  constructor(
    db: Database.Database,
    private readonly engine: string,
  ) {
    this.sql = new Statements(db);
  }

  /**
   * The drift or failure last told for a stack (its signature), until the stack is in sync again: the
   * same one is told once, even across restarts.
   */
  lastTold(stack: string, event: 'drift' | 'failed'): string | null {
    return (
      this.sql
        .get<[string, string, string], { signature: string }>(
          'SELECT signature FROM told WHERE stack = ? AND engine = ? AND event = ?',
        )
        .get(stack, this.engine, event)?.signature ?? null
    );
  }

  told(stack: string, event: 'drift' | 'failed', signature: string): void {
    this.sql
      .get('INSERT OR REPLACE INTO told (stack, engine, event, signature) VALUES (?, ?, ?, ?)')
      .run(stack, this.engine, event, signature);
  }

  /** The stack is in sync again: its next drift or failure is told even if it looks like the last one. */
  inSync(stack: string): void {
    this.sql.get('DELETE FROM told WHERE stack = ? AND engine = ?').run(stack, this.engine);
  }
}
