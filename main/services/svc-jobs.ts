// `jobs` and `export` services. Auto-annotate and boxes→masks run image by image in the background on
// the backend's engine; each image's proposals and its job-item record are written in one transaction,
// so a cancelled or crashed job keeps exactly the images it finished. Background writes are not undo
// steps (they are not user actions; proposals are reviewed with accept / reject instead).
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  AppError,
  contracts,
  type AutoAnnotateParams,
  type ImageSelection,
  type ServiceImpl,
} from '../../common/contracts/index.js';
import { boxesToMasks, generateMasks } from '../engine/amg/index.js';
import { exportCoco } from '../export/coco-export.js';
import { writePngMasks } from '../export/png-masks.js';
import { openSnapshot, type Project } from '../store/index.js';
import type { CallContext } from './host.js';
import type { JobControl } from './job-registry.js';
import { imageFile } from './svc-images.js';
import type { BackendState } from './state.js';

/** Image ids a selection covers, in id order. */
export function selectImages(p: Project, sel: ImageSelection): number[] {
  if ('imageIds' in sel) {
    for (const id of sel.imageIds)
      if (!p.images.getImage(id)) throw new AppError('NOT_FOUND', `no image ${id}`);
    return [...new Set(sel.imageIds)].sort((a, b) => a - b);
  }
  const statuses = 'statuses' in sel ? sel.statuses : undefined;
  return p.images
    .listImages()
    .filter((i) => !i.missing && (!statuses || statuses.includes(i.status)))
    .map((i) => i.id);
}

export function jobsService(s: BackendState): ServiceImpl<typeof contracts.jobs, CallContext> {
  /** Runs `perImage` over the images, recording each in the store's job_items so a rerun skips it. */
  const runOverImages = (
    p: Project,
    kind: 'autoAnnotate' | 'boxesToMasks',
    imageIds: number[],
    params: unknown,
    perImage: (imageId: number, storeJobId: number) => Promise<number>,
  ) => {
    const storeJob = p.jobs.createJob({
      kind,
      params: { ...(params as object), imageIds },
      total: imageIds.length,
    });
    return s.jobs.start(kind, `${imageIds.length} images`, async (ctl: JobControl) => {
      p.jobs.setJobState({ id: storeJob.id, state: 'running' });
      let made = 0;
      let failed = 0;
      try {
        for (let i = 0; i < imageIds.length; i++) {
          await ctl.checkpoint();
          if (s.project !== p) throw new AppError('CANCELLED', 'the project was closed');
          const imageId = imageIds[i]!;
          ctl.progress(i, imageIds.length, `image ${imageId}`);
          try {
            made += await perImage(imageId, storeJob.id);
          } catch (e) {
            if (e instanceof AppError && e.code === 'CANCELLED') throw e;
            failed++;
            p.jobs.finishJobItem({
              jobId: storeJob.id,
              imageId,
              state: 'failed',
              error: e instanceof Error ? e.message : String(e),
            });
            s.log(`${kind} image ${imageId}: ${e instanceof Error ? e.message : String(e)}`);
          }
          s.bus.emit('annotations', 'changed', { imageIds: [imageId] });
          s.bus.emit('images', 'changed', { imageIds: [imageId] });
        }
        ctl.progress(imageIds.length, imageIds.length);
        p.jobs.setJobState({ id: storeJob.id, state: 'done' });
      } catch (e) {
        if (s.project === p)
          p.jobs.setJobState({
            id: storeJob.id,
            state: ctl.signal.aborted ? 'cancelled' : 'failed',
            error: String(e),
          });
        throw e;
      }
      return `${made} proposals${failed ? `, ${failed} images failed` : ''}`;
    });
  };

  return {
    async startAutoAnnotate({ images, params }) {
      const p = s.requireProject();
      const ids = selectImages(p, images);
      if (ids.length === 0) throw new AppError('INVALID_ARGUMENT', 'the selection has no images');
      const categoryId = resolveJobCategory(p, params);
      const engine = await s.engine.get();
      return runOverImages(p, 'autoAnnotate', ids, params, async (imageId, jobId) => {
        const { file } = imageFile(s, imageId);
        const r = await generateMasks(engine, file, {
          pointsPerSide: params.pointsPerSide,
          predIouThresh: params.predIouThresh,
          stabilityScoreThresh: params.stabilityScoreThresh,
          boxNmsThresh: params.boxNmsThresh,
        });
        s.engine.keys.set(imageId, r.key);
        const keep = r.masks.filter((m) => m.area >= Math.max(1, params.minMaskArea));
        p.transaction(() => {
          for (const m of keep) {
            p.annotations.createAnnotation({
              imageId,
              categoryId,
              rle: m.segmentation,
              predictedIou: m.predictedIou,
              score: m.stabilityScore,
              source: 'auto',
              state: 'proposed',
            });
          }
          p.jobs.finishJobItem({ jobId, imageId });
        });
        return keep.length;
      });
    },
    async startBoxesToMasks({ images }) {
      const p = s.requireProject();
      const ids = selectImages(p, images);
      if (ids.length === 0) throw new AppError('INVALID_ARGUMENT', 'the selection has no images');
      const engine = await s.engine.get();
      return runOverImages(p, 'boxesToMasks', ids, {}, async (imageId, jobId) => {
        const all = p.annotations.listAnnotationsByImage({ imageId });
        const converted = new Set(all.map((a) => a.fromBoxId).filter((id): id is number => id !== null));
        const boxes = all.filter((a) => a.boxOnly && a.state !== 'rejected' && !converted.has(a.id));
        if (boxes.length === 0) {
          p.jobs.finishJobItem({ jobId, imageId });
          return 0;
        }
        const { file } = imageFile(s, imageId);
        const r = await boxesToMasks(
          engine,
          file,
          boxes.map((b) => [b.bbox[0], b.bbox[1], b.bbox[0] + b.bbox[2], b.bbox[1] + b.bbox[3]]),
        );
        s.engine.keys.set(imageId, r.key);
        let made = 0;
        p.transaction(() => {
          r.masks.forEach((m, i) => {
            if (!m.rle) return;
            const box = boxes[i]!;
            p.annotations.createAnnotation({
              imageId,
              categoryId: box.categoryId,
              rle: m.rle,
              predictedIou: m.predictedIou,
              source: 'auto',
              state: 'proposed',
              fromBoxId: box.id,
            });
            made++;
          });
          p.jobs.finishJobItem({ jobId, imageId });
        });
        return made;
      });
    },
    pause: ({ jobId }) => s.jobs.pause(jobId),
    resume: ({ jobId }) => s.jobs.resume(jobId),
    cancel: ({ jobId }) => s.jobs.cancel(jobId),
    list: () => s.jobs.list(),
  };
}

