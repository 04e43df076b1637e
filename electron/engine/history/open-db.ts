// Opening the history database so that it is never lost by opening it (issue 10, item 10). Only a
// missing file means a new home. An empty, foreign, damaged or newer file is an error that says where
// it is and what to do, and Mooring writes nothing to it, not even SQLite's header. A home that cannot
// be written is opened read-only: people can still look at status and history.
import type Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { MooringError } from '../errors.ts';
import { canWrite } from '../home.ts';
import { openDatabase } from './native-sqlite.ts';

export interface OpenedHistoryDb {
  db: Database.Database;
  /** Opened read-only: the file or its folder cannot be written. Nothing may be recorded. */
  readOnly: boolean;
}

export interface OpenHistoryDbOptions {
  /** How many migrations this code knows: a database with more was written by a newer Mooring. */
  schemaVersion: number;
  /** Brings a brand-new database to the current schema before any other process can see it. */
  initialize: (db: Database.Database) => void;
}

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

export function openHistoryDb(file: string, opts: OpenHistoryDbOptions): OpenedHistoryDb {
  if (isMissing(file)) createFresh(file, opts.initialize);
  checkHeader(file);
  const dir = path.dirname(file);
  const writable = [dir, file, `${file}-wal`, `${file}-shm`].every(canWrite);
  if (writable) {
    // Checked through a read-only connection first: a file that is not Mooring's gets no byte written.
    openChecked(
      () => openDatabase(file, { readonly: true, fileMustExist: true }),
      file,
      opts.schemaVersion,
    ).db.close();
    const db = openWritable(file);
    if (db) return { db, readOnly: false };
    // Otherwise SQLite found it read-only after all (an ACL, a file system remounted read-only).
  }
  const probe = openReadOnly(file, opts.schemaVersion);
  if (probe.version < opts.schemaVersion) {
    probe.db.close();
    throw new MooringError(
      'failed',
      `${file} cannot be written, and it needs an upgrade to this version of Mooring (schema ${probe.version} → ${opts.schemaVersion}) before it can be read. Make ${dir} and the files in it writable once and run Mooring again; nothing was changed.`,
    );
  }
  return { db: probe.db, readOnly: true };
}

/** Whether SQLite found the file damaged (or no database at all) while reading it. */
export function isSqliteDamaged(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_NOTADB' || (typeof code === 'string' && code.startsWith('SQLITE_CORRUPT'));
}

/**
 * Damage found after the open's checks (they read only the first pages): where the file is and what to
 * do. Unlike at open, the command may have written before it hit the damaged page.
 */
export function damagedHistoryError(file: string, err: unknown): MooringError {
  return new MooringError(
    'failed',
    `${file} is damaged (SQLite says: ${err instanceof Error ? err.message : String(err)}). Restore it from a backup if you have one; ` +
      `or, to start again with an empty history, move it aside (mv "${file}" "${file}.unusable") and run the command again.`,
    { cause: err },
  );
}

/** Whether SQLite refused a write because the connection or the file is read-only. */
export function isSqliteReadOnly(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_READONLY');
}

