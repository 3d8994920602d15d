// Outlines of a mask as closed polygons along pixel edges (exact, no smoothing), for a crisp outline of
// the selected annotation at any zoom. Runs in the pixel worker; pure, tested in Node.

/** A closed polygon, flat [x0, y0, x1, y1, …] in image pixel-corner coordinates. */
export type Polygon = number[];

/**
 * Traces every boundary of a row-major 0/1 mask: outer outlines and hole outlines alike. Each edge
 * between an inside and an outside pixel is used once; loops keep the inside on their left, and at a
 * diagonal touch (two pixels meeting at a corner) the loop turns so that the pixels stay separate.
 * Collinear points are dropped, so a rectangle comes back as 4 corners.
 */
export function traceContours(mask: Uint8Array, w: number, h: number): Polygon[] {
  if (mask.length !== w * h) throw new RangeError(`mask has ${mask.length} pixels, expected ${w}×${h}`);
  const at = (x: number, y: number) => x >= 0 && y >= 0 && x < w && y < h && mask[y * w + x] === 1;
  const W = w + 1;
  // Directed boundary edges keyed by their start vertex; a vertex starts at most 2 edges (saddles).
  // Direction codes: 0 right (+x), 1 down (+y), 2 left, 3 up. Inside is on the left of travel (y down),
  // so outer outlines run counter-clockwise on screen and hole outlines clockwise.
  const out = new Map<number, number[]>();
  const add = (x: number, y: number, dir: number) => {
    const k = y * W + x;
    const list = out.get(k);
    if (list) list.push(dir);
    else out.set(k, [dir]);
  };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!at(x, y)) continue;
      if (!at(x, y - 1)) add(x + 1, y, 2); // top edge, walking left
      if (!at(x, y + 1)) add(x, y + 1, 0); // bottom edge, walking right
      if (!at(x - 1, y)) add(x, y, 1); // left edge, walking down
      if (!at(x + 1, y)) add(x + 1, y + 1, 3); // right edge, walking up
    }
  }
  const DX = [1, 0, -1, 0];
  const DY = [0, 1, 0, -1];
  const polygons: Polygon[] = [];
  // At a saddle two edges leave a vertex: the one turning left of the arrival direction belongs to the
  // same loop, which keeps diagonal neighbours as separate loops.
  const pickIndex = (dirs: number[], prevDir: number) => {
    if (dirs.length < 2 || prevDir < 0) return 0;
    const i = dirs.indexOf((prevDir + 3) % 4);
    return i >= 0 ? i : 0;
  };
  while (out.size > 0) {
    const startKey = out.keys().next().value!;
    const startDirs = [...out.get(startKey)!];
    const poly: number[] = [];
    let k = startKey;
    let prevDir = -1;
    let firstDir = -1;
    for (;;) {
      if (k === startKey && prevDir >= 0) {
        // Back at the start: the loop closes if the rule would take the edge we left by.
        const want = startDirs.length < 2 ? startDirs[0] : (prevDir + 3) % 4;
        if (want === firstDir) break;
      }
      const dirs = out.get(k);
      if (!dirs || dirs.length === 0) break; // malformed input cannot happen for a 0/1 mask; be safe
      const pick = pickIndex(dirs, prevDir);
      const dir = dirs[pick]!;
      dirs.splice(pick, 1);
      if (dirs.length === 0) out.delete(k);
      if (firstDir < 0) firstDir = dir;
      const x = k % W;
      const y = (k - x) / W;
      if (dir !== prevDir) poly.push(x, y);
      prevDir = dir;
      k = (y + DY[dir]!) * W + (x + DX[dir]!);
    }
    // The start point is a corner only if the closing direction differs from the first one.
    if (prevDir === firstDir && poly.length >= 2) poly.splice(0, 2);
    if (poly.length >= 6) polygons.push(poly);
  }
  return polygons;
}
