// Each (stack, engine) pair is its own deployment (issue 15): its drift episodes, lock, suspension,
// retries, what a webhook last told of it and its last run are kept apart from the same stack's on
// another engine; a history file written before engines were named keeps its records, on `local`.
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../electron/engine/history/migrations.ts';
import { HistoryStore } from '../../electron/engine/history/store.ts';

const AT = '2026-12-01T10:00:00.000Z';
let dir: string;
let file: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mooring-engine-records-'));
  file = path.join(dir, 'mooring.db');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function insertRun(db: Database.Database, id: number, engine: string | null, result = 'succeeded'): void {
  db.prepare(
    `INSERT INTO runs (id, source, stack, revision, engine, trigger, started_at, result, plan, host, pid)
     VALUES (?, 'cfg', 'web', ?, ?, 'cli', ?, ?, '[]', 'h', 1)`,
  ).run(id, `rev${id}`, engine, `2026-12-01T10:00:0${id}.000Z`, result);
}

describe('records per (stack, engine)', () => {
  it('keeps the records of a history file from before migration 10, on local', () => {
    const db = new Database(file);
    db.exec('CREATE TABLE migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    for (const [i, sql] of MIGRATIONS.slice(0, 9).entries()) {
      db.exec(sql);
      db.prepare('INSERT INTO migrations (version, applied_at) VALUES (?, ?)').run(i + 1, AT);
    }
    db.prepare("INSERT INTO suspensions (stack, since, reason) VALUES ('web', ?, 'maintenance')").run(AT);
    db.prepare(
      "INSERT INTO retries (stack, key, attempts, transient, last_transient, next_at, last_error, gave_up) VALUES ('web', 'k', 3, 0, 0, 0, 'boom', 1)",
    ).run();
    db.prepare("INSERT INTO told (stack, event, signature) VALUES ('web', 'drift', 'sig')").run();
    db.prepare(
      "INSERT INTO drifts (source, stack, service, first_seen, fields) VALUES ('cfg', 'web', 'app', ?, '[]')",
    ).run(AT);
    db.prepare(
      "INSERT INTO locks (source, stack, host, pid, owner, acquired_at) VALUES ('cfg', 'web', 'elsewhere', 1, 'a sync', ?)",
    ).run(AT);
    db.prepare(
      "INSERT INTO controller_lease (id, host, pid, token, started_at) VALUES (1, 'elsewhere', 1, 'old', ?)",
    ).run(AT);
    insertRun(db, 1, null);
    db.close();

    const h = new HistoryStore(file);
    try {
      const local = h.forEngine('local');
      const staging = h.forEngine('staging');
      expect(local.suspensions.list().get('web')).toEqual({ since: AT, reason: 'maintenance' });
      expect(staging.suspensions.list().size).toBe(0);
      expect(local.retries.get('web')).toMatchObject({ attempts: 3, gaveUp: true, lastError: 'boom' });
      expect(staging.retries.get('web')).toBeUndefined();
      expect(local.told.lastTold('web', 'drift')).toBe('sig');
      expect(staging.told.lastTold('web', 'drift')).toBeNull();
      expect(local.drifts.list({ stack: 'web', open: true }).map((d) => d.service)).toEqual(['app']);
      expect(staging.drifts.list({ stack: 'web', open: true })).toEqual([]);
      expect(local.locks.holder('cfg', 'web')?.holder).toBe('a sync (pid 1 on elsewhere)');
      expect(staging.locks.holder('cfg', 'web')).toBeUndefined();
      expect(h.runs.lastPerStack(['web'], 'local').get('web')?.id).toBe(1);
      expect(h.runs.lastPerStack(['web'], 'staging').size).toBe(0);
      // The controller of another host still holds local; staging is free.
      expect(local.lease.acquire('mine')).toMatchObject({ ok: false, host: 'elsewhere', pid: 1 });
      expect(staging.lease.acquire('mine')).toEqual({ ok: true });
    } finally {
      h.close();
    }
  });

  it('keeps a stack on two engines apart: runs, drift, locks, suspensions, retries and notices', () => {
    const h = new HistoryStore(file);
    try {
      insertRun(h.db, 1, 'local');
      insertRun(h.db, 2, 'staging');
      insertRun(h.db, 3, null, 'failed');
      expect(h.runs.lastPerStack(['web'], 'local').get('web')?.id).toBe(3);
      expect(h.runs.lastPerStack(['web'], 'staging').get('web')?.id).toBe(2);
      expect(h.runs.lastDeployedRevision('web', 'local')).toBe('rev1');
      expect(h.runs.lastDeployedRevision('web', 'staging')).toBe('rev2');
      expect(h.runs.lastDeployedRevision('web', 'homelab')).toBeNull();

      const local = h.forEngine('local');
      const staging = h.forEngine('staging');
      // A drift on staging is not resolved by local being in sync, and is resolved by staging's.
      staging.drifts.observe(
        'cfg',
        'web',
        new Map([['app', [{ path: 'image', desired: 'a', live: 'b' }]]]),
        'x',
      );
      local.drifts.observe('cfg', 'web', new Map(), 'run 1');
      expect(staging.drifts.list({ stack: 'web', open: true }).map((d) => d.service)).toEqual(['app']);
      expect(local.drifts.list({ stack: 'web' })).toEqual([]);
      staging.drifts.observe('cfg', 'web', new Map(), 'run 2');
      expect(staging.drifts.list({ stack: 'web' })[0]).toMatchObject({ service: 'app', resolution: 'run 2' });

      // One sync per (stack, engine): the same stack locks on two engines at once.
      expect(local.locks.tryLock('cfg', 'web', 'sync on local').ok).toBe(true);
      expect(staging.locks.tryLock('cfg', 'web', 'sync on staging').ok).toBe(true);
      expect(local.locks.tryLock('cfg', 'web', 'another').ok).toBe(false); // but one at a time on each
      staging.locks.unlock('cfg', 'web');
      expect(staging.locks.holder('cfg', 'web')).toBeUndefined();
      expect(local.locks.holder('cfg', 'web')?.ours).toBe(true);

      staging.suspensions.suspend('web', null);
      expect([...staging.suspensions.list().keys()]).toEqual(['web']);
      expect(local.suspensions.list().size).toBe(0);
      expect(local.suspensions.resume('web')).toBe(false);
      expect(staging.suspensions.resume('web')).toBe(true);

      const entry = {
        key: 'k',
        attempts: 1,
        transient: 0,
        lastTransient: false,
        nextAt: 5,
        lastError: null,
        gaveUp: false,
      };
      staging.retries.set('web', entry);
      expect(local.retries.get('web')).toBeUndefined();
      local.retries.delete('web');
      expect(staging.retries.get('web')).toEqual(entry);

      // One controller per home and engine: a second on the same engine is refused, one on another is not.
      expect(local.lease.acquire('a').ok).toBe(true);
      expect(local.lease.acquire('b').ok).toBe(false);
      expect(staging.lease.acquire('b').ok).toBe(true);
      local.lease.release('b'); // not its lease: nothing happens
      expect(local.lease.acquire('b').ok).toBe(false);
      local.lease.release('a');
      expect(local.lease.acquire('b').ok).toBe(true);

      staging.told.told('web', 'failed', 'sig');
      local.told.inSync('web');
      expect(staging.told.lastTold('web', 'failed')).toBe('sig');
      expect(local.told.lastTold('web', 'failed')).toBeNull();
    } finally {
      h.close();
    }
  });
});
