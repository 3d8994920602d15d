// The trained fixture (tinysam-shapes) through the fast and the plain path, for the GPU suite's agreement
// figures: the engine's GPU fast path vs its plain path, and the direct onnxruntime batched path vs the official
// one-prompt decoder. Used by bench/gpu.ts.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type ort from 'onnxruntime-node';
import { generateMasks, type AmgBackend } from '../common/amg/generate.js';
import { parseAmgOptions, type AmgOptionsInput } from '../common/amg/types.js';
import { iou as rleIou, type Rle } from '../common/rle/index.js';
import { generateMasks as generateMasksInEngine } from '../main/engine/amg/index.js';
import { decodeForSam } from '../main/engine/image.js';
import { SamEngine } from '../main/engine/index.js';
import { lowResToMask } from '../main/engine/postprocess.js';
import { normalizeToTensor } from '../main/engine/preprocess.js';
import { lowResSlice, MEAN, onePointPrompts, OrtSam, STD } from './gpu-ort.js';

/**
 * The trained fixture through the product path: the engine's fast path (GPU graphs: shared mask input,
 * mask choice + upscaling, AMG prefilter; batched decoder) against its plain path (official one-prompt
 * decoder, JS upscaling, JS filters), same provider. SPS: SAM's chosen mask for each point of an 8×8 grid;
 * MPS: the 64 points as one segmentMany call (mask 0) vs segment() one by one; AMG: SAM's defaults and the
 * fixture's tuned thresholds (docs/amg.md), mask counts and matched IoU.
 */
export async function fixtureEngineAgreement(
  provider: 'cuda' | 'cpu',
  amgBatch: number,
  cudaGraphs: 'auto' | 'off' = 'off',
) {
  const root = process.cwd();
  const dir = path.join(root, 'native-models/fixtures/tinysam-shapes');
  const fast = await SamEngine.create({
    modelDir: dir,
    provider,
    cacheDir: false,
    fastPath: 'on',
    cudaGraphs,
  });
  const plain = await SamEngine.create({ modelDir: dir, provider, cacheDir: false, fastPath: 'off' });
  const shapes = path.join(root, 'native-models/fixtures/shapes');
  const scenes = readdirSync(shapes)
    .filter((f) => /^shapes_\d+\.jpg$/.test(f))
    .slice(0, Number.parseInt(process.env.GPU_BENCH_FIXTURE_SCENES ?? '8', 10));
  // SAM's 32×32 grid; fewer points (GPU_BENCH_FIXTURE_AMG_POINTS) for a quick check on a CPU machine.
  const pointsPerSide = Number.parseInt(process.env.GPU_BENCH_FIXTURE_AMG_POINTS ?? '32', 10);
  const sps: number[] = [];
  const mps: number[] = [];
  const amg: Record<string, { counts: [number, number][]; mismatch: number; matchedIoU: number[] }> = {};
  const amgSettings: Record<string, AmgOptionsInput> = {
    defaults: { pointsPerBatch: amgBatch, pointsPerSide },
    tuned: { pointsPerBatch: amgBatch, pointsPerSide, predIouThresh: 0.7, stabilityScoreThresh: 0.75 },
  };
  try {
    for (const f of scenes) {
      const file = path.join(shapes, f);
      const [ef, ep] = [await fast.embed(file), await plain.embed(file)];
      const prompts = [];
      for (let y = 0; y < 8; y++)
        for (let x = 0; x < 8; x++)
          prompts.push({
            points: [{ x: ((x + 0.5) / 8) * ef.width, y: ((y + 0.5) / 8) * ef.height, label: 1 as const }],
          });
      const many = await fast.segmentMany(ef.key, prompts, { multimask: false, pointsPerBatch: 64 });
      for (const [i, p] of prompts.entries()) {
        const a = await fast.segment({ key: ef.key }, p);
        const b = await plain.segment({ key: ep.key }, p);
        // Two empty masks agree (pycocotools' iou would say 0).
        const agree = (x: { rle: Rle; area: number }, y: { rle: Rle; area: number }) =>
          x.area === 0 && y.area === 0 ? 1 : rleIou(x.rle, y.rle);
        sps.push(agree(a, b));
        const b0 = await plain.segment({ key: ep.key }, p, { multimask: false });
        mps.push(agree(many.masks[i]!, b0));
      }
      for (const [name, o] of Object.entries(amgSettings)) {
        const a = await generateMasksInEngine(fast, file, o);
        const b = await generateMasksInEngine(plain, file, o, { decoder: 'single' });
        const e = (amg[name] ??= { counts: [], mismatch: 0, matchedIoU: [] });
        e.counts.push([a.masks.length, b.masks.length]);
        e.mismatch += Math.abs(a.masks.length - b.masks.length);
        for (const m of a.masks)
          e.matchedIoU.push(Math.max(0, ...b.masks.map((q) => rleIou(m.segmentation, q.segmentation))));
      }
    }
  } finally {
    await fast.close();
    await plain.close();
  }
  const mean = (v: number[]) => (v.length ? v.reduce((s, x) => s + x, 0) / v.length : 1);
  return {
    model: 'tinysam-shapes fp32: engine fast path vs plain path',
    scenes: scenes.length,
    sps: { prompts: sps.length, mIoU: +mean(sps).toFixed(5), minIoU: +Math.min(...sps).toFixed(4) },
    mps: { prompts: mps.length, mIoU: +mean(mps).toFixed(5), minIoU: +Math.min(...mps).toFixed(4) },
    amg: Object.fromEntries(
      Object.entries(amg).map(([k, v]) => [
        k,
        { countsFastPlain: v.counts, countMismatch: v.mismatch, matchedMIoU: +mean(v.matchedIoU).toFixed(5) },
      ]),
    ),
  };
}

