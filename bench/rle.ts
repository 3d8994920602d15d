// RLE codec speed on 4000×3000 masks (a 12-megapixel photo): encode/decode, strings, and the run-level
// operations (area, bbox, merge, iou), polygon rasterization, and the mask geometry of common/geometry.
// Median and p90 of N runs each.
import {
  area,
  compress,
  countsFromString,
  decode,
  encode,
  fromPolygons,
  iou,
  merge,
  toBbox,
  type RleCounts,
} from '../common/rle/index.js';
import { maskToCocoPolygons, maskToPolygons, polygonsToMask } from '../common/geometry/index.js';
import { percentile, type BenchOptions, type SuiteResult } from './types.js';

const H = 3000;
const W = 4000;

/** An ellipse-with-hole "object" at a given centre: long runs, several columns, a hole, like a SAM mask. */
function objectMask(cx: number, cy: number, rx: number, ry: number): Uint8Array {
  const m = new Uint8Array(H * W);
  for (let y = 0; y < H; y++) {
    const dy = ((y - cy) / ry) ** 2;
    if (dy > 1) continue;
    for (let x = 0; x < W; x++) {
      const d = dy + ((x - cx) / rx) ** 2;
      if (d <= 1 && d > 0.15) m[y * W + x] = 1;
    }
  }
  return m;
}

/** Worst case for runs: a noisy mask where about every third pixel flips. */
function noisyMask(): Uint8Array {
  const m = new Uint8Array(H * W);
  let s = 12345;
  for (let i = 0; i < m.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    m[i] = s >>> 31;
  }
  return m;
}

function time(n: number, f: () => unknown): number[] {
  f(); // warm up the JIT
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    f();
    out.push(performance.now() - t);
  }
  return out;
}

/** The suite for bench/index.ts: `npm run bench -- --suite rle`. */
export async function run(opts: BenchOptions): Promise<SuiteResult> {
  const n = opts.quick ? 3 : 15;
  const a = objectMask(2000, 1500, 1700, 1200);
  const b = objectMask(2300, 1600, 1500, 1100);
  const noisy = noisyMask();
  const ra = encode(a, H, W);
  const rb = encode(b, H, W);
  const rn = encode(noisy, H, W);
  const ca = compress(ra);
  const cn = compress(rn);
  const many: RleCounts[] = [];
  for (let k = 0; k < 10; k++) many.push(encode(objectMask(400 + k * 350, 1500, 300, 900), H, W));
  // A COCO-like object outline: 200 vertices on a wobbly ellipse.
  const poly: number[] = [];
  for (let k = 0; k < 200; k++) {
    const t = (2 * Math.PI * k) / 200;
    const r = 1 + 0.1 * Math.sin(7 * t);
    poly.push(2000 + 1700 * r * Math.cos(t), 1500 + 1200 * r * Math.sin(t));
  }

  const rings = maskToPolygons(a, H, W);
  const cases: [string, string, () => unknown, number][] = [
    ['encode', 'object', () => encode(a, H, W), ra.counts.length],
    ['decode', 'object', () => decode(ra), ra.counts.length],
    ['decode (string)', 'object', () => decode(ca), ra.counts.length],
    ['compress', 'object', () => compress(ra), ra.counts.length],
    ['countsFromString', 'object', () => countsFromString(ca.counts), ra.counts.length],
    ['area', 'object', () => area(ra), ra.counts.length],
    ['toBbox', 'object', () => toBbox(ra), ra.counts.length],
    ['merge (union of 2)', 'object', () => merge([ra, rb]), ra.counts.length + rb.counts.length],
    ['merge (intersection of 2)', 'object', () => merge([ra, rb], true), ra.counts.length + rb.counts.length],
    ['merge (union of 10)', 'object', () => merge(many), many.reduce((s, r) => s + r.counts.length, 0)],
    ['iou', 'object', () => iou(ra, rb), ra.counts.length + rb.counts.length],
    ['fromPolygons (200 vertices)', 'object', () => fromPolygons([poly], H, W), null as unknown as number],
    ['maskToPolygons', 'object', () => maskToPolygons(a, H, W), null as unknown as number],
    [
      'maskToPolygons (tolerance 1)',
      'object',
      () => maskToPolygons(a, H, W, { tolerance: 1 }),
      null as unknown as number,
    ],
    ['maskToCocoPolygons', 'object', () => maskToCocoPolygons(a, H, W), null as unknown as number],
    ['polygonsToMask', 'object', () => polygonsToMask(rings, H, W), null as unknown as number],
    ['encode', 'noise (worst case)', () => encode(noisy, H, W), rn.counts.length],
    ['decode', 'noise (worst case)', () => decode(rn), rn.counts.length],
    ['compress', 'noise (worst case)', () => compress(rn), rn.counts.length],
    ['countsFromString', 'noise (worst case)', () => countsFromString(cn.counts), rn.counts.length],
  ];
  const rows: SuiteResult['rows'] = [];
  for (const [op, mask, f, runs] of cases) {
    const noise = mask.startsWith('noise');
    const t = time(noise ? Math.min(n, 3) : n, f);
    rows.push({
      op,
      mask: `${mask} ${W}×${H}`,
      runs: runs ?? null,
      n: t.length,
      median_ms: Number(percentile(t, 50).toFixed(2)),
      p90_ms: Number(percentile(t, 90).toFixed(2)),
    });
  }
  return {
    rows,
    notes: [
      `encode/decode target: well under 50 ms for a ${W}×${H} object mask; run-level ops never decode to pixels`,
      'the noise mask (~6M runs) is the worst case, not a realistic SAM mask',
    ],
    extra: { height: H, width: W, iterations: n },
  };
}
