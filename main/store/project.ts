// Opening and creating projects: one SQLite file per project, `<projectDir>/maskroom.db`.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import * as annotations from './annotations.js';
import { bindModule, type Bound } from './bind.js';
import * as categories from './categories.js';
import { openDatabase } from './db.js';
import { StoreError } from './errors.js';
import * as history from './history.js';
import * as images from './images.js';
import * as jobs from './jobs.js';
import { migrate, type MigrationResult } from './migrate.js';
import * as settings from './settings.js';
import * as summaries from './summaries.js';

/** File name of the project database inside the project folder. */
export const PROJECT_FILE = 'maskroom.db';
/** Version of the project format written by this Maskroom. */
export const FORMAT_VERSION = 1;

/** An open project: its paths, its database and the query modules bound to it. */
export interface Project {
  /** Absolute project folder. */
  readonly dir: string;
  /** Absolute path of maskroom.db. */
  readonly dbPath: string;
  /** Absolute image root; image paths are relative to it. */
  readonly root: string;
  /** The connection, for the store's query functions (`(db, args) => result`). Nothing else runs SQL. */
  readonly db: Database;
  /** What opening did to the schema. */
  readonly migration: MigrationResult;
  readonly settings: Bound<typeof settings>;
  readonly images: Bound<typeof images>;
  readonly categories: Bound<typeof categories>;
  readonly annotations: Bound<typeof annotations>;
  readonly history: Bound<typeof history>;
  readonly jobs: Bound<typeof jobs>;
  /** Read-only list summaries (images with counts, per-category counts, images of a history step). */
  readonly summaries: Bound<typeof summaries>;
  /** Runs one user action as one undoable step (one transaction). */
  edit<T>(label: string, fn: () => T): T;
  /** Reverts the latest step; null when there is nothing to undo. */
  undo(): history.HistoryStep | null;
  /** Re-applies the latest undone step; null when there is nothing to redo. */
  redo(): history.HistoryStep | null;
  /** Runs `fn` in one transaction (not an undo step). */
  transaction<T>(fn: () => T): T;
  /** Absolute path of an image given its stored relative path. */
  imagePath(relative: string): string;
  close(): void;
}

function resolveRoot(dir: string, stored: string): string {
  return path.resolve(dir, stored);
}

function storedRoot(dir: string, root: string): string {
  const rel = path.relative(dir, root);
  const inside = rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
  return inside ? (rel === '' ? '.' : rel.split(path.sep).join('/')) : root;
}

function makeProject(dir: string, db: Database, migration: MigrationResult): Project {
  const s = settings.getSettings(db);
  const root = resolveRoot(dir, s.root);
  return {
    dir,
    dbPath: path.join(dir, PROJECT_FILE),
    root,
    db,
    migration,
    settings: bindModule(db, settings),
    images: bindModule(db, images),
    categories: bindModule(db, categories),
    annotations: bindModule(db, annotations),
    history: bindModule(db, history),
    jobs: bindModule(db, jobs),
    summaries: bindModule(db, summaries),
    edit: (label, fn) => history.step(db, { label }, fn),
    undo: () => history.undo(db),
    redo: () => history.redo(db),
    transaction: (fn) => db.transaction(fn)(),
    imagePath: (relative) => path.join(root, ...relative.split('/')),
    close: () => {
      if (db.open) db.close();
    },
  };
}

/**
 * Creates a project in `dir` (made if needed). `root` is the folder images are imported from (default:
 * the project folder itself). Refuses a folder that already holds a project.
 */
export async function initProject(dir: string, opts: { root?: string; now?: number } = {}): Promise<Project> {
  const absDir = path.resolve(dir);
  mkdirSync(absDir, { recursive: true });
  const file = path.join(absDir, PROJECT_FILE);
  if (existsSync(file))
    throw new StoreError('PROJECT_EXISTS', `${absDir} already holds a Maskroom project (${PROJECT_FILE})`);
  const root = path.resolve(absDir, opts.root ?? '.');
  // Built under a temporary name and renamed into place, so a crash mid-way never leaves a
  // maskroom.db without its settings row.
  const tmp = `${file}.init`;
  for (const f of [tmp, `${tmp}-wal`, `${tmp}-shm`]) rmSync(f, { force: true });
  const db = openDatabase(tmp);
  try {
    await migrate(db);
    settings.insertSettings(db, {
      root: storedRoot(absDir, root),
      activeModelId: null,
      formatVersion: FORMAT_VERSION,
      createdAt: opts.now ?? Date.now(),
    });
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  if (existsSync(file))
    throw new StoreError('PROJECT_EXISTS', `${absDir} already holds a Maskroom project (${PROJECT_FILE})`);
  renameSync(tmp, file);
  return openProject(absDir);
}

/**
 * Opens the project in `dir`, migrating its database to the current schema first (with a backup copy
 * `maskroom.db.bak-v<N>`). A database from a newer Maskroom is refused and left untouched.
 */
export async function openProject(dir: string): Promise<Project> {
  const absDir = path.resolve(dir);
  const file = path.join(absDir, PROJECT_FILE);
  if (!existsSync(file)) {
    throw new StoreError(
      'NOT_A_PROJECT',
      `no Maskroom project in ${absDir} (run "maskroom project init ${dir}")`,
    );
  }
  const db = openDatabase(file);
  try {
    const migration = await migrate(db);
    return makeProject(absDir, db, migration);
  } catch (err) {
    db.close();
    throw err;
  }
}
