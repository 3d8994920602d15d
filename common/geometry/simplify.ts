/** Squared distance from (px, py) to the segment (ax, ay)–(bx, by). */
function segmentDistance2(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  let t = len2 === 0 ? 0 : ((px - ax) * dx + (py - ay) * dy) / len2;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  const ex = ax + t * dx - px;
  const ey = ay + t * dy - py;
  return ex * ex + ey * ey;
}

/**
 * Douglas–Peucker simplification of a closed flat ring: keeps the points farther than `tolerance` from the
 * simplified outline. Splits the ring at its first point and the point farthest from it, so the closing
 * edge is treated like any other. Returns the ring unchanged when it has 3 points or fewer.
 */
export function simplifyRing(ring: number[], tolerance: number): number[] {
  const n = ring.length >> 1;
  if (n <= 3 || tolerance <= 0) return ring.slice();
  let far = 0;
  let best = -1;
  for (let i = 1; i < n; i++) {
    const d = (ring[i * 2]! - ring[0]!) ** 2 + (ring[i * 2 + 1]! - ring[1]!) ** 2;
    if (d > best) {
      best = d;
      far = i;
    }
  }
  const keep = new Uint8Array(n);
  keep[0] = 1;
  keep[far] = 1;
  const tol2 = tolerance * tolerance;
  // Iterative, so long rings cannot overflow the stack: [start, end] index pairs along the ring (mod n).
  const stack: number[] = [0, far, far, n];
  while (stack.length > 0) {
    const end = stack.pop()!;
    const start = stack.pop()!;
    const ax = ring[(start % n) * 2]!;
    const ay = ring[(start % n) * 2 + 1]!;
    const bx = ring[(end % n) * 2]!;
    const by = ring[(end % n) * 2 + 1]!;
    let idx = -1;
    let dmax = tol2;
    for (let i = start + 1; i < end; i++) {
      const d = segmentDistance2(ring[i * 2]!, ring[i * 2 + 1]!, ax, ay, bx, by);
      if (d > dmax) {
        dmax = d;
        idx = i;
      }
    }
    if (idx >= 0) {
      keep[idx] = 1;
      stack.push(start, idx, idx, end);
    }
  }
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (keep[i]) out.push(ring[i * 2]!, ring[i * 2 + 1]!);
  return out;
}
