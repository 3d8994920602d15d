// The native host post-processing (ortx/masks_kernel.cc) against the TypeScript it replaces (lowResToMask, then
// common/rle encode, compress, area, toBbox): the same strings, areas and boxes, bit for bit, over image sizes,
// input sizes, thresholds and logits of every kind (smooth, noisy, constant, non-finite).
import { describe, expect, it } from 'vitest';
import { area, compress, decode, encode, toBbox, type RleSummary } from '../../common/rle/index.js';
import { rng } from '../../common/rle/testing.js';
import { EngineError } from './errors.js';
import { loadMaskUpscaler, type UpscaleGeometry } from './ortx.js';
import { LOW_RES, lowResToMask } from './postprocess.js';
import { geometryFor } from './preprocess.js';
import { withEnv } from './testing.js';
import { hostUpscaler, upscaleOnHost } from './upscale.js';

const PLANE = LOW_RES * LOW_RES;
const { upscaler, reason } = loadMaskUpscaler();
const required = process.env.MASKROOM_REQUIRE_ORTX === '1';
if (!upscaler && !required)
  console.warn(`native upscale tests skipped: ${reason} (MASKROOM_REQUIRE_ORTX=1 makes this a failure)`);
const test = upscaler || required ? it : it.skipIf(true);

/** What the TypeScript gives for plane p. */
function reference(planes: Float32Array, p: number, g: UpscaleGeometry, threshold: number): RleSummary {
  const mask = lowResToMask(planes.subarray(p * PLANE, (p + 1) * PLANE), { ...g }, threshold);
  const counts = encode(mask, g.height, g.width);
  return { rle: compress(counts), area: area(counts), bbox: toBbox(counts) };
}

type Kind =
  'blobs' | 'noise' | 'ramp' | 'constant' | 'nonfinite' | 'tiny' | 'nearOne' | 'blobsNonfinite' | 'steps';

function plane(kind: Kind, rand: () => number): Float32Array {
  const a = new Float32Array(PLANE);
  const cx = rand() * 256;
  const cy = rand() * 256;
  const r = 10 + rand() * 80;
  for (let y = 0; y < LOW_RES; y++)
    for (let x = 0; x < LOW_RES; x++) {
      const i = y * LOW_RES + x;
      switch (kind) {
        case 'blobs':
          a[i] = (r - Math.hypot(x - cx, y - cy)) * 0.37 + Math.sin(x * 0.3) * Math.cos(y * 0.2) * 3;
          break;
        case 'noise':
          a[i] = rand() - 0.5;
          break;
        case 'ramp':
          // Values straddling the threshold by float rounding: where double vs float arithmetic would differ.
          a[i] = (x - 128) * 1e-7 + (y - 128) * 3e-8;
          break;
        case 'constant':
          a[i] = 0;
          break;
        case 'nonfinite':
          a[i] = rand() < 0.01 ? NaN : rand() < 0.01 ? Infinity : rand() < 0.01 ? -Infinity : rand() - 0.3;
          break;
        case 'tiny':
          a[i] = rand() < 0.001 ? 5 : -5;
          break;
        case 'blobsNonfinite':
          // Mostly decided tiles, a few whose logits include NaN or ±Infinity (never decided from their range).
          a[i] = (r - Math.hypot(x - cx, y - cy)) * 0.37;
          if (rand() < 0.002) a[i] = [NaN, Infinity, -Infinity][Math.floor(rand() * 3)]!;
          break;
        case 'steps':
          // Blocks one float step above and below 1: with threshold 1, tiles decided by the smallest margin
          // there is, and every block edge computed.
          a[i] = ((x >> 4) + (y >> 3)) % 3 === 0 ? 1 - 2 ** -24 : 1 + 2 ** -23;
          break;
        case 'nearOne':
          // A few float steps either side of 1: compared with threshold 1, float arithmetic where the
          // TypeScript computes in double (and rounds to float32 between the resizes) changes many pixels.
          a[i] = 1 + (rand() - 0.5) * 1e-6;
          break;
      }
    }
  return a;
}

function planesOf(kinds: Kind[], seed: number): Float32Array {
  const rand = rng(seed);
  const out = new Float32Array(kinds.length * PLANE);
  kinds.forEach((k, i) => out.set(plane(k, rand), i * PLANE));
  return out;
}

