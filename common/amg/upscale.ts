// SAM's mask post-processing (Sam.postprocess_masks, and the same graph in the official ONNX export) as
// one separable linear map: 256² low-res logits → bilinear to 1024² → crop to the resized image → bilinear
// to the original size (both bilinear steps with align_corners=False). Each output row (column) is a fixed
// combination of at most four low-res rows (columns), so any pixel, row, column or box of the upscaled
// mask can be computed without materialising the H×W logits: boxes cost O(perimeter), RLE columns O(area)
// with O(H) memory.
import type { BoxXyxy } from './types.js';
import type { LogitRegion } from './stability.js';

/** Size of SAM's low-resolution masks and of the model input frame. */
export const LOW_RES = 256;
export const INPUT_SIZE = 1024;

/** Taps of one output index: up to four (source index, weight) pairs, weights summing to 1. */
interface Taps {
  idx: Int32Array; // [n * 4]
  wt: Float64Array; // [n * 4]
}

/** SAM's ResizeLongestSide.get_preprocess_shape: the size of an image resized so its long side is `target`. */
export function resizedShape(h: number, w: number, target = INPUT_SIZE): [number, number] {
  const scale = target / Math.max(h, w);
  return [Math.floor(h * scale + 0.5), Math.floor(w * scale + 0.5)];
}

// PyTorch upsample_bilinear2d (align_corners=False): src = (dst + 0.5) * in/out - 0.5, clamped at 0.
function linearTaps(inLen: number, outLen: number): { i0: Int32Array; i1: Int32Array; l: Float64Array } {
  const scale = inLen / outLen;
  const i0 = new Int32Array(outLen);
  const i1 = new Int32Array(outLen);
  const l = new Float64Array(outLen);
  for (let d = 0; d < outLen; d++) {
    const src = Math.max((d + 0.5) * scale - 0.5, 0);
    const a = Math.min(Math.floor(src), inLen - 1);
    i0[d] = a;
    i1[d] = Math.min(a + 1, inLen - 1);
    l[d] = src - a;
  }
  return { i0, i1, l };
}

// Composes low(256) → input(1024), keep first `resized`, → out.
function composedTaps(resized: number, outLen: number): Taps {
  const s1 = linearTaps(LOW_RES, INPUT_SIZE);
  const s2 = linearTaps(resized, outLen);
  const idx = new Int32Array(outLen * 4);
  const wt = new Float64Array(outLen * 4);
  for (let d = 0; d < outLen; d++) {
    const a = s2.i0[d]!;
    const b = s2.i1[d]!;
    const lb = s2.l[d]!;
    const pairs: [number, number][] = [
      [s1.i0[a]!, (1 - lb) * (1 - s1.l[a]!)],
      [s1.i1[a]!, (1 - lb) * s1.l[a]!],
      [s1.i0[b]!, lb * (1 - s1.l[b]!)],
      [s1.i1[b]!, lb * s1.l[b]!],
    ];
    for (let k = 0; k < 4; k++) {
      idx[d * 4 + k] = pairs[k]![0];
      wt[d * 4 + k] = pairs[k]![1];
    }
  }
  return { idx, wt };
}

function maxTapIndex(t: Taps): number {
  let m = 0;
  for (let k = 0; k < t.idx.length; k++) if (t.wt[k]! > 0 && t.idx[k]! > m) m = t.idx[k]!;
  return m;
}

// Output indices whose taps (with nonzero weight) touch [lo, hi].
function touchingRange(t: Taps, n: number, lo: number, hi: number): [number, number] {
  let first = -1;
  let last = -1;
  for (let d = 0; d < n; d++) {
    for (let k = 0; k < 4; k++) {
      const i = t.idx[d * 4 + k]!;
      if (t.wt[d * 4 + k]! > 0 && i >= lo && i <= hi) {
        if (first < 0) first = d;
        last = d;
        break;
      }
    }
  }
  return [first, last];
}

/**
 * Upscales low-res mask logits of one image (or crop) of size h×w exactly as SAM does, one row, column or
 * box at a time. Logit maps are read as `logits[start + row * 256 + col]`.
 */
