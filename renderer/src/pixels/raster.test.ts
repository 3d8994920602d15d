import { describe, expect, it } from 'vitest';
import { maskArea, maskBbox, paintDisc, paintStroke } from './raster.js';

describe('raster', () => {
  it('paints a disc of about πr² pixels and clips at the border', () => {
    const m = new Uint8Array(100 * 100);
    paintDisc(m, 100, 100, 50, 50, 10, 1);
    expect(Math.abs(maskArea(m) - Math.PI * 100)).toBeLessThan(15);
    const edge = new Uint8Array(10 * 10);
    paintDisc(edge, 10, 10, 0, 0, 3, 1);
    expect(maskBbox(edge, 10, 10)).toEqual([0, 0, 3, 3]);
  });

  it('leaves no gaps along a fast stroke', () => {
    const m = new Uint8Array(200 * 20);
    paintStroke(m, 200, 20, { x: 5, y: 10 }, { x: 195, y: 10 }, 3, 1);
    for (let x = 5; x < 195; x++) expect(m[10 * 200 + x]).toBe(1);
  });

  it('reports the bounding box, or null when empty', () => {
    const m = new Uint8Array(30 * 20);
    expect(maskBbox(m, 30, 20)).toBeNull();
    m[5 * 30 + 7] = 1;
    m[12 * 30 + 20] = 1;
    expect(maskBbox(m, 30, 20)).toEqual([7, 5, 14, 8]);
  });
});
