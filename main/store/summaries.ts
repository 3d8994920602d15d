// Read-only summaries the app's lists need: images with their annotation counts, per-category counts,
// and which images a history step touched. Same signatures as the services' former local queries.
import type { Database } from 'better-sqlite3';
import type { ImageStatus } from './images.js';
import { sql } from './sql.js';

/** An image with its accepted / proposed annotation counts. */
export interface ImageSummaryRow {
  id: number;
  path: string;
  width: number;
  height: number;
  status: ImageStatus;
  accepted: number;
  proposed: number;
}

const SUMMARY_COLUMNS = `i.id, i.path, i.width, i.height, i.status,
  (SELECT count(*) FROM annotations a WHERE a.image_id = i.id AND a.state = 'accepted') AS accepted,
  (SELECT count(*) FROM annotations a WHERE a.image_id = i.id AND a.state = 'proposed') AS proposed`;
const SUMMARY_WHERE = `WHERE (@status IS NULL OR i.status = @status)
  AND (@categoryId IS NULL OR EXISTS (SELECT 1 FROM annotations c WHERE c.image_id = i.id
       AND c.category_id = @categoryId AND c.state IN ('accepted', 'proposed')))`;

/** Images in id order with their counts, filtered by status and/or category and paged, plus the total. */
export function listImageSummaries(
  db: Database,
  args: { status?: ImageStatus; categoryId?: number; offset: number; limit: number },
): { rows: ImageSummaryRow[]; total: number } {
  const params = { status: args.status ?? null, categoryId: args.categoryId ?? null };
  const rows = sql(
    db,
    `SELECT ${SUMMARY_COLUMNS} FROM images i ${SUMMARY_WHERE} ORDER BY i.id LIMIT @limit OFFSET @offset`,
  ).all({ ...params, limit: args.limit, offset: args.offset }) as ImageSummaryRow[];
  const total = (sql(db, `SELECT count(*) AS n FROM images i ${SUMMARY_WHERE}`).get(params) as { n: number })
    .n;
  return { rows, total };
}

/** One image's summary row, or undefined. */
export function imageSummary(db: Database, id: number): ImageSummaryRow | undefined {
  return sql(db, `SELECT ${SUMMARY_COLUMNS} FROM images i WHERE i.id = ?`).get(id) as
    ImageSummaryRow | undefined;
}

/** Distinct category ids among an image's live (accepted or proposed) annotations. */
export function imageCategoryIds(db: Database, imageId: number): number[] {
  const rows = sql(
    db,
    "SELECT DISTINCT category_id AS id FROM annotations WHERE image_id = ? AND state IN ('accepted', 'proposed') ORDER BY category_id",
  ).all(imageId) as { id: number }[];
  return rows.map((r) => r.id);
}

/** Accepted annotations per category. */
export function acceptedByCategory(db: Database): { categoryId: number; count: number }[] {
  return sql(
    db,
    "SELECT category_id AS categoryId, count(*) AS count FROM annotations WHERE state = 'accepted' GROUP BY category_id ORDER BY category_id",
  ).all() as { categoryId: number; count: number }[];
}

/** Ids of the annotations (any state) of a category. */
export function annotationIdsOfCategory(db: Database, categoryId: number): number[] {
  const rows = sql(db, 'SELECT id FROM annotations WHERE category_id = ? ORDER BY id').all(categoryId) as {
    id: number;
  }[];
  return rows.map((r) => r.id);
}

/** Images whose annotations or status a history step changed. */
export function imageIdsOfStep(db: Database, stepId: number): number[] {
  const rows = sql(
    db,
    'SELECT table_name, row_id, before_json, after_json FROM history_changes WHERE step_id = ?',
  ).all(stepId) as {
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
