// Boxes of masks and greedy non-maximum suppression (torchvision's box_iou / nms, as SAM uses them).
import type { BoxXyxy, BoxXywh } from './types.js';

/** IoU of two XYXY boxes with torchvision's area convention (width = x1 - x0, no +1). */
export function boxIou(a: BoxXyxy, b: BoxXyxy): number {
  const areaA = (a[2] - a[0]) * (a[3] - a[1]);
  const areaB = (b[2] - b[0]) * (b[3] - b[1]);
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  const inter = iw > 0 && ih > 0 ? iw * ih : 0;
  const union = areaA + areaB - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Greedy NMS: visit boxes by descending score and drop every later box whose IoU with a kept one is above
 * `iouThresh`. Returns kept indices in visiting order (highest score first), as torchvision does. Ties keep
 * input order (a stable sort), so results are deterministic.
 */
export function nms(boxes: readonly BoxXyxy[], scores: ArrayLike<number>, iouThresh: number): number[] {
  if (scores.length !== boxes.length)
    throw new RangeError(`nms: ${boxes.length} boxes but ${scores.length} scores`);
  const order = boxes.map((_, i) => i).sort((i, j) => scores[j]! - scores[i]! || i - j);
  const suppressed = new Uint8Array(boxes.length);
  const keep: number[] = [];
  for (let oi = 0; oi < order.length; oi++) {
    const i = order[oi]!;
    if (suppressed[i]) continue;
    keep.push(i);
    for (let oj = oi + 1; oj < order.length; oj++) {
      const j = order[oj]!;
      if (!suppressed[j] && boxIou(boxes[i]!, boxes[j]!) > iouThresh) suppressed[j] = 1;
    }
  }
  return keep;
}

/**
 * Inclusive box `[x0, y0, x1, y1]` of the set pixels of a row-major mask; `[0,0,0,0]` when empty
 * (SAM's `batched_mask_to_box`).
 */
export function maskToBox(mask: ArrayLike<number>, h: number, w: number): BoxXyxy {
  if (mask.length !== h * w) throw new RangeError(`mask has ${mask.length} pixels, expected ${h}×${w}`);
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    let first = -1;
    let last = -1;
    for (let x = 0; x < w; x++) {
      if (mask[row + x]) {
        if (first < 0) first = x;
        last = x;
      }
    }
    if (first < 0) continue;
    if (y < y0) y0 = y;
    y1 = y;
    if (first < x0) x0 = first;
    if (last > x1) x1 = last;
  }
  return x1 < 0 ? [0, 0, 0, 0] : [x0, y0, x1, y1];
}

/** XYXY → XYWH without +1 (SAM's `box_xyxy_to_xywh`). */
export function boxXyxyToXywh(b: BoxXyxy): BoxXywh {
  return [b[0], b[1], b[2] - b[0], b[3] - b[1]];
}
