// Read-only listing queries the services need and the store does not (yet) offer: image lists with
// annotation counts, category filters, per-category counts, images touched by a history step. Plain
// `(db, args) => result` functions like the store's; nothing here writes.
import type { Database } from 'better-sqlite3';
import type { ImageStatus } from '../store/index.js';

export interface ImageSummaryRow {
  id: number;
  path: string;
  width: number;
  height: number;
  status: ImageStatus;
  accepted: number;
  proposed: number;
}

/** Images in id order with their accepted / proposed counts, filtered and paged, plus the total. */
export function listImageSummaries(
  db: Database,
  args: { status?: ImageStatus; categoryId?: number; offset: number; limit: number },
): { rows: ImageSummaryRow[]; total: number } {
  const where = `WHERE (@status IS NULL OR i.status = @status)
    AND (@categoryId IS NULL OR EXISTS (SELECT 1 FROM annotations c WHERE c.image_id = i.id
         AND c.category_id = @categoryId AND c.state IN ('accepted', 'proposed')))`;
  const params = { status: args.status ?? null, categoryId: args.categoryId ?? null };
  const rows = db
    .prepare(
      `SELECT i.id, i.path, i.width, i.height, i.status,
         (SELECT count(*) FROM annotations a WHERE a.image_id = i.id AND a.state = 'accepted') AS accepted,
         (SELECT count(*) FROM annotations a WHERE a.image_id = i.id AND a.state = 'proposed') AS proposed
       FROM images i ${where} ORDER BY i.id LIMIT @limit OFFSET @offset`,
    )
    .all({ ...params, limit: args.limit, offset: args.offset }) as ImageSummaryRow[];
  const total = (db.prepare(`SELECT count(*) AS n FROM images i ${where}`).get(params) as { n: number }).n;
  return { rows, total };
}

/** One image's summary row, or undefined. */
export function imageSummary(db: Database, id: number): ImageSummaryRow | undefined {
  return db
    .prepare(
      `SELECT i.id, i.path, i.width, i.height, i.status,
         (SELECT count(*) FROM annotations a WHERE a.image_id = i.id AND a.state = 'accepted') AS accepted,
         (SELECT count(*) FROM annotations a WHERE a.image_id = i.id AND a.state = 'proposed') AS proposed
       FROM images i WHERE i.id = ?`,
    )
    .get(id) as ImageSummaryRow | undefined;
}

/** Distinct category ids among an image's live (accepted or proposed) annotations. */
export function imageCategoryIds(db: Database, imageId: number): number[] {
  return db
    .prepare(
      "SELECT DISTINCT category_id FROM annotations WHERE image_id = ? AND state IN ('accepted', 'proposed') ORDER BY category_id",
    )
    .pluck()
    .all(imageId) as number[];
}

/** Accepted annotations per category. */
export function acceptedByCategory(db: Database): { categoryId: number; count: number }[] {
  return db
    .prepare(
      "SELECT category_id AS categoryId, count(*) AS count FROM annotations WHERE state = 'accepted' GROUP BY category_id ORDER BY category_id",
    )
    .all() as { categoryId: number; count: number }[];
}

/** Ids of the annotations (any state) of a category. */
export function annotationIdsOfCategory(db: Database, categoryId: number): number[] {
  return db
    .prepare('SELECT id FROM annotations WHERE category_id = ? ORDER BY id')
    .pluck()
    .all(categoryId) as number[];
}

/** Images whose annotations or status a history step changed. */
export function imageIdsOfStep(db: Database, stepId: number): number[] {
  const rows = db
    .prepare('SELECT table_name, row_id, before_json, after_json FROM history_changes WHERE step_id = ?')
    .all(stepId) as {
    table_name: string;
    row_id: number;
    before_json: string | null;
    after_json: string | null;
  }[];
  const ids = new Set<number>();
  for (const r of rows) {
    if (r.table_name === 'images') ids.add(r.row_id);
    if (r.table_name !== 'annotations') continue;
    for (const j of [r.before_json, r.after_json]) {
      if (j === null) continue;
      const imageId = (JSON.parse(j) as { image_id?: unknown }).image_id;
      if (typeof imageId === 'number') ids.add(imageId);
    }
  }
  return [...ids].sort((a, b) => a - b);
}
