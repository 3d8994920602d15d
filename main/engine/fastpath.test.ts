// The fast path (GPU graphs) against the plain path, both on CPU here: same model, same images. They differ
// only in where pixels are processed, so masks must agree up to float rounding at the threshold — the
// issue's bar is mIoU ≥ 0.99 for clicks / many prompts and ≥ 0.98 for AMG.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, iou } from '../../common/rle/index.js';
import { boxesToMasks, generateMasks } from './amg/index.js';
import { promptFeeds } from './feeds.js';
import { turboJpegReason } from './image.js';
import { fixtureModelDir, fixtureShapesDir, SamEngine, type Prompt } from './index.js';
import type { EncodedPrompt } from './prompt.js';
import { instanceMask, interiorPoint, loadGroundTruth, maskBox, scenePaths } from './testing.js';

let fast: SamEngine;
let plain: SamEngine;
beforeAll(async () => {
  [fast, plain] = await Promise.all([
    SamEngine.create({ modelDir: fixtureModelDir(), provider: 'cpu', cacheDir: false, fastPath: 'on' }),
    SamEngine.create({ modelDir: fixtureModelDir(), provider: 'cpu', cacheDir: false, fastPath: 'off' }),
  ]);
});
afterAll(async () => {
  await Promise.all([fast?.close(), plain?.close()]);
});

async function sceneShapes(
  scene: string,
): Promise<{ image: string; points: Prompt[]; boxes: [number, number, number, number][] }> {
  const p = scenePaths(fixtureShapesDir(), scene);
  const gt = await loadGroundTruth(p.ids);
  const points: Prompt[] = [];
  const boxes: [number, number, number, number][] = [];
  for (const id of gt.instances) {
    const m = instanceMask(gt, id);
    const { x, y } = interiorPoint(m, gt.width, gt.height);
    points.push({ points: [{ x, y, label: 1 }] });
    boxes.push(maskBox(m, gt.width, gt.height));
  }
  return { image: p.image, points, boxes };
}

/**
 * Fast vs plain IoU of each full-size click replayed on a 512×360 version of its scene. At half size a few
 * shapes are beyond this tiny model (masks of a few dozen pixels, on both paths); those flip on any
 * resampling difference, so only object-sized masks (≥ 1000 px) are compared.
 */
async function halfSizeIous(file: Uint8Array, points: Prompt[]): Promise<number[]> {
  const ious: number[] = [];
  for (const prompt of points) {
    const p: Prompt = { points: prompt.points!.map((q) => ({ ...q, x: q.x / 2, y: q.y / 2 })) };
    const a = await fast.segment(file, p);
    const b = await plain.segment(file, p);
    expect([a.width, a.height]).toEqual([512, 360]);
    if (b.area >= 1000) ious.push(iou(a.rle, b.rle));
  }
  return ious;
}