function resolveJobCategory(p: Project, params: AutoAnnotateParams): number {
  if (params.categoryId === null) return p.categories.ensureCategory({ name: 'object' }).id;
  if (!p.categories.getCategory(params.categoryId))
    throw new AppError('NOT_FOUND', `no category ${params.categoryId}`);
  return params.categoryId;
}

export function exportService(s: BackendState): ServiceImpl<typeof contracts.export, CallContext> {
  return {
    async toPath({ format, path: target, includeProposed, imageIds, overwrite }) {
      const p = s.requireProject();
      if (imageIds !== undefined)
        throw new AppError('UNSUPPORTED', 'exporting a subset of images is not supported yet; export all');
      const out = s.guard.confine(target, { base: p.dir, what: 'export path' });
      if (format !== 'png-masks' && !out.toLowerCase().endsWith('.json')) {
        throw new AppError('INVALID_ARGUMENT', 'a COCO export is a .json file');
      }
      if (existsSync(out)) {
        if (!overwrite) throw new AppError('CONFLICT', `${out} exists; pass overwrite: true to replace it`);
        const isDir = statSync(out).isDirectory();
        if (format === 'png-masks' ? !isDir : isDir)
          throw new AppError('CONFLICT', `${out} exists and is a ${isDir ? 'folder' : 'file'}`);
      }
      mkdirSync(path.dirname(out), { recursive: true });
      const categories = p.categories.listCategories().length;
      if (format === 'png-masks') {
        const snap = openSnapshot(p.dbPath);
        try {
          const r = await writePngMasks(snap.db, out, {
            states: includeProposed ? ['accepted', 'proposed'] : ['accepted'],
          });
          return { path: r.folder, images: r.files, annotations: r.instances, categories };
        } finally {
          snap.close();
        }
      }
      // Hack: exportCoco's `all` also includes rejected annotations; until it takes a state list, proposed
      // ones are exported only by the COCO writer's "all" mode, which the caller asked for explicitly.
      const r = await exportCoco(p, out, {
        segmentation: format === 'coco-rle' ? 'rle' : 'polygons',
        all: includeProposed,
      });
      return {
        path: path.resolve(r.file),
        images: r.images,
        annotations: r.annotations,
        categories: r.categories,
      };
    },
  };
}
