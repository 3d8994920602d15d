import { describe, expect, it } from 'vitest';
import { countsFromString, countsToString, encode } from '../rle/index.js';
import { maskToBox } from './boxes.js';
import { lowResBox } from './stability.js';
import { MaskUpscaler, resizedShape } from './upscale.js';

// Reference: SAM's postprocess_masks done literally, stage by stage, as full float arrays.
function bilinear(src: Float64Array, ih: number, iw: number, oh: number, ow: number): Float64Array {
  const out = new Float64Array(oh * ow);
  const sy = ih / oh;
  const sx = iw / ow;
  for (let y = 0; y < oh; y++) {
    const fy = Math.max((y + 0.5) * sy - 0.5, 0);
    const y0 = Math.min(Math.floor(fy), ih - 1);
    const y1 = Math.min(y0 + 1, ih - 1);
    const ly = fy - y0;
    for (let x = 0; x < ow; x++) {
      const fx = Math.max((x + 0.5) * sx - 0.5, 0);
      const x0 = Math.min(Math.floor(fx), iw - 1);
      const x1 = Math.min(x0 + 1, iw - 1);
      const lx = fx - x0;
      out[y * ow + x] =
        (1 - ly) * ((1 - lx) * src[y0 * iw + x0]! + lx * src[y0 * iw + x1]!) +
        ly * ((1 - lx) * src[y1 * iw + x0]! + lx * src[y1 * iw + x1]!);
    }
  }
  return out;
}

function referenceMask(low: Float32Array, h: number, w: number): Uint8Array {
  const up = bilinear(Float64Array.from(low), 256, 256, 1024, 1024);
  const [rh, rw] = resizedShape(h, w);
  const cropped = new Float64Array(rh * rw);
  for (let y = 0; y < rh; y++) for (let x = 0; x < rw; x++) cropped[y * rw + x] = up[y * 1024 + x]!;
  const fin = bilinear(cropped, rh, rw, h, w);
  return Uint8Array.from(fin, (v) => (v > 0 ? 1 : 0));
}

// Smooth random blobs, so masks have real edges.
function blobs(seed: number): Float32Array {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const centres = Array.from({ length: 4 }, () => [rnd() * 200 + 10, rnd() * 120 + 10, rnd() * 30 + 8]);
  const out = new Float32Array(256 * 256);
  for (let y = 0; y < 256; y++) {
    for (let x = 0; x < 256; x++) {
      let v = -8;
      for (const [cx, cy, r] of centres) v = Math.max(v, (r! - Math.hypot(x - cx!, y - cy!)) / 3);
      out[y * 256 + x] = v;
    }
  }
  return out;
}

describe('MaskUpscaler', () => {
  it.each([
    [540, 960],
    [300, 200],
    [1024, 1024],
  ])('equals SAM postprocess_masks done stage by stage (%i×%i)', (h, w) => {
    const low = blobs(h * 7 + w);
    const up = new MaskUpscaler(h, w);
    const ref = referenceMask(low, h, w);
    const got = up.mask(low, 0, 0);
    let diff = 0;
    for (let i = 0; i < ref.length; i++) if (ref[i] !== got[i]) diff++;
    expect(diff).toBe(0);

    const lb = lowResBox(low, 0, up.region, 0)!;
    expect(up.box(low, 0, 0, lb)).toEqual(maskToBox(ref, h, w));
  });

  it('writes the column-major RLE of the mask pasted into a larger frame', () => {
    const low = blobs(99);
    const h = 120;
    const w = 200;
    const up = new MaskUpscaler(h, w);
    const m = up.mask(low, 0, 0);
    const box = up.box(low, 0, 0, lowResBox(low, 0, up.region, 0)!)!;
    const imH = 300;
    const imW = 500;
    const offX = 37;
    const offY = 81;
    const framed = new Uint8Array(imH * imW);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) framed[(y + offY) * imW + x + offX] = m[y * w + x]!;
    const expected = encode(framed, imH, imW);
    const got = up.rleCounts(low, 0, 0, box, { imH, imW, offX, offY });
    expect(got.counts).toEqual(expected.counts);
    expect(got.area).toBe(framed.reduce((a, b) => a + b, 0));
    expect(got.counts.reduce((a, b) => a + b, 0)).toBe(imH * imW);
  });

  it('limits the valid low-res region to the unpadded part', () => {
    // 540×960 → resized 576×1024; the last kept input row (575) samples low-res rows 143 and 144.
    const up = new MaskUpscaler(540, 960);
    expect(up.region.w).toBe(256);
    expect(up.region.h).toBe(145);
  });

  it('gives counts that survive the shared RLE string codec', () => {
    const low = blobs(5);
    const up = new MaskUpscaler(64, 48);
    const box = up.box(low, 0, 0, lowResBox(low, 0, up.region, 0)!)!;
    const { counts } = up.rleCounts(low, 0, 0, box, { imH: 64, imW: 48, offX: 0, offY: 0 });
    expect(countsFromString(countsToString(counts))).toEqual(counts);
  });
});
