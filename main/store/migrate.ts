// Schema migrations: numbered SQL files in <repo>/migrations, applied in one transaction and tracked with
// PRAGMA user_version (which holds the number of the last applied file, e.g. 20 for 0020_review.sql).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from 'better-sqlite3';
import { StoreError } from './errors.js';

/** One migration file. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Marks a SQLite file as a Maskroom project ("MSKR"), so we never migrate someone else's database. */
export const APPLICATION_ID = 0x4d534b52;

const FILE_RE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/**
 * Finds the migrations folder by walking up from this module: it sits at the repository root both for
 * the TypeScript sources (main/store) and the compiled output (dist/main/store).
 */
export function migrationsDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'migrations');
    if (existsSync(path.join(candidate, '0010_init.sql'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new StoreError('MIGRATION_FAILED', 'cannot find the migrations folder (migrations/0010_init.sql)');
}

/** Reads and orders the migration files. */
export function loadMigrations(dir = migrationsDir()): Migration[] {
  const out: Migration[] = [];
  for (const file of readdirSync(dir)) {
    const m = FILE_RE.exec(file);
    if (!m) continue;
    out.push({ version: Number(m[1]), name: m[2]!, sql: readFileSync(path.join(dir, file), 'utf8') });
  }
  out.sort((a, b) => a.version - b.version);
  for (let i = 1; i < out.length; i++) {
    if (out[i]!.version === out[i - 1]!.version) {
      throw new StoreError('MIGRATION_FAILED', `two migrations share number ${out[i]!.version}`);
    }
  }
  return out;
}

/** What `migrate` did. */
export interface MigrationResult {
  from: number;
  to: number;
  applied: number[];
  /** Path of the backup copy made before migrating, when there was data to protect. */
  backup: string | null;
}

/** Schema version stored in the file (0 for a new file). */
export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings `db` to the newest schema (or to `target`). Refuses a database from a newer Maskroom and any
 * SQLite file that is not a Maskroom project. Before touching an existing project it writes a backup
 * copy `<file>.bak-v<N>` (N = version before migrating). All pending migrations run in one transaction
 * with synchronous=FULL, so a crash leaves either the old or the new schema, never a mix.
 */
export async function migrate(
  db: Database,
  opts: { migrations?: Migration[]; target?: number } = {},
): Promise<MigrationResult> {
  const migrations = opts.migrations ?? loadMigrations();
  const latest = migrations.at(-1)?.version ?? 0;
  const target = opts.target ?? latest;
  const from = schemaVersion(db);
  if (from > latest) {
    throw new StoreError(
      'DB_FROM_FUTURE',
      `${db.name} was written by a newer Maskroom (schema version ${from}; this version knows up to ${latest}). ` +
        'Update Maskroom to open it; the file was not changed.',
    );
  }
  const appId = db.pragma('application_id', { simple: true }) as number;
  const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as {
    n: number;
  };
  if (from === 0 && tables.n > 0 && appId !== APPLICATION_ID) {
    throw new StoreError('NOT_A_PROJECT', `${db.name} is a SQLite database but not a Maskroom project`);
  }
  if (from > 0 && appId !== APPLICATION_ID) {
    throw new StoreError('NOT_A_PROJECT', `${db.name} is not a Maskroom project (application_id ${appId})`);
  }
  const pending = migrations.filter((m) => m.version > from && m.version <= target);
  if (pending.length === 0) return { from, to: from, applied: [], backup: null };

  let backup: string | null = null;
  if (from > 0 && db.name !== ':memory:' && db.name !== '') {
    backup = `${db.name}.bak-v${from}`;
    await db.backup(backup);
  }

  // Foreign keys cannot be toggled inside a transaction; migrations that rebuild tables need them off,
  // and foreign_key_check below makes sure they leave no dangling reference.
  const fk = db.pragma('foreign_keys', { simple: true }) as number;
  const sync = db.pragma('synchronous', { simple: true }) as number;
  db.pragma('foreign_keys = OFF');
  db.pragma('synchronous = FULL');
  try {
    db.exec('BEGIN IMMEDIATE');
    try {
      for (const m of pending) {
        try {
          db.exec(m.sql);
        } catch (err) {
          throw new StoreError(
            'MIGRATION_FAILED',
            `migration ${String(m.version).padStart(4, '0')}_${m.name} failed: ${(err as Error).message}`,
            { cause: err },
          );
        }
        db.pragma(`user_version = ${m.version}`);
      }
      const bad = db.pragma('foreign_key_check') as unknown[];
      if (bad.length > 0) {
        throw new StoreError('MIGRATION_FAILED', `migrations left ${bad.length} broken foreign key(s)`);
      }
      db.pragma(`application_id = ${APPLICATION_ID}`);
      db.exec('COMMIT');
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw err;
    }
  } finally {
    db.pragma(`foreign_keys = ${fk ? 'ON' : 'OFF'}`);
    db.pragma(`synchronous = ${sync}`);
  }
  return { from, to: pending.at(-1)!.version, applied: pending.map((m) => m.version), backup };
}
