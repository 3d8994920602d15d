import ort from 'onnxruntime-node';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtureModelDir } from './index.js';
import { chooseMask, LOW_RES, lowResToMask } from './postprocess.js';
import { geometryFor, toInputFrame } from './preprocess.js';
import { maskIou } from './testing.js';

describe('lowResToMask', () => {
  it("matches the official decoder's full-resolution masks output (SAM postprocess_masks)", async () => {
    const dec = await ort.InferenceSession.create(path.join(fixtureModelDir(), 'decoder.onnx'));
    // A smooth, structured embedding gives non-trivial masks without running the encoder.
    const emb = new Float32Array(256 * 64 * 64);
    for (let c = 0; c < 256; c++)
      for (let i = 0; i < 4096; i++)
        emb[c * 4096 + i] = Math.sin(c * 0.37 + (i % 64) * 0.11 + (i >> 6) * 0.07);
    for (const [w, h] of [
      [1024, 720],
      [333, 517],
      [1600, 1200],
    ] as const) {
      const g = geometryFor(w, h, 1024);
      const [px, py] = toInputFrame(g, w * 0.4, h * 0.6);
      const out = await dec.run({
        image_embeddings: new ort.Tensor('float32', emb, [1, 256, 64, 64]),
        point_coords: new ort.Tensor('float32', Float32Array.of(px, py, 0, 0), [1, 2, 2]),
        point_labels: new ort.Tensor('float32', Float32Array.of(1, -1), [1, 2]),
        mask_input: new ort.Tensor('float32', new Float32Array(LOW_RES * LOW_RES), [1, 1, 256, 256]),
        has_mask_input: new ort.Tensor('float32', Float32Array.of(0), [1]),
        orig_im_size: new ort.Tensor('float32', Float32Array.of(h, w), [2]),
      });
      const low = out.low_res_masks!.data as Float32Array;
      const full = out.masks!.data as Float32Array;
      expect(out.masks!.dims).toEqual([1, 4, h, w]);
      let compared = 0;
      for (let m = 0; m < 4; m++) {
        const ours = lowResToMask(low.subarray(m * 65536, (m + 1) * 65536), g);
        const theirs = new Uint8Array(h * w);
        let inside = 0;
        for (let i = 0; i < h * w; i++) inside += theirs[i] = full[m * h * w + i]! > 0 ? 1 : 0;
        if (inside < 50) continue;
        expect(maskIou(ours, theirs)).toBeGreaterThan(0.995);
        compared++;
      }
      expect(compared).toBeGreaterThan(0);
    }
    await dec.release();
  });

  it('upsamples a low-res square into the matching full-resolution square', () => {
    const low = new Float32Array(65536).fill(-10);
    // Input frame 1024: image 2048×1024 → resized 1024×512, so low-res covers x 0..255, y 0..127.
    for (let y = 32; y < 96; y++) for (let x = 64; x < 192; x++) low[y * 256 + x] = 10;
    const g = geometryFor(2048, 1024, 1024);
    const m = lowResToMask(low, g);
    expect(m.length).toBe(2048 * 1024);
    // low-res pixel 64 ↔ original x 64·8 = 512; 32 ↔ y 256; the edge lands within a pixel or two.
    expect(m[300 * 2048 + 600]).toBe(1);
    expect(m[300 * 2048 + 505]).toBe(0);
    expect(m[250 * 2048 + 600]).toBe(0);
    let area = 0;
    for (const v of m) area += v;
    expect(Math.abs(area - 1024 * 512) / (1024 * 512)).toBeLessThan(0.01);
  });

  it('refuses a wrong-sized input', () => {
    expect(() => lowResToMask(new Float32Array(100), geometryFor(10, 10, 1024))).toThrow(RangeError);
  });
});

describe('chooseMask', () => {
  it('picks the best multimask output by predicted IoU, else mask 0', () => {
    const iou = Float32Array.of(0.99, 0.2, 0.9, 0.5);
    expect(chooseMask(iou, 0, 4, true)).toBe(2);
    expect(chooseMask(iou, 0, 4, false)).toBe(0);
    expect(chooseMask(Float32Array.of(0, 0, 0, 0, 0.1, 0.7, 0.3, 0.2), 4, 4, true)).toBe(1);
  });
});