export class MaskUpscaler {
  /** Valid part of the 256² map: the low-res cells that influence the output; stability is computed on it. */
  readonly region: LogitRegion;
  private readonly ty: Taps;
  private readonly tx: Taps;
  private readonly colBuf: Float64Array;
  private readonly rowBuf: Float64Array;

  constructor(
    readonly h: number,
    readonly w: number,
  ) {
    if (!(Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0))
      throw new RangeError(`bad image size ${h}×${w}`);
    const [rh, rw] = resizedShape(h, w);
    this.ty = composedTaps(rh, h);
    this.tx = composedTaps(rw, w);
    this.region = { h: maxTapIndex(this.ty) + 1, w: maxTapIndex(this.tx) + 1, stride: LOW_RES };
    this.colBuf = new Float64Array(LOW_RES);
    this.rowBuf = new Float64Array(LOW_RES);
  }

  /** Upscaled logit at (x, y). */
  valueAt(logits: ArrayLike<number>, start: number, x: number, y: number): number {
    let v = 0;
    for (let a = 0; a < 4; a++) {
      const wy = this.ty.wt[y * 4 + a]!;
      if (wy === 0) continue;
      const row = start + this.ty.idx[y * 4 + a]! * LOW_RES;
      for (let b = 0; b < 4; b++) {
        const wx = this.tx.wt[x * 4 + b]!;
        if (wx !== 0) v += wy * wx * logits[row + this.tx.idx[x * 4 + b]!]!;
      }
    }
    return v;
  }

  // Low-res rows [r0, r1] interpolated to output column x, into colBuf.
  private column(logits: ArrayLike<number>, start: number, x: number, r0: number, r1: number): Float64Array {
    const buf = this.colBuf;
    for (let i = r0; i <= r1; i++) {
      const row = start + i * LOW_RES;
      let v = 0;
      for (let b = 0; b < 4; b++) v += this.tx.wt[x * 4 + b]! * logits[row + this.tx.idx[x * 4 + b]!]!;
      buf[i] = v;
    }
    return buf;
  }

  // Low-res columns [c0, c1] interpolated to output row y, into rowBuf.
  private row(logits: ArrayLike<number>, start: number, y: number, c0: number, c1: number): Float64Array {
    const buf = this.rowBuf;
    buf.fill(0, c0, c1 + 1);
    for (let a = 0; a < 4; a++) {
      const wy = this.ty.wt[y * 4 + a]!;
      if (wy === 0) continue;
      const row = start + this.ty.idx[y * 4 + a]! * LOW_RES;
      for (let j = c0; j <= c1; j++) buf[j]! += wy * logits[row + j]!;
    }
    return buf;
  }

  private rowHas(
    logits: ArrayLike<number>,
    start: number,
    y: number,
    xs: [number, number],
    cs: [number, number],
    threshold: number,
  ): boolean {
    const r = this.row(logits, start, y, cs[0], cs[1]);
    for (let x = xs[0]; x <= xs[1]; x++) {
      let v = 0;
      for (let b = 0; b < 4; b++) v += this.tx.wt[x * 4 + b]! * r[this.tx.idx[x * 4 + b]!]!;
      if (v > threshold) return true;
    }
    return false;
  }

  private colHas(
    logits: ArrayLike<number>,
    start: number,
    x: number,
    ys: [number, number],
    rs: [number, number],
    threshold: number,
  ): boolean {
    const c = this.column(logits, start, x, rs[0], rs[1]);
    for (let y = ys[0]; y <= ys[1]; y++) {
      let v = 0;
      for (let a = 0; a < 4; a++) v += this.ty.wt[y * 4 + a]! * c[this.ty.idx[y * 4 + a]!]!;
      if (v > threshold) return true;
    }
    return false;
  }

