// DOM-free raster operations on row-major 0/1 masks (the layout `common/rle`'s decode returns). They run
// inside the pixel worker; kept pure so they are unit-tested in Node.

/** RGBA color, 0–255 per channel. */
export type Rgba = readonly [number, number, number, number];

/** How a mask is drawn: accepted masks solid, proposals hatched with a dashed-looking edge. */
export type MaskStyle = 'solid' | 'hatched' | 'preview';

/** Parses `#rrggbb` into RGBA with the given alpha; throws on anything else. */
export function hexToRgba(hex: string, alpha: number): Rgba {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new TypeError(`not a #rrggbb color: ${hex}`);
  return [
    parseInt(m[1]!, 16),
    parseInt(m[2]!, 16),
    parseInt(m[3]!, 16),
    Math.round(Math.min(1, Math.max(0, alpha)) * 255),
  ];
}

function isEdge(mask: Uint8Array, w: number, h: number, x: number, y: number): boolean {
  const i = y * w + x;
  return (
    x === 0 ||
    y === 0 ||
    x === w - 1 ||
    y === h - 1 ||
    !mask[i - 1] ||
    !mask[i + 1] ||
    !mask[i - w] ||
    !mask[i + w]
  );
}

/**
 * Colors a mask into RGBA pixels for a canvas: fill at `fill` alpha, the outline (pixels with an
 * outside 4-neighbour) opaque. `hatched` fills only diagonal stripes and dashes the outline, so
 * proposals read as "not yet yours" at a glance.
 */
export function maskToRgba(
  mask: Uint8Array,
  w: number,
  h: number,
  color: Rgba,
  style: MaskStyle,
): Uint8ClampedArray<ArrayBuffer> {
  if (mask.length !== w * h) throw new RangeError(`mask has ${mask.length} pixels, expected ${w}×${h}`);
  const out = new Uint8ClampedArray(w * h * 4);
  const [r, g, b, a] = color;
  const fillA = style === 'hatched' ? Math.round(a * 0.6) : a;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (!mask[i]) continue;
      let alpha: number;
      if (isEdge(mask, w, h, x, y)) {
        alpha = style === 'hatched' && ((x + y) >> 3) % 2 === 1 ? 0 : 255;
      } else if (style === 'hatched') {
        alpha = (x + y) % 8 < 3 ? fillA : 0;
      } else {
        alpha = fillA;
      }
      if (alpha === 0) continue;
      const o = i * 4;
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
      out[o + 3] = alpha;
    }
  }
  return out;
}

/** Sets every pixel within `radius` of (cx, cy) to `value`. Returns how many pixels changed. */
export function paintDisc(
  mask: Uint8Array,
  w: number,
  h: number,
  cx: number,
  cy: number,
  radius: number,
  value: 0 | 1,
): number {
  let changed = 0;
  const r2 = radius * radius;
  const x0 = Math.max(0, Math.floor(cx - radius));
  const x1 = Math.min(w - 1, Math.ceil(cx + radius));
  const y0 = Math.max(0, Math.floor(cy - radius));
  const y1 = Math.min(h - 1, Math.ceil(cy + radius));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - cx;
      const dy = y + 0.5 - cy;
      if (dx * dx + dy * dy > r2) continue;
      const i = y * w + x;
      if (mask[i] !== value) {
        mask[i] = value;
        changed++;
      }
    }
  }
  return changed;
}

/** Paints a round-capped line from `a` to `b` (discs every half radius, so fast strokes leave no gaps). */
export function paintStroke(
  mask: Uint8Array,
  w: number,
  h: number,
  a: { x: number; y: number },
  b: { x: number; y: number },
  radius: number,
  value: 0 | 1,
): number {
  const dist = Math.hypot(b.x - a.x, b.y - a.y);
  const steps = Math.max(1, Math.ceil(dist / Math.max(0.5, radius / 2)));
  let changed = 0;
  for (let s = 0; s <= steps; s++) {
    const t = s / steps;
    changed += paintDisc(mask, w, h, a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t, radius, value);
  }
  return changed;
}

/** Bounding box [x, y, w, h] of the set pixels, or null for an empty mask. */
export function maskBbox(mask: Uint8Array, w: number, h: number): [number, number, number, number] | null {
  let minX = w;
  let minY = h;
  let maxX = -1;
  let maxY = -1;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      if (!mask[row + x]) continue;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
  }
  return maxX < 0 ? null : [minX, minY, maxX - minX + 1, maxY - minY + 1];
}

/** Number of set pixels. */
export function maskArea(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i] ? 1 : 0;
  return n;
}
