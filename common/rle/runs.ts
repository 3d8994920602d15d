import { RleError } from './errors.js';
import { area, toBbox } from './ops.js';
import { asciiToString, countsToString } from './strings.js';
import type { Rle } from './types.js';
import { checkSize } from './validate.js';

/** A mask as the engine reports it: compressed RLE, pixel count and COCO box [x, y, w, h]. */
export interface RleSummary {
  rle: Rle;
  area: number;
  bbox: [number, number, number, number];
}

// Sources that find run boundaries without building a mask (the GPU post-processing graph, which returns only
// where column-major runs start) used to turn them into a number[] of counts and then walk it three more
// times: toBbox, an area loop and countsToString. For noisy masks (random-weight models: ~10^5 runs per mask,
// millions per call) those passes and the counts arrays cost more than the model. summarizeRunStarts does all
// of it in one pass over the run starts, writing the string's bytes straight into a reused buffer.

// The string's bytes, reused across calls so that a batch of masks allocates only its strings. Kept up to
// RETAIN bytes (a 4K-pixel noisy mask needs ~10 MB at the worst-case sizing below); a larger one is allocated
// for that call only.
let scratch = new Uint8Array(1 << 16);
const RETAIN = 1 << 24;

// Below this many pixels every delta between counts lies in (−2^30, 2^30): int32 bit operations are exact,
// and a count takes at most 7 characters (5 bits each, the last one's high bit being the sign).
const INT_PIXELS = 0x40000000;
const MAX_CHARS = 7;

/**
 * Writes one (delta-coded) count as pycocotools' characters at buf[p]; returns the next position. Counts of
 * noisy masks are short and their deltas small, so the one-character case is tested first, without the
 * sign-dependent branch of the general loop that mispredicts on them (it cost ~30% of the pass).
 */
function putCount(buf: Uint8Array, p: number, x: number): number {
  if ((x + 16) >>> 0 < 32) {
    buf[p] = (x & 0x1f) + 48;
    return p + 1;
  }
  // C's `x & 0x1f; x >>= 5` on two's complement, as countsToString.
  for (;;) {
    let g = x & 0x1f;
    x >>= 5;
    const more = g & 0x10 ? x !== -1 : x !== 0;
    if (more) g |= 0x20;
    buf[p++] = g + 48;
    if (!more) return p;
  }
}

/**
 * One mask from the sorted positions where its column-major runs start: `starts` are pixel indices
 * (column-major, x * height + y) at which the value differs from the pixel before, each plus `shift` (1 when
 * the entries are instead the pixel before each change, as from NonZero(pixel[i] xor pixel[i + 1])), and
 * `firstInside` says whether pixel 0 is inside. Returns exactly what `compress(counts)`, `area(counts)` and
 * `toBbox(counts)` give for the same mask (pycocotools' string, area and box; [0,0,0,0] when empty) without
 * building the counts. Pass a typed array (a subarray view for one mask of a batch): the loop is written
 * for them. Throws RleError 'bad-counts' when a start is not an integer inside the mask or the starts do not
 * strictly ascend, and 'bad-size' for a bad height or width.
 */
