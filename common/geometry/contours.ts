import { GeometryError } from './errors.js';
import { ringArea } from './points.js';
import { simplifyRing } from './simplify.js';

/** Options for {@link maskToPolygons}. */
export interface ContourOptions {
  /**
   * Douglas–Peucker tolerance in pixels; 0 (default) keeps every corner, so the rings fill back to exactly
   * the mask. Simplified rings may self-intersect slightly; rings that collapse below 3 points are dropped.
   */
  tolerance?: number;
  /** Objects and holes with fewer pixels than this are dropped (holes are then filled). Default 0. */
  minArea?: number;
}

// Directions along pixel edges: 0 E (+x), 1 S (+y), 2 W (−x), 3 N (−y). Rings run with the inside on the
// walker's right (clockwise on screen), along pixel edges between corners (x, y) ∈ [0, w] × [0, h].
// Each directed edge is one side of one inside pixel; the `seen` bits record which sides are traced:
// E = top, S = right, W = bottom, N = left of that pixel.
const TOP = 1;
const RIGHT = 2;
const BOTTOM = 4;
const LEFT = 8;

interface Ring {
  points: number[];
  /** Pixels enclosed, positive for outer rings and negative for holes. */
  area: number;
  /** For holes: the leftmost inside pixel whose right side is on this ring (x, y), to find the owner. */
  anchorX: number;
  anchorY: number;
}

/**
 * Traces every boundary of a ROW-major mask (nonzero = inside) along pixel edges. Objects are 8-connected
 * (pixels touching at a corner belong together; their outer ring passes twice through that corner), holes
 * are 4-connected background regions inside an object.
 */
function traceRings(
  mask: Uint8Array,
  h: number,
  w: number,
): { rings: Ring[]; leftOwner: Map<number, number> } {
  const inside = (x: number, y: number): boolean =>
    x >= 0 && y >= 0 && x < w && y < h && mask[y * w + x] !== 0;
  const seen = new Uint8Array(h * w);
  const rings: Ring[] = [];
  // Ring id of each traced left side (key: pixel index), used to attach holes to their object.
  const leftOwner = new Map<number, number>();

  // Is the edge leaving corner (vx, vy) in direction d a boundary with the inside on its right?
  const isEdge = (vx: number, vy: number, d: number): boolean => {
    switch (d) {
      case 0:
        return inside(vx, vy) && !inside(vx, vy - 1);
      case 1:
        return inside(vx - 1, vy) && !inside(vx, vy);
      case 2:
        return inside(vx - 1, vy - 1) && !inside(vx - 1, vy);
      default:
        return inside(vx, vy - 1) && !inside(vx - 1, vy - 1);
    }
  };

  const trace = (x: number, y: number): void => {
    const id = rings.length;
    const points: number[] = [];
    let anchorX = Infinity;
    let anchorY = 0;
    let vx = x;
    let vy = y;
    let d = 0;
    for (;;) {
      // Mark the side this edge is on and step to the next corner.
      switch (d) {
        case 0:
          seen[vy * w + vx]! |= TOP;
          vx++;
          break;
        case 1:
          seen[vy * w + vx - 1]! |= RIGHT;
          if (vx - 1 < anchorX) {
            anchorX = vx - 1;
            anchorY = vy;
          }
          vy++;
          break;
        case 2:
          seen[(vy - 1) * w + vx - 1]! |= BOTTOM;
          vx--;
          break;
        default:
          seen[(vy - 1) * w + vx]! |= LEFT;
          leftOwner.set((vy - 1) * w + vx, id);
          vy--;
      }
      // Left turn first: at a corner where two inside pixels touch diagonally this keeps them together.
      const left = (d + 3) & 3;
      const right = (d + 1) & 3;
      const next = isEdge(vx, vy, left) ? left : isEdge(vx, vy, d) ? d : right;
      if (next !== d) points.push(vx, vy);
      if (vx === x && vy === y && next === 0) break;
      d = next;
    }
    // The start corner is appended last when the walk closes; put it first so rings start top-left.
    if (points.length >= 2 && points[points.length - 2] === x && points[points.length - 1] === y) {
      points.unshift(points.pop()!);
      points.unshift(points.pop()!);
    }
    rings.push({ points, area: ringArea(points), anchorX, anchorY });
  };

  // A ring is found at the first top side of it met in raster order: an inside pixel below an outside one.
  // Where a row equals the row above there is none, so aligned rows are compared 4 pixels at a time.
  const m32 =
    w % 4 === 0 && mask.byteOffset % 4 === 0
      ? new Uint32Array(mask.buffer, mask.byteOffset, (h * w) / 4)
      : null;
  const w4 = w >> 2;
  const check = (i: number, y: number): void => {
    if (mask[i] === 0 || seen[i]! & TOP || (y > 0 && mask[i - w] !== 0)) return;
    trace(i - y * w, y);
  };
  for (let y = 0; y < h; y++) {
    const row = y * w;
    if (m32) {
      const wr = row >> 2;
      for (let k = 0; k < w4; k++) {
        const v = m32[wr + k]!;
        if (v === 0 || (y > 0 && v === m32[wr + k - w4])) continue;
        const i = row + k * 4;
        check(i, y);
        check(i + 1, y);
        check(i + 2, y);
        check(i + 3, y);
      }
    } else {
      for (let i = row; i < row + w; i++) check(i, y);
    }
  }
  return { rings, leftOwner };
}

