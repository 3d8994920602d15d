// The project's one settings row.
import type { Database } from 'better-sqlite3';
import { StoreError } from './errors.js';
import { sql } from './sql.js';

/** Project-wide settings. */
export interface ProjectSettings {
  /** Image root as stored: relative to the project folder when inside it, otherwise absolute. */
  root: string;
  activeModelId: string | null;
  /** Project format version the data was written for. */
  formatVersion: number;
  createdAt: number;
}

/** Reads the settings row. */
export function getSettings(db: Database): ProjectSettings {
  const r = sql(
    db,
    'SELECT root, active_model_id, format_version, created_at FROM project WHERE id = 1',
  ).get() as
    { root: string; active_model_id: string | null; format_version: number; created_at: number } | undefined;
  if (!r) throw new StoreError('NOT_A_PROJECT', `${db.name} has no project settings (was it initialised?)`);
  return {
    root: r.root,
    activeModelId: r.active_model_id,
    formatVersion: r.format_version,
    createdAt: r.created_at,
  };
}

/** Writes the settings row the first time. */
export function insertSettings(db: Database, s: ProjectSettings): void {
  sql(
    db,
    'INSERT INTO project (id, root, active_model_id, format_version, created_at) VALUES (1, ?, ?, ?, ?)',
  ).run(s.root, s.activeModelId, s.formatVersion, s.createdAt);
}

/** Chooses the model used for clicks and auto-annotation (null: none chosen). */
export function setActiveModel(db: Database, args: { modelId: string | null }): void {
  sql(db, 'UPDATE project SET active_model_id = ? WHERE id = 1').run(args.modelId);
}
