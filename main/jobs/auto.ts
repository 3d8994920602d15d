// Auto-annotate and boxes → masks as resumable background jobs over a project's images.
import { parseAmgOptions } from '../../common/amg/types.js';
import { iou as rleIou, type Rle } from '../../common/rle/index.js';
import { boxesToMasks, generateMasks } from '../engine/amg/index.js';
import { EngineError, type SamEngine } from '../engine/index.js';
import type { Annotation, ImageRecord, Job, Project } from '../store/index.js';
import { runImageJob, type ImagePrefetch, type ImageWork, type JobHandle } from './runner.js';
import { selectImages } from './select.js';
import { JobError, type AutoAnnotateParams, type AutoJobKind, type BoxesToMasksParams } from './types.js';

/** Category auto-annotate proposals get when the caller names none. */
export const DEFAULT_AUTO_CATEGORY = 'object';

// Losing the engine ends the job; anything wrong with one image (unreadable file, bad box) only fails that image.
const FATAL_ENGINE_CODES = new Set([
  'closed',
  'model_load_failed',
  'model_mismatch',
  'provider_unavailable',
  'internal',
]);
function isFatal(err: unknown): boolean {
  if (err instanceof EngineError) return FATAL_ENGINE_CODES.has(err.code);
  // ImageError (and errors of one image's data) are per image; everything else (store, programming) is fatal.
  return !(err instanceof Error && (err.name === 'ImageError' || err.name === 'RleError'));
}

/** Our own proposals of one image, replaceable by a new run: proposed, source auto. */
function replaceable(a: Annotation, kind: AutoJobKind): boolean {
  return (
    a.source === 'auto' &&
    a.state === 'proposed' &&
    (kind === 'autoAnnotate' ? a.fromBoxId === null : a.fromBoxId !== null)
  );
}

function checkAutoParams(p: AutoAnnotateParams): AutoAnnotateParams {
  if (typeof p !== 'object' || p === null)
    throw new JobError('JOB_BAD_PARAMS', 'auto-annotate parameters must be an object');
  try {
    parseAmgOptions(p.amg ?? {});
  } catch (err) {
    throw new JobError('JOB_BAD_PARAMS', (err as Error).message);
  }
  if (p.duplicateIou !== undefined && !(p.duplicateIou > 0 && p.duplicateIou <= 1)) {
    throw new JobError('JOB_BAD_PARAMS', 'duplicateIou must be in (0, 1]');
  }
  if (p.decoder !== undefined && !['auto', 'batched', 'single'].includes(p.decoder)) {
    throw new JobError(
      'JOB_BAD_PARAMS',
      `decoder must be auto, batched or single, got "${String(p.decoder)}"`,
    );
  }
  return p;
}

/** Embeds the next image while the current one is decoded: its embedding then comes from the cache. */
function embedAhead(project: Project, engine: SamEngine): ImagePrefetch {
  return (img) => {
    engine.embed(project.imagePath(img.path)).catch(() => {
      // The image's own turn reports the error (unreadable file, bad format) against that image.
    });
  };
}

function autoWork(project: Project, engine: SamEngine, params: AutoAnnotateParams): ImageWork {
  const category =
    params.categoryId !== undefined
      ? project.categories.getCategory(params.categoryId)
      : project.categories.ensureCategory({ name: params.categoryName ?? DEFAULT_AUTO_CATEGORY });
  if (!category) throw new JobError('JOB_BAD_PARAMS', `category ${params.categoryId} does not exist`);
  const dupIou = params.duplicateIou ?? 0.9;
  return async (img: ImageRecord) => {
    const r = await generateMasks(engine, project.imagePath(img.path), params.amg ?? {}, {
      decoder: params.decoder ?? 'auto',
    });
    if (r.width !== img.width || r.height !== img.height) {
      throw new EngineError(
        'bad_prompt',
        `${img.path} is ${r.width}×${r.height} on disk but ${img.width}×${img.height} in the project; re-scan the folder`,
      );
    }
    return (now) => {
      const existing = project.annotations.listAnnotationsByImage({ imageId: img.id });
      const old = existing.filter((a) => replaceable(a, 'autoAnnotate')).map((a) => a.id);
      if (old.length) project.annotations.removeAnnotations({ ids: old });
      // Decided work (accepted or rejected) is never touched; a proposal repeating it is not added again.
      const decided = existing.filter((a) => a.state !== 'proposed' && a.rle).map((a) => a.rle as Rle);
      for (const m of r.masks) {
        if (decided.some((d) => rleIou(d, m.segmentation) >= dupIou)) continue;
        project.annotations.createAnnotation({
          imageId: img.id,
          categoryId: category.id,
          rle: m.segmentation,
          source: 'auto',
          state: 'proposed',
          score: m.stabilityScore,
          predictedIou: m.predictedIou,
          now,
        });
      }
    };
  };
}

