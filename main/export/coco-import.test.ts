import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  compress,
  countsFromString,
  decode,
  encodeCompressed,
  fromPolygons,
  merge,
} from '../../common/rle/index.js';
import { initProject, type Project } from '../store/index.js';
import { exportCoco } from './coco-export.js';
import { CocoImportError, importCoco } from './coco-import.js';

let dir: string;
let project: Project;
beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'maskroom-cocoimp-'));
  project = await initProject(path.join(dir, 'p'));
  project.images.insertImage({ path: 'a.jpg', sha256: 'aa', width: 8, height: 6 });
});
afterEach(() => {
  project.close();
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, data: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, typeof data === 'string' ? data : JSON.stringify(data));
  return file;
}

function square(x0: number, y0: number, x1: number, y1: number) {
  const m = new Uint8Array(6 * 8);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * 8 + x] = 1;
  return encodeCompressed(m, 6, 8);
}

const goodFile = () => ({
  images: [
    { id: 1, file_name: 'a.jpg', width: 8, height: 6 },
    { id: 2, file_name: 'sub/not-here.jpg', width: 8, height: 6 },
  ],
  categories: [
    { id: 3, name: 'cat', supercategory: 'animal' },
    { id: 4, name: 'box' },
  ],
  annotations: [
    {
      id: 10,
      image_id: 1,
      category_id: 3,
      segmentation: square(1, 1, 4, 3),
      bbox: [1, 1, 3, 2],
      iscrowd: 0,
      area: 6,
    },
    {
      id: 11,
      image_id: 1,
      category_id: 3,
      segmentation: { size: [6, 8], counts: countsFromString(square(5, 2, 7, 6).counts) },
      iscrowd: 1,
      score: 0.75,
    },
    // Two parts of one object.
    {
      id: 12,
      image_id: 2,
      category_id: 3,
      segmentation: [
        [0, 0, 3, 0, 3, 3, 0, 3],
        [5, 3, 7, 3, 7, 5],
      ],
      iscrowd: 0,
    },
    { id: 13, image_id: 2, category_id: 4, bbox: [2, 1, 3, 4], iscrowd: 0 },
    { id: 14, image_id: 1, category_id: 4, segmentation: [], bbox: [0.5, 0.5, 1.5, 2.5], iscrowd: 0 },
  ],
});

/** Everything the project holds, to prove a failed import changed nothing. */
function snapshot(p: Project) {
  return JSON.stringify({
    images: p.images.listImages(),
    categories: p.categories.listCategories(),
    annotations: [...p.annotations.iterateAnnotationRows()],
    history: p.history.listSteps(),
  });
}

async function expectRejected(data: unknown, message: RegExp): Promise<void> {
  const before = snapshot(project);
  const err = await importCoco(project, write('bad.json', data)).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(CocoImportError);
  expect((err as Error).message).toMatch(message);
  expect(snapshot(project)).toBe(before);
}

