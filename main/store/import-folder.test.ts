import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readImageHeader } from './image-files.js';
import { importFolder, type ImportProgress } from './import-folder.js';
import { initProject, type Project } from './project.js';

let dir: string;
let project: Project | undefined;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'maskroom-import-'));
});
afterEach(() => {
  project?.close();
  project = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const solid = (w: number, h: number, r: number) =>
  sharp({ create: { width: w, height: h, channels: 3, background: { r, g: 40, b: 90 } } });

/** A 24-bit BMP written by hand (libvips cannot write BMP); negative height = top-down rows. */
function bmp(w: number, h: number, topDown = false): Buffer {
  const rowBytes = Math.ceil((w * 3) / 4) * 4;
  const buf = Buffer.alloc(54 + rowBytes * h);
  buf.write('BM', 0, 'latin1');
  buf.writeUInt32LE(buf.length, 2);
  buf.writeUInt32LE(54, 10);
  buf.writeUInt32LE(40, 14);
  buf.writeInt32LE(w, 18);
  buf.writeInt32LE(topDown ? -h : h, 22);
  buf.writeUInt16LE(1, 26);
  buf.writeUInt16LE(24, 28);
  return buf;
}

async function makeFolder(root: string): Promise<void> {
  mkdirSync(path.join(root, 'sub', 'deeper'), { recursive: true });
  await solid(40, 30, 10).jpeg().toFile(path.join(root, 'a.jpg'));
  // Stored 40×30 but rotated 90° by EXIF orientation 6: displayed 30×40.
  await solid(40, 30, 20).jpeg().withMetadata({ orientation: 6 }).toFile(path.join(root, 'rotated.JPG'));
  await solid(12, 10, 30)
    .png()
    .toFile(path.join(root, 'sub', 'b.png'));
  await solid(14, 10, 40)
    .webp()
    .toFile(path.join(root, 'sub', 'c.webp'));
  await solid(16, 10, 50)
    .tiff()
    .toFile(path.join(root, 'sub', 'deeper', 'd.tif'));
  writeFileSync(path.join(root, 'sub', 'e.bmp'), bmp(7, 5, true));
  writeFileSync(path.join(root, 'broken.jpg'), Buffer.from('this is not a jpeg'));
  writeFileSync(path.join(root, 'notes.txt'), 'ignored');
  copyFileSync(path.join(root, 'a.jpg'), path.join(root, 'sub', 'copy-of-a.jpg'));
}

describe('folder import', () => {
  it('reads displayed sizes from headers, including EXIF rotation and BMP', async () => {
    const root = path.join(dir, 'imgs');
    await makeFolder(root);
    expect(await readImageHeader(path.join(root, 'rotated.JPG'))).toMatchObject({
      width: 30,
      height: 40,
      orientation: 6,
    });
    expect(await readImageHeader(path.join(root, 'sub', 'e.bmp'))).toMatchObject({
      width: 7,
      height: 5,
      format: 'bmp',
    });
    await expect(readImageHeader(path.join(root, 'broken.jpg'))).rejects.toThrow();
  });

  it('imports recursively, dedupes by hash, lists unreadable files, and reports progress', async () => {
    const root = path.join(dir, 'imgs');
    await makeFolder(root);
    const p = (project = await initProject(dir, { root }));
    const progress: ImportProgress[] = [];
    const r = await importFolder(p, root, { onProgress: (x) => progress.push(x), batchSize: 3 });
    expect(r.scanned).toBe(8);
    expect(r.added.sort()).toEqual([
      'a.jpg',
      'rotated.JPG',
      'sub/b.png',
      'sub/c.webp',
      'sub/deeper/d.tif',
      'sub/e.bmp',
    ]);
    expect(r.duplicates).toEqual([{ path: 'sub/copy-of-a.jpg', sameAs: 'a.jpg' }]);
    expect(r.unreadable).toHaveLength(1);
    expect(r.unreadable[0]!.path).toBe('broken.jpg');
    expect(r.unreadable[0]!.reason.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ done: 8, total: 8 });
    expect(progress.length).toBe(3);
    const rotated = p.images.getImageByPath('rotated.JPG')!;
    expect(rotated).toMatchObject({ width: 30, height: 40, orientation: 6, status: 'new', missing: false });
    expect(rotated.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(p.images.getImageByPath('sub/e.bmp')).toMatchObject({ width: 7, height: 5 });
  });

  it('re-import is idempotent', async () => {
    const root = path.join(dir, 'imgs');
    await makeFolder(root);
    const p = (project = await initProject(dir, { root }));
    await importFolder(p, root);
    const before = p.images.listImages();
    const r = await importFolder(p, root);
    expect(r.added).toEqual([]);
    expect(r.unchanged).toBe(6);
    expect(r.moved).toEqual([]);
    expect(r.missing).toEqual([]);
    expect(p.images.listImages()).toEqual(before);
  });

  it('re-links moved files by hash and flags deleted ones as missing, keeping their annotations', async () => {
    const root = path.join(dir, 'imgs');
    await makeFolder(root);
    unlinkSync(path.join(root, 'sub', 'copy-of-a.jpg'));
    const p = (project = await initProject(dir, { root }));
    await importFolder(p, root);
    const b = p.images.getImageByPath('sub/b.png')!;
    const cat = p.categories.createCategory({ name: 'thing' });
    p.annotations.createAnnotation({
      imageId: b.id,
      categoryId: cat.id,
      bbox: [1, 1, 2, 2],
      source: 'manual',
    });
    mkdirSync(path.join(root, 'elsewhere'));
    renameSync(path.join(root, 'sub', 'b.png'), path.join(root, 'elsewhere', 'b-renamed.png'));
    unlinkSync(path.join(root, 'sub', 'c.webp'));

    const r = await importFolder(p, root);
    expect(r.moved).toEqual([{ from: 'sub/b.png', to: 'elsewhere/b-renamed.png' }]);
    expect(r.missing).toEqual(['sub/c.webp']);
    expect(r.added).toEqual([]);
    const moved = p.images.getImage(b.id)!;
    expect(moved).toMatchObject({ path: 'elsewhere/b-renamed.png', missing: false });
    expect(p.annotations.listAnnotationsByImage({ imageId: b.id })).toHaveLength(1);
    expect(p.images.getImageByPath('sub/c.webp')).toMatchObject({ missing: true });

    // The file comes back: the flag clears.
    await solid(14, 10, 40)
      .webp()
      .toFile(path.join(root, 'sub', 'c.webp'));
    const r2 = await importFolder(p, root);
    expect(r2.updated).toEqual(['sub/c.webp']);
    expect(p.images.getImageByPath('sub/c.webp')).toMatchObject({ missing: false });
  });

  it('imports a subfolder with paths relative to the root and refuses folders outside it', async () => {
    const root = path.join(dir, 'imgs');
    await makeFolder(root);
    const p = (project = await initProject(dir, { root }));
    const r = await importFolder(p, path.join(root, 'sub', 'deeper'));
    expect(r.added).toEqual(['sub/deeper/d.tif']);
    mkdirSync(path.join(dir, 'outside'));
    await expect(importFolder(p, path.join(dir, 'outside'))).rejects.toMatchObject({
      code: 'PATH_OUTSIDE_ROOT',
    });
    await expect(importFolder(p, path.join(root, '..', '..'))).rejects.toMatchObject({
      code: 'PATH_OUTSIDE_ROOT',
    });
  });
});
