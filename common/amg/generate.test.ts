import { describe, expect, it } from 'vitest';
import { decode } from '../rle/index.js';
import { generateMasks, maxPairwiseBoxIou, type AmgBackend } from './generate.js';
import { parseAmgOptions, type BoxXyxy } from './types.js';

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
