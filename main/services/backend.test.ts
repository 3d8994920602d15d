import { copyFileSync, existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { unwrap, type Rle } from '../../common/contracts/index.js';
import { compress, fromBbox } from '../../common/rle/index.js';
import { startTestBackend, type TestBackend } from './testing.js';

let t: TestBackend | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

const box = (x: number, y: number, w: number, h: number): Rle => compress(fromBbox([x, y, w, h], 720, 1024));

describe('Backend: projects and images', () => {
  it('creates a project, imports its folder as a job and lists images with counts', async () => {
    t = await startTestBackend({ images: 3 });
    const cur = unwrap(await t.api.projects.current());
    expect(cur).toMatchObject({ name: 'Shapes', imageCount: 3 });
    const list = unwrap(await t.api.images.list());
    expect(list.total).toBe(3);
    expect(list.items[0]).toMatchObject({
      relPath: 'images/shapes_00.jpg',
      width: 1024,
      height: 720,
      status: 'new',
      annotationCount: 0,
    });
    expect(unwrap(await t.api.jobs.list())[0]).toMatchObject({ kind: 'importFolder', state: 'done' });
    const url = unwrap(await t.api.images.url({ imageId: list.items[0]!.id }));
    expect(url.url).toBe(`/api/images/${list.items[0]!.id}`);
    const bytes = unwrap(await t.api.images.bytes({ imageId: list.items[0]!.id }));
    expect(bytes.mime).toBe('image/jpeg');
    expect(
      Buffer.from(bytes.base64, 'base64').equals(
        readFileSync(path.join(t.projectDir, 'images', 'shapes_00.jpg')),
      ),
    ).toBe(true);
    expect(unwrap(await t.api.projects.recent())[0]).toMatchObject({
      root: t.projectDir,
      name: 'Shapes',
      exists: true,
    });
  });

  it('filters images by status and category and reports stats', async () => {
    t = await startTestBackend({ images: 3 });
    const [a, b] = unwrap(await t.api.images.list()).items;
    unwrap(await t.api.images.setStatus({ imageId: b!.id, status: 'done' }));
    const cat = unwrap(await t.api.categories.create({ name: 'ring', key: 1 }));
    unwrap(await t.api.annotations.create({ imageId: a!.id, categoryId: cat.id, rle: box(10, 10, 20, 20) }));
    expect(unwrap(await t.api.images.list({ status: 'done' })).items.map((i) => i.id)).toEqual([b!.id]);
    expect(unwrap(await t.api.images.list({ categoryId: cat.id })).items.map((i) => i.id)).toEqual([a!.id]);
    const stats = unwrap(await t.api.projects.stats());
    expect(stats).toMatchObject({
      images: 3,
      annotations: 1,
      categories: 1,
      imagesByStatus: { done: 1, in_progress: 1, new: 1 },
    });
    expect(stats.annotationsByCategory).toEqual([{ categoryId: cat.id, count: 1 }]);
  });

  it('serves EXIF-rotated images in their displayed orientation', async () => {
    t = await startTestBackend({ images: 0 });
    // 40×20 pixels stored, orientation 6 (rotate 90° clockwise to display): displayed 20×40.
    const stored = await sharp({ create: { width: 40, height: 20, channels: 3, background: '#ff0000' } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    writeFileSync(path.join(t.projectDir, 'images', 'rotated.jpg'), stored);
    await t.backend.settleJob(unwrap(await t.api.projects.importFolder({ dir: 'images' })).id);
    const img = unwrap(await t.api.images.list()).items[0]!;
    expect([img.width, img.height]).toEqual([20, 40]);
    const shown = await t.backend.displayImage(img.id);
    const meta = await sharp(shown.bytes).metadata();
    expect([meta.width, meta.height]).toEqual([20, 40]);
    expect(meta.orientation ?? 1).toBe(1);
  });

  it('answers NO_PROJECT before a project is open', async () => {
    t = await startTestBackend({ open: false });
    expect(await t.api.images.list()).toMatchObject({ ok: false, error: { code: 'NO_PROJECT' } });
    expect(unwrap(await t.api.projects.current())).toBeNull();
  });
});

describe('Backend: annotations, categories, history', () => {
  it('creates, edits, relabels and deletes annotations, each one undoable step', async () => {
    t = await startTestBackend({ images: 1 });
    const img = unwrap(await t.api.images.list()).items[0]!;
    const events: number[][] = [];
    t.api.annotations.onChanged((e) => events.push(e.imageIds));
    const a = unwrap(
      await t.api.annotations.create({
        imageId: img.id,
        categoryId: null,
        rle: box(0, 0, 10, 10),
        score: 0.9,
      }),
    );
    expect(a).toMatchObject({
      status: 'accepted',
      area: 100,
      bbox: [0, 0, 10, 10],
      score: 0.9,
      boxOnly: false,
    });
    const object = unwrap(await t.api.categories.list()).find((c) => c.name === 'object');
    expect(a.categoryId).toBe(object?.id);
    const edited = unwrap(await t.api.annotations.updateMask({ id: a.id, rle: box(0, 0, 20, 10) }));
    expect(edited.area).toBe(200);
    const cat = unwrap(await t.api.categories.create({ name: 'square', color: '#ff0000' }));
    unwrap(await t.api.annotations.relabel({ ids: [a.id], categoryId: cat.id }));
    expect(unwrap(await t.api.annotations.delete({ ids: [a.id] }))).toEqual({ deleted: 1 });
    expect(unwrap(await t.api.annotations.list({ imageId: img.id }))).toEqual([]);

    const undo = unwrap(await t.api.annotations.undo());
    expect(undo).toMatchObject({ changed: true, imageIds: [img.id], canRedo: true });
    expect(unwrap(await t.api.annotations.list({ imageId: img.id }))[0]).toMatchObject({
      id: a.id,
      categoryId: cat.id,
      area: 200,
    });
    unwrap(await t.api.annotations.undo()); // relabel
    unwrap(await t.api.annotations.undo()); // category create
    unwrap(await t.api.annotations.undo()); // mask edit
    expect(unwrap(await t.api.annotations.list({ imageId: img.id }))[0]).toMatchObject({
      area: 100,
      categoryId: object?.id,
    });
    const redo = unwrap(await t.api.annotations.redo());
    expect(redo.changed).toBe(true);
    expect(unwrap(await t.api.annotations.list({ imageId: img.id }))[0]!.area).toBe(200);
    expect(events.length).toBeGreaterThanOrEqual(5);
  });

  it('refuses an empty mask, a mask of the wrong size and an unknown category', async () => {
    t = await startTestBackend({ images: 1 });
    const img = unwrap(await t.api.images.list()).items[0]!;
    const empty = compress({ size: [720, 1024], counts: [720 * 1024] });
    expect(await t.api.annotations.create({ imageId: img.id, categoryId: null, rle: empty })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT' },
    });
    const wrong = compress(fromBbox([0, 0, 5, 5], 10, 10));
    expect(await t.api.annotations.create({ imageId: img.id, categoryId: null, rle: wrong })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT' },
    });
    expect(
      await t.api.annotations.create({ imageId: img.id, categoryId: 999, rle: box(0, 0, 5, 5) }),
    ).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(
      await t.api.annotations.create({
        imageId: img.id,
        categoryId: null,
        rle: { size: [720, 1024], counts: '\u0001garbage' },
      }),
    ).toMatchObject({ ok: false });
    expect(unwrap(await t.api.annotations.list({ imageId: img.id }))).toEqual([]);
  });

  it('refuses duplicate category names and keys, and deletes a used category only with reassignTo', async () => {
    t = await startTestBackend({ images: 1 });
    const img = unwrap(await t.api.images.list()).items[0]!;
    const a = unwrap(await t.api.categories.create({ name: 'a', key: 1 }));
    expect(await t.api.categories.create({ name: 'a' })).toMatchObject({
      ok: false,
      error: { code: 'CONFLICT' },
    });
    expect(await t.api.categories.create({ name: 'b', key: 1 })).toMatchObject({
      ok: false,
      error: { code: 'CONFLICT' },
    });
    const b = unwrap(await t.api.categories.create({ name: 'b', key: 2 }));
    const ann = unwrap(
      await t.api.annotations.create({ imageId: img.id, categoryId: a.id, rle: box(0, 0, 4, 4) }),
    );
    expect(await t.api.categories.delete({ id: a.id })).toMatchObject({
      ok: false,
      error: { code: 'CONFLICT' },
    });
    unwrap(await t.api.categories.delete({ id: a.id, reassignTo: b.id }));
    expect(unwrap(await t.api.annotations.list({ imageId: img.id }))[0]).toMatchObject({
      id: ann.id,
      categoryId: b.id,
    });
    expect(unwrap(await t.api.categories.update({ id: b.id, name: 'bee', key: null }))).toMatchObject({
      name: 'bee',
      key: null,
    });
  });
});

describe('Backend: path confinement', () => {
  it('refuses project folders, import folders and export paths outside the allowed roots', async () => {
    t = await startTestBackend({ images: 1 });
    const before = unwrap(await t.api.projects.stats());
    expect(await t.api.projects.create({ root: t.outside, name: 'x' })).toMatchObject({
      ok: false,
      error: { code: 'PATH_OUTSIDE_ROOT' },
    });
    expect(
      await t.api.projects.create({ root: path.join(t.projectDir, '..', '..', 'outside', 'p'), name: 'x' }),
    ).toMatchObject({
      ok: false,
      error: { code: 'PATH_OUTSIDE_ROOT' },
    });
    expect(await t.api.projects.importFolder({ dir: t.outside })).toMatchObject({
      ok: false,
      error: { code: 'PATH_OUTSIDE_ROOT' },
    });
    expect(await t.api.projects.importFolder({ dir: '../../outside' })).toMatchObject({
      ok: false,
      error: { code: 'PATH_OUTSIDE_ROOT' },
    });
    symlinkSync(t.outside, path.join(t.projectDir, 'link-out'));
    expect(
      await t.api.export.toPath({
        format: 'coco-rle',
        path: path.join(t.projectDir, 'link-out', 'coco.json'),
      }),
    ).toMatchObject({
      ok: false,
      error: { code: 'PATH_OUTSIDE_ROOT' },
    });
    expect(
      await t.api.export.toPath({ format: 'coco-rle', path: path.join(t.outside, 'coco.json') }),
    ).toMatchObject({
      ok: false,
      error: { code: 'PATH_OUTSIDE_ROOT' },
    });
    expect(existsSync(path.join(t.outside, 'coco.json'))).toBe(false);
    expect(await t.api.models.importFolder({ dir: t.outside })).toMatchObject({
      ok: false,
      error: { code: 'PATH_OUTSIDE_ROOT' },
    });
    expect(await t.api.projects.open({ root: t.outside })).toMatchObject({
      ok: false,
      error: { code: 'PATH_OUTSIDE_ROOT' },
    });
    expect(unwrap(await t.api.projects.current())?.root).toBe(t.projectDir);
    expect(unwrap(await t.api.projects.stats())).toEqual(before);
  });

  it('does not serve an image whose file is a symlink leading out of the roots', async () => {
    t = await startTestBackend({ images: 1 });
    const secret = path.join(t.outside, 'secret.jpg');
    copyFileSync(path.join(t.projectDir, 'images', 'shapes_00.jpg'), secret);
    writeFileSync(secret, Buffer.concat([readFileSync(secret), Buffer.from('secret')]));
    symlinkSync(secret, path.join(t.projectDir, 'images', 'secret.jpg'));
    const job = unwrap(await t.api.projects.importFolder({ dir: 'images' }));
    await t.backend.settleJob(job.id);
    for (const img of unwrap(await t.api.images.list()).items) {
      const r = await t.api.images.bytes({ imageId: img.id });
      if (img.relPath === 'images/secret.jpg')
        expect(r).toMatchObject({ ok: false, error: { code: 'PATH_OUTSIDE_ROOT' } });
      else expect(r.ok).toBe(true);
    }
    await expect(t.backend.displayImage(999)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('Backend: export', () => {
  it('writes COCO RLE and PNG masks inside the project and refuses to overwrite by default', async () => {
    t = await startTestBackend({ images: 1 });
    const img = unwrap(await t.api.images.list()).items[0]!;
    unwrap(await t.api.annotations.create({ imageId: img.id, categoryId: null, rle: box(5, 6, 7, 8) }));
    const out = path.join(t.projectDir, 'exports', 'coco.json');
    const r = unwrap(await t.api.export.toPath({ format: 'coco-rle', path: out }));
    expect(r).toMatchObject({ path: out, images: 1, annotations: 1, categories: 1 });
    const coco = JSON.parse(readFileSync(out, 'utf8')) as {
      annotations: { bbox: number[]; segmentation: { counts: string } }[];
    };
    expect(coco.annotations[0]!.bbox).toEqual([5, 6, 7, 8]);
    expect(coco.annotations[0]!.segmentation.counts).toBe(box(5, 6, 7, 8).counts);
    expect(await t.api.export.toPath({ format: 'coco-rle', path: out })).toMatchObject({
      ok: false,
      error: { code: 'CONFLICT' },
    });
    expect(await t.api.export.toPath({ format: 'coco-rle', path: 'exports/coco.txt' })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT' },
    });
    const masks = unwrap(await t.api.export.toPath({ format: 'png-masks', path: 'exports/masks' }));
    expect(masks).toMatchObject({ images: 1, annotations: 1 });
    expect(existsSync(path.join(t.projectDir, 'exports', 'masks', 'index.json'))).toBe(true);
  });
});