function isMissing(file: string): boolean {
  try {
    fs.lstatSync(file);
    return false;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}

/** The advice every unusable file gets: what it is, that it is untouched, and the two ways on. */
function unusable(file: string, what: string): MooringError {
  return new MooringError(
    'failed',
    `${file} ${what}, so it cannot be used as Mooring's history. Mooring did not change it. ` +
      `Restore the file from a backup if you have one; or, to start again with an empty history, move it aside ` +
      `(mv "${file}" "${file}.unusable") and run the command again.`,
  );
}

/** Refuses, before SQLite opens it, a file that is no SQLite database at all. */
function checkHeader(file: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw unusable(file, 'is a symbolic link to a file that does not exist');
    throw err;
  }
  if (!stat.isFile()) throw unusable(file, 'is not a regular file');
  // A 0-byte file is what SQLite itself would happily take for a new database: history gone without a word.
  if (stat.size === 0) throw unusable(file, 'is empty (0 bytes)');
  const head = Buffer.alloc(SQLITE_HEADER.length);
  const fd = fs.openSync(file, 'r');
  let read: number;
  try {
    read = fs.readSync(fd, head, 0, head.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (read < head.length || !head.equals(SQLITE_HEADER)) throw unusable(file, 'is not a SQLite database');
}

/** How SQLite says it cannot set up the WAL index (-shm) next to a file it may only read. */
const NO_SHARED_MEMORY = new Set([
  'SQLITE_CANTOPEN', // a read-only mount
  'SQLITE_READONLY_DIRECTORY', // a folder this user may not write
  'SQLITE_READONLY_CANTINIT',
  'SQLITE_READONLY_CANTLOCK',
  'SQLITE_READONLY_RECOVERY',
]);

/**
 * A read-only connection for a home that cannot be written. A WAL database needs its -shm file, which a
 * read-only folder without one cannot get; then the file is read into memory instead,
 * its header set to the rollback journal that an in-memory copy needs. That copy misses only writes
 * still in a -wal left by a crash, which a read-only home cannot take in anyway.
 */
function openReadOnly(file: string, known: number): { db: Database.Database; version: number } {
  try {
    return openChecked(() => openDatabase(file, { readonly: true, fileMustExist: true }), file, known);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'string' || !NO_SHARED_MEMORY.has(code)) throw err;
  }
  return openChecked(
    () => {
      const bytes = fs.readFileSync(file);
      // Bytes 18 and 19 are the read and write format versions: 2 means WAL, 1 the rollback journal.
      if (bytes.length > 19 && bytes[18] === 2 && bytes[19] === 2) bytes.fill(1, 18, 20);
      return openDatabase(bytes, { readonly: true });
    },
    file,
    known,
  );
}

/** A read-only connection to a file that passed the checks: Mooring's tables, a schema it knows. */
function openChecked(
  connect: () => Database.Database,
  file: string,
  known: number,
): { db: Database.Database; version: number } {
  let db: Database.Database | null = null;
  try {
    db = connect();
    db.pragma('busy_timeout = 5000');
    const tables = new Set(
      db
        .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
        .all()
        .map((r) => r.name),
    );
    if (!tables.has('migrations') || !tables.has('sources')) {
      throw unusable(file, 'is a SQLite database, but not one of Mooring (it has none of its tables)');
    }
    const version =
      db.prepare<[], { v: number | null }>('SELECT MAX(version) AS v FROM migrations').get()?.v ?? 0;
    if (version > known) {
      throw new MooringError(
        'failed',
        `${file} was written by a newer version of Mooring (history schema ${version}; this one knows up to ${known}). Mooring did not change it: use the newer version, or restore a backup made by this one.`,
      );
    }
    // Reads a page of a table too: a file damaged past its first page fails here rather than mid-sync.
    db.prepare('SELECT name FROM sources LIMIT 1').all();
    return { db, version };
  } catch (err) {
    db?.close();
    if (err instanceof MooringError) throw err;
    if (isSqliteDamaged(err)) throw unusable(file, `is damaged (SQLite says: ${(err as Error).message})`);
    throw err;
  }
}

/** A read-write connection in WAL mode, or null when SQLite can only read the file. */
function openWritable(file: string): Database.Database | null {
  const db = openDatabase(file, { fileMustExist: true });
  if (db.readonly) {
    db.close();
    return null;
  }
  try {
    db.pragma('journal_mode = WAL');
    return db;
  } catch (err) {
    db.close();
    if (isSqliteReadOnly(err)) return null;
    throw err;
  }
}

/**
 * A new database made whole under another name and linked into place: no other process (a second
 * `mooring` started at the same moment, the app) ever sees it empty or half migrated, which would now
 * be an error, and two first starts cannot overwrite each other. Owner-only from its first byte.
 */
function createFresh(file: string, initialize: (db: Database.Database) => void): void {
  const dir = path.dirname(file);
  if (!canWrite(dir)) {
    throw new MooringError(
      'failed',
      `The home folder ${dir} is read-only and holds no history (${path.basename(file)}) yet, so Mooring cannot start one there. Make it writable, or choose another home with --home or MOORING_HOME.`,
    );
  }
  const tmp = path.join(dir, `.${path.basename(file)}.new-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    fs.closeSync(fs.openSync(tmp, 'wx', 0o600));
    const db = openDatabase(tmp, { fileMustExist: true });
    try {
      db.pragma('journal_mode = WAL');
      initialize(db);
    } finally {
      // The last connection to close checkpoints the WAL into the file and removes it.
      db.close();
    }
    try {
      fs.linkSync(tmp, file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return; // another process made it first: use theirs
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
      // No hard links on this file system (FAT, some network mounts): copying still never replaces one.
      try {
        fs.copyFileSync(tmp, file, fs.constants.COPYFILE_EXCL);
      } catch (copyErr) {
        if ((copyErr as NodeJS.ErrnoException).code !== 'EEXIST') throw copyErr;
      }
    }
  } finally {
    for (const leftover of [tmp, `${tmp}-wal`, `${tmp}-shm`]) fs.rmSync(leftover, { force: true });
  }
}
