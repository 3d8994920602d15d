import { RleError } from './errors.js';
import { countsToString } from './strings.js';
import type { AnyRle, Rle, RleCounts } from './types.js';
import { checkSize, countsOf } from './validate.js';

function checkMask(mask: Uint8Array, height: number, width: number): void {
  checkSize(height, width, 'encode');
  const m: unknown = mask;
  if (!(m instanceof Uint8Array) && !(m instanceof Uint8ClampedArray)) {
    throw new RleError('bad-size', 'encode: mask must be a Uint8Array');
  }
  if (mask.length !== height * width) {
    throw new RleError(
      'bad-size',
      `encode: mask has ${mask.length} bytes but ${height}×${width} needs ${height * width}`,
    );
  }
}

/**
 * Row-major mask (index y*width + x, nonzero = inside) → COCO run lengths, column-major, starting with a
 * background run (0 when pixel (0,0) is inside). Same runs as pycocotools `encode(np.asfortranarray(m))`.
 */
export function encode(mask: Uint8Array, height: number, width: number): RleCounts {
  checkMask(mask, height, width);
  const counts: number[] = [];
  // Walk the row-major buffer column by column and record only where the value changes: the run lengths
  // are differences of column-major change positions, so nothing is counted per pixel.
  let inside = false;
  let last = 0;
  let pos = 0;
  for (let x = 0; x < width; x++) {
    let i = x;
    for (let y = 0; y < height; y++, i += width) {
      if ((mask[i] !== 0) !== inside) {
        counts.push(pos + y - last);
        last = pos + y;
        inside = !inside;
      }
    }
    pos += height;
  }
  counts.push(pos - last);
  return { size: [height, width], counts };
}

/** {@link encode}, then pycocotools' compressed string: what instances.json stores. */
export function encodeCompressed(mask: Uint8Array, height: number, width: number): Rle {
  return compress(encode(mask, height, width));
}

/** Returns a ROW-major 0/1 Uint8Array of height*width (index y*width + x). */
export function decode(rle: AnyRle): Uint8Array {
  const counts = countsOf(rle);
  const [h, w] = rle.size;
  const out = new Uint8Array(h * w);
  let pos = 0;
  for (let r = 0; r < counts.length; r++) {
    const c = counts[r]!;
    if (r & 1 && c > 0) {
      // A run of 1s in column-major order: walk it down each column it spans.
      let x = Math.floor(pos / h);
      let y = pos - x * h;
      let left = c;
      while (left > 0) {
        const run = Math.min(left, h - y);
        let i = y * w + x;
        for (let k = 0; k < run; k++, i += w) out[i] = 1;
        left -= run;
        x++;
        y = 0;
      }
    }
    pos += c;
  }
  return out;
}

/** Uncompressed → compressed (the counts string of pycocotools). */
export function compress(rle: RleCounts): Rle {
  const counts = countsOf(rle);
  return { size: [rle.size[0], rle.size[1]], counts: countsToString(counts) };
}

/** Either form → uncompressed run lengths (a copy; the input is never shared or mutated). */
export function decompress(rle: AnyRle): RleCounts {
  const counts = countsOf(rle);
  return {
    size: [rle.size[0], rle.size[1]],
    counts: typeof rle.counts === 'string' ? counts : counts.slice(),
  };
}