export function summarizeRunStarts(
  starts: ArrayLike<number>,
  firstInside: boolean,
  height: number,
  width: number,
  shift = 0,
): RleSummary {
  checkSize(height, width, 'summarizeRunStarts');
  const h = height;
  const n = height * width;
  const m = starts.length;
  if (n >= INT_PIXELS) return viaCounts(starts, firstInside, height, width, shift);
  // Sized for the worst case up front, so the loop never checks for room.
  let buf = scratch;
  const need = MAX_CHARS * (m + 2);
  if (buf.length < need) buf = new Uint8Array(Math.max(need, 2 * buf.length));
  let p = 0;
  let nc = 0; // counts written
  let c1 = 0; // counts[nc - 1]
  let c2 = 0; // counts[nc - 2]
  let a = 0;
  // The box, as toBbox: first column of the first inside run to last column of the last one, and, while no
  // inside run has crossed a column boundary (after which the box has full height), the rows the runs
  // cover. The column of a position is found by walking forward, never by division: positions ascend, so the
  // walk costs O(width) per mask on top of O(runs), and noisy masks stop walking at their first crossing.
  let firstIn = -1;
  let lastIn = 0;
  let spans = false;
  let colEnd = h; // one past the last pixel of the column the walk is in
  let y0 = h;
  let y1 = 0;
  let prev = 0;
  let j = 0;
  // A 0-pixel mask has one empty background run, as encode() gives it, whatever `firstInside` says.
  let inside = firstInside && n > 0;
  if (inside) {
    // The leading background run is empty: counts[0] = 0.
    buf[p++] = 48;
    nc = 1;
  }
  // Runs alternate: an outside run (skipped once when pixel 0 is inside), then an inside run, both ending
  // where the next one starts. Pairs rather than a flag flipped per run: measured ~25% faster.
  while (j < m) {
    if (!inside) {
      const q = starts[j]! + shift;
      if (!(q > prev) || q >= n || (q | 0) !== q) throw badStart(starts, j, shift, prev, n);
      const c = q - prev;
      // pycocotools: from the 4th count on, the difference to the count two places back.
      p = putCount(buf, p, nc > 2 ? c - c2 : c);
      c2 = c1;
      c1 = c;
      nc++;
      prev = q;
      if (++j === m) {
        inside = true;
        break;
      }
    }
    const q = starts[j]! + shift;
    if (!(q > prev) || q >= n || (q | 0) !== q) throw badStart(starts, j, shift, prev, n);
    const c = q - prev;
    p = putCount(buf, p, nc > 2 ? c - c2 : c);
    c2 = c1;
    c1 = c;
    nc++;
    a += c;
    if (firstIn < 0) firstIn = prev;
    lastIn = q - 1;
    if (!spans) {
      while (prev >= colEnd) colEnd += h;
      if (lastIn >= colEnd) spans = true;
      else {
        const top = colEnd - h;
        if (prev - top < y0) y0 = prev - top;
        if (lastIn - top > y1) y1 = lastIn - top;
      }
    }
    prev = q;
    j++;
    inside = false;
  }
  // The last run ends at the last pixel.
  const c = n - prev;
  p = putCount(buf, p, nc > 2 ? c - c2 : c);
  if (inside) {
    a += c;
    if (firstIn < 0) firstIn = prev;
    lastIn = n - 1;
    if (!spans) {
      while (prev >= colEnd) colEnd += h;
      if (lastIn >= colEnd) spans = true;
      else {
        const top = colEnd - h;
        if (prev - top < y0) y0 = prev - top;
        if (lastIn - top > y1) y1 = lastIn - top;
      }
    }
  }
  if (buf.length <= RETAIN) scratch = buf;
  let bbox: [number, number, number, number] = [0, 0, 0, 0];
  if (firstIn >= 0) {
    const x0 = Math.floor(firstIn / h);
    const x1 = Math.floor(lastIn / h);
    bbox = spans ? [x0, 0, x1 - x0 + 1, h] : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
  }
  return { rle: { size: [height, width], counts: asciiToString(buf, p) }, area: a, bbox };
}

function badStart(starts: ArrayLike<number>, j: number, shift: number, prev: number, n: number): RleError {
  const q = starts[j]! + shift;
  const why =
    q >= n || q < 0
      ? `is outside the ${n} pixels`
      : Number.isInteger(q)
        ? `must be greater than ${prev} (starts ascend, and pixel 0 is firstInside's)`
        : 'is not an integer';
  return new RleError('bad-counts', `run start ${j} (${String(q)}) ${why}`);
}

// Masks of 2^30 pixels or more: the counts array and the general functions, whose arithmetic is exact there.
function viaCounts(
  starts: ArrayLike<number>,
  firstInside: boolean,
  height: number,
  width: number,
  shift: number,
): RleSummary {
  const n = height * width;
  const counts: number[] = firstInside ? [0] : [];
  let prev = 0;
  for (let j = 0; j < starts.length; j++) {
    const q = starts[j]! + shift;
    if (!(q > prev) || q >= n || !Number.isInteger(q)) throw badStart(starts, j, shift, prev, n);
    counts.push(q - prev);
    prev = q;
  }
  counts.push(n - prev);
  const r = { size: [height, width] as [number, number], counts };
  return { rle: { size: r.size, counts: countsToString(counts) }, area: area(r), bbox: toBbox(r) };
}
