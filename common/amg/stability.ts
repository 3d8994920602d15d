// Scores computed on mask logits at low resolution (SAM utils/amg.py: calculate_stability_score).

/** The valid (unpadded) top-left part of a low-resolution logit map of width `stride`. */
export interface LogitRegion {
  /** Rows of the region (from row 0). */
  h: number;
  /** Columns of the region (from column 0). */
  w: number;
  /** Row length of the underlying map (256 for SAM's low-res masks). */
  stride: number;
}

/**
 * Stability score: IoU of the masks obtained by thresholding the logits at `threshold + offset` and at
 * `threshold - offset` (the first is always inside the second). Reads `logits[start …]` over `region`.
 * An empty loose mask scores 0 (SAM divides 0/0 = NaN, which then fails every filter: same outcome).
 */
export function stabilityScore(
  logits: ArrayLike<number>,
  start: number,
  region: LogitRegion,
  threshold: number,
  offset: number,
): number {
  const hi = threshold + offset;
  const lo = threshold - offset;
  let inter = 0;
  let union = 0;
  for (let y = 0; y < region.h; y++) {
    const row = start + y * region.stride;
    for (let x = 0; x < region.w; x++) {
      const v = logits[row + x]!;
      if (v > lo) {
        union++;
        if (v > hi) inter++;
      }
    }
  }
  return union === 0 ? 0 : inter / union;
}

/**
 * Inclusive box `[x0, y0, x1, y1]` of the cells above `threshold` in a low-res logit map, in low-res cells,
 * or null when none is. A preliminary box: the upscaled mask lies within one cell of it.
 */
export function lowResBox(
  logits: ArrayLike<number>,
  start: number,
  region: LogitRegion,
  threshold: number,
): [number, number, number, number] | null {
  let x0 = region.w;
  let y0 = region.h;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < region.h; y++) {
    const row = start + y * region.stride;
    for (let x = 0; x < region.w; x++) {
      if (logits[row + x]! > threshold) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        y1 = y;
      }
    }
  }
  return x1 < 0 ? null : [x0, y0, x1, y1];
}
