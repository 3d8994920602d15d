// Edit history that survives a restart. A user action runs inside `step(db, label, fn)`; every tracked
// write in it (the mutators of annotations, categories and image status) records the whole row before
// and after. Undo writes the "before" rows back in reverse order, redo the "after" rows in order. Steps
// marked undone form the redo stack, which a new step clears. Writes outside a step (imports, background
// jobs) are not undoable by design: they are not user actions.
import type { Database } from 'better-sqlite3';
import { StoreError } from './errors.js';
import { sql } from './sql.js';

/** Tables whose rows a history step may hold. */
export type TrackedTable = 'annotations' | 'categories' | 'images';

/** One undoable user action. */
export interface HistoryStep {
  id: number;
  label: string;
  undone: boolean;
  createdAt: number;
  changes: number;
}

type Row = Record<string, unknown>;

interface ActiveStep {
  id: number;
  seq: number;
}

const active = new WeakMap<Database, ActiveStep>();
const columnsCache = new WeakMap<Database, Map<TrackedTable, Set<string>>>();

function columns(db: Database, table: TrackedTable): Set<string> {
  let byTable = columnsCache.get(db);
  if (!byTable) columnsCache.set(db, (byTable = new Map()));
  let cols = byTable.get(table);
  if (!cols) {
    cols = new Set((db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name));
    byTable.set(table, cols);
  }
  return cols;
}

function readRow(db: Database, table: TrackedTable, id: number): Row | undefined {
  return sql(db, `SELECT * FROM ${table} WHERE id = ?`).get(id) as Row | undefined;
}

/**
 * Runs a tracked write: reads the row before, runs `write`, reads it after and, when a step is open,
 * records both. Used by the store's mutators; returns what `write` returns.
 */
export function tracked<T>(db: Database, table: TrackedTable, id: number, write: () => T): T {
  const step = active.get(db);
  if (!step) return write();
  const before = readRow(db, table, id);
  const result = write();
  const after = readRow(db, table, id);
  if (before === undefined && after === undefined) return result;
  sql(
    db,
    'INSERT INTO history_changes (step_id, seq, table_name, row_id, before_json, after_json) VALUES (?, ?, ?, ?, ?, ?)',
  ).run(
    step.id,
    step.seq++,
    table,
    id,
    before ? JSON.stringify(before) : null,
    after ? JSON.stringify(after) : null,
  );
  return result;
}

/** Like `tracked` for a row that does not exist yet: `write` returns the new id. */
export function trackedInsert(db: Database, table: TrackedTable, write: () => number): number {
  const step = active.get(db);
  const id = write();
  if (step) {
    const after = readRow(db, table, id);
    sql(
      db,
      'INSERT INTO history_changes (step_id, seq, table_name, row_id, before_json, after_json) VALUES (?, ?, ?, ?, NULL, ?)',
    ).run(step.id, step.seq++, table, id, JSON.stringify(after));
  }
  return id;
}

/**
 * Runs one user action as one undoable step, in one transaction. Clears the redo stack. A step that
 * changed nothing leaves no trace. Steps do not nest: a step inside a step joins the outer one.
 */
export function step<T>(db: Database, args: { label: string; now?: number }, fn: () => T): T {
  if (active.has(db)) return fn();
  return db.transaction(() => {
    sql(db, 'DELETE FROM history_steps WHERE undone = 1').run();
    const id = Number(
      sql(db, 'INSERT INTO history_steps (label, created_at) VALUES (?, ?)').run(
        args.label,
        args.now ?? Date.now(),
      ).lastInsertRowid,
    );
    active.set(db, { id, seq: 0 });
    try {
      const result = fn();
      if (active.get(db)!.seq === 0) sql(db, 'DELETE FROM history_steps WHERE id = ?').run(id);
      return result;
    } finally {
      active.delete(db);
    }
  })();
}

function applyRow(db: Database, table: TrackedTable, id: number, target: Row | null): void {
  const current = readRow(db, table, id);
  if (target === null) {
    if (current) sql(db, `DELETE FROM ${table} WHERE id = ?`).run(id);
    return;
  }
  const known = columns(db, table);
  // Rows recorded by an older schema may lack newer columns; those keep their current/default value.
  const cols = Object.keys(target).filter((c) => known.has(c));
  if (current) {
    const sets = cols.filter((c) => c !== 'id').map((c) => `"${c}" = @${c}`);
    if (sets.length) sql(db, `UPDATE ${table} SET ${sets.join(', ')} WHERE id = @id`).run(target);
  } else {
    sql(
      db,
      `INSERT INTO ${table} (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`,
    ).run(target);
  }
}

