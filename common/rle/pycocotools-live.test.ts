import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  area,
  compress,
  countsToString,
  encode,
  encodeCompressed,
  fromBbox,
  fromPolygons,
  iou,
  merge,
  toBbox,
} from './index.js';
import { maskToCocoPolygons } from '../geometry/index.js';
import { blobMask, packBits, randomMask, rng } from './testing.js';

// Fresh random cases each run, answered by pycocotools itself in a child process. Needs python3 with
// pycocotools and numpy (`python3 -m pip install pycocotools numpy`); without them the test is skipped and
// says so. The seed is printed so that a failure can be replayed with RLE_LIVE_SEED.

const ORACLE = fileURLToPath(new URL('./fixtures/pycocotools_oracle.py', import.meta.url));
const probe = spawnSync('python3', ['-c', 'import pycocotools, numpy'], { encoding: 'utf8' });
const missing =
  probe.error !== undefined
    ? `python3 not runnable (${probe.error.message})`
    : probe.status !== 0
      ? `pycocotools/numpy not importable: ${probe.stderr.trim().split('\n').pop() ?? ''}`
      : null;
if (missing) {
  console.warn(`[rle] SKIPPING the live pycocotools comparison: ${missing}`);
}

interface OracleAnswer {
  masks: { counts: string; runs: number[]; area: number; bbox: number[] }[];
  pairs: { iou: number; iouCrowd: number; union: string; intersection: string }[];
  groups: { union: string; intersection: string }[];
  polygons: { counts: string; area: number; bbox: number[] }[];
  bboxes: { counts: string }[];
  counts: string[];
}