describe('COCO import', () => {
  it('imports RLE (both forms), multi-part polygons and bbox-only annotations', async () => {
    const r = await importCoco(project, write('good.json', goodFile()));
    expect(r).toEqual({
      images: { matched: 1, added: 0, notOnDisk: 1 },
      categories: { matched: 0, added: 2 },
      annotations: { masks: 3, boxOnly: 2 },
    });
    const a10 = project.annotations.getAnnotation(10)!;
    expect(a10).toMatchObject({ source: 'imported', state: 'accepted', bbox: [1, 1, 3, 2], area: 6 });
    expect(a10.rle).toEqual(square(1, 1, 4, 3));
    const a11 = project.annotations.getAnnotation(11)!;
    expect(a11.rle).toEqual(square(5, 2, 7, 6));
    expect(a11).toMatchObject({ iscrowd: true, score: 0.75 });
    const a12 = project.annotations.getAnnotation(12)!;
    const polys = [
      [0, 0, 3, 0, 3, 3, 0, 3],
      [5, 3, 7, 3, 7, 5],
    ];
    expect(a12.rle).toEqual(compress(fromPolygons(polys, 6, 8)));
    expect(project.annotations.getAnnotation(13)).toMatchObject({
      boxOnly: true,
      rle: null,
      bbox: [2, 1, 3, 4],
    });
    expect(project.annotations.getAnnotation(14)).toMatchObject({
      boxOnly: true,
      bbox: [0.5, 0.5, 1.5, 2.5],
    });
    expect(project.images.getImageByPath('sub/not-here.jpg')).toMatchObject({ missing: true, sha256: null });
    expect(project.categories.getCategoryByName('cat')).toMatchObject({ id: 3, supercategory: 'animal' });
    // Sanity of the polygon merge: both parts are in the mask.
    expect(decode(a12.rle!).reduce((s, v) => s + v, 0)).toBe(
      decode(compress(merge([fromPolygons([polys[0]!], 6, 8), fromPolygons([polys[1]!], 6, 8)]))).reduce(
        (s, v) => s + v,
        0,
      ),
    );
  });

  it('export(import(x)) keeps masks, boxes, crowd flags and scores; re-importing the export reproduces it', async () => {
    await importCoco(project, write('good.json', goodFile()));
    const first = path.join(dir, 'first.json');
    const now = new Date('2026-01-01T00:00:00Z');
    const rep = await exportCoco(project, first, { now });
    expect(rep).toMatchObject({ images: 2, categories: 2, annotations: 5, boxOnly: 2 });
    const out = JSON.parse(readFileSync(first, 'utf8')) as {
      annotations: {
        id: number;
        segmentation?: { counts: string };
        bbox: number[];
        iscrowd: number;
        score?: number;
      }[];
    };
    const byId = new Map(out.annotations.map((a) => [a.id, a]));
    expect(byId.get(11)).toMatchObject({ iscrowd: 1, score: 0.75, segmentation: square(5, 2, 7, 6) });
    expect(byId.get(13)!.segmentation).toBeUndefined();
    expect(byId.get(13)!.bbox).toEqual([2, 1, 3, 4]);

    const other = await initProject(path.join(dir, 'q'));
    try {
      await importCoco(other, first);
      const second = path.join(dir, 'second.json');
      await exportCoco(other, second, { now });
      expect(readFileSync(second, 'utf8')).toBe(readFileSync(first, 'utf8'));
    } finally {
      other.close();
    }
  });

  it('maps categories by name onto existing ones', async () => {
    const existing = project.categories.createCategory({ name: 'cat' });
    const r = await importCoco(project, write('good.json', goodFile()));
    expect(r.categories).toEqual({ matched: 1, added: 1 });
    expect(project.annotations.getAnnotation(10)!.categoryId).toBe(existing.id);
  });

  it('refuses truncated JSON', async () => {
    await expectRejected(
      JSON.stringify(goodFile()).slice(0, 200),
      /bad\.json is not valid JSON \(truncated or corrupt\?\)/,
    );
  });

  it('refuses wrong types, naming the record', async () => {
    const f = goodFile();
    (f.annotations[1] as Record<string, unknown>).bbox = 'wide';
    await expectRejected(f, /annotations\[1\] \(id 11\): bbox: /);
    await expectRejected({ ...goodFile(), images: {} }, /bad\.json: images: /);
    const g = goodFile();
    (g.images[0] as Record<string, unknown>).width = -3;
    await expectRejected(g, /images\[0\] \(id 1\): width: /);
  });

  it('refuses RLE counts that do not sum to h·w, naming the record', async () => {
    const f = goodFile();
    f.annotations.push({
      id: 4242,
      image_id: 1,
      category_id: 3,
      segmentation: { size: [6, 8], counts: [10, 5] },
    } as never);
    await expectRejected(
      f,
      /annotations\[5\] \(id 4242\): segmentation: counts sum to 15 but size 6×8 has 48 pixels/,
    );
  });

  it('refuses an RLE whose size is not the image size', async () => {
    const f = goodFile();
    f.annotations[0]!.segmentation = { size: [5, 8], counts: [40] } as never;
    await expectRejected(
      f,
      /annotations\[0\] \(id 10\): segmentation: RLE size 5×8 \(h×w\) is not the image's 6×8/,
    );
  });

  it('refuses polygons with fewer than 3 points', async () => {
    const f = goodFile();
    f.annotations[2]!.segmentation = [
      [0, 0, 3, 0, 3, 3],
      [1, 1, 2, 2],
    ] as never;
    await expectRejected(
      f,
      /annotations\[2\] \(id 12\): segmentation: polygon 1 has 2 point\(s\); a polygon needs at least 3/,
    );
  });

  it('refuses image and category ids that do not exist', async () => {
    const f = goodFile();
    f.annotations[3]!.image_id = 99;
    await expectRejected(f, /annotations\[3\] \(id 13\): image_id 99 is not in images/);
    const g = goodFile();
    g.annotations[0]!.category_id = 77;
    await expectRejected(g, /annotations\[0\] \(id 10\): category_id 77 is not in categories/);
  });

  it('refuses file names escaping the project root', async () => {
    for (const bad of ['../../etc/passwd', '/etc/passwd', 'a/../../b.jpg', '..\\..\\x.jpg']) {
      const f = goodFile();
      f.images[1]!.file_name = bad;
      await expectRejected(f, /images\[1\] \(id 2\) ".*": file_name escapes the project root/);
    }
  });

  it('refuses an image whose size differs from the project image', async () => {
    const f = goodFile();
    f.images[0]!.width = 9;
    await expectRejected(
      f,
      /images\[0\] \(id 1\) "a\.jpg": size 9×6 in the file but the image is 8×6 as displayed/,
    );
  });

  it('lists every faulty record, and one bad record among good ones writes nothing', async () => {
    const f = goodFile();
    f.annotations[0]!.image_id = 99;
    f.annotations[4]!.bbox = undefined as never;
    const before = snapshot(project);
    const err = (await importCoco(project, write('bad.json', f)).catch((e: unknown) => e)) as CocoImportError;
    expect(err.problems).toEqual([
      'annotations[0] (id 10): image_id 99 is not in images',
      'annotations[4] (id 14): no segmentation and no bbox',
    ]);
    expect(err.message).toMatch(/^2 problems; first: annotations\[0\] \(id 10\)/);
    expect(snapshot(project)).toBe(before);
  });
});
