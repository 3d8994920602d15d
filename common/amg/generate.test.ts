import { describe, expect, it } from 'vitest';
import { area, compress, decode, encode, type RleCounts } from '../rle/index.js';
import {
  generateMasks,
  maxPairwiseBoxIou,
  type AmgBackend,
  type AmgDecoded,
  type AmgSurvivors,
} from './generate.js';
import { stabilityScore } from './stability.js';
import { MaskUpscaler } from './upscale.js';
import { parseAmgOptions, type AmgOptions, type AmgOptionsInput, type BoxXyxy } from './types.js';

// A deterministic stand-in for the decoder on a 256×256 image: every prompt gets a confident disk (r 40 at
// image pixel 128,128) with a small far island (mask 1), the same disk one pixel wider (mask 2, a duplicate
// for NMS), an unstable blur (mask 3) and mask 0, which multimask output ignores. Logits are drawn in the
// current crop's low-res frame, as a real decoder would see that crop.
function diskBackend(crops: BoxXyxy[], disk = { x: 128, y: 128, r: 40 }): AmgBackend {
  const plane = 256 * 256;
  let crop: BoxXyxy = [0, 0, 256, 256];
  return {
    maxBatch: 64,
    async setCrop(c) {
      crops.push(c);
      crop = c;
    },
    async decode(points) {
      const n = points.length / 2;
      const iou = new Float32Array(n * 4);
      const lowRes = new Float32Array(n * 4 * plane);
      for (let k = 0; k < n; k++) {
        iou.set([0.99, 0.95, 0.93, 0.97], k * 4);
        // low-res cell → image pixel: 1024 / long side / 4 cells per crop pixel
        const s = 256 / Math.max(crop[2] - crop[0], crop[3] - crop[1]);
        for (let y = 0; y < 256; y++) {
          for (let x = 0; x < 256; x++) {
            const ix = x / s + crop[0];
            const iy = y / s + crop[1];
            const d = Math.hypot(ix - disk.x, iy - disk.y);
            const island = Math.hypot(ix - 20, iy - 20) < 3 ? 10 : -10;
            lowRes[(k * 4 + 1) * plane + y * 256 + x] = Math.max((disk.r - d) * 4, island);
            lowRes[(k * 4 + 2) * plane + y * 256 + x] = Math.max((disk.r + 1 - d) * 4, island);
            lowRes[(k * 4 + 3) * plane + y * 256 + x] = (disk.r - d) * 0.05;
            lowRes[(k * 4 + 0) * plane + y * 256 + x] = -5;
          }
        }
      }
      return { iou, lowRes };
    },
  };
}

describe('generateMasks (orchestration)', () => {
  it('filters unstable masks, de-duplicates by NMS and reports where masks were dropped', async () => {
    const crops: BoxXyxy[] = [];
    const { masks, stats } = await generateMasks(
      256,
      256,
      parseAmgOptions({ pointsPerSide: 2 }),
      diskBackend(crops),
    );
    expect(crops).toEqual([[0, 0, 256, 256]]);
    expect(stats.candidates).toBe(12); // 4 points × masks 1..3
    expect(stats.afterIou).toBe(12);
    expect(stats.afterStability).toBe(8); // the blurred mask 3 is unstable
    expect(masks.length).toBe(1); // 8 copies of two near-identical disks → one
    const m = masks[0]!;
    expect(m.predictedIou).toBeCloseTo(0.95, 5); // mask 1 wins NMS on predicted IoU
    expect(m.bbox[0]).toBe(18); // island (x 18..22) included
    expect(maxPairwiseBoxIou(masks)).toBe(0);
  });

  it('removes small islands with minMaskRegionArea and recomputes the box', async () => {
    const { masks } = await generateMasks(
      256,
      256,
      parseAmgOptions({ pointsPerSide: 2, minMaskRegionArea: 100 }),
      diskBackend([]),
    );
    expect(masks.length).toBe(1);
    const m = masks[0]!;
    const px = decode(m.segmentation);
    expect(px[20 * 256 + 20]).toBe(0);
    expect(px[128 * 256 + 128]).toBe(1);
    expect(m.bbox[0]).toBeGreaterThan(80);
    expect(m.area).toBe(px.reduce((a, b) => a + b, 0));
  });

  it('runs every crop of every layer and drops masks cut by an inner crop edge', async () => {
    const crops: BoxXyxy[] = [];
    const { masks, stats } = await generateMasks(
      256,
      256,
      parseAmgOptions({ pointsPerSide: 2, cropNLayers: 1 }),
      diskBackend(crops),
    );
    expect(crops.length).toBe(5);
    expect(stats.decodeCalls).toBe(5);
    // In each 1st-layer crop the disk touches inner crop edges and is dropped; the whole-image mask remains.
    expect(masks.length).toBe(1);
    expect(masks[0]!.cropBox).toEqual([0, 0, 256, 256]);
  });

  it('prefers the mask from the smaller crop when crops find the same object', async () => {
    // A disk inside the first 1st-layer crop [0, 0, 172, 172] only (with the island, box x 18..80).
    const { masks } = await generateMasks(
      256,
      256,
      parseAmgOptions({ pointsPerSide: 2, cropNLayers: 1 }),
      diskBackend([], { x: 60, y: 60, r: 20 }),
    );
    expect(masks.length).toBe(1);
    expect(masks[0]!.cropBox).toEqual([0, 0, 172, 172]);
    expect(masks[0]!.pointCoords[0][0]).toBeLessThan(172);
  });

  it('stops between decoder calls when aborted', async () => {
    const signal = { aborted: true, reason: new Error('stop') };
    await expect(
      generateMasks(256, 256, parseAmgOptions({ pointsPerSide: 2 }), diskBackend([]), { signal }),
    ).rejects.toThrow('stop');
  });
});

