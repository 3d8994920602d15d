// Annotation rows: a mask as COCO compressed RLE (or a box only), its label, where it came from and
// whether it was accepted. Mutators are undoable inside a history step.
import type { Database } from 'better-sqlite3';
import { area as rleArea, toBbox, type Rle } from '../../common/rle/index.js';
import { StoreError } from './errors.js';
import { tracked, trackedInsert } from './history.js';
import { sql } from './sql.js';

export type AnnotationSource = 'manual' | 'auto' | 'imported';
export type AnnotationState = 'proposed' | 'accepted' | 'rejected';
/** COCO box: [x, y, width, height] in pixels of the displayed image. */
export type Bbox = [number, number, number, number];

/** One object on one image. */
export interface Annotation {
  id: number;
  imageId: number;
  categoryId: number;
  /** The mask (COCO compressed RLE, size [h, w]); null for a box-only annotation. */
  rle: Rle | null;
  /** [h, w] of the mask frame (the image as displayed). */
  size: [number, number];
  bbox: Bbox;
  /** Mask pixels; the box area for box-only annotations. */
  area: number;
  score: number | null;
  predictedIou: number | null;
  source: AnnotationSource;
  state: AnnotationState;
  iscrowd: boolean;
  /** Box-only, waiting for box-to-mask conversion. */
  boxOnly: boolean;
  /** The box annotation this mask was made from. */
  fromBoxId: number | null;
  createdAt: number;
  updatedAt: number;
  reviewedAt: number | null;
  reviewNote: string | null;
}

/** A new annotation: give `rle` for a mask, or `bbox` + `size` with no `rle` for a box-only one. */
export interface NewAnnotation {
  /** Keep this id when free (COCO import keeps the file's ids). */
  id?: number;
  imageId: number;
  categoryId: number;
  rle?: Rle | null;
  /** Required for box-only annotations; computed from the mask otherwise. */
  bbox?: Bbox;
  /** [h, w]; required for box-only annotations. */
  size?: [number, number];
  score?: number | null;
  predictedIou?: number | null;
  source: AnnotationSource;
  state?: AnnotationState;
  iscrowd?: boolean;
  fromBoxId?: number | null;
  now?: number;
}

/** Fields an edit may change. Giving `rle` recomputes bbox and area and clears box-only. */
export interface AnnotationPatch {
  id: number;
  categoryId?: number;
  rle?: Rle;
  score?: number | null;
  predictedIou?: number | null;
  state?: AnnotationState;
  reviewNote?: string | null;
  now?: number;
}

/** Raw row, as the SQL returns it. */
export interface AnnotationRow {
  id: number;
  image_id: number;
  category_id: number;
  rle_counts: string | null;
  rle_height: number;
  rle_width: number;
  bbox_x: number;
  bbox_y: number;
  bbox_w: number;
  bbox_h: number;
  area: number;
  score: number | null;
  predicted_iou: number | null;
  source: AnnotationSource;
  state: AnnotationState;
  iscrowd: number;
  box_only: number;
  from_box_id: number | null;
  created_at: number;
  updated_at: number;
  reviewed_at: number | null;
  review_note: string | null;
}

/** Maps a raw row to an Annotation. */
export function rowToAnnotation(r: AnnotationRow): Annotation {
  const size: [number, number] = [r.rle_height, r.rle_width];
  return {
    id: r.id,
    imageId: r.image_id,
    categoryId: r.category_id,
    rle: r.rle_counts === null ? null : { size, counts: r.rle_counts },
    size,
    bbox: [r.bbox_x, r.bbox_y, r.bbox_w, r.bbox_h],
    area: r.area,
    score: r.score,
    predictedIou: r.predicted_iou,
    source: r.source,
    state: r.state,
    iscrowd: r.iscrowd === 1,
    boxOnly: r.box_only === 1,
    fromBoxId: r.from_box_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    reviewedAt: r.reviewed_at ?? null,
    reviewNote: r.review_note ?? null,
  };
}

const STATES: readonly AnnotationState[] = ['proposed', 'accepted', 'rejected'];
const SOURCES: readonly AnnotationSource[] = ['manual', 'auto', 'imported'];

