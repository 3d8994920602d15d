import { describe, expect, it } from 'vitest';
import { encode, fromPolygons } from '../rle/index.js';
import { blobMask, firstDifference, randomMask, rng } from '../rle/testing.js';
import {
  bboxOfPoints,
  GeometryError,
  maskToCocoPolygons,
  maskToPolygons,
  pointInPolygon,
  polygonsToMask,
  ringArea,
  simplifyRing,
} from './index.js';

/** Mask from rows of '#' (inside) and '.' (outside). */
function parse(rows: string[]): { mask: Uint8Array; h: number; w: number } {
  const h = rows.length;
  const w = rows[0]!.length;
  const mask = new Uint8Array(h * w);
  rows.forEach((r, y) => [...r].forEach((c, x) => (mask[y * w + x] = c === '#' ? 1 : 0)));
  return { mask, h, w };
}

/** Connected components by flood fill: 8-connected for inside, 4-connected for outside. */
function components(
  mask: Uint8Array,
  h: number,
  w: number,
  value: 0 | 1,
): { count: number; touchBorder: number } {
  const label = new Int32Array(h * w).fill(-1);
  const nb =
    value === 1
      ? [
          [1, 0],
          [-1, 0],
          [0, 1],
          [0, -1],
          [1, 1],
          [1, -1],
          [-1, 1],
          [-1, -1],
        ]
      : [
          [1, 0],
          [-1, 0],
          [0, 1],
          [0, -1],
        ];
  let count = 0;
  let touchBorder = 0;
  for (let s = 0; s < h * w; s++) {
    if ((mask[s] ? 1 : 0) !== value || label[s] !== -1) continue;
    let border = false;
    const stack = [s];
    label[s] = count;
    while (stack.length) {
      const p = stack.pop()!;
      const x = p % w;
      const y = (p - x) / w;
      if (x === 0 || y === 0 || x === w - 1 || y === h - 1) border = true;
      for (const [dx, dy] of nb) {
        const nx = x + dx!;
        const ny = y + dy!;
        if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
        const q = ny * w + nx;
        if ((mask[q] ? 1 : 0) === value && label[q] === -1) {
          label[q] = count;
          stack.push(q);
        }
      }
    }
    count++;
    if (border) touchBorder++;
  }
  return { count, touchBorder };
}

