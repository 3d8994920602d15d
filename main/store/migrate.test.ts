import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from './db.js';
import { APPLICATION_ID, loadMigrations, migrate, schemaVersion } from './migrate.js';
import { initProject, openProject, PROJECT_FILE } from './project.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'maskroom-migrate-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const tableNames = (db: Database.Database) =>
  (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[]
  ).filter((n) => !n.startsWith('sqlite_'));

describe('migrations', () => {
  it('are numbered, ordered and start with 0010_init', () => {
    const ms = loadMigrations();
    expect(ms[0]!.version).toBe(10);
    expect(ms[0]!.name).toBe('init');
    expect(ms.map((m) => m.version)).toEqual([...ms.map((m) => m.version)].sort((a, b) => a - b));
  });

  it('0010 turns a new empty file into the initial schema without a backup', async () => {
    const file = path.join(dir, 'a.db');
    const db = openDatabase(file);
    const r = await migrate(db, { target: 10 });
    expect(r).toEqual({ from: 0, to: 10, applied: [10], backup: null });
    expect(schemaVersion(db)).toBe(10);
    expect(db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    expect(tableNames(db)).toEqual(
      [
        'annotations',
        'categories',
        'history_changes',
        'history_steps',
        'images',
        'job_items',
        'jobs',
        'project',
      ].sort(),
    );
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });

  it('0020 migrates rows written at 0010: backfills review times, adds the review indexes, backs up first', async () => {
    const file = path.join(dir, 'b.db');
    const db = openDatabase(file);
    await migrate(db, { target: 10 });
    // Rows exactly as the 0010 schema stores them.
    db.exec(`
      INSERT INTO project VALUES (1, '.', NULL, 1, 1000);
      INSERT INTO images (id, path, sha256, width, height, status, added_at) VALUES
        (1, 'a.jpg', 'aa', 4, 3, 'done', 500), (2, 'b.jpg', 'bb', 4, 3, 'new', 600), (3, 'c.jpg', 'cc', 4, 3, 'done', 700);
      INSERT INTO categories (id, name, color) VALUES (1, 'cat', '#ff0000');
      INSERT INTO annotations (id, image_id, category_id, rle_counts, rle_height, rle_width, bbox_x, bbox_y, bbox_w,
        bbox_h, area, source, state, created_at, updated_at) VALUES
        (1, 1, 1, '0<', 3, 4, 0, 0, 4, 3, 12, 'manual', 'accepted', 100, 2000),
        (2, 1, 1, '0<', 3, 4, 0, 0, 4, 3, 12, 'auto', 'proposed', 100, 3000),
        (3, 2, 1, '0<', 3, 4, 0, 0, 4, 3, 12, 'auto', 'rejected', 100, 4000);
    `);
    const r = await migrate(db);
    expect(r.from).toBe(10);
    expect(r.applied).toContain(20);
    expect(r.backup).toBe(`${file}.bak-v10`);
    expect(existsSync(r.backup!)).toBe(true);
    const ann = db.prepare('SELECT id, reviewed_at FROM annotations ORDER BY id').all();
    expect(ann).toEqual([
      { id: 1, reviewed_at: 2000 },
      { id: 2, reviewed_at: null },
      { id: 3, reviewed_at: 4000 },
    ]);
    const imgs = db.prepare('SELECT id, reviewed_at FROM images ORDER BY id').all();
    expect(imgs).toEqual([
      { id: 1, reviewed_at: 3000 },
      { id: 2, reviewed_at: null },
      { id: 3, reviewed_at: 700 },
    ]);
    const idx = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'annotations_state_image'")
      .get();
    expect(idx).toBeTruthy();
    const plan = db
      .prepare("EXPLAIN QUERY PLAN SELECT id FROM annotations WHERE state = 'proposed' AND image_id = 1")
      .all() as { detail: string }[];
    expect(plan.map((p) => p.detail).join(' ')).toMatch(/annotations_state_image/);
    db.close();
    // The backup still holds the 0010 data.
    const bak = new Database(`${file}.bak-v10`, { readonly: true });
    expect(bak.pragma('user_version', { simple: true })).toBe(10);
    expect(bak.prepare('SELECT count(*) FROM annotations').pluck().get()).toBe(3);
    bak.close();
  });

  it('refuses a database from a newer Maskroom and leaves it untouched', async () => {
    const p = await initProject(dir);
    p.db.pragma('user_version = 9990');
    p.close();
    await expect(openProject(dir)).rejects.toMatchObject({
      code: 'DB_FROM_FUTURE',
      message: expect.stringMatching(/newer Maskroom \(schema version 9990/),
    });
    const db = new Database(path.join(dir, PROJECT_FILE), { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(9990);
    db.close();
  });

  it('refuses a SQLite file that is not a Maskroom project', async () => {
    const db = new Database(path.join(dir, PROJECT_FILE));
    db.exec('CREATE TABLE other (x)');
    db.close();
    await expect(openProject(dir)).rejects.toMatchObject({ code: 'NOT_A_PROJECT' });
  });

  it('rolls back every pending migration when one fails', async () => {
    const file = path.join(dir, 'c.db');
    const db = openDatabase(file);
    const good = loadMigrations();
    const bad = [
      ...good,
      { version: 9000, name: 'broken', sql: 'CREATE TABLE t (x); SELECT * FROM no_such_table;' },
    ];
    await expect(migrate(db, { migrations: bad })).rejects.toMatchObject({
      code: 'MIGRATION_FAILED',
      message: expect.stringMatching(/9000_broken/),
    });
    expect(schemaVersion(db)).toBe(0);
    expect(tableNames(db)).toEqual([]);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    db.close();
  });

  it('opening a current project changes nothing and makes no backup', async () => {
    (await initProject(dir)).close();
    const p = await openProject(dir);
    expect(p.migration.applied).toEqual([]);
    expect(p.migration.backup).toBeNull();
    expect(p.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(p.db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(p.db.pragma('synchronous', { simple: true })).toBe(1);
    p.close();
  });
});
