import { describe, expect, it } from 'vitest';
import {
  area,
  compress,
  countsFromString,
  countsToString,
  decode,
  decodeInto,
  decompress,
  encode,
  encodeCompressed,
  iou,
  merge,
  toBbox,
} from './index.js';
import { blobMask, firstDifference, randomMask, rng } from './testing.js';

/** Reference runs, the obvious way (column by column), to check the fast encoder against. */
function naiveRuns(mask: Uint8Array, h: number, w: number): number[] {
  const out: number[] = [];
  let cur = 0;
  let run = 0;
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      const v = mask[y * w + x] ? 1 : 0;
      if (v !== cur) {
        out.push(run);
        run = 0;
        cur = v;
      }
      run++;
    }
  }
  out.push(run);
  return out;
}

function naiveBbox(mask: Uint8Array, h: number, w: number): number[] {
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!mask[y * w + x]) continue;
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x);
      y1 = Math.max(y1, y);
    }
  }
  return x1 < 0 ? [0, 0, 0, 0] : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}

function roundTrip(mask: Uint8Array, h: number, w: number): void {
  const rle = encode(mask, h, w);
  expect(rle.counts).toEqual(naiveRuns(mask, h, w));
  const binary = mask.map((v) => (v ? 1 : 0));
  expect(firstDifference(decode(rle), binary)).toBe(-1);
  const c = encodeCompressed(mask, h, w);
  expect(countsFromString(c.counts)).toEqual(rle.counts);
  expect(firstDifference(decode(c), binary)).toBe(-1);
  expect(area(rle)).toBe(binary.reduce((s, v) => s + v, 0));
  expect(toBbox(rle)).toEqual(naiveBbox(mask, h, w));
}

function edgeMasks(h: number, w: number): [string, Uint8Array][] {
  const at = (y: number, x: number): Uint8Array => {
    const m = new Uint8Array(h * w);
    m[y * w + x] = 1;
    return m;
  };
  const rows = new Uint8Array(h * w).map((_, i) => (Math.floor(i / w) % 2 === 0 ? 1 : 0));
  const cols = new Uint8Array(h * w).map((_, i) => ((i % w) % 2 === 0 ? 1 : 0));
  return [
    ['empty', new Uint8Array(h * w)],
    ['full', new Uint8Array(h * w).fill(1)],
    ['top-left pixel', at(0, 0)],
    ['top-right pixel', at(0, w - 1)],
    ['bottom-left pixel', at(h - 1, 0)],
    ['bottom-right pixel', at(h - 1, w - 1)],
    ['horizontal stripes', rows],
    ['vertical stripes', cols],
  ];
}

