// What the pipeline stages keep in the history database (tables from migration 3): builds with their
// log, and the deploys read from git notes, so "which commit ran where and when" is answered offline and
// includes other machines' deploys.
import type Database from 'better-sqlite3';
import { hostname } from 'node:os';
import { LOCAL_ENGINE, type BuildRecord, type BuildStep, type DeployRecord } from '../../shared/model.ts';
import type { BuildRecorder } from './build.ts';
import type { DeployNote } from '../source/notes.ts';
import { isAlive } from '../history/liveness.ts';

export type { BuildRecord, DeployRecord };

interface BuildRow {
  id: number;
  app_repo: string;
  rev: string | null;
  commit_id: string | null;
  tag: string | null;
  context: string;
  dockerfile: string;
  image_id: string | null;
  started_at: string;
  finished_at: string | null;
  result: BuildRecord['result'];
  error: string | null;
  failed_step: string | null;
  host: string;
  pid: number;
}

interface NoteRow {
  source: string;
  commit_id: string;
  host: string;
  stack: string;
  run_id: number;
  started_at: string;
  time: string;
  trigger: string;
  result: string;
  images: string;
  error: string | null;
  engine: string | null;
}

const now = (): string => new Date().toISOString();

export class PipelineStore implements BuildRecorder {
  private readonly host = hostname();

  constructor(private readonly db: Database.Database) {
    this.markInterrupted();
  }

  /** A build left running by a process that is gone was cut off: say so instead of "running" forever. */
  private markInterrupted(): void {
    const rows = this.db
      .prepare<[string], { id: number; pid: number }>(
        "SELECT id, pid FROM builds WHERE result = 'running' AND host = ?",
      )
      .all(this.host);
    for (const r of rows) {
      if (r.pid === process.pid || isAlive(r.pid)) continue;
      this.db
        .prepare("UPDATE builds SET result = 'interrupted', finished_at = ?, error = ? WHERE id = ?")
        .run(now(), 'The process running this build stopped before it finished.', r.id);
    }
  }

  // ---- builds ----

  start(input: { appRepo: string; rev: string | null; context: string; dockerfile: string }): number {
    const info = this.db
      .prepare(
        "INSERT INTO builds (app_repo, rev, context, dockerfile, started_at, result, log, host, pid) VALUES (?, ?, ?, ?, ?, 'running', '', ?, ?)",
      )
      .run(input.appRepo, input.rev, input.context, input.dockerfile, now(), this.host, process.pid);
    return Number(info.lastInsertRowid);
  }

  target(id: number, commit: string, tag: string): void {
    this.db.prepare('UPDATE builds SET commit_id = ?, tag = ? WHERE id = ?').run(commit, tag, id);
  }

  finish(
    id: number,
    o: {
      result: 'succeeded' | 'failed';
      imageId: string | null;
      error: string | null;
      failedStep: BuildStep | null;
      log: string;
    },
  ): void {
    this.db
      .prepare(
        'UPDATE builds SET result = ?, image_id = ?, error = ?, failed_step = ?, log = ?, finished_at = ? WHERE id = ?',
      )
      .run(
        o.result,
        o.imageId,
        o.error,
        o.failedStep ? JSON.stringify(o.failedStep) : null,
        o.log,
        now(),
        id,
      );
  }

  listBuilds(opts: { appRepo?: string; limit?: number; before?: number } = {}): BuildRecord[] {
    return this.db
      .prepare<[string | null, string | null, number | null, number | null, number], BuildRow>(
        `SELECT id, app_repo, rev, commit_id, tag, context, dockerfile, image_id, started_at, finished_at, result, error, failed_step, host, pid
         FROM builds WHERE (? IS NULL OR app_repo = ?) AND (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?`,
      )
      .all(
        opts.appRepo ?? null,
        opts.appRepo ?? null,
        opts.before ?? null,
        opts.before ?? null,
        opts.limit ?? 50,
      )
      .map(toBuild);
  }

  getBuild(id: number): (BuildRecord & { log: string }) | undefined {
    const row = this.db
      .prepare<[number], BuildRow & { log: string }>('SELECT * FROM builds WHERE id = ?')
      .get(id);
    return row ? { ...toBuild(row), log: row.log } : undefined;
  }

  /** The newest successful build that produced this tag or image id: where an image came from. */
  buildOfImage(image: string): BuildRecord | undefined {
    const row = this.db
      .prepare<[string, string], BuildRow>(
        "SELECT * FROM builds WHERE result = 'succeeded' AND (tag = ? OR image_id = ?) ORDER BY id DESC LIMIT 1",
      )
      .get(image, image);
    return row ? toBuild(row) : undefined;
  }

  // ---- deploys from git notes ----

  /** The notes commit last read for a source: unchanged means nothing to read. */
  notesIndexed(source: string): string | null {
    return (
      this.db
        .prepare<[string], { notes_commit: string }>('SELECT notes_commit FROM notes_index WHERE source = ?')
        .get(source)?.notes_commit ?? null
    );
  }

