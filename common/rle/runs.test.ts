import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  area,
  compress,
  countsToString,
  encode,
  RleError,
  summarizeRunStarts,
  toBbox,
  type RleCounts,
} from './index.js';
import { blobMask, randomMask, rng } from './testing.js';

/** Column-major run starts of a row-major mask, the obvious way, and whether pixel 0 is inside. */
function runStarts(mask: Uint8Array, h: number, w: number): { starts: Int32Array; first: boolean } {
  const starts: number[] = [];
  let prev = h * w > 0 ? mask[0] !== 0 : false;
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      const v = mask[y * w + x] !== 0;
      if (v !== prev) starts.push(x * h + y);
      prev = v;
    }
  }
  return { starts: Int32Array.from(starts), first: h * w > 0 && mask[0] !== 0 };
}

/** Summary vs the codec: the same string byte for byte, the same area and box. */
function check(mask: Uint8Array, h: number, w: number): number {
  const { starts, first } = runStarts(mask, h, w);
  const counts = encode(mask, h, w);
  const got = summarizeRunStarts(starts, first, h, w);
  expect(got.rle).toEqual(compress(counts));
  expect(got.area).toBe(area(counts));
  expect(got.bbox).toEqual(toBbox(counts));
  // The same starts as NonZero(pixel[i] xor pixel[i + 1]) gives them: one less, shifted back.
  const changes = starts.map((s) => s - 1);
  expect(summarizeRunStarts(changes, first, h, w, 1)).toEqual(got);
  return starts.length;
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.resetModules();
});

