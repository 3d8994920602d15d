// The COCO sample (4 val2017 photos, 45 polygon annotations) through the app and back out, checked
// against pycocotools itself.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, type Rle } from '../../common/rle/index.js';
import { initProject, type Project } from '../store/index.js';
import { importFolder } from '../store/index.js';
import { exportCoco } from './coco-export.js';
import { importCoco } from './coco-import.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
// Prefer the committed copy so the test stands alone; fall back to the team's shared data.
const SAMPLE = [
  path.join(here, 'fixtures', 'coco-val2017-sample'),
  path.resolve(repoRoot, '..', 'shared', 'data', 'coco-val2017-sample'),
].find((p) => existsSync(path.join(p, 'annotations.json')));
if (!SAMPLE) console.warn('SKIPPED: coco-val2017-sample not found (main/export/fixtures or ../shared/data)');

const py = spawnSync('python3', ['-c', 'import pycocotools, numpy'], { encoding: 'utf8' });
const HAVE_PYCOCO = py.status === 0;
if (!HAVE_PYCOCO) {
  console.warn(
    `SKIPPED pycocotools checks: python3 with pycocotools and numpy is not available (${(py.stderr || String(py.error ?? '')).trim().split('\n').at(-1)}); ` +
      'install with: python3 -m pip install pycocotools numpy',
  );
}

interface PyMask {
  counts: string;
  size: [number, number];
  sha256: string;
  area: number;
}
interface Coco {
  images: { id: number; file_name: string; width: number; height: number }[];
  categories: { id: number; name: string }[];
  annotations: {
    id: number;
    image_id: number;
    category_id: number;
    segmentation?: unknown;
    iscrowd: number;
    area: number;
    bbox: number[];
  }[];
  info: { format_version: number };
}

function pycoco(
  original: string,
  exported: string,
): { original: Record<string, PyMask | null>; exported: Record<string, PyMask | null> } {
  const r = spawnSync('python3', [path.join(here, 'pycoco_check.py'), original, exported], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`pycoco_check.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as ReturnType<typeof pycoco>;
}

describe.skipIf(!SAMPLE)('COCO round trip on the val2017 sample', () => {
  let dir: string;
  let project: Project;
  let exported: string;
  const annFile = path.join(SAMPLE ?? '', 'annotations.json');

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'maskroom-coco-'));
    project = await initProject(path.join(dir, 'project'), { root: path.join(SAMPLE!, 'images') });
    const folder = await importFolder(project, project.root);
    expect(folder.added).toHaveLength(4);
    const r = await importCoco(project, annFile);
    expect(r).toEqual({
      images: { matched: 4, added: 0, notOnDisk: 0 },
      categories: { matched: 0, added: 80 },
      annotations: { masks: 45, boxOnly: 0 },
    });
    exported = path.join(dir, 'instances.json');
    await exportCoco(project, exported, { now: new Date('2026-01-01T00:00:00Z') });
  });
  afterAll(() => {
    project?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('exports every image, category and annotation, with RLE segmentations and a format version', () => {
    const out = JSON.parse(readFileSync(exported, 'utf8')) as Coco;
    const orig = JSON.parse(readFileSync(annFile, 'utf8')) as Coco;
    expect(out.info.format_version).toBe(1);
    // Images were imported from the folder first, so they keep project ids; they match by file name.
    expect(out.images.map((i) => i.file_name).sort()).toEqual(orig.images.map((i) => i.file_name).sort());
    expect(out.images.find((i) => i.file_name === '000000174482.jpg')).toMatchObject({
      width: 640,
      height: 388,
    });
    const outFile = new Map(out.images.map((i) => [i.id, i.file_name]));
    const origFile = new Map(orig.images.map((i) => [i.id, i.file_name]));
    expect(out.categories.map((c) => [c.id, c.name])).toEqual(orig.categories.map((c) => [c.id, c.name]));
    expect(out.annotations).toHaveLength(45);
    for (const a of out.annotations) {
      const seg = a.segmentation as Rle;
      expect(typeof seg.counts).toBe('string');
      expect(a.iscrowd).toBe(0);
      const o = orig.annotations.find((x) => x.id === a.id)!;
      expect([outFile.get(a.image_id), a.category_id]).toEqual([origFile.get(o.image_id), o.category_id]);
    }
  });

  it.skipIf(!HAVE_PYCOCO)(
    'exported masks equal what pycocotools decodes from the original polygons, and annToMask of the export equals our decode',
    () => {
      const ref = pycoco(annFile, exported);
      const out = JSON.parse(readFileSync(exported, 'utf8')) as Coco;
      expect(Object.keys(ref.exported)).toHaveLength(45);
      for (const a of out.annotations) {
        const seg = a.segmentation as Rle;
        const fromPolygons = ref.original[String(a.id)]!;
        // Same pixels as pycocotools' rasterisation of the original polygons, byte for byte.
        expect(seg.counts, `annotation ${a.id}`).toBe(fromPolygons.counts);
        expect(seg.size).toEqual(fromPolygons.size);
        expect(a.area).toBe(fromPolygons.area);
        // pycocotools loads our file, and annToMask gives exactly the app's decode.
        const theirs = ref.exported[String(a.id)]!;
        const ours = createHash('sha256').update(decode(seg)).digest('hex');
        expect(ours, `annotation ${a.id}`).toBe(theirs.sha256);
      }
    },
  );

  it.skipIf(!HAVE_PYCOCO)(
    'a polygon export loads in pycocotools and rasterises to the same masks (IoU ≥ 0.99)',
    async () => {
      const polyFile = path.join(dir, 'polygons.json');
      const rep = await exportCoco(project, polyFile, { segmentation: 'polygons' });
      expect(rep.annotations).toBe(45);
      const ref = pycoco(exported, polyFile);
      const polys = JSON.parse(readFileSync(polyFile, 'utf8')) as Coco;
      const ious: number[] = [];
      for (const a of polys.annotations) {
        expect(Array.isArray(a.segmentation)).toBe(true);
        const rle = ref.original[String(a.id)]!;
        const fromPoly = ref.exported[String(a.id)]!;
        const m1 = decode({ size: rle.size, counts: rle.counts });
        const m2 = decode({ size: fromPoly.size, counts: fromPoly.counts });
        let inter = 0;
        let union = 0;
        for (let i = 0; i < m1.length; i++) {
          inter += m1[i]! & m2[i]!;
          union += m1[i]! | m2[i]!;
        }
        ious.push(inter / union);
      }
      console.log(`polygon export vs RLE: min IoU ${Math.min(...ious).toFixed(4)} over ${ious.length} masks`);
      expect(Math.min(...ious)).toBeGreaterThanOrEqual(0.99);
    },
  );

  it('export(import(export)) reproduces every mask exactly', async () => {
    const again = await initProject(path.join(dir, 'again'), { root: path.join(SAMPLE!, 'images') });
    try {
      await importCoco(again, exported);
      const second = path.join(dir, 'second.json');
      await exportCoco(again, second, { now: new Date('2026-01-01T00:00:00Z') });
      expect(readFileSync(second, 'utf8')).toBe(readFileSync(exported, 'utf8'));
    } finally {
      again.close();
    }
  });
});