function boxesWork(project: Project, engine: SamEngine, params: BoxesToMasksParams): ImageWork {
  return async (img: ImageRecord) => {
    const all = project.annotations.listAnnotationsByImage({ imageId: img.id });
    // A box whose mask the user already accepted or rejected is done; only undecided boxes are (re)prompted.
    const decidedBoxes = new Set(
      all.filter((a) => a.fromBoxId !== null && a.state !== 'proposed').map((a) => a.fromBoxId),
    );
    const boxes = all.filter((a) => a.boxOnly && !decidedBoxes.has(a.id));
    const result =
      boxes.length === 0
        ? null
        : await boxesToMasks(
            engine,
            project.imagePath(img.path),
            boxes.map((b) => [b.bbox[0], b.bbox[1], b.bbox[0] + b.bbox[2], b.bbox[1] + b.bbox[3]]),
            { decoder: params.decoder ?? 'auto', pointsPerBatch: params.pointsPerBatch ?? 64 },
          );
    return (now) => {
      const todo = new Set(boxes.map((b) => b.id));
      const old = project.annotations
        .listAnnotationsByImage({ imageId: img.id })
        .filter((a) => replaceable(a, 'boxesToMasks') && todo.has(a.fromBoxId!))
        .map((a) => a.id);
      if (old.length) project.annotations.removeAnnotations({ ids: old });
      if (!result) return;
      result.masks.forEach((m, i) => {
        const box = boxes[i]!;
        if (!m.rle) return; // an empty mask is no proposal; the box stays box-only
        project.annotations.createAnnotation({
          imageId: img.id,
          categoryId: box.categoryId,
          rle: m.rle,
          source: 'auto',
          state: 'proposed',
          score: m.predictedIou,
          predictedIou: m.predictedIou,
          fromBoxId: box.id,
          now,
        });
      });
    };
  };
}

function imagesWithBoxes(project: Project, images: ImageRecord[]): ImageRecord[] {
  return images.filter((img) =>
    project.annotations.listAnnotationsByImage({ imageId: img.id }).some((a) => a.boxOnly),
  );
}

function start(project: Project, engine: SamEngine, job: Job): JobHandle {
  const kind = job.kind as AutoJobKind;
  if (kind === 'autoAnnotate') {
    const params = checkAutoParams(job.params as AutoAnnotateParams);
    const images = selectImages(project, params);
    return runImageJob({
      project,
      jobId: job.id,
      kind,
      images,
      work: autoWork(project, engine, params),
      isFatal,
      prefetch: embedAhead(project, engine),
    });
  }
  if (kind === 'boxesToMasks') {
    const params = job.params as BoxesToMasksParams;
    const images = imagesWithBoxes(project, selectImages(project, params));
    return runImageJob({
      project,
      jobId: job.id,
      kind,
      images,
      work: boxesWork(project, engine, params),
      isFatal,
      prefetch: embedAhead(project, engine),
    });
  }
  throw new JobError(
    'JOB_NOT_RESUMABLE',
    `job ${job.id} is a "${job.kind}" job, not auto-annotate or boxes-to-masks`,
  );
}

/** Starts a new auto-annotate job over the selected images. Returns its handle at once; the work runs in the background. */
export function startAutoAnnotate(
  project: Project,
  engine: SamEngine,
  params: AutoAnnotateParams = {},
): JobHandle {
  checkAutoParams(params);
  selectImages(project, params); // bad globs and ids fail here, before a job row exists
  const job = project.jobs.createJob({ kind: 'autoAnnotate', params });
  return start(project, engine, job);
}

/** Starts a new boxes → masks job over the selected images that have box-only annotations. */
export function startBoxesToMasks(
  project: Project,
  engine: SamEngine,
  params: BoxesToMasksParams = {},
): JobHandle {
  selectImages(project, params);
  const job = project.jobs.createJob({ kind: 'boxesToMasks', params });
  return start(project, engine, job);
}

/**
 * Resumes a job that did not finish (crashed while `running`, `paused`, `queued`, or `failed`), skipping the
 * images it already finished. Throws JobError JOB_NOT_FOUND / JOB_NOT_RESUMABLE.
 */
export function resumeJob(project: Project, engine: SamEngine, jobId: number): JobHandle {
  const job = project.jobs.getJob(jobId);
  if (!job) throw new JobError('JOB_NOT_FOUND', `job ${jobId} does not exist`);
  if (job.state === 'done' || job.state === 'cancelled')
    throw new JobError('JOB_NOT_RESUMABLE', `job ${jobId} is ${job.state}`);
  return start(project, engine, job);
}

// JSON with sorted keys, so parameters compare equal whatever order they were written in.
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The newest unfinished job of this kind with exactly these parameters, if any (what `maskroom auto` resumes). */
export function findResumableJob(
  project: Project,
  kind: AutoJobKind,
  params: AutoAnnotateParams | BoxesToMasksParams,
): Job | undefined {
  const want = canonical(params);
  return project.jobs
    .listJobs({ states: ['queued', 'running', 'paused', 'failed'], kind })
    .find((j) => canonical(j.params) === want);
}
