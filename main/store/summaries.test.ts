import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initProject, type Project } from './project.js';

let dir: string;
let p: Project;
beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'maskroom-summ-'));
  p = await initProject(dir);
});
afterEach(() => {
  p.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('summaries', () => {
  it('lists images with accepted/proposed counts, filtered by status and category, paged', () => {
    const a = p.images.insertImage({ path: 'a.jpg', sha256: 'a', width: 4, height: 4 });
    const b = p.images.insertImage({ path: 'b.jpg', sha256: 'b', width: 4, height: 4 });
    const c = p.images.insertImage({ path: 'c.jpg', sha256: 'c', width: 4, height: 4, status: 'done' });
    const dog = p.categories.createCategory({ name: 'dog' }).id;
    const cat = p.categories.createCategory({ name: 'cat' }).id;
    const box = (imageId: number, categoryId: number, state: 'accepted' | 'proposed' | 'rejected') =>
      p.annotations.createAnnotation({ imageId, categoryId, bbox: [0, 0, 1, 1], source: 'auto', state });
    box(a, dog, 'accepted');
    box(a, dog, 'proposed');
    box(b, cat, 'accepted');
    box(c, dog, 'rejected');

    const all = p.summaries.listImageSummaries({ offset: 0, limit: 10 });
    expect(all.total).toBe(3);
    expect(all.rows.map((r) => [r.path, r.accepted, r.proposed])).toEqual([
      ['a.jpg', 1, 1],
      ['b.jpg', 1, 0],
      ['c.jpg', 0, 0],
    ]);
    expect(
      p.summaries.listImageSummaries({ categoryId: dog, offset: 0, limit: 10 }).rows.map((r) => r.id),
    ).toEqual([a]);
    expect(p.summaries.listImageSummaries({ status: 'done', offset: 0, limit: 10 }).total).toBe(1);
    const page = p.summaries.listImageSummaries({ offset: 1, limit: 1 });
    expect([page.total, page.rows.map((r) => r.id)]).toEqual([3, [b]]);
    expect(p.summaries.imageSummary(a)).toMatchObject({ accepted: 1, proposed: 1, status: 'new' });
    expect(p.summaries.imageCategoryIds(a)).toEqual([dog]);
    expect(p.summaries.imageCategoryIds(c)).toEqual([]);
    expect(p.summaries.acceptedByCategory()).toEqual([
      { categoryId: dog, count: 1 },
      { categoryId: cat, count: 1 },
    ]);
    expect(p.summaries.annotationIdsOfCategory(dog)).toHaveLength(3);
  });

  it('names the images a history step touched', () => {
    const a = p.images.insertImage({ path: 'a.jpg', sha256: 'a', width: 4, height: 4 });
    const b = p.images.insertImage({ path: 'b.jpg', sha256: 'b', width: 4, height: 4 });
    const dog = p.categories.createCategory({ name: 'dog' }).id;
    p.edit('two things', () => {
      p.annotations.createAnnotation({ imageId: b, categoryId: dog, bbox: [0, 0, 1, 1], source: 'manual' });
      p.images.setImageStatus({ id: a, status: 'done' });
    });
    expect(p.summaries.imageIdsOfStep(p.history.peekUndo()!.id)).toEqual([a, b]);
  });
});