const PLANE = 256 * 256;

// A 200×150 scene of four discs. Each prompt answers with the disc nearest its point: mask 1 with a slope that
// varies by prompt (stability on both sides of the threshold), mask 2 a slightly larger sharp disc, mask 3 a blur
// (unstable), mask 0 empty. Predicted IoUs repeat across prompts, so NMS has score ties to break.
const SCENE = { h: 150, w: 200 };
const DISCS = [
  { x: 50, y: 50, r: 18 },
  { x: 140, y: 60, r: 25 },
  { x: 100, y: 110, r: 15 },
  { x: 170, y: 125, r: 12 },
];

function sceneBackend(): AmgBackend & { decode(points: Float64Array): Promise<AmgDecoded> } {
  let crop: BoxXyxy = [0, 0, SCENE.w, SCENE.h];
  let calls = 0;
  return {
    maxBatch: 8,
    async setCrop(c) {
      crop = c;
    },
    async decode(points) {
      const n = points.length / 2;
      const iou = new Float32Array(n * 4);
      const lowRes = new Float32Array(n * 4 * PLANE);
      const s = 256 / Math.max(crop[2] - crop[0], crop[3] - crop[1]);
      for (let k = 0; k < n; k++) {
        const g = calls * 8 + k;
        const px = points[2 * k]! + crop[0];
        const py = points[2 * k + 1]! + crop[1];
        const disc = DISCS.reduce((a, b) =>
          Math.hypot(a.x - px, a.y - py) <= Math.hypot(b.x - px, b.y - py) ? a : b,
        );
        iou.set([0.99, 0.85 + 0.01 * ((g * 7) % 12), 0.9 + 0.01 * (g % 3), 0.97], k * 4);
        const slope = 2 ** (1 + (g % 5));
        for (let y = 0; y < 256; y++) {
          for (let x = 0; x < 256; x++) {
            const dx = x / s + crop[0] - disc.x;
            const dy = y / s + crop[1] - disc.y;
            const d = Math.sqrt(dx * dx + dy * dy);
            const o = y * 256 + x;
            lowRes[(k * 4 + 0) * PLANE + o] = -5;
            lowRes[(k * 4 + 1) * PLANE + o] = (disc.r - d) * slope;
            lowRes[(k * 4 + 2) * PLANE + o] = (disc.r + 2 - d) * 10;
            lowRes[(k * 4 + 3) * PLANE + o] = (disc.r - d) * 0.05;
          }
        }
      }
      calls++;
      return { iou, lowRes };
    },
  };
}

// Packs the chosen outputs of a dense answer as survivors, in the order given.
function toSurvivors(out: AmgDecoded, picks: [number, number][]): AmgSurvivors {
  const lowRes = new Float32Array(picks.length * PLANE);
  if (!(out.lowRes instanceof Float32Array)) throw new TypeError('the scene backend answers in Float32Array');
  const src = out.lowRes;
  picks.forEach(([k, m], j) =>
    lowRes.set(src.subarray((k * 4 + m) * PLANE, (k * 4 + m + 1) * PLANE), j * PLANE),
  );
  return {
    kind: 'survivors',
    prompt: Int32Array.from(picks.map((p) => p[0])),
    mask: Int32Array.from(picks.map((p) => p[1])),
    iou: Float32Array.from(picks.map(([k, m]) => out.iou[k * 4 + m]!)),
    lowRes,
  };
}