function askPycocotools(request: unknown): OracleAnswer {
  const r = spawnSync('python3', [ORACLE], {
    input: JSON.stringify(request),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) {
    const file = path.join(tmpdir(), `rle-oracle-request-${process.pid}.json`);
    writeFileSync(file, JSON.stringify(request));
    throw new Error(`pycocotools oracle failed (request kept in ${file}): ${r.stderr}`);
  }
  return JSON.parse(r.stdout) as OracleAnswer;
}

const round2 = (v: number): number => Math.round(v * 100) / 100;

describe('live comparison with pycocotools', () => {
  it.skipIf(missing !== null)(
    'encodes, merges, rasterizes and measures random cases byte-identically',
    () => {
      const seed = Number(process.env.RLE_LIVE_SEED ?? Date.now() % 1_000_000);
      console.log(`[rle] live pycocotools comparison, seed ${seed}`);
      const rand = rng(seed);
      const masks: { h: number; w: number; mask: Uint8Array }[] = [];
      const sizes: [number, number][] = [];
      for (let k = 0; k < 8; k++) sizes.push([1 + Math.floor(rand() * 70), 1 + Math.floor(rand() * 70)]);
      sizes.push([1, 1 + Math.floor(rand() * 50)], [1 + Math.floor(rand() * 50), 1], [480, 640]);
      for (const [h, w] of sizes) {
        for (let k = 0; k < 3; k++) {
          const mask =
            rand() < 0.4 ? randomMask(rand, h, w, rand()) : blobMask(rand, h, w, 1 + Math.floor(rand() * 4));
          masks.push({ h, w, mask });
        }
      }
      const pairs: [number, number][] = [];
      const groups: number[][] = [];
      for (let i = 0; i < masks.length; i += 3) {
        pairs.push([i, i + 1], [i + 1, i + 2], [i, i + 2]);
        groups.push([i, i + 1, i + 2]);
      }
      const polygons: { h: number; w: number; polygons: number[][] }[] = [];
      for (let k = 0; k < 40; k++) {
        const h = 2 + Math.floor(rand() * 150);
        const w = 2 + Math.floor(rand() * 150);
        const parts: number[][] = [];
        for (let p = 1 + Math.floor(rand() * 3); p > 0; p--) {
          // At least 3 points: pycocotools reads a first part of 4 numbers as a box.
          const n = 3 + Math.floor(rand() * 12);
          const part: number[] = [];
          for (let j = 0; j < n; j++)
            part.push(round2(-0.2 * w + rand() * 1.4 * w), round2(-0.2 * h + rand() * 1.4 * h));
          parts.push(part);
        }
        polygons.push({ h, w, polygons: parts });
      }
      // Outlines traced by common/geometry (holes bridged) must come back as the same mask through pycocotools.
      const traced: number[] = [];
      masks.forEach((m, i) => {
        if (m.h * m.w > 5000 || !m.mask.some((v) => v)) return;
        traced.push(i);
        polygons.push({ h: m.h, w: m.w, polygons: maskToCocoPolygons(m.mask, m.h, m.w) });
      });
      const bboxes: { h: number; w: number; bbox: [number, number, number, number] }[] = [];
      for (let k = 0; k < 30; k++) {
        bboxes.push({
          h: 60,
          w: 80,
          bbox: [round2(rand() * 90 - 5), round2(rand() * 70 - 5), round2(rand() * 60), round2(rand() * 50)],
        });
      }
      const counts: number[][] = [];
      for (let k = 0; k < 30; k++) {
        // Below 2^24 (at most 5 characters a count): pycocotools' rleToString allots 6 characters per count and
        // writes its terminating NUL past the end when every count takes 6; that corrupts its heap.
        counts.push(
          Array.from({ length: 1 + Math.floor(rand() * 10) }, () => Math.floor(rand() ** 4 * 2 ** 24)),
        );
      }

      const answer = askPycocotools({
        masks: masks.map((m) => ({ h: m.h, w: m.w, bits: packBits(m.mask) })),
        pairs,
        groups,
        polygons,
        bboxes,
        counts,
      });

      const rles = masks.map((m) => encodeCompressed(m.mask, m.h, m.w));
      masks.forEach((m, i) => {
        const want = answer.masks[i]!;
        expect(encode(m.mask, m.h, m.w).counts).toEqual(want.runs);
        expect(rles[i]!.counts).toBe(want.counts);
        expect(area(rles[i]!)).toBe(want.area);
        expect(toBbox(rles[i]!)).toEqual(want.bbox);
      });
      pairs.forEach(([a, b], i) => {
        const want = answer.pairs[i]!;
        expect(iou(rles[a]!, rles[b]!)).toBe(want.iou);
        expect(iou(rles[a]!, rles[b]!, true)).toBe(want.iouCrowd);
        expect(compress(merge([rles[a]!, rles[b]!])).counts).toBe(want.union);
        expect(compress(merge([rles[a]!, rles[b]!], true)).counts).toBe(want.intersection);
      });
      groups.forEach((g, i) => {
        expect(compress(merge(g.map((k) => rles[k]!))).counts).toBe(answer.groups[i]!.union);
        expect(
          compress(
            merge(
              g.map((k) => rles[k]!),
              true,
            ),
          ).counts,
        ).toBe(answer.groups[i]!.intersection);
      });
      polygons.forEach((p, i) => {
        const rle = fromPolygons(p.polygons, p.h, p.w);
        expect(compress(rle).counts).toBe(answer.polygons[i]!.counts);
        expect(toBbox(rle)).toEqual(answer.polygons[i]!.bbox);
      });
      expect(traced.length).toBeGreaterThan(0);
      const firstTraced = polygons.length - traced.length;
      traced.forEach((m, k) => {
        expect(answer.polygons[firstTraced + k]!.counts).toBe(rles[m]!.counts);
      });
      bboxes.forEach((b, i) => {
        expect(compress(fromBbox(b.bbox, b.h, b.w)).counts).toBe(answer.bboxes[i]!.counts);
      });
      counts.forEach((c, i) => {
        expect(countsToString(c)).toBe(answer.counts[i]);
      });
    },
  );
});

// The shared data folder sits next to the repository (../shared), as in every checkout and CI run.
const COCO_SAMPLE = fileURLToPath(
  new URL('../../../shared/data/coco-val2017-sample/annotations.json', import.meta.url),
);
const cocoMissing = existsSync(COCO_SAMPLE) ? null : `${COCO_SAMPLE} not found`;
if (cocoMissing) console.warn(`[rle] SKIPPING the COCO sample comparison: ${cocoMissing}`);

interface CocoSample {
  images: { id: number; height: number; width: number }[];
  annotations: { id: number; image_id: number; segmentation: number[][] }[];
}

describe('the real COCO val2017 sample, live', () => {
  it.skipIf(missing !== null || cocoMissing !== null)(
    'rasterizes all 45 annotations like frPyObjects+merge, with the same box and area',
    () => {
      const coco = JSON.parse(readFileSync(COCO_SAMPLE, 'utf8')) as CocoSample;
      const size = new Map(coco.images.map((im) => [im.id, [im.height, im.width] as const]));
      const cases = coco.annotations.map((a) => {
        const [h, w] = size.get(a.image_id)!;
        return { id: a.id, h, w, polygons: a.segmentation };
      });
      expect(cases).toHaveLength(45);
      const answer = askPycocotools({ polygons: cases });
      cases.forEach((c, i) => {
        const rle = fromPolygons(c.polygons, c.h, c.w);
        expect([c.id, compress(rle).counts]).toEqual([c.id, answer.polygons[i]!.counts]);
        expect([c.id, toBbox(rle)]).toEqual([c.id, answer.polygons[i]!.bbox]);
        expect([c.id, area(rle)]).toEqual([c.id, answer.polygons[i]!.area]);
      });
    },
  );
});
