// COCO `instances.json` export, streamed: rows come from a read-only snapshot one at a time and the JSON
// goes out in chunks with backpressure, so a project with 100k annotations never sits in memory.
//
// iscrowd: pycocotools' annToRLE/annToMask decode a segmentation by its shape (list = polygons, dict with
// list counts = uncompressed RLE, dict with string counts = compressed RLE); iscrowd changes nothing
// there. It does matter to COCOeval, which treats crowd regions as "ignore". So every annotation is
// exported with iscrowd 0 (an individual object), RLE or polygons alike, except annotations imported
// with iscrowd 1, which keep it.
import { decode, type Rle } from '../../common/rle/index.js';
import { maskToCocoPolygons } from '../../common/geometry/index.js';
import type { AnnotationRow, AnnotationState, Project } from '../store/index.js';
import { FORMAT_VERSION, openSnapshot } from '../store/index.js';
import { annotationsQueries, categoriesQueries, imagesQueries } from '../store/index.js';
import { writePngMasks, type PngMasksReport } from './png-masks.js';
import { AtomicTextWriter } from './stream-writer.js';

/** Version of the COCO files Maskroom writes (in `info.format_version`). */
export const COCO_FORMAT_VERSION = 1;

/** Export choices. */
export interface CocoExportOptions {
  /** Segmentation as COCO compressed RLE (default) or polygons. */
  segmentation?: 'rle' | 'polygons';
  /** Export every annotation, not only accepted ones. */
  all?: boolean;
  /** Exactly these annotation states (overrides `all`); e.g. accepted + proposed for a review snapshot. */
  states?: AnnotationState[];
  /** Also write 16-bit instance-id PNG masks into this folder. */
  pngMasks?: string;
  onProgress?: (p: { phase: 'images' | 'annotations' | 'png-masks'; done: number; total: number }) => void;
  /** Date written in `info` (tests pin it). */
  now?: Date;
}

/** What was written. */
export interface CocoExportReport {
  file: string;
  bytes: number;
  images: number;
  categories: number;
  annotations: number;
  /** Box-only annotations, written with a bbox and no segmentation. */
  boxOnly: number;
  /** Masks too small for any polygon, written as RLE instead (polygons mode only). */
  rleFallbacks: number;
  pngMasks: PngMasksReport | null;
}

function segmentationJson(row: AnnotationRow, mode: 'rle' | 'polygons'): { json: string; fellBack: boolean } {
  const rle: Rle = { size: [row.rle_height, row.rle_width], counts: row.rle_counts! };
  if (mode === 'polygons') {
    const polys = maskToCocoPolygons(decode(rle), row.rle_height, row.rle_width);
    if (polys.length > 0) return { json: JSON.stringify(polys), fellBack: false };
  }
  return { json: JSON.stringify(rle), fellBack: mode === 'polygons' };
}

/** One annotation as COCO JSON text. */
function annotationJson(row: AnnotationRow, mode: 'rle' | 'polygons'): { json: string; fellBack: boolean } {
  const parts = [`"id":${row.id}`, `"image_id":${row.image_id}`, `"category_id":${row.category_id}`];
  let fellBack = false;
  if (row.rle_counts !== null) {
    const seg = segmentationJson(row, mode);
    fellBack = seg.fellBack;
    parts.push(`"segmentation":${seg.json}`);
  }
  parts.push(
    `"area":${row.area}`,
    `"bbox":${JSON.stringify([row.bbox_x, row.bbox_y, row.bbox_w, row.bbox_h])}`,
    `"iscrowd":${row.iscrowd}`,
  );
  if (row.score !== null) parts.push(`"score":${row.score}`);
  return { json: `{${parts.join(',')}}`, fellBack };
}

/**
 * Writes `outFile` (COCO instances JSON) from the project: every image, every category, and the
 * accepted annotations (all of them with `all`). The file appears atomically (temp file + rename).
 */
export async function exportCoco(
  project: Project,
  outFile: string,
  opts: CocoExportOptions = {},
): Promise<CocoExportReport> {
  const mode = opts.segmentation ?? 'rle';
  const states: AnnotationState[] =
    opts.states ?? (opts.all ? ['proposed', 'accepted', 'rejected'] : ['accepted']);
  const snap = openSnapshot(project.dbPath);
  const out = new AtomicTextWriter(outFile);
  const report: CocoExportReport = {
    file: outFile,
    bytes: 0,
    images: 0,
    categories: 0,
    annotations: 0,
    boxOnly: 0,
    rleFallbacks: 0,
    pngMasks: null,
  };
  try {
    const db = snap.db;
    const counts = imagesQueries.imageCounts(db);
    const annCounts = annotationsQueries.annotationCounts(db);
    const annTotal = states.reduce((n, s) => n + annCounts[s], 0);
    const now = opts.now ?? new Date();
    const info = {
      description: 'Exported by Maskroom',
      version: String(COCO_FORMAT_VERSION),
      format_version: COCO_FORMAT_VERSION,
      project_format_version: FORMAT_VERSION,
      segmentation: mode,
      states,
      year: now.getUTCFullYear(),
      date_created: now.toISOString(),
    };
    await out.write(`{"info":${JSON.stringify(info)},"licenses":[],"images":[`);
    for (const img of imagesQueries.iterateImages(db)) {
      const rec = { id: img.id, file_name: img.path, width: img.width, height: img.height };
      await out.write((report.images ? ',' : '') + JSON.stringify(rec));
      report.images++;
      if (report.images % 1000 === 0)
        opts.onProgress?.({ phase: 'images', done: report.images, total: counts.total });
    }
    await out.write('],"categories":[');
    for (const c of categoriesQueries.listCategories(db)) {
      const rec = { id: c.id, name: c.name, supercategory: c.supercategory ?? '' };
      await out.write((report.categories ? ',' : '') + JSON.stringify(rec));
      report.categories++;
    }
    await out.write('],"annotations":[');
    for (const row of annotationsQueries.iterateAnnotationRows(db, { states })) {
      const { json, fellBack } = annotationJson(row, mode);
      await out.write((report.annotations ? ',' : '') + json);
      report.annotations++;
      if (row.rle_counts === null) report.boxOnly++;
      if (fellBack) report.rleFallbacks++;
      if (report.annotations % 1000 === 0) {
        opts.onProgress?.({ phase: 'annotations', done: report.annotations, total: annTotal });
      }
    }
    await out.write(']}\n');
    await out.commit();
    report.bytes = out.bytes;
    if (opts.pngMasks) {
      report.pngMasks = await writePngMasks(db, opts.pngMasks, {
        states,
        onProgress: (done, total) => opts.onProgress?.({ phase: 'png-masks', done, total }),
      });
    }
    return report;
  } catch (err) {
    await out.abort();
    throw err;
  } finally {
    snap.close();
  }
}