/**
 * Outlines of the objects in a ROW-major mask (index y*width + x, nonzero = inside): one entry per
 * 8-connected object, `[outer, ...holes]`, each ring a flat `[x0, y0, x1, y1, ...]` of pixel corners (pixel
 * (x, y) covers [x, x+1] × [y, y+1]). Outer rings run clockwise on screen, holes counter-clockwise; with
 * tolerance 0, {@link polygonsToMask} of the result gives back exactly the mask.
 */
export function maskToPolygons(
  mask: Uint8Array,
  height: number,
  width: number,
  opts: ContourOptions = {},
): number[][][] {
  if (!Number.isSafeInteger(height) || height < 0 || !Number.isSafeInteger(width) || width < 0) {
    throw new GeometryError(
      'bad-size',
      `height and width must be non-negative integers, got ${height}×${width}`,
    );
  }
  if (!(mask instanceof Uint8Array) || mask.length !== height * width) {
    throw new GeometryError(
      'bad-size',
      `mask must be a Uint8Array of ${height}×${width} = ${height * width} bytes`,
    );
  }
  const tolerance = opts.tolerance ?? 0;
  const minArea = opts.minArea ?? 0;
  if (!(tolerance >= 0) || !Number.isFinite(tolerance)) {
    throw new GeometryError('bad-option', `tolerance must be a finite number ≥ 0, got ${tolerance}`);
  }
  if (!(minArea >= 0)) throw new GeometryError('bad-option', `minArea must be ≥ 0, got ${minArea}`);

  const { rings, leftOwner } = traceRings(mask, height, width);
  // Each hole belongs to the object of the inside pixels along it. From its leftmost inside pixel walk left
  // along the row to the start of that run of inside pixels: the left side there is on a ring of the same
  // object, either its outer ring or another hole, whose leftmost pixel is further left (so this ends).
  const owner = new Int32Array(rings.length).fill(-1);
  const resolve = (id: number): number => {
    const chain: number[] = [];
    let r = id;
    while (owner[r] === -1 && rings[r]!.area < 0) {
      chain.push(r);
      const ring = rings[r]!;
      let x = ring.anchorX;
      const row = ring.anchorY * width;
      while (x > 0 && mask[row + x - 1] !== 0) x--;
      const next = leftOwner.get(row + x);
      if (next === undefined) throw new Error(`internal: no traced left side at (${x}, ${ring.anchorY})`);
      r = next;
    }
    const root = rings[r]!.area > 0 ? r : owner[r]!;
    for (const c of chain) owner[c] = root;
    return root;
  };
  const holesOf = new Map<number, number[]>();
  rings.forEach((ring, id) => {
    if (ring.area > 0) return;
    const o = resolve(id);
    if (-ring.area < minArea) return;
    const list = holesOf.get(o);
    if (list) list.push(id);
    else holesOf.set(o, [id]);
  });

  const out: number[][][] = [];
  rings.forEach((ring, id) => {
    if (ring.area <= 0) return;
    const holes = holesOf.get(id) ?? [];
    const pixels = ring.area + holes.reduce((s, hId) => s + rings[hId]!.area, 0);
    if (pixels < minArea) return;
    const simplify = (p: number[]): number[] => (tolerance > 0 ? simplifyRing(p, tolerance) : p);
    const outer = simplify(ring.points);
    if (outer.length < 6) return;
    const obj = [outer];
    for (const hId of holes) {
      const hole = simplify(rings[hId]!.points);
      if (hole.length >= 6) obj.push(hole);
    }
    out.push(obj);
  });
  return out;
}
