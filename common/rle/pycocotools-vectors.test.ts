import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  area,
  compress,
  countsFromString,
  countsToString,
  decode,
  decompress,
  encode,
  encodeCompressed,
  fromBbox,
  fromPolygons,
  iou,
  merge,
  toBbox,
  type Rle,
} from './index.js';
import { firstDifference, unpackBits } from './testing.js';

interface MaskVector {
  name: string;
  h: number;
  w: number;
  bits: string;
  counts: string;
  runs: number[];
  area: number;
  bbox: number[];
}
interface Vectors {
  masks: MaskVector[];
  pairs: { a: number; b: number; iou: number; iouCrowd: number; union: string; intersection: string }[];
  groups: { members: number[]; union: string; intersection: string }[];
  polygons: {
    name: string;
    h: number;
    w: number;
    polygons: number[][];
    counts: string;
    area: number;
    bbox: number[];
  }[];
  coco: {
    id: number;
    h: number;
    w: number;
    polygons: number[][];
    counts: string;
    area: number;
    bbox: number[];
  }[];
  bboxes: { h: number; w: number; bbox: [number, number, number, number]; counts: string }[];
  counts: { counts: number[]; string: string }[];
}

const V = JSON.parse(
  readFileSync(new URL('./fixtures/pycocotools-vectors.json', import.meta.url), 'utf8'),
) as Vectors;
const rleOf = (m: MaskVector): Rle => ({ size: [m.h, m.w], counts: m.counts });

describe('matches pycocotools on committed vectors', () => {
  it.each(V.masks.map((m) => [m.name, m] as const))('encodes %s to the same runs and string', (_, m) => {
    const mask = unpackBits(m.bits, m.h, m.w);
    expect(encode(mask, m.h, m.w).counts).toEqual(m.runs);
    expect(encodeCompressed(mask, m.h, m.w)).toEqual({ size: [m.h, m.w], counts: m.counts });
  });

  it.each(V.masks.map((m) => [m.name, m] as const))(
    'decodes the pycocotools string of %s to the mask',
    (_, m) => {
      expect(firstDifference(decode(rleOf(m)), unpackBits(m.bits, m.h, m.w))).toBe(-1);
      expect(decompress(rleOf(m)).counts).toEqual(m.runs);
    },
  );

  it('gives the same area and bbox for every mask', () => {
    for (const m of V.masks) {
      expect([m.name, area(rleOf(m))]).toEqual([m.name, m.area]);
      expect([m.name, toBbox(rleOf(m))]).toEqual([m.name, m.bbox]);
      expect([m.name, toBbox({ size: [m.h, m.w], counts: m.runs })]).toEqual([m.name, m.bbox]);
    }
  });

  it('gives the same iou (plain and crowd) and merges for every same-size pair', () => {
    for (const p of V.pairs) {
      const a = rleOf(V.masks[p.a]!);
      const b = rleOf(V.masks[p.b]!);
      const label = `${V.masks[p.a]!.name} / ${V.masks[p.b]!.name}`;
      expect([label, iou(a, b)]).toEqual([label, p.iou]);
      expect([label, iou(a, b, true)]).toEqual([label, p.iouCrowd]);
      expect([label, compress(merge([a, b])).counts]).toEqual([label, p.union]);
      expect([label, compress(merge([a, b], true)).counts]).toEqual([label, p.intersection]);
    }
  });

  it('merges groups of three or more masks like pycocotools', () => {
    expect(V.groups.length).toBeGreaterThan(0);
    for (const g of V.groups) {
      const rles = g.members.map((i) => rleOf(V.masks[i]!));
      expect(compress(merge(rles)).counts).toBe(g.union);
      expect(compress(merge(rles, true)).counts).toBe(g.intersection);
    }
  });

  it.each(V.polygons.map((p) => [p.name, p] as const))('rasterizes polygon "%s" byte-identically', (_, p) => {
    const rle = fromPolygons(p.polygons, p.h, p.w);
    expect(compress(rle).counts).toBe(p.counts);
    expect(area(rle)).toBe(p.area);
    expect(toBbox(rle)).toEqual(p.bbox);
  });

  it('rasterizes boxes like frBbox, fractional and out-of-frame ones included', () => {
    for (const b of V.bboxes) {
      expect([b.bbox, compress(fromBbox(b.bbox, b.h, b.w)).counts]).toEqual([b.bbox, b.counts]);
    }
  });

  it('writes and reads count strings with large and signed deltas', () => {
    for (const c of V.counts) {
      expect(countsToString(c.counts)).toBe(c.string);
      expect(countsFromString(c.string)).toEqual(c.counts);
    }
  });
});

describe('matches pycocotools on the real COCO val2017 sample', () => {
  it('has all 45 annotations', () => {
    expect(V.coco).toHaveLength(45);
  });

  it.each(V.coco.map((a) => [a.id, a] as const))(
    'annotation %i: frPyObjects+merge counts and bbox',
    (_, a) => {
      const rle = fromPolygons(a.polygons, a.h, a.w);
      expect(compress(rle).counts).toBe(a.counts);
      expect(toBbox(rle)).toEqual(a.bbox);
      expect(area(rle)).toBe(a.area);
    },
  );
});
