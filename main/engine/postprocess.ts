// SAM's mask postprocessing (Sam.postprocess_masks) done in plain TypeScript for ONE chosen mask, so a
// full-resolution mask never costs 4 × h × w floats from the decoder: low-res 256² logits → bilinear up to
// the input frame (inputSize²) → crop the unpadded resized region → bilinear to the original h × w → threshold.
import type { ImageGeometry } from './preprocess.js';

/** Side of SAM's low-resolution mask logits. */
export const LOW_RES = 256;

interface Axis {
  i0: Int32Array;
  i1: Int32Array;
  f: Float32Array;
}

/**
 * Sample positions for resizing `inSize` → `outSize` (PyTorch bilinear, align_corners=False), evaluated only
 * for output indices 0..count-1 (the crop), with `outSize` the full virtual output size.
 */
function axis(inSize: number, outSize: number, count: number): Axis {
  const i0 = new Int32Array(count);
  const i1 = new Int32Array(count);
  const f = new Float32Array(count);
  const scale = inSize / outSize;
  for (let o = 0; o < count; o++) {
    const src = Math.max(0, (o + 0.5) * scale - 0.5);
    const a = Math.min(Math.floor(src), inSize - 1);
    i0[o] = a;
    i1[o] = Math.min(a + 1, inSize - 1);
    f[o] = src - a;
  }
  return { i0, i1, f };
}

/** Bilinear resize of a row-major h×w plane to outH×outW using precomputed axes. */
function resizePlane(
  src: Float32Array,
  w: number,
  ax: Axis,
  ay: Axis,
  outW: number,
  outH: number,
): Float32Array {
  const h = src.length / w;
  const tmp = new Float32Array(h * outW);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    const o = y * outW;
    for (let x = 0; x < outW; x++) {
      const a = src[row + ax.i0[x]!]!;
      tmp[o + x] = a + (src[row + ax.i1[x]!]! - a) * ax.f[x]!;
    }
  }
  const out = new Float32Array(outH * outW);
  for (let y = 0; y < outH; y++) {
    const r0 = ay.i0[y]! * outW;
    const r1 = ay.i1[y]! * outW;
    const fy = ay.f[y]!;
    const o = y * outW;
    for (let x = 0; x < outW; x++) {
      const a = tmp[r0 + x]!;
      out[o + x] = a + (tmp[r1 + x]! - a) * fy;
    }
  }
  return out;
}

/**
 * Full-resolution binary mask (row-major h×w, 1 inside) from one 256×256 low-res logit map, exactly as
 * SAM's postprocess_masks followed by `> threshold`. Pure; reused by automatic mask generation.
 */
export function lowResToMask(lowRes256: Float32Array, g: ImageGeometry, threshold = 0): Uint8Array {
  if (lowRes256.length !== LOW_RES * LOW_RES) {
    throw new RangeError(`lowResToMask expects ${LOW_RES * LOW_RES} logits, got ${lowRes256.length}`);
  }
  const S = g.inputSize;
  const rw = g.resizedWidth;
  const rh = g.resizedHeight;
  // 256² → S² but only the rw × rh top-left crop is ever needed.
  const up = resizePlane(lowRes256, LOW_RES, axis(LOW_RES, S, rw), axis(LOW_RES, S, rh), rw, rh);
  const { width: w, height: h } = g;
  const ax = axis(rw, w, w);
  const ay = axis(rh, h, h);
  const tmp = new Float32Array(rh * w);
  for (let y = 0; y < rh; y++) {
    const row = y * rw;
    const o = y * w;
    for (let x = 0; x < w; x++) {
      const a = up[row + ax.i0[x]!]!;
      tmp[o + x] = a + (up[row + ax.i1[x]!]! - a) * ax.f[x]!;
    }
  }
  const out = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) {
    const r0 = ay.i0[y]! * w;
    const r1 = ay.i1[y]! * w;
    const fy = ay.f[y]!;
    const o = y * w;
    for (let x = 0; x < w; x++) {
      const a = tmp[r0 + x]!;
      out[o + x] = a + (tmp[r1 + x]! - a) * fy > threshold ? 1 : 0;
    }
  }
  return out;
}

/** Index of the mask to keep: the best of 1..n−1 by predicted IoU for an ambiguous prompt, else 0. */
export function chooseMask(
  iou: ArrayLike<number>,
  offset: number,
  masksPerPrompt: number,
  multimask: boolean,
): number {
  if (!multimask || masksPerPrompt < 2) return 0;
  let best = 1;
  for (let i = 2; i < masksPerPrompt; i++) if (iou[offset + i]! > iou[offset + best]!) best = i;
  return best;
}
