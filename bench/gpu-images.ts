// The images a GPU run benches, as its table states them: how many of each size, and whether the PyTorch
// reference it compares against ran on as many. Ratios of p50s over two different image sets would look like
// a speed-up or a slow-down that neither side has.
import path from 'node:path';
import { readImageHeader } from '../main/store/image-files.js';

export interface ImageSize {
  file: string;
  width: number;
  height: number;
}

/** Each image's displayed size (EXIF orientation applied), from its header only (the store's reader). */
export async function imageSizes(files: string[]): Promise<ImageSize[]> {
  return Promise.all(
    files.map(async (file) => {
      try {
        const { width, height } = await readImageHeader(file);
        return { file: path.basename(file), width, height };
      } catch (err) {
        throw new Error(`bench image ${file}: ${(err as Error).message}`, { cause: err });
      }
    }),
  );
}

/** "images: 55 (50 at 960×540, 2 at 800×534, …)", most common size first. */
export function imageSetNote(sizes: ImageSize[]): string {
  const counts = new Map<string, number>();
  for (const s of sizes) {
    const k = `${s.width}×${s.height}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const parts = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, n]) => `${n} at ${k}`);
  return `images: ${sizes.length} (${parts.join(', ')})`;
}

/**
 * null when the reference ran on as many images as the engine rows, else the note that says its ratios compare
 * different sets. `refImages` undefined: a summary from before the reference recorded its count.
 */
export function refImagesNote(arch: string, refImages: number | undefined, ours: number): string | null {
  if (refImages === ours) return null;
  const theirs = refImages === undefined ? 'an unrecorded number of' : String(refImages);
  return (
    `${arch}: the PyTorch reference ran on ${theirs} images, the rows here on ${ours}; ` +
    `its ratios compare p50s of different image sets`
  );
}