/** Mask IoU of two row-major 0/1 masks (1 when both are empty). */
function maskIou(a: Uint8Array, b: Uint8Array): number {
  let inter = 0;
  let uni = 0;
  for (let i = 0; i < a.length; i++) {
    inter += a[i]! & b[i]!;
    uni += a[i]! | b[i]!;
  }
  return uni === 0 ? 1 : inter / uni;
}

function bestOf(iou: Float32Array, prompt: number): number {
  let best = 1;
  for (let m = 2; m < 4; m++) if (iou[prompt * 4 + m]! > iou[prompt * 4 + best]!) best = m;
  return prompt * 4 + best;
}

/**
 * Trained fixture: plain path (fp32, decoder.onnx one prompt per call) vs the fast path (fp16 when exported,
 * batched decoder): mIoU of click masks over an 8×8 grid per scene, and AMG mask counts.
 */
export async function fixtureAgreement(provider: 'cuda' | 'cpu', modelsDir: string, amgBatch: number) {
  const root = process.cwd();
  const plainDir = path.join(root, 'native-models/fixtures/tinysam-shapes');
  const fp16Dir = path.join(modelsDir, 'tinysam-shapes-fp16');
  const fast = await OrtSam.load(existsSync(fp16Dir) ? fp16Dir : plainDir, provider);
  const plain = await OrtSam.load(plainDir, provider, true);
  const scenes = readdirSync(path.join(root, 'native-models/fixtures/shapes')).filter((f) =>
    /^shapes_\d+\.jpg$/.test(f),
  );
  const ious: number[] = [];
  const mismatches: number[] = [];
  const counts: [number, number][] = [];
  for (const f of scenes) {
    const img = await decodeForSam(readFileSync(path.join(root, 'native-models/fixtures/shapes', f)), 1024);
    const g = img.geometry;
    const tensor = normalizeToTensor(img.rgb, g, MEAN, STD);
    const [ff, fp] = [await fast.embed(tensor), await plain.embed(tensor)];
    const grid: number[] = [];
    for (let y = 0; y < 8; y++)
      for (let x = 0; x < 8; x++) grid.push(((x + 0.5) / 8) * g.width, ((y + 0.5) / 8) * g.height);
    const p = onePointPrompts(grid, g);
    const fo = await fast.decode(ff, p.coords, p.labels, p.n, 2);
    for (let i = 0; i < p.n; i++) {
      const po = await plain.decodeSingle(
        fp,
        p.coords.subarray(4 * i, 4 * i + 4),
        p.labels.subarray(2 * i, 2 * i + 2),
        g,
      );
      const a = lowResToMask(lowResSlice(fo.lowRes, bestOf(fo.iou, i)), g);
      const b = lowResToMask(lowResSlice(po.lowRes, bestOf(po.iou, 0)), g);
      ious.push(maskIou(a, b));
    }
    const amgWith = async (
      sam: OrtSam,
      feats: Record<string, ort.Tensor>,
      batch: number,
      single: boolean,
    ) => {
      const backend: AmgBackend = {
        maxBatch: batch,
        setCrop: async () => {},
        decode: async (pts) => {
          const q = onePointPrompts(pts, g);
          return single
            ? sam.decodeSingle(feats, q.coords, q.labels, g)
            : sam.decode(feats, q.coords, q.labels, q.n, 2);
        },
      };
      return (await generateMasks(g.height, g.width, parseAmgOptions({ pointsPerBatch: batch }), backend))
        .masks.length;
    };
    const nFast = await amgWith(fast, ff, amgBatch, false);
    const nPlain = await amgWith(plain, fp, 1, true);
    counts.push([nFast, nPlain]);
    mismatches.push(Math.abs(nFast - nPlain));
  }
  await fast.release();
  await plain.release();
  return {
    fastModel: existsSync(fp16Dir) ? 'tinysam-shapes-fp16 (batched)' : 'tinysam-shapes fp32 (batched)',
    scenes: scenes.length,
    mIoU: ious.reduce((s, v) => s + v, 0) / ious.length,
    minIoU: Math.min(...ious),
    amgCountsFastPlain: counts,
    amgCountMismatch: mismatches.reduce((s, v) => s + v, 0),
  };
}