describe('maskToPolygons', () => {
  it('outlines a rectangle by its pixel corners, clockwise on screen', () => {
    const { mask, h, w } = parse(['.....', '.###.', '.###.', '.....']);
    expect(maskToPolygons(mask, h, w)).toEqual([[[1, 1, 4, 1, 4, 3, 1, 3]]]);
    expect(ringArea([1, 1, 4, 1, 4, 3, 1, 3])).toBe(6);
  });

  it('gives a ring with a hole as outer + hole, the hole counter-clockwise', () => {
    const { mask, h, w } = parse(['#####', '#...#', '#...#', '#####']);
    const objs = maskToPolygons(mask, h, w);
    expect(objs).toHaveLength(1);
    expect(objs[0]).toHaveLength(2);
    expect(ringArea(objs[0]![0]!)).toBe(20);
    expect(ringArea(objs[0]![1]!)).toBe(-6);
  });

  it('keeps pixels touching at a corner in one object and splits a 4-connected background', () => {
    const { mask, h, w } = parse(['#.', '.#']);
    const objs = maskToPolygons(mask, h, w);
    expect(objs).toHaveLength(1);
    expect(objs[0]).toHaveLength(1);
    expect(Math.abs(ringArea(objs[0]![0]!))).toBe(2);
    // A diagonal gap does not connect the inner background to the outside: it stays a hole.
    const d = parse(['###.', '#.#.', '##..', '....']);
    const o = maskToPolygons(d.mask, d.h, d.w);
    expect(o).toHaveLength(1);
    // The outer ring encloses the 7 pixels and the hole pixel.
    expect(o[0]!.map((r) => ringArea(r))).toEqual([8, -1]);
  });

  it('makes an island inside a hole its own object', () => {
    const { mask, h, w } = parse([
      '#######',
      '#.....#',
      '#.###.#',
      '#.#.#.#',
      '#.###.#',
      '#.....#',
      '#######',
    ]);
    const objs = maskToPolygons(mask, h, w);
    expect(objs).toHaveLength(2);
    const areas = objs.map((o) => o.map((r) => ringArea(r)));
    expect(areas).toContainEqual([49, -25]);
    expect(areas).toContainEqual([9, -1]);
  });

  it('returns nothing for an empty mask and one rectangle for a full one', () => {
    expect(maskToPolygons(new Uint8Array(12), 3, 4)).toEqual([]);
    expect(maskToPolygons(new Uint8Array(12).fill(1), 3, 4)).toEqual([[[0, 0, 4, 0, 4, 3, 0, 3]]]);
  });

  it('traces random masks back to exactly the same pixels, one outer ring per 8-connected object', () => {
    const rand = rng(99);
    for (let k = 0; k < 150; k++) {
      const h = 1 + Math.floor(rand() * 25);
      const w = 1 + Math.floor(rand() * 25);
      const m = k % 2 ? randomMask(rand, h, w, rand()) : blobMask(rand, h, w, 3);
      const objs = maskToPolygons(m, h, w);
      expect(firstDifference(polygonsToMask(objs, h, w), m)).toBe(-1);
      expect(firstDifference(polygonsToMask(objs.flat(), h, w), m)).toBe(-1);
      expect(objs.length).toBe(components(m, h, w, 1).count);
      const bg = components(m, h, w, 0);
      // Background regions not touching the border are the holes (each hole of exactly one object).
      expect(objs.reduce((s, o) => s + o.length - 1, 0)).toBe(bg.count - bg.touchBorder);
      for (const o of objs) {
        expect(ringArea(o[0]!)).toBeGreaterThan(0);
        for (const hole of o.slice(1)) expect(ringArea(hole)).toBeLessThan(0);
      }
    }
  });

  it('drops objects and holes smaller than minArea', () => {
    const { mask, h, w } = parse(['######..', '#.##.#..', '######..', '........', '.......#']);
    expect(maskToPolygons(mask, h, w).map((o) => o.length)).toEqual([3, 1]);
    const big = maskToPolygons(mask, h, w, { minArea: 2 });
    expect(big).toHaveLength(1);
    expect(big[0]).toHaveLength(1);
    expect(ringArea(big[0]![0]!)).toBe(18);
  });

  it('simplifies with a tolerance and stays close to the mask', () => {
    const h = 120;
    const w = 160;
    const m = blobMask(rng(4), h, w, 2);
    const exact = maskToPolygons(m, h, w);
    const simple = maskToPolygons(m, h, w, { tolerance: 1.5 });
    const count = (o: number[][][]): number => o.flat().reduce((s, r) => s + r.length, 0);
    expect(count(simple)).toBeLessThan(count(exact) / 2);
    const back = polygonsToMask(simple, h, w);
    let inter = 0;
    let union = 0;
    for (let i = 0; i < m.length; i++) {
      if (m[i] && back[i]) inter++;
      if (m[i] || back[i]) union++;
    }
    expect(inter / union).toBeGreaterThan(0.95);
  });

  it('rejects bad input with GeometryError', () => {
    expect(() => maskToPolygons(new Uint8Array(5), 2, 3)).toThrow(GeometryError);
    expect(() => maskToPolygons(new Uint8Array(6), 2, 3, { tolerance: -1 })).toThrow(/tolerance/);
    expect(() => polygonsToMask([[1, 2, 3]], 4, 4)).toThrow(GeometryError);
    expect(() => polygonsToMask([[1, 2, 3, NaN]], 4, 4)).toThrow(/finite/);
    expect(() => polygonsToMask([], 4, -1)).toThrow(GeometryError);
  });
});

