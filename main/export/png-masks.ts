// Per-image PNG masks for people who train on PNGs: 16-bit greyscale, 0 = background, k = the k-th
// instance of that image. `index.json` next to them maps each k to its annotation and category.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import sharp from 'sharp';
import { decode } from '../../common/rle/index.js';
import type { AnnotationState } from '../store/index.js';
import { annotationsQueries, imagesQueries } from '../store/index.js';
import { AtomicTextWriter } from './stream-writer.js';

/** What writePngMasks wrote. */
export interface PngMasksReport {
  folder: string;
  files: number;
  instances: number;
}

/** File name of the mask of `imagePath`: same folders, extension `.png`; the full name on a clash. */
function maskName(imagePath: string, used: Set<string>): string {
  const stem = imagePath.replace(/\.[^./]+$/, '');
  let name = `${stem}.png`;
  if (used.has(name)) name = `${imagePath}.png`;
  used.add(name);
  return name;
}

/**
 * Writes one PNG per image (images without annotations get an all-zero mask). Where masks overlap, the
 * smaller object is drawn on top, so small things stay visible. Box-only annotations have no mask and
 * are left out. Instance values follow annotation id order within the image.
 */
export async function writePngMasks(
  db: Database,
  folder: string,
  opts: { states: AnnotationState[]; onProgress?: (done: number, total: number) => void },
): Promise<PngMasksReport> {
  mkdirSync(folder, { recursive: true });
  const index = new AtomicTextWriter(path.join(folder, 'index.json'));
  const report: PngMasksReport = { folder, files: 0, instances: 0 };
  const total = imagesQueries.imageCounts(db).total;
  const used = new Set<string>();
  try {
    await index.write('{"format_version":1,"background":0,"images":[');
    // Pages of images, so the image list is never held whole either.
    let afterId = -1;
    for (;;) {
      const page = imagesQueries.listImages(db, { afterId, limit: 256 });
      if (page.length === 0) break;
      afterId = page.at(-1)!.id;
      for (const img of page) {
        const anns = annotationsQueries
          .listAnnotationsByImage(db, { imageId: img.id, states: opts.states })
          .filter((a) => a.rle !== null);
        if (anns.length > 65535) {
          throw new Error(
            `image ${img.id} (${img.path}) has ${anns.length} masks; 16-bit PNG holds at most 65535`,
          );
        }
        const ids = new Uint16Array(img.width * img.height);
        const order = anns.map((a, i) => ({ a, value: i + 1 })).sort((x, y) => y.a.area - x.a.area);
        for (const { a, value } of order) {
          const m = decode(a.rle!);
          for (let p = 0; p < m.length; p++) if (m[p]) ids[p] = value;
        }
        const name = maskName(img.path, used);
        const file = path.join(folder, ...name.split('/'));
        mkdirSync(path.dirname(file), { recursive: true });
        await sharp(ids, { raw: { width: img.width, height: img.height, channels: 1 } })
          .toColourspace('grey16')
          .png({ compressionLevel: 6 })
          .toFile(file);
        const entry = {
          image_id: img.id,
          file_name: img.path,
          mask: name,
          instances: anns.map((a, i) => ({ value: i + 1, annotation_id: a.id, category_id: a.categoryId })),
        };
        await index.write((report.files ? ',' : '') + JSON.stringify(entry));
        report.files++;
        report.instances += anns.length;
        opts.onProgress?.(report.files, total);
      }
    }
    await index.write(']}\n');
    await index.commit();
    return report;
  } catch (err) {
    await index.abort();
    throw err;
  }
}