describe('summarizeRunStarts', () => {
  it('matches compress/area/toBbox on random masks of odd sizes, sparse to dense', () => {
    const rand = rng(7);
    for (const [h, w] of [
      [1, 1],
      [3, 5],
      [7, 1],
      [1, 9],
      [17, 13],
      [33, 31],
      [64, 63],
      [101, 57],
    ] as const) {
      for (const density of [0.01, 0.2, 0.5, 0.9, 0.99]) check(randomMask(rand, h, w, density), h, w);
      check(blobMask(rand, h, w), h, w);
    }
  });

  it('handles empty and full masks, and the first pixel inside or outside', () => {
    for (const [h, w] of [
      [1, 1],
      [5, 4],
      [31, 17],
    ] as const) {
      const empty = new Uint8Array(h * w);
      expect(check(empty, h, w)).toBe(0);
      expect(summarizeRunStarts(new Int32Array(0), false, h, w)).toEqual({
        rle: { size: [h, w], counts: countsToString([h * w]) },
        area: 0,
        bbox: [0, 0, 0, 0],
      });
      const full = new Uint8Array(h * w).fill(1);
      expect(check(full, h, w)).toBe(0);
      expect(summarizeRunStarts(new Int32Array(0), true, h, w).bbox).toEqual([0, 0, w, h]);
      const corner = new Uint8Array(h * w);
      corner[0] = 1;
      check(corner, h, w);
      const notCorner = full.slice();
      notCorner[0] = 0;
      check(notCorner, h, w);
      const last = new Uint8Array(h * w);
      last[h * w - 1] = 1;
      check(last, h, w);
    }
  });

  it('gives single columns and single rows the box of their runs', () => {
    const rand = rng(3);
    for (let t = 0; t < 20; t++) {
      const h = 1 + Math.floor(rand() * 50);
      check(randomMask(rand, h, 1, 0.3), h, 1);
      check(randomMask(rand, 1, h, 0.3), 1, h);
    }
    const col = new Uint8Array(40);
    col.fill(1, 10, 25);
    check(col, 40, 1);
    check(col, 1, 40);
    // Two runs in one column, nothing crossing a boundary: the box is exactly their rows.
    const m = new Uint8Array(12 * 6);
    for (const y of [2, 3, 8]) m[y * 6 + 4] = 1;
    check(m, 12, 6);
    expect(summarizeRunStarts(runStarts(m, 12, 6).starts, false, 12, 6).bbox).toEqual([4, 2, 1, 7]);
  });

  it('gives the full height when a run crosses a column boundary, as toBbox', () => {
    // Bottom of column 1 and top of column 2: one run, so pycocotools reports full height.
    const h = 10;
    const w = 4;
    const m = new Uint8Array(h * w);
    m[9 * w + 1] = 1;
    m[0 * w + 2] = 1;
    check(m, h, w);
    expect(summarizeRunStarts(runStarts(m, h, w).starts, false, h, w).bbox).toEqual([1, 0, 2, h]);
  });

  it('matches the codec on noisy masks with more than 100k runs, and on big clean ones', () => {
    const rand = rng(11);
    const [h, w] = [541, 487];
    expect(check(randomMask(rand, h, w, 0.5), h, w)).toBeGreaterThan(100_000);
    expect(check(randomMask(rand, h, w, 0.93), h, w)).toBeGreaterThan(20_000);
    check(blobMask(rand, 1080, 1920, 5), 1080, 1920);
  });

  it('keeps earlier strings intact while reusing its buffer (big, then small, then big)', () => {
    const rand = rng(5);
    const masks = [randomMask(rand, 300, 301, 0.5), blobMask(rand, 20, 30), randomMask(rand, 200, 199, 0.4)];
    const dims = [
      [300, 301],
      [20, 30],
      [200, 199],
    ] as const;
    const got = masks.map((m, i) => {
      const { starts, first } = runStarts(m, dims[i]![0], dims[i]![1]);
      return summarizeRunStarts(starts, first, dims[i]![0], dims[i]![1]);
    });
    got.forEach((g, i) => expect(g.rle).toEqual(compress(encode(masks[i]!, dims[i]![0], dims[i]![1]))));
  });

  it('reads plain arrays and subarray views of a batch', () => {
    const batch = Int32Array.of(99, 3, 7, 8, 99);
    const view = summarizeRunStarts(batch.subarray(1, 4), false, 4, 3);
    expect(view).toEqual(summarizeRunStarts([3, 7, 8], false, 4, 3));
    const counts: RleCounts = { size: [4, 3], counts: [3, 4, 1, 4] };
    expect(view).toEqual({ rle: compress(counts), area: area(counts), bbox: toBbox(counts) });
  });

  it('gives 0-pixel masks the one empty run encode gives them', () => {
    for (const [h, w] of [
      [0, 5],
      [5, 0],
      [0, 0],
    ] as const) {
      const want = compress(encode(new Uint8Array(0), h, w));
      for (const first of [false, true]) {
        expect(summarizeRunStarts([], first, h, w)).toEqual({ rle: want, area: 0, bbox: [0, 0, 0, 0] });
      }
    }
  });

  it('rejects starts that do not ascend, lie outside the mask or are not integers', () => {
    const bad =
      (starts: number[], shift = 0) =>
      () =>
        summarizeRunStarts(starts, false, 4, 5, shift);
    expect(bad([3, 3])).toThrow(/run start 1 \(3\) must be greater than 3/);
    expect(bad([5, 2])).toThrow(RleError);
    expect(bad([0])).toThrow(/must be greater than 0/);
    expect(bad([-1], 1)).toThrow(RleError);
    expect(bad([20])).toThrow(/outside the 20 pixels/);
    expect(bad([19], 1)).toThrow(/outside/);
    expect(bad([2.5])).toThrow(/not an integer/);
    expect(bad([Number.NaN])).toThrow(RleError);
    expect(() => summarizeRunStarts([1], false, -1, 5)).toThrow(RleError);
    try {
      bad([3, 3])();
    } catch (err) {
      expect((err as RleError).code).toBe('bad-counts');
    }
  });

  it('handles masks of 2^30 pixels and more through the general functions', () => {
    const [h, w] = [1 << 15, 1 << 16];
    const n = h * w;
    const starts = [5, h + 3, n - h - 1, n - 2];
    const counts = [5, h - 2, n - 2 * h - 4, h - 1, 2];
    const r: RleCounts = { size: [h, w], counts };
    for (const first of [false, true]) {
      const c = first ? [0, ...counts] : counts;
      const want: RleCounts = { size: [h, w], counts: c };
      expect(summarizeRunStarts(starts, first, h, w)).toEqual({
        rle: compress(want),
        area: area(want),
        bbox: toBbox(want),
      });
    }
    expect(summarizeRunStarts(starts, false, h, w).area).toBe(area(r));
    expect(() => summarizeRunStarts([5, 4], false, h, w)).toThrow(RleError);
  });
});

describe('countsToString without TextDecoder', () => {
  it('falls back to String.fromCharCode and gives the same strings', async () => {
    const rand = rng(9);
    const many = encode(randomMask(rand, 199, 211, 0.5), 199, 211).counts;
    const few = [3, 4, 1, 4];
    const want = [countsToString(many), countsToString(few)];
    vi.stubGlobal('TextDecoder', undefined);
    vi.resetModules();
    const fresh = await import('./strings.js');
    expect([fresh.countsToString(many), fresh.countsToString(few)]).toEqual(want);
    expect(want[0]!.length).toBeGreaterThan(8192); // more than one fromCharCode chunk
  });
});