function imageSize(db: Database, imageId: number): [number, number] {
  const img = sql(db, 'SELECT width, height FROM images WHERE id = ?').get(imageId) as
    { width: number; height: number } | undefined;
  if (!img) throw new StoreError('NOT_FOUND', `image ${imageId} does not exist`);
  return [img.height, img.width];
}

function checkMask(rle: Rle, size: [number, number], what: string): void {
  if (rle.size[0] !== size[0] || rle.size[1] !== size[1]) {
    throw new StoreError(
      'INVALID_ARGUMENT',
      `${what}: mask size ${rle.size[0]}×${rle.size[1]} (h×w) does not match the image (${size[0]}×${size[1]})`,
    );
  }
}

/** The annotation with this id, or undefined. */
export function getAnnotation(db: Database, id: number): Annotation | undefined {
  const r = sql(db, 'SELECT * FROM annotations WHERE id = ?').get(id) as AnnotationRow | undefined;
  return r && rowToAnnotation(r);
}

/** Annotations of one image in id order, optionally only some states. */
export function listAnnotationsByImage(
  db: Database,
  args: { imageId: number; states?: AnnotationState[] },
): Annotation[] {
  const states = args.states ?? STATES;
  // SQL has no empty IN (): no states asked, no rows.
  if (states.length === 0) return [];
  const rows = sql(
    db,
    `SELECT * FROM annotations WHERE image_id = ? AND state IN (${states.map(() => '?').join(', ')}) ORDER BY id`,
  ).all(args.imageId, ...states) as AnnotationRow[];
  return rows.map(rowToAnnotation);
}

/** Raw rows of the given states ordered by (image, id), streamed (exports; never all in memory). */
export function* iterateAnnotationRows(
  db: Database,
  args: { states?: AnnotationState[] } = {},
): Generator<AnnotationRow> {
  const states = args.states ?? STATES;
  if (states.length === 0) return;
  // Not the cached statement: a generator left unfinished would keep it busy for every other caller.
  const stmt = db.prepare(
    `SELECT * FROM annotations WHERE state IN (${states.map(() => '?').join(', ')}) ORDER BY image_id, id`,
  );
  yield* stmt.iterate(...states) as Iterable<AnnotationRow>;
}

/** Counts per state, plus box-only and total. */
export function annotationCounts(db: Database): Record<AnnotationState | 'boxOnly' | 'total', number> {
  const out = { proposed: 0, accepted: 0, rejected: 0, boxOnly: 0, total: 0 };
  for (const r of sql(
    db,
    'SELECT state, box_only, count(*) AS n FROM annotations GROUP BY state, box_only',
  ).all() as { state: AnnotationState; box_only: number; n: number }[]) {
    out[r.state] += r.n;
    out.total += r.n;
    if (r.box_only) out.boxOnly += r.n;
  }
  return out;
}

/** Creates an annotation; bbox and area are computed from the mask. Returns it. */
export function createAnnotation(db: Database, a: NewAnnotation): Annotation {
  if (!SOURCES.includes(a.source))
    throw new StoreError('INVALID_ARGUMENT', `unknown source "${String(a.source)}"`);
  const state = a.state ?? 'accepted';
  if (!STATES.includes(state)) throw new StoreError('INVALID_ARGUMENT', `unknown state "${String(state)}"`);
  const size = a.size ?? imageSize(db, a.imageId);
  let bbox: Bbox;
  let area: number;
  if (a.rle) {
    checkMask(a.rle, size, 'new annotation');
    bbox = toBbox(a.rle) as Bbox;
    area = rleArea(a.rle);
  } else {
    if (
      !a.bbox ||
      a.bbox.length !== 4 ||
      a.bbox.some((v) => !Number.isFinite(v)) ||
      a.bbox[2] < 0 ||
      a.bbox[3] < 0
    ) {
      throw new StoreError(
        'INVALID_ARGUMENT',
        'a box-only annotation needs a bbox [x, y, w, h] with w, h ≥ 0',
      );
    }
    bbox = a.bbox;
    area = bbox[2] * bbox[3];
  }
  const now = a.now ?? Date.now();
  const idFree = a.id !== undefined && !sql(db, 'SELECT 1 FROM annotations WHERE id = ?').get(a.id);
  const id = trackedInsert(db, 'annotations', () =>
    Number(
      sql(
        db,
        `INSERT INTO annotations (id, image_id, category_id, rle_counts, rle_height, rle_width,
             bbox_x, bbox_y, bbox_w, bbox_h, area, score, predicted_iou, source, state, iscrowd, box_only,
             from_box_id, created_at, updated_at, reviewed_at)
           VALUES (@id, @imageId, @categoryId, @counts, @h, @w, @bx, @by, @bw, @bh, @area, @score, @predictedIou,
             @source, @state, @iscrowd, @boxOnly, @fromBoxId, @now, @now, @reviewedAt)`,
      ).run({
        id: idFree ? a.id : null,
        imageId: a.imageId,
        categoryId: a.categoryId,
        counts: a.rle ? a.rle.counts : null,
        h: size[0],
        w: size[1],
        bx: bbox[0],
        by: bbox[1],
        bw: bbox[2],
        bh: bbox[3],
        area,
        score: a.score ?? null,
        predictedIou: a.predictedIou ?? null,
        source: a.source,
        state,
        iscrowd: a.iscrowd ? 1 : 0,
        boxOnly: a.rle ? 0 : 1,
        fromBoxId: a.fromBoxId ?? null,
        now,
        reviewedAt: state === 'proposed' ? null : now,
      }).lastInsertRowid,
    ),
  );
  return getAnnotation(db, id)!;
}