// What a GPU prefilter would do: looser thresholds, stability over the whole 256² plane (padding included),
// survivors listed newest first, and mask output 0 let through.
function prefilteredBackend(opts: AmgOptions, pick: 'loose' | 'everything'): AmgBackend & { kept: number } {
  const dense = sceneBackend();
  const full = { h: 256, w: 256, stride: 256 };
  const backend = {
    kept: 0,
    maxBatch: dense.maxBatch,
    setCrop: (c: BoxXyxy) => dense.setCrop(c),
    async decode(points: Float64Array): Promise<AmgSurvivors> {
      const out = await dense.decode(points);
      const picks: [number, number][] = [];
      for (let k = 0; k < points.length / 2; k++) {
        for (let m = 0; m < 4; m++) {
          const start = (k * 4 + m) * PLANE;
          const stab = stabilityScore(out.lowRes, start, full, opts.maskThreshold, opts.stabilityScoreOffset);
          const loose =
            out.iou[k * 4 + m]! > opts.predIouThresh - 0.1 && stab >= opts.stabilityScoreThresh - 0.15;
          if (pick === 'everything' || loose || m === 0) picks.push([k, m]);
        }
      }
      picks.reverse();
      backend.kept += picks.filter((p) => p[1] !== 0).length;
      return toSurvivors(out, picks);
    },
  };
  return backend;
}

// The upscaler a backend might run on a GPU, written independently of MaskUpscaler.rleCounts: the whole mask
// through MaskUpscaler.mask, then the RLE codec (compressed RLE and area). Records the number of planes of
// each call.
function upscalingBackend(base: AmgBackend, calls: number[], fill = false): AmgBackend {
  let crop: BoxXyxy = [0, 0, 0, 0];
  return {
    maxBatch: base.maxBatch,
    async setCrop(c) {
      crop = c;
      await base.setCrop(c);
    },
    decode: (p) => base.decode(p),
    async upscale(planes, n, threshold) {
      calls.push(n);
      const h = crop[3] - crop[1];
      const w = crop[2] - crop[0];
      const up = new MaskUpscaler(h, w);
      return Array.from({ length: n }, (_, j) => {
        const counts: RleCounts = fill
          ? { size: [h, w], counts: [0, h * w] }
          : encode(up.mask(planes, j * PLANE, threshold), h, w);
        return { rle: compress(counts), area: area(counts) };
      });
    },
  };
}

const sceneOptions = (o: AmgOptionsInput = {}) => parseAmgOptions({ pointsPerSide: 4, ...o });

describe('generateMasks with a prefiltering backend', () => {
  it('gives exactly the dense result (masks, order, stats after the edge filter) from loosely prefiltered survivors', async () => {
    for (const o of [
      {},
      { cropNLayers: 1, cropNPointsDownscaleFactor: 2 },
      { predIouThresh: 0.9, stabilityScoreThresh: 0.9 },
    ]) {
      const opts = sceneOptions(o);
      const dense = await generateMasks(SCENE.h, SCENE.w, opts, sceneBackend());
      const pre = prefilteredBackend(opts, 'loose');
      const got = await generateMasks(SCENE.h, SCENE.w, opts, pre);
      expect(dense.masks.length).toBeGreaterThan(1);
      expect(got.masks).toEqual(dense.masks);
      // The prefilter really dropped candidates, and the JS re-check dropped some survivors.
      expect(pre.kept).toBeLessThan(dense.stats.candidates);
      expect(got.stats.afterStability).toBeLessThan(pre.kept);
      const { candidates, afterStability, afterEdge, afterNms, afterCropNms, final, decodeCalls } = got.stats;
      expect({ candidates, afterStability, afterEdge, afterNms, afterCropNms, final, decodeCalls }).toEqual({
        candidates: dense.stats.candidates,
        afterStability: dense.stats.afterStability,
        afterEdge: dense.stats.afterEdge,
        afterNms: dense.stats.afterNms,
        afterCropNms: dense.stats.afterCropNms,
        final: dense.stats.final,
        decodeCalls: dense.stats.decodeCalls,
      });
    }
  });

  it('re-checks every survivor, so a prefilter that lets everything through changes nothing, stats included', async () => {
    const opts = sceneOptions();
    const dense = await generateMasks(SCENE.h, SCENE.w, opts, sceneBackend());
    const got = await generateMasks(SCENE.h, SCENE.w, opts, prefilteredBackend(opts, 'everything'));
    expect(got.masks).toEqual(dense.masks);
    expect({ ...got.stats, decodeMs: 0, postMs: 0 }).toEqual({ ...dense.stats, decodeMs: 0, postMs: 0 });
    expect(dense.stats.afterIou).toBeLessThan(dense.stats.candidates);
    expect(dense.stats.afterStability).toBeLessThan(dense.stats.afterIou);
  });

  it('drops survivors that fail the exact IoU or stability check', async () => {
    const one = (m: number): AmgBackend => {
      const dense = sceneBackend();
      return {
        maxBatch: 1,
        setCrop: (c) => dense.setCrop(c),
        decode: async (p) => toSurvivors(await dense.decode(p), [[0, m]]),
      };
    };
    // Prompt 0 of the scene: mask 1 has IoU 0.85 (below 0.88), mask 3 is the unstable blur.
    const opts = parseAmgOptions({ pointsPerSide: 1 });
    const lowIou = await generateMasks(SCENE.h, SCENE.w, opts, one(1));
    expect(lowIou.masks).toEqual([]);
    expect(lowIou.stats).toMatchObject({ candidates: 3, afterIou: 0, afterStability: 0 });
    const unstable = await generateMasks(SCENE.h, SCENE.w, opts, one(3));
    expect(unstable.masks).toEqual([]);
    expect(unstable.stats).toMatchObject({ candidates: 3, afterIou: 1, afterStability: 0 });
    const good = await generateMasks(SCENE.h, SCENE.w, opts, one(2));
    expect(good.masks.length).toBe(1);
    expect(good.masks[0]!.predictedIou).toBeCloseTo(0.9, 6);
  });

  it('rejects a survivor whose prompt index is outside the decode call', async () => {
    const dense = sceneBackend();
    const bad: AmgBackend = {
      maxBatch: 8,
      setCrop: (c) => dense.setCrop(c),
      async decode(p) {
        const s = toSurvivors(await dense.decode(p), [[0, 1]]);
        s.prompt[0] = p.length / 2;
        return s;
      },
    };
    await expect(generateMasks(SCENE.h, SCENE.w, sceneOptions(), bad)).rejects.toThrow(RangeError);
    const negative: AmgBackend = {
      ...bad,
      async decode(p) {
        const s = toSurvivors(await dense.decode(p), [[0, 1]]);
        s.prompt[0] = -1;
        return s;
      },
    };
    await expect(generateMasks(SCENE.h, SCENE.w, sceneOptions(), negative)).rejects.toThrow(/prompt -1/);
  });
});

