import { RleError } from './errors.js';
import { countsFromString } from './strings.js';
import type { AnyRle, RleCounts } from './types.js';

/** Throws 'bad-size' unless height and width are non-negative safe integers. */
export function checkSize(height: unknown, width: unknown, what = 'size'): void {
  if (!Number.isSafeInteger(height) || (height as number) < 0) {
    throw new RleError('bad-size', `${what}: height must be a non-negative integer, got ${String(height)}`);
  }
  if (!Number.isSafeInteger(width) || (width as number) < 0) {
    throw new RleError('bad-size', `${what}: width must be a non-negative integer, got ${String(width)}`);
  }
  if (!Number.isSafeInteger((height as number) * (width as number))) {
    throw new RleError('bad-size', `${what}: ${String(height)}×${String(width)} pixels is too many`);
  }
}

function checkSizeField(size: unknown): [number, number] {
  if (!Array.isArray(size) || size.length !== 2) {
    throw new RleError('bad-size', `size must be [height, width], got ${JSON.stringify(size)}`);
  }
  checkSize(size[0], size[1]);
  return [size[0] as number, size[1] as number];
}

/** Run lengths must be non-negative integers summing to height*width. */
function checkCounts(counts: ArrayLike<unknown>, height: number, width: number): void {
  let sum = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    if (typeof c !== 'number' || !Number.isSafeInteger(c) || c < 0) {
      throw new RleError('bad-counts', `counts[${i}] must be a non-negative integer, got ${String(c)}`);
    }
    sum += c;
  }
  if (sum !== height * width) {
    throw new RleError(
      'bad-counts',
      `counts sum to ${sum} but size ${height}×${width} has ${height * width} pixels`,
    );
  }
}

/**
 * The run lengths of either RLE form, checked: a fresh array for compressed RLEs, the caller's own array
 * for uncompressed ones (never mutated here).
 */
export function countsOf(rle: AnyRle): number[] {
  const r = rle as unknown;
  if (r === null || typeof r !== 'object') {
    throw new RleError(
      'bad-counts',
      `an RLE must be an object {size, counts}, got ${r === null ? 'null' : typeof r}`,
    );
  }
  const { size, counts } = r as { size?: unknown; counts?: unknown };
  const [h, w] = checkSizeField(size);
  if (typeof counts === 'string') {
    const decoded = countsFromString(counts);
    checkCounts(decoded, h, w);
    return decoded;
  }
  if (!Array.isArray(counts)) {
    throw new RleError('bad-counts', `counts must be a string or an array of numbers, got ${typeof counts}`);
  }
  checkCounts(counts, h, w);
  return counts as number[];
}

/**
 * Checks that `rle` is a well-formed COCO RLE (compressed or not): `size` is [height, width] of non-negative
 * integers and the runs are non-negative integers summing to height*width. Returns it typed; throws
 * RleError naming the problem ('bad-size', 'bad-counts' or 'bad-string').
 */
export function validate(rle: unknown): AnyRle {
  countsOf(rle as AnyRle);
  return rle as AnyRle;
}

/** Both masks have the same [height, width], or RleError 'size-mismatch'. */
export function checkSameSize(a: AnyRle, b: AnyRle, what: string): void {
  if (a.size[0] !== b.size[0] || a.size[1] !== b.size[1]) {
    throw new RleError(
      'size-mismatch',
      `${what}: masks are ${a.size[0]}×${a.size[1]} and ${b.size[0]}×${b.size[1]}; they must be the same size`,
    );
  }
}

export type { RleCounts };