  /**
   * Inclusive box of the upscaled mask (logit > threshold) in this image's pixels, or null when empty.
   * `lowBox` is the {@link lowResBox} of the same map: the mask can only lie where its taps touch it.
   */
  box(
    logits: ArrayLike<number>,
    start: number,
    threshold: number,
    lowBox: [number, number, number, number],
  ): BoxXyxy | null {
    const [lx0, ly0, lx1, ly1] = lowBox;
    const ys = touchingRange(this.ty, this.h, ly0, ly1);
    const xs = touchingRange(this.tx, this.w, lx0, lx1);
    if (ys[0] < 0 || xs[0] < 0) return null;
    // Low-res cells feeding the candidate rows/columns: one output index spans at most three consecutive
    // cells, so two cells of margin cover every tap of an index that touches the low-res box.
    const cs: [number, number] = [Math.max(0, lx0 - 2), Math.min(LOW_RES - 1, lx1 + 2)];
    const rs: [number, number] = [Math.max(0, ly0 - 2), Math.min(LOW_RES - 1, ly1 + 2)];
    let y0 = -1;
    for (let y = ys[0]; y <= ys[1]; y++) {
      if (this.rowHas(logits, start, y, xs, cs, threshold)) {
        y0 = y;
        break;
      }
    }
    if (y0 < 0) return null;
    let y1 = y0;
    for (let y = ys[1]; y > y0; y--) {
      if (this.rowHas(logits, start, y, xs, cs, threshold)) {
        y1 = y;
        break;
      }
    }
    let x0 = xs[0];
    for (let x = xs[0]; x <= xs[1]; x++) {
      if (this.colHas(logits, start, x, [y0, y1], rs, threshold)) {
        x0 = x;
        break;
      }
    }
    let x1 = x0;
    for (let x = xs[1]; x > x0; x--) {
      if (this.colHas(logits, start, x, [y0, y1], rs, threshold)) {
        x1 = x;
        break;
      }
    }
    return [x0, y0, x1, y1];
  }

  /** The upscaled mask as a row-major 0/1 image of h×w (for small-region post-processing and tests). */
  mask(logits: ArrayLike<number>, start: number, threshold: number): Uint8Array {
    const out = new Uint8Array(this.h * this.w);
    for (let y = 0; y < this.h; y++) {
      const r = this.row(logits, start, y, 0, this.region.w - 1);
      for (let x = 0; x < this.w; x++) {
        let v = 0;
        for (let b = 0; b < 4; b++) v += this.tx.wt[x * 4 + b]! * r[this.tx.idx[x * 4 + b]!]!;
        out[y * this.w + x] = v > threshold ? 1 : 0;
      }
    }
    return out;
  }

  /**
   * COCO run lengths (column-major, starting with a 0-run) of the upscaled mask pasted at (offX, offY) into an
   * imH×imW frame (SAM's uncrop_masks), computed column by column in O(imH) memory. `box` (from {@link box})
   * bounds the work. Returns the counts and the area.
   */
  rleCounts(
    logits: ArrayLike<number>,
    start: number,
    threshold: number,
    box: BoxXyxy,
    frame: { imH: number; imW: number; offX: number; offY: number },
  ): { counts: number[]; area: number } {
    const { imH, imW, offX, offY } = frame;
    if (offX < 0 || offY < 0 || offX + this.w > imW || offY + this.h > imH)
      throw new RangeError('crop does not fit in the image frame');
    const counts: number[] = [];
    let cur = 0; // value of the current run
    let run = 0;
    let area = 0;
    const push = (v: number, n: number) => {
      if (n === 0) return;
      if (v === cur) run += n;
      else {
        counts.push(run);
        cur = v;
        run = n;
      }
    };
    const [bx0, by0, bx1, by1] = box;
    // Only the low-res rows that rows by0..by1 read (taps grow with the row index).
    const rs: [number, number] = [LOW_RES, 0];
    for (const y of [by0, by1]) {
      for (let a = 0; a < 4; a++) {
        const i = this.ty.idx[y * 4 + a]!;
        if (i < rs[0]) rs[0] = i;
        if (i > rs[1]) rs[1] = i;
      }
    }
    // Everything before column offX + bx0 is background.
    push(0, (offX + bx0) * imH);
    for (let x = bx0; x <= bx1; x++) {
      push(0, offY + by0);
      const c = this.column(logits, start, x, rs[0], rs[1]);
      for (let y = by0; y <= by1; y++) {
        let v = 0;
        for (let a = 0; a < 4; a++) v += this.ty.wt[y * 4 + a]! * c[this.ty.idx[y * 4 + a]!]!;
        const bit = v > threshold ? 1 : 0;
        area += bit;
        push(bit, 1);
      }
      push(0, imH - (offY + by1 + 1));
    }
    push(0, (imW - (offX + bx1 + 1)) * imH);
    counts.push(run);
    return { counts, area };
  }
}