async function expectSame(
  planes: Float32Array,
  index: number[],
  g: UpscaleGeometry,
  threshold: number,
  bands?: number,
) {
  const got = await upscaler!.upscale(planes, Int32Array.from(index), g, threshold, bands);
  expect(got).toHaveLength(index.length);
  index.forEach((p, k) => {
    const want = reference(planes, p, g, threshold);
    const where = `plane ${p} at ${g.width}x${g.height} (input ${g.inputSize}), threshold ${threshold}`;
    expect(got[k], `${where}, ${bands ?? 'default'} band(s)`).toEqual(want);
  });
  return got;
}

describe('native host post-processing (ortx upscaleMasks)', () => {
  const kinds: Kind[] = ['blobs', 'noise', 'ramp', 'constant', 'nonfinite', 'tiny', 'nearOne'];

  test('gives the TypeScript’s RLE, area and box at every image size and input size', async () => {
    const planes = planesOf(kinds, 7);
    const sizes: [number, number][] = [
      [960, 540],
      [540, 960],
      [2250, 1500],
      [1, 1],
      [1, 700],
      [700, 1],
      [37, 53],
      [1024, 1024],
      [1500, 20],
    ];
    for (const inputSize of [1024, 256, 320]) {
      for (const [w, h] of sizes) {
        await expectSame(planes, [0, 1, 2, 3, 4, 5, 6], geometryFor(w, h, inputSize), 0);
      }
    }
  });

  test('gives the same masks however each mask is cut into bands of columns (runs joined across their edges)', async () => {
    const planes = planesOf(kinds, 13);
    for (const [w, h] of [
      [960, 540],
      [37, 53],
      [2250, 1500],
    ] as const) {
      const g = geometryFor(w, h, 1024);
      for (const bands of [1, 2, 3, 7, 64, 5000])
        await expectSame(planes, [0, 1, 2, 3, 4, 5, 6], g, 0, bands);
    }
    await expect(upscaler!.upscale(planes, Int32Array.of(0), geometryFor(9, 9, 1024), 0, 0)).rejects.toThrow(
      'bands must be a positive integer',
    );
  });

  test('decides tiles from the logits’ range only where that is safe: the same masks either way', async () => {
    const before = upscaler!.stats();
    const planes = planesOf(['blobs', 'blobsNonfinite', 'steps', 'blobs', 'noise'], 23);
    for (const [w, h] of [
      [960, 540],
      [1800, 1200],
      [53, 37],
      [1, 1],
    ] as const) {
      const g = geometryFor(w, h, 1024);
      await expectSame(planes, [0, 1, 3, 4], g, 0);
      await expectSame(planes, [0, 1], g, 2.5);
      await expectSame(planes, [2], g, 1);
      await expectSame(planes, [2], g, 1 - 2 ** -24);
    }
    const after = upscaler!.stats();
    // Both ways were taken: tiles decided (smooth masks) and every pixel computed (the noisy one).
    expect(after.tiledBands).toBeGreaterThan(before.tiledBands);
    expect(after.stagedBands).toBeGreaterThan(before.stagedBands);
  });

  test('rounds as the TypeScript does: float32 between the resizes, double inside each', async () => {
    const planes = planesOf(['nearOne', 'nearOne'], 17);
    for (const [w, h] of [
      [960, 540],
      [640, 480],
    ] as const) {
      const got = await expectSame(planes, [0, 1], geometryFor(w, h, 1024), 1);
      // Near the threshold everywhere: a mask of many runs, neither empty nor full.
      expect(got[0]!.area).toBeGreaterThan(0.05 * w * h);
      expect(got[0]!.area).toBeLessThan(0.95 * w * h);
    }
  });

  test('gives the TypeScript’s masks for any threshold, including ones the logits sit on', async () => {
    const planes = planesOf(kinds, 11);
    const g = geometryFor(800, 534, 1024);
    for (const t of [0, 0.25, -0.25, 1e-7, -3e-8, 4.9, -5, 1e30, -Infinity, Infinity])
      await expectSame(planes, [0, 1, 2, 3, 4, 5], g, t);
  });

  test('takes planes in any order, repeated, from a larger batch, and an empty list', async () => {
    const planes = planesOf(['noise', 'blobs', 'blobs', 'tiny', 'blobs', 'noise', 'ramp', 'blobs'], 3);
    const g = geometryFor(1072, 603, 1024);
    const got = await expectSame(planes, [7, 1, 1, 0, 6, 3, 2, 5, 4], g, 0);
    expect(got[1]).toEqual(got[2]);
    expect(await upscaler!.upscale(planes, new Int32Array(0), g, 0)).toEqual([]);
    // A view into a larger buffer reads from its own offset.
    const offset = new Float32Array(planes.length + 3 * PLANE);
    offset.set(planes, 3 * PLANE);
    const view = offset.subarray(3 * PLANE);
    expect(await upscaler!.upscale(view, Int32Array.of(4), g, 0)).toEqual([reference(planes, 4, g, 0)]);
  });

  test('many prompts at once, and calls side by side, give the same masks', async () => {
    const n = 40;
    const planes = planesOf(
      Array.from({ length: n }, (_, i) => kinds[i % kinds.length]!),
      5,
    );
    const g = geometryFor(960, 540, 1024);
    const index = Array.from({ length: n }, (_, i) => i);
    const want = await expectSame(planes, index, g, 0);
    const again = await Promise.all(
      [0, 1, 2, 3].map(() => upscaler!.upscale(planes, Int32Array.from(index), g, 0)),
    );
    for (const r of again) expect(r).toEqual(want);
    // The string decodes to the mask the TypeScript makes.
    const mask = lowResToMask(planes.subarray(PLANE, 2 * PLANE), g);
    expect(decode(want[1]!.rle)).toEqual(mask);
  });

  test('refuses bad arguments with a clear error, before any work', async () => {
    const planes = planesOf(['blobs', 'blobs'], 1);
    const g = geometryFor(640, 480, 1024);
    const up = upscaler!;
    await expect(up.upscale(planes, Int32Array.of(2), g, 0)).rejects.toThrow(
      'index[0] = 2 is not one of 2 planes',
    );
    await expect(up.upscale(planes, Int32Array.of(-1), g, 0)).rejects.toThrow(RangeError);
    await expect(up.upscale(planes.subarray(1), Int32Array.of(0), g, 0)).rejects.toThrow(
      'not a whole number of 256x256 planes',
    );
    await expect(up.upscale(planes, Int32Array.of(0), { ...g, width: 0 }, 0)).rejects.toThrow(
      'frame sizes must be positive integers',
    );
    await expect(up.upscale(planes, Int32Array.of(0), { ...g, height: 1.5 }, 0)).rejects.toThrow(TypeError);
    await expect(up.upscale(planes, Int32Array.of(0), { ...g, resizedWidth: 2000 }, 0)).rejects.toThrow(
      'larger than inputSize',
    );
    await expect(
      up.upscale(planes, Int32Array.of(0), { ...g, height: 50000, width: 50000 }, 0),
    ).rejects.toThrow('2^31 pixels');
    await expect(up.upscale(planes, Int32Array.of(0), g, NaN)).rejects.toThrow('threshold is NaN');
    await expect(
      up.upscale(new Float64Array(PLANE) as unknown as Float32Array, Int32Array.of(0), g, 0),
    ).rejects.toThrow(TypeError);
  });
});

describe('upscaleOnHost', () => {
  test('runs native by default and TypeScript with MASKROOM_UPSCALE=js: the same masks', async () => {
    const planes = planesOf(['blobs', 'noise', 'blobs'], 9);
    const g = geometryFor(333, 517, 1024);
    const index = Int32Array.of(2, 0, 1);
    expect(hostUpscaler().upscaler).toBe(upscaler);
    const native = await upscaleOnHost(planes, index, g, 0.1);
    const js = await withEnv({ MASKROOM_UPSCALE: 'js' }, async () => {
      expect(hostUpscaler()).toEqual({ upscaler: null, reason: 'MASKROOM_UPSCALE=js' });
      return upscaleOnHost(planes, index, g, 0.1);
    });
    expect(native).toEqual(js);
    expect(native).toEqual([2, 0, 1].map((p) => reference(planes, p, g, 0.1)));
  });

  it('names the allowed values of a bad MASKROOM_UPSCALE', async () => {
    await withEnv({ MASKROOM_UPSCALE: 'gpu' }, async () => {
      expect(() => hostUpscaler()).toThrow(EngineError);
      expect(() => hostUpscaler()).toThrow('MASKROOM_UPSCALE must be native or js, not gpu');
    });
  });
});
