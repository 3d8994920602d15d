import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeCompressed } from '../../common/rle/index.js';
import { initProject, openProject, type Project } from './project.js';

let dir: string;
let project: Project | undefined;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'maskroom-store-'));
});
afterEach(() => {
  project?.close();
  project = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** A 6×8 mask with the rectangle [x0, x1) × [y0, y1) set. */
function rect(x0: number, y0: number, x1: number, y1: number, h = 6, w = 8) {
  const m = new Uint8Array(h * w);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * w + x] = 1;
  return encodeCompressed(m, h, w);
}

async function seeded(): Promise<{ p: Project; imageId: number; catId: number }> {
  const p = (project = await initProject(dir));
  const imageId = p.images.insertImage({ path: 'a.jpg', sha256: 'aa', width: 8, height: 6 });
  const catId = p.categories.createCategory({ name: 'dog', hotkey: 1 }).id;
  return { p, imageId, catId };
}

describe('project store', () => {
  it('creates a project with settings and refuses to create it twice', async () => {
    const p = (project = await initProject(dir, { root: path.join(dir, 'imgs') }));
    expect(p.settings.getSettings()).toMatchObject({ root: 'imgs', activeModelId: null, formatVersion: 1 });
    expect(p.root).toBe(path.join(dir, 'imgs'));
    p.settings.setActiveModel({ modelId: 'tinysam-shapes' });
    p.close();
    project = undefined;
    await expect(initProject(dir)).rejects.toMatchObject({ code: 'PROJECT_EXISTS' });
    project = await openProject(dir);
    expect(project.settings.getSettings().activeModelId).toBe('tinysam-shapes');
  });

  it('says clearly when a folder holds no project', async () => {
    await expect(openProject(path.join(dir, 'nothing'))).rejects.toMatchObject({
      code: 'NOT_A_PROJECT',
      message: expect.stringMatching(/maskroom project init/),
    });
  });

  it('stores a mask annotation with bbox and area computed from the RLE', async () => {
    const { p, imageId, catId } = await seeded();
    const a = p.annotations.createAnnotation({
      imageId,
      categoryId: catId,
      rle: rect(1, 2, 4, 5),
      source: 'manual',
    });
    expect(a).toMatchObject({ bbox: [1, 2, 3, 3], area: 9, state: 'accepted', boxOnly: false, size: [6, 8] });
    expect(a.rle).toEqual(rect(1, 2, 4, 5));
    expect(p.annotations.listAnnotationsByImage({ imageId })).toHaveLength(1);
    expect(p.annotations.listAnnotationsByImage({ imageId, states: ['proposed'] })).toHaveLength(0);
    expect(p.annotations.listAnnotationsByImage({ imageId, states: [] })).toEqual([]);
    expect([...p.annotations.iterateAnnotationRows({ states: [] })]).toEqual([]);
  });

  it('keeps box-only annotations and links masks to the box they came from', async () => {
    const { p, imageId, catId } = await seeded();
    const box = p.annotations.createAnnotation({
      imageId,
      categoryId: catId,
      bbox: [1, 1, 2, 3],
      source: 'imported',
    });
    expect(box).toMatchObject({ rle: null, boxOnly: true, area: 6 });
    const mask = p.annotations.createAnnotation({
      imageId,
      categoryId: catId,
      rle: rect(1, 1, 3, 4),
      source: 'auto',
      state: 'proposed',
      fromBoxId: box.id,
    });
    expect(mask.fromBoxId).toBe(box.id);
    expect(p.annotations.annotationCounts()).toMatchObject({
      total: 2,
      boxOnly: 1,
      proposed: 1,
      accepted: 1,
    });
  });

  it('refuses a mask whose size is not the image size', async () => {
    const { p, imageId, catId } = await seeded();
    expect(() =>
      p.annotations.createAnnotation({
        imageId,
        categoryId: catId,
        rle: rect(0, 0, 1, 1, 5, 8),
        source: 'manual',
      }),
    ).toThrow(/mask size 5×8 .* does not match the image \(6×8\)/);
  });

  it('refuses duplicate category names and hotkeys, and deleting a category in use', async () => {
    const { p, imageId, catId } = await seeded();
    expect(() => p.categories.createCategory({ name: 'dog' })).toThrow(/already exists/);
    expect(() => p.categories.createCategory({ name: 'cat', hotkey: 1 })).toThrow(
      /hotkey 1 is already used by "dog"/,
    );
    p.annotations.createAnnotation({ imageId, categoryId: catId, rle: rect(0, 0, 2, 2), source: 'manual' });
    expect(() => p.categories.removeCategory(catId)).toThrow(/used by 1 annotation/);
  });

  it('refuses image paths that escape the root', async () => {
    const p = (project = await initProject(dir));
    for (const bad of ['../x.jpg', '/etc/passwd', 'a/../../b.jpg', 'C:/x.jpg', 'a\\b.jpg']) {
      expect(() => p.images.insertImage({ path: bad, sha256: null, width: 1, height: 1 })).toThrow(
        /inside the project root/,
      );
    }
  });

  it('undo and redo survive closing and reopening the project', async () => {
    const { p, imageId, catId } = await seeded();
    const a = p.edit('Add mask', () =>
      p.annotations.createAnnotation({ imageId, categoryId: catId, rle: rect(0, 0, 2, 2), source: 'manual' }),
    );
    p.edit('Grow mask', () => p.annotations.updateAnnotation({ id: a.id, rle: rect(0, 0, 4, 4) }));
    p.edit('Mark done', () => p.images.setImageStatus({ id: imageId, status: 'done' }));
    p.close();

    let q = (project = await openProject(dir));
    expect(q.history.peekUndo()?.label).toBe('Mark done');
    expect(q.undo()?.label).toBe('Mark done');
    expect(q.images.getImage(imageId)?.status).toBe('new');
    expect(q.undo()?.label).toBe('Grow mask');
    expect(q.annotations.getAnnotation(a.id)?.area).toBe(4);
    q.close();

    q = project = await openProject(dir);
    expect(q.redo()?.label).toBe('Grow mask');
    expect(q.annotations.getAnnotation(a.id)?.area).toBe(16);
    expect(q.undo()?.label).toBe('Grow mask');
    expect(q.undo()?.label).toBe('Add mask');
    expect(q.annotations.getAnnotation(a.id)).toBeUndefined();
    expect(q.undo()).toBeNull();
    q.close();

    q = project = await openProject(dir);
    expect(q.redo()?.label).toBe('Add mask');
    expect(q.annotations.getAnnotation(a.id)).toMatchObject({ area: 4, bbox: [0, 0, 2, 2] });
    // A new edit clears the redo stack ('Grow mask', 'Mark done').
    q.edit('Relabel', () => q.annotations.updateAnnotation({ id: a.id, state: 'rejected' }));
    expect(q.history.peekRedo()).toBeNull();
    expect(q.redo()).toBeNull();
    expect(q.history.listSteps().map((s) => s.label)).toEqual(['Relabel', 'Add mask']);
  });

  it('undoes a multi-row action as one step, restoring deleted rows and their links', async () => {
    const { p, imageId, catId } = await seeded();
    const box = p.annotations.createAnnotation({
      imageId,
      categoryId: catId,
      bbox: [0, 0, 2, 2],
      source: 'imported',
    });
    const mask = p.annotations.createAnnotation({
      imageId,
      categoryId: catId,
      rle: rect(0, 0, 2, 2),
      source: 'auto',
      fromBoxId: box.id,
    });
    p.edit('Delete box', () => p.annotations.removeAnnotations({ ids: [box.id] }));
    expect(p.annotations.getAnnotation(mask.id)?.fromBoxId).toBeNull();
    p.undo();
    expect(p.annotations.getAnnotation(box.id)).toMatchObject({ boxOnly: true });
    expect(p.annotations.getAnnotation(mask.id)?.fromBoxId).toBe(box.id);
  });

  it('an undo that no longer applies fails with HISTORY_CONFLICT and changes nothing', async () => {
    const { p, imageId, catId } = await seeded();
    const a = p.annotations.createAnnotation({
      imageId,
      categoryId: catId,
      rle: rect(0, 0, 2, 2),
      source: 'manual',
    });
    p.edit('Delete mask', () => p.annotations.removeAnnotations({ ids: [a.id] }));
    // Outside the history: the image goes away, so the mask cannot come back.
    p.images.removeImage(imageId);
    expect(() => p.undo()).toThrow(/cannot undo "Delete mask": the data changed outside the edit history/);
    expect(p.history.peekUndo()?.label).toBe('Delete mask');
    expect(p.annotations.annotationCounts().total).toBe(0);
  });

  it('a failing edit leaves no step and no change', async () => {
    const { p, imageId, catId } = await seeded();
    expect(() =>
      p.edit('Broken', () => {
        p.annotations.createAnnotation({
          imageId,
          categoryId: catId,
          rle: rect(0, 0, 2, 2),
          source: 'manual',
        });
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(p.annotations.annotationCounts().total).toBe(0);
    expect(p.history.listSteps()).toEqual([]);
  });

  it('jobs record finished images once, so a resumed job skips them', async () => {
    const { p, imageId } = await seeded();
    const img2 = p.images.insertImage({ path: 'b.jpg', sha256: 'bb', width: 8, height: 6 });
    const job = p.jobs.createJob({ kind: 'auto-annotate', params: { model: 'm' }, total: 2 });
    expect(job).toMatchObject({ state: 'queued', done: 0, total: 2, params: { model: 'm' } });
    p.jobs.setJobState({ id: job.id, state: 'running' });
    expect(p.jobs.finishJobItem({ jobId: job.id, imageId })).toBe(true);
    expect(p.jobs.finishJobItem({ jobId: job.id, imageId })).toBe(false);
    p.jobs.finishJobItem({ jobId: job.id, imageId: img2, state: 'failed', error: 'decode error' });
    expect(p.jobs.getJob(job.id)?.done).toBe(2);
    expect([...p.jobs.finishedImageIds({ jobId: job.id })].sort()).toEqual([imageId, img2].sort());
    expect(p.jobs.failedJobItems({ jobId: job.id })).toEqual([{ imageId: img2, error: 'decode error' }]);
    p.jobs.setJobState({ id: job.id, state: 'paused' });
    expect(p.jobs.listJobs({ states: ['paused'] }).map((j) => j.id)).toEqual([job.id]);
    expect(() => p.jobs.setJobState({ id: job.id, state: 'bogus' as never })).toThrow(/unknown job state/);
  });
});
