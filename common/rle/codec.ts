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
  const h = height;
  const w = width;
  // Reading the row-major buffer column by column strides through memory and is ~5× slower than reading
  // it in order. So: scan rows in memory order and note where a pixel differs from the one before it in
  // column-major order (the pixel above it; for row 0, the bottom of the previous column), bucket those
  // changes by column (a counting sort; rows arrive in order, so each bucket is sorted), and the runs are
  // the gaps between consecutive changes.
  // Change positions as (x, y); grown by doubling. Inlined below rather than a closure: noisy masks have
  // millions of changes and this is the hot path for them.
  let cap = 1024;
  let xs = new Int32Array(cap);
  let ys = new Int32Array(cap);
  let nt = 0;
  const perColumn = new Int32Array(w + 1);
  const grow = (): void => {
    cap *= 2;
    const nx = new Int32Array(cap);
    nx.set(xs);
    xs = nx;
    const ny = new Int32Array(cap);
    ny.set(ys);
    ys = ny;
  };
  if (h > 0) {
    const last = (h - 1) * w;
    for (let x = 0; x < w; x++) {
      const before = x === 0 ? false : mask[last + x - 1] !== 0;
      if ((mask[x] !== 0) !== before) {
        if (nt === cap) grow();
        xs[nt] = x;
        ys[nt++] = 0;
        perColumn[x]!++;
      }
    }
  }
  // Masks are mostly rows equal to the row above; when rows are 4-byte aligned, compare 4 pixels at a time.
  const words = w % 4 === 0 && mask.byteOffset % 4 === 0 && h > 1;
  const m32 = words ? new Uint32Array(mask.buffer, mask.byteOffset, (h * w) / 4) : null;
  const w4 = w / 4;
  for (let y = 1; y < h; y++) {
    const row = y * w;
    if (m32) {
      const wr = row / 4;
      for (let k = 0; k < w4; k++) {
        if (m32[wr + k] === m32[wr + k - w4]) continue;
        for (let i = row + k * 4, e = i + 4; i < e; i++) {
          const a = mask[i]!;
          const b = mask[i - w]!;
          if (a !== b && (a === 0 || b === 0)) {
            if (nt === cap) grow();
            xs[nt] = i - row;
            ys[nt++] = y;
            perColumn[i - row]!++;
          }
        }
      }
      continue;
    }
    const end = row + w;
    for (let i = row; i < end; i++) {
      const a = mask[i]!;
      const b = mask[i - w]!;
      // Values differ, and not just two different nonzero values (nonzero = inside).
      if (a !== b && (a === 0 || b === 0)) {
        if (nt === cap) grow();
        xs[nt] = i - row;
        ys[nt++] = y;
        perColumn[i - row]!++;
      }
    }
  }
  let start = 0;
  for (let x = 0; x <= w; x++) {
    const c = perColumn[x]!;
    perColumn[x] = start;
    start += c;
  }
  const changes = new Float64Array(nt);
  for (let k = 0; k < nt; k++) {
    const x = xs[k]!;
    changes[perColumn[x]!++] = x * h + ys[k]!;
  }
  const counts: number[] = new Array<number>(nt + 1);
  let prev = 0;
  for (let k = 0; k < nt; k++) {
    const c = changes[k]!;
    counts[k] = c - prev;
    prev = c;
  }
  counts[nt] = h * w - prev;
  return { size: [height, width], counts };
}

/** {@link encode}, then pycocotools' compressed string: what instances.json stores. */
export function encodeCompressed(mask: Uint8Array, height: number, width: number): Rle {
  return compress(encode(mask, height, width));
}

/** Returns a ROW-major 0/1 Uint8Array of height*width (index y*width + x). */
export function decode(rle: AnyRle): Uint8Array {
  // Validate first: a malformed RLE must not size an allocation.
  const counts = countsOf(rle);
  return fill(counts, rle.size[0], rle.size[1], new Uint8Array(rle.size[0] * rle.size[1]));
}

/**
 * {@link decode} into a caller's buffer of exactly height*width bytes (overwritten entirely), for callers that
 * decode often and want no allocation per call, such as renderer workers. Returns `out`. Throws RleError
 * 'size-mismatch' when the buffer has the wrong length.
 */
export function decodeInto(rle: AnyRle, out: Uint8Array): Uint8Array {
  const counts = countsOf(rle);
  const [h, w] = rle.size;
  if (out.length !== h * w) {
    throw new RleError(
      'size-mismatch',
      `decodeInto: buffer has ${out.length} bytes but ${h}×${w} needs ${h * w}`,
    );
  }
  out.fill(0);
  return fill(counts, h, w, out);
}

/** Writes validated runs into a zeroed row-major buffer of h*w bytes. */
function fill(counts: number[], h: number, w: number, out: Uint8Array): Uint8Array {
  if (h === 0 || w === 0) return out;
  // Writing runs down columns of a row-major buffer strides through memory. Instead, mark in each column
  // where the value flips (XOR, so flips that meet cancel), then one in-order pass turns flips into values:
  // each row is the row above XOR its flips.
  let pos = 0;
  for (let r = 0; r < counts.length; r++) {
    const c = counts[r]!;
    if (r & 1 && c > 0) {
      const end = pos + c;
      const x0 = Math.floor(pos / h);
      const x1 = Math.floor(end / h);
      out[(pos - x0 * h) * w + x0]! ^= 1;
      // The run covers the rest of column x0, all of the columns between, and the top of column x1.
      for (let x = x0 + 1; x <= x1 && x < w; x++) out[x]! ^= 1;
      if (x1 < w) out[(end - x1 * h) * w + x1]! ^= 1;
    }
    pos += c;
  }
  if (w % 4 === 0 && out.byteOffset % 4 === 0) {
    const o32 = new Uint32Array(out.buffer, out.byteOffset, (h * w) / 4);
    const w4 = w / 4;
    for (let i = w4, n = o32.length; i < n; i++) o32[i]! ^= o32[i - w4]!;
  } else {
    for (let i = w, n = out.length; i < n; i++) out[i]! ^= out[i - w]!;
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
