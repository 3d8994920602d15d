import { GeometryError } from './errors.js';

function checkSize(height: number, width: number): void {
  if (!Number.isSafeInteger(height) || height < 0 || !Number.isSafeInteger(width) || width < 0) {
    throw new GeometryError(
      'bad-size',
      `height and width must be non-negative integers, got ${height}×${width}`,
    );
  }
}

function checkRing(ring: unknown, where: string): number[] {
  if (!Array.isArray(ring) || ring.length % 2 !== 0) {
    throw new GeometryError(
      'bad-polygon',
      `${where} must be a flat [x0, y0, x1, y1, ...] array of even length`,
    );
  }
  for (let i = 0; i < ring.length; i++) {
    if (typeof ring[i] !== 'number' || !Number.isFinite(ring[i])) {
      throw new GeometryError(
        'bad-polygon',
        `${where} coordinate ${i} must be a finite number, got ${String(ring[i])}`,
      );
    }
  }
  return ring as number[];
}

/** Even-odd fill of one group of rings into `out` (sets inside pixels to 1, leaves the rest). */
function fillEvenOdd(rings: number[][], height: number, width: number, out: Uint8Array): void {
  // Pixel (x, y) is inside when its centre (x+0.5, y+0.5) is: crossings of each row's centre line with the
  // edges, sorted, bound the inside spans. Crossings are counted per row first, then stored flat.
  const perRow = new Int32Array(height + 1);
  const rowRange = (ya: number, yb: number): [number, number] => {
    const lo = Math.max(0, Math.ceil(Math.min(ya, yb) - 0.5));
    const hi = Math.min(height, Math.ceil(Math.max(ya, yb) - 0.5));
    return [lo, hi];
  };
  for (const r of rings) {
    const n = r.length >> 1;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const [lo, hi] = rowRange(r[j * 2 + 1]!, r[i * 2 + 1]!);
      for (let y = lo; y < hi; y++) perRow[y]!++;
    }
  }
  let total = 0;
  for (let y = 0; y <= height; y++) {
    const c = perRow[y]!;
    perRow[y] = total;
    total += c;
  }
  const xs = new Float64Array(total);
  const fill = perRow.slice();
  for (const r of rings) {
    const n = r.length >> 1;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const x0 = r[j * 2]!;
      const y0 = r[j * 2 + 1]!;
      const x1 = r[i * 2]!;
      const y1 = r[i * 2 + 1]!;
      const [lo, hi] = rowRange(y0, y1);
      const k = (x1 - x0) / (y1 - y0);
      for (let y = lo; y < hi; y++) xs[fill[y]!++] = x0 + (y + 0.5 - y0) * k;
    }
  }
  for (let y = 0; y < height; y++) {
    const row = xs.subarray(perRow[y]!, perRow[y + 1]!).sort();
    for (let i = 0; i + 1 < row.length; i += 2) {
      // Pixels whose centre lies in [a, b).
      const a = Math.max(0, Math.ceil(row[i]! - 0.5));
      const b = Math.min(width, Math.ceil(row[i + 1]! - 0.5));
      if (b > a) out.fill(1, y * width + a, y * width + b);
    }
  }
}

/**
 * Rings → ROW-major 0/1 mask of height*width. A pixel is inside when its centre is inside by the even-odd
 * rule, so holes are honoured and rings on pixel corners (as maskToPolygons makes them) give back exactly
 * the pixels they were traced from. `rings` is either one group (number[][], even-odd over all of them) or
 * several objects (number[][][], each filled even-odd on its own, then united).
 */
export function polygonsToMask(rings: number[][] | number[][][], height: number, width: number): Uint8Array {
  checkSize(height, width);
  if (!Array.isArray(rings)) throw new GeometryError('bad-polygon', 'rings must be an array');
  const out = new Uint8Array(height * width);
  if (rings.length === 0) return out;
  const nested = Array.isArray(rings[0]) && rings[0].length > 0 && Array.isArray(rings[0][0]);
  if (nested) {
    (rings as number[][][]).forEach((obj, o) => {
      if (!Array.isArray(obj))
        throw new GeometryError('bad-polygon', `object ${o} must be an array of rings`);
      fillEvenOdd(
        obj.map((r, i) => checkRing(r, `object ${o} ring ${i}`)),
        height,
        width,
        out,
      );
    });
  } else {
    fillEvenOdd(
      (rings as number[][]).map((r, i) => checkRing(r, `ring ${i}`)),
      height,
      width,
      out,
    );
  }
  return out;
}
