import { describe, expect, it } from 'vitest';
import { decode, encodeCompressed } from '../../../common/rle/index.js';
import { PixelHandler, renderMask } from './handler.js';
import type { PixelResponse } from './protocol.js';

const W = 20;
const H = 10;

/** A mask with a filled rectangle [x0,x1) × [y0,y1). */
function rect(x0: number, y0: number, x1: number, y1: number): Uint8Array {
  const m = new Uint8Array(W * H);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * W + x] = 1;
  return m;
}

function expectKind<K extends PixelResponse['kind']>(
  r: PixelResponse,
  kind: K,
): Extract<PixelResponse, { kind: K }> {
  if (r.kind !== kind) throw new Error(`expected ${kind}, got ${r.kind}: ${JSON.stringify(r)}`);
  return r as Extract<PixelResponse, { kind: K }>;
}

describe('pixel worker logic', () => {
  it('renders an RLE mask cropped to its bounding box in the category color', () => {
    const h = new PixelHandler();
    const rle = encodeCompressed(rect(3, 2, 8, 6), H, W);
    const r = expectKind(
      h.handle({ kind: 'render', seq: 1, channel: 'a', rle, color: '#ff0000', alpha: 0.5, style: 'solid' }),
      'rendered',
    );
    expect(r.mask).toMatchObject({ x: 3, y: 2, width: 5, height: 4, area: 20 });
    // Interior pixel (1,1) of the crop: filled at half alpha; corner (0,0): outline, opaque.
    const px = (x: number, y: number) =>
      Array.from(r.mask.rgba.subarray((y * 5 + x) * 4, (y * 5 + x) * 4 + 4));
    expect(px(1, 1)).toEqual([255, 0, 0, 128]);
    expect(px(0, 0)).toEqual([255, 0, 0, 255]);
  });

  it('renders proposals hatched: part of the interior is left transparent', () => {
    const m = rect(0, 0, 20, 10);
    const solid = renderMask(m, W, H, '#00ff00', 0.5, 'solid');
    const hatched = renderMask(m, W, H, '#00ff00', 0.5, 'hatched');
    const opaqueCount = (a: Uint8ClampedArray) => a.filter((_, i) => i % 4 === 3 && a[i]! > 0).length;
    expect(opaqueCount(hatched.rgba)).toBeLessThan(opaqueCount(solid.rgba) * 0.7);
    expect(opaqueCount(hatched.rgba)).toBeGreaterThan(0);
  });

  it('returns an empty bitmap for an empty mask', () => {
    const r = renderMask(new Uint8Array(W * H), W, H, '#ffffff', 1, 'solid');
    expect(r.width).toBe(0);
    expect(r.rgba.length).toBe(0);
  });

  it('paints a brush stroke into the mask and re-encodes it as RLE', () => {
    const h = new PixelHandler();
    const rle = encodeCompressed(rect(2, 2, 5, 5), H, W);
    h.handle({
      kind: 'strokeBegin',
      seq: 1,
      channel: 'brush',
      strokeId: 7,
      rle,
      color: '#123456',
      x: 12,
      y: 5,
      radius: 2,
      value: 1,
    });
    h.handle({
      kind: 'strokeTo',
      seq: 2,
      channel: 'brush',
      strokeId: 7,
      from: { x: 12, y: 5 },
      to: { x: 16, y: 5 },
      radius: 2,
      value: 1,
    });
    const c = expectKind(
      h.handle({ kind: 'strokeCommit', seq: 3, channel: 'brush', strokeId: 7 }),
      'committed',
    );
    const out = decode(c.rle);
    expect(c.rle.size).toEqual([H, W]);
    expect(out[3 * W + 3]).toBe(1); // original pixels kept
    expect(out[5 * W + 14]).toBe(1); // stroke pixels added
    expect(out[9 * W + 0]).toBe(0);
    expect(c.area).toBeGreaterThan(9 + 12);
    expect(h.openStrokes).toBe(0);
  });

  it('erases pixels with value 0', () => {
    const h = new PixelHandler();
    const rle = encodeCompressed(rect(0, 0, 20, 10), H, W);
    h.handle({
      kind: 'strokeBegin',
      seq: 1,
      channel: 'b',
      strokeId: 1,
      rle,
      color: '#ffffff',
      x: 10,
      y: 5,
      radius: 3,
      value: 0,
    });
    const c = expectKind(h.handle({ kind: 'strokeCommit', seq: 2, channel: 'b', strokeId: 1 }), 'committed');
    expect(decode(c.rle)[5 * W + 10]).toBe(0);
    expect(c.area).toBeLessThan(200);
  });

  it('frees the buffer on discard and reports a stroke that is not open as an error', () => {
    const h = new PixelHandler();
    const rle = encodeCompressed(rect(0, 0, 2, 2), H, W);
    h.handle({
      kind: 'strokeBegin',
      seq: 1,
      channel: 'b',
      strokeId: 1,
      rle,
      color: '#ffffff',
      x: 1,
      y: 1,
      radius: 1,
      value: 1,
    });
    expect(h.openStrokes).toBe(1);
    expectKind(h.handle({ kind: 'strokeDiscard', seq: 2, channel: 'b', strokeId: 1 }), 'discarded');
    expect(h.openStrokes).toBe(0);
    const e = expectKind(
      h.handle({
        kind: 'strokeTo',
        seq: 3,
        channel: 'b',
        strokeId: 1,
        from: { x: 0, y: 0 },
        to: { x: 1, y: 1 },
        radius: 1,
        value: 1,
      }),
      'error',
    );
    expect(e.message).toMatch(/no brush stroke 1/);
  });

  it('answers a malformed RLE with an error, not an exception', () => {
    const h = new PixelHandler();
    const r = h.handle({
      kind: 'render',
      seq: 9,
      channel: 'x',
      rle: { size: [4, 4], counts: '!!!!' },
      color: '#ffffff',
      alpha: 1,
      style: 'solid',
    });
    expect(r).toMatchObject({ kind: 'error', seq: 9, channel: 'x' });
  });

  it('rejects a color that is not #rrggbb', () => {
    const h = new PixelHandler();
    const rle = encodeCompressed(rect(0, 0, 2, 2), H, W);
    const r = expectKind(
      h.handle({ kind: 'render', seq: 1, channel: 'x', rle, color: 'red', alpha: 1, style: 'solid' }),
      'error',
    );
    expect(r.message).toMatch(/#rrggbb/);
  });

  it('traces the outline of an RLE mask', () => {
    const h = new PixelHandler();
    const rle = encodeCompressed(rect(3, 2, 8, 6), H, W);
    const r = expectKind(h.handle({ kind: 'contour', seq: 1, channel: 'outline', rle }), 'contoured');
    expect(r.polygons).toHaveLength(1);
    const xs = r.polygons[0]!.filter((_, i) => i % 2 === 0);
    const ys = r.polygons[0]!.filter((_, i) => i % 2 === 1);
    expect([Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)]).toEqual([3, 8, 2, 6]);
  });
});
