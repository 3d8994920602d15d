import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeCompressed } from '../../common/rle/index.js';
import { initProject, type Project } from '../store/index.js';
import { exportCoco } from './coco-export.js';

let dir: string;
let project: Project;
beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'maskroom-png-'));
  project = await initProject(path.join(dir, 'p'));
});
afterEach(() => {
  project.close();
  rmSync(dir, { recursive: true, force: true });
});

function rect(x0: number, y0: number, x1: number, y1: number, h: number, w: number) {
  const m = new Uint8Array(h * w);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * w + x] = 1;
  return encodeCompressed(m, h, w);
}

async function readIds(
  file: string,
): Promise<{ ids: Uint16Array; width: number; height: number; depth: string }> {
  const meta = await sharp(file).metadata();
  const raw = await sharp(file).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer();
  return {
    ids: new Uint16Array(raw.buffer, raw.byteOffset, raw.length / 2),
    width: meta.width!,
    height: meta.height!,
    depth: meta.depth!,
  };
}

describe('PNG mask export', () => {
  it('writes 16-bit instance ids per image, small objects on top, with an index', async () => {
    const img = project.images.insertImage({ path: 'sub/photo.jpg', sha256: 'a', width: 10, height: 4 });
    const empty = project.images.insertImage({ path: 'empty.png', sha256: 'b', width: 3, height: 2 });
    const cat = project.categories.createCategory({ name: 'thing' });
    const big = project.annotations.createAnnotation({
      imageId: img,
      categoryId: cat.id,
      rle: rect(0, 0, 6, 4, 4, 10),
      source: 'manual',
    });
    const small = project.annotations.createAnnotation({
      imageId: img,
      categoryId: cat.id,
      rle: rect(2, 1, 4, 3, 4, 10),
      source: 'manual',
    });
    project.annotations.createAnnotation({
      imageId: img,
      categoryId: cat.id,
      rle: rect(8, 0, 10, 1, 4, 10),
      source: 'auto',
      state: 'proposed',
    });
    project.annotations.createAnnotation({
      imageId: img,
      categoryId: cat.id,
      bbox: [7, 2, 2, 2],
      source: 'imported',
    });

    const masks = path.join(dir, 'masks');
    const rep = await exportCoco(project, path.join(dir, 'out.json'), { pngMasks: masks });
    expect(rep.pngMasks).toMatchObject({ files: 2, instances: 2 });

    const a = await readIds(path.join(masks, 'sub', 'photo.png'));
    expect([a.width, a.height, a.depth]).toEqual([10, 4, 'ushort']);
    const at = (x: number, y: number) => a.ids[y * 10 + x];
    expect(at(0, 0)).toBe(1); // big
    expect(at(2, 1)).toBe(2); // small, drawn over big
    expect(at(5, 3)).toBe(1);
    expect(at(8, 0)).toBe(0); // proposed: not exported by default
    expect(at(7, 2)).toBe(0); // box-only: no mask
    const b = await readIds(path.join(masks, 'empty.png'));
    expect([...b.ids]).toEqual([0, 0, 0, 0, 0, 0]);

    const index = JSON.parse(readFileSync(path.join(masks, 'index.json'), 'utf8')) as {
      images: { image_id: number; mask: string; instances: { value: number; annotation_id: number }[] }[];
    };
    expect(index.images).toEqual([
      {
        image_id: img,
        file_name: 'sub/photo.jpg',
        mask: 'sub/photo.png',
        instances: [
          { value: 1, annotation_id: big.id, category_id: cat.id },
          { value: 2, annotation_id: small.id, category_id: cat.id },
        ],
      },
      { image_id: empty, file_name: 'empty.png', mask: 'empty.png', instances: [] },
    ]);
  });

  it('--all includes proposed and rejected annotations', async () => {
    const img = project.images.insertImage({ path: 'x.jpg', sha256: 'a', width: 4, height: 4 });
    const cat = project.categories.createCategory({ name: 'thing' });
    project.annotations.createAnnotation({
      imageId: img,
      categoryId: cat.id,
      rle: rect(0, 0, 1, 1, 4, 4),
      source: 'auto',
      state: 'proposed',
    });
    project.annotations.createAnnotation({
      imageId: img,
      categoryId: cat.id,
      rle: rect(1, 1, 2, 2, 4, 4),
      source: 'auto',
      state: 'rejected',
    });
    const accepted = await exportCoco(project, path.join(dir, 'a.json'));
    const all = await exportCoco(project, path.join(dir, 'b.json'), { all: true });
    expect(accepted.annotations).toBe(0);
    expect(all.annotations).toBe(2);
  });
});
