import { RleError } from './errors.js';
import { merge } from './ops.js';
import type { RleCounts } from './types.js';
import { checkSize } from './validate.js';

// A port of pycocotools' rleFrPoly (maskApi.c), kept operation-for-operation so that the runs come out
// identical: the polygon is scaled ×5 and rounded to integers, its boundary walked densely on that grid,
// the points where it crosses a pixel column (at the column's centre) are kept with the row rounded up,
// and those crossings, sorted in column-major order, become the run boundaries (an even-odd fill per column).
// `Math.trunc` stands for C's (int) cast, which truncates toward zero.

const SCALE = 5;

function frPoly(xy: number[], h: number, w: number): number[] {
  const k = xy.length / 2;
  const x = new Int32Array(k + 1);
  const y = new Int32Array(k + 1);
  for (let j = 0; j < k; j++) x[j] = Math.trunc(SCALE * xy[j * 2]! + 0.5);
  x[k] = x[0]!;
  for (let j = 0; j < k; j++) y[j] = Math.trunc(SCALE * xy[j * 2 + 1]! + 0.5);
  y[k] = y[0]!;
  let m = 0;
  for (let j = 0; j < k; j++) m += Math.max(Math.abs(x[j]! - x[j + 1]!), Math.abs(y[j]! - y[j + 1]!)) + 1;
  const u = new Int32Array(m);
  const v = new Int32Array(m);
  m = 0;
  for (let j = 0; j < k; j++) {
    let xs = x[j]!;
    let xe = x[j + 1]!;
    let ys = y[j]!;
    let ye = y[j + 1]!;
    const dx = Math.abs(xe - xs);
    const dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      let t = xs;
      xs = xe;
      xe = t;
      t = ys;
      ys = ye;
      ye = t;
    }
    const s = dx >= dy ? (ye - ys) / dx : (xe - xs) / dy;
    if (dx >= dy) {
      for (let d = 0; d <= dx; d++) {
        const t = flip ? dx - d : d;
        u[m] = t + xs;
        v[m] = Math.trunc(ys + s * t + 0.5);
        m++;
      }
    } else {
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d;
        v[m] = t + ys;
        u[m] = Math.trunc(xs + s * t + 0.5);
        m++;
      }
    }
  }
  // Crossings of pixel-column centres, downsampled back to the original grid.
  const total = m;
  const bx: number[] = [];
  const by: number[] = [];
  // pycocotools compares against w-1 computed in size_t: for w = 0 that wraps to a huge bound.
  const xMax = w === 0 ? Number.MAX_VALUE : w - 1;
  for (let j = 1; j < total; j++) {
    if (u[j] !== u[j - 1]) {
      let xd = u[j]! < u[j - 1]! ? u[j]! : u[j]! - 1;
      xd = (xd + 0.5) / SCALE - 0.5;
      if (Math.floor(xd) !== xd || xd < 0 || xd > xMax) continue;
      let yd = v[j]! < v[j - 1]! ? v[j]! : v[j - 1]!;
      yd = (yd + 0.5) / SCALE - 0.5;
      if (yd < 0) yd = 0;
      else if (yd > h) yd = h;
      yd = Math.ceil(yd);
      bx.push(xd);
      by.push(yd);
    }
  }
  const n = bx.length + 1;
  const a = new Float64Array(n);
  for (let j = 0; j < bx.length; j++) a[j] = bx[j]! * h + by[j]!;
  a[n - 1] = h * w;
  a.sort();
  let p = 0;
  for (let j = 0; j < n; j++) {
    const t = a[j]!;
    a[j] = t - p;
    p = t;
  }
  // Two crossings at the same place cancel: the zero-length run between them joins its neighbours.
  const b: number[] = [];
  let j = 0;
  b.push(a[j++]!);
  while (j < n) {
    if (a[j]! > 0) b.push(a[j++]!);
    else {
      j++;
      if (j < n) b[b.length - 1]! += a[j++]!;
    }
  }
  return b;
}

function checkPolygon(poly: unknown, i: number): number[] {
  if (!Array.isArray(poly)) throw new RleError('bad-polygon', `polygon ${i} must be an array of numbers`);
  if (poly.length < 2 || poly.length % 2 !== 0) {
    throw new RleError(
      'bad-polygon',
      `polygon ${i} must be [x0, y0, x1, y1, ...] with an even, non-zero count of numbers; it has ${poly.length}`,
    );
  }
  for (let j = 0; j < poly.length; j++) {
    const c = poly[j];
    // pycocotools casts scale*coordinate to a C int; beyond ±2^31/5 that overflows and nothing is reliable.
    if (typeof c !== 'number' || !Number.isFinite(c) || Math.abs(c) > 4e8) {
      throw new RleError(
        'bad-polygon',
        `polygon ${i} coordinate ${j} must be a finite number, got ${String(c)}`,
      );
    }
  }
  return poly as number[];
}

/**
 * Polygons in COCO form ([x0,y0,x1,y1,...] per part, several parts = one object) → runs, rasterized exactly
 * like pycocotools `frPyObjects` (its ×5 upsampling and rounding) and then `merge`d: byte-identical counts
 * to COCO's `annToRLE`. Unlike frPyObjects, a first part of exactly 4 numbers is still a polygon, not a box.
 * Throws RleError 'bad-polygon' (no parts, odd or non-numeric coordinates) or 'bad-size'.
 */
export function fromPolygons(polygons: number[][], height: number, width: number): RleCounts {
  checkSize(height, width, 'fromPolygons');
  if (!Array.isArray(polygons) || polygons.length === 0) {
    throw new RleError('bad-polygon', 'fromPolygons needs at least one polygon');
  }
  const parts: RleCounts[] = polygons.map((p, i) => ({
    size: [height, width],
    counts: frPoly(checkPolygon(p, i), height, width),
  }));
  return merge(parts);
}

/**
 * Box [x, y, w, h] → runs, like pycocotools `frBbox` (a 4-corner polygon through the same rasterizer, so
 * fractional boxes round as COCO does). Throws RleError 'bad-polygon' for non-finite numbers.
 */
export function fromBbox(bbox: [number, number, number, number], height: number, width: number): RleCounts {
  checkSize(height, width, 'fromBbox');
  if (!Array.isArray(bbox) || bbox.length !== 4) {
    throw new RleError('bad-polygon', `bbox must be [x, y, w, h], got ${JSON.stringify(bbox)}`);
  }
  const [x, y, bw, bh] = bbox;
  const xy = checkPolygon([x, y, x, y + bh, x + bw, y + bh, x + bw, y], 0);
  return { size: [height, width], counts: frPoly(xy, height, width) };
}
