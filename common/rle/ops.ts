import { RleError } from './errors.js';
import type { AnyRle, RleCounts } from './types.js';
import { checkSameSize, countsOf } from './validate.js';

/** Number of pixels inside (the sum of the odd-indexed runs). */
export function area(rle: AnyRle): number {
  const counts = countsOf(rle);
  let a = 0;
  for (let i = 1; i < counts.length; i += 2) a += counts[i]!;
  return a;
}

/**
 * Drops zero-length runs after the first (the first may be 0: the mask starts inside). Masks encoded here
 * or by pycocotools never have them, but hand-made or merged RLEs may, and pycocotools' toBbox then reports
 * a box for an empty mask.
 */
function withoutEmptyRuns(counts: number[]): number[] {
  let clean = true;
  for (let i = 1; i < counts.length; i++) if (counts[i] === 0) clean = false;
  if (clean) return counts;
  const out = [counts[0]!];
  for (let i = 1; i < counts.length; i++) {
    const c = counts[i]!;
    if (c !== 0) out.push(c);
    else if (i + 1 < counts.length) out[out.length - 1]! += counts[++i]!;
  }
  return out;
}

/**
 * [x, y, w, h] of the pixels inside, like pycocotools `toBbox` (all zeros for an empty mask). Computed from
 * the runs: a run that spans a column boundary covers full columns in between, so the box gets full height.
 */
export function toBbox(rle: AnyRle): [number, number, number, number] {
  const counts = withoutEmptyRuns(countsOf(rle));
  const h = rle.size[0];
  const w = rle.size[1];
  const m = Math.floor(counts.length / 2) * 2;
  if (m === 0) return [0, 0, 0, 0];
  let xs = w;
  let ys = h;
  let xe = 0;
  let ye = 0;
  let cc = 0;
  let xp = 0;
  for (let j = 0; j < m; j++) {
    cc += counts[j]!;
    // Even j: first pixel of a 1-run; odd j: its last pixel.
    const t = cc - (j % 2);
    const y = t % h;
    const x = (t - y) / h;
    if (j % 2 === 0) xp = x;
    else if (xp < x) {
      ys = 0;
      ye = h - 1;
    }
    xs = Math.min(xs, x);
    xe = Math.max(xe, x);
    ys = Math.min(ys, y);
    ye = Math.max(ye, y);
  }
  return [xs, ys, xe - xs + 1, ye - ys + 1];
}

/** Union or intersection of two count lists (pycocotools rleMerge's inner loop, so the runs match it). */
function mergeTwo(A: number[], B: number[], intersect: boolean): number[] {
  const out: number[] = [];
  let ca = A[0] ?? 0;
  let cb = B[0] ?? 0;
  let va = false;
  let vb = false;
  let v = false;
  let a = 1;
  let b = 1;
  let cc = 0;
  let ct = 1;
  while (ct > 0) {
    const c = Math.min(ca, cb);
    cc += c;
    ct = 0;
    ca -= c;
    if (!ca && a < A.length) {
      ca = A[a++]!;
      va = !va;
    }
    ct += ca;
    cb -= c;
    if (!cb && b < B.length) {
      cb = B[b++]!;
      vb = !vb;
    }
    ct += cb;
    const vp: boolean = v;
    v = intersect ? va && vb : va || vb;
    if (v !== vp || ct === 0) {
      out.push(cc);
      cc = 0;
    }
  }
  return out;
}

/**
 * Union (default) or intersection of same-size masks, on the runs (never decoded to pixels). Same runs as
 * pycocotools `merge`. Throws RleError 'size-mismatch' for masks of different sizes and 'bad-size' for an
 * empty list (it has no size).
 */
export function merge(rles: AnyRle[], intersect = false): RleCounts {
  if (!Array.isArray(rles) || rles.length === 0) {
    throw new RleError('bad-size', 'merge needs at least one mask (an empty list has no size)');
  }
  const first = rles[0]!;
  let counts = countsOf(first);
  if (rles.length === 1) counts = counts.slice();
  for (let i = 1; i < rles.length; i++) {
    const r = rles[i]!;
    checkSameSize(first, r, `merge (mask ${i})`);
    counts = mergeTwo(counts, countsOf(r), intersect);
  }
  return { size: [first.size[0], first.size[1]], counts };
}

/**
 * Intersection over union of two same-size masks, on the runs; pycocotools `iou` with iscrowd=0 (0 when
 * the masks do not overlap, including two empty masks). With `bIsCrowd`, the union is the area of `a`
 * (COCO's crowd rule: `b` is a crowd region). Throws RleError 'size-mismatch'.
 */
export function iou(a: AnyRle, b: AnyRle, bIsCrowd = false): number {
  const A = countsOf(a);
  const B = countsOf(b);
  checkSameSize(a, b, 'iou');
  let ca = A[0] ?? 0;
  let cb = B[0] ?? 0;
  let va = false;
  let vb = false;
  let ia = 1;
  let ib = 1;
  let inter = 0;
  let union = 0;
  let ct = 1;
  while (ct > 0) {
    const c = Math.min(ca, cb);
    if (va || vb) {
      union += c;
      if (va && vb) inter += c;
    }
    ct = 0;
    ca -= c;
    if (!ca && ia < A.length) {
      ca = A[ia++]!;
      va = !va;
    }
    ct += ca;
    cb -= c;
    if (!cb && ib < B.length) {
      cb = B[ib++]!;
      vb = !vb;
    }
    ct += cb;
  }
  if (inter === 0) return 0;
  if (bIsCrowd) {
    union = 0;
    for (let i = 1; i < A.length; i += 2) union += A[i]!;
  }
  return inter / union;
}