describe('polygonsToMask', () => {
  it('fills pixels whose centre is inside, holes by the even-odd rule', () => {
    const m = polygonsToMask(
      [
        [0, 0, 5, 0, 5, 5, 0, 5],
        [1, 1, 4, 1, 4, 4, 1, 4],
      ],
      5,
      5,
    );
    expect(m.reduce((s, v) => s + v, 0)).toBe(25 - 9);
    expect(m[2 * 5 + 2]).toBe(0);
    expect(m[0]).toBe(1);
  });

  it('clips to the frame and fills a triangle by pixel centres', () => {
    const m = polygonsToMask([[-10, -10, 20, -10, -10, 20]], 4, 4);
    // x + y < 10 - 0.x for every centre in a 4×4 frame: all inside.
    expect(m.every((v) => v === 1)).toBe(true);
    const t = polygonsToMask([[0, 0, 4, 0, 0, 4]], 4, 4);
    // centre (x+.5, y+.5) inside when x + y + 1 < 4
    expect([...t]).toEqual([1, 1, 1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('unites objects given as number[][][]', () => {
    const m = polygonsToMask([[[0, 0, 2, 0, 2, 2, 0, 2]], [[1, 1, 3, 1, 3, 3, 1, 3]]], 3, 3);
    expect([...m]).toEqual([1, 1, 0, 1, 1, 1, 0, 1, 1]);
  });
});

describe('maskToCocoPolygons', () => {
  it('round-trips through pycocotools-identical rasterization, holes bridged', () => {
    const rand = rng(123);
    for (let k = 0; k < 120; k++) {
      const h = 1 + Math.floor(rand() * 30);
      const w = 1 + Math.floor(rand() * 30);
      const m = k % 3 ? blobMask(rand, h, w, 3) : randomMask(rand, h, w, rand());
      const polys = maskToCocoPolygons(m, h, w);
      if (polys.length === 0) {
        expect(m.every((v) => v === 0)).toBe(true);
        continue;
      }
      expect(fromPolygons(polys, h, w).counts).toEqual(encode(m, h, w).counts);
      expect(firstDifference(polygonsToMask(polys, h, w), m)).toBe(-1);
    }
  });

  it('fills holes when asked to drop them', () => {
    const { mask, h, w } = parse(['#####', '#...#', '#.#.#', '#...#', '#####']);
    const bridged = maskToCocoPolygons(mask, h, w);
    expect(bridged).toHaveLength(2);
    const dropped = maskToCocoPolygons(mask, h, w, { holes: 'drop' });
    expect(dropped).toEqual([
      [0, 0, 5, 0, 5, 5, 0, 5],
      [2, 2, 3, 2, 3, 3, 2, 3],
    ]);
    expect(fromPolygons(dropped, h, w).counts).toEqual([0, 25]);
  });
});

describe('helpers', () => {
  it('bboxOfPoints spans one or several rings', () => {
    expect(bboxOfPoints([1, 2, 5, 3, 4, 8])).toEqual([1, 2, 4, 6]);
    expect(
      bboxOfPoints([
        [1, 2, 3, 4],
        [-1, 0, 0, 9],
      ]),
    ).toEqual([-1, 0, 4, 9]);
    expect(bboxOfPoints([])).toEqual([0, 0, 0, 0]);
  });

  it('pointInPolygon follows the even-odd rule', () => {
    const rings = [
      [0, 0, 10, 0, 10, 10, 0, 10],
      [3, 3, 7, 3, 7, 7, 3, 7],
    ];
    expect(pointInPolygon(1, 1, rings)).toBe(true);
    expect(pointInPolygon(5, 5, rings)).toBe(false);
    expect(pointInPolygon(11, 5, rings)).toBe(false);
    expect(pointInPolygon(5, 5, rings[0]!)).toBe(true);
  });

  it('simplifyRing keeps corners and drops points on straight edges', () => {
    expect(simplifyRing([0, 0, 2, 0, 4, 0, 4, 2, 4, 4, 0, 4], 0.1)).toEqual([0, 0, 4, 0, 4, 4, 0, 4]);
  });
});