describe('fast path', () => {
  it('reports itself: on when asked, off with the reason otherwise, and the decoder takes a shared mask input', async () => {
    expect(fast.describe().fastPath).toEqual({
      active: true,
      reason: null,
      broadcastMaskInput: true,
      encoderPreprocess: null,
      amgDecoder: 'the model has no AMG decoder (manifest files.decoderAmg)',
      amgResident: false,
      amgResidentReason: 'CPU provider: CUDA graphs need CUDA',
      // The default (auto) on a CPU machine.
      cudaGraphs: 'CPU provider: CUDA graphs need CUDA',
      // libjpeg-turbo where it is installed (CI installs it), else the reason.
      imageDecode: process.env.MASKROOM_REQUIRE_ORTX === '1' ? null : turboJpegReason(),
      // Without the graph runtime, in the decoder's own session.
      postprocess: 'decoder',
    });
    expect(plain.describe().fastPath.active).toBe(false);
    expect(plain.describe().fastPath.postprocess).toBeNull();
    const auto = await SamEngine.create({ modelDir: fixtureModelDir(), provider: 'cpu', cacheDir: false });
    try {
      expect(auto.describe().fastPath.active).toBe(false);
      expect(auto.describe().fastPath.reason).toMatch(/CPU/);
    } finally {
      await auto.close();
    }
    await expect(
      SamEngine.create({
        modelDir: fixtureModelDir(),
        provider: 'cpu',
        cacheDir: false,
        fastPath: 'fast' as 'on',
      }),
    ).rejects.toThrow(/fastPath/);
  });

  it('gives the plain path’s click masks (mIoU ≥ 0.99), mask choice and scores', async () => {
    const ious: number[] = [];
    for (const scene of ['shapes_00', 'shapes_03', 'shapes_05']) {
      const { image, points } = await sceneShapes(scene);
      for (const prompt of points) {
        const a = await fast.segment(image, prompt);
        const b = await plain.segment(image, prompt);
        expect(a.maskIndex).toBe(b.maskIndex);
        expect(a.score).toBeCloseTo(b.score, 3);
        expect(a.lowRes.length).toBe(256 * 256);
        ious.push(iou(a.rle, b.rle));
      }
    }
    const mean = ious.reduce((s, v) => s + v, 0) / ious.length;
    expect(mean).toBeGreaterThanOrEqual(0.99);
    expect(Math.min(...ious)).toBeGreaterThan(0.97);
  });

  it('upscales small images on the way in: object masks still match the plain path (IoU ≥ 0.98 each)', async () => {
    const { image, points } = await sceneShapes('shapes_01');
    // Half size: the plain path resizes with sharp, the fast path in its preprocessing graph.
    const small = await sharp(readFileSync(image)).resize(512, 360).png().toBuffer();
    const ious = await halfSizeIous(small, points);
    expect(ious.length).toBeGreaterThanOrEqual(3);
    expect(Math.min(...ious)).toBeGreaterThanOrEqual(0.98);
  });

  it('applies EXIF orientation before the GPU resize: a rotated half-size file gives the plain path’s masks', async () => {
    const { image, points } = await sceneShapes('shapes_03');
    // Stored rotated 90° counter-clockwise and tagged "rotate 90° CW to display" (orientation 6).
    // Two pipelines: within one, sharp rotates before it resizes.
    const small = await sharp(readFileSync(image)).resize(512, 360).png().toBuffer();
    const rotated = await sharp(small)
      .rotate(270)
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const ious = await halfSizeIous(rotated, points);
    // A wrong orientation would give unrelated masks (IoU near 0); resampling differences at half size
    // move a few boundary pixels of these 4–25k-pixel objects.
    expect(ious.length).toBeGreaterThanOrEqual(2);
    expect(Math.min(...ious)).toBeGreaterThanOrEqual(0.95);
    expect(ious.reduce((t, v) => t + v, 0) / ious.length).toBeGreaterThanOrEqual(0.98);
  });

  it('segmentMany: one batched call gives each prompt’s segment() mask, on both paths', async () => {
    const { image, points } = await sceneShapes('shapes_02');
    for (const engine of [fast, plain]) {
      const { key } = await engine.embed(image);
      const many = await engine.segmentMany(key, points, { pointsPerBatch: 4 });
      expect(many.masks).toHaveLength(points.length);
      for (const [i, prompt] of points.entries()) {
        const one = await engine.segment({ key }, prompt);
        expect(iou(many.masks[i]!.rle, one.rle)).toBeGreaterThan(0.999);
        expect(many.masks[i]!.maskIndex).toBe(one.maskIndex);
        expect(many.masks[i]!.area).toBe(decode(many.masks[i]!.rle).reduce((s, v) => s + v, 0));
      }
    }
    await expect(fast.segmentMany('0'.repeat(64), points)).rejects.toThrow(/embedding/);
    const { key } = await fast.embed(image);
    await expect(fast.segmentMany(key, [])).rejects.toThrow(/non-empty/);
    await expect(fast.segmentMany(key, points, { pointsPerBatch: 0 })).rejects.toThrow(/pointsPerBatch/);
  });

  it('boxes → masks agree with the plain path (IoU ≥ 0.99 each)', async () => {
    const { image, boxes } = await sceneShapes('shapes_04');
    const a = await boxesToMasks(fast, image, boxes);
    const b = await boxesToMasks(plain, image, boxes);
    expect(a.masks).toHaveLength(boxes.length);
    a.masks.forEach((m, i) => {
      const o = b.masks[i]!;
      expect(m.rle && o.rle).toBeTruthy();
      expect(iou(m.rle!, o.rle!)).toBeGreaterThanOrEqual(0.99);
      expect(m.predictedIou).toBeCloseTo(o.predictedIou, 3);
    });
  });

  it('AMG with the GPU prefilter finds the same masks as the plain generator (count equal, each IoU ≥ 0.98)', async () => {
    const options = { pointsPerSide: 10, predIouThresh: 0.7, stabilityScoreThresh: 0.75 };
    for (const scene of ['shapes_06']) {
      const image = path.join(fixtureShapesDir(), `${scene}.jpg`);
      const a = await generateMasks(fast, image, options);
      const b = await generateMasks(plain, image, options);
      expect(a.masks.length).toBeGreaterThan(0);
      expect(a.masks.length).toBe(b.masks.length);
      for (const m of a.masks) {
        const best = Math.max(...b.masks.map((o) => iou(m.segmentation, o.segmentation)));
        expect(best).toBeGreaterThanOrEqual(0.98);
      }
      // The prefilter ran: the generator saw survivors only, yet counted every candidate.
      expect(a.stats.candidates).toBe(b.stats.candidates);
    }
  });

  it('one shared zero mask input gives the per-prompt zeros outputs (the fixture decoder broadcasts)', async () => {
    const s = await ort.InferenceSession.create(path.join(fixtureModelDir(), 'decoder_batched.onnx'));
    const emb = Float32Array.from({ length: 256 * 64 * 64 }, (_, i) => Math.cos(i * 0.013));
    const prompts: EncodedPrompt[] = [0, 1, 2].map((k) => ({
      coords: Float32Array.of(200 + 150 * k, 300 + 80 * k),
      labels: Float32Array.of(1),
      ambiguous: true,
    }));
    const feeds = { image_embeddings: new ort.Tensor('float32', emb, [1, 256, 64, 64]) };
    const shared = promptFeeds(prompts, true);
    expect(shared.mask_input!.dims).toEqual([1, 1, 256, 256]);
    const a = await s.run({ ...feeds, ...shared });
    const b = await s.run({ ...feeds, ...promptFeeds(prompts, false) });
    expect(a.low_res_masks!.dims).toEqual([3, 4, 256, 256]);
    expect(a.low_res_masks!.data).toEqual(b.low_res_masks!.data);
    // A prompt that carries a mask forces one plane per prompt.
    const withMask = promptFeeds([{ ...prompts[0]!, maskInput: new Float32Array(65536) }, prompts[1]!], true);
    expect(withMask.mask_input!.dims).toEqual([2, 1, 256, 256]);
    await s.release();
  });
});
