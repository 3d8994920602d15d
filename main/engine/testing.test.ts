import { describe, expect, it } from 'vitest';
import { interiorPoint, maskBox, squaredDistanceTransform } from './testing.js';

describe('distance transform helpers', () => {
  it('gives exact squared Euclidean distances to the outside, border included', () => {
    // 5×5 square of ones inside a 7×7 frame of zeros
    const w = 7;
    const h = 7;
    const m = new Uint8Array(w * h);
    for (let y = 1; y < 6; y++) for (let x = 1; x < 6; x++) m[y * w + x] = 1;
    const d = squaredDistanceTransform(m, w, h);
    expect(d[3 * w + 3]).toBe(9);
    expect(d[1 * w + 1]).toBe(1);
    expect(d[2 * w + 3]).toBe(4);
    expect(d[0]).toBe(0);
    // touching the image border: distance 1 to the virtual outside
    const full = new Uint8Array(9).fill(1);
    expect(squaredDistanceTransform(full, 3, 3)[4]).toBe(4);
  });

  it('puts the interior point of an L shape in its thick part', () => {
    const w = 20;
    const h = 20;
    const m = new Uint8Array(w * h);
    for (let y = 0; y < 20; y++) for (let x = 0; x < 4; x++) m[y * w + x] = 1; // thin bar
    for (let y = 10; y < 20; y++) for (let x = 0; x < 12; x++) m[y * w + x] = 1; // thick foot
    const p = interiorPoint(m, w, h);
    expect(p.y).toBeGreaterThanOrEqual(13);
    expect(p.x).toBeGreaterThanOrEqual(3);
    expect(maskBox(m, w, h)).toEqual([0, 0, 12, 20]);
  });
});