  /** The note blob last read per annotated commit of a source. */
  noteBlobs(source: string): Map<string, string> {
    return new Map(
      this.db
        .prepare<[string], { commit_id: string; blob: string }>(
          'SELECT commit_id, blob FROM note_blobs WHERE source = ?',
        )
        .all(source)
        .map((r) => [r.commit_id, r.blob]),
    );
  }

  /** Records what the notes commit `notesCommit` says; `notes`: the notes whose blob is new, parsed. */
  indexNotes(
    source: string,
    notesCommit: string,
    notes: { commit: string; blob: string; deploys: DeployNote[] }[],
  ): void {
    const insert = this.db.prepare(
      `INSERT OR IGNORE INTO deploy_notes (source, commit_id, host, stack, run_id, started_at, time, trigger, result, images, error, engine)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.db.transaction(() => {
      for (const n of notes) {
        for (const d of n.deploys) {
          insert.run(
            source,
            n.commit,
            d.host,
            d.stack,
            d.runId,
            d.startedAt,
            d.time,
            d.trigger,
            d.result,
            JSON.stringify(d.images),
            d.error ?? null,
            d.engine ?? null,
          );
        }
        this.db
          .prepare('INSERT OR REPLACE INTO note_blobs (source, commit_id, blob) VALUES (?, ?, ?)')
          .run(source, n.commit, n.blob);
      }
      this.db
        .prepare('INSERT OR REPLACE INTO notes_index (source, notes_commit) VALUES (?, ?)')
        .run(source, notesCommit);
    })();
  }

  /**
   * Deploys of these commits, newest first: every machine's from the notes, and this home's own runs
   * (a run whose note could not be written still shows). The same run from both is listed once.
   */
  deploysOf(commits: string[], source?: string): Map<string, DeployRecord[]> {
    const out = new Map<string, DeployRecord[]>();
    if (commits.length === 0) return out;
    const list = JSON.stringify(commits);
    const seen = new Set<string>();
    const add = (d: DeployRecord): void => {
      const key = `${d.commit} ${d.host} ${d.runId} ${d.startedAt}`;
      if (seen.has(key)) return;
      seen.add(key);
      out.set(d.commit, [...(out.get(d.commit) ?? []), d]);
    };
    const runs = this.db
      .prepare<
        [string, string | null, string | null],
        {
          id: number;
          source: string;
          stack: string;
          revision: string;
          trigger: string;
          started_at: string;
          finished_at: string | null;
          result: string;
          error: string | null;
          host: string;
          engine: string | null;
        }
      >(
        `SELECT id, source, stack, revision, trigger, started_at, finished_at, result, error, host, engine FROM runs
         WHERE revision IN (SELECT value FROM json_each(?)) AND (? IS NULL OR source = ?)`,
      )
      .all(list, source ?? null, source ?? null);
    for (const r of runs) {
      add({
        source: r.source,
        commit: r.revision,
        host: r.host,
        stack: r.stack,
        runId: r.id,
        startedAt: r.started_at,
        time: r.finished_at ?? r.started_at,
        trigger: r.trigger,
        result: r.result,
        images: [],
        error: r.error,
        engine: r.engine ?? LOCAL_ENGINE,
        local: true,
      });
    }
    const notes = this.db
      .prepare<[string, string | null, string | null], NoteRow>(
        `SELECT * FROM deploy_notes WHERE commit_id IN (SELECT value FROM json_each(?)) AND (? IS NULL OR source = ?)`,
      )
      .all(list, source ?? null, source ?? null);
    for (const n of notes) {
      const key = `${n.commit_id} ${n.host} ${n.run_id} ${n.started_at}`;
      const images = JSON.parse(n.images) as DeployRecord['images'];
      if (seen.has(key)) {
        // Our own run: the note adds the image ids the run history does not keep.
        const mine = out
          .get(n.commit_id)
          ?.find((d) => `${d.commit} ${d.host} ${d.runId} ${d.startedAt}` === key);
        if (mine && mine.images.length === 0) mine.images = images;
        continue;
      }
      add({
        source: n.source,
        commit: n.commit_id,
        host: n.host,
        stack: n.stack,
        runId: n.run_id,
        startedAt: n.started_at,
        time: n.time,
        trigger: n.trigger,
        result: n.result,
        images,
        error: n.error,
        engine: n.engine ?? LOCAL_ENGINE,
        local: false,
      });
    }
    for (const list of out.values()) list.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0));
    return out;
  }
}

function toBuild(r: BuildRow): BuildRecord {
  return {
    id: r.id,
    appRepo: r.app_repo,
    rev: r.rev,
    commit: r.commit_id,
    tag: r.tag,
    context: r.context,
    dockerfile: r.dockerfile,
    imageId: r.image_id,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    result: r.result,
    error: r.error,
    failedStep: r.failed_step ? (JSON.parse(r.failed_step) as BuildStep) : null,
    host: r.host,
  };
}
