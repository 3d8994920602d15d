// Categories (labels). Names are unique; a keyboard number 0-9 may pick one.
import type { Database } from 'better-sqlite3';
import { StoreError } from './errors.js';
import { tracked, trackedInsert } from './history.js';
import { sql } from './sql.js';

/** A label annotations can carry. */
export interface Category {
  id: number;
  name: string;
  /** CSS colour, `#rrggbb`. */
  color: string;
  supercategory: string | null;
  /** Keyboard number 0-9, or null. */
  hotkey: number | null;
}

/** Fields of a new category; the colour defaults to one derived from the name. */
export interface NewCategory {
  /** Keep this id when free (COCO import keeps the file's ids). */
  id?: number;
  name: string;
  color?: string;
  supercategory?: string | null;
  hotkey?: number | null;
}

// A stable colour per name, so the same label looks the same across projects.
function colorFor(name: string): string {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  const hue = (h >>> 0) % 360;
  const f = (n: number) => {
    const k = (n + hue / 30) % 12;
    const c = 0.5 - 0.35 * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(c * 255)
      .toString(16)
      .padStart(2, '0');
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}

function check(c: { name?: string; color?: string; hotkey?: number | null }): void {
  if (c.name !== undefined && c.name.trim().length === 0) {
    throw new StoreError('INVALID_ARGUMENT', 'a category name cannot be empty');
  }
  if (c.color !== undefined && !/^#[0-9a-fA-F]{6}$/.test(c.color)) {
    throw new StoreError('INVALID_ARGUMENT', `category colour "${c.color}" is not #rrggbb`);
  }
  if (c.hotkey != null && !(Number.isInteger(c.hotkey) && c.hotkey >= 0 && c.hotkey <= 9)) {
    throw new StoreError('INVALID_ARGUMENT', `category hotkey ${c.hotkey} is not a number 0-9`);
  }
}

/** All categories by id. */
export function listCategories(db: Database): Category[] {
  return sql(
    db,
    'SELECT id, name, color, supercategory, hotkey FROM categories ORDER BY id',
  ).all() as Category[];
}

/** The category with this id, or undefined. */
export function getCategory(db: Database, id: number): Category | undefined {
  return sql(db, 'SELECT id, name, color, supercategory, hotkey FROM categories WHERE id = ?').get(id) as
    Category | undefined;
}

/** The category with this name, or undefined. */
export function getCategoryByName(db: Database, name: string): Category | undefined {
  return sql(db, 'SELECT id, name, color, supercategory, hotkey FROM categories WHERE name = ?').get(name) as
    Category | undefined;
}

/** Creates a category (undoable inside a history step); a taken name or hotkey is a CONSTRAINT error. */
export function createCategory(db: Database, c: NewCategory): Category {
  check(c);
  if (getCategoryByName(db, c.name))
    throw new StoreError('CONSTRAINT', `category "${c.name}" already exists`);
  if (c.hotkey != null) {
    const other = sql(db, 'SELECT name FROM categories WHERE hotkey = ?').get(c.hotkey) as
      { name: string } | undefined;
    if (other) throw new StoreError('CONSTRAINT', `hotkey ${c.hotkey} is already used by "${other.name}"`);
  }
  const idFree = c.id !== undefined && !getCategory(db, c.id);
  const id = trackedInsert(db, 'categories', () =>
    Number(
      sql(db, 'INSERT INTO categories (id, name, color, supercategory, hotkey) VALUES (?, ?, ?, ?, ?)').run(
        idFree ? c.id : null,
        c.name,
        c.color ?? colorFor(c.name),
        c.supercategory ?? null,
        c.hotkey ?? null,
      ).lastInsertRowid,
    ),
  );
  return getCategory(db, id)!;
}

/** The category with this name, created when absent. */
export function ensureCategory(db: Database, c: NewCategory): Category {
  return getCategoryByName(db, c.name) ?? createCategory(db, c);
}

/** Changes name, colour, supercategory or hotkey (undoable inside a history step). */
export function updateCategory(
  db: Database,
  args: { id: number; name?: string; color?: string; supercategory?: string | null; hotkey?: number | null },
): Category {
  check(args);
  const cur = getCategory(db, args.id);
  if (!cur) throw new StoreError('NOT_FOUND', `category ${args.id} does not exist`);
  const next = {
    name: args.name ?? cur.name,
    color: args.color ?? cur.color,
    supercategory: args.supercategory === undefined ? cur.supercategory : args.supercategory,
    hotkey: args.hotkey === undefined ? cur.hotkey : args.hotkey,
  };
  const clash = sql(
    db,
    'SELECT name FROM categories WHERE id <> ? AND (name = ? OR (hotkey IS NOT NULL AND hotkey = ?))',
  ).get(args.id, next.name, next.hotkey) as { name: string } | undefined;
  if (clash) throw new StoreError('CONSTRAINT', `name or hotkey already used by category "${clash.name}"`);
  tracked(db, 'categories', args.id, () =>
    sql(db, 'UPDATE categories SET name = ?, color = ?, supercategory = ?, hotkey = ? WHERE id = ?').run(
      next.name,
      next.color,
      next.supercategory,
      next.hotkey,
      args.id,
    ),
  );
  return getCategory(db, args.id)!;
}

/** Deletes a category (undoable inside a history step); refused while annotations use it. */
export function removeCategory(db: Database, id: number): void {
  const used = sql(db, 'SELECT count(*) AS n FROM annotations WHERE category_id = ?').get(id) as {
    n: number;
  };
  if (used.n > 0) {
    throw new StoreError(
      'CONSTRAINT',
      `category ${id} is used by ${used.n} annotation(s); reassign or delete them first`,
    );
  }
  tracked(db, 'categories', id, () => sql(db, 'DELETE FROM categories WHERE id = ?').run(id));
}
