// Image rows. Paths are POSIX, relative to the project root.
import type { Database } from 'better-sqlite3';
import { StoreError } from './errors.js';
import { tracked } from './history.js';
import { checkRelativePath } from './paths.js';
import { sql } from './sql.js';

/** Where an image stands in the labeling workflow. */
export type ImageStatus = 'new' | 'in_progress' | 'done' | 'skipped';
const IMAGE_STATUSES: readonly ImageStatus[] = ['new', 'in_progress', 'done', 'skipped'];

/** One image of the project. */
export interface ImageRecord {
  id: number;
  /** POSIX path relative to the project root. */
  path: string;
  /** sha256 of the content (hex); null for an image known only from an imported COCO file. */
  sha256: string | null;
  /** Width as displayed (after EXIF orientation); masks are in this frame. */
  width: number;
  height: number;
  /** EXIF orientation 1-8 of the file. */
  orientation: number;
  status: ImageStatus;
  /** The file was not found at `path` on the last scan. */
  missing: boolean;
  fileSize: number | null;
  mtimeMs: number | null;
  addedAt: number;
  reviewedAt: number | null;
}

/** Fields of a new image. */
export interface NewImage {
  /** Keep this id when free (COCO import keeps the file's ids). */
  id?: number;
  path: string;
  sha256: string | null;
  width: number;
  height: number;
  orientation?: number;
  status?: ImageStatus;
  missing?: boolean;
  fileSize?: number | null;
  mtimeMs?: number | null;
  addedAt?: number;
}

interface ImageRow {
  id: number;
  path: string;
  sha256: string | null;
  width: number;
  height: number;
  orientation: number;
  status: ImageStatus;
  missing: number;
  file_size: number | null;
  mtime_ms: number | null;
  added_at: number;
  reviewed_at: number | null;
}

function toImage(r: ImageRow): ImageRecord {
  return {
    id: r.id,
    path: r.path,
    sha256: r.sha256,
    width: r.width,
    height: r.height,
    orientation: r.orientation,
    status: r.status,
    missing: r.missing === 1,
    fileSize: r.file_size,
    mtimeMs: r.mtime_ms,
    addedAt: r.added_at,
    reviewedAt: r.reviewed_at ?? null,
  };
}

/** The image with this id, or undefined. */
export function getImage(db: Database, id: number): ImageRecord | undefined {
  const r = sql(db, 'SELECT * FROM images WHERE id = ?').get(id) as ImageRow | undefined;
  return r && toImage(r);
}

/** The image at this relative path, or undefined. */
export function getImageByPath(db: Database, path: string): ImageRecord | undefined {
  const r = sql(db, 'SELECT * FROM images WHERE path = ?').get(path) as ImageRow | undefined;
  return r && toImage(r);
}

/** The image with this content hash, or undefined. */
export function getImageBySha256(db: Database, sha256: string): ImageRecord | undefined {
  const r = sql(db, 'SELECT * FROM images WHERE sha256 = ?').get(sha256) as ImageRow | undefined;
  return r && toImage(r);
}

/** Images ordered by id, optionally filtered; paged with limit/afterId. */
export function listImages(
  db: Database,
  args: { status?: ImageStatus; missing?: boolean; afterId?: number; limit?: number } = {},
): ImageRecord[] {
  const rows = sql(
    db,
    `SELECT * FROM images WHERE id > @afterId
         AND (@status IS NULL OR status = @status) AND (@missing IS NULL OR missing = @missing)
       ORDER BY id LIMIT @limit`,
  ).all({
    afterId: args.afterId ?? -1,
    status: args.status ?? null,
    missing: args.missing === undefined ? null : args.missing ? 1 : 0,
    limit: args.limit ?? -1,
  }) as ImageRow[];
  return rows.map(toImage);
}

/** Every image, streamed in id order (for exports; does not hold them all in memory). */
export function* iterateImages(db: Database): Generator<ImageRecord> {
  for (const r of db.prepare('SELECT * FROM images ORDER BY id').iterate() as Iterable<ImageRow>)
    yield toImage(r);
}

