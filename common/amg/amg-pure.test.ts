import { describe, expect, it } from 'vitest';
import { boxIou, boxXyxyToXywh, maskToBox, nms } from './boxes.js';
import { generateCropBoxes, isBoxNearCropEdge } from './crops.js';
import { buildAllLayerPointGrids, buildPointGrid } from './grid.js';
import { connectedComponents8, removeSmallRegions } from './regions.js';
import { lowResBox, stabilityScore } from './stability.js';
import { AmgOptionsError, parseAmgOptions } from './types.js';
import type { BoxXyxy } from './types.js';

describe('point grid', () => {
  it('places n×n cell-centred points, x varying fastest (numpy linspace values)', () => {
    const g = buildPointGrid(4);
    const axis = [0.125, 0.375, 0.625, 0.875];
    expect(g.length).toBe(32);
    for (let r = 0; r < 4; r++) {
      for (let c = 0; c < 4; c++) {
        expect(g[(r * 4 + c) * 2]).toBeCloseTo(axis[c]!, 12);
        expect(g[(r * 4 + c) * 2 + 1]).toBeCloseTo(axis[r]!, 12);
      }
    }
  });

  it('puts a single point in the centre', () => {
    expect(Array.from(buildPointGrid(1))).toEqual([0.5, 0.5]);
  });

  it('downscales points per side per crop layer', () => {
    const grids = buildAllLayerPointGrids(32, 2, 2);
    expect(grids.map((g) => g.length / 2)).toEqual([1024, 256, 64]);
  });

  it('rejects a zero-point grid', () => {
    expect(() => buildPointGrid(0)).toThrow(RangeError);
    expect(() => buildAllLayerPointGrids(2, 2, 4)).toThrow(/no points/);
  });
});

describe('crop boxes', () => {
  it('matches SAM generate_crop_boxes for a 960×540 image with two layers', () => {
    // Output of segment_anything.utils.amg.generate_crop_boxes((540, 960), 2, 512 / 1500).
    const sam = [
      [0, 0, 960, 540],
      [0, 0, 572, 362],
      [0, 178, 572, 540],
      [388, 0, 960, 362],
      [388, 178, 960, 540],
      [0, 0, 309, 204],
      [0, 112, 309, 316],
      [0, 224, 309, 428],
      [0, 336, 309, 540],
      [217, 0, 526, 204],
      [217, 112, 526, 316],
      [217, 224, 526, 428],
      [217, 336, 526, 540],
      [434, 0, 743, 204],
      [434, 112, 743, 316],
      [434, 224, 743, 428],
      [434, 336, 743, 540],
      [651, 0, 960, 204],
      [651, 112, 960, 316],
      [651, 224, 960, 428],
      [651, 336, 960, 540],
    ];
    const crops = generateCropBoxes(540, 960, 2, 512 / 1500);
    expect(crops.map((c) => c.box)).toEqual(sam);
    expect(crops.map((c) => c.layer)).toEqual([0, 1, 1, 1, 1, ...Array<number>(16).fill(2)]);
  });

  it('flags boxes near an inner crop edge but not near the image edge', () => {
    const orig: BoxXyxy = [0, 0, 960, 540];
    const crop: BoxXyxy = [388, 0, 960, 362];
    // box in crop coordinates; its left edge is 5 px from the crop's left edge (an inner edge)
    expect(isBoxNearCropEdge([5, 100, 100, 200], crop, orig)).toBe(true);
    // touching the crop's top, which is also the image's top: kept
    expect(isBoxNearCropEdge([100, 0, 200, 100], crop, orig)).toBe(false);
    // bottom edge 350 + 0 = 350, within 20 of the crop's inner bottom (362)
    expect(isBoxNearCropEdge([100, 100, 200, 350], crop, orig)).toBe(true);
    expect(isBoxNearCropEdge([100, 100, 200, 330], crop, orig)).toBe(false);
    // the whole-image crop never flags
    expect(isBoxNearCropEdge([0, 0, 959, 539], orig, orig)).toBe(false);
  });
});

describe('boxes and NMS', () => {
  it('computes box IoU without +1, like torchvision', () => {
    expect(boxIou([0, 0, 10, 10], [5, 0, 15, 10])).toBeCloseTo(50 / 150, 12);
    expect(boxIou([0, 0, 10, 10], [10, 0, 20, 10])).toBe(0);
    expect(boxIou([0, 0, 0, 0], [0, 0, 0, 0])).toBe(0);
  });

  it('keeps the best-scoring box of each overlapping group, best first', () => {
    const boxes: BoxXyxy[] = [
      [0, 0, 10, 10],
      [1, 0, 11, 10], // IoU with #0 = 90/110 = 0.82
      [50, 50, 60, 60],
      [0, 0, 10, 13], // IoU with #0 = 100/130 = 0.77
    ];
    // #3 first; #1 vs #3: inter 90, union 130 + 100 - 90 = 140 → 0.64, kept; #0 vs #3 = 0.77, dropped
    expect(nms(boxes, [0.8, 0.9, 0.5, 0.95], 0.7)).toEqual([3, 1, 2]);
    // at 0.85 no pair overlaps enough
    expect(nms(boxes, [0.8, 0.9, 0.5, 0.95], 0.85)).toEqual([3, 1, 0, 2]);
  });

  it('breaks score ties by input order', () => {
    const boxes: BoxXyxy[] = [
      [0, 0, 10, 10],
      [0, 0, 10, 10],
    ];
    expect(nms(boxes, [1, 1], 0.7)).toEqual([0]);
  });

  it('returns the inclusive box of a mask, zeros when empty', () => {
    const m = new Uint8Array(5 * 6);
    expect(maskToBox(m, 5, 6)).toEqual([0, 0, 0, 0]);
    m[1 * 6 + 2] = 1;
    m[3 * 6 + 4] = 1;
    expect(maskToBox(m, 5, 6)).toEqual([2, 1, 4, 3]);
    expect(boxXyxyToXywh([2, 1, 4, 3])).toEqual([2, 1, 2, 2]);
    expect(() => maskToBox(m, 5, 5)).toThrow(RangeError);
  });
});