/** Edits an annotation (mask, label, scores, state, note). Returns it. */
export function updateAnnotation(db: Database, p: AnnotationPatch): Annotation {
  const cur = getAnnotation(db, p.id);
  if (!cur) throw new StoreError('NOT_FOUND', `annotation ${p.id} does not exist`);
  if (p.state !== undefined && !STATES.includes(p.state)) {
    throw new StoreError('INVALID_ARGUMENT', `unknown state "${String(p.state)}"`);
  }
  const now = p.now ?? Date.now();
  let counts = cur.rle?.counts ?? null;
  let bbox = cur.bbox;
  let area = cur.area;
  if (p.rle) {
    checkMask(p.rle, cur.size, `annotation ${p.id}`);
    counts = p.rle.counts;
    bbox = toBbox(p.rle) as Bbox;
    area = rleArea(p.rle);
  }
  const state = p.state ?? cur.state;
  tracked(db, 'annotations', p.id, () =>
    sql(
      db,
      `UPDATE annotations SET category_id = @categoryId, rle_counts = @counts, bbox_x = @bx, bbox_y = @by,
           bbox_w = @bw, bbox_h = @bh, area = @area, score = @score, predicted_iou = @predictedIou, state = @state,
           box_only = @boxOnly, review_note = @note, updated_at = @now,
           reviewed_at = CASE WHEN @stateChanged THEN @now ELSE reviewed_at END
         WHERE id = @id`,
    ).run({
      id: p.id,
      categoryId: p.categoryId ?? cur.categoryId,
      counts,
      bx: bbox[0],
      by: bbox[1],
      bw: bbox[2],
      bh: bbox[3],
      area,
      score: p.score === undefined ? cur.score : p.score,
      predictedIou: p.predictedIou === undefined ? cur.predictedIou : p.predictedIou,
      state,
      boxOnly: counts === null ? 1 : 0,
      note: p.reviewNote === undefined ? cur.reviewNote : p.reviewNote,
      now,
      stateChanged: state !== cur.state && state !== 'proposed' ? 1 : 0,
    }),
  );
  return getAnnotation(db, p.id)!;
}

/** Accepts or rejects (or re-proposes) annotations. */
export function setAnnotationState(
  db: Database,
  args: { ids: number[]; state: AnnotationState; now?: number },
): void {
  for (const id of args.ids) updateAnnotation(db, { id, state: args.state, now: args.now });
}

/** Deletes annotations; masks made from a deleted box keep existing and lose the link. */
export function removeAnnotations(db: Database, args: { ids: number[] }): void {
  for (const id of args.ids) {
    // Record the links the foreign key would clear, so undo restores them too.
    const linked = sql(db, 'SELECT id FROM annotations WHERE from_box_id = ?').all(id) as { id: number }[];
    for (const l of linked) {
      tracked(db, 'annotations', l.id, () =>
        sql(db, 'UPDATE annotations SET from_box_id = NULL WHERE id = ?').run(l.id),
      );
    }
    tracked(db, 'annotations', id, () => sql(db, 'DELETE FROM annotations WHERE id = ?').run(id));
  }
}
