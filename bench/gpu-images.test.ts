import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { imageSetNote, imageSizes, refImagesNote } from './gpu-images.js';

describe('the bench image set', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'maskroom-images-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const jpeg = async (name: string, width: number, height: number, orientation?: number) => {
    let img = sharp({ create: { width, height, channels: 3, background: '#808080' } }).jpeg();
    if (orientation) img = img.withMetadata({ orientation });
    const file = path.join(dir, name);
    writeFileSync(file, await img.toBuffer());
    return file;
  };

  it('counts displayed sizes, most common first', async () => {
    const files = [
      await jpeg('a.jpg', 96, 54),
      await jpeg('b.jpg', 96, 54),
      await jpeg('c.jpg', 40, 30),
      // Stored 40×30, shown rotated: 30×40.
      await jpeg('d.jpg', 40, 30, 6),
    ];
    const sizes = await imageSizes(files);
    expect(sizes.map((s) => [s.file, s.width, s.height])).toEqual([
      ['a.jpg', 96, 54],
      ['b.jpg', 96, 54],
      ['c.jpg', 40, 30],
      ['d.jpg', 30, 40],
    ]);
    expect(imageSetNote(sizes)).toBe('images: 4 (2 at 96×54, 1 at 30×40, 1 at 40×30)');
  });

  it('names an image it cannot read', async () => {
    const bad = path.join(dir, 'broken.jpg');
    writeFileSync(bad, 'not an image');
    await expect(imageSizes([bad])).rejects.toThrow(/bench image .*broken\.jpg/);
  });

  it('flags a reference measured on another number of images', () => {
    expect(refImagesNote('sam_vit_b', 55, 55)).toBeNull();
    expect(refImagesNote('sam_vit_b', 50, 55)).toMatch(
      /^sam_vit_b: the PyTorch reference ran on 50 images, the rows here on 55; .*different image sets$/,
    );
    expect(refImagesNote('sam_vit_h', undefined, 55)).toMatch(/an unrecorded number of images/);
  });
});
