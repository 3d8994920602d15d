import { describe, expect, it } from 'vitest';
import { traceContours } from './contours.js';

function grid(rows: string[]): { mask: Uint8Array; w: number; h: number } {
  const h = rows.length;
  const w = rows[0]!.length;
  const mask = new Uint8Array(w * h);
  rows.forEach((r, y) => [...r].forEach((c, x) => (mask[y * w + x] = c === '#' ? 1 : 0)));
  return { mask, w, h };
}

/** Shoelace area of a flat polygon (positive = clockwise on screen, y down). */
function signedArea(p: number[]): number {
  let a = 0;
  for (let i = 0; i < p.length; i += 2) {
    const j = (i + 2) % p.length;
    a += p[i]! * p[j + 1]! - p[j]! * p[i + 1]!;
  }
  return a / 2;
}

describe('contours', () => {
  it('outlines a rectangle with its four corners', () => {
    const { mask, w, h } = grid(['.....', '.###.', '.###.', '.....']);
    const polys = traceContours(mask, w, h);
    expect(polys).toHaveLength(1);
    expect(polys[0]!.length).toBe(8);
    expect(Math.abs(signedArea(polys[0]!))).toBe(6);
    const xs = polys[0]!.filter((_, i) => i % 2 === 0);
    const ys = polys[0]!.filter((_, i) => i % 2 === 1);
    expect([Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)]).toEqual([1, 4, 1, 3]);
  });

  it('gives a ring an outer outline and a hole outline of opposite orientation', () => {
    const { mask, w, h } = grid(['#####', '#...#', '#...#', '#####']);
    const polys = traceContours(mask, w, h);
    expect(polys).toHaveLength(2);
    const areas = polys.map(signedArea).sort((a, b) => a - b);
    expect(areas[0]! * areas[1]!).toBeLessThan(0);
    // Outer 5×4 = 20, hole 3×2 = 6: the signed areas add up to the mask's pixel count.
    expect(Math.abs(areas[0]! + areas[1]!)).toBe(14);
  });

  it('keeps two pixels touching at a corner as two loops', () => {
    const { mask, w, h } = grid(['#.', '.#']);
    const polys = traceContours(mask, w, h);
    expect(polys).toHaveLength(2);
    for (const p of polys) expect(Math.abs(signedArea(p))).toBe(1);
  });

  it('outlines masks touching the image border and returns nothing for an empty mask', () => {
    const full = grid(['##', '##']);
    expect(traceContours(full.mask, full.w, full.h).map(signedArea).map(Math.abs)).toEqual([4]);
    const empty = grid(['..', '..']);
    expect(traceContours(empty.mask, empty.w, empty.h)).toEqual([]);
  });

  it('traces an L-shape with six corners and its exact area', () => {
    const { mask, w, h } = grid(['#..', '#..', '###']);
    const [p] = traceContours(mask, w, h);
    expect(p!.length).toBe(12);
    expect(Math.abs(signedArea(p!))).toBe(5);
  });
});