describe('generateMasks with a backend upscaler', () => {
  it('upscales the whole-image NMS survivors in one call and gives the same masks', async () => {
    const opts = sceneOptions();
    const plain = await generateMasks(SCENE.h, SCENE.w, opts, sceneBackend());
    const calls: number[] = [];
    const got = await generateMasks(SCENE.h, SCENE.w, opts, upscalingBackend(sceneBackend(), calls));
    expect(calls).toEqual([got.stats.afterNms]);
    expect(got.stats.afterNms).toBeLessThan(got.stats.afterEdge);
    expect(got.masks).toEqual(plain.masks);
  });

  it('uses the counts the upscaler returns, area included', async () => {
    const calls: number[] = [];
    const { masks } = await generateMasks(
      SCENE.h,
      SCENE.w,
      sceneOptions(),
      upscalingBackend(sceneBackend(), calls, true),
    );
    expect(masks.length).toBeGreaterThan(0);
    for (const m of masks) {
      expect(m.area).toBe(SCENE.h * SCENE.w);
      expect(decode(m.segmentation).every((v) => v === 1)).toBe(true);
    }
  });

  it('is not used for the crops of deeper layers', async () => {
    // The small disc lies inside the first 1st-layer crop, so sub-crops keep masks of their own.
    const opts = parseAmgOptions({ pointsPerSide: 2, cropNLayers: 1 });
    const calls: number[] = [];
    const got = await generateMasks(
      256,
      256,
      opts,
      upscalingBackend(diskBackend([], { x: 60, y: 60, r: 20 }), calls),
    );
    const wholeOnly = await generateMasks(
      256,
      256,
      parseAmgOptions({ pointsPerSide: 2 }),
      diskBackend([], { x: 60, y: 60, r: 20 }),
    );
    const plain = await generateMasks(256, 256, opts, diskBackend([], { x: 60, y: 60, r: 20 }));
    expect(calls).toEqual([wholeOnly.stats.afterNms]);
    expect(got.stats.afterNms).toBeGreaterThan(wholeOnly.stats.afterNms);
    expect(got.masks).toEqual(plain.masks);
    expect(got.masks[0]!.cropBox).toEqual([0, 0, 172, 172]);
  });

  it('rejects an upscaler answer with the wrong number of masks or a wrong size', async () => {
    const base = sceneBackend();
    const short: AmgBackend = { ...upscalingBackend(base, []), upscale: async () => [] };
    await expect(generateMasks(SCENE.h, SCENE.w, sceneOptions(), short)).rejects.toThrow(
      /upscaler returned 0/,
    );
    const wrong: AmgBackend = {
      ...upscalingBackend(sceneBackend(), []),
      upscale: async (_p, n) =>
        Array.from({ length: n }, () => ({ rle: compress({ size: [2, 5], counts: [0, 10] }), area: 10 })),
    };
    await expect(generateMasks(SCENE.h, SCENE.w, sceneOptions(), wrong)).rejects.toThrow(
      /upscaler mask 0 is 2×5, expected/,
    );
  });
});
