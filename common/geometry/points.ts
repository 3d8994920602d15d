// Small helpers on flat rings [x0, y0, x1, y1, ...]: the form COCO polygons and maskToPolygons use.

/**
 * Signed area of a closed ring (shoelace). In image coordinates (y down) a clockwise ring on screen is
 * positive: maskToPolygons' outer rings are positive and its holes negative.
 */
export function ringArea(ring: ArrayLike<number>): number {
  const n = ring.length >> 1;
  let s = 0;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    s += ring[j * 2]! * ring[i * 2 + 1]! - ring[i * 2]! * ring[j * 2 + 1]!;
  }
  return s / 2;
}

/** [x, y, w, h] of the points of one or several flat rings; all zeros when there are none. */
export function bboxOfPoints(
  rings: ArrayLike<number> | ArrayLike<number>[],
): [number, number, number, number] {
  const list: ArrayLike<number>[] =
    rings.length > 0 && typeof rings[0] !== 'number'
      ? (rings as ArrayLike<number>[])
      : [rings as ArrayLike<number>];
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const r of list) {
    for (let i = 0; i + 1 < r.length; i += 2) {
      const x = r[i]!;
      const y = r[i + 1]!;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x0 === Infinity ? [0, 0, 0, 0] : [x0, y0, x1 - x0, y1 - y0];
}

/**
 * Whether (x, y) is inside the rings by the even-odd rule (so a ring inside another is a hole). Points
 * exactly on an edge may go either way.
 */
export function pointInPolygon(
  x: number,
  y: number,
  rings: ArrayLike<number> | ArrayLike<number>[],
): boolean {
  const list: ArrayLike<number>[] =
    rings.length > 0 && typeof rings[0] !== 'number'
      ? (rings as ArrayLike<number>[])
      : [rings as ArrayLike<number>];
  let inside = false;
  for (const r of list) {
    const n = r.length >> 1;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const xi = r[i * 2]!;
      const yi = r[i * 2 + 1]!;
      const xj = r[j * 2]!;
      const yj = r[j * 2 + 1]!;
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
  }
  return inside;
}