/** Number of images per status, plus missing and total. */
export function imageCounts(db: Database): Record<ImageStatus | 'missing' | 'total', number> {
  const out = { new: 0, in_progress: 0, done: 0, skipped: 0, missing: 0, total: 0 };
  for (const r of sql(
    db,
    'SELECT status, missing, count(*) AS n FROM images GROUP BY status, missing',
  ).all() as {
    status: ImageStatus;
    missing: number;
    n: number;
  }[]) {
    out[r.status] += r.n;
    out.total += r.n;
    if (r.missing) out.missing += r.n;
  }
  return out;
}

/** Inserts an image; returns its id. */
export function insertImage(db: Database, img: NewImage): number {
  checkRelativePath(img.path);
  const idFree = img.id !== undefined && !sql(db, 'SELECT 1 FROM images WHERE id = ?').get(img.id);
  const info = sql(
    db,
    `INSERT INTO images (id, path, sha256, width, height, orientation, status, missing, file_size, mtime_ms, added_at)
       VALUES (@id, @path, @sha256, @width, @height, @orientation, @status, @missing, @fileSize, @mtimeMs, @addedAt)`,
  ).run({
    id: idFree ? img.id : null,
    path: img.path,
    sha256: img.sha256,
    width: img.width,
    height: img.height,
    orientation: img.orientation ?? 1,
    status: img.status ?? 'new',
    missing: img.missing ? 1 : 0,
    fileSize: img.fileSize ?? null,
    mtimeMs: img.mtimeMs ?? null,
    addedAt: img.addedAt ?? Date.now(),
  });
  return Number(info.lastInsertRowid);
}

/** Updates the file facts of an image (after a re-scan: moved, changed, missing, found again). */
export function updateImageFile(
  db: Database,
  args: {
    id: number;
    path?: string;
    sha256?: string | null;
    width?: number;
    height?: number;
    orientation?: number;
    missing?: boolean;
    fileSize?: number | null;
    mtimeMs?: number | null;
  },
): void {
  const cur = getImage(db, args.id);
  if (!cur) throw new StoreError('NOT_FOUND', `image ${args.id} does not exist`);
  if (args.path !== undefined) checkRelativePath(args.path);
  sql(
    db,
    `UPDATE images SET path = @path, sha256 = @sha256, width = @width, height = @height, orientation = @orientation,
       missing = @missing, file_size = @fileSize, mtime_ms = @mtimeMs WHERE id = @id`,
  ).run({
    id: args.id,
    path: args.path ?? cur.path,
    sha256: args.sha256 === undefined ? cur.sha256 : args.sha256,
    width: args.width ?? cur.width,
    height: args.height ?? cur.height,
    orientation: args.orientation ?? cur.orientation,
    missing: (args.missing ?? cur.missing) ? 1 : 0,
    fileSize: args.fileSize === undefined ? cur.fileSize : args.fileSize,
    mtimeMs: args.mtimeMs === undefined ? cur.mtimeMs : args.mtimeMs,
  });
}

/** Sets the workflow status (undoable inside a history step). */
export function setImageStatus(db: Database, args: { id: number; status: ImageStatus; now?: number }): void {
  if (!IMAGE_STATUSES.includes(args.status)) {
    throw new StoreError('INVALID_ARGUMENT', `unknown image status "${String(args.status)}"`);
  }
  tracked(db, 'images', args.id, () => {
    const done = args.status === 'done';
    const info = sql(
      db,
      'UPDATE images SET status = ?, reviewed_at = CASE WHEN ? THEN ? ELSE reviewed_at END WHERE id = ?',
    ).run(args.status, done ? 1 : 0, args.now ?? Date.now(), args.id);
    if (info.changes === 0) throw new StoreError('NOT_FOUND', `image ${args.id} does not exist`);
  });
}

/** Removes an image and (by cascade) its annotations. Not undoable. */
export function removeImage(db: Database, id: number): void {
  sql(db, 'DELETE FROM images WHERE id = ?').run(id);
}

/** Id, path and missing flag of every image (light rows for re-scans). */
export function listImagePaths(db: Database): { id: number; path: string; missing: boolean }[] {
  return (
    sql(db, 'SELECT id, path, missing FROM images ORDER BY id').all() as {
      id: number;
      path: string;
      missing: number;
    }[]
  ).map((r) => ({ id: r.id, path: r.path, missing: r.missing === 1 }));
}
