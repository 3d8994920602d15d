// RLE codec speed on 4000×3000 masks (a 12-megapixel photo): encode/decode, strings, and the run-level
// operations (area, bbox, merge, iou), polygon rasterization, and the mask geometry of common/geometry.
// Also the GPU fast path's CPU side on speckled masks (what random-weight models give): run starts → RLE
// string, area and box, the old way (counts arrays, then three passes) and in one pass. Median and p90 of N
// runs each.
import {
  area,
  compress,
  countsFromString,
  countsToString,
  decode,
  encode,
  fromPolygons,
  iou,
  merge,
  toBbox,
  type RleCounts,
} from '../common/rle/index.js';
import { maskToCocoPolygons, maskToPolygons, polygonsToMask } from '../common/geometry/index.js';
import { masksFromChanges } from '../main/engine/graphs.js';
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

// The GPU post-processing outputs (graphs.ts addPostprocess) of a batch of speckled masks: 32 masks of
// 960×540, runs of 1..9 pixels (~3.3 M runs in all), every other mask starting inside.
const SPECKLED = { k: 32, h: 540, w: 960 } as const;

function speckledOutputs(): { first: Uint8Array; runs: Int32Array; changes: Int32Array } {
  const { k, h, w } = SPECKLED;
  const n = h * w;
  const first = Uint8Array.from({ length: k }, (_, i) => i % 2);
  const runs = new Int32Array(k);
  const changes: number[] = [];
  let s = 1;
  for (let mask = 0; mask < k; mask++) {
    for (let i = 0; ;) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      i += 1 + ((s >>> 16) % 9); // runs of 1..9 pixels
      if (i >= n - 1) break;
      changes.push(i - 1);
      runs[mask]!++;
    }
  }
  return { first, runs, changes: Int32Array.from(changes) };
}

/**
 * What the fast path did before the one-pass summaries: counts arrays per mask (the former
 * rleCountsFromChanges, on the same outputs), then toBbox, an area loop and countsToString on each.
 */
function viaCounts(first: Uint8Array, runs: Int32Array, changes: Int32Array, h: number, w: number) {
  const n = h * w;
  const out: { counts: string; area: number; bbox: number[] }[] = [];
  let j = 0;
  for (let mask = 0; mask < first.length; mask++) {
    const end = j + runs[mask]!;
    const lead = first[mask] ? 1 : 0;
    const counts = new Array<number>(lead + (end - j) + 1);
    if (lead) counts[0] = 0;
    let prev = 0;
    let c = lead;
    for (; j < end; j++) {
      const start = changes[j]! + 1;
      counts[c++] = start - prev;
      prev = start;
    }
    counts[c] = n - prev;
    const bbox = toBbox({ size: [h, w], counts });
    let a = 0;
    for (let t = 1; t < counts.length; t += 2) a += counts[t]!;
    out.push({ counts: countsToString(counts), area: a, bbox });
  }
  return out;
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
  const sp = speckledOutputs();
  const spOld = () => viaCounts(sp.first, sp.runs, sp.changes, SPECKLED.h, SPECKLED.w);
  const spNew = () => masksFromChanges(sp.first, sp.runs, sp.changes, SPECKLED.h, SPECKLED.w);
  // Both must give the same strings, areas and boxes, or the timing means nothing.
  const [o, m] = [spOld(), spNew()];
  o.forEach((x, i) => {
    const y = m[i]!;
    if (x.counts !== y.rle.counts || x.area !== y.area || x.bbox.join() !== y.bbox.join())
      throw new Error(
        `speckled mask ${i}: the one-pass summary differs from counts + toBbox + countsToString`,
      );
  });
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
    ['GPU run starts → counts, toBbox, area, countsToString (old)', 'speckled', spOld, sp.changes.length],
    ['GPU run starts → masksFromChanges, one pass (new)', 'speckled', spNew, sp.changes.length],
  ];
  const rows: SuiteResult['rows'] = [];
  for (const [op, mask, f, runs] of cases) {
    const noise = mask.startsWith('noise');
    const t = time(noise ? Math.min(n, 3) : n, f);
    rows.push({
      op,
      mask: mask === 'speckled' ? `speckled ${SPECKLED.k}× ${SPECKLED.w}×${SPECKLED.h}` : `${mask} ${W}×${H}`,
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
      `speckled: ${SPECKLED.k} masks of ${SPECKLED.w}×${SPECKLED.h} as the GPU post-processing returns them (~${(sp.changes.length / 1e6).toFixed(1)} M runs), what random-weight models give; runs = changes of the whole batch`,
    ],
    extra: { height: H, width: W, iterations: n },
  };
}