describe('encode and decode', () => {
  for (const [h, w] of [
    [5, 8],
    [7, 5],
    [1, 13],
    [13, 1],
    [1, 1],
    [4, 4],
  ] as const) {
    it(`round-trips edge masks of ${h}×${w}`, () => {
      for (const [name, m] of edgeMasks(h, w)) {
        expect.soft(() => roundTrip(m, h, w), name).not.toThrow();
      }
    });
  }

  it('round-trips random masks of many shapes and densities', () => {
    const rand = rng(7);
    for (let k = 0; k < 200; k++) {
      const h = 1 + Math.floor(rand() * 40);
      const w = 1 + Math.floor(rand() * 40);
      roundTrip(randomMask(rand, h, w, rand()), h, w);
    }
  });

  it('round-trips blob masks with holes', () => {
    const rand = rng(11);
    for (let k = 0; k < 20; k++) roundTrip(blobMask(rand, 30 + k, 44 + 3 * k), 30 + k, 44 + 3 * k);
  });

  it('starts with a zero background run when pixel (0,0) is inside', () => {
    expect(encode(new Uint8Array([1, 0, 0, 0]), 2, 2).counts).toEqual([0, 1, 3]);
    expect(encode(new Uint8Array(6).fill(1), 2, 3).counts).toEqual([0, 6]);
    expect(encode(new Uint8Array(6), 2, 3).counts).toEqual([6]);
  });

  it('reads the row-major mask column by column (the docs example)', () => {
    // 3×4: row 0 = 0 1 1 0, row 1 = 0 1 1 0, row 2 = 0 0 0 1
    const m = new Uint8Array([0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1]);
    expect(encode(m, 3, 4).counts).toEqual([3, 2, 1, 2, 3, 1]);
    // From the 4th run on, deltas: 2-2=0, 3-1=2, 1-2=-1 ('O': 31+48, sign bit set, no continuation).
    expect(encodeCompressed(m, 3, 4).counts).toBe('32102O');
  });

  it('treats any nonzero byte as inside', () => {
    const m = new Uint8Array([0, 255, 7, 0, 2, 1, 1, 9, 0, 0, 255, 1]);
    expect(encode(m, 3, 4)).toEqual(
      encode(
        m.map((v) => (v ? 1 : 0)),
        3,
        4,
      ),
    );
    roundTrip(m, 3, 4);
  });

  it('handles masks that are views into a larger buffer at odd offsets', () => {
    const rand = rng(3);
    const big = randomMask(rand, 1, 8 * 12 + 3, 0.5);
    const view = big.subarray(3);
    roundTrip(view, 8, 12);
  });

  it('gives zero-size masks the single run pycocotools gives them', () => {
    expect(encode(new Uint8Array(0), 0, 5).counts).toEqual([0]);
    expect(encode(new Uint8Array(0), 4, 0).counts).toEqual([0]);
    expect(decode({ size: [0, 5], counts: [0] })).toHaveLength(0);
  });

  it('round-trips a 4000×3000 mask', () => {
    const h = 3000;
    const w = 4000;
    const m = new Uint8Array(h * w);
    let inside = 0;
    for (let y = 0; y < h; y++) {
      const dy = ((y - 1500) / 1300) ** 2;
      for (let x = 0; x < w; x++) {
        const d = dy + ((x - 2000) / 1900) ** 2;
        if ((d < 1 && d > 0.25) || (x + y) % 997 === 0) {
          m[y * w + x] = 1;
          inside++;
        }
      }
    }
    const rle = encodeCompressed(m, h, w);
    expect(firstDifference(decode(rle), m)).toBe(-1);
    const counts = decompress(rle).counts;
    expect(counts.reduce((s, c) => s + c, 0)).toBe(h * w);
    expect(counts).toEqual(encode(m, h, w).counts);
    expect(area(rle)).toBe(inside);
    expect(toBbox(rle)).toEqual([0, 0, w, h]);
  });
});

describe('strings', () => {
  it('round-trips counts with big values and big negative deltas', () => {
    const rand = rng(5);
    for (let k = 0; k < 200; k++) {
      const counts = Array.from({ length: 1 + Math.floor(rand() * 12) }, () =>
        Math.floor(rand() ** 3 * 2 ** (1 + Math.floor(rand() * 33))),
      );
      expect(countsFromString(countsToString(counts))).toEqual(counts);
    }
  });

  it('writes deltas only from the fourth count on', () => {
    // 3 → '3'; 5 → '5'; 2 → '2'; then 9 - 5 = 4 → '4'
    expect(countsToString([3, 5, 2, 9])).toBe('3524');
    expect(countsToString([3, 5, 2, 1])).toBe('352L');
  });
});

describe('merge and iou work on runs', () => {
  it('agree with pixel-wise union, intersection and IoU', () => {
    const rand = rng(21);
    for (let k = 0; k < 60; k++) {
      const h = 1 + Math.floor(rand() * 30);
      const w = 1 + Math.floor(rand() * 30);
      const ms = [0, 1, 2].map(() =>
        rand() < 0.5 ? randomMask(rand, h, w, rand()) : blobMask(rand, h, w, 2),
      );
      const rles = ms.map((m) => encode(m, h, w));
      const union = new Uint8Array(h * w).map((_, i) => (ms.some((m) => m[i]) ? 1 : 0));
      const inter = new Uint8Array(h * w).map((_, i) => (ms.every((m) => m[i]) ? 1 : 0));
      expect(merge(rles).counts).toEqual(encode(union, h, w).counts);
      expect(merge(rles, true).counts).toEqual(encode(inter, h, w).counts);
      let i2 = 0;
      let u2 = 0;
      for (let i = 0; i < h * w; i++) {
        if (ms[0]![i] && ms[1]![i]) i2++;
        if (ms[0]![i] || ms[1]![i]) u2++;
      }
      expect(iou(rles[0]!, rles[1]!)).toBe(i2 === 0 ? 0 : i2 / u2);
      expect(iou(compress(rles[0]!), rles[1]!)).toBe(i2 === 0 ? 0 : i2 / u2);
    }
  });

  it('merging one mask returns a copy of its runs', () => {
    const r = { size: [2, 2] as [number, number], counts: [1, 2, 1] };
    const m = merge([r]);
    expect(m.counts).toEqual([1, 2, 1]);
    expect(m.counts).not.toBe(r.counts);
  });

  it('iou of two empty masks is 0 and of a mask with itself is 1', () => {
    const empty = { size: [3, 3] as [number, number], counts: [9] };
    expect(iou(empty, empty)).toBe(0);
    const one = encode(new Uint8Array([0, 1, 1, 0, 1, 0, 0, 0, 1]), 3, 3);
    expect(iou(one, one)).toBe(1);
  });

  it('reports an empty box for empty masks written with zero-length runs', () => {
    expect(toBbox({ size: [4, 5], counts: [20, 0] })).toEqual([0, 0, 0, 0]);
    expect(toBbox({ size: [4, 5], counts: [3, 0, 17] })).toEqual([0, 0, 0, 0]);
    expect(toBbox({ size: [4, 5], counts: [3, 0, 2, 2, 13] })).toEqual([1, 1, 1, 2]);
  });
});