describe('stability score', () => {
  // 4×4 valid region of an 8-wide map: logits fall off from the centre.
  const logits = new Float32Array(8 * 8).fill(-10);
  const vals = [
    [-3, -0.5, -0.5, -3],
    [-0.5, 2, 1.5, -0.5],
    [-0.5, 1.5, 0.5, -0.5],
    [-3, -0.5, -0.5, -3],
  ];
  vals.forEach((row, y) => row.forEach((v, x) => (logits[y * 8 + x] = v)));
  const region = { h: 4, w: 4, stride: 8 };

  it('is the IoU of the masks thresholded at ±offset', () => {
    // > 1: {2, 1.5, 1.5} = 3; > -1: 3 + 0.5 + 8 × -0.5 = 12
    expect(stabilityScore(logits, 0, region, 0, 1)).toBeCloseTo(3 / 12, 12);
    // offset 0 → both masks equal → 1
    expect(stabilityScore(logits, 0, region, 0, 0)).toBe(1);
  });

  it('ignores logits outside the valid region and reads from an offset', () => {
    const big = new Float32Array(2 * 64);
    big.set(logits, 64);
    big[64 + 6] = 100; // column 6 is outside the 4-wide region
    expect(stabilityScore(big, 64, region, 0, 1)).toBeCloseTo(3 / 12, 12);
    expect(lowResBox(big, 64, region, 0)).toEqual([1, 1, 2, 2]);
  });

  it('scores an all-background mask 0 and gives it no box', () => {
    const bg = new Float32Array(64).fill(-5);
    expect(stabilityScore(bg, 0, region, 0, 1)).toBe(0);
    expect(lowResBox(bg, 0, region, 0)).toBeNull();
  });
});

describe('small regions', () => {
  // 8×8: a 5×5 square with a 1-pixel hole, plus a 2-pixel island far away.
  const h = 8;
  const w = 8;
  const mk = () => {
    const m = new Uint8Array(h * w);
    for (let y = 1; y <= 5; y++) for (let x = 1; x <= 5; x++) m[y * w + x] = 1;
    m[3 * w + 3] = 0;
    m[7 * w + 7] = 1;
    m[6 * w + 7] = 1;
    return m;
  };

  it('labels 8-connected components (diagonal neighbours join)', () => {
    const img = new Uint8Array([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    const { sizes } = connectedComponents8(img, 3, 3);
    expect(sizes).toEqual([6, 3]);
  });

  it('fills holes smaller than the threshold and leaves big ones', () => {
    const m = mk();
    const r = removeSmallRegions(m, h, w, 2, 'holes');
    expect(r.changed).toBe(true);
    expect(r.mask[3 * w + 3]).toBe(1);
    expect(r.mask[0]).toBe(0);
    expect(removeSmallRegions(m, h, w, 1, 'holes').changed).toBe(false);
  });

  it('erases islands smaller than the threshold', () => {
    const m = mk();
    const r = removeSmallRegions(m, h, w, 3, 'islands');
    expect(r.changed).toBe(true);
    expect(r.mask[7 * w + 7]).toBe(0);
    expect(r.mask[1 * w + 1]).toBe(1);
    // input untouched
    expect(m[7 * w + 7]).toBe(1);
  });

  it('keeps the largest island when all are below the threshold', () => {
    const r = removeSmallRegions(mk(), h, w, 1000, 'islands');
    let area = 0;
    for (const v of r.mask) area += v;
    expect(area).toBe(24);
  });
});

describe('options', () => {
  it("resolves SAM's defaults", () => {
    const o = parseAmgOptions();
    expect(o).toMatchObject({
      pointsPerSide: 32,
      predIouThresh: 0.88,
      stabilityScoreThresh: 0.95,
      stabilityScoreOffset: 1,
      boxNmsThresh: 0.7,
      cropNLayers: 0,
      cropNmsThresh: 0.7,
      minMaskRegionArea: 0,
    });
    expect(o.cropOverlapRatio).toBeCloseTo(512 / 1500, 12);
  });

  it('rejects bad values with a typed error naming the field', () => {
    expect(() => parseAmgOptions({ pointsPerSide: 0 })).toThrow(AmgOptionsError);
    expect(() => parseAmgOptions({ predIouThresh: 2 })).toThrow(/predIouThresh/);
    expect(() => parseAmgOptions({ bogus: 1 } as never)).toThrow(AmgOptionsError);
  });
});
