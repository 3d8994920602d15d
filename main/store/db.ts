// Opening a project database with the pragmas every connection needs.
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';

export type { Db };

/**
 * Opens (creating if needed) a SQLite file with WAL, foreign keys on and synchronous=NORMAL: in WAL mode
 * NORMAL never corrupts the file on power loss, it can only lose the last transactions, which is the
 * right trade for an interactive editor. Migrations switch to FULL while they run.
 */
export function openDatabase(file: string, opts: { readonly?: boolean } = {}): Db {
  const db = new Database(file, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  // Another connection (an export, the CLI next to the app) may hold the write lock briefly.
  db.pragma('busy_timeout = 5000');
  if (!opts.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
  }
  db.pragma('foreign_keys = ON');
  return db;
}

/**
 * A read-only connection holding one read transaction, so a long export sees a single consistent
 * snapshot while the app keeps writing through its own connection (WAL lets both run).
 */
export function openSnapshot(file: string): { db: Db; close: () => void } {
  const db = openDatabase(file, { readonly: true });
  db.exec('BEGIN');
  // The snapshot starts at the first read, not at BEGIN.
  db.prepare('SELECT count(*) FROM sqlite_master').get();
  return {
    db,
    close: () => {
      if (db.inTransaction) db.exec('COMMIT');
      db.close();
    },
  };
}