interface ChangeRow {
  table_name: TrackedTable;
  row_id: number;
  before_json: string | null;
  after_json: string | null;
}

function changesOf(db: Database, stepId: number): ChangeRow[] {
  return sql(
    db,
    'SELECT table_name, row_id, before_json, after_json FROM history_changes WHERE step_id = ? ORDER BY seq',
  ).all(stepId) as ChangeRow[];
}

function toStep(row: {
  id: number;
  label: string;
  undone: number;
  created_at: number;
  changes: number;
}): HistoryStep {
  return {
    id: row.id,
    label: row.label,
    undone: row.undone === 1,
    createdAt: row.created_at,
    changes: row.changes,
  };
}

const STEP_SELECT =
  'SELECT s.id, s.label, s.undone, s.created_at, (SELECT count(*) FROM history_changes c WHERE c.step_id = s.id) AS changes FROM history_steps s';

/** The step `undo` would revert, if any. */
export function peekUndo(db: Database): HistoryStep | null {
  const row = sql(db, `${STEP_SELECT} WHERE s.undone = 0 ORDER BY s.id DESC LIMIT 1`).get() as
    Parameters<typeof toStep>[0] | undefined;
  return row ? toStep(row) : null;
}

/** The step `redo` would re-apply, if any. */
export function peekRedo(db: Database): HistoryStep | null {
  const row = sql(db, `${STEP_SELECT} WHERE s.undone = 1 ORDER BY s.id ASC LIMIT 1`).get() as
    Parameters<typeof toStep>[0] | undefined;
  return row ? toStep(row) : null;
}

// A step can stop applying when writes outside the history changed its rows since (e.g. its image was
// removed): the transaction rolls back and the caller gets a typed error naming the step.
function conflictsAsStoreErrors(what: 'undo' | 'redo', s: HistoryStep, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new StoreError(
      'HISTORY_CONFLICT',
      `cannot ${what} "${s.label}": the data changed outside the edit history (${(err as Error).message})`,
      { cause: err },
    );
  }
}

/** Reverts the latest step; returns it, or null when there is nothing to undo. */
export function undo(db: Database): HistoryStep | null {
  if (active.has(db)) throw new StoreError('HISTORY_CONFLICT', 'cannot undo inside an edit step');
  return db.transaction(() => {
    const s = peekUndo(db);
    if (!s) return null;
    const changes = changesOf(db, s.id);
    conflictsAsStoreErrors('undo', s, () => {
      for (let i = changes.length - 1; i >= 0; i--) {
        const c = changes[i]!;
        applyRow(
          db,
          c.table_name,
          c.row_id,
          c.before_json === null ? null : (JSON.parse(c.before_json) as Row),
        );
      }
    });
    sql(db, 'UPDATE history_steps SET undone = 1 WHERE id = ?').run(s.id);
    return { ...s, undone: true };
  })();
}

/** Re-applies the step undone last; returns it, or null when there is nothing to redo. */
export function redo(db: Database): HistoryStep | null {
  if (active.has(db)) throw new StoreError('HISTORY_CONFLICT', 'cannot redo inside an edit step');
  return db.transaction(() => {
    const s = peekRedo(db);
    if (!s) return null;
    conflictsAsStoreErrors('redo', s, () => {
      for (const c of changesOf(db, s.id)) {
        applyRow(
          db,
          c.table_name,
          c.row_id,
          c.after_json === null ? null : (JSON.parse(c.after_json) as Row),
        );
      }
    });
    sql(db, 'UPDATE history_steps SET undone = 0 WHERE id = ?').run(s.id);
    return { ...s, undone: false };
  })();
}

/** Steps, newest first (undone ones included, flagged). */
export function listSteps(db: Database, args: { limit?: number } = {}): HistoryStep[] {
  return (
    sql(db, `${STEP_SELECT} ORDER BY s.id DESC LIMIT ?`).all(args.limit ?? 100) as Parameters<
      typeof toStep
    >[0][]
  ).map(toStep);
}

/** Forgets all history (e.g. after a bulk import that rewrote the rows). */
export function clearHistory(db: Database): void {
  sql(db, 'DELETE FROM history_steps').run();
}
