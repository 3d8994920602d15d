// COCO instances import: everything is parsed and checked before anything is written, then written in
// one transaction, so a bad file changes nothing and a good one lands whole.
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { compress, decompress, fromPolygons, validate, type Rle } from '../../common/rle/index.js';
import {
  annotationsQueries,
  categoriesQueries,
  checkRelativePath,
  hashFile,
  imagesQueries,
  readImageHeader,
  type Bbox,
  type Project,
} from '../store/index.js';
import {
  cocoAnnotationSchema,
  cocoCategorySchema,
  cocoFileSchema,
  cocoImageSchema,
  describeIssue,
  type CocoAnnotation,
  type CocoCategory,
  type CocoImage,
} from './coco-schema.js';

/** A COCO file that cannot be imported; `problems` lists every record at fault (the message, the first ones). */
export class CocoImportError extends Error {
  override readonly name = 'CocoImportError';
  readonly code = 'COCO_INVALID';
  constructor(readonly problems: string[]) {
    super(
      problems.length === 1
        ? problems[0]!
        : `${problems.length} problems; first: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? '; …' : ''}`,
    );
  }
}

/** What an import did. */
export interface CocoImportReport {
  images: { matched: number; added: number; notOnDisk: number };
  categories: { matched: number; added: number };
  annotations: { masks: number; boxOnly: number };
}

const MAX_PROBLEMS = 50;

interface PlannedImage {
  coco: CocoImage;
  path: string;
  /** Existing project image it maps to. */
  existingId?: number;
  file?: {
    sha256: string;
    width: number;
    height: number;
    orientation: number;
    size: number;
    mtimeMs: number;
  };
}

interface PlannedAnnotation {
  coco: CocoAnnotation;
  rle: Rle | null;
  bbox: Bbox | undefined;
}

function label(kind: string, i: number, rec: unknown): string {
  const id = rec && typeof rec === 'object' && 'id' in rec ? (rec as { id: unknown }).id : undefined;
  return id === undefined ? `${kind}[${i}]` : `${kind}[${i}] (id ${JSON.stringify(id)})`;
}

function normalizeFileName(name: string): string {
  // COCO files made on Windows use backslashes; './a.jpg' and 'a.jpg' are the same image.
  return name.replace(/\\/g, '/').replace(/^(\.\/)+/, '');
}

/** Parses and checks the whole file against the project; throws CocoImportError listing the faults. */
async function plan(project: Project, text: string, source: string) {
  const problems: string[] = [];
  const fail = (msg: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push(msg);
  };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CocoImportError([
      `${source} is not valid JSON (truncated or corrupt?): ${(err as Error).message}`,
    ]);
  }
  const top = cocoFileSchema.safeParse(raw);
  if (!top.success) throw new CocoImportError([`${source}: ${describeIssue(top.error)}`]);

  const categories = new Map<number, CocoCategory>();
  const categoryNames = new Set<string>();
  top.data.categories.forEach((rec, i) => {
    const r = cocoCategorySchema.safeParse(rec);
    if (!r.success) return fail(`${label('categories', i, rec)}: ${describeIssue(r.error)}`);
    if (categories.has(r.data.id)) return fail(`${label('categories', i, rec)}: duplicate category id`);
    if (categoryNames.has(r.data.name))
      return fail(`${label('categories', i, rec)}: duplicate category name "${r.data.name}"`);
    categories.set(r.data.id, r.data);
    categoryNames.add(r.data.name);
  });

  const images = new Map<number, PlannedImage>();
  const paths = new Set<string>();
  const usedExisting = new Map<number, string>();
  const existing = imagesQueries.listImagePaths(project.db);
  const byBase = new Map<string, number[]>();
  for (const e of existing) {
    const base = e.path.split('/').at(-1)!;
    byBase.set(base, [...(byBase.get(base) ?? []), e.id]);
  }
  for (let i = 0; i < top.data.images.length; i++) {
    const rec = top.data.images[i];
    const r = cocoImageSchema.safeParse(rec);
    if (!r.success) {
      fail(`${label('images', i, rec)}: ${describeIssue(r.error)}`);
      continue;
    }
    const where = `${label('images', i, rec)} "${r.data.file_name}"`;
    if (images.has(r.data.id)) {
      fail(`${where}: duplicate image id`);
      continue;
    }
    const rel = normalizeFileName(r.data.file_name);
    try {
      checkRelativePath(rel);
    } catch {
      fail(`${where}: file_name escapes the project root (must be a relative path without "..")`);
      continue;
    }
    if (paths.has(rel)) {
      fail(`${where}: file_name appears twice`);
      continue;
    }
    paths.add(rel);
    const planned: PlannedImage = { coco: r.data, path: rel };
    const known = imagesQueries.getImageByPath(project.db, rel);
    const sameBase = byBase.get(rel.split('/').at(-1)!) ?? [];
    if (known) planned.existingId = known.id;
    else if (sameBase.length === 1) planned.existingId = sameBase[0];
    else {
      const abs = project.imagePath(rel);
      if (existsSync(abs)) {
        try {
          const [sha256, header, st] = await Promise.all([hashFile(abs), readImageHeader(abs), stat(abs)]);
          const same = imagesQueries.getImageBySha256(project.db, sha256);
          if (same) planned.existingId = same.id;
          else planned.file = { sha256, ...header, size: st.size, mtimeMs: Math.trunc(st.mtimeMs) };
        } catch (err) {
          fail(`${where}: the file exists but cannot be read: ${(err as Error).message.split('\n')[0]}`);
          continue;
        }
      }
    }
    const dims =
      planned.existingId !== undefined
        ? imagesQueries.getImage(project.db, planned.existingId)!
        : planned.file;
    if (dims && (dims.width !== r.data.width || dims.height !== r.data.height)) {
      fail(
        `${where}: size ${r.data.width}×${r.data.height} in the file but the image is ${dims.width}×${dims.height} as displayed`,
      );
      continue;
    }
    if (planned.existingId !== undefined) {
      if (usedExisting.has(planned.existingId)) {
        fail(
          `${where}: maps to the same project image as another entry (${usedExisting.get(planned.existingId)})`,
        );
        continue;
      }
      usedExisting.set(planned.existingId, r.data.file_name);
    }
    images.set(r.data.id, planned);
  }

  const annotations: PlannedAnnotation[] = [];
  const annIds = new Set<number>();
  top.data.annotations.forEach((rec, i) => {
    const r = cocoAnnotationSchema.safeParse(rec);
    const where = label('annotations', i, rec);
    if (!r.success) return fail(`${where}: ${describeIssue(r.error)}`);
    const a = r.data;
    if (annIds.has(a.id)) return fail(`${where}: duplicate annotation id`);
    annIds.add(a.id);
    const img = images.get(a.image_id);
    if (!img) return fail(`${where}: image_id ${a.image_id} is not in images`);
    if (!categories.has(a.category_id))
      return fail(`${where}: category_id ${a.category_id} is not in categories`);
    const { width: w, height: h } = img.coco;
    const seg = a.segmentation;
    let rle: Rle | null = null;
    try {
      if (Array.isArray(seg) && seg.length > 0) {
        seg.forEach((poly, k) => {
          if (poly.length % 2 !== 0)
            throw new Error(`polygon ${k} has an odd number of coordinates (${poly.length})`);
          if (poly.length < 6)
            throw new Error(`polygon ${k} has ${poly.length / 2} point(s); a polygon needs at least 3`);
        });
        rle = compress(fromPolygons(seg, h, w));
      } else if (seg && !Array.isArray(seg)) {
        const valid = validate(seg);
        if (valid.size[0] !== h || valid.size[1] !== w) {
          throw new Error(`RLE size ${valid.size[0]}×${valid.size[1]} (h×w) is not the image's ${h}×${w}`);
        }
        // Re-encode so stored strings are canonical whatever wrote the file.
        rle = compress(decompress(valid));
      }
    } catch (err) {
      return fail(`${where}: segmentation: ${(err as Error).message}`);
    }
    const bbox = a.bbox ?? undefined;
    if (!rle) {
      if (!bbox) return fail(`${where}: no segmentation and no bbox`);
      if (bbox[2] < 0 || bbox[3] < 0) return fail(`${where}: bbox has a negative width or height`);
    }
    annotations.push({ coco: a, rle, bbox });
  });

  if (problems.length > 0) throw new CocoImportError(problems);
  return { categories, images, annotations };
}

