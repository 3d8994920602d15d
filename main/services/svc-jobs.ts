// `jobs` and `export` services. Auto-annotate and boxes→masks are main/jobs' resumable jobs (each image's
// proposals and completion record in one transaction; see docs/amg.md) run on the backend's engine and
// tracked in the session's JobRegistry. Background writes are not undo steps: proposals are reviewed
// with accept / reject instead.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { AppError, contracts, type ImageSelection, type ServiceImpl } from '../../common/contracts/index.js';
import { resumeJob, startAutoAnnotate, startBoxesToMasks, type JobHandle } from '../jobs/index.js';
import { exportCoco } from '../export/coco-export.js';
import { writePngMasks } from '../export/png-masks.js';
import { openSnapshot, type Project } from '../store/index.js';
import type { CallContext } from './host.js';
import type { JobControl } from './job-registry.js';
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

/**
 * Runs a main/jobs handle as a registry job: progress, pause / resume, cancel and shutdown forwarded.
 * `resumable` registers a job found unfinished in the project: it waits, paused, until jobs.resume.
 */
function adopt(
  s: BackendState,
  p: Project,
  kind: 'autoAnnotate' | 'boxesToMasks',
  start: () => Promise<JobHandle>,
  total: number,
  resumable?: { storeJobId: number; done: number },
) {
  let handle: JobHandle | null = null;
  let jobId = '';
  let shuttingDown = false;
  const info = s.jobs.start(
    kind,
    resumable ? `unfinished ${kind} job from an earlier session` : `${total} images`,
    async (ctl: JobControl) => {
      if (resumable) {
        try {
          await ctl.checkpoint();
        } catch (e) {
          // Cancelled before it was resumed: it must not come back on the next open.
          if (ctl.signal.aborted && !shuttingDown && s.project === p)
            p.jobs.setJobState({ id: resumable.storeJobId, state: 'cancelled' });
          throw e;
        }
      }
      const h = await start();
      handle = h;
      const onAbort = (): void => h.cancel();
      ctl.signal.addEventListener('abort', onAbort);
      let lastDone = -1;
      const off = h.onProgress((pr) => {
        ctl.progress(pr.done, pr.total, pr.message);
        // Proposals of an image are committed with its completion: tell the UI to refetch.
        if (pr.done !== lastDone) {
          lastDone = pr.done;
          s.bus.emit('annotations', 'changed', { imageIds: [] });
          s.bus.emit('images', 'changed', { imageIds: [] });
        }
      });
      try {
        const final = await h.done;
        if (final.state === 'failed') {
          throw new AppError('ENGINE_ERROR', final.error?.message ?? 'job failed');
        }
        if (final.state === 'cancelled') throw new AppError('CANCELLED', 'job cancelled');
        if (final.state === 'paused')
          throw new AppError('CANCELLED', 'stopped with the project; it stays resumable');
        return `${final.done - final.failed} images done${final.failed ? `, ${final.failed} failed` : ''}`;
      } finally {
        off();
        ctl.signal.removeEventListener('abort', onAbort);
        if (s.project === p) {
          s.bus.emit('annotations', 'changed', { imageIds: [] });
          s.bus.emit('images', 'changed', { imageIds: [] });
        }
      }
    },
    {
      onPause: () => handle?.pause(),
      onResume: () => handle?.resume(),
      // Shutdown: a running job is suspended and one never resumed is let go; both stay resumable.
      onShutdown: () => {
        shuttingDown = true;
        if (handle) handle.suspend();
        else void s.jobs.cancel(jobId).catch(() => undefined);
      },
      ...(resumable ? { startPaused: { done: resumable.done, total } } : {}),
    },
  );
  jobId = info.id;
  return info;
}

/**
 * Lists the project's auto-annotate / boxes→masks jobs that did not finish (crash, shutdown, pause) as
 * paused session jobs; jobs.resume continues one where it stopped (main/jobs resumeJob).
 */
export function restoreUnfinishedJobs(s: BackendState, p: Project): void {
  for (const job of p.jobs.listJobs({ states: ['queued', 'running', 'paused', 'failed'] }).reverse()) {
    if (job.kind !== 'autoAnnotate' && job.kind !== 'boxesToMasks') continue;
    adopt(s, p, job.kind, async () => resumeJob(p, await s.engine.get(), job.id), job.total, {
      storeJobId: job.id,
      done: job.done,
    });
  }
}

export function jobsService(s: BackendState): ServiceImpl<typeof contracts.jobs, CallContext> {
  return {
    async startAutoAnnotate({ images, params }) {
      const p = s.requireProject();
      const imageIds = selectImages(p, images);
      if (imageIds.length === 0) throw new AppError('INVALID_ARGUMENT', 'the selection has no images');
      if (params.categoryId !== null && !p.categories.getCategory(params.categoryId)) {
        throw new AppError('NOT_FOUND', `no category ${params.categoryId}`);
      }
      const engine = await s.engine.get();
      const handle = startAutoAnnotate(p, engine, {
        imageIds,
        amg: {
          pointsPerSide: params.pointsPerSide,
          predIouThresh: params.predIouThresh,
          stabilityScoreThresh: params.stabilityScoreThresh,
          boxNmsThresh: params.boxNmsThresh,
          minMaskRegionArea: params.minMaskArea,
        },
        ...(params.categoryId !== null ? { categoryId: params.categoryId } : {}),
      });
      return adopt(s, p, 'autoAnnotate', async () => handle, imageIds.length);
    },
    async startBoxesToMasks({ images }) {
      const p = s.requireProject();
      const imageIds = selectImages(p, images);
      if (imageIds.length === 0) throw new AppError('INVALID_ARGUMENT', 'the selection has no images');
      const engine = await s.engine.get();
      return adopt(
        s,
        p,
        'boxesToMasks',
        async () => startBoxesToMasks(p, engine, { imageIds }),
        imageIds.length,
      );
    },
    pause: ({ jobId }) => s.jobs.pause(jobId),
    resume: ({ jobId }) => s.jobs.resume(jobId),
    cancel: ({ jobId }) => s.jobs.cancel(jobId),
    list: () => s.jobs.list(),
  };
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
      const r = await exportCoco(p, out, {
        segmentation: format === 'coco-rle' ? 'rle' : 'polygons',
        states: includeProposed ? ['accepted', 'proposed'] : ['accepted'],
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