describe('the worked examples of docs/rle.md', () => {
  it('writes multi-group and negative values as documented', () => {
    expect(countsToString([100])).toBe('T3');
    expect(countsToString([1, 102, 3, 2])).toBe('1V33lL');
    expect(countsFromString('1V33lL')).toEqual([1, 102, 3, 2]);
  });

  it('gives the documented area, box, union, intersection and IoU of the 3×4 example', () => {
    const m = encode(new Uint8Array([0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1]), 3, 4);
    expect(area(m)).toBe(5);
    expect(toBbox(m)).toEqual([1, 0, 3, 3]);
    const b = encode(new Uint8Array([0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0]), 3, 4);
    expect(merge([m, b]).counts).toEqual([3, 2, 1, 2, 1, 3]);
    expect(merge([m, b], true).counts).toEqual([6, 2, 4]);
    expect(iou(m, b)).toBe(2 / 7);
  });
});

describe('decodeInto', () => {
  it('overwrites a reused buffer, aligned or not, with the same pixels as decode', () => {
    const rand = rng(17);
    const backing = new Uint8Array(1 + 24 * 20).fill(7);
    for (const [h, w, out] of [
      [20, 24, new Uint8Array(20 * 24).fill(9)],
      [20, 24, backing.subarray(1)],
      [24, 20, new Uint8Array(24 * 20).fill(1)],
    ] as const) {
      const m = blobMask(rand, h, w, 3);
      const rle = encodeCompressed(m, h, w);
      expect(decodeInto(rle, out)).toBe(out);
      expect(firstDifference(out, m)).toBe(-1);
      expect(firstDifference(out, decode(rle))).toBe(-1);
    }
    expect(backing[0]).toBe(7);
  });

  it('refuses a buffer of the wrong size', () => {
    expect(() => decodeInto({ size: [2, 3], counts: [6] }, new Uint8Array(5))).toThrow(/buffer has 5 bytes/);
  });
});

describe('countsToString across the int32 fast path boundary', () => {
  // pycocotools' rleToString on int64 counts, with float arithmetic only (no 32-bit bit operators).
  function reference(counts: number[]): string {
    let s = '';
    counts.forEach((v, i) => {
      let x = i > 2 ? v - counts[i - 2]! : v;
      let more = true;
      while (more) {
        let c = x - Math.floor(x / 32) * 32;
        x = Math.floor(x / 32);
        more = c & 0x10 ? x !== -1 : x !== 0;
        if (more) c |= 0x20;
        s += String.fromCharCode(c + 48);
      }
    });
    return s;
  }

  it('encodes counts and deltas near ±2^30, 2^31 and 2^40 like the arithmetic version, and round-trips', () => {
    const edges = [
      0,
      1,
      15,
      16,
      31,
      32,
      2 ** 30 - 1,
      2 ** 30,
      2 ** 30 + 1,
      2 ** 31 - 1,
      2 ** 31,
      2 ** 32 + 5,
      2 ** 40 + 3,
    ];
    for (const a of edges)
      for (const b of edges) {
        // Deltas of the 4th and 5th counts are b − a and a − b: both signs around each edge.
        const counts = [a, b, 7, b, a, 3];
        const s = countsToString(counts);
        expect(s).toBe(reference(counts));
        expect(countsFromString(s)).toEqual(counts);
      }
  });
});