/**
 * Imports a COCO instances file into the project: categories mapped by name (created when new), images
 * matched by file_name (exact relative path, else a unique file name among the project's images), or
 * imported from the root when the file is there, or recorded as not on disk. Masks from RLE (either
 * form) or polygons; annotations without a mask are kept as box-only, waiting for box-to-mask. Ids
 * are kept when free. Nothing is written unless the whole file is valid.
 */
export async function importCoco(
  project: Project,
  file: string,
  opts: { now?: number } = {},
): Promise<CocoImportReport> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CocoImportError([`cannot read ${file}: ${(err as Error).message}`]);
  }
  const p = await plan(project, text, path.basename(file));
  const now = opts.now ?? Date.now();
  const db = project.db;
  const report: CocoImportReport = {
    images: { matched: 0, added: 0, notOnDisk: 0 },
    categories: { matched: 0, added: 0 },
    annotations: { masks: 0, boxOnly: 0 },
  };
  project.transaction(() => {
    const catIds = new Map<number, number>();
    for (const c of p.categories.values()) {
      const known = categoriesQueries.getCategoryByName(db, c.name);
      if (known) report.categories.matched++;
      else report.categories.added++;
      const cat =
        known ??
        categoriesQueries.createCategory(db, { id: c.id, name: c.name, supercategory: c.supercategory });
      catIds.set(c.id, cat.id);
    }
    const imgIds = new Map<number, number>();
    for (const img of p.images.values()) {
      if (img.existingId !== undefined) {
        imgIds.set(img.coco.id, img.existingId);
        report.images.matched++;
        continue;
      }
      const f = img.file;
      imgIds.set(
        img.coco.id,
        imagesQueries.insertImage(db, {
          id: img.coco.id,
          path: img.path,
          sha256: f?.sha256 ?? null,
          width: img.coco.width,
          height: img.coco.height,
          orientation: f?.orientation ?? 1,
          missing: !f,
          fileSize: f?.size ?? null,
          mtimeMs: f?.mtimeMs ?? null,
          addedAt: now,
        }),
      );
      if (f) report.images.added++;
      else report.images.notOnDisk++;
    }
    for (const a of p.annotations) {
      const img = p.images.get(a.coco.image_id)!;
      annotationsQueries.createAnnotation(db, {
        id: a.coco.id,
        imageId: imgIds.get(a.coco.image_id)!,
        categoryId: catIds.get(a.coco.category_id)!,
        rle: a.rle,
        bbox: a.bbox,
        size: [img.coco.height, img.coco.width],
        score: a.coco.score ?? null,
        source: 'imported',
        state: 'accepted',
        iscrowd: a.coco.iscrowd === 1,
        now,
      });
      if (a.rle) report.annotations.masks++;
      else report.annotations.boxOnly++;
    }
  });
  return report;
}
